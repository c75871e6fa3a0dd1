"""The tariff editor: its form as the operator fills it in, and the week grid that shows the bands.

The form is plain fields (``band-0-name``, ``band-0-days`` ...) so it works without JavaScript;
it becomes a definition in the JSON of ``tariffs.codec``, which, with ``tariffs.validation``,
judges it: the editor only shows their verdict, naming the band at fault.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from starlette.datastructures import FormData

from tariffs import validation
from tariffs.codec import DAYS, tariff_from_json
from tariffs.currency import plain
from tariffs.errors import InvalidTariff
from tariffs.model import HOLIDAY, Band, Tariff

SLOTS = 48
"""Half hours in a day: the grid's columns."""
COLOURS = 8
"""Distinct band colours in the stylesheet; more bands reuse them."""
_SLOT_US = 30 * 60 * 1_000_000
_BAND_FIELDS = ("name", "start", "end", "energy_fee", "service_fee")


@dataclass
class BandInput:
    """One row of the band table, as typed."""

    name: str = ""
    days: tuple[str, ...] = ()
    start: str = ""
    end: str = ""
    energy_fee: str = ""
    service_fee: str = "0"

    def blank(self) -> bool:
        return not (self.name or self.start or self.end or self.energy_fee)

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "days": list(self.days),
            "start": self.start,
            "end": self.end,
            "energy_fee": self.energy_fee,
            "service_fee": self.service_fee or "0",
        }


@dataclass
class TariffForm:
    """Everything the editor shows; amounts are texts until the codec reads them."""

    name: str = ""
    valid_from: str = ""  # a datetime-local value, in UTC
    bands: list[BandInput] = field(default_factory=list)
    session_fee: str = "0"
    time_fee_per_minute: str = "0"
    tax_percent: str = "0"
    idle_per_minute: str = ""
    idle_grace_minutes: str = "0"
    idle_cap: str = ""
    min_price: str = ""
    max_price: str = ""
    holidays: str = ""  # ISO dates, separated by spaces or commas

    @classmethod
    def new(cls) -> TariffForm:
        """A tariff of one band around the clock, every day: the simplest valid start."""
        return cls(bands=[BandInput("standard", DAYS[:7], "00:00", "24:00", "1.00")])

    @classmethod
    def parse(cls, form: FormData) -> TariffForm:
        """The submitted form; rows ticked for removal and blank rows are left out."""
        bands = []
        for index in range(_band_rows(form)):
            prefix = f"band-{index}-"
            if form.get(prefix + "remove"):
                continue
            values = {name: _text(form, prefix + name) for name in _BAND_FIELDS}
            days = tuple(day for day in DAYS if day in form.getlist(prefix + "days"))
            band = BandInput(days=days, **values)
            if not band.blank():
                bands.append(band)
        fields = {name: _text(form, name) for name in cls.__dataclass_fields__ if name != "bands"}
        return cls(bands=bands, **fields)

    @classmethod
    def from_definition(cls, name: str, definition: dict[str, Any]) -> TariffForm:
        """The editor filled in with a stored version, to edit into the next one."""
        idle = definition.get("idle_fee") or {}
        return cls(
            name=name,
            bands=[
                BandInput(
                    b["name"], tuple(b["days"]), b["start"], b["end"], b["energy_fee"], b["service_fee"]
                )
                for b in definition.get("bands", [])
            ],
            session_fee=definition.get("session_fee", "0"),
            time_fee_per_minute=definition.get("time_fee_per_minute", "0"),
            tax_percent=plain(Decimal(definition.get("tax_rate", "0")) * 100),
            idle_per_minute=idle.get("per_minute", ""),
            idle_grace_minutes=str(idle.get("grace_minutes", 0)),
            idle_cap=idle.get("cap") or "",
            min_price=definition.get("min_price") or "",
            max_price=definition.get("max_price") or "",
            holidays=" ".join(definition.get("holidays", [])),
        )

    def with_new_row(self) -> TariffForm:
        return replace(self, bands=[*self.bands, BandInput()])

    def definition(self) -> dict[str, Any]:
        """The definition for the codec; InvalidTariff for what only the form can get wrong."""
        idle = None
        if self.idle_per_minute:
            idle = {
                "per_minute": self.idle_per_minute,
                "grace_minutes": _whole(self.idle_grace_minutes or "0", "idle grace minutes"),
                "cap": self.idle_cap or None,
            }
        return {
            "bands": [band.json() for band in self.bands],
            "holidays": [day for day in re.split(r"[\s,]+", self.holidays) if day],
            "time_fee_per_minute": self.time_fee_per_minute or "0",
            "idle_fee": idle,
            "session_fee": self.session_fee or "0",
            "min_price": self.min_price or None,
            "max_price": self.max_price or None,
            "tax_rate": plain(_number(self.tax_percent or "0", "tax rate") / 100),
        }


def check(form: TariffForm, currency: str) -> InvalidTariff | None:
    """What the tariff rules say of the form: None when it may be saved."""
    try:
        validation.validate(decode(form, currency))
    except InvalidTariff as problem:
        return problem
    return None


def decode(form: TariffForm, currency: str) -> Tariff:
    return tariff_from_json(currency, form.definition())


@dataclass(frozen=True, slots=True)
class Cell:
    """Half an hour of one day: the band in force, none (a gap) or several at once (a clash)."""

    band: str | None
    colour: int | None
    clash: bool = False


@dataclass(frozen=True, slots=True)
class GridRow:
    """One day's half hours; the holidays' row is unused until a band lists them."""

    day: str
    cells: list[Cell]
    used: bool = True


def week_grid(form: TariffForm, currency: str) -> list[GridRow]:
    """The bands that read, laid out over the week and the holidays in half hours (rows that do
    not read yet are missing from the grid; ``check`` names them)."""
    bands: list[Band] = []
    for row in form.bands:
        try:
            bands.extend(tariff_from_json(currency, {"bands": [row.json()]}).bands)
        except InvalidTariff:
            continue
    colours = {name: index % COLOURS for index, name in enumerate(dict.fromkeys(b.name for b in bands))}
    rows = []
    for number, day in enumerate(DAYS):
        today = [b for b in bands if number in b.days]
        cells = [_cell(today, slot, colours) for slot in range(SLOTS)]
        rows.append(GridRow(day, cells, used=bool(today) or number != HOLIDAY))
    return rows


def band_colours(form: TariffForm) -> dict[str, int]:
    """The legend: each band name's colour, as in the grid."""
    names = dict.fromkeys(row.name for row in form.bands if row.name)
    return {name: index % COLOURS for index, name in enumerate(names)}


def _cell(bands: Sequence[Band], slot: int, colours: dict[str, int]) -> Cell:
    start, end = slot * _SLOT_US, (slot + 1) * _SLOT_US
    spans = sorted(
        (
            (max(validation.wall_us(b.start), start), min(validation.end_us(b), end), b)
            for b in bands
            if validation.wall_us(b.start) < end and validation.end_us(b) > start
        ),
        key=lambda span: (span[0], span[1]),
    )
    if not spans:
        return Cell(None, None)
    clash = any(later[0] < earlier[1] for earlier, later in pairwise(spans))
    first = spans[0][2]
    return Cell(first.name, colours.get(first.name), clash)


def _band_rows(form: FormData) -> int:
    indexes = [int(m[1]) for key in form for m in [re.fullmatch(r"band-(\d{1,3})-\w+", key)] if m]
    return max(indexes, default=-1) + 1


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(text: str, what: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidTariff(f"{what}: {text!r} is not a number") from None
    if not number.is_finite():
        raise InvalidTariff(f"{what}: {text!r} is not a number")
    return number


def _whole(text: str, what: str) -> int:
    if not text.isdigit():
        raise InvalidTariff(f"{what}: {text!r} is not a whole number")
    return int(text)
