"""The portal's languages: English source strings and gettext catalogues, loaded with Babel.

Only the ``.po`` files ship: each is compiled in memory on first use, so there is no build step and
no stale ``.mo`` file. Maintenance, after adding or changing strings::

    python -m web.portal.i18n extract   # templates and Python of web/portal -> locale/messages.pot
    python -m web.portal.i18n update    # merge the template into every language's messages.po
    python -m web.portal.i18n check     # list strings still untranslated or fuzzy; exit 1 if any

Templates use ``{{ _("Text") }}`` and ``{{ _("%(n)s stations", n=count) }}`` (placeholders are
always %-formatted, so a literal percent sign is written ``%%``); Python code of the portal uses
``web.portal.templating.translate(request, "Text")``.
"""

from __future__ import annotations

import argparse
import gettext
import io
import re
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PORTAL_DIR = Path(__file__).resolve().parent
LOCALE_DIR = PORTAL_DIR / "locale"
TEMPLATE_FILE = LOCALE_DIR / "messages.pot"
DEFAULT_LANGUAGE = "en"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}  # code -> its own name, for the switch in the nav
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "translate": (2,)}
_METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
_OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
_TAG = re.compile(r"\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def po_file(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of a language; English (the source strings) and unknown codes translate to
    themselves."""
    path = po_file(language)
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def negotiate(accept_language: str | None) -> str:
    """The language an ``Accept-Language`` header prefers among ours (RFC 9110 section 12.5.4)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        match = _TAG.fullmatch(item)
        if match is None:
            continue
        try:
            quality = float(match.group(2) or 1)
        except ValueError:
            continue
        if quality > 0:
            ranked.append((-quality, position, match.group(1).lower().replace("_", "-")))
    for _, _, tag in sorted(ranked):
        if tag == "zh" or tag.startswith(("zh-cn", "zh-hans", "zh-sg")):
            return "zh_CN"
        if tag == "en" or tag.startswith("en-"):
            return "en"
    return DEFAULT_LANGUAGE


def extract() -> Catalog:
    """Every translatable string of the portal's templates and Python modules."""
    catalog = Catalog(project="csms", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        PORTAL_DIR, _METHODS, _OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalog.add(
            message, None, [(f"web/portal/{filename}", lineno)], auto_comments=comments, context=context
        )
    return catalog


def update(template: Catalog, languages: Iterable[str]) -> None:
    """Merge the template into each language's catalogue, creating catalogues that are missing."""
    for language in languages:
        path = po_file(language)
        if path.exists():
            with path.open("rb") as source:
                catalog = read_po(source, locale=language)
        else:
            catalog = Catalog(locale=language, project="csms", charset="utf-8", fuzzy=False)
        catalog.update(template, update_header_comment=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as target:
            write_po(target, catalog, width=110, omit_header=False, ignore_obsolete=True)


def missing(language: str) -> list[str]:
    """The messages of the language's catalogue still untranslated or marked fuzzy."""
    with po_file(language).open("rb") as source:
        catalog = read_po(source, locale=language)
    found = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            found.append(message.id if isinstance(message.id, str) else message.id[0])
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.portal.i18n", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["extract", "update", "check"])
    command = parser.parse_args(argv).command
    languages = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
    if command == "check":
        gaps = {language: missing(language) for language in languages}
        for language, messages in gaps.items():
            for message in messages:
                print(f"{language}: {message}")
        return 1 if any(gaps.values()) else 0
    template = extract()
    if command == "extract":
        with TEMPLATE_FILE.open("wb") as target:
            write_po(target, template, width=110, omit_header=False)
        print(f"{len(template)} messages -> {TEMPLATE_FILE.relative_to(PORTAL_DIR.parent.parent)}")
    else:
        update(template, languages)
        print(f"{len(template)} messages merged into {', '.join(languages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
