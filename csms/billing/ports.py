"""What billing needs from the outside world, as protocols the composition root fills."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from csms.billing.tables import PaymentOrderRow


class RefundSender(Protocol):
    """Pays money back through the provider the order was paid with (``order.provider``)."""

    async def refund(self, order: PaymentOrderRow, amount: Decimal) -> None: ...
