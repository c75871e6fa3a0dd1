"""Errors the account use cases raise; the edges translate them.

AccountError
├── NotAuthenticated     no access token, or a malformed, expired or revoked one
├── InvalidCredentials   wrong phone, password or SMS code: one message, so callers cannot tell
│                        which part was wrong nor whether the phone has an account
├── NotAllowed           logged in, but this role or account may not do that
├── AccountNotFound      no such tenant, or no such vehicle, station or card for this user
├── AccountConflict      a taken phone number, plate or card
├── InvalidAccountData   a weak password, a malformed phone number, an unknown invitation code
├── TooManyCodes         SMS codes asked for too often; ``retry_after`` says when to ask again
└── SmsNotSent           the SMS gateway refused or did not answer
"""


class AccountError(Exception):
    """Base of the accounts domain's errors."""


class NotAuthenticated(AccountError):
    pass


class InvalidCredentials(AccountError):
    def __init__(self) -> None:
        super().__init__("Wrong phone number, password or code")


class NotAllowed(AccountError):
    pass


class AccountNotFound(AccountError):
    pass


class AccountConflict(AccountError):
    pass


class InvalidAccountData(AccountError):
    pass


class TooManyCodes(AccountError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many codes asked for this phone; try again in {retry_after} s")
        self.retry_after = retry_after


class SmsNotSent(AccountError):
    pass
