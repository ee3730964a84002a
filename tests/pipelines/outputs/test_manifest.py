import hashlib
import json
import math
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.transform
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Polygon, box

from pipelines.outputs import (
    MANIFEST_KEYS,
    _atomic,
    build_manifest,
    write_json_atomic,
    write_manifest,
)
from pipelines.outputs.manifest import area_record, input_path, output_path, to_jsonable
from tiles.errors import WarningText

REQUIRED_VERSIONS = (
    "python", "ilots", "numpy", "xarray", "dask", "rasterio", "gdal", "odc-stac", "geopandas",
    "shapely", "pyproj", "exactextract", "numba", "scikit-learn", "matplotlib", "jinja2",
    "gdal_pyogrio",  # the zone layers' GDAL, which may differ from rasterio's
)  # fmt: skip


def _strict(text):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def run_files(tmp_path):
    rng = np.random.default_rng(0)
    product = tmp_path / "LC09_L2SP_199026"
    (product / "extra").mkdir(parents=True)
    files = {
        product / "B10.TIF": rng.bytes(2_500_000),  # crosses the 1 MiB hashing blocks
        product / "MTL.txt": b"GROUP = LANDSAT_METADATA_FILE\n",
        product / "extra" / "ANG.txt": b"",
    }
    config = tmp_path / "run.yaml"
    files[config] = b"city: demo\n"
    output = tmp_path / "out" / "lst.tif"
    output.parent.mkdir()
    files[output] = b"II*\x00 not really a tiff"
    for path, data in files.items():
        path.write_bytes(data)
    return {"product": product, "config": config, "output": output, "bytes": files}


def test_manifest_is_complete_with_sizes_and_hashes(run_files):
    started = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    manifest = build_manifest(
        config={"city": "demo", "nan": float("nan")},
        inputs=[run_files["config"], run_files["product"]],
        grid={"crs": "EPSG:2154", "shape": (600, 520), "res": np.float64(30.0)},
        timings={"load": 1.5, "zonal": np.float32(0.25)},
        warnings=["3 scenes skipped (cloud cover)"],
        outputs=[run_files["output"]],
        extra={"synthetic": True},
        started=started,
        finished=started + timedelta(seconds=90),
    )
    assert tuple(manifest) == MANIFEST_KEYS
    expected = {p: hashlib.sha256(b).hexdigest() for p, b in run_files["bytes"].items()}

    config_entry, product_entry = manifest["inputs"]
    assert config_entry["kind"] == "file"
    assert config_entry["path"] == str(run_files["config"].resolve())
    assert config_entry["size"] == len(run_files["bytes"][run_files["config"]])
    assert config_entry["sha256"] == expected[run_files["config"]]
    assert product_entry["kind"] == "folder"
    assert [f["path"] for f in product_entry["files"]] == ["B10.TIF", "MTL.txt", "extra/ANG.txt"]
    for entry in product_entry["files"]:
        source = run_files["product"] / entry["path"]
        assert entry["sha256"] == expected[source]
        assert entry["size"] == len(run_files["bytes"][source])
    assert product_entry["size"] == sum(f["size"] for f in product_entry["files"])
    (output_entry,) = manifest["outputs"]
    assert output_entry["sha256"] == expected[run_files["output"]]

    assert manifest["started"] == "2024-07-01T12:00:00+00:00"
    assert manifest["finished"] == "2024-07-01T12:01:30+00:00"
    assert manifest["duration_s"] == 90.0
    assert manifest["timings"] == {"load": 1.5, "zonal": 0.25}
    assert manifest["warnings"] == ["3 scenes skipped (cloud cover)"]
    assert manifest["extra"] == {"synthetic": True}
    for name in REQUIRED_VERSIONS:
        assert isinstance(manifest["versions"][name], str) and manifest["versions"][name], name
    assert manifest["platform"]["system"] and manifest["platform"]["cpu_count"] >= 1
    assert manifest["manifest_version"] == 4 and manifest["ilots_version"]
    assert manifest["inputs_base"] is None  # no inputs_root: every input path absolute


def test_write_manifest_is_strict_json(tmp_path, run_files):
    manifest = build_manifest(
        config={"threshold": float("nan"), "bands": ("st_b10",)},
        inputs=[run_files["config"]],
        grid={"transform": np.array([30.0, 0.0, 640000.0]), "inf": np.inf},
        timings={},
        warnings=[],
        outputs=[],
    )
    path = write_manifest(tmp_path / "manifest.json", manifest)
    data = _strict(path.read_text(encoding="utf-8"))
    assert data["config"] == {"threshold": None, "bands": ["st_b10"]}
    assert data["grid"] == {"transform": [30.0, 0.0, 640000.0], "inf": None}
    assert data["started"] is None and data["duration_s"] is None
    assert list(data) == list(MANIFEST_KEYS)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "manifest.json",
        "run.yaml",
    ]


def test_input_gone_during_the_run_is_recorded_and_said(tmp_path, run_files):
    gone = tmp_path / "LC09_B10.TIF"  # read by the run, then moved away before the manifest
    manifest = build_manifest(config={}, inputs=[gone, run_files["config"]], grid={},
                              timings={}, warnings=["earlier"], outputs=[])  # fmt: skip
    assert manifest["inputs"][0] == {
        "path": str(gone), "kind": "missing", "size": None, "sha256": None,
    }  # fmt: skip
    assert manifest["inputs"][1]["kind"] == "file" and manifest["inputs"][1]["sha256"]
    assert manifest["warnings"][0] == "earlier"
    assert len(manifest["warnings"]) == 2 and str(gone) in manifest["warnings"][1]
    assert "moved or deleted during the run" in manifest["warnings"][1]


def test_each_warning_has_its_kind_in_the_same_order(tmp_path, run_files):
    """warning_codes: the kind of each warning (a WarningText's), null without one."""
    gone = tmp_path / "LC09_B10.TIF"
    said = [WarningText("3 zones repaired", "zone_geometry_repaired"), "a plain one",
            WarningText("no kind")]  # fmt: skip
    manifest = build_manifest(config={}, inputs=[gone, run_files["config"]], grid={},
                              timings={}, warnings=said, outputs=[])  # fmt: skip
    assert manifest["warnings"][:3] == ["3 zones repaired", "a plain one", "no kind"]
    assert manifest["warning_codes"] == ["zone_geometry_repaired", None, None, None]  # + gone
    data = json.loads(json.dumps(to_jsonable(manifest)))
    assert data["warning_codes"] == ["zone_geometry_repaired", None, None, None]


def test_remote_inputs_are_listed_after_the_files_without_size_or_hash(run_files):
    url = "https://sentinel-cogs.s3.amazonaws.com/sentinel-s2-l2a-cogs/31/T/CJ/B04.tif"
    manifest = build_manifest(config={}, inputs=[run_files["config"]], grid={}, timings={},
                              warnings=[], outputs=[], remote_inputs=[url])  # fmt: skip
    assert [r["kind"] for r in manifest["inputs"]] == ["file", "remote"]
    assert manifest["inputs"][1] == {"path": url, "kind": "remote", "size": None, "sha256": None}


def test_missing_output_and_incomplete_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_manifest(config={}, inputs=[], grid={}, timings={}, warnings=[],
                       outputs=[tmp_path / "lst.tif"])  # fmt: skip
    with pytest.raises(ValueError, match="lacks keys"):
        write_manifest(tmp_path / "manifest.json", {"config": {}})
    assert os.listdir(tmp_path) == []


def test_inputs_without_hashes(run_files):
    manifest = build_manifest(config={}, inputs=[run_files["product"]], grid={}, timings={},
                              warnings=[], outputs=[], hash_inputs=False)  # fmt: skip
    assert all(f["sha256"] is None for f in manifest["inputs"][0]["files"])


def test_to_jsonable_conversions():
    @dataclass(frozen=True)
    class Grid:
        shape: tuple[int, int]

    converted = to_jsonable(
        {
            1: np.int16(3),
            "b": np.bool_(True),
            "f": np.float32(math.inf),
            "p": Path("/a/b"),
            "d": datetime(2024, 1, 2, tzinfo=UTC),
            "s": {3, 1},
            "g": Grid((2, 3)),
            "t": np.datetime64("NaT"),
        }
    )
    assert converted == {
        "1": 3, "b": True, "f": None, "p": "/a/b", "d": "2024-01-02T00:00:00+00:00",
        "s": [1, 3], "g": {"shape": [2, 3]}, "t": None,
    }  # fmt: skip
    with pytest.raises(TypeError, match="cannot write a object"):
        to_jsonable(object())


def test_json_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "manifest.json"
    target.write_text("{}\n")

    real_open = open

    def half_then_crash(path, *args, **kwargs):
        handle = real_open(path, *args, **kwargs)
        handle.write('{"half": ')
        handle.close()
        raise OSError("simulated disk full")

    monkeypatch.setattr(_atomic, "open", half_then_crash, raising=False)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(target, {"a": 1})
    assert os.listdir(tmp_path) == ["manifest.json"]
    assert target.read_text() == "{}\n", "the previous file is untouched"


def test_known_digests_are_taken_and_other_files_hashed(tmp_path, run_files):
    """Outputs whose writer hashed them are not read again; the others are. Oracle: hashlib."""
    written = tmp_path / "written.tif"
    written.write_bytes(b"cog" * 1000)
    other = tmp_path / "other.json"
    other.write_bytes(b"{}")
    known = {str(written.resolve()): hashlib.sha256(b"cog" * 1000).hexdigest()}
    manifest = build_manifest(
        config={}, inputs=[], grid={}, timings={}, warnings=[], outputs=[written, other],
        known_digests=known,
    )  # fmt: skip
    records = {Path(r["path"]).name: r for r in manifest["outputs"]}
    assert records["written.tif"]["sha256"] == known[str(written.resolve())]
    assert records["other.json"]["sha256"] == hashlib.sha256(b"{}").hexdigest()
    # taken as given (the writer's word), not recomputed: a stand-in digest shows through
    stand_in = {str(written.resolve()): "0" * 64}
    manifest = build_manifest(
        config={}, inputs=[], grid={}, timings={}, warnings=[], outputs=[written],
        known_digests=stand_in,
    )  # fmt: skip
    assert manifest["outputs"][0]["sha256"] == "0" * 64


def test_outputs_are_recorded_relative_to_the_run_folder(tmp_path):
    # A run folder copied or moved keeps a manifest that names its own files (version 2);
    # a path outside the folder stays absolute, and version 1's absolute records still read.
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere.txt"
    (run / "zones").mkdir(parents=True)
    (run / "zones" / "iris.parquet").write_bytes(b"PAR1")
    elsewhere.write_text("x")
    manifest = build_manifest(
        config={}, inputs=[], grid={}, timings={}, warnings=[],
        outputs=[run / "zones" / "iris.parquet", elsewhere], outputs_root=run,
    )  # fmt: skip
    paths = [record["path"] for record in manifest["outputs"]]
    assert paths == ["zones/iris.parquet", str(elsewhere.resolve())]
    moved = tmp_path / "moved"
    assert output_path(paths[0], moved) == moved / "zones" / "iris.parquet"
    assert output_path(paths[1], moved) == elsewhere.resolve()


def _demo_like(root: Path, outside: Path) -> dict:
    """A demo-like folder (config, a product folder, a zone file, a run folder inside) whose
    run read a census file ``outside`` it; its manifest written in the run folder."""
    (root / "products" / "scene").mkdir(parents=True)
    (root / "products" / "scene" / "B10.TIF").write_bytes(b"II*\x00 B10")
    (root / "zones").mkdir()
    (root / "zones" / "iris.gpkg").write_bytes(b"SQLite format 3")
    (root / "config.yaml").write_text("outputs: {folder: outputs}\n")
    (root / "outputs").mkdir()
    (root / "outputs" / "lst.tif").write_bytes(b"II*\x00 LST")
    outside.write_text("IRIS;MED21\n")
    manifest = build_manifest(
        config={"outputs": {"folder": str(root / "outputs")}},
        inputs=[root / "zones" / "iris.gpkg", outside, root / "products" / "scene"],
        grid={}, timings={}, warnings=[], outputs=[root / "outputs" / "lst.tif"],
        outputs_root=root / "outputs", inputs_root=root,
    )  # fmt: skip
    write_manifest(root / "outputs" / "manifest.json", manifest)
    return manifest


def test_inputs_in_the_folder_around_the_run_folder_are_recorded_relative(tmp_path):
    """A demo folder moved whole (shutil.move): its manifest's inputs are where its
    ``inputs_base`` ("..": the demo folder, the run folder's parent) says; an input outside
    it stays absolute."""
    outside = tmp_path / "census" / "filosofi.csv"
    outside.parent.mkdir()
    _demo_like(tmp_path / "ilots-demo", outside)
    moved = Path(shutil.move(tmp_path / "ilots-demo", tmp_path / "elsewhere"))
    manifest = json.loads((moved / "outputs" / "manifest.json").read_text())
    assert manifest["inputs_base"] == ".."
    paths = [record["path"] for record in manifest["inputs"]]
    assert paths == ["zones/iris.gpkg", str(outside.resolve()), "products/scene"]
    assert [f["path"] for f in manifest["inputs"][2]["files"]] == ["B10.TIF"]
    resolved = [input_path(path, manifest, moved / "outputs") for path in paths]
    assert resolved == [moved / "zones" / "iris.gpkg", outside.resolve(),
                        moved / "products" / "scene"]  # fmt: skip
    assert all(path.exists() for path in resolved)
    assert not (tmp_path / "ilots-demo").exists()


def test_a_run_folder_moved_alone_finds_its_inputs_where_the_run_read_them(tmp_path):
    # Its relative inputs are not beside it any more: they are where the run read them,
    # under the run folder its config names (the folder around it left in place).
    _demo_like(tmp_path / "ilots-demo", tmp_path / "filosofi.csv")
    alone = Path(shutil.move(tmp_path / "ilots-demo" / "outputs", tmp_path / "alone"))
    manifest = json.loads((alone / "manifest.json").read_text())
    got = input_path("zones/iris.gpkg", manifest, alone)
    assert got == tmp_path / "ilots-demo" / "zones" / "iris.gpkg"


def test_a_run_folder_reached_through_a_symlink_reads_its_own_inputs(tmp_path):
    # A demo folder copied whole, its run folder opened through a link: the relative inputs
    # are the copy's (inputs_base is measured from the resolved run folder), not the original's.
    _demo_like(tmp_path / "ilots-demo", tmp_path / "filosofi.csv")
    copy = Path(shutil.copytree(tmp_path / "ilots-demo", tmp_path / "copy"))
    link = tmp_path / "link"
    link.symlink_to(copy / "outputs", target_is_directory=True)
    manifest = json.loads((link / "manifest.json").read_text())
    assert input_path("zones/iris.gpkg", manifest, link) == copy / "zones" / "iris.gpkg"


def test_inputs_root_needs_the_run_folder(tmp_path):
    with pytest.raises(ValueError, match="inputs_root needs outputs_root"):
        build_manifest(config={}, inputs=[], grid={}, timings={}, warnings=[], outputs=[],
                       inputs_root=tmp_path)  # fmt: skip


def test_the_area_record_gives_the_area_on_the_ellipsoid_and_the_bounds():
    """A 0.01 degree cell at 45 N: M N cos(phi) dphi dlambda (meridional and prime-vertical
    radii of curvature of WGS 84), exact to about 1e-8 for so small a cell."""
    a, f = 6_378_137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    phi, step = math.radians(45.0), math.radians(0.01)
    w = 1 - e2 * math.sin(phi) ** 2
    expected_m2 = a * (1 - e2) / w**1.5 * a / w**0.5 * math.cos(phi) * step * step
    cell = box(2.0, 44.995, 2.01, 45.005)
    record = area_record("bbox [2.0, 44.995, 2.01, 45.005]", cell)
    assert record["description"] == "bbox [2.0, 44.995, 2.01, 45.005]"
    assert record["area_km2"] == pytest.approx(expected_m2 / 1e6, rel=1e-6)
    assert record["bounds_wgs84"] == pytest.approx([2.0, 44.995, 2.01, 45.005])
    clockwise = box(2.0, 44.995, 2.01, 45.005, ccw=False)
    assert area_record("", clockwise)["area_km2"] == pytest.approx(record["area_km2"])


def test_the_area_record_subtracts_each_hole_as_its_geodesic_area():
    """A 0.2 degree square at 45 N with holes of 0.1, 0.001 and 0.0001 degree, densified as
    an area is (0.01 degree): the oracle is pyproj's geodesic area of each ring, the
    exterior's less the holes', whichever way each ring turns (the first hole turns as the
    exterior; pyproj's own geometry_area_perimeter would add it). The holes, measured on an
    equal-area projection, stay within 1e-8 of their geodesic area (9e-10 here)."""
    holes = [
        box(2.05, 44.95, 2.15, 45.05, ccw=False),
        box(2.01, 44.91, 2.011, 44.911),
        box(2.18, 45.08, 2.1801, 45.0801),
    ]
    polygon = Polygon(box(2.0, 44.9, 2.2, 45.1, ccw=False).exterior, [h.exterior for h in holes])
    polygon = shapely.segmentize(polygon, 0.01)
    geod = Geod(ellps="WGS84")
    shell_m2, *holes_m2 = (
        abs(geod.polygon_area_perimeter(*ring.xy)[0])
        for ring in (polygon.exterior, *polygon.interiors)
    )
    expected_km2 = (shell_m2 - sum(holes_m2)) / 1e6
    assert area_record("", polygon)["area_km2"] == pytest.approx(expected_km2, rel=1e-8)
    # Lines of a geometry collection (make_valid's collapsed rings) count for nothing.
    collection = GeometryCollection([polygon, LineString([(2.3, 45.0), (2.4, 45.0)])])
    assert area_record("", collection)["area_km2"] == pytest.approx(expected_km2, rel=1e-8)


def test_the_area_record_of_a_square_with_a_hole_in_a_utm_zone():
    """A 1 km square less a 900 m one on the central meridian of UTM 31N at 45 N: on the
    ellipsoid, the integral of 1 / k(x)² over it, with the transverse Mercator scale
    k(x) = k0 (1 + x² / (2 k0² rho nu)): (L² - l²) / k0² less (L⁴ - l⁴) / (12 k0⁴ rho nu),
    exact to about 1e-11 here (rho, nu: the radii of curvature at 45 N)."""
    a, f, k0 = 6_378_137.0, 1 / 298.257223563, 0.9996
    e2 = f * (2 - f)
    w = 1 - e2 * math.sin(math.radians(45.0)) ** 2
    rho_nu = a * (1 - e2) / w**1.5 * a / w**0.5
    side, hole = 1000.0, 900.0
    expected_m2 = (side**2 - hole**2) / k0**2 - (side**4 - hole**4) / (12 * k0**4 * rho_nu)
    x, y = 500_000.0, 4_983_000.0  # the central meridian, 45 N
    square = Polygon(
        box(x - side / 2, y - side / 2, x + side / 2, y + side / 2).exterior,
        [box(x - hole / 2, y - hole / 2, x + hole / 2, y + hole / 2).exterior],  # as it turns
    )
    to_lonlat = Transformer.from_crs(32631, 4326, always_xy=True).transform
    lonlat = shapely.transform(shapely.segmentize(square, 10.0), to_lonlat, interleaved=False)
    assert lonlat.centroid.y == pytest.approx(45.0, abs=0.01)
    assert area_record("", lonlat)["area_km2"] == pytest.approx(expected_m2 / 1e6, rel=1e-9)


def test_the_manifest_records_the_area_given_or_null():
    base = {"config": {}, "inputs": [], "grid": {}, "timings": {}, "warnings": [], "outputs": []}
    area = {"description": "bbox [0, 0, 1, 1]", "area_km2": 12.5, "bounds_wgs84": [0, 0, 1, 1]}
    assert build_manifest(**base, area=area)["area"] == area
    assert build_manifest(**base)["area"] is None


def test_recorded_writes_note_the_files_put_in_place_and_no_other(tmp_path):
    import threading

    root, elsewhere = tmp_path / "run", tmp_path / "other"
    (root / "rasters").mkdir(parents=True)
    elsewhere.mkdir()
    with _atomic.recorded_writes(root) as wrote:
        _atomic.write_text_atomic(root / "a.json", "{}")
        writer = threading.Thread(
            target=_atomic.write_text_atomic, args=(root / "rasters" / "b.qml", "<qgis/>")
        )
        writer.start()
        writer.join()
        (root / "rasters" / "c.tif").write_bytes(b"by raster.cog")
        _atomic.note_written(root / "rasters" / "c.tif")
        (root / "notes.txt").write_text("a user's")  # not through ilots' writers
        _atomic.write_text_atomic(elsewhere / "d.json", "{}")  # outside the folder
        with _atomic.recorded_writes(root) as inner:  # an overlapping recording
            _atomic.write_text_atomic(root / "e.json", "{}")
        (root / "a.json").unlink()  # written, then removed: not there to list
    _atomic.write_text_atomic(root / "f.json", "{}")  # after the block
    resolved = root.resolve()
    assert wrote() == [resolved / "e.json", resolved / "rasters" / "b.qml",
                       resolved / "rasters" / "c.tif"]  # fmt: skip
    assert inner() == [resolved / "e.json"]


def _tile(path, west):
    """Write a 4×4 GeoTIFF of byte codes at ``west`` (EPSG:32631, 10 m pixels)."""
    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 1, "dtype": "uint8",
               "crs": "EPSG:32631",
               "transform": rasterio.transform.from_origin(west, 4_800_040, 10, 10)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((1, 4, 4), 50, dtype=np.uint8))


def test_a_vrt_input_lists_and_hashes_the_files_it_reads(tmp_path):
    """A VRT's own bytes (a few hundred) say nothing of the tiles holding its pixels."""
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    _tile(tiles / "west.tif", 500_000)
    _tile(tmp_path / "east.tif", 500_040)  # beside the VRT's folder, not under it
    sources = "".join(
        f'<SimpleSource><SourceFilename relativeToVRT="1">{name}</SourceFilename>'
        f'<SourceBand>1</SourceBand><SrcRect xOff="0" yOff="0" xSize="4" ySize="4"/>'
        f'<DstRect xOff="{x}" yOff="0" xSize="4" ySize="4"/></SimpleSource>'
        for name, x in (("west.tif", 0), ("../east.tif", 4))
    )
    vrt = tiles / "mosaic.vrt"
    vrt.write_text(
        '<VRTDataset rasterXSize="8" rasterYSize="4"><SRS>EPSG:32631</SRS>'
        "<GeoTransform>500000, 10, 0, 4800040, 0, -10</GeoTransform>"
        f'<VRTRasterBand dataType="Byte" band="1">{sources}</VRTRasterBand></VRTDataset>'
    )
    manifest = build_manifest(config={}, inputs=[vrt], grid={}, timings={}, warnings=[],
                              outputs=[])  # fmt: skip
    (record,) = manifest["inputs"]
    assert record["sha256"] == hashlib.sha256(vrt.read_bytes()).hexdigest()
    expected = [
        {"path": "west.tif", "size": (tiles / "west.tif").stat().st_size,
         "sha256": hashlib.sha256((tiles / "west.tif").read_bytes()).hexdigest()},
        {"path": str((tmp_path / "east.tif").resolve()),
         "size": (tmp_path / "east.tif").stat().st_size,
         "sha256": hashlib.sha256((tmp_path / "east.tif").read_bytes()).hexdigest()},
    ]  # fmt: skip
    assert record["sources"] == expected
    unhashed = build_manifest(config={}, inputs=[vrt], grid={}, timings={}, warnings=[],
                              outputs=[], hash_inputs=False)  # fmt: skip
    assert [s["sha256"] for s in unhashed["inputs"][0]["sources"]] == [None, None]


def _geodesic_km2(polygons):
    """Oracle: each polygon's exterior less its holes, every ring by pyproj's geodesic area."""
    geod = Geod(ellps="WGS84")

    def ring_m2(ring):
        return abs(geod.polygon_area_perimeter(*ring.xy)[0])

    return (
        sum(ring_m2(p.exterior) - sum(ring_m2(hole) for hole in p.interiors) for p in polygons)
        / 1e6
    )


def test_the_area_record_of_parts_with_holes_in_3d_and_across_the_antimeridian():
    """Holes in a MultiPolygon's second and third parts are subtracted from their own part; z
    is ignored (a 3D layer in EPSG:4326 reaches the record as it is read); an area across
    the antimeridian at the equator (bounds spanning 360 degrees: no one projection for its
    holes) is measured ring by ring, as the geodesic oracle."""
    parts = [
        box(2.0, 45.0, 2.1, 45.1),
        Polygon(box(2.2, 45.0, 2.3, 45.1).exterior, [box(2.22, 45.02, 2.25, 45.05).exterior]),
        Polygon(box(2.4, 45.0, 2.6, 45.1).exterior,
                [box(2.41, 45.01, 2.42, 45.02).exterior, box(2.5, 45.05, 2.55, 45.08).exterior]),
    ]  # fmt: skip
    parts = [shapely.segmentize(p, 0.01) for p in parts]
    expected = _geodesic_km2(parts)
    assert area_record("", MultiPolygon(parts))["area_km2"] == pytest.approx(expected, rel=1e-8)
    raised = shapely.force_3d(MultiPolygon(parts), 150.0)
    assert area_record("", raised)["area_km2"] == pytest.approx(expected, rel=1e-8)

    east = Polygon(box(179.5, -0.5, 180.0, 0.5).exterior, [box(179.8, -0.1, 179.9, 0.1).exterior])
    west = Polygon(
        box(-180.0, -0.5, -179.5, 0.5).exterior, [box(-179.9, -0.1, -179.8, 0.1).exterior]
    )
    split = [shapely.segmentize(p, 0.01) for p in (east, west)]
    record = area_record("", MultiPolygon(split))
    assert record["area_km2"] == pytest.approx(_geodesic_km2(split), rel=1e-12)
    # by hand: 1 x 1 degree at the equator less two holes of 0.02 square degree, a degree
    # being 111.32 km of longitude and 110.57 km of latitude there: 0.96 x 12,309 km²
    assert record["area_km2"] == pytest.approx(0.96 * 111.32 * 110.57, rel=1e-3)
