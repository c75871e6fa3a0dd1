"""Where payment providers post their callbacks. The raw body is what was signed, so it is read
as bytes and verified before anything parses it. 400 for a callback we refuse (bad signature,
stale, malformed); 200 once it is handled or was handled before, since providers retry any
other answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from csms.billing import payments
from csms.billing.errors import NotFound
from csms.billing.signatures import CallbackRejected
from web.api.wallet import ProvidersDep
from web.deps import ClockDep

router = APIRouter(prefix="/api/v1/payments", tags=["payments"])
MAX_BODY = 64 * 1024  # providers' notifications are a few kilobytes


@router.post("/{provider}/webhook", responses={400: {"description": "Refused: not acted on"}})
async def webhook(
    provider: Annotated[str, Path(max_length=20)], request: Request, providers: ProvidersDep, clock: ClockDep
) -> Response:
    try:
        found = providers.get(provider)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(413, "The callback is too large")
    try:
        outcome = await payments.receive(
            found, request.headers, raw, sessions=request.app.state.sessions, clock=clock
        )
    except CallbackRejected as exc:
        raise HTTPException(400, str(exc) or type(exc).__name__) from None
    if found.name == "alipay":  # Alipay keeps retrying until it reads exactly this
        return PlainTextResponse("success")
    return JSONResponse({"code": "SUCCESS", "outcome": outcome.value})
