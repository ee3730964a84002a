"""Execute every jupytext notebook of ``notebooks/`` on the demo city and check what it computes.

The demo is the session's (``ilots demo``, run once for all the tests); a copy of its folder is
handed to the kernels through ``ILOTS_DEMO_DIR``. Each notebook is read with jupytext and run
with nbclient in a kernel of *this* interpreter (a kernelspec for ``sys.executable`` written
into a temporary ``JUPYTER_PATH``, so no kernel needs to be installed beforehand). A notebook
stores its key results as JSON in ``ILOTS_NOTEBOOK_RESULTS``; the checks below compare them
with independent oracles: direct rasterio reads with the USGS scaling of science.md,
exactextract, pandas recomputations from the run folder, and a threaded zonal computation.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
import exactextract
import geopandas as gpd
import jupytext
import nbformat
import numpy as np
import pandas as pd
import pytest
import rasterio
import rioxarray
import xarray as xr
import yaml
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from raster.zonal import zonal_stats
from tests.conftest import DemoRun, real_data_dir

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.py"))
KERNEL = "ilots-pytest"
# Resolved once: the kernels get it as an absolute ILOTS_REAL_DATA, or not at all.
REAL_DATA = real_data_dir()

# science.md §1: Landsat C2 L2 scaling, and the default QA_PIXEL rejection (bits 0-5).
ST_SCALE, ST_OFFSET = 0.00341802, 149.0
SR_SCALE, SR_OFFSET = 2.75e-5, -0.2
QA_REJECT = 0b111111


def _ids(path: Path) -> str:
    return path.stem


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, demo_cli: DemoRun) -> Path:
    """A copy of the session's demo folder: the scenarios notebook writes into its run."""
    return shutil.copytree(demo_cli.root, tmp_path_factory.mktemp("nb-demo") / "demo")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path):
    """A kernelspec running this interpreter, and the environment the kernels inherit."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(jupyter / "kernels" / KERNEL, overrides={"display_name": "ilots tests"})
    spec = json.loads((jupyter / "kernels" / KERNEL / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    scratch = tmp_path_factory.mktemp("kernel-tmp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter))
        mp.setenv("ILOTS_DEMO_DIR", str(demo_dir))
        mp.setenv("TMPDIR", str(scratch))  # what the notebooks write to temp folders
        mp.delenv("MPLBACKEND", raising=False)
        if REAL_DATA is not None:
            mp.setenv("ILOTS_REAL_DATA", str(REAL_DATA))
        else:
            mp.delenv("ILOTS_REAL_DATA", raising=False)
        yield KERNEL


def execute(notebook: Path, cwd: Path, results: Path) -> dict[str, Any] | None:
    """Run ``notebook`` in the test kernel; fail with the cell's traceback on error.

    Returns the JSON the notebook stored in ``ILOTS_NOTEBOOK_RESULTS``, if it stored any.
    """
    nb = jupytext.read(notebook)
    os.environ["ILOTS_NOTEBOOK_RESULTS"] = str(results)
    try:
        client = NotebookClient(
            nb,
            kernel_name=KERNEL,
            timeout=None,
            startup_timeout=300,
            resources={"metadata": {"path": str(cwd)}},
        )
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{notebook.name} failed:\n{error}", pytrace=False)
    finally:
        del os.environ["ILOTS_NOTEBOOK_RESULTS"]
    if not results.is_file():
        return None
    out = json.loads(results.read_text())
    assert isinstance(out, dict) and out, f"{notebook.name}: results must be a non-empty object"
    return out


# --------------------------------------------------------------------------------------------
# oracles
# --------------------------------------------------------------------------------------------


def _band(folder: Path, suffix: str) -> np.ndarray:
    (path,) = folder.glob(f"*_{suffix}.TIF")
    with rasterio.open(path) as src:
        return src.read(1)


def _landsat_oracle(folder: Path, run_masks: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """LST (K) and NDVI of a C2 L2 product on its clear pixels, straight from the DN.

    ``run_masks``: also the run's ST_QA and QA_RADSAT tests (the real product has no
    QA_RADSAT, and its notebook cell applies QA_PIXEL only).
    """
    st = _band(folder, "ST_B10").astype("float64")
    qa = _band(folder, "QA_PIXEL").astype("int64")
    red = _band(folder, "SR_B4").astype("float64")
    nir = _band(folder, "SR_B5").astype("float64")
    clear = (st != 0) & ((qa & QA_REJECT) == 0)
    # The run's defaults, as the notebook applies them: ST_QA <= 2 K for the LST; QA_RADSAT
    # terrain occlusion (bit 11) for both, and B4 / B5 saturation (bits 3, 4) for NDVI.
    lst_clear = ndvi_clear = clear
    if run_masks:
        radsat = _band(folder, "QA_RADSAT").astype("int64")
        st_qa = _band(folder, "ST_QA").astype("float64") * 0.01
        lst_clear = clear & (st_qa <= 2.0) & ((radsat & (1 << 11)) == 0)
        ndvi_clear = clear & ((radsat & ((1 << 3) | (1 << 4) | (1 << 11))) == 0)
    lst = np.where(lst_clear, st * ST_SCALE + ST_OFFSET, np.nan)
    red, nir = red * SR_SCALE + SR_OFFSET, nir * SR_SCALE + SR_OFFSET
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = np.where(ndvi_clear & (red + nir != 0), (nir - red) / (nir + red), np.nan)
    return lst, ndvi


def _check_lst_stats(stats: dict[str, float], lst: np.ndarray) -> None:
    v = lst[np.isfinite(lst)]
    assert stats["pixels"] == v.size
    # float32 loading: ~3e-5 K per value at 300 K
    for key, expected in (
        ("mean", v.mean()),
        ("min", v.min()),
        ("max", v.max()),
        ("median", np.median(v)),
        ("p90", np.percentile(v, 90)),
    ):
        assert stats[key] == pytest.approx(expected, abs=2e-3), key


def check_one_scene(results: dict[str, Any], demo: Path) -> None:
    (product,) = (demo / "products").glob("LC09_L2SP_198030_20230720_*")
    assert results["product"] == product.name
    lst, ndvi = _landsat_oracle(product)
    _check_lst_stats(results["lst"], lst)
    assert results["clear_pixels"] == int(np.isfinite(lst).sum())
    assert 0 < results["clear_pixels"] < lst.size  # the scene has masked clouds
    assert results["ndvi_mean"] == pytest.approx(np.nanmean(ndvi), abs=1e-5)
    assert results["lst_ndvi_slope_k"] < 0  # the synthetic city is hotter where less green
    if REAL_DATA is None:
        assert results["real_lst"] is None
    else:
        folder = REAL_DATA / "landsat_c2l2" / "LC08_L2SP_008059_20191201_20200825_02_T1"
        real_lst, _ = _landsat_oracle(folder, run_masks=False)
        _check_lst_stats(results["real_lst"], real_lst)


def _iris_table(demo: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(demo / "outputs" / "zones.gpkg", layer="iris")


def _exactextract_mean(raster: Path, zones: gpd.GeoDataFrame, id_col: str) -> pd.Series:
    with rasterio.open(raster) as src:
        crs = src.crs
    table = exactextract.exact_extract(
        str(raster), zones.to_crs(crs), ["mean"], include_cols=[id_col], output="pandas"
    )
    return table.set_index(table[id_col].astype(str))["mean"]


def check_zonal_inequality(results: dict[str, Any], demo: Path) -> None:
    # The QPV gap: population-weighted mean LST anomaly inside minus outside QPV, over the
    # IRIS with income, population and outcome, recomputed with pandas from zones.gpkg.
    iris = _iris_table(demo)
    used = iris.dropna(subset=["disp_med", "population", "lst_anomaly_mean_k"])
    inside, outside = used[used["in_qpv"]], used[~used["in_qpv"]]

    def wmean(frame: pd.DataFrame) -> float:
        return float(np.average(frame["lst_anomaly_mean_k"], weights=frame["population"]))

    expected_gap = wmean(inside) - wmean(outside)
    assert results["qpv_gap_k"] == pytest.approx(expected_gap, rel=1e-9)
    assert results["n_in_qpv"] == len(inside)
    assert results["n_used"] == len(used)
    run = json.loads((demo / "outputs" / "inequality.json").read_text())
    assert results["qpv_gap_k"] == pytest.approx(run["group_difference"]["value"], rel=1e-9)
    assert results["qpv_gap_ci_k"][0] < results["qpv_gap_k"] < results["qpv_gap_ci_k"][1]
    gc = run["generalized_concentration_index"]["value"]
    assert results["generalized_concentration_index_k"] == pytest.approx(gc, rel=1e-9)
    # The notebook's own per-IRIS means against exactextract on the run's raster.
    oracle = _exactextract_mean(demo / "outputs" / "rasters" / "lst_anomaly.tif", iris, "code_iris")
    ours = pd.Series(results["iris_lst_anomaly_mean_k"])
    assert len(ours) == int(oracle.notna().sum()) > 0
    np.testing.assert_allclose(ours.to_numpy(), oracle.loc[ours.index].to_numpy(), atol=1e-9)


def check_scaling_out(results: dict[str, Any], demo: Path) -> None:
    assert results["n_workers"] == 2
    assert all(n > 0 for n in results["tasks_per_worker"].values())
    table = pd.DataFrame(results["cluster_table"])
    run = demo / "outputs"
    # A threaded zonal_stats on the same inputs, the same chunks and statistics.
    layers = {
        name: rioxarray.open_rasterio(
            run / "rasters" / f"{name}.tif",
            masked=True,
            chunks={"x": results["chunk"], "y": results["chunk"]},
        ).squeeze("band", drop=True)
        for name in ("lst_anomaly", "lst_median", "ndvi_median")
    }
    iris = gpd.read_file(demo / "zones" / "iris.gpkg").rename(columns={"CODE_IRIS": "code_iris"})
    with dask.config.set(scheduler="threads"):
        threaded = zonal_stats(
            xr.Dataset(layers), iris, id="code_iris", stats=results["zonal_stats"]
        )
    assert list(table["code_iris"].astype(str)) == list(threaded["code_iris"].astype(str))
    assert list(table.columns) == list(threaded.columns)
    numeric = threaded.columns.drop("code_iris")
    np.testing.assert_allclose(
        table[numeric].to_numpy(dtype=float), threaded[numeric].to_numpy(dtype=float), rtol=1e-9
    )
    # And exactextract's mean, independently of ilots' zonal code.
    oracle = _exactextract_mean(run / "rasters" / "lst_anomaly.tif", iris, "code_iris")
    mean = table.set_index(table["code_iris"].astype(str))["lst_anomaly_mean"]
    np.testing.assert_allclose(mean.to_numpy(), oracle.loc[mean.index].to_numpy(), atol=1e-9)
    # The whole run on the cluster equals the demo's threaded run, IRIS by IRIS.
    on_cluster = pd.read_parquet(Path(results["cluster_run_folder"]) / "zones" / "iris.parquet")
    on_threads = _iris_table(demo)
    on_cluster = on_cluster.set_index("code_iris").loc[on_threads["code_iris"]]
    for column in ("lst_mean_k", "lst_anomaly_mean_k", "ndvi_mean", "lc_built_frac"):
        np.testing.assert_allclose(
            on_cluster[column].to_numpy(dtype=float),
            on_threads[column].to_numpy(dtype=float),
            atol=1e-6,
            err_msg=column,
        )


def check_scenarios(results: dict[str, Any], demo: Path) -> None:
    folder = demo / "outputs" / "scenarios"
    model = json.loads((folder / "model.json").read_text())
    # The notebook fits the model as `ilots scenarios` does (same seeded sample and folds).
    assert results["r2"] == pytest.approx(model["cv"]["r2"], rel=1e-12)
    assert results["r2"] >= results["threshold"] == model["threshold"]
    assert results["noop_max_abs_delta_k"] == 0.0
    assert results["street_trees_changed_pixels"] > 0
    assert results["street_trees_qpv_mean_delta_k"] < 0
    assert -3.0 < results["albedo_response_k_per_0_1"] < 0  # planted: -1.5 K per +0.1
    # The scenarios (comparison.png among them) were made in English, the notebook's
    # language: the run folder's config.yaml is the one they ran with, the report theirs.
    ran = yaml.safe_load((demo / "outputs" / "config.yaml").read_text())
    assert ran["outputs"]["report_language"] == "en"
    assert '<html lang="en">' in (demo / "outputs" / "report.html").read_text()
    table = pd.read_csv(folder / "comparison.csv")
    ours = pd.DataFrame(results["scenarios"])
    assert list(ours["scenario"]) == list(table["scenario"]) == ["green_qpv", "cool_roofs"]
    for column in ("area_changed_m2", "mean_delta_k", "qpv_gap_before_k", "qpv_gap_after_k"):
        np.testing.assert_allclose(ours[column], table[column], rtol=1e-9, err_msg=column)
    # The QPV gap after each scenario, recomputed with pandas from the per-IRIS tables.
    iris = _iris_table(demo)
    for name, gap_after in zip(table["scenario"], table["qpv_gap_after_k"], strict=True):
        after = pd.read_csv(folder / name / "iris.csv", dtype={"code_iris": str})
        used = iris.merge(after, on="code_iris").dropna(
            subset=["disp_med", "population", "lst_anomaly_after_mean_k"]
        )
        inside, outside = used[used["in_qpv"]], used[~used["in_qpv"]]
        gap = np.average(
            inside["lst_anomaly_after_mean_k"], weights=inside["population"]
        ) - np.average(outside["lst_anomaly_after_mean_k"], weights=outside["population"])
        assert gap_after == pytest.approx(gap, rel=1e-9), name
        assert gap_after < table.loc[table["scenario"] == name, "qpv_gap_before_k"].item()


ORACLES: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "01_one_scene": check_one_scene,
    "02_zonal_inequality": check_zonal_inequality,
    "03_scenarios": check_scenarios,
    "04_scaling_out": check_scaling_out,
}


# --------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------


def test_the_notebooks_are_found() -> None:
    assert set(ORACLES) <= {p.stem for p in NOTEBOOKS}


def test_notebooks_made_by_jupytext_are_ignored_by_git() -> None:
    """``jupytext --to notebook notebooks/01_one_scene.py`` (notebooks/README.md) writes
    ``01_one_scene.ipynb`` beside it: a copy, not to commit."""
    root = NOTEBOOK_DIR.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    names = [f"notebooks/{path.stem}.ipynb" for path in NOTEBOOKS]
    ignored = subprocess.run(
        ["git", "check-ignore", *names], cwd=root, capture_output=True, text=True, check=False
    )
    assert ignored.stdout.split() == names


def test_notebooks_say_how_long_a_fresh_demo_takes_as_their_readme() -> None:
    """A fresh demo, its scenarios included, takes about a minute: not "about 15 seconds"."""
    said = re.compile(r"temporary folder \(about ([^)]*)\)")
    readme = said.findall(" ".join((NOTEBOOK_DIR / "README.md").read_text().split()))
    assert readme == ["a minute, its scenarios included"]
    for notebook in NOTEBOOKS:
        text = " ".join(notebook.read_text(encoding="utf-8").replace("# ", " ").split())
        assert said.findall(text) == ["a minute"], notebook.name


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids)
def test_notebook_is_py_percent_with_a_title(notebook: Path) -> None:
    text = notebook.read_text(encoding="utf-8")
    header = text.split("# ---\n")[1]
    assert "format_name: percent" in header
    nb = jupytext.reads(text, fmt="py:percent")
    nbformat.validate(nb)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# ") and len(first.source.splitlines()[0]) > 4
    # Every line after the header belongs to a `# %%` cell, and the cells are what jupytext
    # writes back (a py:percent round trip changes nothing but the header's version lines).
    body = text.split("# ---\n", 2)[2]
    assert body.lstrip("\n").startswith("# %% [markdown]")
    assert jupytext.writes(nb, fmt="py:percent").split("# ---\n", 2)[2] == body


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids)
def test_notebook_executes(notebook: Path, kernel: str, demo_dir: Path, tmp_path: Path) -> None:
    results = execute(notebook, tmp_path, tmp_path / "results.json")
    check = ORACLES.get(notebook.stem)
    if check is not None:
        assert results is not None, f"{notebook.name} stored no results in ILOTS_NOTEBOOK_RESULTS"
        check(results, demo_dir)


def _script(notebook: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a notebook as a plain script, without ILOTS_DEMO_DIR, its temp folder ``tmp_path``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ILOTS_DEMO_DIR", "ILOTS_REAL_DATA", "ILOTS_NOTEBOOK_RESULTS")}  # fmt: skip
    env.update({"TMPDIR": str(tmp_path), "MPLBACKEND": "Agg"})
    return subprocess.run(
        [sys.executable, str(NOTEBOOK_DIR / notebook)], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_a_script_removes_the_demo_it_wrote(tmp_path: Path) -> None:
    done = _script("01_one_scene.py", tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"writing the synthetic demo city into {tmp_path}" in done.stdout
    assert list(tmp_path.iterdir()) == []  # its ~140 MB temporary demo is gone


def test_scaling_out_says_it_needs_jupyter(tmp_path: Path) -> None:
    nb = jupytext.read(NOTEBOOK_DIR / "04_scaling_out.py")
    assert "**Run it in Jupyter**" in nb.cells[0].source  # said in its first cell
    done = _script("04_scaling_out.py", tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        "04_scaling_out starts worker processes, which a plain script cannot do (each would "
        "run the script again): open it in Jupyter (jupytext --to notebook) instead\n"
    )
    assert list(tmp_path.iterdir()) == []  # stopped before writing a demo


def test_the_qpv_table_says_why_its_counts_are_fractional() -> None:
    cells = jupytext.read(NOTEBOOK_DIR / "02_zonal_inequality.py").cells
    (k,) = [i for i, c in enumerate(cells) if "print(qpv_stats" in c.source]
    assert cells[k - 1].cell_type == "markdown"
    assert "The `_count` columns are not whole numbers" in cells[k - 1].source


@pytest.mark.parametrize(
    ("p_value", "ci", "said"),
    [
        (
            0.018,
            (0.55, 5.52),
            "With only 3 QPV IRIS the interval is wide; the permutation test rejects 'no "
            "difference' (p = 0.018 < 0.05): here the gap is large against the spread of the "
            "other IRIS.",
        ),
        (
            0.21,
            (-1.10, 5.52),
            "With only 3 QPV IRIS the interval is wide; the permutation test does not reject "
            "'no difference' (p = 0.210), even if the point estimate is close to the truth: the "
            "honest answer for a small city.",
        ),
    ],
)
def test_the_qpv_gap_is_read_as_its_test_came_out(tmp_path, capsys, p_value, ci, said) -> None:
    """The demo's test rejects (p = 0.018) where the notebook's text said it may not: the
    reading is now printed from the result. The gap cell runs here on a stand-in result."""
    from types import SimpleNamespace

    cells = jupytext.read(NOTEBOOK_DIR / "02_zonal_inequality.py").cells
    (cell,) = [c for c in cells if c.source.startswith("gap = heat.group_difference")]
    (tmp_path / "planted_effects.json").write_text('{"qpv_gap_k": 3.0}')
    gap = SimpleNamespace(
        value=3.04, ci_low=ci[0], ci_high=ci[1], p_value=p_value, n_in=3, n_out=59
    )
    exec(  # the notebook's own cell
        cell.source,
        {
            "heat": SimpleNamespace(group_difference=gap),
            "ineq": SimpleNamespace(confidence=0.95),
            "DEMO": tmp_path,
            "json": json,
        },
    )
    assert capsys.readouterr().out.splitlines()[-1] == said
