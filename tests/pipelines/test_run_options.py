"""Run-level tests of options that had kernel tests only: each run on the demo's inputs with
the option set, checked against an oracle made here (the tables the test writes, scipy's
labelling, a hand count of pixels), never against the code under test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from pipelines.config import apply_overrides, load_config
from pipelines.run import run
from tiles.errors import ConfigError

QUICK = {"outputs.report": False, "inequality.outcomes": ["lst_mean_k"]}


def _config(demo_folder, **overrides):
    return apply_overrides(load_config(demo_folder / "config.yaml"), {**QUICK, **overrides})


def _filosofi_by_hand(demo_folder) -> pd.Series:
    """The demo's Filosofi medians by IRIS: decimal commas, INSEE's secret markers as NaN."""
    raw = pd.read_csv(demo_folder / "census" / "filosofi.csv", sep=";", dtype=str)
    values = pd.to_numeric(raw["DISP_MED21"].str.replace(",", "."), errors="coerce")
    assert values.isna().sum() == (raw["DISP_MED21"].isin(["s", "nd"])).sum() > 0
    return pd.Series(values.to_numpy(), index=raw["IRIS"], name="disp_med")


@pytest.fixture(scope="module")
def filosofi_xlsx(demo_folder):
    """The Filosofi table in a workbook whose first sheet is a decoy with another IRIS column.

    The sheet to read is named ``2021``, a number in YAML.
    """
    raw = pd.read_csv(demo_folder / "census" / "filosofi.csv", sep=";", dtype=str)
    decoy = raw.assign(DISP_MED21="1000")
    path = demo_folder / "census" / "filosofi.xlsx"
    with pd.ExcelWriter(path) as book:
        decoy.to_excel(book, sheet_name="Documentation", index=False)
        raw.to_excel(book, sheet_name="2021", index=False)
    return path


def test_filosofi_sheet_is_read_by_its_name(demo_folder, filosofi_xlsx, tmp_path):
    config = _config(
        demo_folder, **{"census.filosofi": str(filosofi_xlsx), "census.filosofi_sheet": 2021}
    )
    result = run(config, out=tmp_path / "run")
    got = result.zones["iris"].set_index("code_iris")["disp_med"]
    want = _filosofi_by_hand(demo_folder).reindex(got.index)
    assert want.notna().sum() > 50
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-9)


def test_a_wrong_sheet_stops_the_run_before_any_pixel(demo_folder, filosofi_xlsx, tmp_path):
    config = _config(
        demo_folder, **{"census.filosofi": str(filosofi_xlsx), "census.filosofi_sheet": "IRIS"}
    )
    with pytest.raises(ConfigError) as err:
        run(config, out=tmp_path / "run")
    text = str(err.value)
    assert text.startswith("census.filosofi: cannot read the Filosofi") and "\n" not in text
    assert "its sheets: 'Documentation', '2021'" in text
    assert not (tmp_path / "run" / "rasters").exists()  # nothing computed, nothing written


def test_a_sheet_for_a_csv_table_is_refused(demo_folder, tmp_path):
    config = load_config(demo_folder / "config.yaml").model_dump(mode="json")
    config["census"]["population_sheet"] = "IRIS"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"census.population_sheet: population.csv is not a "
                       r"spreadsheet \(.xlsx, .xlsm, .xls\); remove the key"):  # fmt: skip
        load_config(path)


def test_moran_permutations_set_the_p_value_resolution(demo_folder, tmp_path):
    # A permutation p-value is (k + 1) / (B + 1), k the permutations at least as extreme:
    # with B = 19 it is a multiple of 1/20, and at least 1/20.
    config = _config(demo_folder, **{"inequality.moran_permutations": 19})
    run(config, out=tmp_path / "run")
    report = json.loads((tmp_path / "run" / "inequality.json").read_text())
    moran = report["morans_i"]
    assert moran["permutations"] == 19
    k = moran["p_value"] * 20
    assert k == pytest.approx(round(k), abs=1e-9) and 1 <= round(k) <= 20


def _landcover(folder):
    with rasterio.open(folder / "rasters" / "landcover.tif") as src:
        return src.read(1)
