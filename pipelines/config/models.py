"""The run configuration: frozen pydantic models, one per YAML section.

A config file is a YAML mapping whose top-level keys are the fields of :class:`RunConfig`.
Every model forbids unknown keys and is frozen; lists become tuples. Every field carries a
``description`` that states its default and unit (:func:`pipelines.config.config_reference`
lists them all). Paths are absolute after validation (:data:`~pipelines.config._types.ConfigPath`).
Values marked **[U]** in ``science.md`` are fields with the sheet's suggested default, never
hard-coded constants.

Minimal config (``ilots run`` needs an IRIS layer; the model alone does not)::

    aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}
    periods: {years: [2023]}
    inputs: {landsat: [products/landsat]}
    zones: {iris: {path: zones/CONTOURS-IRIS.gpkg}}
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from collections.abc import Hashable, Iterable
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from pipelines.census.codes import COMMUNE
from pipelines.census.filosofi import indicator_name
from pipelines.census.tables import EXCEL_SUFFIXES, column_named
from pipelines.config._types import ConfigHref, ConfigPath, is_url, key_error
from pipelines.config.scenarios import ScenarioModelConfig, ScenarioSpec
from pipelines.zone_columns import LANDCOVER_CLASSES
from raster.composite import parse_stat
from raster.landcover import CLASS_NAMES, EXTERNAL_MAPPINGS, LandcoverThresholds
from raster.quality import QA_PIXEL_PRESETS, SCL_PRESETS
from tiles.errors import IlotsWarning
from tiles.grid import LANDSAT_PIXEL_M, landsat_subdivision

__all__ = [
    "CONFIG_VERSION",
    "DEFAULT_MONTHS",
    "DEFAULT_SCHEDULER_PORT",
    "LANDCOVER_CLASSES",
    "MAP_PATTERNS",
    "AOIConfig",
    "CatalogSource",
    "CensusConfig",
    "CompositeConfig",
    "DateRange",
    "ExternalLandcover",
    "ExtraZoneLayer",
    "GridConfig",
    "HeatIslandConfig",
    "InequalityConfig",
    "InputSource",
    "InputsConfig",
    "LandcoverConfig",
    "LandcoverRules",
    "MaskConfig",
    "OutputsConfig",
    "PeriodsConfig",
    "QpvLayerConfig",
    "RunConfig",
    "SchedulerConfig",
    "SharpenConfig",
    "StacApiSource",
    "ZoneLayerConfig",
    "ZonesConfig",
    "is_run_raster",
    "landcover_map_year",
    "map_product",
    "scheduler_address",
]

#: Version of the config schema written by :func:`~pipelines.config.dump_config`.
CONFIG_VERSION = 1
#: Default compositing months: June to August (science.md §5).
DEFAULT_MONTHS: tuple[int, ...] = (6, 7, 8)
#: First year with Landsat 8 data (ilots reads Landsat 8/9 and Sentinel-2 only).
FIRST_YEAR = 2013

#: Largest radius of the cloud-mask dilation, in grid pixels.
_MAX_DILATE_PX = 50
#: The sections whose size is given in metres or, deprecated, in grid pixels: section →
#: (metres key, pixel key) (:class:`_SizeModel`).
SIZE_KEYS: dict[str, tuple[str, str]] = {
    "landcover": ("min_mapping_unit_m2", "min_mapping_unit_px"),
    "mask": ("dilate_m", "dilate_px"),
}

_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: A Filosofi indicator's name without its year (``DISP_MED``, ``dec_d1``): read lower-cased.
_FILOSOFI_NAME = re.compile(r"(disp|dec)_[a-z0-9_]+", re.IGNORECASE)
#: A Dask scheduler's address: a protocol, a host and a port (``inproc://`` has no port).
_ADDRESS = re.compile(
    r"(tcp|tls|ucx|ws|wss)://(\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+):\d{1,5}/?|inproc://\S+"
)
#: What an address that is not one may still name: ``[protocol://]host[:port][/]``.
_HOST_PORT = re.compile(r"(?:\w+://)?(\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+)(?::(\d+))?/?")
#: The port of a Dask scheduler unless told otherwise.
DEFAULT_SCHEDULER_PORT = 8786
#: Rasters a run writes (``outputs.rasters`` picks among them): the LST composites
#: ``lst_<statistic>`` of every ``composite.statistics`` (median and p90 always), and these.
_RASTER_SINGLES = (
    "lst_anomaly", "lst_anomaly_p90", "lst_zscore", "ndvi_median", "albedo_median", "landcover",
    "n_clear", "lst_median_sharpened",
)  # fmt: skip


class _Model(BaseModel):
    """Base of every config model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _OneOfModel(_Model):
    """A model holding alternatives: keys left at ``None`` are not written back to YAML."""

    @model_serializer(mode="wrap")
    def _drop_unset_alternatives(self, handler: Any) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}


def _one_of(model: BaseModel, names: tuple[str, ...], hint: str) -> str:
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) != 1:
        got = " and ".join(given) if given else "none"
        raise ValueError(f"give exactly one of {', '.join(names)} (got {got}); {hint}")
    return given[0]


class _SizeModel(_Model):
    """A section holding a size in metres (a length or an area) and its deprecated pixel form.

    ``_SIZE`` names the key in metres and the deprecated key in analysis-grid pixels. The
    metres key keeps its default unless the pixel key is given (it is then ``None``); the two
    are exclusive; the one left at ``None`` is not written back to YAML.
    :meth:`RunConfig._warn_pixel_keys` warns about the pixel key, as it needs
    ``grid.resolution`` to give the equivalent in metres.
    """

    _SIZE: ClassVar[tuple[str, str]]

    @model_validator(mode="before")
    @classmethod
    def _metres_unless_pixels(cls, data: Any) -> Any:
        metres, pixels = cls._SIZE
        if not isinstance(data, dict):
            return data
        if data.get(pixels) is not None:
            return {metres: None, **data}
        if data.get(metres) is None:  # missing, or an explicit null: the default
            return {**data, metres: cls.model_fields[metres].default}
        return data

    @model_validator(mode="after")
    def _one_size(self) -> _SizeModel:
        metres, pixels = self._SIZE
        if getattr(self, metres) is not None and getattr(self, pixels) is not None:
            raise key_error(
                pixels,
                f"give {metres} or {pixels}, not both; remove {pixels} (deprecated: it counts "
                "grid pixels, whose size grid.resolution sets)",
            )
        return self

    @model_serializer(mode="wrap")
    def _drop_unused_size(self, handler: Any) -> dict[str, Any]:
        unused = {key for key in self._SIZE if getattr(self, key) is None}
        return {key: value for key, value in handler(self).items() if key not in unused}

    def _pixels(self, pixel_size: float) -> int:
        """Return the size in pixels of ``pixel_size`` m (or m²), whole.

        The pixel key as given, else the metres rounded up (:func:`_whole_pixels`).
        """
        metres, pixels = self._SIZE
        size = getattr(self, metres)
        if size is None:  # validation leaves exactly one of the two keys set
            return int(getattr(self, pixels))
        return _whole_pixels(size / pixel_size)


def _whole_pixels(pixels: float) -> int:
    """Round a size in pixels up to whole pixels.

    A size within 1e-9 px of a whole number counts as it: float error must not add a pixel
    (four pixels of 33.3 m, 4435.56 m², are 4.000000000000001 pixels of 1108.89 m²).
    """
    return math.ceil(pixels - 1e-9)


def _unique(values: tuple[Any, ...], what: str) -> tuple[Any, ...]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is listed twice")
        seen.add(value)
    return values


# --------------------------------------------------------------------------- area of interest


class AOIConfig(_OneOfModel):
    """Area of interest: one of a bounding box, a polygon file, or zone features."""

    bbox: tuple[float, float, float, float] | None = Field(
        None,
        description="(west, south, east, north) in EPSG:4326 degrees. Default: none.",
    )
    file: ConfigPath | None = Field(
        None,
        description="Polygon file (GeoPackage, GeoJSON, shapefile ...) whose features' union is "
        "the area; must have a CRS. Default: none.",
    )
    layer: str | None = Field(
        None, description="Layer of `file` in a multi-layer file. Default: the first layer."
    )
    zones: str | None = Field(
        None,
        description="Zone layer whose features' union is the area: 'iris', 'qpv' or the name of "
        "a zones.extra layer. Default: none.",
    )
    communes: tuple[str, ...] | None = Field(
        None,
        description="With `zones`: keep only features whose commune code (insee_com) is listed, "
        "as quoted text ('31555'). The run's IRIS are then those communes' (and QPV those "
        "overlapping them): a national IRIS file can be given as is. Paris (75056), Marseille "
        "(13055) and Lyon (69123) also take their arrondissements' IRIS (75101-75120 ...). "
        "Default: every feature.",
    )
    buffer_m: float = Field(
        0.0, ge=0, description="Grow the area by this distance, in metres. Default 0."
    )

    @field_validator("communes", mode="before")
    @classmethod
    def _commune_codes(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("must be a non-empty list of commune codes, e.g. ['31555']")
        codes = []
        for code in value:
            if isinstance(code, bool) or not isinstance(code, str | int):
                raise ValueError(f"commune codes are text such as '31555' (got {code!r})")
            if isinstance(code, int) and code < 10000:
                raise ValueError(
                    f"commune code {code} lost its leading zero: quote commune codes in YAML "
                    "(e.g. '01004')"
                )
            text = str(code).strip().upper()
            if not COMMUNE.matches(text):
                raise ValueError(
                    f"{text!r} is not a commune code (5 characters, e.g. {COMMUNE.example})"
                )
            codes.append(text)
        return _unique(tuple(codes), "commune")

    @model_validator(mode="after")
    def _check(self) -> AOIConfig:
        kind = _one_of(self, ("bbox", "file", "zones"), "see the aoi section of the examples")
        if self.layer is not None and kind != "file":
            raise key_error("layer", "applies to `file` only; remove it")
        if self.communes is not None and kind != "zones":
            raise key_error("communes", "applies to `zones` only (e.g. zones: iris)")
        if self.bbox is not None:
            west, south, east, north = self.bbox
            if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90):
                raise key_error(
                    "bbox",
                    f"values outside longitude/latitude degrees {list(self.bbox)}; give the box "
                    "in EPSG:4326 (west, south, east, north), not in projected metres",
                )
            if not (west < east and south < north and north <= 90):
                raise key_error(
                    "bbox",
                    "must be (west, south, east, north) with west < east and south < north "
                    f"(got {list(self.bbox)})",
                )
        return self

    @property
    def kind(self) -> Literal["bbox", "file", "zones"]:
        """Which alternative is given: ``"bbox"``, ``"file"`` or ``"zones"``."""
        if self.bbox is not None:
            return "bbox"
        return "file" if self.file is not None else "zones"


# --------------------------------------------------------------------------------- periods


class DateRange(_Model):
    """An explicit acquisition window, both ends included (dates in UTC)."""

    start: dt.date = Field(description="First day, YYYY-MM-DD (included). Required.")
    end: dt.date = Field(description="Last day, YYYY-MM-DD (included). Required.")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise key_error("end", f"is before start ({self.end} < {self.start})")
        if self.start.year < FIRST_YEAR:
            raise key_error("start", f"is before {FIRST_YEAR}: Landsat 8 data start in 2013")
        return self


class PeriodsConfig(_OneOfModel):
    """Acquisition periods: some months of some years, or explicit date ranges."""

    years: tuple[int, ...] | None = Field(
        None, description="Years to composite over (>= 2013), e.g. [2022, 2023]. Default: none."
    )
    months: tuple[int, ...] | None = Field(
        None,
        description="Months (1-12) of each year, with `years` only. Default [6, 7, 8], "
        "June-August (science.md §5).",
        # What config_reference shows: with `years`, a missing months key is DEFAULT_MONTHS.
        json_schema_extra={"effective_default": list(DEFAULT_MONTHS)},
    )
    ranges: tuple[DateRange, ...] | None = Field(
        None,
        description="Explicit windows [{start, end}], instead of years and months. Default: none.",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_months(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("years") is not None and data.get("months") is None:
            return {**data, "months": list(DEFAULT_MONTHS)}
        return data

    @field_validator("years", "months", mode="before")
    @classmethod
    def _one_value(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("years")
    @classmethod
    def _years(cls, years: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if years is None:
            return None
        if not years:
            raise ValueError("must list at least one year, e.g. [2023]")
        for year in years:
            if not FIRST_YEAR <= year <= 2100:
                raise ValueError(f"must be years from {FIRST_YEAR} (Landsat 8) on (got {year})")
        return _unique(years, "year")

    @field_validator("months")
    @classmethod
    def _months(cls, months: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if months is None:
            return None
        if not months:
            raise ValueError("must list at least one month, e.g. [6, 7, 8]")
        for month in months:
            if not 1 <= month <= 12:
                raise ValueError(f"months are 1-12 (got {month})")
        return _unique(months, "month")

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, ranges: tuple[DateRange, ...] | None) -> tuple[DateRange, ...] | None:
        if ranges is not None and not ranges:
            raise ValueError("must list at least one {start, end} range")
        return ranges

    @model_validator(mode="after")
    def _check(self) -> PeriodsConfig:
        kind = _one_of(self, ("years", "ranges"), "e.g. years: [2023] (June-August by default)")
        if kind == "ranges" and self.months is not None:
            raise key_error("months", "applies to `years` only; put the months in the ranges")
        return self

    def intervals(self) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """Return the periods as sorted, merged, half-open UTC intervals ``[start, end)``.

        Returns
        -------
        tuple of (datetime, datetime)
            Timezone-aware UTC bounds; ``end`` is the first instant after the period.
        """
        spans: list[tuple[dt.datetime, dt.datetime]] = []
        if self.ranges is not None:
            for window in self.ranges:
                spans.append((_utc(window.start), _utc(window.end + dt.timedelta(days=1))))
        else:
            for year in self.years or ():
                for month in self.months or DEFAULT_MONTHS:
                    end = dt.date(year + month // 12, month % 12 + 1, 1)
                    spans.append((_utc(dt.date(year, month, 1)), _utc(end)))
        spans.sort()
        merged: list[tuple[dt.datetime, dt.datetime]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return tuple(merged)

    def days(self) -> tuple[tuple[dt.date, dt.date], ...]:
        """Return the periods (:meth:`intervals`) as their first and last day, both included."""
        return tuple(
            (start.date(), (end - dt.timedelta(days=1)).date()) for start, end in self.intervals()
        )

    def contains(self, when: dt.datetime) -> bool:
        """Whether an acquisition time (naive times are taken as UTC) falls in a period."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return any(start <= when < end for start, end in self.intervals())


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


# ---------------------------------------------------------------------------------- inputs


class StacApiSource(_Model):
    """A STAC API searched over the area of interest and the periods (needs network)."""

    url: str = Field(description="Root URL of the STAC API (http or https). Required.")
    collections: tuple[str, ...] = Field(
        min_length=1,
        description="Collections to search, e.g. ['landsat-c2-l2'] or ['sentinel-2-l2a']. "
        "Required.",
    )
    query: dict[str, Any] | None = Field(
        None,
        description="Extra STAC query (query extension), e.g. {'platform': {'in': "
        "['landsat-8', 'landsat-9']}}. Default: none.",
    )
    max_items: int | None = Field(
        1000, ge=1, description="Most items kept per period. Default 1000; null: no limit."
    )
    sign: Literal["planetary_computer"] | None = Field(
        None,
        description="Sign asset URLs: 'planetary_computer' (needs the planetary-computer "
        "package). Default: none.",
    )

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not is_url(url):
            raise ValueError(
                f"must be an http(s) URL (got {url!r}); for a catalogue on disk use `catalog`"
            )
        return url.rstrip("/")


class CatalogSource(_Model):
    """A static STAC catalogue (``catalog.json`` on disk, ``file://`` or ``https://``)."""

    href: ConfigHref = Field(
        description="Path or URL of the catalogue's root catalog.json. Required."
    )
    collections: tuple[str, ...] | None = Field(
        None, description="Keep items of these collections only. Default: every item."
    )


class InputSource(_OneOfModel):
    """Where products come from: local files, a static catalogue, or a STAC API.

    A plain string is read as ``{path: <string>}``.
    """

    path: ConfigPath | None = Field(
        None,
        description="A product (folder, _MTL file, .tar, .SAFE, item JSON), a folder of "
        "products, or a glob such as products/*.tar ('**' recurses). Non-products are "
        "skipped with a warning. Default: none.",
    )
    catalog: CatalogSource | None = Field(
        None, description="A static STAC catalogue walked and filtered. Default: none."
    )
    stac_api: StacApiSource | None = Field(None, description="A STAC API search. Default: none.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _check(self) -> InputSource:
        _one_of(self, ("path", "catalog", "stac_api"), "or write the path alone")
        return self


class InputsConfig(_Model):
    """Products per sensor, and a scene-level cloud filter."""

    landsat: tuple[InputSource, ...] = Field(
        description="Landsat 8/9 Collection 2 Level-2 (L2SP) sources; LST comes from their "
        "surface temperature (Level-1 products are left out with a warning). Required, at "
        "least one."
    )
    sentinel2: tuple[InputSource, ...] = Field(
        (), description="Sentinel-2 L2A sources for 10 m indices. Default: none."
    )
    max_cloud_cover: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Drop scenes whose eo:cloud_cover exceeds this, in percent (pixels are "
        "masked anyway). Default: null, keep every scene.",
    )
    on_damaged: Literal["stop", "skip"] = Field(
        "stop",
        description="A band file of this machine with a damaged block (a download cut short "
        "or corrupted: its header intact, some pixels undecodable): stop the run with one "
        "line naming it, or skip: its pixels where it is damaged (read again by quarters "
        "down to 64 pixels a side) are left out as clouds are (that scene counts once less "
        "there) and the run warns once per "
        "file (warning code damaged_input). Files that cannot be opened (permissions, "
        "network) stop the run either way. Default 'stop'.",
    )

    @field_validator("landsat", "sentinel2", mode="before")
    @classmethod
    def _one_source(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | dict) else value

    @field_validator("landsat")
    @classmethod
    def _some_landsat(cls, sources: tuple[InputSource, ...]) -> tuple[InputSource, ...]:
        if not sources:
            raise ValueError(
                "give at least one Landsat source (LST comes from Landsat), e.g. [products/]"
            )
        return sources


# ------------------------------------------------------------------------------------ grid


class GridConfig(_Model):
    """The analysis grid every output raster is on."""

    crs: str = Field(
        "utm",
        description="'utm' (the UTM zone of the area's centre) or a projected CRS in metres, "
        "e.g. 'EPSG:32631'. Default 'utm'.",
    )
    resolution: float = Field(
        30.0,
        gt=0,
        le=1000,
        description="Pixel size in metres. Default 30 (Landsat thermal); 10 for Sentinel-2 "
        "detail. In UTM, a multiple of 30 (or 15) puts the pixel edges on Landsat's "
        "(15 m + k·30 m), 10 (or 5), 20 or another multiple of 20 on Sentinel-2's (k·10 m "
        "and k·20 m); a size "
        "on neither (e.g. 25) is allowed, with a warning: every band is then resampled "
        "across its pixels' edges.",
    )
    resampling: Literal["auto", "nearest", "bilinear", "average", "cubic"] = Field(
        "auto",
        description="Resampling of continuous bands onto the grid. 'auto': 'nearest' where the "
        "grid is as fine as or finer than the band (each source pixel's value is kept, so "
        "exact zonal statistics equal those at the band's own resolution on aligned grids), "
        "'average' where it is coarser, from the bands' full-resolution pixels (never their "
        "overviews; the Landsat LST as radiance, (mean of T⁴)^(1/4)). QA and class bands "
        "are read with 'nearest'; where a grid pixel mixes "
        "several pixels of a band, it counts a date only when every mask pixel under it "
        "(SCL; QA_PIXEL, ST_QA, ST_CDIST) is clear. 'bilinear' and 'cubic' also weigh band "
        "pixels beyond those the masks cover (cloud edges can leak; a warning says so). "
        "Default 'auto'.",
    )

    @field_validator("crs")
    @classmethod
    def _projected_metres(cls, text: str) -> str:
        text = text.strip()
        if text.lower() == "utm":
            return "utm"
        try:
            crs = CRS.from_user_input(text)
        except PyprojCRSError as err:
            raise ValueError(
                f"{text!r} is not a CRS; use 'utm' or an EPSG code such as 'EPSG:32631'"
            ) from err
        units = {axis.unit_name for axis in crs.axis_info}
        if not crs.is_projected or not units <= {"metre", "meter"}:
            raise ValueError(
                f"{text!r} is not a projected CRS in metres; use 'utm' or e.g. 'EPSG:32631' "
                "or 'EPSG:2154'"
            )
        return text


# ------------------------------------------------------------------------------------ mask


class MaskConfig(_SizeModel):
    """Cloud and quality masks (science.md §1.3, §3.3, §5)."""

    _SIZE = SIZE_KEYS["mask"]

    landsat_preset: str = Field(
        "default",
        description="QA_PIXEL preset: 'default' (bits 0-5), 'gee' (keeps snow), 'strict' "
        "(also cloud confidence >= medium) or 'none'. Default 'default'.",
    )
    sentinel2_preset: str = Field(
        "default",
        description="SCL preset: 'default' (keeps 4, 5), 'conservative' (4, 5, 6), "
        "'permissive' (2, 4, 5, 6, 7) or 'none'. Default 'default'.",
    )
    st_qa_max_k: float | None = Field(
        2.0,
        gt=0,
        description="Drop Landsat L2 pixels whose ST_QA uncertainty exceeds this, in K "
        "(science.md §5, [U]). Default 2.0; null: no ST_QA test.",
    )
    cdist_min_km: float | None = Field(
        1.0,
        ge=0,
        description="Drop Landsat L2 pixels closer than this to a cloud (ST_CDIST), in km "
        "(science.md §5, [U]). Default 1.0; null: no ST_CDIST test.",
    )
    radsat: bool = Field(
        True,
        description="Drop, per output, the Landsat L2 pixels whose QA_RADSAT flags a band it "
        "uses as saturated (NDVI: B4, B5; NDBI: B5, B6; MNDWI: B3, B6; albedo: B2, B4-B7; "
        "bright roofs) or terrain occlusion (bit 11; the only test of the LST, as QA_RADSAT "
        "has no band-10 bit). Default true: every Landsat product must then carry QA_RADSAT; "
        "false: no QA_RADSAT test (science.md §1.3).",
    )
    dilate_m: float | None = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="Grow the cloud masks (Landsat QA_PIXEL, Sentinel-2 SCL cloud classes) by "
        "this distance, in metres: by a disk of dilate_m / grid.resolution analysis-grid "
        "pixels, rounded up (within 1e-9 of a whole number counts as it), so clouds grow by "
        "at least this much on any grid; at most 50 pixels (1500 m at 30 m). Default 0.",
    )
    dilate_px: int | None = Field(
        None,
        ge=0,
        le=_MAX_DILATE_PX,
        description="Deprecated, use dilate_m: the radius in analysis-grid pixels, whose size "
        "grid.resolution sets (60 m at 30 m, 20 m at 10 m for 2 px); a warning gives the "
        "equivalent dilate_m. Not with dilate_m. Default: none.",
    )
    lst_keep_water: bool = Field(
        False,
        description="Keep water in the LST. Default false: water LST behaves differently and "
        "is no urban LST (science.md §1.3), so the pixels QA_PIXEL flags as water (bit 7) and "
        "those the land cover classes water (the rules' at 10 m, sharper along banks; an "
        "external map's water, wetlands included in the worldcover and CORINE mappings) are "
        "left out of the LST rasters, the zone statistics and the heat-island means.",
    )
    indices_keep_water: bool = Field(
        False,
        description="Keep water in the NDVI and albedo composites. Default false: water is no "
        "urban vegetation nor roof, and whether it entered them depended on the sensor (the "
        "Landsat QA_PIXEL presets keep it, the Sentinel-2 SCL default drops it), so the pixels "
        "the land cover classes water (as the LST leaves them out under lst_keep_water: "
        "false; an external map's wetlands, water in the shipped worldcover, corine and "
        "corine_grid mappings, included) are NaN in ndvi_median and albedo_median, and the "
        "zones' ndvi_mean and albedo_mean are means over the same land as their LST. The land "
        "cover is classified from the indices with water (its water class needs it) either "
        "way; with lst_keep_water: true the LST is sharpened (sharpen.enabled) with the NDVI "
        "with water (with Sentinel-2, only the water its SCL preset keeps).",
    )

    @field_validator("landsat_preset")
    @classmethod
    def _landsat(cls, name: str) -> str:
        return _preset(name, QA_PIXEL_PRESETS, "QA_PIXEL")

    @field_validator("sentinel2_preset")
    @classmethod
    def _sentinel2(cls, name: str) -> str:
        return _preset(name, SCL_PRESETS, "SCL")

    def dilate_pixels(self, resolution: float) -> int:
        """Return the radius of the cloud-mask dilation in pixels of a grid of ``resolution`` m.

        ``dilate_px`` as given, else ``dilate_m / resolution`` rounded up to whole pixels.
        """
        return self._pixels(resolution)


def _preset(name: str, presets: Any, what: str) -> str:
    known = (*presets, "none")
    if name not in known:
        raise ValueError(f"unknown {what} preset {name!r}; use one of {', '.join(known)}")
    return name


# ------------------------------------------------------------------------------- composite


class CompositeConfig(_Model):
    """Per-pixel temporal composites over clear observations (science.md §4.1, §5)."""

    statistics: tuple[str, ...] = Field(
        ("median", "p90"),
        description="Per-pixel statistics over the clear scenes: median, mean or pNN "
        "(percentile, 0-100; numpy 'linear' quantiles). Default [median, p90].",
    )
    min_clear: int = Field(
        3,
        ge=1,
        description="LST composites: pixels with fewer clear observations are no data "
        "(science.md §5, [U]); the NDVI and albedo medians need one clear scene. Default 3.",
    )
    min_clear_area_frac: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Zones where less than this share of the area has min_clear observations "
        "are flagged (low_clear_area column; science.md §5, [U]), counting for the anomaly ΔT "
        "only the scenes with a reference. Default 0.5.",
    )
    anomaly: bool = Field(
        True,
        description="Composite a per-scene LST anomaly too (removes day-to-day weather; "
        "science.md §4.1). Always true: the SUHII, the ranks, the default inequality "
        "outcome and the scenarios rest on it (false is refused, not ignored). Default true.",
    )

    @field_validator("anomaly")
    @classmethod
    def _anomaly(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "false is not supported: every run composites the LST anomaly, which the "
                "SUHII, the ranks, the inequality and the scenarios rest on; remove the key"
            )
        return value

    anomaly_method: Literal["difference", "zscore"] = Field(
        "difference",
        description="'difference': the anomaly is LST - mean of the reference, in K "
        "(lst_anomaly); 'zscore': also (LST - mean) / std (ddof 0) of the reference pixels, "
        "per scene before compositing (lst_zscore). Default 'difference'.",
    )
    anomaly_reference: Literal["rural", "urban"] = Field(
        "rural",
        description="Pixels of the reference mean: the rural ring (heat_island) or the urban "
        "area. Default 'rural'.",
    )
    indices_from: Literal["auto", "sentinel2", "landsat"] = Field(
        "auto",
        description="Sensor of the NDVI/NDBI/MNDWI composites: 'auto' = Sentinel-2 when "
        "inputs.sentinel2 is given, else Landsat. Default 'auto'.",
    )

    @field_validator("statistics", mode="before")
    @classmethod
    def _statistics(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("must list at least one statistic, e.g. [median, p90]")
        names = []
        for name in value:
            text = str(name).strip().lower()
            if not _is_statistic(text):
                raise ValueError(
                    f"unknown statistic {name!r}; use median, mean or pNN with NN in 0..100 "
                    "(e.g. p90)"
                )
            names.append(text)
        return _unique(tuple(names), "statistic")


def _is_statistic(name: str) -> bool:
    """Whether :func:`raster.composite.parse_stat` accepts ``name``."""
    try:
        parse_stat(name)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- heat island


class HeatIslandConfig(_Model):
    """Surface urban heat island reference (science.md §4.1)."""

    urban: Literal["aoi", "built"] = Field(
        "aoi",
        description="Urban reference: 'aoi' (the union of the run's IRIS: those whose inner "
        "point lies in the area of interest, or that overlap it when aoi.zones is another "
        "layer) or 'built' (built land-cover pixels inside that union). Default 'aoi'.",
    )
    ring_inner_km: float = Field(
        2.0,
        ge=0,
        description="Inner edge of the rural ring, in km outside the urban area ([U]). Default 2.",
    )
    ring_outer_km: float = Field(
        10.0,
        gt=0,
        le=100,
        description="Outer edge of the rural ring, in km outside the urban area ([U]). Default 10.",
    )
    exclude_water: bool = Field(
        True,
        description="Leave water pixels out of the rural ring: the land cover's water class, "
        "or without a land cover the QA_PIXEL water bit on any date. Default true.",
    )
    exclude_built: bool = Field(
        True,
        description="Leave built pixels out of the rural ring (the land cover's built class: "
        "without a land cover it cannot be applied, and the run says so). Default true.",
    )
    dem: ConfigPath | None = Field(
        None,
        description="Elevation raster (GeoTIFF, metres); when given, rural pixels must lie "
        "within elevation_tolerance_m of the urban median elevation. Default: none.",
    )
    min_reference_pixels: int = Field(
        1,
        ge=1,
        description="A scene with fewer clear rural reference pixels gets no reference (no "
        "anomaly for that scene), counted in 30 m Landsat pixels whatever grid.resolution "
        "(1 is 9 pixels of a 10 m grid); one with fewer clear urban footprint pixels gets no "
        "SUHII of its own. Default 1.",
    )
    min_reference_frac: float = Field(
        0.1,
        ge=0,
        le=1,
        description="A scene whose clear rural reference pixels are a smaller share of the "
        "reference's pixels (the ring without its water, built and off-elevation pixels) gets "
        "no reference either: a few pixels left clear between clouds are no rural mean. Both "
        "minimums apply to the urban footprint too: a scene under them there gets no SUHII of "
        "its own (and, with composite.anomaly_reference: urban, no reference). Default 0.1.",
    )
    elevation_tolerance_m: float = Field(
        50.0,
        gt=0,
        description="Rural pixels' elevation band around the urban median, in metres ([U], "
        "used with dem). Default 50.",
    )

    @model_validator(mode="after")
    def _ring(self) -> HeatIslandConfig:
        if self.ring_outer_km <= self.ring_inner_km:
            raise key_error(
                "ring_outer_km",
                f"must be larger than ring_inner_km ({self.ring_outer_km} <= {self.ring_inner_km})",
            )
        return self

    def min_reference_grid_pixels(self, resolution: float) -> int:
        """Return ``min_reference_pixels`` in pixels of a grid of ``resolution`` m (at least 1).

        The key counts 30 m Landsat pixels (the LST's own) whatever the grid: the grid pixels
        of the same area, rounded up (1 Landsat pixel is 9 pixels of a 10 m grid, 3 of a 20 m
        one, 1 of a 90 m one).
        """
        area = self.min_reference_pixels * LANDSAT_PIXEL_M**2
        return max(1, _whole_pixels(area / resolution**2))


# --------------------------------------------------------------------------------- sharpen


class SharpenConfig(_Model):
    """Thermal sharpening of the LST composite with the NDVI composite (science.md §4.2).

    Read after the tiles (the run's ``lst_median`` and ``ndvi_median`` are final then), so a
    tiled run resumes from its checkpoints whatever these keys say.
    """

    enabled: bool = Field(
        False,
        description="Also write rasters/lst_median_sharpened.tif: lst_median sharpened with "
        "ndvi_median (regression on NDVI over the homogeneous 30 m cells, then each cell's "
        "residual, so each Landsat pixel keeps its radiance), on a grid of 10 or 15 m (others "
        "are refused) with an NDVI (else the run says why in its warnings). Default false.",
    )
    basis: Literal["ndvi", "tsharp"] = Field(
        "ndvi",
        description="Regression basis: 'ndvi' (DisTrad, LST = a + b·NDVI) or 'tsharp' "
        "(TsHARP's fractional cover from NDVI 0.125-0.8, exponent 0.625, [U]). Default 'ndvi'.",
    )
    correction: Literal["average", "linreg"] = Field(
        "average",
        description="Residual correction: 'average' (each 30 m cell keeps its radiance, "
        "(mean of T⁴)^(1/4)) or 'linreg' (the residual of the fit at the cell's mean NDVI). "
        "Default 'average'.",
    )
    cv_quantile: float = Field(
        0.8,
        gt=0,
        le=1,
        description="The 30 m cells fitted are those whose coefficient of variation of NDVI "
        "is at most this quantile of all cells' (pyDMS' 0.8; TsHARP's 0.25 is [U]); 1 fits "
        "every cell. Default 0.8.",
    )


# ------------------------------------------------------------------------------- landcover


class LandcoverRules(_Model):
    """Thresholds of the rule-based land cover (:class:`~raster.landcover.LandcoverThresholds`).

    The first rule that holds wins: water where MNDWI > water_mndwi; dense vegetation where
    NDVI >= dense_ndvi; low vegetation where NDVI >= low_ndvi; built where NDBI > built_ndbi
    (so built also has NDVI < low_ndvi); bare soil otherwise. Defaults are literature values,
    [U] in science.md terms: tune them per city and season.
    """

    water_mndwi: float = Field(
        0.0, ge=-1, le=1, description="Water where MNDWI is above this (Xu 2006). Default 0."
    )
    dense_ndvi: float = Field(
        0.5, ge=-1, le=1, description="Dense vegetation where NDVI >= this. Default 0.5."
    )
    low_ndvi: float = Field(
        0.2,
        ge=-1,
        le=1,
        description="Low vegetation where NDVI >= this (below dense_ndvi); built and bare soil "
        "lie below it. Default 0.2.",
    )
    built_ndbi: float = Field(
        0.0,
        ge=-1,
        le=1,
        description="Built where NDBI is above this (and NDVI < low_ndvi; Zha et al. 2003). "
        "Default 0.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LandcoverRules:
        if self.low_ndvi >= self.dense_ndvi:
            raise key_error(
                "low_ndvi", f"must be below dense_ndvi ({self.low_ndvi} >= {self.dense_ndvi})"
            )
        return self

    def thresholds(self) -> LandcoverThresholds:
        """Return the thresholds as :func:`raster.landcover.classify_landcover` takes them."""
        return LandcoverThresholds(
            water_mndwi=self.water_mndwi,
            dense_ndvi=self.dense_ndvi,
            low_ndvi=self.low_ndvi,
            built_ndbi=self.built_ndbi,
        )


#: The file names of the land-cover maps ESA, the EEA and Theia publish, by the product the
#: shipped mappings are named for (``corine`` and ``corine_grid`` are CORINE's): regular
#: expressions, the map's year as group 1 (a WorldCover name may give none).
#: ``ESA_WorldCover_10m_2021_v200_N42E000_Map.tif`` (or a tile renamed without ``ESA_``, or
#: ``ESA_WorldCover_v200_2021.tif``, no year read), ``U2018_CLC2018_V2020_20u1.tif`` or
#: ``CLC2018_...`` (the map's 2018, not the version's 2020), ``OCS_2023_CESBIO.tif`` or
#: ``OSO_2023_...``. A name several match says the product whose match starts first,
#: whatever their order here: ``CLC2018_WorldCover_clip.tif`` is CORINE's,
#: ``OCS_2023_vs_CLC2018.tif`` OSO's.
MAP_PATTERNS: dict[str, str] = {
    "worldcover": r"WorldCover_(?:10m_)?(?:((?:19|20)\d\d)(?!\d))?",
    "corine": r"CLC((?:19|20)\d\d)",
    "oso": r"^(?:OCS|OSO)_((?:19|20)\d\d)",
}


def landcover_map_year(file_name: str, year: int | None = None) -> int | None:
    """Return ``year``, else the year the file name of a published map gives, else None.

    The file names read are those of ESA WorldCover, CORINE Land Cover and OSO
    (:data:`MAP_PATTERNS`).
    """
    if year is not None:
        return year
    found = _map_name(file_name)
    said = None if found is None else found[1].group(1)  # a WorldCover name may say none
    return None if said is None else int(said)


def _map_name(file_name: str) -> tuple[str, re.Match[str]] | None:
    """Return the product a published map's file name says and the match, or None.

    Of several products' matches, the one that starts first (:data:`MAP_PATTERNS`).
    """
    matched = [
        (product, found)
        for product, pattern in MAP_PATTERNS.items()
        if (found := re.search(pattern, file_name))
    ]
    return min(matched, key=lambda pair: pair[1].start(), default=None)


#: How a refusal names each product, and the mappings it suggests for its maps.
_PRODUCTS: dict[str, tuple[str, str]] = {
    "worldcover": ("ESA WorldCover", "worldcover"),
    "corine": (
        "CORINE Land Cover",
        "corine_grid (the grid codes 1-44 of the EEA's rasters) or corine (three-digit codes)",
    ),
    "oso": ("OSO", "oso"),
}


def map_product(file_name: str) -> str | None:
    """Return the product a land-cover map's file name says, or None.

    ``"worldcover"``, ``"corine"`` or ``"oso"`` (:data:`MAP_PATTERNS`).
    """
    found = _map_name(file_name)
    return None if found is None else found[0]


class ExternalLandcover(_Model):
    """An existing land-cover map (ESA WorldCover, OSO, CORINE ...) used instead of the rules."""

    path: ConfigPath = Field(
        description="Land-cover raster (GeoTIFF). Each grid pixel takes the class at its centre "
        "(nearest): a map finer than the grid is sampled, not aggregated (give it at the grid's "
        "resolution, e.g. resampled with gdalwarp -r mode, for class shares of its own pixels). "
        "Required."
    )
    band: int = Field(1, ge=1, description="Band holding the class codes. Default 1.")
    mapping: str | dict[int, str] = Field(
        description="A shipped mapping ('worldcover', 'oso', 'corine', 'corine_grid') or a "
        "table {map code: ilots class} with classes water, dense_vegetation, low_vegetation, "
        "built, bare_soil, nodata; unlisted codes are no data (warned about; a map whose codes "
        "over the grid it nearly all lacks stops the run). 'corine' reads CORINE's three-digit "
        "level-3 codes (CODE_18), 'corine_grid' the grid codes 1-44 of the EEA's 100 m rasters "
        "(e.g. U2018_CLC2018_V2020_20u1.tif; 48 and its other no-data values are no data). A "
        "shipped mapping of another product than the one the map's file name says "
        "(ESA_WorldCover_..., U2018_CLC2018_... or CLC2018..., OCS_2023... or OSO_2023...) "
        "stops the run; a map under 'corine_grid' with OSO's codes only (1-23) and pixels "
        "under half CORINE's 100 m is warned about as maybe OSO's. Required."
    )
    year: int | None = Field(
        None,
        ge=1900,
        le=2100,
        description="The year the map shows (2021 for ESA WorldCover v200, 2018 for CORINE "
        "2018), said in its attribution and in landcover.tif's time coverage. Default: read "
        "from the file name of ESA WorldCover (ESA_WorldCover_10m_2021_...), CORINE "
        "(..._CLC2018_...) or OSO (OCS_2023_...), else not said.",
    )

    @field_validator("mapping", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lower() not in EXTERNAL_MAPPINGS:
                raise ValueError(
                    f"unknown mapping {value!r}; use one of {', '.join(EXTERNAL_MAPPINGS)} or "
                    "a table {code: class}"
                )
            return value.lower()
        if not isinstance(value, dict) or not value:
            raise ValueError("must be a mapping name or a non-empty table {code: class}")
        names = set(CLASS_NAMES.values())
        table: dict[int, str] = {}
        given: dict[int, Any] = {}
        for code, target in value.items():
            if isinstance(code, float) and not code.is_integer():  # int() would take 10.5 as 10
                raise ValueError(
                    f"map code {code!r} is not an integer; list the map's integer class codes"
                )
            try:
                key = int(code)
            except (TypeError, ValueError):
                raise ValueError(f"map code {code!r} is not an integer") from None
            name = target.lower() if isinstance(target, str) else target
            if isinstance(code, bool) or name not in names:
                raise ValueError(
                    f"code {code} maps to {target!r}; use one of {', '.join(CLASS_NAMES.values())}"
                )
            if key in given:  # '010' and 10, or 10 and 10.0: one code given twice
                raise ValueError(
                    f"map codes {given[key]!r} and {code!r} are both code {key}; keep one of them"
                )
            given[key] = code
            table[key] = name
        return table

    @model_validator(mode="after")
    def _mapping_of_the_file(self) -> ExternalLandcover:
        """Refuse a shipped mapping of another product than the one the file name says."""
        named = map_product(self.path.name)
        if named is None or not isinstance(self.mapping, str):
            return self
        product = self.mapping.split("_")[0]  # corine_grid: CORINE's
        if product != named:
            raise key_error(
                "mapping",
                f"the file name {self.path.name} says {_PRODUCTS[named][0]}, the mapping "
                f"'{self.mapping}' is {_PRODUCTS[product][0]}'s; set mapping: "
                f"{_PRODUCTS[named][1]}, or a table {{code: class}} of the map's codes if its "
                "name misleads",
            )
        return self

    def map_year(self) -> int | None:
        """Return the year the map shows: ``year``, else the one its file name gives, or None.

        The file names read are those of ESA WorldCover, CORINE Land Cover and OSO
        (:data:`MAP_PATTERNS`).
        """
        return landcover_map_year(self.path.name, self.year)

    def class_mapping(self) -> str | dict[int, int]:
        """Return the mapping as :func:`raster.landcover.map_external_landcover` takes it."""
        if isinstance(self.mapping, str):
            return self.mapping
        codes = {name: code for code, name in CLASS_NAMES.items()}
        return {code: codes[name] for code, name in self.mapping.items()}


class LandcoverConfig(_SizeModel):
    """Land-cover classes: index rules, or an external map."""

    _SIZE = SIZE_KEYS["landcover"]

    rules: LandcoverRules = Field(
        default_factory=dict,
        validate_default=True,
        description="Thresholds of the rule-based classes. Default: the documented thresholds.",
    )
    min_mapping_unit_m2: float | None = Field(
        3600.0,
        ge=0,
        allow_inf_nan=False,
        description="Minimum mapping unit, in m²: class regions of the rule classes smaller "
        "than this take the majority class around them; a region is kept from "
        "ceil(min_mapping_unit_m2 / grid.resolution²) pixels (within 1e-9 of a whole number "
        "counts as it), i.e. when its area is at least this. 0 keeps every pixel (an "
        "external map is used as is). Default 3600 (0.36 ha): four 30 m Landsat pixels, as "
        "the former default of 4 px on the default 30 m grid; 36 px on a 10 m grid, where "
        "400 gives the former 4 px.",
    )
    min_mapping_unit_px: int | None = Field(
        None,
        ge=0,
        description="Deprecated, use min_mapping_unit_m2: the unit in analysis-grid pixels, "
        "whose area grid.resolution sets (4 px: 3600 m² at 30 m, 400 m² at 10 m); a warning "
        "gives the equivalent min_mapping_unit_m2. Not with min_mapping_unit_m2. Default: "
        "none.",
    )
    connectivity: Literal[1, 2] = Field(
        1,
        description="For the minimum mapping unit: pixels of one region touch by an edge (1) "
        "or also by a corner (2). Default 1.",
    )
    external: ExternalLandcover | None = Field(
        None, description="Use this map instead of the rules. Default: none (rules)."
    )

    def min_mapping_unit_pixels(self, resolution: float) -> int:
        """Return the minimum mapping unit in pixels of a grid of ``resolution`` m.

        ``min_mapping_unit_px`` as given, else ``min_mapping_unit_m2 / resolution²`` rounded
        up to whole pixels: the regions kept are those of at least ``min_mapping_unit_m2``.
        """
        return self._pixels(resolution**2)


# ----------------------------------------------------------------------------------- zones


class ZoneLayerConfig(_Model):
    """The IRIS layer (IGN Contours IRIS, any millésime)."""

    path: ConfigPath = Field(description="Vector file of the layer. Required.")
    layer: str | None = Field(
        None, description="Layer in a multi-layer file. Default: the first layer."
    )
    id: str = Field(
        "auto",
        min_length=1,
        description="Column holding the zone code; 'auto': the column IGN or ANCT name it "
        "(CODE_IRIS, DCOMIRIS ...; CODE_QP ...). The output column is code_iris / code_qp "
        "either way. Default 'auto'.",
    )


class QpvLayerConfig(ZoneLayerConfig):
    """The QPV layer (ANCT, 2015 or 2024 geography)."""

    iris_share_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="An IRIS counts as QPV when at least this share of its area lies in a QPV "
        "(science.md §7.6, [U]). Default 0.5.",
    )


class ExtraZoneLayer(_Model):
    """Any other polygons to aggregate over (parks, schoolyards, districts ...)."""

    name: str = Field(
        description="Layer name in the outputs: lower case letters, digits, '_'. Required."
    )
    path: ConfigPath = Field(description="Vector file of the layer. Required.")
    layer: str | None = Field(
        None, description="Layer in a multi-layer file. Default: the first layer."
    )
    id: str = Field(min_length=1, description="Column holding a unique zone id. Required.")
    commune_field: str = Field(
        "insee_com",
        description="Commune-code column, used by aoi.communes (case-insensitive). "
        "Default 'insee_com'.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.fullmatch(name) or name in ("iris", "qpv"):
            raise ValueError(
                f"{name!r} is not a usable layer name: lower case letters, digits and '_', "
                "starting with a letter, not 'iris' or 'qpv'"
            )
        return name


class ZonesConfig(_Model):
    """Zone layers aggregated exactly (coverage fractions) and how."""

    iris: ZoneLayerConfig | None = Field(
        None, description="IRIS layer; ilots run and --dry-run need one. Default: none."
    )
    qpv: QpvLayerConfig | None = Field(None, description="QPV layer. Default: none.")
    extra: tuple[ExtraZoneLayer, ...] = Field(
        (), description="Other zone layers [{name, path, id}]. Default: none."
    )
    method: Literal["exact", "centre"] = Field(
        "exact",
        description="'exact': pixel coverage fractions (science.md §6.2); 'centre': pixel "
        "centres, for comparison only. Default 'exact'.",
    )
    min_valid_frac: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Zones with less valid covered area than this share (valid_frac: the share "
        "of the zone's land, or of its area under mask.lst_keep_water, with a composite LST) "
        "get no LST value: their lst_* columns are empty, valid_frac stays (science.md §6.2, "
        "[U]). The anomaly ΔT columns (lst_anomaly_*, lst_zscore_mean) need the same share "
        "with a composite ΔT (anomaly_valid_frac), which counts only the scenes with a "
        "reference. Default 0.5.",
    )

    @field_validator("extra")
    @classmethod
    def _distinct(cls, extra: tuple[ExtraZoneLayer, ...]) -> tuple[ExtraZoneLayer, ...]:
        _unique(tuple(layer.name for layer in extra), "zones.extra name")
        return extra

    def names(self) -> tuple[str, ...]:
        """Names of the configured layers: ``iris``, ``qpv``, then the extra ones."""
        base = tuple(name for name in ("iris", "qpv") if getattr(self, name) is not None)
        return base + tuple(layer.name for layer in self.extra)


# ---------------------------------------------------------------------------------- census


class CensusConfig(_Model):
    """INSEE tables joined to the IRIS (science.md §8.3)."""

    filosofi: ConfigPath | None = Field(
        None,
        description="Filosofi IRIS file: CSV (UTF-8, Latin-1 or UTF-16; or INSEE's ZIP as "
        "downloaded), XLSX or XLS (e.g. BASE_TD_FILO_IRIS_2021_DISP.csv). Default: none.",
    )
    filosofi_sheet: str | None = Field(
        None,
        description="Sheet of an XLSX Filosofi file (its name). Default: the first sheet with "
        "an IRIS code column.",
    )
    income_column: str = Field(
        "disp_med",
        min_length=1,
        description="Income column, in euros per consumption unit: a Filosofi indicator is "
        "read without its year suffix and in lower case, as the Filosofi reader names the "
        "columns (DISP_MED21 or DISP_MED -> disp_med); a column of the IRIS layer may be named "
        "too (whatever its case, e.g. DISP_MED19), which is read when census.filosofi is not "
        "set or has no such indicator. A name that is no column of the IRIS table is refused "
        "by the dry run and before the run reads pixels. Default 'disp_med'.",
    )
    population: ConfigPath | None = Field(
        None,
        description="Population per IRIS (INSEE census table, CSV or its ZIP, XLSX or XLS). "
        "Default: none.",
    )
    population_column: str | None = Field(
        None,
        description="Population column, e.g. 'P21_POP': of census.population, or, without "
        "it, of the IRIS layer (whatever its case, e.g. P18_POP of an enriched IGN layer). "
        "Default: detected in census.population; none without it.",
    )
    population_sheet: str | None = Field(
        None,
        description="Sheet of an XLSX population file (its name). Default: the first sheet "
        "with an IRIS code column.",
    )

    @field_validator("filosofi_sheet", "population_sheet", mode="before")
    @classmethod
    def _sheet_name(cls, value: Any) -> Any:
        # A sheet named 2021 reads as a number in YAML: it is the sheet's name.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _check(self) -> CensusConfig:
        for table in ("filosofi", "population"):
            path, sheet = getattr(self, table), getattr(self, f"{table}_sheet")
            if sheet is not None and path is not None and path.suffix.lower() not in EXCEL_SUFFIXES:
                raise key_error(
                    f"{table}_sheet",
                    f"{path.name} is not a spreadsheet (.xlsx, .xlsm, .xls); remove the key",
                )
        return self

    def income_in(self, columns: Iterable[Hashable]) -> str | None:
        """Return the column of the IRIS table that ``income_column`` names, or None.

        The name is kept as written, so that a column of the IRIS layer is found before
        its year is stripped (``DISP_MED19`` of an IGN layer a user enriched). With
        ``filosofi``, the name as the Filosofi reader gives it (:func:`filosofi_column`:
        ``DISP_MED21`` -> ``disp_med``) comes first; then the column named so, whatever
        its case (:func:`pipelines.census.tables.column_named`); then the name as read.

        Parameters
        ----------
        columns
            The IRIS table's columns: the layer's own, the census tables' (as read), the
            run's.
        """
        names = [str(column) for column in columns]
        read = filosofi_column(self.income_column)
        if self.filosofi is not None and read in names:
            return read
        return column_named(names, self.income_column) or column_named(names, read)


def filosofi_column(name: str) -> str:
    """Return the name the Filosofi reader gives a column named ``name`` as INSEE publishes it.

    A Filosofi indicator loses its year suffix and is lower-cased (``DISP_MED21`` and
    ``DISP_MED`` -> ``disp_med``, :func:`pipelines.census.filosofi.indicator_name`); another
    name is kept as it is (a column of another table).
    """
    text = name.strip()
    found = indicator_name(text)
    if found is not None:
        return found[0]
    return text.lower() if _FILOSOFI_NAME.fullmatch(text) else name


# ------------------------------------------------------------------------------ inequality


class InequalityConfig(_Model):
    """Inequality statistics of per-IRIS outcomes against income (science.md §7)."""

    outcomes: tuple[str, ...] = Field(
        ("lst_anomaly_mean_k", "lst_mean_k", "ndvi_mean"),
        min_length=1,
        description="Per-IRIS columns crossed with income, e.g. lst_anomaly_mean_k, lst_mean_k, "
        "ndvi_mean, lc_dense_vegetation_frac; the first is the primary outcome of "
        "inequality.json (the others under other_outcomes). A column of the IRIS layer or of "
        "a census table may be named too; a name that is no column of them nor of the run "
        "is refused by the dry run and before the run reads pixels. Default "
        "[lst_anomaly_mean_k, lst_mean_k, ndvi_mean].",
    )
    interval_scale: dict[str, bool] = Field(
        {},
        description="Per outcome, whether it is on an interval scale, whose zero is arbitrary "
        "(a temperature, a ΔT, a z-score): then its standard concentration index C, which "
        "depends on the origin, is not computed (read the generalized index GC); false "
        "computes it. e.g. {lst_c: true} for a temperature column in °C. Default {}: "
        "outcomes whose name ends in _k (the run's temperatures) or holds zscore "
        "(lst_zscore_mean) are, the others are not.",
    )
    population_weighted: bool = Field(
        True,
        description="Weight ranks, means and deciles by residents (needs census.population, or "
        "census.population_column naming a column of zones.iris). Default true.",
    )
    stratum: str | None = Field(
        "insee_com",
        description="Column to stratify the QPV gap and its permutation test by (science.md "
        "§7.6): each QPV IRIS is compared with the other IRIS of its stratum, and the labels "
        "are permuted within strata; in a commune code column the arrondissements of Paris, "
        "Lyon and Marseille count as their city (75056, 69123, 13055). A name that is no column "
        "of the IRIS table is refused by the dry run and before the run reads pixels. Default "
        "'insee_com'; null: no strata (the difference of the overall means).",
    )
    contiguity: Literal["queen", "rook", "knn"] = Field(
        "queen", description="Spatial weights of Moran's I. Default 'queen'."
    )
    bootstrap: int = Field(
        9999,
        ge=0,
        description="Bootstrap resamples of the IRIS, shared by the intervals of the "
        "concentration indices and of the D1-D10 gap. Default 9999 (the gap's bounds vary "
        "between seeds with a standard deviation of about 0.01 K on 1,000 IRIS; 0.03 K with "
        "999).",
    )
    permutations: int = Field(
        9999,
        ge=99,
        description="Monte Carlo relabelings of the QPV test when exact enumeration is too "
        "large. Default 9999.",
    )
    moran_permutations: int = Field(
        999,
        ge=0,
        description="Permutations of Moran's I for its pseudo p-value ((k + 1) / (N + 1): "
        "999 resolves 0.001). 0: none, the p-value from the normal approximation. Default 999.",
    )
    confidence: float = Field(
        0.95, gt=0, lt=1, description="Level of every interval. Default 0.95."
    )
    seed: int | None = Field(
        0, description="Seed of every random draw. Default 0; null: not reproducible."
    )

    @field_validator("outcomes")
    @classmethod
    def _distinct(cls, outcomes: tuple[str, ...]) -> tuple[str, ...]:
        # Whether a name is a column is known once the IRIS layer and the census tables are
        # read: pipelines.run_census.check_iris_columns, in the dry run and before the pixels.
        return _unique(outcomes, "outcome")

    @model_validator(mode="after")
    def _scales_of_outcomes(self) -> InequalityConfig:
        unknown = [name for name in self.interval_scale if name not in self.outcomes]
        if unknown:
            raise key_error(
                "interval_scale",
                f"{', '.join(map(repr, unknown))} not in inequality.outcomes "
                f"({', '.join(self.outcomes)}); list the outcome there, or remove it here",
            )
        return self

    def run_options(self) -> dict[str, Any]:
        """Return the keyword arguments of :func:`pipelines.inequality.run_inequality` it sets.

        (Per-IRIS geometry for Moran's I, contiguity, bootstrap, permutations, confidence,
        seed; the outcome, income, population, group and stratum columns are the caller's.)
        """
        return {
            "geometry": "geometry",
            "contiguity": self.contiguity,
            "bootstrap": self.bootstrap,
            "permutations": self.permutations,
            "moran_permutations": self.moran_permutations,
            "confidence": self.confidence,
            "seed": self.seed,
        }


# --------------------------------------------------------------------------------- outputs


class OutputsConfig(_Model):
    """What the run writes, and where."""

    folder: ConfigPath = Field(
        "run",  # type: ignore[assignment]  # a str default, resolved by the validator
        validate_default=True,
        description="Run folder (relative to the config file). Default 'run'.",
    )
    rasters: tuple[str, ...] | None = Field(
        None,
        description="Rasters to write as COG, e.g. [lst_median, lst_anomaly, ndvi_median, "
        "landcover]: lst_<statistic> for each of composite.statistics (lst_median and lst_p90 "
        "always), lst_anomaly, lst_anomaly_p90, lst_zscore (anomaly_method zscore), ndvi_median, "
        "albedo_median, "
        "landcover, n_clear, lst_median_sharpened (sharpen.enabled). Default: all computed.",
    )
    zone_formats: tuple[Literal["gpkg", "parquet", "csv"], ...] = Field(
        ("gpkg", "parquet"),
        min_length=1,
        description="Zone table formats: gpkg (zones.gpkg, QGIS-styled), parquet "
        "(zones/<layer>.parquet), csv. Default [gpkg, parquet].",
    )
    raster_compression: Literal["deflate", "zstd"] = Field(
        "deflate",
        description="Compression of the COGs: deflate (every GIS reads it) or zstd (about 40 % "
        "less encoding time for the same size; needs GDAL 2.3 or later built with ZSTD, as "
        "QGIS 3 and rasterio's wheels are). Default 'deflate'.",
    )
    anomaly_range_k: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Colour range of every LST anomaly map, in K: set v and the anomaly COGs' "
        "QGIS styles (lst_anomaly, lst_anomaly_p90), the zone layers' classes of "
        "lst_anomaly_mean_k (7 equal classes of [-v, v], the end ones open beyond) and the "
        "report's anomaly map all span [-v, v]; values beyond take the end colours, labelled "
        "<= -v and >= v. Give two runs the same v to compare their maps colour for colour. "
        "Default null: each scale fitted to the run's own values (the scenarios' delta-LST "
        "maps always are).",
    )
    hash_inputs: bool = Field(
        True,
        description="Record the SHA-256 of every input file in manifest.json (the config's "
        "files and each product's files the run reads, an archive whole); false records "
        "sizes only. Hashing reads each file once more, about 1 s per 2 GB. Default true.",
    )
    report: bool = Field(True, description="Write report.html. Default true.")
    report_language: Literal["fr", "en"] = Field(
        "fr", description="Language of report.html: fr or en. Default 'fr'."
    )
    overwrite: bool = Field(
        False, description="Replace the outputs of a previous run in folder. Default false."
    )

    @field_validator("rasters")
    @classmethod
    def _names(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if names is None:
            return None
        for name in names:
            if not is_run_raster(name):
                raise ValueError(
                    f"unknown raster {name!r}; a run writes lst_<statistic> (a statistic of "
                    f"composite.statistics) and {', '.join(_RASTER_SINGLES)}"
                )
        return _unique(names, "raster")

    @field_validator("zone_formats")
    @classmethod
    def _distinct(cls, formats: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(formats, "format")


def is_run_raster(name: str) -> bool:
    """Whether a run may write ``rasters/<name>.tif`` (some ``outputs.rasters`` accepts it)."""
    return name in _RASTER_SINGLES or _raster_statistic(name) is not None


def _raster_statistic(name: str) -> tuple[str, str] | None:
    """Split an LST composite's name ``lst_<statistic>`` into ``("lst", statistic)``, or None."""
    if name.startswith("lst_") and _is_statistic(name[4:]):
        return "lst", name[4:]
    return None


# ------------------------------------------------------------------------------- scheduler


class SchedulerConfig(_Model):
    """How the computation runs: Dask scheduler, workers, tiles and chunks.

    A plain string is read as the kind, or as the address of a cluster (``tcp://...``).
    """

    kind: Literal["threads", "processes", "synchronous", "distributed"] = Field(
        "threads",
        description="Dask scheduler: threads, processes, synchronous (debugging) or distributed "
        "(a cluster at `address`). Default 'threads'.",
    )
    address: str | None = Field(
        None,
        description="Scheduler address of a Dask cluster, e.g. tcp://10.0.0.5:8786 (kind "
        "distributed). Default: none.",
    )
    workers: int | None = Field(
        None, ge=1, description="Worker threads or processes. Default: one per CPU."
    )
    worker_timeout_s: float = Field(
        60,
        gt=0,
        description="Seconds a run on a Dask cluster (`address`) waits for a first worker to "
        "join its scheduler before it stops and says so. Default 60.",
    )
    tile_size_px: int | Literal["auto"] = Field(
        "auto",
        description="Processing tile edge in pixels (a multiple of chunk_px), or auto: the "
        "whole grid in one piece when the memory the run expects (as --dry-run prints it) "
        "fits in half of this machine's (or container's), else the largest tile that does; "
        "4096 on a Dask cluster, whose workers' memory the plan cannot see. A run in "
        "several tiles computes and checkpoints them in turn; the last tile of a row or "
        "column takes in a leftover strip narrower than 1/8 of the edge. Default auto.",
    )
    chunk_px: int = Field(
        2048,
        ge=512,
        description="Dask chunk edge in pixels, a multiple of 512 (the COG block). Default 2048.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):  # an address has a port: `host:8786` is one without tcp://
            data = {"address": data} if ":" in data else {"kind": data}
        if isinstance(data, dict) and data.get("address") and "kind" not in data:
            data = {**data, "kind": "distributed"}
        return data

    @field_validator("tile_size_px", mode="before")
    @classmethod
    def _tile_size(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() != "auto" and not value.strip().isdigit():
            raise ValueError(f"must be auto or a number of pixels, e.g. 4096 (got {value!r})")
        return value.strip() if isinstance(value, str) else value

    @field_validator("address")
    @classmethod
    def _address(cls, address: str | None) -> str | None:
        return scheduler_address(address) if address is not None else None

    @model_validator(mode="after")
    def _check(self) -> SchedulerConfig:
        if self.kind == "distributed" and self.address is None:
            raise key_error("address", "is required with kind distributed, e.g. tcp://host:8786")
        if self.kind != "distributed" and self.address is not None:
            raise key_error("address", f"needs kind distributed (got kind {self.kind})")
        if self.chunk_px % 512:
            raise key_error(
                "chunk_px", f"must be a multiple of 512, e.g. 2048 (got {self.chunk_px})"
            )
        size = self.tile_size_px
        if size != "auto" and (size < 512 or size % self.chunk_px):
            raise key_error(
                "tile_size_px",
                f"must be auto or a multiple of chunk_px {self.chunk_px} (got {size}); for "
                "smaller tiles lower scheduler.chunk_px too (a multiple of 512)",
            )
        return self


def scheduler_address(address: str) -> str:
    """Return a Dask scheduler's address as given (stripped), or say how to write it.

    Parameters
    ----------
    address
        ``tcp://HOST:PORT`` (or ``tls://``, ``ucx://``, ``ws://``, ``wss://``, ``inproc://``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Not an address Dask can connect to: no protocol (``10.0.0.5:8786``), no port
        (``tcp://10.0.0.5``), or another protocol (``http://``); the message gives the
        ``tcp://`` form.
    """
    text = address.strip()
    if _ADDRESS.fullmatch(text):
        return text
    named = _HOST_PORT.fullmatch(text)
    if named is None:
        raise ValueError(
            f"{text!r} is not a Dask scheduler address; use e.g. tcp://10.0.0.5:"
            f"{DEFAULT_SCHEDULER_PORT}"
        )
    suggested = f"tcp://{named[1]}:{named[2] or DEFAULT_SCHEDULER_PORT}"
    if named[2] is None:
        why = f"has no port (a scheduler listens on {DEFAULT_SCHEDULER_PORT} by default)"
    elif "://" in text:
        why = "is not one Dask connects to (tcp://, tls://, ucx://, ws://, wss://)"
    else:
        why = "needs its protocol"
    raise ValueError(f"the Dask scheduler address {text!r} {why}; use e.g. {suggested}")


# ------------------------------------------------------------------------------------- run


class RunConfig(_Model):
    """A whole run: what to read, how to process it, what to write.

    Build it with :func:`~pipelines.config.load_config` (YAML file) or
    :func:`~pipelines.config.config_from_dict`; write it back with
    :func:`~pipelines.config.dump_config`.
    """

    version: Literal[1] = Field(
        CONFIG_VERSION, description="Config schema version. Default 1 (the only one)."
    )
    name: str | None = Field(
        None, description="Run title in the report, e.g. 'Toulouse, summer 2023'. Default: none."
    )
    aoi: AOIConfig = Field(description="Area of interest. Required.")
    periods: PeriodsConfig = Field(description="Acquisition periods. Required.")
    inputs: InputsConfig = Field(description="Satellite products. Required.")
    grid: GridConfig = Field(
        default_factory=dict, validate_default=True, description="Analysis grid."
    )
    mask: MaskConfig = Field(
        default_factory=dict, validate_default=True, description="Cloud and quality masks."
    )
    composite: CompositeConfig = Field(
        default_factory=dict, validate_default=True, description="Temporal composites."
    )
    heat_island: HeatIslandConfig = Field(
        default_factory=dict, validate_default=True, description="Heat-island reference."
    )
    landcover: LandcoverConfig = Field(
        default_factory=dict, validate_default=True, description="Land cover."
    )
    sharpen: SharpenConfig = Field(
        default_factory=dict, validate_default=True, description="Sharpened LST raster."
    )
    zones: ZonesConfig = Field(
        default_factory=dict, validate_default=True, description="Zone layers."
    )
    census: CensusConfig = Field(
        default_factory=dict, validate_default=True, description="Census tables."
    )
    inequality: InequalityConfig = Field(
        default_factory=dict, validate_default=True, description="Inequality statistics."
    )
    outputs: OutputsConfig = Field(
        default_factory=dict, validate_default=True, description="Outputs."
    )
    scheduler: SchedulerConfig = Field(
        default_factory=dict, validate_default=True, description="Computation."
    )
    scenarios: tuple[ScenarioSpec, ...] = Field(
        (),
        description="Planner scenarios run by `ilots scenarios` [{name, description, where, "
        "change}] (pipelines.config.scenarios). Default: none.",
    )
    scenario_model: ScenarioModelConfig = Field(
        default_factory=dict,
        validate_default=True,
        description="Model and skill check of the scenarios.",
    )

    @model_validator(mode="after")
    def _cross_check(self) -> RunConfig:
        layers = self.zones.names()
        if self.aoi.zones is not None and self.aoi.zones not in layers:
            configured = ", ".join(layers) if layers else "none"
            raise key_error(
                "aoi.zones",
                f"no zone layer {self.aoi.zones!r} (configured: {configured}); add it under zones",
            )
        for key in ("filosofi", "population", "population_column"):
            if getattr(self.census, key) is not None and self.zones.iris is None:
                raise key_error(f"census.{key}", "needs zones.iris (census tables are per IRIS)")
        if self.composite.indices_from == "sentinel2" and not self.inputs.sentinel2:
            raise key_error(
                "composite.indices_from", "is 'sentinel2' but inputs.sentinel2 lists no source"
            )
        for name in self.outputs.rasters or ():
            self._check_raster(name)
        zscore = "lst_zscore_mean"
        if zscore in self.inequality.outcomes and self.composite.anomaly_method != "zscore":
            raise key_error(
                "inequality.outcomes",
                f"{zscore} needs composite.anomaly_method: zscore (a run computes it then only)",
            )
        self._check_sharpen()
        self._check_scenarios(layers)
        self._check_dilation()
        self._warn_pixel_keys()
        return self

    def _check_dilation(self) -> None:
        resolution = self.grid.resolution
        radius = self.mask.dilate_pixels(resolution)
        if radius > _MAX_DILATE_PX:
            raise key_error(
                "mask.dilate_m",
                f"{self.mask.dilate_m:g} m is {radius} px of this {resolution:g} m grid; give "
                f"at most {_MAX_DILATE_PX} px ({_MAX_DILATE_PX * resolution:g} m here)",
            )

    def pixel_key_warnings(self) -> list[str]:
        """Return the warnings about its deprecated sizes in grid pixels (with the metres)."""
        resolution = self.grid.resolution
        said = []
        for section, pixel_size in (("landcover", resolution**2), ("mask", resolution)):
            model = getattr(self, section)
            metres, pixels = model._SIZE
            count = getattr(model, pixels)
            if count is not None:
                said.append(
                    f"{section}.{pixels} is deprecated: it counts grid pixels, whose size "
                    f"grid.resolution sets; write {section}.{metres}: {count * pixel_size:.15g} "
                    f"instead (the same {count} px on this {resolution:g} m grid)"
                )
        return said

    def _warn_pixel_keys(self) -> None:
        """Warn about a deprecated size in grid pixels, giving its equivalent in metres."""
        for text in self.pixel_key_warnings():
            warnings.warn(IlotsWarning(text, code="deprecated_key"), stacklevel=2)

    def _check_scenarios(self, layers: tuple[str, ...]) -> None:
        if self.scenarios and self.outputs.rasters is not None:
            # ilots scenarios reads these rasters of the run (pipelines.scenarios.baseline)
            needed = ["lst_anomaly", "ndvi_median", "landcover", self.scenario_model.target]
            if any(c.albedo is not None for s in self.scenarios for c in s.change):
                needed.append("albedo_median")
            missing = [n for n in dict.fromkeys(needed) if n not in self.outputs.rasters]
            if missing:
                raise key_error(
                    "outputs.rasters",
                    f"leaves out {', '.join(missing)}, which the scenarios read; add "
                    f"{'it' if len(missing) == 1 else 'them'}, or remove outputs.rasters to "
                    "write every raster",
                )
        seen: set[str] = set()
        for i, scenario in enumerate(self.scenarios):
            if scenario.name in seen:
                raise key_error(f"scenarios[{i}].name", f"{scenario.name!r} is used twice")
            seen.add(scenario.name)
            where = scenario.where
            if where.kind == "layer" and where.layer not in layers:
                configured = ", ".join(layers) if layers else "none"
                raise key_error(
                    f"scenarios[{i}].where.layer",
                    f"no zone layer {where.layer!r} in this run (configured: {configured}); "
                    "name one of them or add it under zones",
                )

    def _check_sharpen(self) -> None:
        if self.sharpen.enabled:
            if landsat_subdivision(self.grid.resolution) is None:
                raise key_error(
                    "sharpen.enabled",
                    f"sharpens the LST onto grid pixels finer than Landsat's 30 m that divide "
                    f"it, but grid.resolution is {self.grid.resolution:g}; set grid.resolution "
                    "to 10 or 15, or sharpen.enabled to false",
                )
        listed = self.outputs.rasters
        if listed is None or self.sharpen.enabled == ("lst_median_sharpened" in listed):
            return
        if self.sharpen.enabled:
            raise key_error(
                "outputs.rasters",
                "leaves out lst_median_sharpened, which sharpen.enabled writes; add it, or "
                "remove outputs.rasters to write every raster",
            )
        raise key_error("outputs.rasters", "lst_median_sharpened needs sharpen.enabled: true")

    def _check_raster(self, name: str) -> None:
        if name == "lst_zscore" and self.composite.anomaly_method != "zscore":
            raise key_error("outputs.rasters", "lst_zscore needs composite.anomaly_method: zscore")
        parts = _raster_statistic(name)
        if parts is not None and parts[1] not in ("median", "p90", *self.composite.statistics):
            raise key_error(
                "outputs.rasters",
                f"{name} needs {parts[1]} in composite.statistics "
                f"(now {list(self.composite.statistics)})",
            )
