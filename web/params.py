"""Request parameters checked one by one, each bad one a single clear message naming the parameter."""

from __future__ import annotations

from ..errors import FilmkbError

MAX_TEXT = 200  # characters of any one text parameter


class BadParameter(FilmkbError):
    """A request parameter that cannot be used (shown to the user, HTTP 400)."""


def text(params, name: str) -> str | None:
    """The parameter `name` as stripped text, None when absent or empty."""
    value = params.get(name)
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise BadParameter(f"{name}: at most {MAX_TEXT} characters, got {len(value)}")
    if any(ord(c) < 32 for c in value):
        raise BadParameter(f"{name}: control characters are not allowed")
    return value or None


def whole(params, name: str, default: int, low: int, high: int) -> int:
    """The parameter `name` as a whole number from `low` to `high` (default when absent)."""
    value = text(params, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadParameter(f"{name}: expected a whole number from {low} to {high}, got '{value}'") from None
    if not low <= number <= high:
        raise BadParameter(f"{name}: expected a whole number from {low} to {high}, got {number}")
    return number


def choice(params, name: str, allowed, default: str | None = None) -> str | None:
    """The parameter `name`, which must be one of `allowed` (default when absent)."""
    value = text(params, name)
    if value is None:
        return default
    if value not in allowed:
        raise BadParameter(f"{name}: expected one of {', '.join(allowed)}, got '{value}'")
    return value


def several(params, name: str) -> list[str]:
    """Every non-empty value of a repeated parameter (`?substrate=MgO&substrate=STO`)."""
    values = [v.strip() for v in params.getlist(name) if v.strip()]
    for value in values:
        text({name: value}, name)
    return values
