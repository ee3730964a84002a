"""The scenarios' errors: a scenario that cannot be applied, a model too weak to trust."""

from __future__ import annotations

from tiles.errors import IlotsError

__all__ = ["ModelSkillError", "ScenarioError"]


class ScenarioError(IlotsError):
    """A scenario cannot be applied to the run: its area matches nothing, a raster is missing."""


class ModelSkillError(ScenarioError):
    """The scenario model's cross-validated skill is below the threshold (and not forced)."""
