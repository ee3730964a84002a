from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from pipelines.inequality.cli import inequality_command

from .test_report import city


@pytest.fixture
def frame():
    return city()


def run(*args):
    return CliRunner().invoke(inequality_command, [str(a) for a in args])


def common(out):
    return [
        "--outcome",
        "lst_mean_k",
        "--income",
        "DISP_MED21",
        "--population",
        "population",
        "--bootstrap",
        "50",
        "--permutations",
        "99",
        "--out",
        out,
    ]


def test_csv_table(tmp_path, frame):
    table = tmp_path / "zones.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(table, index=False)
    out = tmp_path / "res" / "inequality.json"
    result = run(table, *common(out), "--group", "qpv", "--stratum", "commune")
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["group_difference"]["p_value"] is not None
    assert payload["morans_i"] is None
    flat = pd.read_csv(out.with_suffix(".csv"))
    assert "generalized_concentration_index" in flat["metric"].tolist()
    assert sorted(p.name for p in out.parent.iterdir()) == ["inequality.csv", "inequality.json"]


def test_geopackage_adds_morans_i(tmp_path, frame):
    table = tmp_path / "zones.gpkg"
    frame.assign(DISP_MED21=pd.to_numeric(frame["DISP_MED21"], errors="coerce")).to_file(
        table, layer="iris"
    )
    out = tmp_path / "inequality.json"
    result = run(table, *common(out))
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["morans_i"]["value"] > 0
    assert payload["residual_morans_i"] is not None


def test_geoparquet(tmp_path, frame):
    table = tmp_path / "zones.parquet"
    frame.assign(DISP_MED21=pd.to_numeric(frame["DISP_MED21"], errors="coerce")).to_parquet(table)
    out = tmp_path / "inequality.json"
    result = run(table, *common(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["morans_i"] is not None


def test_missing_column_is_one_line(tmp_path, frame):
    table = tmp_path / "zones.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(table, index=False)
    out = tmp_path / "inequality.json"
    result = run(table, "--outcome", "lst", "--income", "DISP_MED21", "--out", out)
    assert result.exit_code != 0
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert "--outcome lst" in message and "columns found: iris, lst_mean_k" in message
    assert not out.exists()


def test_all_missing_outcome_is_one_line(tmp_path):
    table = tmp_path / "zones.csv"
    pd.DataFrame({"lst": [None, None, None], "inc": [1, 2, 3]}).to_csv(table, index=False)
    result = run(table, "--outcome", "lst", "--income", "inc", "--out", tmp_path / "r.json")
    assert result.exit_code == 1
    assert "InequalityError" in result.output and "all missing" in result.output


def test_bad_paths(tmp_path):
    table = tmp_path / "zones.txt"
    table.write_text("a,b\n1,2\n")
    result = run(table, "--outcome", "a", "--income", "b", "--out", tmp_path / "r.json")
    assert result.exit_code != 0 and ".csv, .parquet, .gpkg" in result.output
    csv = tmp_path / "zones.csv"
    csv.write_text("a,b\n1,2\n")
    result = run(csv, "--outcome", "a", "--income", "b", "--out", tmp_path / "r.txt")
    assert result.exit_code != 0 and ".json" in result.output
