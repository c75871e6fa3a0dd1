"""Languages: English source strings, the Simplified Chinese catalogue, choice per user and browser."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer
from tests.portal import log_in, portal_client
from web.portal import i18n

# The pages and partials of the portal's core: each of their strings must be translated.
CORE_FILES = (
    "web/portal/__init__.py",
    "web/portal/auth.py",
    "web/portal/investors.py",
    "web/portal/templates/base.html",
    "web/portal/templates/_nav.html",
    "web/portal/templates/_toast.html",
    "web/portal/templates/home.html",
    "web/portal/templates/auth/",
    "web/portal/templates/errors/",
    "web/portal/templates/investors/",
)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("en-GB,zh;q=0.5", "en"),
        ("fr-FR, zh;q=0.3, en;q=0.2", "zh_CN"),
        ("de, fr;q=0.5", "en"),
        ("zh;q=0, en", "en"),
        ("zh;q=abc, en", "en"),
    ],
)
def test_accept_language_picks_one_of_ours(header: str | None, language: str) -> None:
    assert i18n.negotiate(header) == language


def test_every_core_string_is_translated_to_chinese() -> None:
    extracted = i18n.extract()
    core = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in extracted
        if message.id and any(path.startswith(CORE_FILES) for path, _ in message.locations)
    }
    assert {"Log in", "Change password", "You may not see or do this."} <= core
    catalogue = i18n.translations("zh_CN")
    untranslated = sorted(text for text in core if catalogue.gettext(text) == text)
    assert untranslated == []
    assert not set(i18n.missing("zh_CN")) & core  # none of them fuzzy either


def test_placeholders_survive_translation() -> None:
    catalogue = i18n.translations("zh_CN")
    assert catalogue.gettext("Welcome, %(name)s") % {"name": "李雷"} == "欢迎\uff0c李雷"  # a full-width comma
    assert catalogue.ngettext("You own %(num)s site.", "You own %(num)s sites.", 3) % {"num": 3} == (
        "您拥有 3 个站点。"
    )
    assert i18n.translations("en").gettext("Log in") == "Log in"


async def test_the_log_in_page_follows_the_browser_language(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        chinese = await client.get("/portal/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert chinese.headers["content-language"] == "zh-CN"
        assert '<html lang="zh-CN">' in chinese.text and "手机号或邮箱" in chinese.text
        english = await client.get("/portal/login", headers={"Accept-Language": "en-US"})
        assert "Phone number or e-mail" in english.text


async def test_language_switch_is_stored_on_the_user(server: LiveServer) -> None:
    async with await portal_client(server) as client:
        page = await client.get("/portal/password", headers={"Accept-Language": "en"})
        assert "Change password" in page.text
        switched = await client.post(
            "/portal/language", data={"language": "zh_CN", "next": "/portal/password"}
        )
        assert switched.status_code == 303 and switched.headers["location"] == "/portal/password"
        page = await client.get("/portal/password", headers={"Accept-Language": "en"})
        assert "修改密码" in page.text and "退出登录" in page.text
        refused = await client.post("/portal/logout", headers={"X-CSRF-Token": "wrong", "HX-Request": "true"})
        assert "表单已过期" in refused.text  # toasts speak the user's language too
        phone = client.phone
    async with httpx.AsyncClient(base_url=server.http) as browser:  # another browser, same user
        assert (await log_in(browser, phone)).status_code == 303
        page = await browser.get("/portal/password", headers={"Accept-Language": "en"})
        assert "修改密码" in page.text


async def test_language_switch_before_log_in_uses_a_cookie(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        page = await client.get("/portal/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"language": "zh_CN", "next": "/portal/login", "csrf_token": token}
        assert (await client.post("/portal/language", data=form)).status_code == 303
        assert "登录" in (await client.get("/portal/login", headers={"Accept-Language": "en"})).text
        form = {**form, "language": "klingon"}
        assert (await client.post("/portal/language", data=form)).status_code == 303  # ignored
        assert "登录" in (await client.get("/portal/login")).text
