"""Whether an input says it is synthetic (:mod:`pipelines.outputs.provenance`)."""

import io
import json

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from pipelines.outputs.provenance import (
    raster_is_synthetic,
    split_synthetic_column,
    truthy,
    zones_are_synthetic,
)
from pipelines.outputs.tables import PROVENANCE_KEY


def _dataset(folder, synthetic):
    """A Parquet dataset folder of two parts, with the ilots key in its schema when given."""
    metadata = {PROVENANCE_KEY: json.dumps({"synthetic": synthetic}).encode()}
    schema = pa.schema([("zid", pa.string())], metadata=None if synthetic is None else metadata)
    folder.mkdir()
    for part, ids in enumerate((["a"], ["b"])):
        pq.write_table(pa.table({"zid": ids}, schema=schema), folder / f"part-{part}.parquet")
    return folder


def test_a_parquet_dataset_folder_says_what_its_schema_says(tmp_path):
    assert zones_are_synthetic(_dataset(tmp_path / "demo.parquet", True))
    assert not zones_are_synthetic(_dataset(tmp_path / "real.parquet", False))
    assert not zones_are_synthetic(_dataset(tmp_path / "plain.parquet", None))


# A JSON ``synthetic`` key as a tool or a hand edit may write it (1 for true), and a tag's
# text: yes, or no. The text of a number says what the number says ("1.0" was a no, 1.0 a
# yes), written as JSON writes numbers, exactly (not rounded to the nearest float); other
# texts are strict.
YES = [True, 1, 1.0, "true", "TRUE", " True ", "1", "yes", "YES", "Yes",
       "1.0", " 1.00 ", "1e0", "1E+0", "10e-1", "0.1e1", "1.00000000000000000000"]  # fmt: skip
NO = [False, 0, 0.0, 2, -1, 0.5, None, "false", "0", "no", "", "y", "on", "2", [1], {"a": 1},
      "0.0", "1.5", "-1", "-1.0", "1e1", "nan", "inf", "+1", "01", "1.", "1_0", "0_1", "١",
      "1 0", "1.0000000000000001", "0.99999999999999999", "1e-400",
      "1e1000000000000000000", "1e-99999999999999999999", "0e99999999999999999999"]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "says"),
    [
        pytest.param(v, says, id=repr(v))
        for values, says in ((YES, True), (NO, False))
        for v in values
    ],
)
def test_truthy_reads_json_true_1_and_yes_texts(value, says):
    assert truthy(value) is says


def test_a_parquet_key_of_1_says_synthetic(tmp_path):
    """``{"synthetic": 1}``: the JSON number 1 is a yes, as ``true`` is."""
    assert zones_are_synthetic(_dataset(tmp_path / "one.parquet", 1))
    assert not zones_are_synthetic(_dataset(tmp_path / "zero.parquet", 0))


def test_an_unreadable_mark_is_no_mark(tmp_path):
    # The command read its inputs already: a mark it cannot read never fails it afterwards.
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not parquet")
    (tmp_path / "broken.gpkg").write_bytes(b"not a geopackage")
    (tmp_path / "w.tif").write_text("not a raster")
    assert not zones_are_synthetic(tmp_path / "broken.parquet")
    assert not zones_are_synthetic(tmp_path / "broken.gpkg")
    assert not raster_is_synthetic(tmp_path / "w.tif")


def test_a_geopackage_layer_says_it_by_its_description(tmp_path):
    from pipelines.outputs.geopackage import SYNTHETIC_MARK

    zones = gpd.GeoDataFrame({"zid": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=2154)
    zones.to_file(tmp_path / "z.gpkg", layer="real")
    zones.to_file(tmp_path / "z.gpkg", layer="demo",
                  layer_options={"DESCRIPTION": SYNTHETIC_MARK + "IRIS"})  # fmt: skip
    assert zones_are_synthetic(tmp_path / "z.gpkg", "demo")
    assert not zones_are_synthetic(tmp_path / "z.gpkg", "real")


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("zid,mean,synthetic\na,1.5,True\nb,2.5,True\n", True),  # as with_synthetic_mark
        ("zid,mean,synthetic\na,1.5,true\nb,2.5,true\n", True),
        ("zid,mean,synthetic\na,1.5,TRUE\nb,2.5, true\n", True),
        ("zid,synthetic,mean\na,True,1.5\nb,True,2.5\n", True),  # moved by a join
        ("zid,mean,synthetic\na,1.5,1\nb,2.5,1\n", False),  # 1s: a count, never written
        ("zid,mean,synthetic\na,1.5,True\nb,2.5,yes\n", False),  # never written
        ("zid,mean,synthetic\na,1.5,True\nb,2.5,False\n", False),  # a false value: data
        ("zid,mean,synthetic\na,1.5,True\nb,2.5,\n", False),  # a missing value
        ("zid,mean,synthetic\na,1.5,1\nb,2.5,2\n", False),  # a count, not a mark
        ("zid,mean,Synthetic\na,1.5,True\nb,2.5,True\n", False),  # not its exact name
        ("zid,mean\na,1.5\nb,2.5\n", False),
    ],
)
def test_a_csv_says_it_by_a_synthetic_column_of_true_values(text, marked):
    """Issue #5: the mark ilots writes in a CSV, read from the table pandas reads of it."""
    table = pd.read_csv(io.StringIO(text))
    rest, said = split_synthetic_column(table)
    assert said is marked
    expected = ["zid", "mean"] if marked else list(table.columns)
    assert list(rest.columns) == expected
    assert rest["zid"].tolist() == ["a", "b"] and rest["mean"].tolist() == [1.5, 2.5]


def test_a_csv_of_no_row_has_no_mark():
    """A header alone says nothing: its synthetic column stays (the error lists it)."""
    table = pd.read_csv(io.StringIO("zid,mean,synthetic\n"))
    rest, said = split_synthetic_column(table)
    assert not said and list(rest.columns) == ["zid", "mean", "synthetic"]
