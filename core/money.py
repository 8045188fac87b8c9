"""Money: decimal amounts in major units (naira) everywhere in the platform, integer minor
units (kobo) towards payment gateways. The conversion lives here and nowhere else."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 minor units of the currencies Paystack settles; all of them have two.
MINOR_UNITS: dict[str, int] = {"NGN": 2, "GHS": 2, "ZAR": 2, "KES": 2, "USD": 2}


def _exponent(currency: str) -> int:
    try:
        return MINOR_UNITS[currency.upper()]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


def to_minor_units(amount: Decimal, currency: str) -> int:
    """``Decimal("5000.00"), "NGN"`` → ``500000`` (kobo). An amount with more decimals than
    the currency has is refused rather than rounded: money is never rounded silently."""
    scaled = amount.scaleb(_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    """``500000, "NGN"`` → ``Decimal("5000.00")``."""
    exponent = _exponent(currency)
    return Decimal(units).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent), ROUND_HALF_EVEN)


def format_amount(amount: Decimal, currency: str) -> str:
    """``NGN 5,000.00``, as people read an amount."""
    return f"{currency.upper()} {amount:,.{_exponent(currency)}f}"
