"""Typed front for `ocpp.routing`, whose decorators carry no type hints."""

from collections.abc import Callable
from typing import Any, TypeVar

from ocpp import routing

Handler = TypeVar("Handler", bound=Callable[..., Any])


def on(action: str) -> Callable[[Handler], Handler]:
    """Mark a method as the handler answering a CSMS call."""
    decorator: Callable[[Handler], Handler] = routing.on(action)
    return decorator


def after(action: str) -> Callable[[Handler], Handler]:
    """Mark a method to run once the reply to a CSMS call has been sent."""
    decorator: Callable[[Handler], Handler] = routing.after(action)
    return decorator
