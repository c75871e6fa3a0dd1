"""Errors the emulator raises to its callers.

EmulatorError
├── NotConnectedError      a message was sent without a live connection
└── EvseUnavailableError   a session was asked of a busy or inoperative EVSE
"""


class EmulatorError(Exception):
    """Base of every emulator error."""


class NotConnectedError(EmulatorError):
    """Raised when a message is sent before `connect()` or after the link dropped."""


class EvseUnavailableError(EmulatorError):
    """Raised when a session is started on an EVSE that cannot take one."""
