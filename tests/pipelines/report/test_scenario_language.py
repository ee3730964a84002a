"""The scenario figures in the report: drawn in the language of ``ilots scenarios``' config.

The texts are read from the matplotlib figures ``ilots scenarios`` draws on a copy of the demo
run (the strings matplotlib is given, not only the function called); a report in another
language than those figures says so and how to redraw them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from matplotlib.text import Text

import pipelines
from pipelines.config import config_from_dict, load_config
from pipelines.config.models import OutputsConfig
from pipelines.report import build_report
from pipelines.scenarios import figures as scenario_figures
from pipelines.scenarios import run_scenarios
from tests.pipelines.report.helpers import NBSP, copy_run, parse_html

# What each figure must say, typed from the wording wanted (French typography by hand).
WORDS = {
    "fr": {
        "delta_lst.png": [f"green_qpv{NBSP}: ΔLST prédit",
                          "ΔLST, scénario − situation actuelle (K)"],
        "comparison.png": ["ΔLST (K)", "Écart QPV avant", "Écart QPV après, prédit",
                           "QPV − reste, anomalie ΔT des IRIS (K)", "Écart QPV avant et après"],
    },
    "en": {
        "delta_lst.png": ["green_qpv: predicted ΔLST", "ΔLST, scenario − baseline (K)"],
        "comparison.png": ["ΔLST (K)", "QPV gap before", "QPV gap after, predicted",
                           "QPV − rest, IRIS LST anomaly ΔT (K)", "QPV gap before and after"],
    },
}  # fmt: skip
FOOTERS = {
    "fr": ("QPV en noir, IRIS en gris. Les pixels convertis sont un tirage au hasard",
           f"Données synthétiques{NBSP}: aucun lieu réel"),
    "en": ("QPV outlined in black, IRIS in grey. The converted pixels are one random draw",
           "Synthetic data: not a real place"),
}  # fmt: skip
# Words of the other language that must not appear in a figure.
FOREIGN = {
    "fr": ("baseline", "gap", "outlined", "Synthetic"),
    "en": ("Écart", "scénario", "QPV en"),
}
NOTES = {
    "fr": "Les figures ci-dessous sont en anglais : ilots scenarios les dessine dans la langue "
    "de sa configuration, ici outputs.report_language : en (config.yaml du dossier). Pour "
    "les avoir en français, relancer ilots scenarios avec outputs.report_language : fr.",
    "en": "The figures below are in French: ilots scenarios draws them in the language of its "
    "config, here outputs.report_language: fr (the folder's config.yaml). To have them in "
    "English, rerun ilots scenarios with outputs.report_language: en.",
}


def _figure_texts(monkeypatch) -> dict[str, list[str]]:
    """The texts of each figure ``ilots scenarios`` writes, by file name, as it writes it."""
    said: dict[str, list[str]] = {}
    real = scenario_figures.save_png

    def spy(fig, path, **kwargs):
        said[Path(path).name] = [t.get_text().replace("\n", " ") for t in fig.findobj(Text)]
        return real(fig, path, **kwargs)

    monkeypatch.setattr(scenario_figures, "save_png", spy)
    return said


def _notes(path: Path) -> list[str]:
    section = parse_html(path.read_text(encoding="utf-8")).by_id("scenarios")
    return [p.text() for p in section.iter("p") if p.attrs.get("class") == "note"]


@pytest.mark.parametrize(("lang", "other"), [("fr", "en"), ("en", "fr")])
def test_scenario_figures_speak_the_scenarios_language_and_a_report_in_another_says_so(
    demo_run, tmp_path, monkeypatch, lang, other
):
    run = copy_run(demo_run, tmp_path / "run")  # the run, without its scenarios
    data = load_config(demo_run.parent / "config.yaml").model_dump(mode="json")
    data["outputs"] = {**data["outputs"], "folder": str(run), "report_language": lang}
    data["scenario_model"] = {**data["scenario_model"], "sample": 3000, "replicates": 2}
    data["scenarios"] = data["scenarios"][:1]  # green_qpv: a random share of built pixels
    said = _figure_texts(monkeypatch)
    run_scenarios(config_from_dict(data, source="test.yaml"))
    assert set(said) == {"delta_lst.png", "comparison.png"}
    for name, words in WORDS[lang].items():
        for word in words:
            assert word in said[name], (name, word, said[name])
        assert not [t for t in said[name] for w in FOREIGN[lang] if w in t], said[name]
    footer = " ".join(said["delta_lst.png"])
    assert all(part in footer for part in FOOTERS[lang]), footer
    # The report ilots scenarios wrote is in its language, with its figures: nothing to say.
    said_so = ("Les figures ci-dessous", "The figures below")
    notes = _notes(run / "report.html")
    assert notes and not [note for note in notes if note.startswith(said_so)]
    # The report in the other language shows the same figures and says what they are in.
    notes = _notes(build_report(run, lang=other))
    assert [note for note in notes if note.startswith(said_so)] == [" ".join(NOTES[other].split())]


def test_without_a_config_file_the_figures_language_is_not_guessed(demo_run, tmp_path):
    """A folder without config.yaml (copied without it): nothing says what the figures are in,
    so the report says nothing of it."""
    run = copy_run(demo_run, tmp_path / "run", scenarios=True)
    assert "The figures below are in French" in " ".join(_notes(build_report(run, lang="en")))
    (run / "config.yaml").unlink()
    notes = _notes(build_report(run, lang="en"))
    assert notes and not [note for note in notes if note.startswith("The figures below")]


#: English words that a French title or scenario description would not hold.
_ENGLISH = {"the", "of", "on", "every", "into", "and", "city", "roofs", "summer", "summers",
            "turn", "trees", "built", "synthetic"}  # fmt: skip


@pytest.mark.parametrize("name", ["demo", "toulouse", "toulouse_stac"])
def test_the_shipped_configs_titles_and_scenarios_are_in_their_report_language(name):
    """The run title and the scenario descriptions are shown as written in the report: in
    the config's report language (French, the default, for every shipped config)."""
    path = Path(pipelines.__file__).parent / "configs" / f"{name}.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    default = OutputsConfig.model_fields["report_language"].default
    assert (config.get("outputs") or {}).get("report_language", default) == "fr"
    texts = [config["name"]] + [s["description"] for s in config.get("scenarios") or ()]
    for text in texts:
        assert not _ENGLISH & set(re.findall(r"[a-z]+", text.lower())), text


def test_the_demo_scenarios_are_described_in_french():
    path = Path(pipelines.__file__).parent / "configs" / "demo.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert config["name"] == "ville de démonstration d'ilots (synthétique)"
    assert [s["description"] for s in config["scenarios"]] == [
        "Parcs et arbres sur 30 % des pixels bâtis des trois QPV",
        "Toits frais sur tous les pixels bâtis de la ville (albédo +0,15)",
    ]
