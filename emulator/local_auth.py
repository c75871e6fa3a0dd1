"""Authorisation without asking the CSMS: the local authorisation list and the cache.

The CSMS manages the list (SendLocalList); the station fills the cache itself from every
answer the CSMS gives about a token. Offline, a station that trusts them
(LocalAuthorizeOffline) decides from the list first, then the cache (1.6 section 3.5,
2.0.1 C13 and C14).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ListUpdate = Literal["Accepted", "Failed", "VersionMismatch"]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known about an id token: its status, expiry and group (parent id tag)."""

    status: str
    expires_at: datetime | None = None
    group: str | None = None

    def status_at(self, now: datetime) -> str:
        """The status, turned Expired once the expiry date has passed."""
        if self.status == "Accepted" and self.expires_at is not None and now >= self.expires_at:
            return "Expired"
        return self.status


@dataclass(slots=True)
class LocalList:
    """The CSMS-managed list of tokens and its version number."""

    version: int = 0
    entries: dict[str, TokenInfo] = field(default_factory=dict)
    max_length: int = 1000

    def update(self, version: int, full: bool, changes: dict[str, TokenInfo | None]) -> ListUpdate:
        """Apply a SendLocalList; None removes a token in a differential update."""
        if not full and version <= self.version:
            return "VersionMismatch"
        entries = {} if full else dict(self.entries)
        for token, info in changes.items():
            if info is None:
                entries.pop(token, None)
            else:
                entries[token] = info
        if len(entries) > self.max_length:
            return "Failed"
        self.version, self.entries = version, entries
        return "Accepted"


@dataclass(slots=True)
class Authorizer:
    """Local knowledge about tokens: the list, the cache, and whether each is in use."""

    local_list: LocalList = field(default_factory=LocalList)
    cache: dict[str, TokenInfo] = field(default_factory=dict)

    def remember(self, token: str, info: TokenInfo, *, cache_enabled: bool) -> None:
        """Cache what the CSMS said about a token (C10: the cache mirrors its answers)."""
        if cache_enabled:
            self.cache[token] = info

    def known(self, token: str, *, list_enabled: bool, cache_enabled: bool) -> TokenInfo | None:
        """What the list, or else the cache, says about a token."""
        if list_enabled and token in self.local_list.entries:
            return self.local_list.entries[token]
        if cache_enabled:
            return self.cache.get(token)
        return None

    def offline(
        self, token: str, now: datetime, *, list_enabled: bool, cache_enabled: bool, unknown_allowed: bool
    ) -> TokenInfo:
        """The decision a station makes alone; an unknown token passes only when allowed."""
        info = self.known(token, list_enabled=list_enabled, cache_enabled=cache_enabled)
        if info is None:
            return TokenInfo("Accepted" if unknown_allowed else "Invalid")
        return TokenInfo(info.status_at(now), info.expires_at, info.group)
