"""Tests of the MTL parser: three formats, two collections, typed values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raster.sources.mtl import landsat_metadata, mtl_group, parse_mtl, read_mtl
from tiles.errors import MetadataError

T1 = "landsat_c2l2/LC08_L2SP_008059_20191201_20200825_02_T1"
T2 = "landsat_c2l2/LC08_L2SP_001062_20201031_20201106_02_T2"
C1 = "landsat_l1/LC08_L1TP_016037_20170813_20170814_01_RT"
C2_L1_XML = "landsat_l1/LC08_L1TP_201028_20171117_20200902_02_T1_MTL.xml"
L9_XML = "stac_items/stactools-landsat/LC09_L2SP_010065_20220129_20220131_02_T1_MTL.xml"


@pytest.mark.realdata
@pytest.mark.parametrize("folder", [T1, T2])
def test_three_formats_parse_identically(real_data: Path, folder: str) -> None:
    product = real_data / folder
    name = product.name
    txt = read_mtl(product / f"{name}_MTL.txt")
    js = read_mtl(product / f"{name}_MTL.json")
    xml = read_mtl(product / f"{name}_MTL.xml")
    assert txt == js == xml
    assert list(txt) == ["LANDSAT_METADATA_FILE"]


@pytest.mark.realdata
def test_values_are_typed(real_data: Path) -> None:
    mtl = read_mtl(real_data / T1 / f"{Path(T1).name}_MTL.json")
    root = mtl["LANDSAT_METADATA_FILE"]
    contents = root["PRODUCT_CONTENTS"]
    assert contents["COLLECTION_NUMBER"] == 2 and isinstance(contents["COLLECTION_NUMBER"], int)
    assert contents["PROCESSING_LEVEL"] == "L2SP"
    attributes = root["IMAGE_ATTRIBUTES"]
    assert attributes["WRS_PATH"] == 8 and isinstance(attributes["WRS_PATH"], int)
    assert attributes["DATE_ACQUIRED"] == "2019-12-01"
    assert attributes["SCENE_CENTER_TIME"] == "15:13:51.8610990Z"
    assert attributes["SUN_ELEVATION"] == 57.08727307
    sr = root["LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]
    assert sr["REFLECTANCE_MULT_BAND_4"] == 2.75e-05
    assert sr["REFLECTANCE_ADD_BAND_4"] == -0.2
    st_params = root["LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"]
    assert st_params["TEMPERATURE_MULT_BAND_ST_B10"] == 0.00341802
    assert st_params["TEMPERATURE_ADD_BAND_ST_B10"] == 149.0
    assert isinstance(st_params["TEMPERATURE_ADD_BAND_ST_B10"], float)
    assert root["LEVEL1_PROCESSING_RECORD"]["DATE_PRODUCT_GENERATED"] == "2020-08-25T00:50:13Z"


@pytest.mark.realdata
def test_collection1_mtl_keeps_its_group_names(real_data: Path) -> None:
    mtl = read_mtl(real_data / C1 / f"{Path(C1).name}_MTL.txt")
    root = mtl["L1_METADATA_FILE"]
    assert root["TIRS_THERMAL_CONSTANTS"]["K1_CONSTANT_BAND_10"] == 774.8853
    assert root["TIRS_THERMAL_CONSTANTS"]["K2_CONSTANT_BAND_10"] == 1321.0789
    assert root["TIRS_THERMAL_CONSTANTS"]["K1_CONSTANT_BAND_11"] == 480.8883
    assert root["TIRS_THERMAL_CONSTANTS"]["K2_CONSTANT_BAND_11"] == 1201.1442
    assert root["RADIOMETRIC_RESCALING"]["RADIANCE_MULT_BAND_10"] == 3.342e-04
    assert root["RADIOMETRIC_RESCALING"]["RADIANCE_ADD_BAND_10"] == 0.1
    # an identifier with digits and an underscore stays a string
    assert root["METADATA_FILE_INFO"]["REQUEST_ID"] == "0501708131070_00025"
    meta = landsat_metadata(mtl)
    assert meta.collection == 1
    assert meta.processing_level == "L1TP"
    assert meta.files["BQA"].endswith("_BQA.TIF")
    assert meta.sun_elevation == 62.17310472


@pytest.mark.realdata
def test_collection2_level1_xml(real_data: Path) -> None:
    mtl = read_mtl(real_data / C2_L1_XML)
    thermal = mtl_group(mtl, "LEVEL1_THERMAL_CONSTANTS")
    assert thermal["K1_CONSTANT_BAND_10"] == 774.8853
    assert thermal["K2_CONSTANT_BAND_11"] == 1201.1442
    meta = landsat_metadata(mtl)
    assert (meta.collection, meta.processing_level) == (2, "L1TP")
    assert meta.files["QA_PIXEL"].endswith("_QA_PIXEL.TIF")
    assert (meta.wrs_path, meta.wrs_row) == (201, 28)


@pytest.mark.realdata
def test_landsat9_thermal_constants(real_data: Path) -> None:
    mtl = read_mtl(real_data / L9_XML)
    thermal = mtl_group(mtl, "LEVEL1_THERMAL_CONSTANTS")
    assert thermal["K1_CONSTANT_BAND_10"] == 799.0284
    assert thermal["K2_CONSTANT_BAND_10"] == 1329.2405
    assert thermal["K1_CONSTANT_BAND_11"] == 475.6581
    assert thermal["K2_CONSTANT_BAND_11"] == 1198.3494
    assert mtl_group(mtl, "LEVEL1_RADIOMETRIC_RESCALING")["RADIANCE_MULT_BAND_10"] == 3.8e-04
    assert landsat_metadata(mtl).platform == "landsat-9"


def test_odl_arrays_and_nesting() -> None:
    text = """GROUP = ROOT
  GROUP = A
    LIST = ( "x", 2,
             3.5 )
    NAME = "N"
  END_GROUP = A
END_GROUP = ROOT
END
"""
    assert parse_mtl(text, "txt") == {"ROOT": {"A": {"LIST": ["x", 2, 3.5], "NAME": "N"}}}


@pytest.mark.parametrize(
    ("text", "fmt", "match"),
    [
        ("GROUP = ROOT\n  A = 1\n", "txt", "never closed"),
        ("GROUP = ROOT\nEND_GROUP = OTHER\n", "txt", "never opened"),
        ("GROUP = ROOT\n  garbage\nEND_GROUP = ROOT\n", "txt", "line 2"),
        ('{"ROOT": {"A": ', "json", "cannot parse"),
        ("<ROOT><A>1</A>", "xml", "cannot parse"),
        ('{"A": {}, "B": {}}', "json", "one root group"),
    ],
)
def test_malformed_mtl_is_a_metadata_error(text: str, fmt: str, match: str) -> None:
    with pytest.raises(MetadataError, match=match):
        parse_mtl(text, fmt, source="bad_MTL")  # type: ignore[arg-type]


def test_missing_group_names_the_group() -> None:
    mtl = parse_mtl("GROUP = LANDSAT_METADATA_FILE\nEND_GROUP = LANDSAT_METADATA_FILE\n", "txt")
    with pytest.raises(MetadataError, match="PRODUCT_CONTENTS"):
        landsat_metadata(mtl, source="x_MTL.txt")


def test_not_an_mtl_name(tmp_path: Path) -> None:
    path = tmp_path / "metadata.csv"
    path.write_text("a,b\n")
    with pytest.raises(MetadataError, match="_MTL"):
        read_mtl(path)


# --- property: the three renderings of any MTL-like tree parse to the same dict ------------

_keys = st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True)
_values = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda f: float(f"{f:.6g}")),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_:.\-]{0,15}", fullmatch=True),
)
_groups = st.dictionaries(_keys, _values, min_size=1, max_size=6)
_trees = st.dictionaries(_keys, _groups, min_size=1, max_size=4)


def _as_text(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _odl(root: str, tree: dict[str, dict[str, object]]) -> str:
    lines = [f"GROUP = {root}"]
    for group, items in tree.items():
        lines.append(f"  GROUP = {group}")
        for key, value in items.items():
            text = _as_text(value)
            lines.append(
                f'    {key} = "{text}"' if isinstance(value, str) else f"    {key} = {text}"
            )
        lines.append(f"  END_GROUP = {group}")
    lines += [f"END_GROUP = {root}", "END"]
    return "\n".join(lines)


def _xml(root: str, tree: dict[str, dict[str, object]]) -> str:
    body = "".join(
        f"<{g}>" + "".join(f"<{k}>{_as_text(v)}</{k}>" for k, v in items.items()) + f"</{g}>"
        for g, items in tree.items()
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><{root}>{body}</{root}>'


@given(_trees)
def test_three_renderings_parse_identically(tree: dict[str, dict[str, object]]) -> None:
    as_json = json.dumps(
        {"ROOT": {g: {k: _as_text(v) for k, v in i.items()} for g, i in tree.items()}}
    )
    parsed = [
        parse_mtl(_odl("ROOT", tree), "txt"),
        parse_mtl(as_json, "json"),
        parse_mtl(_xml("ROOT", tree), "xml"),
    ]
    assert parsed[0] == parsed[1] == parsed[2]
    for group, items in tree.items():
        for key, value in items.items():
            if not isinstance(value, str):
                assert parsed[0]["ROOT"][group][key] == value
