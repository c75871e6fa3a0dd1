"""WeChat Pay API v3: a Native order (a QR code the driver scans) per recharge, and its
notifications, signed with the platform key and carrying the transaction AES-256-GCM sealed.
Amounts are integers of fen."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from chargepoints.ports import Clock
from csms.billing.payments import Callback, Checkout, ProviderUnavailable, merchant_order_no, order_id_of
from csms.billing.providers.stripe import lower, minor_units
from csms.billing.signatures import (
    MalformedCallback,
    check_fresh,
    load_private_key,
    load_public_key,
    rsa_sign,
    verify_rsa,
    wechat_decrypt,
    wechat_message,
)
from csms.billing.tables import PaymentOrderRow
from tariffs.currency import minor_unit

API = "https://api.mch.weixin.qq.com"
NATIVE = "/v3/pay/transactions/native"
_STATES = {"SUCCESS": "paid", "PAYERROR": "failed", "CLOSED": "closed", "REVOKED": "closed"}


@dataclass(frozen=True, slots=True)
class WechatConfig:
    mchid: str
    appid: str
    api_v3_key: str  # 32 characters, set in the merchant platform
    private_key: str  # our merchant API key (PEM): signs our requests
    serial_no: str  # that key's certificate serial number
    platform_public_key: str  # WeChat Pay's key (PEM): signs its notifications
    notify_url: str


class WechatProvider:
    name = "wechat"

    def __init__(
        self, config: WechatConfig, *, tolerance_s: int, client: httpx.AsyncClient, clock: Clock
    ) -> None:
        self.config, self.tolerance_s, self.client, self.clock = config, tolerance_s, client, clock
        self._private = load_private_key(config.private_key)
        self._platform = load_public_key(config.platform_public_key)

    async def checkout(self, order: PaymentOrderRow) -> Checkout:
        assert order.id is not None
        out_trade_no = merchant_order_no(order.id)
        body = json.dumps(
            {
                "appid": self.config.appid,
                "mchid": self.config.mchid,
                "description": "Wallet recharge",
                "out_trade_no": out_trade_no,
                "notify_url": self.config.notify_url,
                "amount": {"total": minor_units(order.amount, order.currency), "currency": order.currency},
            }
        ).encode()
        try:
            answer = await self.client.post(
                API + NATIVE,
                content=body,
                headers={**self._authorization(body), "Content-Type": "application/json"},
            )
            answer.raise_for_status()
            code_url = str(answer.json()["code_url"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise ProviderUnavailable(f"WeChat Pay did not open an order: {exc}") from exc
        return Checkout(out_trade_no, code_url, {"code_url": code_url})

    def _authorization(self, body: bytes) -> dict[str, str]:
        """The WECHATPAY2-SHA256-RSA2048 header over method, path, time, nonce and body."""
        stamp, nonce = str(int(self.clock.now().timestamp())), secrets.token_hex(16)
        signature = rsa_sign(self._private, wechat_message("POST", NATIVE, stamp, nonce, body))
        fields = {
            "mchid": self.config.mchid,
            "nonce_str": nonce,
            "signature": signature,
            "timestamp": stamp,
            "serial_no": self.config.serial_no,
        }
        return {
            "Authorization": "WECHATPAY2-SHA256-RSA2048 " + ",".join(f'{k}="{v}"' for k, v in fields.items())
        }

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> Callback:
        found = lower(headers)
        stamp, nonce = found.get("wechatpay-timestamp", ""), found.get("wechatpay-nonce", "")
        verify_rsa(self._platform, wechat_message(stamp, nonce, raw_body), found.get("wechatpay-signature"))
        if not stamp.isdigit():
            raise MalformedCallback("Wechatpay-Timestamp is not a Unix time")
        check_fresh(datetime.fromtimestamp(int(stamp), UTC), now, self.tolerance_s)
        return self._read(raw_body)

    def _read(self, raw_body: bytes) -> Callback:
        try:
            event: dict[str, Any] = json.loads(raw_body)
            resource = event["resource"]
            opened = wechat_decrypt(
                self.config.api_v3_key,
                resource["nonce"],
                resource.get("associated_data", ""),
                resource["ciphertext"],
            )
            trade: dict[str, Any] = json.loads(opened)
            kind = _STATES.get(trade["trade_state"], str(event["event_type"]))
            currency = str(trade["amount"].get("currency", "CNY"))
            return Callback(
                event_id=str(event["id"]),
                provider_ref=str(trade["out_trade_no"]),
                order_id=order_id_of(trade["out_trade_no"]),
                kind=kind,
                paid=kind == "paid",
                amount=Decimal(int(trade["amount"]["total"])) * minor_unit(currency),
                currency=currency,
                payload={**event, "resource": trade},  # what it said, opened (ids and amounts, no secrets)
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise MalformedCallback("Not a WeChat Pay transaction notification") from None
