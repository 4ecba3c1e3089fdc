"""Datasets from CSV and Parquet files: parsing, labels, order, warnings and one-line errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from engine.errors import DataFileError
from engine.learning.datafile import load_dataset, load_features
from engine.signals.features import FEATURE_NAMES

T1 = "2026-03-01T12:00:00"  # naive: taken as UTC
T1_EPOCH = int(datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp())


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["late", "early", "mid"],
            "signal_time": ["2026-03-02T00:00:00Z", T1, str(T1_EPOCH + 3600)],
            "entry_mcap": [100_000.0, 50_000.0, 20_000.0],
            "max_mcap": [120_000.0, 600_000.0, 100_000.0],  # 1.2x rug, 12x big_win, 5x medium
            "kol_count": [3, 1, 2],
            "bundle_detected": ["yes", "false", "1"],
            "holder_top10_pct": [30.5, None, 12.0],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_sorts_by_time_and_labels(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"signals{suffix}"
    df = frame()
    if suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    ds, warnings = load_dataset(path)
    assert warnings == []
    assert ds.mints == ["early", "mid", "late"]  # sorted by signal time, ids kept
    assert ds.ts == [
        datetime(2026, 3, 1, 12, tzinfo=UTC),
        datetime(2026, 3, 1, 13, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
    ]
    assert list(ds.y) == [3, 2, 0]  # 12x big_win, 5x medium_win (boundary goes up), 1.2x rug
    assert list(ds.multiples) == pytest.approx([12.0, 5.0, 1.2])
    assert list(ds.X.columns) == list(FEATURE_NAMES)
    assert list(ds.X["kol_count"]) == [1.0, 2.0, 3.0]
    assert list(ds.X["bundle_detected"]) == [0.0, 1.0, 1.0]
    assert math.isnan(ds.X["holder_top10_pct"][0])  # empty cell: NaN, not 0
    assert ds.X["holder_top10_pct"][1] == 12.0
    assert ds.X["volume_24h"].isna().all()  # absent column: NaN


def test_boolean_spellings_and_time_forms(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "b.csv",
        "signal_time,entry_mcap,max_mcap,dev_sell_detected\n"
        f"{T1},1,1,TRUE\n"
        f"{T1}+02:00,1,1,No\n"
        f"{T1_EPOCH},1,1,0\n"
        f"{T1_EPOCH}.5,1,1,yes\n"
        f"{T1},1,1,\n",
    )
    ds, _ = load_dataset(path)
    # stable sort: 10:00Z (+02:00) first, then the three at 12:00 in file order, then 12:00:00.5
    assert ds.mints == ["3", "2", "4", "6", "5"]  # no id column: the file's line numbers
    values = list(ds.X["dev_sell_detected"])
    assert values[:3] == [0.0, 1.0, 0.0]  # No, TRUE, 0
    assert math.isnan(values[3])  # empty cell
    assert values[4] == 1.0  # yes
    assert ds.ts[0] == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert ds.ts[4] == datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)


def test_unknown_and_outcome_columns_are_dropped_with_warnings(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "w.csv",
        "signal_time,entry_mcap,max_mcap,price_ath_from_entry,colour,kol_count,mood\n"
        f"{T1},10,30,3.0,red,2,happy\n",
    )
    ds, warnings = load_dataset(path)
    assert warnings == [
        "dropped column price_ath_from_entry: it is the outcome (the highest multiple after "
        "the signal), not a feature",
        "ignored unknown column(s): colour, mood",
    ]
    assert "price_ath_from_entry" not in ds.X.columns
    assert ds.X["kol_count"][0] == 2.0


def test_missing_required_columns_is_one_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", f"signal_time,kol_count\n{T1},2\n")
    with pytest.raises(DataFileError) as err:
        load_dataset(path)
    assert str(err.value) == "m.csv: missing required column(s): entry_mcap, max_mcap"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            f"{T1},10,30,2\n{T1},10,30,two\n",
            "bad.csv: column kol_count, line 3: not a number: 'two'",
        ),
        (
            f"{T1},10,30,2\n\nyesterday,10,30,2\n",  # the blank line still counts
            "bad.csv: column signal_time, line 4: not an ISO-8601 time or epoch seconds: "
            "'yesterday'",
        ),
        (f"{T1},0,30,2\n", "bad.csv: column entry_mcap, line 2: must be > 0, got 0"),
        (  # subnormal: 30 / 1e-320 overflows to infinity, which no class can hold
            f"{T1},1e-320,30,2\n",
            "bad.csv: column entry_mcap, line 2: 9.99989e-321 gives no finite multiple for max 30",
        ),
        (f"{T1},10,,2\n", "bad.csv: column max_mcap, line 2: is empty"),
    ],
)
def test_bad_values_name_column_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = write_csv(tmp_path / "bad.csv", "signal_time,entry_mcap,max_mcap,kol_count\n" + body)
    with pytest.raises(DataFileError) as err:
        load_dataset(path)
    assert str(err.value) == message


def test_bad_boolean_in_parquet_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pd.DataFrame(
        {
            "signal_time": [T1, T1],
            "entry_mcap": [1.0, 1.0],
            "max_mcap": [2.0, 2.0],
            "bundle_detected": ["no", "maybe"],
        }
    ).to_parquet(path, index=False)
    with pytest.raises(DataFileError) as err:
        load_dataset(path)
    assert str(err.value) == (
        "p.parquet: column bundle_detected, row 2: not a boolean (true/false, yes/no, 1/0): 'maybe'"
    )


def test_parquet_native_types(tmp_path: Path) -> None:
    path = tmp_path / "n.parquet"
    pd.DataFrame(
        {
            "signal_time": pd.to_datetime([T1, T1]),  # naive datetime64: UTC
            "entry_mcap": [1.0, 2.0],
            "max_mcap": [200.0, 2.0],
            "top_holder_is_dev": [True, False],
        }
    ).to_parquet(path, index=False)
    ds, _ = load_dataset(path)
    assert ds.ts[0] == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert list(ds.X["top_holder_is_dev"]) == [1.0, 0.0]
    assert list(ds.y) == [5, 0]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x.json", "x.json: unsupported file type '.json'; use .csv or .parquet"),
        ("nothing.csv", "nothing.csv: no such file"),
    ],
)
def test_unusable_paths(tmp_path: Path, name: str, message: str) -> None:
    if name.endswith(".json"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(DataFileError) as err:
        load_dataset(tmp_path / name)
    assert str(err.value).endswith(message)
    assert "\n" not in str(err.value)


def test_load_features_keeps_file_order_and_needs_no_mcaps(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "f.csv",
        "id,kol_count,signal_time,narrative_match\nb,2,2026-03-02,yes\na,,2026-03-01,\n",
    )
    rows = load_features(path)
    assert rows.ids == ["b", "a"]
    assert rows.warnings == []  # signal_time is a known column, not an unknown one
    assert rows.X["kol_count"][0] == 2.0 and math.isnan(rows.X["kol_count"][1])
    assert rows.X["narrative_match"][0] == 1.0 and math.isnan(rows.X["narrative_match"][1])
    assert load_features(write_csv(tmp_path / "g.csv", "kol_count\n1\n")).ids is None


def test_whole_column_and_cell_by_cell_parsing_agree(tmp_path: Path) -> None:
    # kol_count: plain numbers (one pass); holder_top10_pct: a spelling of missing the one-pass
    # parser leaves to the cell-by-cell one ("NA"); bundle_detected: common and rarer spellings
    body = (
        "kol_count,holder_top10_pct,bundle_detected,narrative_match\n"
        "3, 0.25,TRUE,1.0\n"
        ",NA, No ,\n"
        "1e1,12.5,yes,0\n"
        "nan,,1,false\n"
    )
    rows = load_features(write_csv(tmp_path / "mixed.csv", body))
    X = rows.X
    assert X["kol_count"].tolist()[:3] == [3.0, pytest.approx(math.nan, nan_ok=True), 10.0]
    assert math.isnan(X.loc[3, "kol_count"])
    assert math.isnan(X.loc[1, "holder_top10_pct"]) and math.isnan(X.loc[3, "holder_top10_pct"])
    assert X["holder_top10_pct"].tolist()[0] == 0.25 and X.loc[2, "holder_top10_pct"] == 12.5
    assert X["bundle_detected"].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert X["narrative_match"].tolist()[0] == 1.0 and X.loc[2, "narrative_match"] == 0.0
    assert math.isnan(X.loc[1, "narrative_match"]) and X.loc[3, "narrative_match"] == 0.0
    with pytest.raises(DataFileError, match="column kol_count, line 3: not a finite number"):
        load_features(write_csv(tmp_path / "inf.csv", "kol_count\n1\ninf\n"))


def test_bulk_and_line_by_line_readers_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.learning import datafile

    text = (
        "id,signal_time,kol_count, holder_top10_pct,bundle_detected,volume_24h\r\n"
        "007,2026-03-01,3, 12.5,yes,0.1\r\n"
        "b,1772366400,,NA,0,123456.789012345678\r\n"
    )
    path = write_csv(tmp_path / "plain.csv", text)
    bulk = datafile._read_csv_bulk(path)
    assert bulk is not None and bulk.rows == [2, 3]
    assert bulk.columns["id"] == ["007", "b"]  # text stays text
    fast = load_features(path)
    monkeypatch.setattr(datafile, "_read_csv_bulk", lambda _: None)
    slow = load_features(path)
    pd.testing.assert_frame_equal(fast.X, slow.X)  # the same floats, bit for bit
    assert fast.ids == slow.ids == ["007", "b"]
    # what only the line reader can number exactly goes to it
    for odd in ('a,b\n"1",2\n', "a,b\n1,2\n\n3,4\n", "a,a\n1,2\n", "a,b\n1\n"):
        assert datafile._read_csv_bulk(write_csv(tmp_path / "odd.csv", odd)) is None


def test_one_pass_times_are_the_cell_by_cell_times(tmp_path: Path) -> None:
    from engine.learning import datafile

    columns = {
        "epoch": [str(T1_EPOCH), f"{T1_EPOCH}.25", str(T1_EPOCH + 60)],
        "iso": [T1, "2026-03-01T13:00:00+02:00", "2026-03-01T12:30:00Z"],
        # one cell reads as a number (epoch seconds, as _parse_time reads it), the rest ISO
        "mixed": [T1, "20260301", "2026-03-01 13:00"],
    }
    for name, cells in columns.items():
        body = "signal_time,entry_mcap,max_mcap\n" + "".join(f"{c},1,2\n" for c in cells)
        path = write_csv(tmp_path / f"{name}.csv", body)
        fast, _ = load_dataset(path)
        expected = sorted(datafile._parse_time(c) for c in cells)  # type: ignore[type-var]
        assert fast.ts == expected, name
    # 20,260,301 s = 234 days + 42,701 s: 1970-08-23 11:51:41
    first = datetime(1970, 8, 23, 11, 51, 41, tzinfo=UTC)
    assert load_dataset(tmp_path / "mixed.csv")[0].ts[0] == first
    # a file already in time order keeps its rows (no copy); one out of order is sorted
    assert load_dataset(tmp_path / "epoch.csv")[0].mints == ["2", "3", "4"]
    assert load_dataset(tmp_path / "iso.csv")[0].mints == ["3", "2", "4"]  # 11:00Z, 12:00, 12:30
    with pytest.raises(DataFileError, match="column signal_time, line 3: is empty"):
        load_dataset(
            write_csv(tmp_path / "gap.csv", "signal_time,entry_mcap,max_mcap\n1,1,1\n,1,1\n")
        )


def test_the_field_count_is_checked_in_every_piece_of_a_large_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.learning import datafile

    monkeypatch.setattr(datafile, "_CHECK_CHUNK", 16)  # a piece of the file is ~2 records
    good = "signal_time,entry_mcap,max_mcap\n" + "".join(f"{i},1,2\n" for i in range(1, 40))
    assert datafile._plain_records(good.encode()) == 39
    path = write_csv(tmp_path / "good.csv", good)
    assert len(load_dataset(path)[0]) == 39
    bad = good + "40,1\n" + "41,1,2\n"  # one short record near the end: the line reader names it
    assert datafile._plain_records(bad.encode()) is None
    with pytest.raises(DataFileError, match="line 41 has 2 fields, the header has 3"):
        load_dataset(write_csv(tmp_path / "bad.csv", bad))
