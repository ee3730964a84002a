"""The run folder opened in QGIS itself (headless): styled as the README promises.

The oracle is QGIS: ``qgis_probe.py`` runs under a Python with QGIS's bindings (Debian's
``python3-qgis``; ``$ILOTS_QGIS_PYTHON`` names another interpreter), opens ``zones.gpkg`` and
the COGs as a user would, and draws each layer. The demo's IRIS all have a value, so the probe
also opens a copy of its ``zones.gpkg``, with the run's styles, where three IRIS have none (as
under clouds). Skipped, with the reason, where QGIS is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from PIL import Image

from pipelines.outputs import write_zones_gpkg
from pipelines.outputs.styles import DIVERGING_RAMP, NO_VALUE_FILL, NO_VALUE_HATCH
from raster.landcover import CLASS_COLOURS, LandCover

PROBE = Path(__file__).with_name("qgis_probe.py")
FIELD = "lst_anomaly_mean_k"
N_CLOUDED = 3


def _qgis_python() -> str | None:
    """An interpreter that imports ``qgis.core``, or None."""
    for python in (os.environ.get("ILOTS_QGIS_PYTHON"), "/usr/bin/python3"):
        if not python or not Path(python).exists():
            continue
        check = subprocess.run(
            [python, "-c", "import qgis.core"], capture_output=True, env=_env(), timeout=120
        )
        if check.returncode == 0:
            return python
    return None


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return env | {"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}


QGIS_PYTHON = _qgis_python()
pytestmark = pytest.mark.skipif(
    QGIS_PYTHON is None,
    reason="QGIS's Python bindings not found: apt install python3-qgis, or set "
    "ILOTS_QGIS_PYTHON to a Python that imports qgis.core",
)


def _clouded_copy(gpkg: Path, target: Path) -> Path:
    """``gpkg`` rewritten with the value of its largest IRIS removed, its styles unchanged."""
    layers = {name: gpd.read_file(gpkg, layer=name) for name in ("iris", "qpv")}
    with closing(sqlite3.connect(gpkg)) as con:
        styles = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles"))
    iris = layers["iris"]
    iris.loc[iris["area_m2"].nlargest(N_CLOUDED).index, FIELD] = np.nan
    return write_zones_gpkg(target, layers, styles)


@pytest.fixture(scope="module")
def in_qgis(demo_run, tmp_path_factory):
    # A copy of the session's run, which no test may change: QGIS is not asked to open it
    # read only.
    out = shutil.copytree(demo_run[0], tmp_path_factory.mktemp("qgis_run") / "run")
    images = tmp_path_factory.mktemp("qgis")
    clouded = _clouded_copy(out / "zones.gpkg", images / "clouded.gpkg")
    done = subprocess.run(
        [QGIS_PYTHON, str(PROBE), str(out), str(images), str(clouded)],
        capture_output=True, text=True, env=_env(), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["clouded"] = report["more"][str(clouded)]
    return out, report


def _interior(mask: np.ndarray) -> tuple[int, int]:
    """A pixel whose 3 x 3 neighbourhood is all in ``mask`` (away from any edge)."""
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    rows, cols = np.nonzero(inner)
    assert rows.size, "no interior pixel of that kind"
    return int(rows[0]) + 1, int(cols[0]) + 1


def _rgba(report: dict, name: str, pixel: tuple[int, int]) -> tuple[int, ...]:
    with Image.open(report["rasters"][name]["image"]) as image:
        return image.convert("RGBA").getpixel((pixel[1], pixel[0]))


def _drawn(layer: dict) -> np.ndarray:
    """The (row, col, RGBA) image QGIS drew of a vector layer."""
    with Image.open(layer["image"]) as image:
        return np.asarray(image.convert("RGBA"))


def test_zones_gpkg_opens_styled(in_qgis):
    out, report = in_qgis
    iris, qpv = report["vector"]["iris"], report["vector"]["qpv"]
    assert iris["valid"] and iris["renderer"] == "RuleRenderer"
    assert iris["columns"] == [FIELD]
    labels = [item["label"] for item in iris["legend"]]
    assert len(labels) == 8 and all(label.endswith(" K") for label in labels[:7])
    # The no-value class, in the report's language (French by default).
    assert labels[7] == "sans valeur" and iris["filters"][7] == f'"{FIELD}" IS NULL'
    colors = [tuple(item["color"]) for item in iris["legend"]]
    assert colors == [(*c, 255) for c in (*DIVERGING_RAMP, NO_VALUE_FILL)]
    assert iris["features"] == len(gpd.read_parquet(out / "zones" / "iris.parquet"))
    assert qpv["valid"] and qpv["renderer"] == "singleSymbol" and qpv["labels"]
    assert qpv["features"] == len(gpd.read_parquet(out / "zones" / "qpv.parquet"))


def test_qgis_reads_each_layers_metadata(in_qgis):
    """The metadata ilots stores in zones.gpkg (gpkg_metadata) is the layer's in QGIS."""
    out, report = in_qgis
    crs = gpd.read_parquet(out / "zones" / "iris.parquet").crs.to_epsg()
    for name, what in (("iris", "IRIS"), ("qpv", "QPV (quartier prioritaire)")):
        metadata = report["vector"][name]["metadata"]
        assert metadata["title"] == f"SYNTHETIC Urban heat island per {what}"
        # the demo's: the synthetic mark first, then what the layer is, its period, its inputs
        assert metadata["abstract"].startswith("SYNTHETIC DATA (ilots demo, not a real place). ")
        assert f"per {what}, computed by ilots over 2023-" in metadata["abstract"]
        assert "formats of USGS Landsat" in metadata["abstract"]
        assert metadata["crs"] == f"EPSG:{crs}" and metadata["licenses"] == []


def test_qgis_draws_every_iris_valued_in_its_class_colour_the_others_hatched(in_qgis):
    _, report = in_qgis
    values = [zone["values"][FIELD] for zone in report["vector"]["iris"]["zones"]]
    edges = _zone_class_edges(np.array([v for v in values if v is not None]))
    for layer in (report["vector"]["iris"], report["clouded"]):
        image = _drawn(layer)
        nulls = 0
        for zone in layer["zones"]:
            value = zone["values"][FIELD]
            assert len(zone["symbols"]) == 1, zone  # drawn, and once
            (symbol,) = zone["symbols"]
            row, col = zone["pixel"]
            if value is None:
                nulls += 1
                assert symbol["layers"] == ["SimpleFill", "LinePatternFill"]
                assert tuple(symbol["color"]) == (*NO_VALUE_FILL, 255)
                around = image[row - 5 : row + 6, col - 5 : col + 6].reshape(-1, 4).astype(int)
                assert (around[:, 3] == 255).all(), "drawn, not a hole"
                assert (around[:, 0] == around[:, 1]).all() and (around[:, 1] == around[:, 2]).all()
                assert around[:, 0].max() == NO_VALUE_FILL[0], "light grey ..."
                assert around[:, 0].min() <= NO_VALUE_HATCH[0] + 10, "... hatched grey"
            else:
                klass = next(i for i in range(7) if edges[i] <= value <= edges[i + 1])
                expected = (*DIVERGING_RAMP[klass], 255)
                assert tuple(symbol["color"]) == expected, (value, klass)
                assert tuple(image[row, col]) == expected, (value, klass)
        assert nulls == (N_CLOUDED if layer is report["clouded"] else 0)


def _zone_class_edges(values: np.ndarray) -> list[float]:
    """The breaks the run's style has: 7 equal classes over [-m, m], m the largest |anomaly|
    within Tukey's far-out fences (3 IQR beyond the quartiles), the end classes stretched to
    the minimum and maximum; a value on a break is in the lower class (as QGIS's graduated
    renderer draws it)."""
    first, third = np.percentile(values, [25, 75])
    inside = (values >= first - 3 * (third - first)) & (values <= third + 3 * (third - first))
    bound = np.abs(values[inside]).max()
    edges = [-bound + 2 * bound * i / 7 for i in range(8)]
    return [min(edges[0], values.min()), *edges[1:-1], max(edges[-1], values.max())]


def test_every_raster_opens_with_its_style(in_qgis):
    out, report = in_qgis
    rasters = report["rasters"]
    assert set(rasters) == {p.stem for p in (out / "rasters").glob("*.tif")}
    for name, seen in rasters.items():
        assert seen["valid"], name
        expected = "paletted" if name == "landcover" else "singlebandpseudocolor"
        assert seen["renderer"] == expected, (name, seen["renderer"])  # not QGIS's grey
    assert rasters["landcover"]["classes"] == {
        "1": "water",
        "2": "dense vegetation",
        "3": "low vegetation",
        "4": "built",
        "5": "bare soil",
    }  # fmt: skip  -- named classes, not the colour table's 256 numbered entries


def test_qgis_draws_the_classes_and_the_anomaly_in_their_colours(in_qgis):
    out, report = in_qgis
    with rasterio.open(out / "rasters" / "landcover.tif") as src:
        classes = src.read(1)
    for code in (LandCover.WATER, LandCover.BUILT, LandCover.DENSE_VEGETATION):
        pixel = _interior(classes == code)
        assert _rgba(report, "landcover", pixel) == CLASS_COLOURS[code], code.name

    with rasterio.open(out / "rasters" / "lst_anomaly.tif") as src:
        anomaly = src.read(1)
    low, high = report["rasters"]["lst_anomaly"]["range"]
    assert low == -high < 0  # symmetric about 0
    hottest = _interior(anomaly >= high)  # at or beyond the range: the ramp's end colour
    assert _rgba(report, "lst_anomaly", hottest) == (*DIVERGING_RAMP[-1], 255)
    # The coolest pixels (parks; the river is no LST) are scattered: the coldest one, drawn
    # one image pixel per raster pixel.
    coolest = np.unravel_index(np.nanargmin(anomaly), anomaly.shape)
    assert anomaly[coolest] <= low and 0 < min(coolest) and coolest[0] < anomaly.shape[0] - 1
    assert _rgba(report, "lst_anomaly", tuple(map(int, coolest))) == (*DIVERGING_RAMP[0], 255)
    if np.isnan(anomaly).any():  # no data is drawn transparent
        assert _rgba(report, "lst_anomaly", _interior(np.isnan(anomaly)))[3] == 0


def _counts_of(label: str) -> tuple[float, float]:
    """The counts a legend label of ``n_clear`` names: ``"3"``, ``"5–8"`` or ``"≥ 9"``."""
    match = re.fullmatch(r"(\d+)|(\d+)–(\d+)|≥ (\d+)", label)
    assert match, f"not a whole count: {label!r}"
    one, first, last, above = match.groups()
    if one is not None:
        return int(one), int(one)
    return (int(first), int(last)) if first is not None else (int(above), np.inf)


def test_qgis_draws_each_clear_count_in_the_colour_of_its_legend_class(in_qgis):
    out, report = in_qgis
    seen = report["rasters"]["n_clear"]
    assert seen["shader"] == "DISCRETE", "classes of whole counts, not a continuous ramp"
    legend = [(_counts_of(item["label"]), tuple(item["color"])) for item in seen["items"]]
    assert legend[0][0] == (0, 0), "no clear observation is a class of its own"
    assert len({color for _, color in legend}) == len(legend), "one colour per class"
    with rasterio.open(out / "rasters" / "n_clear.tif") as src:
        counts = src.read(1)
    inner = np.zeros(counts.shape, dtype=bool)
    inner[1:-1, 1:-1] = True
    present = np.unique(counts)
    assert present.size >= 3, present
    for count in present:
        (color,) = [color for (low, high), color in legend if low <= count <= high]
        row, col = np.argwhere((counts == count) & inner)[0]
        assert _rgba(report, "n_clear", (int(row), int(col))) == color, count
