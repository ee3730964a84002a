from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipelines.inequality.cli import inequality_command

from ._vectors import C_CELSIUS, C_KELVIN, GC, INCOME, LST_C
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
    assert f"wrote {out} and {out.parent / 'inequality.csv'}" in result.output  # both in res/


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


def test_real_paris_iris_geojson(real_data, tmp_path):
    """The real Paris IRIS GeoJSON, as ilots zonal reads it (it was refused: ".csv, .parquet,
    .gpkg"): its rows, geometry (Moran's I) and columns are read; the oracle is the file read
    with the json module and the correlations of numpy and scipy."""
    from scipy import stats

    table = real_data / "iris/paris_iris_disp_med19_climbing_paris.geojson"
    out = tmp_path / "paris.json"
    result = run(table, "--outcome", "N_15MN", "--income", "DISP_MED19", "--bootstrap", "20",
                 "--permutations", "0", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [f["properties"] for f in json.loads(table.read_text())["features"]]
    kept = [(r["N_15MN"], r["DISP_MED19"]) for r in rows
            if r["N_15MN"] is not None and r["DISP_MED19"] is not None]  # fmt: skip
    outcome, income = np.array(kept, dtype=float).T
    payload = json.loads(out.read_text())
    assert (payload["n_rows"], payload["n_used"]) == (len(rows), len(kept)) == (2297, 2121)
    assert payload["correlations"]["pearson"]["value"] == pytest.approx(
        np.corrcoef(outcome, income)[0, 1], rel=1e-9
    )
    assert payload["correlations"]["spearman"]["value"] == pytest.approx(
        stats.spearmanr(outcome, income).statistic, rel=1e-9
    )
    assert payload["morans_i"]["n"] == 2121  # the geometry was read


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
    assert result.exit_code != 0
    assert "the table must be .csv, .parquet or a vector file GDAL reads (.gpkg, .geojson" in (
        result.output
    )
    csv = tmp_path / "zones.csv"
    csv.write_text("a,b\n1,2\n")
    result = run(csv, "--outcome", "a", "--income", "b", "--out", tmp_path / "r.txt")
    assert result.exit_code != 0 and ".json" in result.output


def test_strict_ends_with_status_3_when_rows_were_dropped(tmp_path, frame):
    """Rows dropped are a warning, which --strict counts as ilots run's (status 3, the
    result written all the same); a table of whole rows ends with 0."""
    from pipelines.cli import main

    table = pd.DataFrame(frame.drop(columns="geometry"))
    numbers = table[["lst_mean_k", "DISP_MED21"]].apply(pd.to_numeric, errors="coerce")
    missing = numbers.isna().any(axis=1)
    assert missing.sum() == 2 and len(table) == 64  # a secret income, an LST missing
    table.to_csv(tmp_path / "zones.csv", index=False)
    table[~missing].to_csv(tmp_path / "whole.csv", index=False)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main, ["inequality", str(tmp_path / "zones.csv"), *map(str, common(out)), "--strict"]
    )
    assert result.exit_code == 3, result.output
    assert out.is_file() and out.with_suffix(".csv").is_file()
    warned = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warned) == 1 and warned[0].startswith("warning: 2 of 64 rows dropped")
    assert result.output.rstrip().endswith(
        "--strict: ilots inequality finished with 1 warning(s) (above); exit status 3"
    )
    whole = ["inequality", str(tmp_path / "whole.csv"), *map(str, common(out)), "--strict",
             "--overwrite"]  # fmt: skip
    result = CliRunner().invoke(main, whole)
    assert result.exit_code == 0 and "warning" not in result.output, result.output


def test_tables_as_users_give_them(tmp_path, frame):
    """INSEE's ';' CSV is read; a misspelt layer lists the layers; an --out whose sibling CSV
    is the table, or in a folder that cannot be written, is refused before any work, in one
    line (through ``ilots``, as users call it), and the table is left as it was."""
    from pipelines.cli import main

    def ilots(*args):
        return CliRunner().invoke(main, ["inequality", *map(str, args)])

    semi = tmp_path / "semi.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(semi, index=False, sep=";")
    result = ilots(semi, *common(tmp_path / "from_semi.json"))
    assert result.exit_code == 0
    assert json.loads((tmp_path / "from_semi.json").read_text())["n_used"] == 62
    assert "warning: 2 of 64 rows dropped" in result.output  # said, not only in the JSON
    # Decimal commas too, with a first row that has fewer of them than the next ones (its
    # income is missing, as INSEE's secret cells are)
    table = pd.DataFrame(frame.drop(columns="geometry"))
    secret_first = np.argsort(pd.to_numeric(table["DISP_MED21"], errors="coerce").notna())
    table["DISP_MED21"] = table["DISP_MED21"].astype(str).str.replace(".", ",")
    table.iloc[secret_first].to_csv(semi, index=False, sep=";", decimal=",")
    first, second = semi.read_text().splitlines()[1:3]
    assert first.count(",") < second.count(",")
    result = ilots(semi, *common(tmp_path / "from_commas.json"))
    assert result.exit_code == 0, result.output
    got, want = (json.loads((tmp_path / f"from_{n}.json").read_text()) for n in ("commas", "semi"))
    assert got["n_used"] == 62
    assert got["generalized_concentration_index"] == want["generalized_concentration_index"]
    gpkg = tmp_path / "zones.gpkg"
    frame.to_file(gpkg, layer="iris")
    result = ilots(gpkg, "--layer", "irs", *common(tmp_path / "r.json"))
    assert result.exit_code == 1 and "zones.gpkg has no layer 'irs'; its layers: iris" in (
        result.output
    )
    table = tmp_path / "city.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(table, index=False)
    before = table.read_bytes()
    (tmp_path / "a_file").write_text("")
    for out, said in [(tmp_path / "city.json", "is the input file"),
                      (tmp_path / "a_file" / "r.json", "cannot write in")]:  # fmt: skip
        result = ilots(table, *common(out))
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1 and said in lines[0], result.output
    assert table.read_bytes() == before and not (tmp_path / "city.json").exists()


def test_english_thousands_separators_are_refused(tmp_path):
    """``ilots inequality`` on a re-saved English CSV: "19,300" is refused, not read as 19.3."""
    table = tmp_path / "zones.csv"
    rows = [f'I{i},{301 + i * 0.37:.2f},"{17 + i},{100 * i:03d}"' for i in range(6)]
    table.write_text("iris,lst_mean_k,DISP_MED21\n" + "\n".join(rows) + "\n")
    out = tmp_path / "inequality.json"
    result = run(table, "--outcome", "lst_mean_k", "--income", "DISP_MED21", "--out", out)
    assert result.exit_code == 1 and "DISP_MED21 (e.g. '17,000')" in result.output
    assert "thousands separators" in result.output and not out.exists()


def test_interval_scale_options(tmp_path):
    """A °C column not named *_k gets its standard C left out with --interval-scale (it would
    depend on the origin), and a *_k column keeps it with --ratio-scale (science.md §9 C-2,
    C-3); without either, the name decides."""
    table = tmp_path / "zones.csv"
    pd.DataFrame({"lst_c": LST_C, "lst_k": LST_C + 273.15, "inc": INCOME}).to_csv(table)

    def standard_c(outcome, *flags):
        out = tmp_path / f"{outcome}{''.join(flags)}.json"
        args = ["--outcome", outcome, "--income", "inc", "--bootstrap", 0, "--out", out]
        result = run(table, *args, *flags)
        assert result.exit_code == 0, result.output
        payload = json.loads(out.read_text())
        assert payload["generalized_concentration_index"]["value"] == pytest.approx(GC, abs=1e-9)
        return payload["concentration_index"]["value"]

    assert standard_c("lst_c") == pytest.approx(C_CELSIUS, abs=1e-9)  # guessed: ratio scale
    assert standard_c("lst_c", "--interval-scale") is None
    assert standard_c("lst_k") is None  # guessed: interval scale
    assert standard_c("lst_k", "--ratio-scale") == pytest.approx(C_KELVIN, abs=1e-9)
    help_text = run("--help").output
    assert "--interval-scale / --ratio-scale" in help_text


def test_synthetic_zone_tables_mark_the_results(tmp_path, frame):
    """Issue #5: a zone table that says it is synthetic (a demo run's GeoParquet layer, or a
    GeoPackage layer described with SYNTHETIC_MARK) gives a JSON whose first key is
    ``"synthetic": true`` and a CSV ending with a ``synthetic`` column; a real one neither,
    and otherwise the same results."""
    from pipelines.outputs.geopackage import SYNTHETIC_MARK
    from pipelines.outputs.tables import write_geoparquet

    zones = frame.assign(DISP_MED21=pd.to_numeric(frame["DISP_MED21"], errors="coerce"))
    write_geoparquet(zones, tmp_path / "demo.parquet", synthetic=True)
    zones.to_file(tmp_path / "demo.gpkg", layer="iris",
                  layer_options={"DESCRIPTION": SYNTHETIC_MARK + "IRIS"})  # fmt: skip
    write_geoparquet(zones, tmp_path / "real.parquet", synthetic=False)
    results = {}
    for name in ("demo.parquet", "demo.gpkg", "real.parquet"):
        out = tmp_path / name.replace(".", "_") / "inequality.json"
        result = run(tmp_path / name, *common(out))
        assert result.exit_code == 0, result.output
        results[name] = json.loads(out.read_text()), pd.read_csv(out.with_suffix(".csv"))
    real_json, real_csv = results.pop("real.parquet")
    assert "synthetic" not in real_json and "synthetic" not in real_csv.columns
    for name, (payload, flat) in results.items():
        assert next(iter(payload)) == "synthetic" and payload.pop("synthetic") is True, name
        assert payload == real_json, name
        assert flat.columns[-1] == "synthetic" and flat["synthetic"].all(), name
        pd.testing.assert_frame_equal(flat.drop(columns="synthetic"), real_csv)


def _accented(frame):
    """The city with a non-ASCII outcome name, which the JSON repeats (``"outcome"``)."""
    zones = frame.assign(DISP_MED21=pd.to_numeric(frame["DISP_MED21"], errors="coerce"))
    return zones.rename(columns={"lst_mean_k": "lst_été_k"})


def _accented_args(out):
    return [a if a != "lst_mean_k" else "lst_été_k" for a in common(out)]


def test_a_real_result_json_is_utf8_with_a_two_space_indent(tmp_path, frame):
    """The layout of a real table's RESULT.json, pinned by the json module's own: 2-space
    indent, non-ASCII text as is (not escaped), no mark, one final newline."""
    from pipelines.outputs.tables import write_geoparquet

    write_geoparquet(_accented(frame), tmp_path / "real.parquet", synthetic=False)
    out = tmp_path / "inequality.json"
    result = run(tmp_path / "real.parquet", *_accented_args(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    payload = json.loads(text)
    assert text == json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    assert '\n  "outcome": "lst_été_k",\n' in text and "synthetic" not in payload


def test_a_synthetic_result_json_is_the_real_one_plus_its_mark(tmp_path, frame):
    """Issue #5: a synthetic table's RESULT.json is laid out as a real one's (it was indented
    by one space, with ASCII escapes): the same bytes with the mark's line added first."""
    from pipelines.outputs.tables import write_geoparquet

    zones = _accented(frame)
    texts = {}
    for name, synthetic in (("real", False), ("demo", True)):
        write_geoparquet(zones, tmp_path / f"{name}.parquet", synthetic=synthetic)
        out = tmp_path / name / "inequality.json"
        result = run(tmp_path / f"{name}.parquet", *_accented_args(out))
        assert result.exit_code == 0, result.output
        texts[name] = out.read_text(encoding="utf-8")
    assert texts["real"].startswith("{\n  ")
    assert texts["demo"] == texts["real"].replace("{\n", '{\n  "synthetic": true,\n', 1)


def _zonal_csv_of_a_synthetic_raster(tmp_path):
    """``ilots zonal --out zones.csv`` of a 2-band raster tagged ``synthetic=true``, as a demo
    run's COGs: 20 strips of one pixel row, b1 an outcome, b2 an income (per strip)."""
    import rasterio
    import shapely
    from rasterio.transform import from_origin

    from pipelines.cli import main

    rows = np.arange(20.0)[:, None] * np.ones((1, 5))
    bands = np.stack([310.0 - 0.2 * rows + 0.01 * rows**2, 12000.0 + 900.0 * rows])
    raster = tmp_path / "demo.tif"
    with rasterio.open(raster, "w", driver="GTiff", width=5, height=20, count=2,
                       dtype="float32", crs="EPSG:32631",
                       transform=from_origin(600000, 5400000, 30, 30)) as dst:  # fmt: skip
        dst.write(bands.astype("float32"))
        dst.update_tags(synthetic="true")
    strips = [shapely.box(600000, 5400000 - 30 * (r + 1), 600150, 5400000 - 30 * r)
              for r in range(20)]  # fmt: skip
    zones = gpd.GeoDataFrame({"zid": [f"z{r:02d}" for r in range(20)]}, geometry=strips,
                             crs=32631)  # fmt: skip
    zones.to_file(tmp_path / "zones.gpkg")
    out = tmp_path / "zones.csv"
    args = ["zonal", raster, tmp_path / "zones.gpkg", "--id", "zid", "--stats", "mean",
            "--out", out]  # fmt: skip
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return out


def test_a_zonal_csv_of_a_synthetic_raster_marks_the_results(tmp_path):
    """Issue #5: ilots zonal's CSV of a synthetic raster ends with a ``synthetic`` column of
    True, which marks ilots inequality's results (it was read as a CSV that says nothing);
    without the column, or with a False in it, the results are unmarked and the same."""
    marked = _zonal_csv_of_a_synthetic_raster(tmp_path)
    table = pd.read_csv(marked)
    assert list(table.columns) == ["zid", "b1_mean", "b2_mean", "synthetic"]
    table.drop(columns="synthetic").to_csv(tmp_path / "plain.csv", index=False)
    table.assign(synthetic=[True] * 19 + [False]).to_csv(tmp_path / "false.csv", index=False)
    args = ["--outcome", "b1_mean", "--income", "b2_mean", "--bootstrap", "0",
            "--permutations", "0"]  # fmt: skip
    results = {}
    for name in ("zones", "plain", "false"):
        out = tmp_path / name / "inequality.json"
        result = run(tmp_path / f"{name}.csv", *args, "--out", out)
        assert result.exit_code == 0, result.output
        results[name] = out.read_text(encoding="utf-8"), pd.read_csv(out.with_suffix(".csv"))
    plain_json, plain_csv = results["plain"]
    assert "synthetic" not in json.loads(plain_json) and "synthetic" not in plain_csv
    assert results["false"][0] == plain_json
    pd.testing.assert_frame_equal(results["false"][1], plain_csv)
    text, flat = results["zones"]
    assert text == plain_json.replace("{\n", '{\n  "synthetic": true,\n', 1)
    assert flat.columns[-1] == "synthetic" and flat["synthetic"].all()
    pd.testing.assert_frame_equal(flat.drop(columns="synthetic"), plain_csv)


def test_the_mark_column_of_a_csv_is_not_data(tmp_path):
    """The mark is not a column of the zones: not an outcome, not among the columns listed."""
    marked = _zonal_csv_of_a_synthetic_raster(tmp_path)
    out = tmp_path / "inequality.json"
    result = run(marked, "--outcome", "synthetic", "--income", "b2_mean", "--out", out)
    assert result.exit_code != 0 and not out.exists()
    assert "has no column --outcome synthetic; columns found: zid, b1_mean, b2_mean\n" in (
        result.output
    )


@pytest.mark.parametrize("existing", [["json"], ["csv"], ["json", "csv"]])
def test_existing_results_are_refused_unless_told_to_overwrite(
    tmp_path, frame, monkeypatch, existing
):
    """RESULT.json or its sibling RESULT.csv of last month is not replaced silently: refused
    (exit status 2, as a bad --out) before any statistic, both left byte for byte, and
    replaced with --overwrite."""
    import pipelines.inequality.cli
    from pipelines.cli import main

    def ilots(*args):
        return CliRunner().invoke(main, ["inequality", *map(str, args)])

    table = tmp_path / "zones.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(table, index=False)
    out = tmp_path / "r.json"
    found = [out.with_suffix(f".{suffix}") for suffix in existing]
    for path in found:
        path.write_text("last month")

    def computed(*args, **kwargs):
        raise AssertionError("the statistics were computed")

    with monkeypatch.context() as patched:
        patched.setattr(pipelines.inequality.cli, "run_inequality", computed)
        result = ilots(table, *common(out))
    assert result.exit_code == 2, result.output
    verb, it = ("exists", "it") if len(found) == 1 else ("exist", "them")
    assert result.output.splitlines()[-1] == (
        f"Error: Invalid value for --out: {', '.join(map(str, found))} {verb}; give "
        f"--overwrite to replace {it}, or another --out"
    )
    assert all(path.read_text() == "last month" for path in found)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["zones.csv", *(path.name for path in found)]
    )
    result = ilots(table, *common(out), "--overwrite")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["n_used"] == 62
    flat = pd.read_csv(out.with_suffix(".csv"))
    assert "generalized_concentration_index" in flat["metric"].tolist()


@pytest.mark.parametrize("appeared", ["json", "csv"])
def test_results_that_appeared_meanwhile_are_not_replaced(tmp_path, frame, monkeypatch, appeared):
    """Another command aimed at the same --out writes RESULT.json or RESULT.csv while the
    statistics are computed (after the up-front check passed): refused as that check
    refuses, the other command's file left, and neither of ours left as if whole (the
    .csv, put in place first, is removed when the .json is refused)."""
    import pipelines.inequality.cli
    from pipelines.cli import main

    table = tmp_path / "zones.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(table, index=False)
    out = tmp_path / "r.json"
    theirs = out.with_suffix(f".{appeared}")
    compute = pipelines.inequality.cli.run_inequality

    def computed(*args, **kwargs):
        report = compute(*args, **kwargs)
        theirs.write_text("the other command's")
        return report

    monkeypatch.setattr(pipelines.inequality.cli, "run_inequality", computed)
    result = CliRunner().invoke(main, ["inequality", str(table), *map(str, common(out))])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == (
        f"Error: Invalid value for --out: {theirs} exists; give --overwrite to replace it, "
        "or another --out"
    )
    assert theirs.read_text() == "the other command's"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["zones.csv", theirs.name])


def test_overwrite_through_links_into_a_read_only_folder_stops_before_the_work(
    tmp_path, frame, monkeypatch
):
    """--overwrite with RESULT.json a link to last month's in a read-only store: the new
    file would be made there, so that is said in one line before any statistic."""
    import pipelines.inequality.cli
    from pipelines.cli import main
    from tests.pipelines.outputs.helpers import read_only

    table = tmp_path / "zones.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(table, index=False)
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "june.json"
    real.write_text("last month")
    out = tmp_path / "r.json"
    out.symlink_to(real)
    read_only(monkeypatch, real.parent)

    def computed(*args, **kwargs):
        raise AssertionError("the statistics were computed")

    monkeypatch.setattr(pipelines.inequality.cli, "run_inequality", computed)
    args = ["inequality", str(table), *map(str, common(out)), "--overwrite"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"Error: OutputError: --out {out}: cannot write in {real.parent} (where the link "
        f"{out} points) (Permission denied); choose a folder you can write to"
    ]
    assert real.read_text() == "last month" and out.is_symlink()


def test_overwrite_writes_the_results_through_links(tmp_path, frame):
    """--overwrite with RESULT.json and RESULT.csv links to last month's files elsewhere:
    the files they name get the new results, the links stay."""
    table = tmp_path / "zones.csv"
    pd.DataFrame(frame.drop(columns="geometry")).to_csv(table, index=False)
    (tmp_path / "store").mkdir()
    out = tmp_path / "r.json"
    for suffix in (".json", ".csv"):
        (tmp_path / "store" / f"june{suffix}").write_text("last month")
        out.with_suffix(suffix).symlink_to(tmp_path / "store" / f"june{suffix}")
    result = run(table, *common(out), "--overwrite")
    assert result.exit_code == 0, result.output
    assert out.is_symlink() and out.with_suffix(".csv").is_symlink()
    assert json.loads((tmp_path / "store" / "june.json").read_text())["n_used"] == 62
    flat = pd.read_csv(tmp_path / "store" / "june.csv")
    assert "generalized_concentration_index" in flat["metric"].tolist()
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["june.csv", "june.json"]
