"""Errors the pricing use cases raise; the edges translate them.

TariffError
├── InvalidTariff        the definition breaks a rule (names the band when one is at fault)
├── TariffNotFound       no such tenant, tariff, version or assignment
├── TariffConflict       contradicts what is stored: a taken name, an archived tariff, a version
│                        that would start before the latest one or in the past
└── NoTariff             nothing is assigned to the station, or no version is valid then
"""


class TariffError(Exception):
    """Base of the pricing domain's errors."""


class InvalidTariff(TariffError):
    def __init__(self, message: str, band: str | None = None) -> None:
        super().__init__(message)
        self.band = band


class TariffNotFound(TariffError):
    pass


class NoTariff(TariffError):
    pass


class TariffConflict(TariffError):
    pass
