"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """200 when the database answers; 503 (with the reason) when it does not."""
    state = request.app.state
    body: dict[str, object] = {"status": "ok", "connections": state.connection_count()}
    try:
        async with state.sessions() as session:
            await session.execute(text("SELECT 1"))
        body["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        body.update(status="unavailable", database=f"error: {type(exc).__name__}")
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
