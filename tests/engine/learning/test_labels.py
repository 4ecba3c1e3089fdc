import pytest

from engine.learning.labels import BOUNDARIES, CLASSES, label_for_multiple


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.0, "rug"),
        (1.0, "rug"),
        (1.4999, "rug"),
        (1.5, "small_win"),
        (4.9999, "small_win"),
        (5.0, "medium_win"),
        (9.9999, "medium_win"),
        (10.0, "big_win"),
        (49.999, "big_win"),
        (50.0, "moonshot"),
        (99.999, "moonshot"),
        (100.0, "mega_moon"),
        (12_345.0, "mega_moon"),
    ],
)
def test_boundaries_belong_to_the_class_above(ratio: float, expected: str) -> None:
    assert CLASSES[label_for_multiple(ratio)] == expected


def test_boundaries_are_the_design_ones() -> None:
    assert BOUNDARIES == (1.5, 5.0, 10.0, 50.0, 100.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_nonsense_ratio_is_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        label_for_multiple(bad)
