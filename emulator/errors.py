"""Errors the emulator raises to its callers.

EmulatorError
├── NotConnectedError      a message that needs an answer was sent without a live connection
├── EvseUnavailableError   a session was asked of a busy, reserved or inoperative EVSE
└── TransferError          a firmware download or a log upload failed
"""


class EmulatorError(Exception):
    """Base of every emulator error."""


class NotConnectedError(EmulatorError):
    """Raised when a message is sent before `connect()` or after the link dropped."""


class EvseUnavailableError(EmulatorError):
    """Raised when a session is started on an EVSE that cannot take one."""


class TransferError(EmulatorError):
    """Raised when an HTTP transfer fails; the station reports it as a failed status."""
