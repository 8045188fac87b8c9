"""Checking a card before it is charged (``services.cards.check_card``): the check digit,
the shape of every field, the expiry, the brand shown to its owner, and that no refusal or
repr ever repeats the number or the CVV."""

from __future__ import annotations

from datetime import date

import pytest

from integrations.paystack import CardToCharge
from integrations.paystack_sandbox import TEST_CARDS, PublishedCard
from services.cards import CardSummary, CheckedCard, InvalidPaymentDetails, check_card

TODAY = date(2025, 6, 15)
APPROVED = "4084084084084081"
CVV = "937"  # no substring of APPROVED, so a leak of one is not mistaken for the other


def luhn_completed(prefix: str, length: int = 16) -> str:
    """``prefix`` padded with zeros to ``length`` digits, the last one the check digit."""
    body = prefix.ljust(length - 1, "0")
    for digit in "0123456789":
        candidate = body + digit
        total = 0
        for position, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def check(
    number: str = APPROVED,
    month: str = "12",
    year: str = "2031",
    cvv: str = CVV,
    *,
    today: date = TODAY,
) -> CheckedCard:
    return check_card(number, month, year, cvv, today=today)


def refusal(
    number: str = APPROVED, month: str = "12", year: str = "2031", cvv: str = CVV
) -> InvalidPaymentDetails:
    with pytest.raises(InvalidPaymentDetails) as caught:
        check(number, month, year, cvv)
    return caught.value


class TestCardNumber:
    @pytest.mark.parametrize("card", TEST_CARDS, ids=lambda card: card.number)
    def test_paystacks_test_cards_pass(self, card: PublishedCard) -> None:
        assert check(card.number).to_charge.number == card.number

    @pytest.mark.parametrize(
        "number", ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117"]
    )
    def test_valid_numbers_pass(self, number: str) -> None:
        assert check(number).summary.last4 == number[-4:]

    @pytest.mark.parametrize(
        "number", ["4084084084084082", "4242424242424241", "1234567890123", "4000000000000001"]
    )
    def test_a_wrong_check_digit_is_refused(self, number: str) -> None:
        error = refusal(number=number)
        assert error.parameter == "cardDetails.number"
        assert "check digit" in error.problem

    @pytest.mark.parametrize(
        "number",
        [
            "4084 0840 8408 4081",
            "4084-0840-8408-4081",
            "408408408408408a",
            " 4084084084084081",
            "4084084084084081\n",
            "٤٠٨٤٠٨٤٠٨٤٠٨٤٠٨١",  # digits, but not ASCII ones
            "",
        ],
    )
    def test_only_digits_are_accepted(self, number: str) -> None:
        error = refusal(number=number)
        assert error.parameter == "cardDetails.number"
        assert error.problem == "must be 12 to 19 digits, with no spaces"

    @pytest.mark.parametrize("length", [12, 13, 15, 16, 19])
    def test_twelve_to_nineteen_digits_are_accepted(self, length: int) -> None:
        number = luhn_completed("4", length)
        assert check(number).to_charge.number == number

    @pytest.mark.parametrize("length", [11, 20])
    def test_shorter_or_longer_numbers_are_refused(self, length: int) -> None:
        # Luhn-valid, so only the length can be the reason.
        error = refusal(number=luhn_completed("4", length))
        assert error.parameter == "cardDetails.number"
        assert "12 to 19 digits" in error.problem


class TestExpiryMonth:
    @pytest.mark.parametrize(("month", "padded"), [("01", "01"), ("1", "01"), ("9", "09")])
    def test_one_or_two_digits_are_accepted_and_padded(self, month: str, padded: str) -> None:
        checked = check(month=month)
        assert checked.to_charge.expiry_month == padded
        assert checked.summary.expiry == f"{padded}/31"

    def test_december_is_accepted(self) -> None:
        assert check(month="12").to_charge.expiry_month == "12"

    @pytest.mark.parametrize("month", ["00", "0", "13", "99", "012", "001", "1a", " 1", "", "-1"])
    def test_anything_but_a_month_is_refused(self, month: str) -> None:
        error = refusal(month=month)
        assert error.parameter == "cardDetails.expiryMonth"
        assert error.problem == "must be a month from 01 to 12"

    def test_a_huge_month_is_refused_as_a_payment_detail(self) -> None:
        error = refusal(month="1" * 5000)
        assert error.parameter == "cardDetails.expiryMonth"


class TestExpiryYear:
    @pytest.mark.parametrize(("year", "full"), [("31", "2031"), ("2031", "2031"), ("25", "2025")])
    def test_two_or_four_digits_are_accepted(self, year: str, full: str) -> None:
        checked = check(year=year)
        assert checked.to_charge.expiry_year == full
        assert checked.summary.expiry == f"12/{full[2:]}"

    @pytest.mark.parametrize("year", ["3", "203", "20311", "2O31", "", " 31"])
    def test_other_lengths_or_characters_are_refused(self, year: str) -> None:
        error = refusal(year=year)
        assert error.parameter == "cardDetails.expiryYear"
        assert error.problem == "must be a year of 2 or 4 digits"


class TestExpiry:
    def test_a_card_expiring_this_month_is_still_valid(self) -> None:
        assert check(month="06", year="2025").summary.expiry == "06/25"
        assert check(month="6", year="25").summary.expiry == "06/25"

    @pytest.mark.parametrize(("month", "year"), [("05", "2025"), ("12", "2024"), ("05", "25")])
    def test_a_card_that_expired_last_month_or_before_is_refused(
        self, month: str, year: str
    ) -> None:
        error = refusal(month=month, year=year)
        assert error.parameter == "cardDetails.expiryYear"
        assert error.problem == "the card has expired"

    def test_the_day_passed_in_decides_not_the_clock(self) -> None:
        check(month="01", year="2020", today=date(2020, 1, 31))
        with pytest.raises(InvalidPaymentDetails, match="expired"):
            check(month="01", year="2020", today=date(2020, 2, 1))

    def test_january_after_december_of_the_year_before(self) -> None:
        with pytest.raises(InvalidPaymentDetails, match="expired"):
            check(month="12", year="2024", today=date(2025, 1, 1))


class TestCvv:
    @pytest.mark.parametrize("cvv", ["123", "0000", "9876"])
    def test_three_or_four_digits_are_accepted(self, cvv: str) -> None:
        assert check(cvv=cvv).to_charge.cvv == cvv

    @pytest.mark.parametrize("cvv", ["12", "12345", "12a", "", " 123", "١٢٣"])
    def test_anything_else_is_refused(self, cvv: str) -> None:
        error = refusal(cvv=cvv)
        assert error.parameter == "cardDetails.cvv"
        assert error.problem == "must be 3 or 4 digits"


class TestBrand:
    @pytest.mark.parametrize(
        ("prefix", "brand"),
        [
            ("4", "visa"),
            ("4084", "visa"),
            ("51", "mastercard"),
            ("53", "mastercard"),
            ("55", "mastercard"),
            ("2221", "mastercard"),
            ("2300", "mastercard"),
            ("2699", "mastercard"),
            ("2720", "mastercard"),
            ("5060", "verve"),
            ("5061", "verve"),
            ("5078", "verve"),
            ("6500", "verve"),
            ("34", "amex"),
            ("37", "amex"),
        ],
    )
    def test_named_from_the_issuer_prefix(self, prefix: str, brand: str) -> None:
        assert check(luhn_completed(prefix)).summary.brand == brand

    @pytest.mark.parametrize("prefix", ["50", "56", "2721", "2800", "6011", "35", "1"])
    def test_other_prefixes_are_just_a_card(self, prefix: str) -> None:
        assert check(luhn_completed(prefix)).summary.brand == "card"

    def test_2220_is_below_mastercards_range(self) -> None:
        assert check(luhn_completed("2220")).summary.brand == "card"


class TestWhatComesOut:
    def test_the_gateway_gets_the_card_and_we_keep_the_summary(self) -> None:
        checked = check(APPROVED, "3", "31", CVV)
        assert checked.to_charge == CardToCharge(
            number=APPROVED, cvv=CVV, expiry_month="03", expiry_year="2031"
        )
        assert checked.summary == CardSummary(brand="visa", last4="4081", expiry="03/31")

    def test_no_repr_shows_the_number_or_the_cvv(self) -> None:
        checked = check(APPROVED, "12", "2031", CVV)
        for text in (repr(checked), repr(checked.to_charge), str(checked.to_charge)):
            assert APPROVED not in text
            assert CVV not in text
            assert "number=" not in text
            assert "cvv=" not in text
        assert "expiry_month='12'" in repr(checked.to_charge)


class TestRefusalsNeverRepeatTheCard:
    @pytest.mark.parametrize(
        "fields",
        [
            {"number": "4084084084084082"},
            {"number": "4084 0840 8408 4081"},
            {"number": "40840840840840810000"},
            {"month": "13"},
            {"year": "203"},
            {"month": "01", "year": "2020"},
            {"cvv": "12"},
            {"cvv": "12345"},
        ],
    )
    def test_the_message_names_the_field_not_the_value(self, fields: dict[str, str]) -> None:
        error = refusal(**fields)
        assert error.message == "Invalid payment details"
        assert error.status_code == 400
        assert error.parameter is not None
        assert error.parameter.startswith("cardDetails.")
        number = fields.get("number", APPROVED)
        said = " ".join(
            [str(error), repr(error), error.problem, error.message, *map(str, error.args)]
        )
        for secret in {number, number.replace(" ", ""), APPROVED, fields.get("cvv", CVV)}:
            assert secret not in said
