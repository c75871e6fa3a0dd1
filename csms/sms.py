"""SMS adapters: the console sender developers log in with, and a webhook for a real gateway."""

from __future__ import annotations

import logging

import httpx

from csms.accounts.errors import SmsNotSent
from csms.accounts.ports import SmsSender
from csms.settings import Settings

log = logging.getLogger(__name__)


class LogSms:
    """Writes each message to the log at INFO instead of sending it: the default, for development."""

    async def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", phone, text)


class WebhookSms:
    """POSTs ``{"phone", "text"}`` as JSON to the operator's gateway; any 2xx means sent."""

    def __init__(
        self, url: str, *, timeout_s: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url, self.timeout_s, self.transport = url, timeout_s, transport

    async def send(self, phone: str, text: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport) as client:
                response = await client.post(self.url, json={"phone": phone, "text": text})
        except httpx.HTTPError as exc:
            raise SmsNotSent(f"The SMS gateway did not answer: {type(exc).__name__}") from exc
        if not response.is_success:
            raise SmsNotSent(f"The SMS gateway answered {response.status_code}")


def sms_sender(settings: Settings) -> SmsSender:
    return WebhookSms(settings.sms_webhook_url) if settings.sms_webhook_url else LogSms()
