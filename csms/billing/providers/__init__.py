"""The payment providers this deployment offers, by name, with the one drivers get by default."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from csms.billing.errors import NotFound
from csms.billing.payments import PaymentProvider
from csms.billing.providers.sandbox import SandboxProvider


class Providers:
    def __init__(
        self, providers: Iterable[PaymentProvider], *, default: str, client: httpx.AsyncClient
    ) -> None:
        self._by_name = {provider.name: provider for provider in providers}
        if default not in self._by_name:
            raise ValueError(f"The default payment provider {default!r} is not configured")
        self.default, self.client = default, client

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, name: str | None) -> PaymentProvider:
        found = self._by_name.get(name or self.default)
        if found is None:
            raise NotFound(f"No payment provider {name!r} here; there are {', '.join(self.names)}")
        return found

    async def stop(self) -> None:
        """Cancel the sandbox's pending deliveries and close the providers' HTTP client."""
        for provider in self._by_name.values():
            if isinstance(provider, SandboxProvider):
                await provider.stop()
        await self.client.aclose()
