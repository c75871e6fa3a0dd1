"""Errors the charging use cases raise; the edges translate them.

ChargingError
├── StationNotFound          no such station
├── StationNotRegistered     the station has not been accepted by a BootNotification
├── TransactionNotFound      no such transaction
└── InvalidStationId         the id breaks the allowed length or characters
"""


class ChargingError(Exception):
    """Base of the charging domain's errors."""


class StationNotFound(ChargingError):
    pass


class StationNotRegistered(ChargingError):
    pass


class TransactionNotFound(ChargingError):
    pass


class InvalidStationId(ChargingError):
    pass


class StationOffline(ChargingError):
    """The station has no live connection, so a command cannot reach it."""


class CommandTimedOut(ChargingError):
    pass


class StationCallError(ChargingError):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


class InvalidCommand(ChargingError):
    pass


class ClusterUnavailable(ChargingError):
    pass


class StationExists(ChargingError):
    pass


class StationHasHistory(ChargingError):
    pass


class TokenNotFound(ChargingError):
    pass


class TokenExists(ChargingError):
    pass
