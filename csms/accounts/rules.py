"""Pure rules for what drivers type: phone numbers, passwords, number plates, card numbers."""

from __future__ import annotations

import re

from csms.accounts.errors import InvalidAccountData

MIN_PASSWORD = 8
MAX_PASSWORD = 128  # argon2 hashes anything, but a megabyte "password" is only a way to burn CPU
_SEPARATORS = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"\+[1-9]\d{6,14}")  # E.164: a country code and at most 15 digits
_PLATE = re.compile(r"[0-9A-Z\u4e00-\u9fff]{2,16}")
_CARD = re.compile(r"[\x21-\x7e]{1,20}")  # OCPP 1.6 idTag: CiString20, printable ASCII


def normalise_phone(raw: str) -> str:
    """``+86 138-0000-0001`` and ``0086 13800000001`` both become ``+8613800000001``."""
    phone = _SEPARATORS.sub("", raw.strip())
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not _PHONE.fullmatch(phone):
        raise InvalidAccountData("A phone number is + and the country code, then 7 to 15 digits in all")
    return phone


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidAccountData(f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def normalise_plate(raw: str) -> str:
    """Plates compare without case, spaces or dashes: ``ab-123 cd`` is ``AB123CD``."""
    plate = _SEPARATORS.sub("", raw).upper()
    if not _PLATE.fullmatch(plate):
        raise InvalidAccountData("A number plate has 2 to 16 letters or digits")
    return plate


def check_card(raw: str) -> str:
    """Kept as printed: stations send the card number exactly as provisioned, so no rewriting."""
    card = raw.strip()
    if not _CARD.fullmatch(card):
        raise InvalidAccountData("A card number has 1 to 20 printable characters and no spaces")
    return card
