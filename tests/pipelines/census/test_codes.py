"""Code normalisation and field lookup: properties and hand-written cases."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.census.codes import COMMUNE, IRIS, QPV, normalise_codes
from pipelines.census.fields import IRIS_CODE, find_column
from tiles import ZonesError
from tiles.errors import IlotsWarning

departments = st.sampled_from(["01", "09", "13", "2A", "2B", "75", "95", "97"])
iris_codes = st.builds(
    lambda d, c, n: f"{d}{c:03d}{n:04d}",
    departments,
    st.integers(0, 999),
    st.integers(0, 9999),
)


@given(st.lists(iris_codes, min_size=1, max_size=20))
def test_numbers_give_back_the_text_codes(codes):
    # what a spreadsheet does to them: digits-only codes become integers, 2A/2B stay text
    stored = [int(c) if c.isdigit() else c for c in codes]
    result = normalise_codes(pd.Series(stored, dtype=object), IRIS)
    assert result.codes.tolist() == codes
    assert not result.invalid.any()
    assert result.numeric == sum(c.isdigit() for c in codes)
    assert result.padded == sum(c.isdigit() and c.startswith("0") for c in codes)


@given(st.lists(iris_codes, min_size=1, max_size=20))
def test_text_codes_unchanged(codes):
    result = normalise_codes(pd.Series(codes), IRIS)
    assert result.codes.tolist() == codes
    assert result.numeric == result.padded == 0


@pytest.mark.parametrize(
    ("value", "fmt", "code", "valid"),
    [
        (10020101, IRIS, "010020101", True),
        (10020101.0, IRIS, "010020101", True),
        ("10020101.0", IRIS, "010020101", True),
        (" 2a0040101 ", IRIS, "2A0040101", True),
        ("000010101", IRIS, "000010101", False),  # no department 00
        ("75101010", IRIS, "075101010", True),  # 8 digits: a zero is assumed lost
        ("7510101011", IRIS, "7510101011", False),
        (1004, COMMUNE, "01004", True),
        ("2B033", COMMUNE, "2B033", True),
        ("qp093028", QPV, "QP093028", True),
        ("QN04901M", QPV, "QN04901M", True),
        ("93028", QPV, "93028", False),  # QPV codes are never padded
        (True, IRIS, "TRUE", False),
    ],
)
def test_single_codes(value, fmt, code, valid):
    result = normalise_codes(pd.Series([value], dtype=object), fmt)
    assert result.codes.tolist() == [code]
    assert result.invalid.tolist() == [not valid]


def test_missing_values_flagged():
    result = normalise_codes(pd.Series(["751010101", None, float("nan"), ""], dtype=object), IRIS)
    assert result.missing.tolist() == [False, True, True, True]
    assert not result.invalid.any()


def test_find_column_case_insensitive_in_preference_order():
    assert find_column(["iris", "Code_Iris"], IRIS_CODE, error=ZonesError, what="x") == "Code_Iris"
    assert find_column(["iris"], IRIS_CODE, error=ZonesError, what="x") == "iris"
    assert find_column(["x"], IRIS_CODE, error=ZonesError, what="x") is None
    assert (
        find_column(["CODE_IRIS"], IRIS_CODE, error=ZonesError, what="x", exclude=["CODE_IRIS"])
        is None
    )


def test_iris_of_communes_as_users_give_them():
    # A commune given as one text, a number (zero restored), Paris for its arrondissements.
    from pipelines.census.codes import iris_of_communes

    iris = pd.Series(["751010101", "751200101", "315550101", "010020101", None])
    assert iris_of_communes(iris, "75056").tolist() == [True, True, False, False, False]
    assert iris_of_communes(iris, [31555]).tolist() == [False, False, True, False, False]
    assert iris_of_communes(iris, 1002).tolist() == [False, False, False, True, False]
    assert iris_of_communes(iris, {"75101", "31555"}).tolist() == [True, False, True, False, False]


def test_a_census_table_without_the_communes_asked_says_so(tmp_path):
    from pipelines.census import read_filosofi

    table = tmp_path / "filosofi.csv"
    table.write_text("IRIS;DISP_MED21\n315550101;21000\n315550102;19000\n")
    with pytest.warns(IlotsWarning, match="no row of commune"):
        frame, _meta, warned = read_filosofi(table, communes=["31069"])
    assert frame.empty
    assert warned == [f"Filosofi table {table}: no row of commune(s) 31069: check the codes "
                      "(INSEE commune codes, 5 characters) and that the table covers them "
                      "(its year's IRIS)"]  # fmt: skip
