"""Test helpers: a minimal HTML tree (stdlib parser), copies of run folders, fake extra files."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

NBSP = "\u00a0"
MINUS = "\u2212"
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

# The files a report reads.
RUN_FILES = (
    "manifest.json",
    "config.yaml",
    "inequality.json",
    "inequality.csv",
    "heat_island.json",
    "zones.gpkg",
)
RUN_FOLDERS = ("zones", "rasters")


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join("".join(parts).replace(NBSP, " ").split())

    def iter(self, tag: str | None = None):
        for child in self.children:
            if isinstance(child, Node):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def by_id(self, element_id: str) -> Node | None:
        return next((n for n in self.iter() if n.attrs.get("id") == element_id), None)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def table_rows(doc: Node, table_id: str) -> list[tuple[str | None, list[str]]]:
    """(data-id, cell texts) of each body row of table ``table_id`` (row headers included)."""
    table = doc.by_id(table_id)
    assert table is not None, f"no table #{table_id}"
    (body,) = list(table.iter("tbody"))
    rows = body.iter("tr")
    return [(tr.attrs.get("data-id"), [cell.text() for cell in row_cells(tr)]) for tr in rows]


def row_cells(tr: Node) -> list[Node]:
    """The cells of a table row, in order: its ``<th>`` row header and its ``<td>``."""
    return [c for c in tr.children if isinstance(c, Node) and c.tag in ("td", "th")]


def headers(doc: Node, table_id: str) -> list[str]:
    """The column headers of table ``table_id`` (its ``<thead>``)."""
    (head,) = list(doc.by_id(table_id).iter("thead"))
    return [th.text() for th in head.iter("th")]


def fr(value: float, digits: int = 2) -> str:
    """French number, typed independently of the code under test: 1,43 / −0,99."""
    text = f"{abs(value):.{digits}f}".replace(".", ",")
    return (MINUS if round(value, digits) < 0 else "") + text


def en(value: float, digits: int = 2) -> str:
    text = f"{abs(value):.{digits}f}"
    return (MINUS if round(value, digits) < 0 else "") + text


def copy_run(source: Path, target: Path, *, scenarios: bool = False) -> Path:
    """Copy the files of a run folder that a report reads (``scenarios/`` on request)."""
    target.mkdir(parents=True)
    for name in RUN_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    for name in RUN_FOLDERS + (("scenarios",) if scenarios else ()):
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
    return target


def tiny_png(path: Path, colour: str = "tab:blue") -> Path:
    """A small real PNG drawn with matplotlib (independent of the report's code)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(2, 1.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(np.arange(12.0).reshape(3, 4), cmap="coolwarm")
    ax.set_title(colour)
    fig.savefig(path, format="png", dpi=50)
    return path


HEAT_ISLAND = {
    "definition": {
        "urban": "aoi",
        "ring_inner_km": 1.0,
        "ring_outer_km": 6.0,
        "urban_definition": "union of the IRIS",
        "reference_definition": "ring 1-6 km outside, no water, no built",
    },
    "composite": {
        "variable": "lst_anomaly",
        "suhii_k": 3.2874,
        "urban_mean_k": 3.4512,
        "rural_mean_k": 0.1638,
        "urban_pixels": 3010,
        "rural_pixels": 25011,
    },
    "composite_lst": {
        "variable": "lst_median",
        "suhii_k": 3.3013,
        "urban_mean_k": 307.912,
        "rural_mean_k": 304.6107,
        "urban_pixels": 3010,
        "rural_pixels": 25011,
    },
    "scenes": [
        {
            "time": "2023-06-26T10:30:00",
            "platform": "landsat-8",
            "suhii_k": 2.96,
            "urban_mean_k": 305.5,
            "rural_mean_k": 302.54,
            "urban_pixels": 3010,
            "rural_pixels": 25000,
        },
        {
            "time": "2023-07-12T10:30:00",
            "platform": "landsat-8",
            "suhii_k": 3.41,
            "urban_mean_k": 307.4,
            "rural_mean_k": 303.99,
            "urban_pixels": 3010,
            "rural_pixels": 25003,
        },
        {
            "time": "2023-07-20T10:30:00",
            "platform": "landsat-9",
            "suhii_k": None,
            "urban_mean_k": None,
            "rural_mean_k": None,
            "urban_pixels": 0,
            "rural_pixels": 0,
        },
    ],
}

COMPARISON = pd.DataFrame(
    {
        "scenario": ["green_qpv", "cool_roofs"],
        "description": ["Greening the QPV schoolyards", "Cool roofs on the built class"],
        "area_changed_m2": [182000.0, 1250000.0],
        "area_changed_predicted_m2": [171000.0, 1148000.0],
        "changed_mean_delta_k": [-2.0311, -1.4027],
        "mean_delta_k": [-1.1234, -0.4521],
        "urban_mean_delta_k": [-0.1234, -0.3012],
        "delta_k_per_ha": [-0.000678, -0.0003617],
        "qpv_delta_mean_k": [-1.2071, -0.6012],
        "rest_delta_mean_k": [-0.0312, -0.4388],
        "qpv_gap_before_k": [1.4307, 1.4307],
        "qpv_gap_after_k": [0.2548, 1.2683],
        "generalized_concentration_index_before": [-0.7374, -0.7374],
        "generalized_concentration_index_after": [-0.5661, -0.4682],
        "extrapolated_share": [0.0, 0.9557],
    }
)

MODEL = {
    "estimator": "HistGradientBoostingRegressor",
    "target": "lst_anomaly",
    "predictors": ["ndvi", "built_frac", "water_frac", "albedo"],
    "cv": {"r2": 0.8123, "rmse_k": 0.9345, "folds": 5, "block_m": 1500, "n_pixels": 98765},
    "threshold": 0.5,
    "forced": False,
}


def add_extras(run: Path, *, model: dict | None = None) -> None:
    """Write fake heat_island.json and scenario outputs into ``run``."""
    (run / "heat_island.json").write_text(json.dumps(HEAT_ISLAND), encoding="utf-8")
    scenarios = run / "scenarios"
    scenarios.mkdir()
    COMPARISON.to_csv(scenarios / "comparison.csv", index=False)
    (scenarios / "model.json").write_text(json.dumps(model or MODEL), encoding="utf-8")
    tiny_png(scenarios / "comparison.png", "side by side")
    tiny_png(scenarios / "green_qpv" / "delta_lst.png", "green")
    tiny_png(scenarios / "cool_roofs" / "delta_lst.png", "roofs")
