"""Approved refunds paid back through the provider the order was paid with."""

from __future__ import annotations

import logging
from decimal import Decimal

from csms.billing.errors import BillingError
from csms.billing.tables import PaymentOrderRow

log = logging.getLogger(__name__)


class RefundNotSupported(BillingError):
    """The provider's refund API is not wired yet: the refund waits for a person."""


class ProviderRefunds:
    """The sandbox settles refunds at once, as its payments; the real providers' refund calls
    are not made yet, so such a refund stays Approved for an operator to pay by hand."""

    async def refund(self, order: PaymentOrderRow, amount: Decimal) -> None:
        if order.provider != "sandbox":
            raise RefundNotSupported(f"Refunds through {order.provider} are made by hand for now")
        log.info("sandbox refund of %s %s for order %s", amount, order.currency, order.id)
