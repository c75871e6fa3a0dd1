"""Driver API log-in: SMS codes, sign-up, tokens and their rotation, logout and passwords."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from csms.accounts.model import Role
from csms.accounts.tables import SmsCodeRow, UserRow
from csms.accounts.tokens import AccessClaims, issue_access
from tests.accounts import PASSWORD, Outbox, a_driver, a_tenant
from tests.conftest import LiveServer
from tests.fakes import FakeClock

AUTH = "/api/v1/auth"
PHONE = "+8613800000009"
WRONG = {"type": "about:blank", "title": "Unauthorized", "status": 401}


@pytest.fixture
def outbox(server: LiveServer) -> Outbox:
    server.system.sms = outbox = Outbox()
    return outbox


@pytest.fixture
def clock(server: LiveServer) -> FakeClock:
    server.system.clock = clock = FakeClock(datetime.now(UTC))
    return clock


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def texted_code(
    api: httpx.AsyncClient, outbox: Outbox, tenant: int, purpose: str, phone: str = PHONE
) -> str:
    response = await api.post(
        f"{AUTH}/sms-codes", json={"tenant_id": tenant, "phone": phone, "purpose": purpose}
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"expires_in": 300, "resend_after": 60}
    return outbox.code_for(phone)


async def sign_up(api: httpx.AsyncClient, outbox: Outbox, tenant: int, **extra: object) -> dict[str, object]:
    code = await texted_code(api, outbox, tenant, "register")
    body = {"tenant_id": tenant, "phone": PHONE, "code": code, "password": PASSWORD, **extra}
    response = await api.post(f"{AUTH}/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(tokens: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_wrong_credentials(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() | WRONG == response.json()
    assert response.json()["detail"] == "Wrong phone number, password or code"


async def test_sign_up_by_sms_logs_in_and_creates_the_app_token(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox
) -> None:
    tenant = await a_tenant(server.system)

    tokens = await sign_up(api, outbox, tenant, display_name="Li Wei")

    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["role"] == "driver" and tokens["tenant_id"] == tenant
    assert outbox.sent[0][0] == PHONE and "expires in 5 minutes" in outbox.sent[0][1]
    me = (await api.get("/api/v1/me", headers=bearer(tokens))).json()
    assert me["phone"] == PHONE and me["display_name"] == "Li Wei" and me["has_password"]
    cards = (await api.get("/api/v1/me/id-tokens", headers=bearer(tokens))).json()
    assert [(c["type"], c["app"], c["status"]) for c in cards] == [("Central", True, "Accepted")]
    assert len(cards[0]["token"]) <= 20  # fits an OCPP 1.6 idTag


async def test_an_invitation_is_recorded(server: LiveServer, api: httpx.AsyncClient, outbox: Outbox) -> None:
    inviter = await a_driver(server.system, phone="+8613800000001")
    invitation = (await api.get("/api/v1/me", headers=inviter.headers)).json()["invitation_code"]

    tokens = await sign_up(api, outbox, inviter.tenant_id, invitation_code=invitation.lower())

    me = (await api.get("/api/v1/me", headers=bearer(tokens))).json()
    assert me["invited_by"] == inviter.user_id
    assert me["invitation_code"] != invitation


async def test_an_unknown_invitation_code_is_refused_without_spending_the_sms_code(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox
) -> None:
    tenant = await a_tenant(server.system)
    other = await a_driver(server.system)  # another tenant's codes do not count
    other_code = (await api.get("/api/v1/me", headers=other.headers)).json()["invitation_code"]
    code = await texted_code(api, outbox, tenant, "register")
    body = {"tenant_id": tenant, "phone": PHONE, "code": code}

    for invitation in ("NOPE2345", other_code):
        response = await api.post(f"{AUTH}/register", json={**body, "invitation_code": invitation})
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == "Unknown invitation code"
    assert (await api.post(f"{AUTH}/register", json=body)).status_code == 201


async def test_a_phone_signs_up_once_per_tenant(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox, clock: FakeClock
) -> None:
    tenant = await a_tenant(server.system)
    await sign_up(api, outbox, tenant)
    other_tenant = await a_tenant(server.system)

    clock.advance(seconds=61)
    await texted_code_or_none(api, tenant, "register")

    assert outbox.sent[-1] == (PHONE, "This number already has an account: log in, or reset your password.")
    await sign_up(api, outbox, other_tenant, password=None)  # the same phone at another tenant
    login = {"tenant_id": other_tenant, "phone": PHONE, "password": PASSWORD}
    assert_wrong_credentials(await api.post(f"{AUTH}/login", json=login))


async def test_a_phone_taken_while_its_code_was_on_the_way(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox
) -> None:
    tenant = await a_tenant(server.system)
    code = await texted_code(api, outbox, tenant, "register")
    await a_driver(server.system, tenant_id=tenant, phone=PHONE)

    response = await api.post(f"{AUTH}/register", json={"tenant_id": tenant, "phone": PHONE, "code": code})

    assert response.status_code == 409
    assert response.json()["detail"] == "This phone number already has an account"


async def test_login_with_password_and_one_answer_for_every_failure(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    driver = await a_driver(server.system, phone="+8613800000001")
    login = {"tenant_id": driver.tenant_id, "phone": "+86 138 0000 0001", "password": PASSWORD}

    response = await api.post(f"{AUTH}/login", json=login)

    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == driver.user_id
    assert (await api.get("/api/v1/me", headers=bearer(response.json()))).status_code == 200
    wrong_password = await api.post(f"{AUTH}/login", json={**login, "password": "not the password"})
    unknown_phone = await api.post(f"{AUTH}/login", json={**login, "phone": "+8613999999999"})
    other_tenant = await api.post(f"{AUTH}/login", json={**login, "tenant_id": driver.tenant_id + 100})
    for refused in (wrong_password, unknown_phone, other_tenant):
        assert_wrong_credentials(refused)
        assert refused.json()["detail"] == wrong_password.json()["detail"]


async def test_login_needs_exactly_one_of_password_and_code(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    base = {"tenant_id": 1, "phone": PHONE}

    both = await api.post(f"{AUTH}/login", json={**base, "password": PASSWORD, "code": "123456"})
    neither = await api.post(f"{AUTH}/login", json=base)

    assert both.status_code == neither.status_code == 422


async def test_login_with_an_sms_code_which_works_once(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox
) -> None:
    driver = await a_driver(server.system, phone=PHONE)
    code = await texted_code(api, outbox, driver.tenant_id, "login")
    login = {"tenant_id": driver.tenant_id, "phone": PHONE, "code": code}

    first = await api.post(f"{AUTH}/login", json=login)
    again = await api.post(f"{AUTH}/login", json=login)

    assert first.status_code == 200 and first.json()["user_id"] == driver.user_id
    assert_wrong_credentials(again)


async def test_codes_are_texted_only_where_they_can_be_used(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox, clock: FakeClock
) -> None:
    tenant = await a_tenant(server.system)

    await texted_code_or_none(api, tenant, "login")
    clock.advance(seconds=61)
    await texted_code_or_none(api, tenant, "reset")

    assert outbox.sent == []  # no account: same answer, nothing sent
    async with server.system.sessions() as session:
        rows = (await session.execute(select(SmsCodeRow))).scalars().all()
    assert [row.purpose for row in rows] == ["login", "reset"]  # still counted for the limits
    assert all(len(row.code_hash) == 64 and not row.code_hash.isdigit() for row in rows)


async def texted_code_or_none(api: httpx.AsyncClient, tenant: int, purpose: str) -> None:
    response = await api.post(
        f"{AUTH}/sms-codes", json={"tenant_id": tenant, "phone": PHONE, "purpose": purpose}
    )
    assert response.status_code == 202, response.text


async def test_an_expired_code_is_refused(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox, clock: FakeClock
) -> None:
    driver = await a_driver(server.system, phone=PHONE)
    code = await texted_code(api, outbox, driver.tenant_id, "login")

    clock.advance(seconds=301)
    response = await api.post(
        f"{AUTH}/login", json={"tenant_id": driver.tenant_id, "phone": PHONE, "code": code}
    )

    assert_wrong_credentials(response)


async def test_a_code_dies_after_five_wrong_tries(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox
) -> None:
    driver = await a_driver(server.system, phone=PHONE)
    code = await texted_code(api, outbox, driver.tenant_id, "login")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    login = {"tenant_id": driver.tenant_id, "phone": PHONE}

    for _ in range(5):
        assert_wrong_credentials(await api.post(f"{AUTH}/login", json={**login, "code": wrong}))
    response = await api.post(f"{AUTH}/login", json={**login, "code": code})

    assert_wrong_credentials(response)
    async with server.system.sessions() as session:
        row = (await session.execute(select(SmsCodeRow))).scalars().one()
    assert row.attempts == 5 and row.used_at is None


async def test_a_code_for_one_purpose_does_not_serve_another(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox
) -> None:
    driver = await a_driver(server.system, phone=PHONE)
    code = await texted_code(api, outbox, driver.tenant_id, "login")

    reset = {"tenant_id": driver.tenant_id, "phone": PHONE, "code": code, "new_password": "a new password"}
    assert_wrong_credentials(await api.post(f"{AUTH}/password-reset", json=reset))


async def test_codes_are_rate_limited_per_phone(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox, clock: FakeClock
) -> None:
    driver = await a_driver(server.system, phone=PHONE)
    body = {"tenant_id": driver.tenant_id, "phone": PHONE, "purpose": "login"}
    await texted_code(api, outbox, driver.tenant_id, "login")

    clock.advance(seconds=20)
    too_soon = await api.post(f"{AUTH}/sms-codes", json=body)
    assert too_soon.status_code == 429
    assert too_soon.headers["retry-after"] == "40"
    assert too_soon.json()["status"] == 429
    for _ in range(4):
        clock.advance(seconds=61)
        assert (await api.post(f"{AUTH}/sms-codes", json=body)).status_code == 202
    clock.advance(seconds=61)
    hourly = await api.post(f"{AUTH}/sms-codes", json=body)
    assert hourly.status_code == 429
    assert int(hourly.headers["retry-after"]) == 3600 - 20 - 5 * 61
    assert len(outbox.sent) == 5
    other_phone = {**body, "phone": "+8613800000002"}
    assert (await api.post(f"{AUTH}/sms-codes", json=other_phone)).status_code == 202


async def test_codes_for_an_unknown_tenant_or_a_malformed_phone(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    unknown = await api.post(f"{AUTH}/sms-codes", json={"tenant_id": 999, "phone": PHONE, "purpose": "login"})
    malformed = await api.post(
        f"{AUTH}/sms-codes", json={"tenant_id": 1, "phone": "13800000001", "purpose": "login"}
    )

    assert unknown.status_code == 404
    assert malformed.status_code == 422
    assert "country code" in malformed.json()["detail"]


async def test_refresh_rotates_and_a_reused_token_ends_the_session(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    driver = await a_driver(server.system)

    rotated = await api.post(f"{AUTH}/refresh", json={"refresh_token": driver.refresh_token})
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()
    assert fresh["refresh_token"] != driver.refresh_token
    assert (await api.get("/api/v1/me", headers=bearer(fresh))).status_code == 200

    replay = await api.post(f"{AUTH}/refresh", json={"refresh_token": driver.refresh_token})
    assert replay.status_code == 401
    assert (await api.get("/api/v1/me", headers=bearer(fresh))).status_code == 401
    assert (
        await api.post(f"{AUTH}/refresh", json={"refresh_token": fresh["refresh_token"]})
    ).status_code == 401
    assert (await api.get("/api/v1/me", headers=driver.headers)).status_code == 401


async def test_an_unknown_refresh_token_is_refused_and_harms_no_session(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    driver = await a_driver(server.system)

    response = await api.post(f"{AUTH}/refresh", json={"refresh_token": "made-up"})

    assert response.status_code == 401
    assert (await api.get("/api/v1/me", headers=driver.headers)).status_code == 200


async def test_logout_ends_the_session_at_once(server: LiveServer, api: httpx.AsyncClient) -> None:
    driver = await a_driver(server.system)
    other_device = await api.post(
        f"{AUTH}/login", json={"tenant_id": driver.tenant_id, "phone": "+8613800000001", "password": PASSWORD}
    )

    response = await api.post(f"{AUTH}/logout", headers=driver.headers)

    assert response.status_code == 204
    after = await api.get("/api/v1/me", headers=driver.headers)
    assert after.status_code == 401
    assert after.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert (
        await api.post(f"{AUTH}/refresh", json={"refresh_token": driver.refresh_token})
    ).status_code == 401
    assert (await api.get("/api/v1/me", headers=bearer(other_device.json()))).status_code == 200


async def test_a_password_change_logs_every_session_out(server: LiveServer, api: httpx.AsyncClient) -> None:
    driver = await a_driver(server.system)
    login = {"tenant_id": driver.tenant_id, "phone": "+8613800000001", "password": PASSWORD}
    other_device = (await api.post(f"{AUTH}/login", json=login)).json()
    change = {"current_password": PASSWORD, "new_password": "a much newer password"}

    response = await api.post(f"{AUTH}/password", json=change, headers=driver.headers)

    assert response.status_code == 200, response.text
    assert (await api.get("/api/v1/me", headers=bearer(response.json()))).status_code == 200
    for stale in (driver.headers, bearer(other_device)):
        assert (await api.get("/api/v1/me", headers=stale)).status_code == 401
    assert (
        await api.post(f"{AUTH}/refresh", json={"refresh_token": other_device["refresh_token"]})
    ).status_code == 401
    assert_wrong_credentials(await api.post(f"{AUTH}/login", json=login))
    assert (
        await api.post(f"{AUTH}/login", json={**login, "password": "a much newer password"})
    ).status_code == 200


async def test_a_password_change_needs_the_current_password(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    driver = await a_driver(server.system)

    wrong = await api.post(
        f"{AUTH}/password",
        json={"current_password": "guess guess", "new_password": "x" * 10},
        headers=driver.headers,
    )
    short = await api.post(
        f"{AUTH}/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=driver.headers,
    )
    anonymous = await api.post(
        f"{AUTH}/password", json={"current_password": PASSWORD, "new_password": "x" * 10}
    )

    assert wrong.status_code == 403
    assert short.status_code == 422
    assert anonymous.status_code == 401
    assert (await api.get("/api/v1/me", headers=driver.headers)).status_code == 200


async def test_an_sms_only_account_sets_its_first_password(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox
) -> None:
    tenant = await a_tenant(server.system)
    tokens = await sign_up(api, outbox, tenant, password=None)
    assert (await api.get("/api/v1/me", headers=bearer(tokens))).json()["has_password"] is False
    assert_wrong_credentials(
        await api.post(f"{AUTH}/login", json={"tenant_id": tenant, "phone": PHONE, "password": PASSWORD})
    )

    response = await api.post(f"{AUTH}/password", json={"new_password": PASSWORD}, headers=bearer(tokens))

    assert response.status_code == 200
    login = {"tenant_id": tenant, "phone": PHONE, "password": PASSWORD}
    assert (await api.post(f"{AUTH}/login", json=login)).status_code == 200


async def test_a_forgotten_password_is_reset_by_sms(
    server: LiveServer, api: httpx.AsyncClient, outbox: Outbox
) -> None:
    driver = await a_driver(server.system, phone=PHONE)
    code = await texted_code(api, outbox, driver.tenant_id, "reset")
    reset = {"tenant_id": driver.tenant_id, "phone": PHONE, "code": code, "new_password": "brand new secret"}

    response = await api.post(f"{AUTH}/password-reset", json=reset)

    assert response.status_code == 204
    assert (await api.get("/api/v1/me", headers=driver.headers)).status_code == 401
    login = {"tenant_id": driver.tenant_id, "phone": PHONE, "password": "brand new secret"}
    assert (await api.post(f"{AUTH}/login", json=login)).status_code == 200
    assert_wrong_credentials(await api.post(f"{AUTH}/password-reset", json=reset))  # the code is spent


async def test_requests_without_a_live_access_token_get_401(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    driver = await a_driver(server.system)
    auth = server.system.auth
    async with server.system.sessions() as session:
        user = await session.get(UserRow, driver.user_id)
    assert user is not None
    past = datetime.now(UTC) - timedelta(minutes=16)
    claims = AccessClaims(driver.user_id, driver.tenant_id, Role.DRIVER, 1, user.token_version)
    expired = issue_access(claims, auth.secret_key, past)
    no_session = issue_access(
        AccessClaims(driver.user_id, driver.tenant_id, Role.DRIVER, 999, 0),
        auth.secret_key,
        datetime.now(UTC),
    )

    missing = await api.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.headers["content-type"] == "application/problem+json"
    for headers in (
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": f"Basic {driver.access_token}"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {no_session}"},
        {"Authorization": f"Bearer {driver.access_token}x"},
    ):
        response = await api.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_openapi_documents_bearer_auth(server: LiveServer, api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()

    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/me/vehicles"} <= set(spec["paths"])
