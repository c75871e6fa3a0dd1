"""Payment callbacks as the providers document them, signed with keys generated here (no
network): a valid one is read into our terms; a tampered body, a wrong key, a stale time or a
mangled payload is refused."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chargepoints.ports import Clock
from csms.billing.payments import merchant_order_no
from csms.billing.providers.alipay import BEIJING, TIME, AlipayConfig, AlipayProvider
from csms.billing.providers.sandbox import SandboxProvider, sandbox_secret
from csms.billing.providers.stripe import StripeConfig, StripeProvider
from csms.billing.providers.wechat import WechatConfig, WechatProvider
from csms.billing.signatures import (
    BadSignature,
    MalformedCallback,
    StaleCallback,
    alipay_content,
    load_private_key,
    load_public_key,
    rsa_sign,
    stripe_header,
    verify_rsa,
    wechat_decrypt,
    wechat_message,
)
from csms.billing.tables import PaymentOrderRow

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payments"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOLERANCE = 300
SECRET = "whsec_test_0123456789abcdef"
API_V3_KEY = "0123456789abcdef0123456789abcdef"


class Fixed(Clock):
    def now(self) -> datetime:
        return NOW


@cache
def pem_pair(name: str) -> tuple[str, str]:
    """A fresh RSA key pair (private PEM, public PEM); ``name`` keeps pairs apart."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def fixture(name: str, **values: str) -> str:
    text = (FIXTURES / name).read_text().strip()
    for field, value in values.items():
        text = text.replace("{" + field + "}", value)
    return text


# Stripe ---------------------------------------------------------------------------------------


def stripe() -> StripeProvider:
    config = StripeConfig("sk_test", SECRET, "https://app/ok", "https://app/cancel")
    return StripeProvider(config, tolerance_s=TOLERANCE, client=None)  # type: ignore[arg-type]


def stripe_signed(body: bytes, *, secret: str = SECRET, at: datetime = NOW) -> dict[str, str]:
    return {"Stripe-Signature": stripe_header(secret, int(at.timestamp()), body)}


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("stripe_payment_intent_succeeded.json", "pi_3PExample"),
        ("stripe_checkout_session_completed.json", "cs_test_a1Example"),
    ],
)
def test_a_signed_stripe_event_reads_as_paid(name: str, ref: str) -> None:
    body = fixture(name, order_id="42").encode()
    callback = stripe().verify(stripe_signed(body), body, NOW)
    assert (callback.order_id, callback.provider_ref, callback.kind, callback.paid) == (42, ref, "paid", True)
    assert (callback.amount, callback.currency) == (Decimal("100.00"), "CNY")


def test_stripe_accepts_any_of_several_v1_signatures() -> None:
    body = fixture("stripe_payment_intent_succeeded.json", order_id="42").encode()
    header = stripe_signed(body)["Stripe-Signature"]
    stamp, good = header.split(",")
    rolled = {"stripe-signature": f"{stamp},v1={'0' * 64},{good},v0=legacy"}
    assert stripe().verify(rolled, body, NOW).paid


def test_stripe_refuses_a_tampered_body() -> None:
    body = fixture("stripe_payment_intent_succeeded.json", order_id="42").encode()
    with pytest.raises(BadSignature):
        stripe().verify(stripe_signed(body), body.replace(b"10000", b"99999"), NOW)


def test_stripe_refuses_another_secret_and_a_missing_header() -> None:
    body = fixture("stripe_payment_intent_succeeded.json", order_id="42").encode()
    with pytest.raises(BadSignature):
        stripe().verify(stripe_signed(body, secret="whsec_other"), body, NOW)
    with pytest.raises(BadSignature):
        stripe().verify({}, body, NOW)


@pytest.mark.parametrize("offset", [timedelta(seconds=-301), timedelta(seconds=301)])
def test_stripe_refuses_a_stale_or_future_signature(offset: timedelta) -> None:
    body = fixture("stripe_payment_intent_succeeded.json", order_id="42").encode()
    with pytest.raises(StaleCallback):
        stripe().verify(stripe_signed(body, at=NOW + offset), body, NOW)
    assert stripe().verify(stripe_signed(body, at=NOW - timedelta(seconds=299)), body, NOW).paid


def test_a_signed_stripe_body_that_is_not_an_event_is_malformed() -> None:
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    with pytest.raises(MalformedCallback):
        stripe().verify(stripe_signed(body), body, NOW)


def test_the_sandbox_signs_like_stripe_with_a_secret_of_its_own() -> None:
    secret = sandbox_secret("k" * 40)
    assert secret != sandbox_secret("j" * 40)
    sandbox = SandboxProvider(secret, clock=Fixed(), tolerance_s=TOLERANCE)
    body = fixture("stripe_payment_intent_succeeded.json", order_id="7").encode()
    assert sandbox.verify(stripe_signed(body, secret=secret), body, NOW).order_id == 7
    with pytest.raises(BadSignature):
        sandbox.verify(stripe_signed(body), body, NOW)


# WeChat Pay v3 --------------------------------------------------------------------------------


def wechat(platform: str = "wechat-platform") -> WechatProvider:
    config = WechatConfig(
        mchid="1230000109",
        appid="wxd678efh567hg6787",
        api_v3_key=API_V3_KEY,
        private_key=pem_pair("merchant")[0],
        serial_no="5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        platform_public_key=pem_pair(platform)[1],
        notify_url="https://csms.example/api/v1/payments/wechat/webhook",
    )
    return WechatProvider(config, tolerance_s=TOLERANCE, client=None, clock=Fixed())  # type: ignore[arg-type]


def wechat_notification(order_id: int, *, trade_state: str = "SUCCESS") -> bytes:
    """The documented notification, its resource sealed as WeChat Pay seals it."""
    event: dict[str, Any] = json.loads(
        fixture("wechat_transaction_success.json", out_trade_no=merchant_order_no(order_id))
    )
    resource = event["resource"]
    plain = {**resource.pop("plaintext"), "trade_state": trade_state}
    sealed = AESGCM(API_V3_KEY.encode()).encrypt(
        resource["nonce"].encode(), json.dumps(plain).encode(), resource["associated_data"].encode()
    )
    resource["ciphertext"] = base64.b64encode(sealed).decode()
    return json.dumps(event, ensure_ascii=False).encode()


def wechat_signed(body: bytes, *, signer: str = "wechat-platform", at: datetime = NOW) -> dict[str, str]:
    stamp, nonce = str(int(at.timestamp())), "593BEC0C930BF1AFEB40B4A08C8FB242"
    signature = rsa_sign(load_private_key(pem_pair(signer)[0]), wechat_message(stamp, nonce, body))
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": "7132D72A03E93CDDF8C03BBD1F37EEDF4F4C6568",
    }


def test_a_signed_wechat_notification_decrypts_to_a_paid_order() -> None:
    body = wechat_notification(42)
    callback = wechat().verify(wechat_signed(body), body, NOW)
    assert (callback.event_id, callback.order_id, callback.provider_ref) == (
        "EV-2018022511223320873",
        42,
        merchant_order_no(42),
    )
    assert (callback.paid, callback.amount, callback.currency) == (True, Decimal("100.00"), "CNY")
    assert callback.payload["resource"]["transaction_id"] == "1217752501201407033233368018"


def test_a_closed_wechat_trade_is_not_paid() -> None:
    body = wechat_notification(42, trade_state="CLOSED")
    callback = wechat().verify(wechat_signed(body), body, NOW)
    assert (callback.kind, callback.paid) == ("closed", False)


def test_wechat_refuses_a_tampered_body_another_key_and_a_stale_time() -> None:
    body = wechat_notification(42)
    with pytest.raises(BadSignature):
        wechat().verify(wechat_signed(body), body.replace(b"EV-", b"EW-"), NOW)
    with pytest.raises(BadSignature):
        wechat().verify(wechat_signed(body, signer="someone-else"), body, NOW)
    with pytest.raises(BadSignature):
        wechat().verify({}, body, NOW)
    with pytest.raises(StaleCallback):
        wechat().verify(wechat_signed(body, at=NOW - timedelta(seconds=301)), body, NOW)


def test_a_resource_sealed_under_another_key_is_malformed() -> None:
    sealed = AESGCM(os.urandom(32)).encrypt(b"fdasflkja484", b"{}", b"transaction")
    with pytest.raises(MalformedCallback):
        wechat_decrypt(API_V3_KEY, "fdasflkja484", "transaction", base64.b64encode(sealed).decode())
    sealed = AESGCM(API_V3_KEY.encode()).encrypt(b"fdasflkja484", b'{"a": 1}', b"transaction")
    assert (
        wechat_decrypt(API_V3_KEY, "fdasflkja484", "transaction", base64.b64encode(sealed).decode())
        == b'{"a": 1}'
    )
    with pytest.raises(MalformedCallback):  # the associated data is authenticated too
        wechat_decrypt(API_V3_KEY, "fdasflkja484", "other", base64.b64encode(sealed).decode())


# Alipay ---------------------------------------------------------------------------------------

APP_ID = "2014072300007148"


def alipay(public: str = "alipay") -> AlipayProvider:
    config = AlipayConfig(APP_ID, pem_pair("merchant")[0], pem_pair(public)[1], "https://csms.example/notify")
    return AlipayProvider(config, tolerance_s=TOLERANCE, clock=Fixed())


def alipay_notify(order_id: int, *, signer: str = "alipay", at: datetime = NOW, **changes: str) -> bytes:
    """The documented notify form, signed over its sorted decoded parameters."""
    text = fixture(
        "alipay_trade_success.txt",
        notify_id="ac05099524730693a8b330c5ecf72da9786",
        app_id=APP_ID,
        notify_time=at.astimezone(BEIJING).strftime(TIME),
        out_trade_no=merchant_order_no(order_id),
    )
    params = dict(pair.split("=", 1) for pair in text.split("&"))
    params["sign_type"] = "RSA2"
    params["sign"] = rsa_sign(load_private_key(pem_pair(signer)[0]), alipay_content(params))
    return urlencode(params | changes).encode()


def test_a_signed_alipay_notify_reads_as_paid() -> None:
    callback = alipay().verify({}, alipay_notify(42), NOW)
    assert (callback.order_id, callback.kind, callback.amount, callback.currency) == (
        42,
        "paid",
        Decimal("100.00"),
        "CNY",
    )
    assert callback.event_id == "ac05099524730693a8b330c5ecf72da9786" and "sign" not in callback.payload


def test_alipay_refuses_a_tampered_notify_another_key_and_a_stale_time() -> None:
    with pytest.raises(BadSignature):
        alipay().verify({}, alipay_notify(42, total_amount="1000.00"), NOW)
    with pytest.raises(BadSignature):
        alipay().verify({}, alipay_notify(42, signer="someone-else"), NOW)
    with pytest.raises(StaleCallback):
        alipay().verify({}, alipay_notify(42, at=NOW - timedelta(seconds=301)), NOW)
    with pytest.raises(MalformedCallback):
        alipay().verify({}, b"\xff\xfe", NOW)


def test_alipay_signs_without_empty_values_and_its_own_signature() -> None:
    assert alipay_content({"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "c": ""}) == b"a=1&b=2"


async def test_an_alipay_checkout_is_a_page_signed_with_our_key() -> None:
    order = PaymentOrderRow(
        id=42,
        user_id=1,
        tenant_id=1,
        provider="alipay",
        amount=Decimal("100"),
        currency="CNY",
        created_at=NOW,
    )
    checkout = await alipay().checkout(order)
    assert checkout.provider_ref == merchant_order_no(42) and checkout.pay_url is not None
    assert json.loads(checkout.params["biz_content"])["total_amount"] == "100.00"
    assert checkout.params["timestamp"] == "2026-03-01 20:00:00"
    ours = load_public_key(pem_pair("merchant")[1])  # Alipay checks our request with our public key
    verify_rsa(ours, alipay_content(checkout.params, exclude=("sign",)), checkout.params["sign"])
