from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely import box

from pipelines.inequality import contiguity_weights, getis_ord_gi_star, morans_i, residual_morans_i
from pipelines.inequality.results import MoranResult
from pipelines.inequality.spatial import _cliff_ord_moments, spatial_note
from tiles.errors import InequalityError

from ._vectors import GI_STAR, LST_C, MORAN_BINARY, MORAN_EXPECTED, MORAN_ROW

LINE = [box(i, 0, i + 1, 1) for i in range(5)]  # five IRIS on a line


def test_m1_binary_and_row_standardised():
    binary = morans_i(LST_C, LINE, contiguity="rook", transform="binary", permutations=0)
    row = morans_i(LST_C, LINE, contiguity="rook", transform="row", permutations=0)
    assert binary.value == pytest.approx(MORAN_BINARY, abs=1e-9)
    assert row.value == pytest.approx(MORAN_ROW, abs=1e-9)
    assert binary.expected == pytest.approx(MORAN_EXPECTED, abs=1e-12)
    assert row.n == 5 and row.transform == "row"


def test_m1_from_a_weights_matrix():
    dense = np.diag(np.ones(4), 1) + np.diag(np.ones(4), -1)
    result = morans_i(LST_C, dense, transform="binary", permutations=0)
    assert result.value == pytest.approx(MORAN_BINARY, abs=1e-9)


def test_g1_gi_star():
    np.testing.assert_allclose(
        getis_ord_gi_star(LST_C, LINE, contiguity="rook"), GI_STAR, atol=5e-8
    )


def _grid_data(seed=0, side=7):
    rng = np.random.default_rng(seed)
    cells = [box(c, r, c + 1, r + 1) for r in range(side) for c in range(side)]
    trend = np.array([c + 0.5 * r for r in range(side) for c in range(side)], float)
    return gpd.GeoDataFrame(
        {"x": trend + rng.normal(0, 2, side * side), "z": rng.normal(size=side * side)},
        geometry=cells,
    )


@pytest.mark.parametrize(("transform", "code"), [("binary", "B"), ("row", "R")])
def test_against_esda(transform, code):
    esda = pytest.importorskip("esda", reason="esda is the independent oracle")
    libpysal = pytest.importorskip("libpysal", reason="libpysal builds esda's weights")
    frame = _grid_data()
    w = libpysal.weights.Queen.from_dataframe(frame, use_index=False)
    theirs = esda.Moran(frame["x"].to_numpy(), w, transformation=code, permutations=999)
    ours = morans_i(frame["x"], frame, transform=transform, permutations=999, seed=0)
    assert ours.value == pytest.approx(theirs.I, abs=1e-12)
    assert ours.expected == pytest.approx(theirs.EI, abs=1e-12)
    assert ours.z_norm == pytest.approx(theirs.z_norm, rel=1e-9)
    assert ours.p_norm == pytest.approx(theirs.p_norm, rel=1e-6, abs=1e-15)
    assert ours.p_value == pytest.approx(theirs.p_sim, abs=0.01)  # both ≈ 0.001 here


def test_gi_star_against_esda():
    esda = pytest.importorskip("esda", reason="esda is the independent oracle")
    libpysal = pytest.importorskip("libpysal", reason="libpysal builds esda's weights")
    frame = _grid_data(1)
    w = libpysal.weights.Queen.from_dataframe(frame, use_index=False)
    theirs = esda.G_Local(frame["x"].to_numpy(), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(getis_ord_gi_star(frame["x"], frame), theirs.Zs, rtol=1e-9)


def test_permutation_inference_is_seeded_and_flags_autocorrelation():
    frame = _grid_data()
    first = morans_i(frame["x"], frame, permutations=499, seed=3)
    again = morans_i(frame["x"], frame, permutations=499, seed=3)
    assert (first.p_value, first.z_sim) == (again.p_value, again.z_sim)
    assert first.p_value == pytest.approx(1 / 500)  # a strong trend: no permutation beats it
    note = spatial_note(first)
    assert note is not None and note.startswith("spatial autocorrelation (Moran's I = ")
    assert "optimistic" in note and note in first.notes
    noise = morans_i(frame["z"], frame, permutations=499, seed=3)
    assert noise.p_value > 0.05 and spatial_note(noise) is None
    # A checkerboard: significant negative autocorrelation makes independent-zone
    # intervals conservative, not optimistic: no caveat.
    board = frame.assign(x=np.where((np.arange(len(frame)) % 2) == 0, 1.0, -1.0))
    checker = morans_i(board["x"], board, contiguity="rook", permutations=499, seed=3)
    assert checker.value < 0 and checker.p_value < 0.05, (checker.value, checker.p_value)
    assert spatial_note(checker) is None


def test_the_residual_caveat_rests_on_the_normal_p_value():
    # Residuals are not exchangeable: for them the caveat reads p_norm (Cliff–Ord moments),
    # for plain values the permutation p.
    def moran(metric, p_value, p_norm):
        return MoranResult(metric=metric, value=0.2, p_value=p_value, p_norm=p_norm)

    assert spatial_note(moran("residual_morans_i", 0.001, 0.30)) is None
    note = spatial_note(moran("residual_morans_i", 0.30, 0.004))
    assert note is not None and "p_norm = 0.004" in note
    assert note.startswith("residual spatial autocorrelation")
    assert "p = 0.001" in spatial_note(moran("morans_i", 0.001, 0.30))
    assert spatial_note(moran("morans_i", 0.30, 0.004)) is None
    assert "p_norm = 0.004" in spatial_note(moran("morans_i", np.nan, 0.004))  # 0 permutations


def _dense_cliff_ord(w, x):
    """E[I] and Var[I] of OLS residuals from dense matrices (Cliff & Ord 1981).

    For e = Mε, ε ~ N(0, σ²I): E[(εᵀMWMε)²] = tr(MW)² + tr(MWMW) + tr(MWMWᵀ) and
    E[(εᵀMε)²] = (n − k)(n − k + 2); the ratio's moments are the ratio of moments.
    """
    n, k = x.shape
    m = np.eye(n) - x @ np.linalg.inv(x.T @ x) @ x.T
    mw = m @ w
    s0 = w.sum()
    expected = n / s0 * np.trace(mw) / (n - k)
    second = (n / s0) ** 2 * (np.trace(mw @ m @ w.T) + np.trace(mw @ mw) + np.trace(mw) ** 2)
    return expected, second / ((n - k) * (n - k + 2)) - expected**2


@pytest.mark.parametrize("transform", ["binary", "row"])
def test_residual_moments_match_dense_algebra(transform):
    frame = _grid_data(2)
    w = contiguity_weights(frame).transformed(transform)
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(49), rng.normal(size=(49, 2))])
    got = _cliff_ord_moments(w, x, float(w.sum()))
    np.testing.assert_allclose(got, _dense_cliff_ord(w.toarray(), x), rtol=1e-10)


def test_residual_moran():
    frame = _grid_data()
    income = np.arange(49.0) % 7  # explains the column trend, leaves the row trend
    result = residual_morans_i(frame["x"], income, frame, permutations=199, seed=0)
    assert result.metric == "residual_morans_i"
    assert result.expected != pytest.approx(-1 / 48)
    x = np.column_stack([np.ones(49), income])
    residuals = frame["x"].to_numpy() - x @ np.linalg.lstsq(x, frame["x"].to_numpy(), rcond=None)[0]
    plain = morans_i(residuals, frame, permutations=0)
    assert result.value == pytest.approx(plain.value, abs=1e-12)
    with pytest.raises(InequalityError, match="collinear"):
        residual_morans_i(frame["x"], np.ones(49), frame)


def test_missing_values_and_islands():
    values = np.r_[LST_C, np.nan]
    cells = [*LINE, box(10, 10, 11, 11)]
    result = morans_i(values, cells, permutations=0)
    assert result.n == 5
    assert any("1 of 6 zones dropped" in note for note in result.notes)
    islands = morans_i(np.r_[LST_C, 30.0], cells, permutations=0)
    assert islands.islands == 1


def test_bad_input():
    with pytest.raises(InequalityError, match="constant"):
        morans_i(np.ones(5), LINE)
    with pytest.raises(InequalityError, match="cover 5 zones"):
        morans_i(np.ones(4), LINE)
    with pytest.raises(InequalityError, match="no zone has a neighbour"):
        morans_i([1.0, 2.0, 3.0], [box(0, 0, 1, 1), box(5, 5, 6, 6), box(9, 9, 10, 10)])


def test_residual_moments_match_simulation():
    # Independent check of the Cliff–Ord moments: simulate Gaussian outcomes, regress, compute I.
    frame = _grid_data(3)
    w = contiguity_weights(frame).transformed("row").toarray()
    rng = np.random.default_rng(5)
    x = np.column_stack([np.ones(49), rng.normal(size=(49, 2))])
    m = np.eye(49) - x @ np.linalg.inv(x.T @ x) @ x.T
    residuals = rng.normal(size=(20000, 49)) @ m  # rows: M ε (M symmetric)
    simulated = (
        49
        / w.sum()
        * np.einsum("ij,jk,ik->i", residuals, w, residuals)
        / np.einsum("ij,ij->i", residuals, residuals)
    )
    expected, variance = _cliff_ord_moments(
        contiguity_weights(frame).transformed("row"), x, float(w.sum())
    )
    assert simulated.mean() == pytest.approx(expected, abs=4 * np.sqrt(variance / 20000))
    assert simulated.var() == pytest.approx(variance, rel=0.05)


def test_a_moran_no_permutation_can_change_is_not_significant():
    """4 zones, each the others' neighbour (row weights 1/3): every permutation gives the
    same I, -1/3 = E[I], so no permuted I is less extreme than the observed one and the
    pseudo p is 1. Folding as esda (lower tail = B minus the upper one) left the ties out and
    said p = 1/(B + 1) = 0.001."""
    complete = np.ones((4, 4)) - np.eye(4)
    result = morans_i([1.0, 2.0, 4.0, 8.0], complete, permutations=999, seed=1)
    assert result.value == pytest.approx(-1 / 3, abs=1e-12)
    assert result.p_value == 1.0
