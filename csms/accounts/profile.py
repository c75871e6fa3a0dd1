"""The driver's profile: name and e-mail, vehicles, favourite stations and linked RFID cards.

Everything is looked up through the owner's id, so another user's vehicle or card is simply not
found: callers answer 404 without ever revealing that it exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chargepoints.tables import IdTokenRow
from csms.accounts.errors import AccountConflict, AccountNotFound, InvalidAccountData, NotAuthenticated
from csms.accounts.model import APP_TOKEN_TYPE, Identity, VehicleSpec
from csms.accounts.ports import Clock
from csms.accounts.repository import AccountsUnitOfWork
from csms.accounts.rules import check_card, normalise_plate
from csms.accounts.tables import FavoriteRow, UserRow, VehicleRow

PROFILE_FIELDS = frozenset({"display_name", "email"})
VEHICLE_FIELDS = frozenset({"plate", "model", "battery_wh", "connector_type"})


async def me(user_id: int, *, uow: AccountsUnitOfWork) -> UserRow:
    async with uow:
        user = await uow.accounts.user(user_id)
    if user is None:
        raise NotAuthenticated("The session has ended; log in again")
    return user


async def update_me(user_id: int, changes: Mapping[str, str | None], *, uow: AccountsUnitOfWork) -> UserRow:
    """Apply the fields the caller sent (PATCH: absent fields stay, null clears)."""
    _only(changes, PROFILE_FIELDS)
    async with uow:
        user = await uow.accounts.user(user_id)
        if user is None:
            raise NotAuthenticated("The session has ended; log in again")
        for name, value in changes.items():
            setattr(user, name, value)
        await uow.commit()
    return user


async def vehicles(
    user_id: int, *, uow: AccountsUnitOfWork, limit: int, offset: int
) -> tuple[Sequence[VehicleRow], int]:
    async with uow:
        return await uow.accounts.vehicles(user_id, limit=limit, offset=offset)


async def add_vehicle(
    user_id: int, spec: VehicleSpec, *, uow: AccountsUnitOfWork, clock: Clock
) -> VehicleRow:
    plate = normalise_plate(spec.plate)
    async with uow:
        if await uow.accounts.vehicle_by_plate(user_id, plate) is not None:
            raise AccountConflict(f"You already have a vehicle with plate {plate}")
        row = VehicleRow(
            user_id=user_id,
            plate=plate,
            model=spec.model,
            battery_wh=spec.battery_wh,
            connector_type=spec.connector_type,
            created_at=clock.now(),
        )
        uow.accounts.add(row)
        await uow.commit()
    return row


async def update_vehicle(
    user_id: int, vehicle_id: int, changes: Mapping[str, object], *, uow: AccountsUnitOfWork
) -> VehicleRow:
    _only(changes, VEHICLE_FIELDS)
    async with uow:
        row = await uow.accounts.vehicle(user_id, vehicle_id)
        if row is None:
            raise AccountNotFound(f"Vehicle {vehicle_id} not found")
        for name, value in changes.items():
            if name == "plate":
                if not isinstance(value, str):
                    raise InvalidAccountData("A vehicle keeps a number plate")
                value = normalise_plate(value)
                other = await uow.accounts.vehicle_by_plate(user_id, value)
                if other is not None and other.id != vehicle_id:
                    raise AccountConflict(f"You already have a vehicle with plate {value}")
            setattr(row, name, value)
        await uow.commit()
    return row


async def delete_vehicle(user_id: int, vehicle_id: int, *, uow: AccountsUnitOfWork) -> None:
    async with uow:
        row = await uow.accounts.vehicle(user_id, vehicle_id)
        if row is None:
            raise AccountNotFound(f"Vehicle {vehicle_id} not found")
        await uow.accounts.delete(row)
        await uow.commit()


async def favorites(
    identity: Identity, *, uow: AccountsUnitOfWork, limit: int, offset: int
) -> tuple[Sequence[tuple[FavoriteRow, str | None]], int]:
    """The favourites, newest first, each with its site's name; stations that left the driver's
    tenant since drop out of the list."""
    async with uow:
        return await uow.accounts.favorites(identity.user_id, identity.tenant_id, limit=limit, offset=offset)


async def add_favorite(identity: Identity, station_id: str, *, uow: AccountsUnitOfWork, clock: Clock) -> bool:
    """Mark a station of the driver's tenant as a favourite; False if it already was one."""
    async with uow:
        if await uow.accounts.station_of_tenant(station_id, identity.tenant_id) is None:
            raise AccountNotFound(f"Station {station_id} not found")
        if await uow.accounts.favorite(identity.user_id, station_id) is not None:
            return False
        uow.accounts.add(FavoriteRow(user_id=identity.user_id, station_id=station_id, created_at=clock.now()))
        await uow.commit()
    return True


async def remove_favorite(identity: Identity, station_id: str, *, uow: AccountsUnitOfWork) -> None:
    async with uow:
        row = await uow.accounts.favorite(identity.user_id, station_id)
        if row is None:
            raise AccountNotFound(f"Station {station_id} is not a favourite")
        await uow.accounts.delete(row)
        await uow.commit()


async def id_tokens(user_id: int, *, uow: AccountsUnitOfWork) -> Sequence[IdTokenRow]:
    async with uow:
        return await uow.accounts.id_tokens_of(user_id)


async def link_card(
    user_id: int, card: str, *, uow: AccountsUnitOfWork, clock: Clock
) -> tuple[IdTokenRow, bool]:
    """Link an RFID card to the driver; True when the card was new to the system.

    A known card nobody holds is linked as it is (its status stays: a blocked card stays blocked);
    a card someone else holds is refused; an unknown number becomes an Accepted card.
    """
    card = check_card(card)
    async with uow:
        row = await uow.accounts.id_token(card)
        created = row is None
        if row is None:
            row = IdTokenRow(token=card, created_at=clock.now())
            uow.accounts.add(row)
        elif row.user_id != user_id and (row.user_id is not None or row.type == APP_TOKEN_TYPE):
            raise AccountConflict(f"Card {card} belongs to another account")
        row.user_id = user_id
        await uow.commit()
    return row, created


async def unlink_card(user_id: int, card: str, *, uow: AccountsUnitOfWork) -> None:
    """Unlink a card; the app token cannot go, remote starts from the app need it."""
    async with uow:
        row = await uow.accounts.id_token(card)
        if row is None or row.user_id != user_id:
            raise AccountNotFound(f"Card {card} not found")
        if row.type == APP_TOKEN_TYPE:
            raise AccountConflict("The app's own token cannot be unlinked")
        row.user_id = None
        await uow.commit()


def _only(changes: Mapping[str, object], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidAccountData(f"Cannot change {', '.join(sorted(unknown))}")
