"""Money: decimal major units in the platform, integer minor units towards the gateway, and
never a silent rounding on the way."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.money import MINOR_UNITS, format_amount, from_minor_units, to_minor_units


class TestToMinorUnits:
    @pytest.mark.parametrize(
        ("amount", "units"),
        [
            (Decimal("5000.00"), 500000),
            (Decimal("5000"), 500000),
            (Decimal("0.01"), 1),
            (Decimal("0.10"), 10),
            (Decimal("49.99"), 4999),
            (Decimal("99999999.99"), 9999999999),
        ],
    )
    def test_naira_become_kobo(self, amount: Decimal, units: int) -> None:
        converted = to_minor_units(amount, "NGN")
        assert converted == units
        assert type(converted) is int

    def test_trailing_zeros_beyond_the_currency_are_not_decimals(self) -> None:
        assert to_minor_units(Decimal("5000.000"), "NGN") == 500000

    @pytest.mark.parametrize("amount", ["0.001", "5000.005", "49.999", "0.0001"])
    def test_refuses_more_decimals_than_the_currency_has(self, amount: str) -> None:
        with pytest.raises(ValueError, match="more decimals than NGN allows"):
            to_minor_units(Decimal(amount), "NGN")

    def test_the_currency_code_is_read_in_any_case(self) -> None:
        assert to_minor_units(Decimal("1.50"), "ngn") == 150

    @pytest.mark.parametrize("currency", sorted(MINOR_UNITS))
    def test_every_settled_currency_has_two_decimals(self, currency: str) -> None:
        assert to_minor_units(Decimal("12.34"), currency) == 1234

    @pytest.mark.parametrize("currency", ["EUR", "XYZ", "", "NGNX"])
    def test_refuses_an_unknown_currency(self, currency: str) -> None:
        with pytest.raises(ValueError, match="unsupported currency"):
            to_minor_units(Decimal("1.00"), currency)


class TestFromMinorUnits:
    @pytest.mark.parametrize(
        ("units", "amount"),
        [(500000, "5000.00"), (1, "0.01"), (10, "0.10"), (0, "0.00"), (4999, "49.99")],
    )
    def test_kobo_become_naira_with_two_decimals(self, units: int, amount: str) -> None:
        converted = from_minor_units(units, "NGN")
        assert converted == Decimal(amount)
        # Exactly two decimals: "5000.00", never "5E+3" or "5000".
        assert str(converted) == amount

    @pytest.mark.parametrize("amount", ["0.01", "5000.00", "49.99", "1234567.89"])
    def test_round_trips(self, amount: str) -> None:
        assert from_minor_units(to_minor_units(Decimal(amount), "NGN"), "NGN") == Decimal(amount)

    def test_refuses_an_unknown_currency(self) -> None:
        with pytest.raises(ValueError, match="unsupported currency 'EUR'"):
            from_minor_units(100, "EUR")


class TestFormatAmount:
    @pytest.mark.parametrize(
        ("amount", "text"),
        [
            (Decimal("5000.00"), "NGN 5,000.00"),
            (Decimal("5000"), "NGN 5,000.00"),
            (Decimal("0.01"), "NGN 0.01"),
            (Decimal("1234567.5"), "NGN 1,234,567.50"),
        ],
    )
    def test_as_people_read_it(self, amount: Decimal, text: str) -> None:
        assert format_amount(amount, "NGN") == text

    def test_writes_the_currency_in_capitals(self) -> None:
        assert format_amount(Decimal("20"), "ghs") == "GHS 20.00"

    def test_refuses_an_unknown_currency(self) -> None:
        with pytest.raises(ValueError, match="unsupported currency"):
            format_amount(Decimal("1.00"), "EUR")
