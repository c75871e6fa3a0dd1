"""The SMS adapters: the log sender developers read codes from, and the webhook sender."""

from __future__ import annotations

import json

import httpx
import pytest

from csms.accounts.errors import SmsNotSent
from csms.settings import Settings
from csms.sms import LogSms, WebhookSms, sms_sender

URL = "https://sms.example.com/send"


async def test_the_log_sender_writes_the_text_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="csms.sms"):
        await LogSms().send("+8613800000001", "Your code is 123456.")

    assert caplog.messages == ["SMS to +8613800000001: Your code is 123456."]


async def test_the_webhook_posts_phone_and_text_as_json() -> None:
    requests: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(204)

    await WebhookSms(URL, transport=httpx.MockTransport(gateway)).send("+8613800000001", "hello")

    assert [(r.method, str(r.url)) for r in requests] == [("POST", URL)]
    assert json.loads(requests[0].content) == {"phone": "+8613800000001", "text": "hello"}


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda request: httpx.Response(500), id="error status"),
        pytest.param(lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused")), id="no answer"),
    ],
)
async def test_a_failing_gateway_raises_sms_not_sent(answer: object) -> None:
    sender = WebhookSms(URL, transport=httpx.MockTransport(answer))  # type: ignore[arg-type]

    with pytest.raises(SmsNotSent):
        await sender.send("+8613800000001", "hello")


def test_the_webhook_is_used_when_configured() -> None:
    assert isinstance(sms_sender(Settings(sms_webhook_url=URL)), WebhookSms)
    assert isinstance(sms_sender(Settings()), LogSms)
