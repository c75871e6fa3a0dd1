"""Pure account rules: phone numbers, passwords, plates, cards and the SMS send limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csms.accounts.errors import InvalidAccountData
from csms.accounts.rules import check_card, check_password, normalise_phone, normalise_plate
from csms.accounts.sms_codes import new_code, retry_after

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("+8613800000001", "+8613800000001"),
        (" +86 138-0000-0001 ", "+8613800000001"),
        ("0086 13800000001", "+8613800000001"),
        ("+49 (30) 1234567", "+49301234567"),
    ],
)
def test_phone_numbers_are_normalised(raw: str, phone: str) -> None:
    assert normalise_phone(raw) == phone


@pytest.mark.parametrize("raw", ["13800000001", "+0123456789", "+86abc", "+123", "+1234567890123456"])
def test_malformed_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidAccountData):
        normalise_phone(raw)


def test_passwords_have_eight_to_128_characters() -> None:
    assert check_password("8 chars!") == "8 chars!"
    for bad in ("7 chars", "x" * 129):
        with pytest.raises(InvalidAccountData):
            check_password(bad)


def test_plates_compare_without_case_spaces_or_dashes() -> None:
    assert normalise_plate("ab-123 cd") == "AB123CD"
    assert normalise_plate("京A 12345") == "京A12345"
    with pytest.raises(InvalidAccountData):
        normalise_plate("A")


def test_cards_are_kept_as_printed() -> None:
    assert check_card(" tag-1 ") == "tag-1"
    for bad in ("", "with space", "x" * 21):
        with pytest.raises(InvalidAccountData):
            check_card(bad)


def test_codes_are_six_digits() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(codes) > 150


def test_one_code_a_minute() -> None:
    assert retry_after([], NOW) is None
    assert retry_after([NOW - timedelta(seconds=20)], NOW) == 40
    assert retry_after([NOW - timedelta(seconds=60)], NOW) is None


def test_five_codes_an_hour() -> None:
    sent = [NOW - timedelta(minutes=m) for m in (2, 10, 20, 30, 50)]

    assert retry_after(sent, NOW) == 10 * 60
    assert retry_after(sent[:4], NOW) is None
    assert retry_after(sent, NOW + timedelta(minutes=10)) is None
