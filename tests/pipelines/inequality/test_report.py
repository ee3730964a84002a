from __future__ import annotations

import io
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from pipelines.inequality import (
    bootstrap,
    concentration_index,
    correlation,
    group_difference,
    morans_i,
    run_inequality,
)
from pipelines.inequality.results import CSV_COLUMNS
from tiles.errors import IlotsError, InequalityError

from ._vectors import C_CELSIUS, C_KELVIN, C_WEIGHTED, GC, INCOME, LST_C, POPULATION


def city(n_side=8, seed=0):
    """A synthetic city: poorer west is hotter, QPV in the poorest fifth, four communes."""
    rng = np.random.default_rng(seed)
    n = n_side * n_side
    col = np.arange(n) % n_side
    income = 12000 + 2500 * col + rng.normal(0, 1500, n)
    lst = 312 - 0.0002 * income + rng.normal(0, 0.4, n)
    frame = gpd.GeoDataFrame(
        {
            "iris": [f"I{i:03d}" for i in range(n)],
            "lst_mean_k": lst,
            "DISP_MED21": income.astype(object),
            "population": rng.integers(300, 4000, n),
            "qpv": income < np.quantile(income, 0.2),
            "commune": np.arange(n) // (n // 4),
        },
        geometry=[box(i % n_side, i // n_side, i % n_side + 1, i // n_side + 1) for i in range(n)],
        crs="EPSG:2154",
    )
    frame.loc[3, "DISP_MED21"] = "s"  # Filosofi secret marker
    frame.loc[7, "lst_mean_k"] = np.nan
    return frame


def test_toy_table_reproduces_the_sheet():
    table = pd.DataFrame({"lst": LST_C, "income": INCOME, "pop": POPULATION})
    unweighted = run_inequality(table, outcome="lst", income="income", bootstrap=0)
    assert unweighted.concentration_index.value == pytest.approx(C_CELSIUS, abs=1e-9)
    assert unweighted.generalized_concentration_index.value == pytest.approx(GC, abs=1e-9)
    weighted = run_inequality(table, outcome="lst", income="income", population="pop", bootstrap=0)
    assert weighted.concentration_index.value == pytest.approx(C_WEIGHTED, abs=1e-9)
    assert weighted.deciles.by == "population"
    assert unweighted.deciles.by == "zones"


def test_temperature_outcomes_have_no_standard_c():
    # LST in K (science.md §9 C-3): GC = −1.36 in °C and in K; C differs with the origin
    # (−0.0393 in °C, −0.0044 in K), so it is not published for a temperature.
    table = pd.DataFrame({"lst_mean_k": LST_C + 273.15, "income": INCOME})
    report = run_inequality(table, outcome="lst_mean_k", income="income", bootstrap=0)
    standard = report.concentration_index
    assert math.isnan(standard.value) and math.isnan(standard.se)
    assert math.isnan(standard.ci_low) and math.isnan(standard.ci_high)
    assert any("generalized_concentration_index" in note for note in standard.notes)
    assert report.generalized_concentration_index.value == pytest.approx(GC, abs=1e-9)
    payload = json.loads(report.to_json())
    assert payload["concentration_index"]["value"] is None
    assert payload["concentration_index"]["kind"] == "standard"  # the key stays for readers
    row = pd.read_csv(io.StringIO(report.to_csv())).set_index("metric").loc["concentration_index"]
    assert math.isnan(row["value"]) and "generalized_concentration_index" in row["notes"]


def test_delta_t_shifted_by_its_reference_keeps_every_published_index():
    # A different rural reference adds a constant to every ΔT: GC is invariant to it (analytic),
    # the standard C was not (the audit: −0.29 → −0.21 for +1.3 K), so none is published.
    delta_t = LST_C - 34.0
    for shift in (0.0, 1.3):
        table = pd.DataFrame({"lst_anomaly_mean_k": delta_t + shift, "income": INCOME})
        report = run_inequality(table, outcome="lst_anomaly_mean_k", income="income", bootstrap=0)
        assert math.isnan(report.concentration_index.value)
        assert report.generalized_concentration_index.value == pytest.approx(GC, abs=1e-9)


def test_interval_scale_can_be_set_either_way():
    kelvin = pd.DataFrame({"lst_mean_k": LST_C + 273.15, "income": INCOME})
    forced = run_inequality(
        kelvin, outcome="lst_mean_k", income="income", interval_scale=False, bootstrap=0
    )
    assert forced.concentration_index.value == pytest.approx(C_KELVIN, abs=1e-9)  # C-3
    celsius = pd.DataFrame({"lst": LST_C, "income": INCOME})
    plain = run_inequality(celsius, outcome="lst", income="income", bootstrap=0)
    assert plain.concentration_index.value == pytest.approx(C_CELSIUS, abs=1e-9)  # C-2
    said = run_inequality(celsius, outcome="lst", income="income", interval_scale=True)
    assert math.isnan(said.concentration_index.value)


def test_a_zero_mean_leaves_out_the_standard_c_alone():
    # Ten zones in income order, h = 4.5, 3.5, ..., −4.5: mean exactly 0, so C = 2·cov/μ is
    # undefined. By hand: ranks (i + 0.5)/10, GC = 2·Σh_i·r_i/10 = 2·(−82.5/100) = −1.65;
    # one zone per decile: D1 − D10 = 4.5 − (−4.5) = 9; the first three zones form the group:
    # 3.5 − (−1.5) = 5, and of the C(10, 3) = 120 labellings only it and the last three
    # reach |Δ| ≥ 5: p = 2/120.
    table = pd.DataFrame(
        {
            "score": 4.5 - np.arange(10.0),
            "income": 10000.0 + 1000 * np.arange(10),
            "group": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        }
    )
    report = run_inequality(table, outcome="score", income="income", group="group", bootstrap=0)
    assert math.isnan(report.concentration_index.value)
    assert any("mean is zero" in note for note in report.concentration_index.notes)
    assert report.generalized_concentration_index.value == pytest.approx(-1.65, abs=1e-12)
    assert report.deciles.gap.value == pytest.approx(9.0, abs=1e-12)
    assert report.group_difference.value == pytest.approx(5.0, abs=1e-12)
    assert report.group_difference.p_value == pytest.approx(2 / 120, abs=1e-12)
    json.loads(report.to_json())  # strict JSON: the NaN index is written as null


def test_fewer_than_100_zones_say_the_bootstrap_intervals_are_somewhat_narrow():
    def report(n, bootstrap):
        income = np.linspace(12000, 40000, n)
        table = pd.DataFrame({"dt": np.sin(np.arange(n)) - income / 10000, "income": income})
        return run_inequality(table, outcome="dt", income="income", bootstrap=bootstrap)

    note = "99 zones used, fewer than about 100: the bootstrap intervals of the concentration"
    assert any(n.startswith(note) and "~92 %" in n for n in report(99, 20).notes)
    assert not any("fewer than about 100" in n for n in report(100, 20).notes)
    assert not any("fewer than about 100" in n for n in report(99, 0).notes)  # normal intervals


def test_full_report_json():
    frame = city()
    report = run_inequality(
        frame,
        outcome="lst_mean_k",
        income="DISP_MED21",
        population="population",
        group="qpv",
        stratum="commune",
        geometry="geometry",
        bootstrap=200,
        permutations=999,
        seed=0,
    )
    payload = json.loads(report.to_json())  # strict JSON: no NaN literal
    for key in ("concentration_index", "generalized_concentration_index"):
        assert {"value", "se", "ci_low", "ci_high", "n"} <= payload[key].keys()
        assert payload[key]["n"] == 62
    gc = payload["generalized_concentration_index"]
    assert gc["ci_low"] < gc["value"] < gc["ci_high"]
    assert payload["concentration_index"]["value"] is None  # a temperature: GC only
    assert payload["n_rows"] == 64 and payload["n_used"] == 62
    assert any("2 of 64 rows dropped" in note for note in payload["notes"])
    assert any("'s'" in note and "non-numeric" in note for note in payload["notes"])
    assert len(payload["exposure_by_decile"]["deciles"]) == 10
    assert payload["exposure_by_decile"]["gap_d1_d10"]["value"] > 0
    assert payload["group_difference"]["p_value"] is not None
    assert payload["group_difference"]["n_strata"] == 4
    assert set(payload["correlations"]) == {"pearson", "spearman"}
    assert payload["morans_i"]["value"] > 0
    assert payload["residual_morans_i"] is not None
    assert payload["erreygers_index"] is None


def test_report_values_equal_the_functions():
    frame = city()
    report = run_inequality(
        frame,
        outcome="lst_mean_k",
        income="DISP_MED21",
        population="population",
        group="qpv",
        geometry="geometry",
        bootstrap=0,
        permutations=999,
    )
    keep = frame["lst_mean_k"].notna() & (frame["DISP_MED21"] != "s")
    kept = frame[keep]
    h, y = kept["lst_mean_k"].to_numpy(), kept["DISP_MED21"].astype(float).to_numpy()
    w = kept["population"].to_numpy(float)
    gc = concentration_index(h, y, weights=w, kind="generalized")
    assert report.generalized_concentration_index.value == pytest.approx(gc.value, abs=1e-12)
    assert report.generalized_concentration_index.se == pytest.approx(gc.se, abs=1e-12)
    assert report.correlations[0].value == pytest.approx(correlation(h, y).value, abs=1e-12)
    delta = group_difference(h, kept["qpv"].to_numpy(), weights=w, permutations=0)
    assert report.group_difference.value == pytest.approx(delta.value, abs=1e-12)
    assert report.morans_i.value == pytest.approx(
        morans_i(h, kept.geometry, permutations=0).value, abs=1e-12
    )


def test_spatial_caveat_reaches_the_intervals():
    frame = city()
    report = run_inequality(
        frame, outcome="lst_mean_k", income="DISP_MED21", geometry="geometry", bootstrap=0
    )
    assert report.morans_i.p_value < 0.05
    caveat = "confidence intervals that assume independent zones are optimistic"
    assert any(caveat in note for note in report.generalized_concentration_index.notes)
    assert any(caveat in note for note in report.deciles.gap.notes)
    assert all(any(caveat in note for note in r.notes) for r in report.correlations)
    without = run_inequality(frame, outcome="lst_mean_k", income="DISP_MED21", bootstrap=0)
    assert without.morans_i is None
    assert any("no geometry" in note for note in without.notes)


def test_same_seed_same_report():
    frame = city()
    kwargs = {"outcome": "lst_mean_k", "income": "DISP_MED21", "population": "population"}
    first = run_inequality(frame, group="qpv", bootstrap=100, permutations=99, seed=5, **kwargs)
    again = run_inequality(frame, group="qpv", bootstrap=100, permutations=99, seed=5, **kwargs)
    assert first.to_json() == again.to_json()


def test_csv_is_flat():
    frame = city()
    report = run_inequality(
        frame,
        outcome="lst_mean_k",
        income="DISP_MED21",
        group="qpv",
        geometry="geometry",
        bootstrap=50,
        permutations=99,
    )
    table = pd.read_csv(io.StringIO(report.to_csv()))
    assert list(table.columns) == list(CSV_COLUMNS)
    metrics = table["metric"].tolist()
    assert metrics[:2] == ["concentration_index", "generalized_concentration_index"]
    for name in (
        "exposure_D1",
        "exposure_D10",
        "exposure_gap_d1_d10",
        "group_difference",
        "correlation_pearson",
        "correlation_spearman",
        "morans_i",
        "residual_morans_i",
    ):
        assert name in metrics
    assert table.loc[table.metric == "group_difference", "p_value"].notna().all()


def test_csv_says_each_interval_level_and_how_it_was_made():
    # The JSON carries `confidence` and the indices' `ci_method`; the CSV must too, or its
    # reader takes GC's bootstrap interval for the delta method of its SE.
    report = run_inequality(
        city(), outcome="lst_mean_k", income="DISP_MED21", group="qpv", bootstrap=50,
        permutations=99, confidence=0.9,
    )  # fmt: skip
    table = pd.read_csv(io.StringIO(report.to_csv())).set_index("metric")
    gc = table.loc["generalized_concentration_index"]
    assert gc["method"].endswith("; interval: bootstrap percentile over zones (B=50)")
    for metric in ("generalized_concentration_index", "exposure_gap_d1_d10", "group_difference",
                   "correlation_pearson"):  # fmt: skip
        assert table.loc[metric, "confidence"] == 0.9, metric
    # No interval, no level: the per-decile exposures, and C (not computed for a temperature).
    assert table.loc["exposure_D1", "confidence"] != table.loc["exposure_D1", "confidence"]
    assert np.isnan(table.loc["concentration_index", "confidence"])
    assert "interval" not in table.loc["concentration_index", "method"]


def test_csv_says_an_unbounded_interval_as_the_json_does():
    # One zone of five in the group: 5 relabelings, too few to bound a 95 % interval on
    # either side. The JSON writes null bounds and ci_unbounded "both"; the CSV -inf and inf,
    # with the level, where it left the level empty (an interval as missing as none).
    table = pd.DataFrame(
        {"lst": [30.0, 31.0, 29.5, 30.5, 34.0], "inc": INCOME, "qpv": [0] * 4 + [1]}
    )
    report = run_inequality(table, outcome="lst", income="inc", group="qpv", bootstrap=0)
    assert report.to_dict()["group_difference"]["ci_unbounded"] == "both"
    text = report.to_csv()
    assert "\ngroup_difference,3.75,,-inf,inf,0.95,0.2,5," in text
    row = pd.read_csv(io.StringIO(text)).set_index("metric").loc["group_difference"]
    assert (row["ci_low"], row["ci_high"], row["confidence"]) == (-np.inf, np.inf, 0.95)


def test_erreygers_with_bounds():
    table = pd.DataFrame({"green": [0.1, 0.15, 0.3, 0.35, 0.5], "income": INCOME})
    report = run_inequality(table, outcome="green", income="income", bounds=(0, 1), bootstrap=0)
    assert report.erreygers_index is not None
    assert report.to_dict()["erreygers_index"]["bounds"] == [0.0, 1.0]


def test_the_intervals_of_an_outcome_come_from_the_same_resamples(monkeypatch):
    # E = 8·cov/(b − a) and GC = 2·cov: on the same resamples, E's interval is 4·GC's (b − a = 1).
    draws = []
    drawn = bootstrap.resample_counts
    monkeypatch.setattr(bootstrap, "resample_counts", lambda *a: draws.append(a) or drawn(*a))
    frame = city()
    frame["green"] = np.clip(0.2 + frame["DISP_MED21"].where(frame["DISP_MED21"] != "s")
                             .astype(float) / 1e5, 0, 1)  # fmt: skip
    report = run_inequality(
        frame, outcome="green", income="DISP_MED21", population="population", bounds=(0, 1),
        bootstrap=300, seed=3,
    )  # fmt: skip
    gc, e = report.generalized_concentration_index, report.erreygers_index
    assert (e.ci_low, e.ci_high) == pytest.approx((4 * gc.ci_low, 4 * gc.ci_high), rel=1e-12)
    assert np.isfinite(report.concentration_index.ci_low)
    assert np.isfinite(report.deciles.gap.ci_low)
    assert len(draws) == 1  # one draw for C, GC, E and the D1 - D10 gap


def test_decimal_comma_strings_are_read():
    table = pd.DataFrame({"lst": LST_C, "income": ["12000", "15000,0", "18000", "22000", "30000"]})
    report = run_inequality(table, outcome="lst", income="income", bootstrap=0)
    assert report.n_used == 5
    assert any("decimal comma" in note for note in report.notes)


def test_thousands_separators_are_never_read_as_decimal_commas():
    # An English export: 19,300 is 19 300 €; read as 19.3 the income ranks would hold but
    # every level would be 1000 times too small.
    income = ["19,300", "17,530", "21,100", "25,400", "30,050"]
    table = pd.DataFrame({"lst": LST_C, "DISP_MED21": income})
    with pytest.raises(InequalityError) as err:
        run_inequality(table, outcome="lst", income="DISP_MED21", bootstrap=0)
    assert "DISP_MED21 (e.g. '19,300')" in str(err.value) and "re-export" in str(err.value)
    # Beside decimal points in another text column, the commas are thousands separators.
    table["lst"] = [f"{v:.2f}" for v in LST_C]
    with pytest.raises(InequalityError, match=r"thousands separators beside the decimal points"):
        run_inequality(table, outcome="lst", income="DISP_MED21", bootstrap=0)
    # Beside a plain decimal comma, they are decimal commas (and the levels implausible).
    table["lst"] = [f"{v:.1f}".replace(".", ",") for v in LST_C]
    report = run_inequality(table, outcome="lst", income="DISP_MED21", bootstrap=0)
    assert report.n_used == 5
    assert any("'DISP_MED21' has a median of 21.1," in note for note in report.notes)


def test_an_outcome_to_three_decimals_keeps_its_decimal_comma():
    """A temperature in °C to 3 decimals (``31,071``) beside integer incomes: its commas are
    decimal commas (an outcome does not run in the thousands), as before the check."""
    lst = [f"{v:.3f}".replace(".", ",") for v in LST_C]
    assert all(len(cell.split(",")[1]) == 3 for cell in lst)
    table = pd.DataFrame({"lst": lst, "DISP_MED21": ["19300", "17530", "21100", "25400", "30050"]})
    report = run_inequality(table, outcome="lst", income="DISP_MED21", bootstrap=0)
    assert report.n_used == 5
    assert any("read with a decimal comma" in note for note in report.notes)


def test_income_levels_out_of_range_get_a_note():
    table = pd.DataFrame({"lst": LST_C, "DISP_MED21": [19.3, 17.53, 21.1, 25.4, 30.05]})
    report = run_inequality(table, outcome="lst", income="DISP_MED21", bootstrap=0)
    (note,) = [n for n in report.notes if "€/year" in n]
    assert "'DISP_MED21' has a median of 21.1," in note and "thousands" in note
    table["DISP_MED21"] *= 1000  # euros: no note
    report = run_inequality(table, outcome="lst", income="DISP_MED21", bootstrap=0)
    assert not any("€/year" in n for n in report.notes)


def _arrondissements(codes):
    """Six zones: the two hottest in the group, both in the first arrondissement."""
    return pd.DataFrame({
        "lst": [10.0, 11.0, 0.0, 1.0, 2.0, 3.0],
        "income": [12e3, 13e3, 20e3, 21e3, 22e3, 23e3],
        "qpv": [True, True, False, False, False, False],
        "insee_com": codes,
    })  # fmt: skip


@pytest.mark.parametrize(
    "codes",
    [
        ["75101", "75101", "75102", "75102", "75120", "75120"],  # Paris, as IRIS give them
        [69381, 69381, 69382, 69383, 69389, 69389],  # Lyon, codes read as numbers
        ["13201", "13201", "13202", "13216", "13216", "13055"],  # Marseille, and the city
    ],
)
def test_arrondissements_are_stratified_as_their_city(codes):
    # One stratum of 6 zones, 2 in the group: C(6, 2) = 15 relabelings, and only the
    # observed one has |Δ| >= 10.5 - 1.5, so p = 1/15. By arrondissement the group's two
    # zones fill their stratum: one labelling, p = 1 (science.md §7.6 asks for the city).
    table = _arrondissements(codes)
    args = {"outcome": "lst", "income": "income", "group": "qpv", "bootstrap": 0}
    report = run_inequality(table, stratum="insee_com", **args)
    assert report.group_difference.p_two_sided == pytest.approx(1 / 15)
    assert report.group_difference.value == pytest.approx(9.0)
    assert any("are stratified by their city" in n for n in report.notes)
    assert table["insee_com"].tolist() == codes  # the caller's table untouched


def test_other_strata_keep_arrondissement_like_codes():
    # An urban unit code may read 13201: only commune code columns are cities.
    table = _arrondissements(["13201", "13201", "13202", "13202", "13216", "13216"])
    table = table.rename(columns={"insee_com": "uu2020"})
    args = {"outcome": "lst", "income": "income", "group": "qpv", "bootstrap": 0}
    report = run_inequality(table, stratum="uu2020", **args)
    assert report.group_difference.p_two_sided == 1.0
    assert not any("their city" in n for n in report.notes)


def test_a_group_without_zones_drops_only_the_group_comparison():
    """No zone in the group (no IRIS in a QPV): the group test is left out with a note, the
    other statistics are those of the run without a group (the whole report was lost)."""
    frame = city()
    frame["qpv"] = False
    args = {"outcome": "lst_mean_k", "income": "DISP_MED21", "population": "population",
            "bootstrap": 50, "seed": 1}  # fmt: skip
    report = run_inequality(frame, group="qpv", **args)
    assert report.group_difference is None
    assert any(n.startswith("group 'qpv': 0 of 62 zones used are in it") for n in report.notes)
    plain = run_inequality(frame, **args)
    assert report.generalized_concentration_index == plain.generalized_concentration_index
    assert report.deciles == plain.deciles
    # A zone that does not say (a blank cell) is on neither side: still no zone inside.
    frame["qpv"] = pd.Series([False] * (len(frame) - 1) + [np.nan], dtype=object)
    assert run_inequality(frame, group="qpv", **args).group_difference is None


def test_the_residents_of_dropped_zones_are_counted():
    """science.md §8.3: say how many IRIS and how many residents were dropped."""
    frame = city()  # row 3: income secret; row 7: no LST
    report = run_inequality(frame, outcome="lst_mean_k", income="DISP_MED21",
                            population="population", bootstrap=0)  # fmt: skip
    lost = int(frame.loc[[3, 7], "population"].sum())
    total = int(frame["population"].sum())
    expected = (
        f"2 of 64 rows dropped (1 missing lst_mean_k, 1 missing DISP_MED21); {lost} of "
        f"{total} residents in them"
    )
    assert expected in report.notes
    assert (report.population_total, report.population_used) == (total, total - lost)
    assert report.to_dict()["population_used"] == total - lost


def test_errors():
    table = pd.DataFrame({"lst": [np.nan] * 5, "income": INCOME, "pop": POPULATION})
    with pytest.raises(InequalityError, match="all missing"):
        run_inequality(table, outcome="lst", income="income")
    table["share"] = 0.0  # e.g. no bare soil anywhere
    with pytest.raises(InequalityError, match=r"outcome 'share' is constant \(0 in every zone"):
        run_inequality(table, outcome="share", income="income")
    with pytest.raises(InequalityError, match=r"'lst_k' not in the table; columns found: lst"):
        run_inequality(table, outcome="lst_k", income="income")
    with pytest.raises(IlotsError, match="at least 3"):
        run_inequality(
            pd.DataFrame({"lst": [30.0, 31.0, np.nan], "income": [1.0, 2.0, 3.0]}),
            outcome="lst",
            income="income",
        )


def test_text_columns_are_named_as_text():
    """A text column given as outcome, population or group is said to be one (it used to
    read "all missing", "only 0 zones", or to drop the group test in silence)."""
    frame = city()
    frame["name"] = [f"IRIS {i}" for i in range(len(frame))]
    args = {"outcome": "lst_mean_k", "income": "DISP_MED21", "bootstrap": 0}
    with pytest.raises(InequalityError, match=r"outcome column 'name' holds no number \(e\.g\. "
                       r"'IRIS 0', 'IRIS 1', 'IRIS 2'\); give a numeric column"):  # fmt: skip
        run_inequality(frame, **{**args, "outcome": "name"})
    with pytest.raises(InequalityError, match=r"population column 'name' holds no number"):
        run_inequality(frame, **args, population="name")
    frame["qpv_text"] = np.where(frame["qpv"], "oui", "non")
    with pytest.raises(InequalityError, match=r"group column 'qpv_text' must hold booleans or "
                       r"0/1 \(found 'oui', 'non'\)"):  # fmt: skip
        run_inequality(frame, **args, group="qpv_text")
    frame["qpv_int"] = frame["qpv"].astype(int).astype(object)  # 0/1, a blank: accepted
    frame.loc[5, "qpv_int"] = None
    reference = run_inequality(frame, **args, group="qpv_int").group_difference
    assert reference is not None
    frame["qpv_text01"] = frame["qpv_int"].map({0: "0", 1: "1"})  # text "0" is not in it
    assert run_inequality(frame, **args, group="qpv_text01").group_difference == reference
    frame["qpv_bool"] = frame["qpv"].astype(object)
    frame.loc[5, "qpv_bool"] = None
    assert run_inequality(frame, **args, group="qpv_bool").group_difference == reference


def test_number_columns_are_quoted_as_numbers_and_named():
    frame = city()
    args = {"outcome": "lst_mean_k", "income": "DISP_MED21", "bootstrap": 0}
    frame["share"] = np.linspace(0, 1, len(frame))  # a QPV share, not a membership
    with pytest.raises(InequalityError, match=r"group column 'share' must hold booleans or "
                       r"0/1 \(found 0\.0, 0\.01"):  # fmt: skip
        run_inequality(frame, **args, group="share")
    frame["residents"] = 100.0
    frame.loc[3, "residents"] = -5.0
    with pytest.raises(InequalityError, match=r"population column 'residents' has negative "
                       r"values \(-5\.0\); give the residents"):  # fmt: skip
        run_inequality(frame, **args, population="residents")
