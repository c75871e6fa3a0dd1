"""Errors the billing use cases raise; the edges translate them.

BillingError
├── UnbalancedEntry     an entry whose postings do not sum to zero per currency (a bug, never input)
├── InsufficientFunds   the wallet (less its active holds) cannot pay for this
├── NotFound            no such entry, order, refund or session for this user
├── Conflict            the request contradicts the state: a decided refund, a reversed entry
└── InvalidAmount       not a positive amount in whole minor units of its currency
"""


class BillingError(Exception):
    """Base of the billing domain's errors."""


class UnbalancedEntry(BillingError):
    pass


class InsufficientFunds(BillingError):
    pass


class NotFound(BillingError):
    pass


class Conflict(BillingError):
    pass


class InvalidAmount(BillingError):
    pass
