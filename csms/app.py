"""The composition root: one ASGI app serving the OCPP endpoint and the HTTP API on one port."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from csms import bootstrap
from csms.bus import RedisBus
from csms.ocpp.server import OcppEndpoint
from csms.settings import Settings
from web import callers, cors, idempotency, portal, ratelimit, signing
from web.api import (
    admin,
    api_clients,
    auth,
    bulk,
    commands,
    coupons,
    driver_reservations,
    driver_sessions,
    driver_stations,
    feedback,
    files,
    health,
    invoices,
    local_list,
    me,
    operations,
    operator,
    orders,
    payment_webhooks,
    points,
    problems,
    profile_templates,
    profiles,
    recharge_packages,
    refunds,
    reservations,
    sessions,
    site_loads,
    site_shares,
    statements,
    tariffs,
    tenants,
    wallet,
)


def create_app(settings: Settings, *, system: bootstrap.System | None = None) -> FastAPI:
    system = system or bootstrap.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await system.start()
        # Everything allocated at start-up lives as long as the process: keep it out of the
        # collector's generations so full collections stay short (see csms.scheduler).
        gc.freeze()
        try:
            yield
        finally:
            await system.stop()

    app = FastAPI(
        title="csms",
        summary="OCPP 1.6 / 2.0.1 charging station management system",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.system = system
    app.state.sessions = system.sessions
    app.state.station_gateway = system.station_gateway
    app.state.connection_count = lambda: len(system.connections)
    # Each add_middleware wraps the ones before it: idempotency runs innermost, then request
    # signatures, rate limits and CORS; the OCPP endpoint stays outermost (see OcppEndpoint).
    identify = callers.bearer_users(system.auth.secret_key, system.clock)
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    idempotency.install(app, sessions=system.sessions, clock=system.clock, ttl=ttl, identify=identify)
    signing.install(app, sessions=system.sessions, clock=system.clock, server_key=system.auth.secret_key)
    redis = system.bus.redis if isinstance(system.bus, RedisBus) else None  # several nodes: shared buckets
    ratelimit.install(app, settings, identify=identify, redis=redis)
    cors.install(app, settings.cors_origin_list)
    app.add_middleware(OcppEndpoint, ctx=system.gateway, connections=system.connections)
    problems.install(app)
    tariffs.install(app)
    auth.install(app)
    app.include_router(health.router)
    app.include_router(operator.router)
    app.include_router(commands.router)
    app.include_router(admin.router)
    app.include_router(operations.router)
    app.include_router(bulk.router)
    app.include_router(files.operator)
    app.include_router(files.stations)
    app.include_router(reservations.router)
    app.include_router(local_list.router)
    app.include_router(profiles.router)
    app.include_router(profile_templates.router)
    app.include_router(site_loads.router)
    app.include_router(site_shares.router)
    app.include_router(tenants.router)
    app.include_router(tariffs.router)
    app.include_router(sessions.router)
    app.include_router(auth.router)
    app.include_router(me.router)
    app.include_router(api_clients.router)
    app.include_router(driver_stations.router)
    app.include_router(feedback.driver)
    app.include_router(feedback.operator)
    app.include_router(driver_sessions.router)
    app.include_router(orders.router)
    app.include_router(driver_reservations.router)
    app.include_router(wallet.router)
    app.include_router(payment_webhooks.router)
    app.include_router(recharge_packages.router)
    app.include_router(refunds.driver)
    app.include_router(refunds.operator)
    app.include_router(coupons.driver)
    app.include_router(coupons.operator)
    app.include_router(statements.driver)
    app.include_router(statements.operator)
    app.include_router(invoices.driver)
    app.include_router(invoices.operator)
    app.include_router(points.driver)
    app.include_router(points.operator)
    portal.install(app)  # after the API's error handlers: it answers only /portal with pages
    return app
