import pytest

from engine.errors import InvalidAddress
from engine.sources.address import validate_address
from engine.sources.base58 import b58decode, b58encode


def test_real_mints_are_valid() -> None:
    for mint in (
        "So11111111111111111111111111111111111111112",
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
    ):
        assert validate_address(mint) == mint
        assert len(b58decode(mint)) == 32
        assert b58encode(b58decode(mint)) == mint


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("abc", "expected 32-44"),
        ("0PjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "'0' is not a base58"),
        ("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1vEPjF", "expected 32-44"),
        ("11111111111111111111111111111111111", "decodes to 35 bytes"),
    ],
)
def test_invalid_addresses_say_why(text: str, why: str) -> None:
    with pytest.raises(InvalidAddress, match=why):
        validate_address(text, "mint")


def test_base58_known_vectors() -> None:
    # Bitcoin base58 test vectors (leading zero bytes become '1').
    assert b58encode(b"") == ""
    assert b58encode(b"\x00\x00\x28\x7f\xb4\xcd") == "11233QC4"
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert b58decode("StV1DL6CwTryKyV") == b"hello world"
