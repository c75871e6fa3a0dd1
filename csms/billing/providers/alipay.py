"""Alipay (open platform, RSA2): a signed page-pay request per recharge, and the asynchronous
notify Alipay posts back as a form, signed with its public key's pair. Amounts are yuan as
decimal strings; times are Beijing time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from chargepoints.ports import Clock
from csms.billing.payments import Callback, Checkout, ProviderUnavailable, merchant_order_no, order_id_of
from csms.billing.signatures import (
    BadSignature,
    MalformedCallback,
    alipay_content,
    check_fresh,
    load_private_key,
    load_public_key,
    rsa_sign,
    verify_rsa,
)
from csms.billing.tables import PaymentOrderRow

GATEWAY = "https://openapi.alipay.com/gateway.do"
BEIJING = ZoneInfo("Asia/Shanghai")
TIME = "%Y-%m-%d %H:%M:%S"
_STATES = {"TRADE_SUCCESS": "paid", "TRADE_FINISHED": "paid", "TRADE_CLOSED": "closed"}


@dataclass(frozen=True, slots=True)
class AlipayConfig:
    app_id: str
    private_key: str  # our application key (PEM): signs our requests
    alipay_public_key: str  # Alipay's key (PEM): signs its notifications
    notify_url: str
    return_url: str | None = None


class AlipayProvider:
    name = "alipay"

    def __init__(self, config: AlipayConfig, *, tolerance_s: int, clock: Clock) -> None:
        self.config, self.tolerance_s, self.clock = config, tolerance_s, clock
        self._private = load_private_key(config.private_key)
        self._alipay = load_public_key(config.alipay_public_key)

    async def checkout(self, order: PaymentOrderRow) -> Checkout:
        """alipay.trade.page.pay needs no call from us: the signed request is the pay page's URL."""
        assert order.id is not None
        if order.currency != "CNY":
            raise ProviderUnavailable("Alipay takes CNY only")
        out_trade_no = merchant_order_no(order.id)
        biz = {
            "out_trade_no": out_trade_no,
            "total_amount": f"{order.amount:.2f}",
            "subject": "Wallet recharge",
            "product_code": "FAST_INSTANT_TRADE_PAY",
        }
        params = {
            "app_id": self.config.app_id,
            "method": "alipay.trade.page.pay",
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": self.clock.now().astimezone(BEIJING).strftime(TIME),
            "version": "1.0",
            "notify_url": self.config.notify_url,
            "biz_content": json.dumps(biz, separators=(",", ":")),
        } | ({"return_url": self.config.return_url} if self.config.return_url else {})
        params["sign"] = rsa_sign(self._private, alipay_content(params, exclude=("sign",)))
        return Checkout(out_trade_no, f"{GATEWAY}?{urlencode(params)}", params)

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> Callback:
        try:
            params = dict(parse_qsl(raw_body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise MalformedCallback("Not a form-encoded Alipay notify") from None
        verify_rsa(self._alipay, alipay_content(params), params.get("sign"))
        if params.get("app_id") != self.config.app_id:
            raise BadSignature("The notify is for another application")
        try:
            sent = datetime.strptime(params["notify_time"], TIME).replace(tzinfo=BEIJING)
            check_fresh(sent, now, self.tolerance_s)
            kind = _STATES.get(params["trade_status"], params["trade_status"])
            return Callback(
                event_id=params["notify_id"],
                provider_ref=params["out_trade_no"],
                order_id=order_id_of(params["out_trade_no"]),
                kind=kind,
                paid=kind == "paid",
                amount=Decimal(params["total_amount"]),
                currency="CNY",
                payload={k: v for k, v in params.items() if k != "sign"},
            )
        except (KeyError, ValueError, InvalidOperation):
            raise MalformedCallback("The notify lacks a field Alipay always sends") from None
