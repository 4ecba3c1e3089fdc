"""``predict --data`` writes Parquet for a .parquet/.pq output: the same rows as the CSV, every
float64 bit for bit; another suffix is one line and writes nothing (issue 13, point 6)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.errors import DataFileError
from engine.learning import modelops
from engine.learning.datafile import load_features
from ml.outcome import OutcomeModel
from ml.registry import Registry
from tests.engine.learning.test_modelops_extras import labeled_frame, promoted_champion

FLOATS = list(modelops.PROBABILITY_COLUMNS)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, str, Path]:
    tmp = tmp_path_factory.mktemp("parquet")
    registry, report, _ = promoted_champion(tmp)
    rows = labeled_frame(n=50, seed=3).drop(columns=["entry_mcap", "max_mcap", "signal_time"])
    rows.insert(0, "id", [f"token {i}, #{i}" for i in range(len(rows))])
    src = tmp / "new.csv"
    rows.to_csv(src, index=False)
    return registry, report.version, src


@pytest.mark.parametrize("suffix", [".parquet", ".pq", ".PARQUET"])
def test_parquet_holds_the_csvs_rows_bit_for_bit(
    trained: tuple[Registry, str, Path], tmp_path: Path, suffix: str
) -> None:
    registry, version, src = trained
    csv_out, parquet_out = tmp_path / "scores.csv", tmp_path / f"scores{suffix}"
    modelops.predict_file(registry, src, csv_out)
    result = modelops.predict_file(registry, src, parquet_out)
    assert (result.n_rows, result.out_path) == (50, parquet_out)

    table = pq.read_table(parquet_out)
    assert table.column_names == ["id", *FLOATS, "predicted_class", "conviction_boost"]
    assert all(table.schema.field(c).type == pa.float64() for c in FLOATS)
    assert table.schema.field("conviction_boost").type == pa.int64()  # whole points, as in CSV
    got = table.to_pandas()
    with csv_out.open(encoding="utf-8", newline="") as fh:  # Python's float(): exact
        records = list(csv.DictReader(fh))
    from_csv = pd.DataFrame(
        {
            "id": [r["id"] for r in records],
            "predicted_class": [r["predicted_class"] for r in records],
            "conviction_boost": [int(r["conviction_boost"]) for r in records],
            **{c: [float(r[c]) for r in records] for c in FLOATS},
        }
    )
    assert got["id"].tolist() == from_csv["id"].tolist() == [f"token {i}, #{i}" for i in range(50)]
    for column in ("predicted_class", "conviction_boost"):
        assert got[column].tolist() == from_csv[column].tolist(), column
    for column in FLOATS:  # the same float64 bits in both files
        assert got[column].to_numpy().view(np.uint64).tolist() == (
            from_csv[column].to_numpy(dtype=np.float64).view(np.uint64).tolist()
        ), column
    model = OutcomeModel.load(registry.get(version).path)  # and they are the model's own
    expected = model.predict_proba(load_features(src).X)
    np.testing.assert_array_equal(got[list(modelops.PROBABILITY_COLUMNS)].to_numpy(), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["scores.csv", f"scores{suffix}"])


def test_another_suffix_is_one_line_and_writes_nothing(
    trained: tuple[Registry, str, Path], tmp_path: Path
) -> None:
    registry, _, src = trained
    with pytest.raises(DataFileError) as err:
        modelops.predict_file(registry, src, tmp_path / "scores.feather")
    assert str(err.value) == "scores.feather: the output must be a .csv, .parquet or .pq file"
    assert list(tmp_path.iterdir()) == []
