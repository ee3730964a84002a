"""Planner scenarios in the run config: where to change what, and the model that predicts it.

Two top-level keys of a config (:class:`~pipelines.config.RunConfig`):

``scenarios``
    A list of :class:`ScenarioSpec`: a ``name`` (the folder ``scenarios/<name>/``), a
    ``description``, ``where`` the changes apply (:class:`WhereSpec`) and a list of ``change``
    (:class:`ChangeSpec`), applied in order.
``scenario_model``
    :class:`ScenarioModelConfig`: the target raster, the estimator, the spatially blocked
    cross-validation and the skill threshold below which scenarios are refused.

Example::

    scenarios:
      - name: green_qpv
        description: Reclassify 30 % of the QPV's built pixels into dense vegetation
        where: {layer: qpv}
        change:
          - reclassify: {from: built, to: dense_vegetation, fraction: 0.3}
      - name: cool_roofs
        where: {everywhere: true}
        change:
          - albedo: {add: 0.15, on: built}
    scenario_model: {target: lst_anomaly, block_m: 1000, folds: 5, r2_min: 0.5}

Like every config model, these forbid unknown keys (the error lists the valid ones) and are
frozen. Checks that need the rest of the config (a ``where`` layer that is not a zone layer
of the run) are done by :class:`~pipelines.config.RunConfig`; checks that need pixels (a
``where`` that matches nothing) by :mod:`pipelines.scenarios`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from pipelines.config._types import ConfigPath, key_error
from raster.landcover import CLASS_NAMES

__all__ = [
    "ALBEDO_CHANGE_RANGE",
    "ESTIMATORS",
    "SCENARIO_CLASSES",
    "AlbedoChange",
    "ChangeSpec",
    "NdviChange",
    "ReclassifyChange",
    "ScenarioModelConfig",
    "ScenarioSpec",
    "WhereSpec",
]

#: Land-cover class names a scenario may name (codes 1..5 of :class:`raster.landcover.LandCover`).
SCENARIO_CLASSES: tuple[str, ...] = tuple(name for code, name in CLASS_NAMES.items() if code)
#: Estimators of the scenario model (see :mod:`pipelines.scenarios.model`).
ESTIMATORS: tuple[str, ...] = ("gradient_boosting", "ridge")
#: Largest albedo change a scenario may add or remove (albedo is a fraction in [0, 1]).
ALBEDO_CHANGE_RANGE = 1.0

_SCENARIO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_Scalar = str | int | float | bool


class _Model(BaseModel):
    """Base of the scenario models: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Alternatives(_Model):
    """A model of alternatives: keys left at ``None`` are not written back to YAML."""

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: Any) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}


def _class_name(value: Any) -> str:
    """Check a land-cover class name; the error lists the valid ones."""
    if not isinstance(value, str) or value not in SCENARIO_CLASSES:
        raise ValueError(
            f"unknown land-cover class {value!r}; use one of {', '.join(SCENARIO_CLASSES)}"
        )
    return value


def _class_names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names:
        raise ValueError(f"must be a class name or a non-empty list of them (got {value!r})")
    return tuple(dict.fromkeys(_class_name(name) for name in names))


def _yaml_on_key(data: Any) -> Any:
    """Give back the key ``on``, which YAML 1.1 (PyYAML) reads as the boolean ``true``."""
    if isinstance(data, dict) and True in data and "on" not in data:
        return {("on" if key is True else key): value for key, value in data.items()}
    return data


def _given(model: BaseModel, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if getattr(model, name) is not None]


# ------------------------------------------------------------------------------------ where


class WhereSpec(_Alternatives):
    """Where a scenario applies: one of a zone layer, a land-cover class, a file, everywhere.

    Pixels are selected by their centre (a pixel belongs to a polygon when its centre is
    inside it), on the run's analysis grid.
    """

    layer: str | None = Field(
        None,
        description="A zone layer of the run (iris, qpv or a zones.extra name), every zone of "
        "it unless `ids` or `filter` pick some; with `file`, the layer inside that file. "
        "Default: none.",
    )
    ids: tuple[str, ...] | None = Field(
        None,
        description="With a zone `layer`: the ids of the zones (code_iris, code_qp or the "
        "extra layer's id), as text. Default: every zone.",
    )
    filter: dict[str, _Scalar | tuple[_Scalar, ...]] | None = Field(
        None,
        description="With `layer` or `file`: keep the zones whose column equals the value (or "
        "one of the listed values), e.g. {in_qpv: true} or {insee_com: ['31555']}. Default: "
        "every zone.",
    )
    landcover: tuple[str, ...] | None = Field(
        None,
        description="Land-cover class name(s) of the run, e.g. built. Default: none.",
    )
    file: ConfigPath | None = Field(
        None, description="Polygon file (any CRS) whose features' union is the area. Default: none."
    )
    everywhere: bool | None = Field(
        None, description="true: every pixel of the grid. Default: none."
    )

    @field_validator("ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("must be a non-empty list of zone ids, e.g. ['QP031901']")
        return tuple(str(v) for v in value)

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not value:
            raise ValueError("must name at least one column, e.g. {in_qpv: true}")
        for column, wanted in (value or {}).items():
            if isinstance(wanted, tuple) and not wanted:
                raise ValueError(f"column {column!r} lists no value")
        return value

    @field_validator("landcover", mode="before")
    @classmethod
    def _landcover(cls, value: Any) -> Any:
        return _class_names(value)

    @model_validator(mode="after")
    def _check(self) -> WhereSpec:
        kinds = _given(self, ("layer", "landcover", "file", "everywhere"))
        if self.file is not None:
            kinds = [k for k in kinds if k != "layer"]  # the layer inside the file
        if len(kinds) != 1:
            got = " and ".join(kinds) if kinds else "none"
            raise ValueError(
                "give exactly one of layer, landcover, file, everywhere "
                f"(got {got}), e.g. where: {{layer: qpv}}"
            )
        if self.everywhere is False:
            raise key_error("everywhere", "must be true (or leave it out and name a layer)")
        if self.ids is not None:
            if self.layer is None or self.file is not None:
                raise key_error("ids", "applies to a zone `layer` only")
            if self.filter is not None:
                raise key_error("ids", "give ids or filter, not both")
        if self.filter is not None and self.layer is None and self.file is None:
            raise key_error("filter", "applies to a zone `layer` or a `file` only")
        return self

    @property
    def kind(self) -> Literal["layer", "landcover", "file", "everywhere"]:
        """Which alternative is given."""
        if self.file is not None:
            return "file"
        if self.layer is not None:
            return "layer"
        return "landcover" if self.landcover is not None else "everywhere"

    def describe(self) -> str:
        """Describe the selection in YAML-like words, for messages."""
        if self.kind == "everywhere":
            return "{everywhere: true}"
        if self.kind == "landcover":
            return f"{{landcover: {list(self.landcover or ())}}}"
        head = f"file: {self.file}" if self.file is not None else f"layer: {self.layer}"
        if self.file is not None and self.layer is not None:
            head += f", layer: {self.layer}"
        if self.ids is not None:
            head += f", ids: {list(self.ids)}"
        if self.filter is not None:
            head += ", filter: {" + ", ".join(f"{k}: {v!r}" for k, v in self.filter.items()) + "}"
        return "{" + head + "}"


# ---------------------------------------------------------------------------------- changes


class _OnClasses(_Alternatives):
    """A change that may be restricted to land-cover classes with ``on``."""

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        return _yaml_on_key(data)

    @field_validator("on", mode="before", check_fields=False)
    @classmethod
    def _on(cls, value: Any) -> Any:
        return _class_names(value)


class NdviChange(_OnClasses):
    """Change the NDVI of the selected pixels (their land-cover class stays as it is)."""

    add: float | None = Field(
        None, ge=-2, le=2, description="Add this to the NDVI (clipped to [-1, 1]). Default: none."
    )
    set: float | None = Field(
        None, ge=-1, le=1, description="Set the NDVI to this value. Default: none."
    )
    cap: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="With `add`: the NDVI an addition may reach (pixels already above keep "
        "theirs); alone: lower every NDVI above it to it. Default: none.",
    )
    on: tuple[str, ...] | None = Field(
        None,
        description="Only pixels of these land-cover classes, e.g. built. Default: every pixel "
        "of `where`.",
    )

    @model_validator(mode="after")
    def _check(self) -> NdviChange:
        if self.add is None and self.set is None and self.cap is None:
            raise ValueError("give add, set or cap, e.g. ndvi: {add: 0.2, cap: 0.8}")
        if self.set is not None and (self.add is not None or self.cap is not None):
            raise key_error("set", "replaces the NDVI: give it alone, without add or cap")
        return self


class AlbedoChange(_OnClasses):
    """Change the broadband albedo of the selected pixels (cool roofs, pale pavements)."""

    add: float | None = Field(
        None,
        ge=-ALBEDO_CHANGE_RANGE,
        le=ALBEDO_CHANGE_RANGE,
        description="Add this to the albedo (clipped to [0, 1]), e.g. 0.15. Default: none.",
    )
    set: float | None = Field(
        None, ge=0, le=1, description="Set the albedo to this value. Default: none."
    )
    on: tuple[str, ...] | None = Field(
        None,
        description="Only pixels of these land-cover classes, e.g. built (roofs). Default: "
        "every pixel of `where`.",
    )

    @model_validator(mode="after")
    def _check(self) -> AlbedoChange:
        given = _given(self, ("add", "set"))
        if len(given) != 1:
            raise ValueError("give exactly one of add or set, e.g. albedo: {add: 0.15, on: built}")
        return self


class ReclassifyChange(_Model):
    """Turn a share of the pixels of one land-cover class into another class.

    ``fraction`` of the selected pixels of class ``from`` (rounded to whole pixels, chosen in
    a seeded random order over the whole ``where``: with several zones, each gets about that
    share) take class ``to`` and the median NDVI and albedo of that class in the run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    from_: str = Field(
        alias="from",
        description="Class to convert, e.g. built. Required. Water only under "
        "mask.lst_keep_water (otherwise water has no LST to start from: refused); the class's "
        "pixels without an NDVI (water under the default mask.indices_keep_water) are left as "
        "they are, which the scenario's warnings count.",
    )
    to: str = Field(
        description="Class it becomes, e.g. dense_vegetation. Required. Water only under "
        "mask.lst_keep_water; a class the model's fitting sample holds fewer than 40 pixels "
        "of is refused."
    )
    fraction: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of the class's pixels in `where` (taken together) that are "
        "converted, in [0, 1]. Default 1.",
    )

    @field_validator("from_", "to")
    @classmethod
    def _names(cls, value: Any) -> str:
        return _class_name(value)

    @field_validator("fraction", mode="before")
    @classmethod
    def _share(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 1:
            raise ValueError(f"is a share in [0, 1] (got {value:g}): 30 % is written 0.3")
        return value

    @model_validator(mode="after")
    def _check(self) -> ReclassifyChange:
        if self.from_ == self.to:
            raise key_error("to", f"is the same class as from ({self.to}); name another class")
        return self


class ChangeSpec(_Alternatives):
    """One change of a scenario: exactly one of ``ndvi``, ``reclassify``, ``albedo``."""

    ndvi: NdviChange | None = Field(None, description="NDVI add / set / cap. Default: none.")
    reclassify: ReclassifyChange | None = Field(
        None, description="Convert a share of a land-cover class. Default: none."
    )
    albedo: AlbedoChange | None = Field(None, description="Albedo add / set. Default: none.")

    @model_validator(mode="after")
    def _one(self) -> ChangeSpec:
        given = _given(self, ("ndvi", "reclassify", "albedo"))
        if len(given) != 1:
            got = " and ".join(given) if given else "none"
            raise ValueError(
                f"each change is exactly one of ndvi, reclassify, albedo (got {got}); list "
                "several changes as several items"
            )
        return self

    @property
    def kind(self) -> Literal["ndvi", "reclassify", "albedo"]:
        """Which change this is."""
        return _given(self, ("ndvi", "reclassify", "albedo"))[0]  # type: ignore[return-value]


# --------------------------------------------------------------------------------- scenario


class ScenarioSpec(_Model):
    """One planner scenario: changes applied to the pixels of an area, in order."""

    name: str = Field(
        description="Folder name of the scenario (letters, digits, '_', '-'), e.g. green_qpv. "
        "Required."
    )
    description: str = Field("", description="One sentence for the report. Default: empty.")
    where: WhereSpec = Field(description="Where the changes apply. Required.")
    change: tuple[ChangeSpec, ...] = Field(
        min_length=1,
        description="Changes applied in order: [{ndvi: ...}, {reclassify: ...}, "
        "{albedo: ...}]. Required.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _SCENARIO_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a usable folder name; use letters, digits, '_' and '-', "
                "starting with a letter or digit (e.g. green_qpv)"
            )
        return name


# ------------------------------------------------------------------------------------ model


class ScenarioModelConfig(_Model):
    """The model that predicts surface temperature from land cover, and its skill check."""

    target: Literal["lst_anomaly", "lst_median"] = Field(
        "lst_anomaly",
        description="Raster the model predicts: lst_anomaly (K relative to the rural "
        "reference) or lst_median (K). Default lst_anomaly.",
    )
    estimator: Literal["gradient_boosting", "ridge"] = Field(
        "gradient_boosting",
        description="gradient_boosting: scikit-learn HistGradientBoostingRegressor with "
        "monotonic constraints (cooler with more NDVI, albedo, vegetation and water); ridge: "
        "ridge regression on the standardised predictors, their squares and their pairwise "
        "products (a quadratic surface). Default gradient_boosting.",
    )
    fit_area: Literal["zones", "grid"] = Field(
        "zones",
        description="Pixels the model is fitted on: zones (centres inside a zone of the run's "
        "layers: the city the scenarios change) or grid (the whole grid, rural ring "
        "included). Default zones.",
    )
    window_px: int = Field(
        3,
        ge=1,
        le=31,
        description="Edge in pixels of the square neighbourhood of the land-cover shares (odd). "
        "Default 3.",
    )
    distance_cap_m: float = Field(
        1000.0,
        gt=0,
        description="Distances to water and to dense vegetation are capped at this many metres "
        "([U]). Default 1000.",
    )
    block_m: float = Field(
        1000.0,
        gt=0,
        description="Edge in metres of the square blocks of the spatial cross-validation. "
        "Default 1000.",
    )
    folds: int = Field(5, ge=2, le=50, description="Cross-validation folds. Default 5.")
    r2_min: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Scenarios are refused when the blocked cross-validated R² is below this. "
        "Default 0.5.",
    )
    force: bool = Field(
        False, description="Run the scenarios even below r2_min (recorded). Default false."
    )
    sample: int = Field(
        20000,
        ge=200,
        description="Pixels drawn (seeded) to fit and cross-validate the model. Default 20000.",
    )
    seed: int = Field(0, ge=0, description="Seed of the pixel draws and the model. Default 0.")
    replicates: int = Field(
        10,
        ge=1,
        le=100,
        description="Fits of the model and draws of the pixels, with seeds seed, seed + 1, "
        "...: the comparison gives each effect's median fit and its range over them (the "
        "model's own randomness, not its whole error). 1: the seed's fit alone. Default 10.",
    )

    @field_validator("window_px")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"must be odd, so the window is centred on its pixel (got {value})")
        return value
