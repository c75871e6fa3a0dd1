"""Driver API log-in: SMS codes, sign-up with an invitation, tokens, logout and passwords.

Access tokens live 15 minutes; the refresh token (30 days) is swapped for a new pair at every
refresh, and a swapped one presented again ends its session. Log-in failures all answer the same
401, so nobody can probe which phone numbers have accounts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from csms.accounts import services
from csms.accounts.errors import (
    AccountConflict,
    AccountError,
    AccountNotFound,
    InvalidAccountData,
    InvalidCredentials,
    NotAllowed,
    NotAuthenticated,
    SmsNotSent,
    TooManyCodes,
)
from csms.accounts.model import CodePurpose, Login, Registration
from csms.accounts.sms_codes import MIN_INTERVAL
from web.api.problems import problem
from web.deps import AccountsUowDep, AuthDep, ClockDep, CurrentUser, SmsDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

Phone = Annotated[str, Field(min_length=4, max_length=32, examples=["+8613800000001"])]
Code = Annotated[str, Field(pattern=r"^\d{6}$", description="The six digits texted", examples=["123456"])]
NewPassword = Annotated[str, Field(min_length=8, max_length=128)]


class CodeIn(BaseModel):
    tenant_id: int
    phone: Phone
    purpose: CodePurpose


class CodeOut(BaseModel):
    expires_in: int = Field(description="Seconds the code stays valid")
    resend_after: int = Field(description="Seconds before another code may be asked for")


class RegisterIn(BaseModel):
    tenant_id: int
    phone: Phone
    code: Code
    password: NewPassword | None = None
    display_name: str | None = Field(default=None, max_length=100)
    invitation_code: str | None = Field(default=None, max_length=16, description="Another driver's code")


class LoginIn(BaseModel):
    """A password or an SMS code (purpose ``login``), not both."""

    tenant_id: int
    phone: Phone
    password: str | None = Field(default=None, max_length=128)
    code: Code | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> LoginIn:
        if (self.password is None) == (self.code is None):
            raise ValueError("send either password or code")
        return self


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class PasswordIn(BaseModel):
    current_password: str | None = Field(default=None, max_length=128, description="Unless none is set")
    new_password: NewPassword


class ResetIn(BaseModel):
    tenant_id: int
    phone: Phone
    code: Code
    new_password: NewPassword


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    user_id: int
    tenant_id: int
    role: str


@router.post("/sms-codes", status_code=status.HTTP_202_ACCEPTED)
async def send_code(
    body: CodeIn, uow: AccountsUowDep, clock: ClockDep, sms: SmsDep, auth: AuthDep
) -> CodeOut:
    """Text a six-digit code. The answer is the same whether or not the phone has an account."""
    await services.request_code(
        body.tenant_id, body.phone, body.purpose, uow=uow, clock=clock, sms=sms, config=auth
    )
    return CodeOut(
        expires_in=int(auth.code_ttl.total_seconds()), resend_after=int(MIN_INTERVAL.total_seconds())
    )


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(body: RegisterIn, uow: AccountsUowDep, clock: ClockDep, auth: AuthDep) -> TokenOut:
    """Create a driver account with a ``register`` code; the answer logs it in."""
    registration = Registration(
        body.tenant_id, body.phone, body.code, body.password, body.display_name, body.invitation_code
    )
    return _tokens(await services.register(registration, uow=uow, clock=clock, config=auth))


@router.post("/login")
async def login(body: LoginIn, uow: AccountsUowDep, clock: ClockDep, auth: AuthDep) -> TokenOut:
    if body.code is not None:
        result = await services.login_with_code(
            body.tenant_id, body.phone, body.code, uow=uow, clock=clock, config=auth
        )
    else:
        assert body.password is not None
        result = await services.login_with_password(
            body.tenant_id, body.phone, body.password, uow=uow, clock=clock, config=auth
        )
    return _tokens(result)


@router.post("/refresh")
async def refresh(body: RefreshIn, uow: AccountsUowDep, clock: ClockDep, auth: AuthDep) -> TokenOut:
    """A new token pair; the refresh token sent is spent, and sending it again ends the session."""
    return _tokens(await services.refresh(body.refresh_token, uow=uow, clock=clock, config=auth))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, uow: AccountsUowDep, clock: ClockDep) -> Response:
    await services.logout(user.identity(), uow=uow, clock=clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password")
async def change_password(
    body: PasswordIn, user: CurrentUser, uow: AccountsUowDep, clock: ClockDep, auth: AuthDep
) -> TokenOut:
    """Change the password: every session ends, and this device gets a new token pair."""
    result = await services.change_password(
        user.identity(), body.current_password, body.new_password, uow=uow, clock=clock, config=auth
    )
    return _tokens(result)


@router.post("/password-reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(body: ResetIn, uow: AccountsUowDep, clock: ClockDep, auth: AuthDep) -> Response:
    """Set a new password with a ``reset`` code; every session of the account ends."""
    await services.reset_password(
        body.tenant_id, body.phone, body.code, body.new_password, uow=uow, clock=clock, config=auth
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _tokens(login: Login) -> TokenOut:
    return TokenOut(
        access_token=login.access_token,
        refresh_token=login.refresh_token,
        expires_in=login.expires_in,
        user_id=login.identity.user_id,
        tenant_id=login.identity.tenant_id,
        role=login.identity.role.value,
    )


_STATUS: list[tuple[type[AccountError], int]] = [
    (NotAuthenticated, 401),
    (InvalidCredentials, 401),
    (NotAllowed, 403),
    (AccountNotFound, 404),
    (AccountConflict, 409),
    (InvalidAccountData, 422),
    (TooManyCodes, 429),
    (SmsNotSent, 503),
]


async def _account_error(request: Request, exc: Exception) -> JSONResponse:
    """Account errors as problem JSON; a 401 says how to authenticate (RFC 6750, section 3)."""
    assert isinstance(exc, AccountError)
    code = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    response = problem(code, str(exc), instance=request.url.path)
    if code == 401:
        sent_token = "authorization" in request.headers
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if sent_token else "Bearer"
    if isinstance(exc, TooManyCodes):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(AccountError, _account_error)
