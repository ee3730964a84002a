"""The run's note when the configured income column is not in the IRIS table (F10a)."""

from __future__ import annotations

import pandas as pd
import pytest

import pipelines.run as run_module
from pipelines.config import config_from_dict

CONFIG = {
    "aoi": {"bbox": [1.35, 43.55, 1.52, 43.67]},
    "periods": {"years": [2023]},
    "inputs": {"landsat": ["products"]},
    "census": {},
}


@pytest.mark.parametrize(
    ("columns", "income", "found", "advice"),
    [
        # A declared-income (DEC) Filosofi file, the default disp_med asked for.
        (["dec_med", "dec_d1", "dec_tp60"], None, "dec_med, dec_d1, dec_tp60", "dec_med"),
        # The file's own header asked for: the normalised name is there.
        (["disp_med", "disp_d1"], "DISP_MED21", "disp_med, disp_d1", "disp_med"),
        ([], None, "none (is census.filosofi set?)", None),
    ],
)
def test_a_missing_income_column_lists_every_income_column(columns, income, found, advice):
    census = {} if income is None else {"income_column": income}
    config = config_from_dict({**CONFIG, "census": census})
    table = pd.DataFrame({"code_iris": ["751010101"], "lst_mean_k": [300.0]})
    for column in columns:
        table[column] = [20_000.0]
    notes: list[str] = []
    assert run_module._inequality_reports(config, table, notes) == {}
    [note] = notes
    assert note.startswith("census.income_column: the IRIS table has no column ")
    assert f"income columns found: {found}" in note
    if advice is None:
        assert "set census.income_column" not in note
    else:
        assert note.endswith(f"; set census.income_column: {advice}")
