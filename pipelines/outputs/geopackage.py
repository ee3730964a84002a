"""Write the zone layers to one GeoPackage, QGIS styles embedded, atomically.

GDAL (through geopandas/pyogrio) writes every layer into a temporary ``.gpkg`` beside the
target; then sqlite3 adds the ``layer_styles`` table QGIS reads and the file is renamed onto
the target. A failure at any step leaves the previous file (or none) and no temporary file.

The ``layer_styles`` table is the one QGIS's OGR provider creates when a user saves a style
"in the datasource database" (``QgsOgrProviderMetadata::saveStyle``: fields
``f_table_catalog``, ``f_table_schema``, ``f_table_name``, ``f_geometry_column`` (width 256),
``styleName`` (30), ``styleQML``, ``styleSLD``, ``useAsDefault`` (boolean), ``description``,
``owner`` (30), ``ui`` (30), ``update_time`` (datetime, default now), FID column ``id``),
spelled as GDAL's GeoPackage driver spells those fields in SQL. QGIS creates it through GDAL,
which registers it in ``gpkg_contents`` as an ``attributes`` table; we do the same, otherwise
the OGR provider does not see the table. QGIS loads, for a layer, the row whose
``f_table_schema`` is ``''``, ``f_table_name`` the layer name and ``f_geometry_column`` the
layer's geometry column, preferring ``useAsDefault``; the rows here match that query.

The file is replaced whole, but what QGIS saves in it is carried into the new one: its
projects ("Save to GeoPackage" keeps them in a ``qgis_projects`` table, which names the
layers by name, so they open on the new run's layers), the layers and tables a user saved
in it (:mod:`pipelines.outputs.gpkg_user_layers`: whole, with their spatial index; one
named as a layer the run writes kept under another name) and the styles a user saved in
``layer_styles`` for a layer the new file has. Anything else a user put there (a view, a
raster tile table, a table not listed in ``gpkg_contents``, a style of a layer gone) goes
with the old file, which a warning says before the new file takes its place.

Each layer carries a QGIS layer-metadata document (:func:`zone_layer_metadata`: title,
abstract, keywords, CRS, extent, period, licences and attribution of the sources, ilots
version) in the GeoPackage metadata extension (``gpkg_metadata``, referenced per table in
``gpkg_metadata_reference``), as QGIS writes it when a user saves a layer's metadata to the
GeoPackage (``md_standard_uri`` ``http://mrcc.com/qgis.dtd``): QGIS shows it in the layer's
properties, GDAL as the layer's ``GPKG_METADATA_ITEM_<n>``.

A user who edits a layer's metadata in QGIS and saves it to the GeoPackage (Layer Properties
› Metadata, ``QgsOgrProviderMetadata::saveLayerMetadata``) has QGIS rewrite that document in
place: it updates the ``metadata`` of the ``gpkg_metadata`` row the layer's
``gpkg_metadata_reference`` names, and no other column of either. So ilots keeps, beside
each document, a copy of the one it wrote (its record: a ``gpkg_metadata`` row of its own
standard, :data:`_RECORD_URI`, that the layer's reference names as ``md_parent_id``; no
reference names it, so neither GDAL nor QGIS lists it). A document that differs from its
record is the user's, and the new file carries it, as it carries the user's styles: the
layer's metadata stays what its user made it (their contacts, links, abstract), rather than
be reset by each run. What ilots writes of it may have changed meanwhile (other periods or
sources, extent, ilots version): the run then warns (kind ``layer_metadata_kept``), naming
the elements of its own document that changed since the one it last wrote (``abstract``,
``extent`` ...), for the user to update theirs in QGIS; the new file's record is ilots' new
document. A document without a record (a file of an earlier ilots) is the user's when it has
QGIS's ``<links>`` element, which QGIS always writes and ilots never did. QGIS's save also
sets the layer's ``gpkg_contents`` description (to the abstract) and identifier, and leaves
GDAL's own metadata of the layers (``md_standard_uri`` ``http://gdal.org``: the documents as
GDAL read them before the save): the new file has ilots' description and identifier (the
description says the units of the columns), and not GDAL's copies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pipelines.outputs._atomic import ilots_version, staged
from pipelines.outputs.folder import check_name
from pipelines.outputs.gpkg_user_layers import (
    FORMAT_PREFIXES,
    RECORD_URI,
    CarriedTables,
    carry_user_tables,
)
from pipelines.outputs.lock import file_lock
from pipelines.outputs.styles import _QGIS_VERSION, _serialise
from tiles.errors import CRSError, IlotsWarning, OutputError, ZonesError

__all__ = [
    "GPKG_VERSION",
    "INDEX_MEANS",
    "LANDCOVER_MAPS",
    "LAYER_STYLES_DDL",
    "QGIS_METADATA_URI",
    "SOURCES",
    "SYNTHETIC_MARK",
    "RunInputs",
    "Source",
    "has_values",
    "index_means_with_values",
    "landcover_map_source",
    "user_content",
    "write_zones_gpkg",
    "zone_layer_description",
    "zone_layer_metadata",
]

#: GeoPackage version written. GDAL >= 3.7.1 writes 1.4 by default, which the GDAL of QGIS
#: releases still in use (3.22 with GDAL 3.6, Debian 12) reads with a "may only be partially
#: supported" warning; ilots uses nothing newer than 1.2.
GPKG_VERSION = "1.2"
#: First words of the description of every layer of synthetic data (the demo's) ilots writes.
SYNTHETIC_MARK = "SYNTHETIC DATA (ilots demo, not a real place). "

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"  # the ISO-8601 form GDAL expects in a GPKG

#: ``layer_styles`` as QGIS defines it (through GDAL's GeoPackage driver).
LAYER_STYLES_DDL = f"""CREATE TABLE "layer_styles" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "f_table_catalog" TEXT(256),
  "f_table_schema" TEXT(256),
  "f_table_name" TEXT(256),
  "f_geometry_column" TEXT(256),
  "styleName" TEXT(30),
  "styleQML" TEXT,
  "styleSLD" TEXT,
  "useAsDefault" BOOLEAN,
  "description" TEXT,
  "owner" TEXT(30),
  "ui" TEXT(30),
  "update_time" DATETIME DEFAULT ({_NOW})
)"""

#: The metadata extension's tables (OGC GeoPackage §F.8), as GDAL's GeoPackage driver creates them.
_METADATA_DDL = (
    """CREATE TABLE gpkg_metadata (
  id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
  md_scope TEXT NOT NULL DEFAULT 'dataset',
  md_standard_uri TEXT NOT NULL,
  mime_type TEXT NOT NULL DEFAULT 'text/xml',
  metadata TEXT NOT NULL DEFAULT ''
)""",
    f"""CREATE TABLE gpkg_metadata_reference (
  reference_scope TEXT NOT NULL,
  table_name TEXT,
  column_name TEXT,
  row_id_value INTEGER,
  timestamp DATETIME NOT NULL DEFAULT ({_NOW}),
  md_file_id INTEGER NOT NULL,
  md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id)
)""",
)
_EXTENSIONS_DDL = """CREATE TABLE gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
)"""
#: The standard of the QGIS layer-metadata documents (what QGIS writes in ``gpkg_metadata``).
QGIS_METADATA_URI = "http://mrcc.com/qgis.dtd"
#: ISO 19115 topic categories of every zone layer (QGIS's "gmd:topicCategory" vocabulary).
_TOPICS = ("climatologyMeteorologyAtmosphere", "environment", "society")
#: The standard of ilots' record of the document it wrote for a layer (see the module's
#: docstring): a copy, which a user's save in QGIS leaves as it is.
_RECORD_URI = RECORD_URI
#: What a warning says to check in a kept document of a file without ilots' record.
_EARLIER = "compare its extent, periods and licences with the run's"

_RESERVED = FORMAT_PREFIXES
#: What the description of every zone layer a run writes holds (:func:`zone_layer_description`).
_LAYER_MARK = "ilots: one row per "
#: How much later than ilots' write of a layer its ``gpkg_contents.last_change`` must be for
#: the layer to be taken as edited since (GDAL moves it on each change of a table's columns
#: or rows; a metadata or style saved in QGIS leaves it).
_EDIT_TOLERANCE = dt.timedelta(seconds=1)


def _layer_noun(layer: str) -> str:
    """Name what one row of zone layer ``layer`` is (``IRIS``, ``QPV (…)``, ``parks zone``)."""
    return {"iris": "IRIS", "qpv": "QPV (quartier prioritaire)"}.get(layer, f"{layer} zone")


def zone_layer_description(
    layer: str,
    columns: Iterable[str] | None = None,
    years: Mapping[str, int | None] | None = None,
    *,
    synthetic: bool = False,
    over_land: Iterable[str] = (),
) -> str:
    """Return the gpkg_contents description of a run's zone layer: its rows and units.

    The census columns (``disp_med``, ``population``) are described when ``columns`` holds
    them (all of them when ``columns`` is None), with the year of their table when ``years``
    gives it (``{"filosofi": 2021, "population": 2020}``). ``synthetic``: the run read the
    demo's synthetic products and tables, which the description says first (its census
    columns are then not INSEE's). ``over_land``: the layer's index means that are means
    over each zone's land, which the description says: with water left out of the NDVI and
    albedo composites (``mask.indices_keep_water`` false), those of :data:`INDEX_MEANS`
    with values (:func:`index_means_with_values`).
    """
    what = _layer_noun(layer)
    years = years or {}
    income_year = f" {years['filosofi']}" if years.get("filosofi") else ""
    census_year = f" (INSEE census {years['population']})" if years.get("population") else ""
    census = {
        "disp_med": "disp_med median disposable income per consumption unit (EUR/year, INSEE "
        f"Filosofi{income_year})",
        "population": f"population residents{census_year}",
    }
    if synthetic:
        census = {
            "disp_med": "disp_med synthetic median income per consumption unit (EUR/year, in "
            "INSEE Filosofi's format)",
            "population": "population synthetic residents",
        }
    names = None if columns is None else set(columns)
    held = census if names is None else {k: v for k, v in census.items() if k in names}
    means = set(over_land)
    land = [c for c in INDEX_MEANS if c in means]
    said = [f"{' and '.join(land)} over the zone's land (water left out)"] if land else []
    return (
        (SYNTHETIC_MARK if synthetic else "")
        + f"{_LAYER_MARK}{what}. Units by column suffix: _k kelvin, _m2 square metres, "
        f"_frac share 0-1, _pct percent 0-100; ndvi and albedo unitless"
        + "".join(f"; {text}" for text in [*said, *held.values()])
        + "."
    )


#: The zone columns that are means of the NDVI and albedo composites.
INDEX_MEANS = ("ndvi_mean", "albedo_mean")


def index_means_with_values(frame: pd.DataFrame) -> list[str]:
    """Return the columns of :data:`INDEX_MEANS` ``frame`` has with at least one number.

    A run without NDVI has none; one without the blue and SWIR bands no ``albedo_mean``.

    Parameters
    ----------
    frame
        A zone table of the run (``zones.gpkg``'s layer before it is written).

    Returns
    -------
    list of str
        Those columns, in :data:`INDEX_MEANS`' order (what a layer's description says is
        over land: :func:`zone_layer_description`'s ``over_land``).
    """
    return [column for column in INDEX_MEANS if has_values(frame, column)]


def has_values(frame: pd.DataFrame, column: str) -> bool:
    """Whether ``frame`` has ``column`` with at least one number (the report's test too)."""
    if column not in frame.columns:
        return False
    return bool(pd.to_numeric(frame[column], errors="coerce").notna().any())


@dataclass(frozen=True)
class Source:
    """An input a run may read, as the layer metadata names it.

    Attributes
    ----------
    name
        What it is and who publishes it (``"IGN Contours... IRIS"``).
    licence
        The licence it is published under.
    attribution
        The mention its licence asks of a reuse; ``{years}`` is replaced by the run's years.
    """

    name: str
    licence: str
    attribution: str


_ETALAB = "Licence Ouverte / Open Licence 2.0 (Etalab)"

#: The inputs whose licence and attribution the layer metadata carries, by key.
SOURCES: dict[str, Source] = {
    "landsat": Source(
        "USGS Landsat 8-9 Collection 2",
        "public domain: USGS-authored data carry no copyright",
        "Landsat imagery courtesy of the U.S. Geological Survey",
    ),
    "sentinel2": Source(
        "Copernicus Sentinel-2 (ESA)",
        "free, full and open access under the Copernicus Sentinel data terms "
        "(Regulation (EU) No 1159/2013)",
        "Contains modified Copernicus Sentinel data {years}",
    ),
    "iris": Source("IGN Contours... IRIS", _ETALAB, "IGN - INSEE, Contours... IRIS"),
    "qpv": Source(
        "ANCT quartiers prioritaires de la politique de la ville (QPV)",
        _ETALAB,
        "ANCT, quartiers prioritaires de la politique de la ville",
    ),
    "filosofi": Source("INSEE Filosofi (income)", _ETALAB, "Source: INSEE, Filosofi"),
    "population": Source(
        "INSEE recensement de la population", _ETALAB, "Source: INSEE, recensement"
    ),
}


#: The land-cover maps the shipped mappings are named for (a mapping named ``corine`` or
#: ``corine_...`` is CORINE's), as :data:`SOURCES`: ``{year}`` is the map's own year, left
#: out when it is not known.
LANDCOVER_MAPS: dict[str, Source] = {
    "worldcover": Source(
        "ESA WorldCover 10 m",
        "CC BY 4.0 (Creative Commons Attribution 4.0 International)",
        "© ESA WorldCover project {year} / Contains modified Copernicus Sentinel data ({year}) "
        "processed by ESA WorldCover consortium",
    ),
    "oso": Source(
        "Theia OSO land cover by the CES Occupation des sols, CESBIO",
        _ETALAB,
        "Theia, CES Occupation des sols (CESBIO), carte OSO {year}",
    ),
    "corine": Source(
        "CORINE Land Cover (Copernicus Land Monitoring Service, EEA)",
        "free, full and open access under the Copernicus data policy (Regulation (EU) No "
        "1159/2013), with attribution",
        "© European Union, Copernicus Land Monitoring Service {year}, European Environment "
        "Agency (EEA)",
    ),
}


def landcover_map_source(mapping: Any, file_name: str, year: int | None) -> Source:
    """Return the external land-cover map of a run as its layers' metadata names it.

    Parameters
    ----------
    mapping
        ``landcover.external.mapping``: a shipped mapping's name tells the product
        (:data:`LANDCOVER_MAPS`), whose licence and attribution (with ``year``) are given; a
        table tells none, and the map is named by its file with its licence unknown.
    file_name
        The map's file name.
    year
        The year the map shows, or None (its attribution then says none).

    Returns
    -------
    Source
        Its attribution written out (no ``{years}`` left); empty for a map of a table.
    """
    product = next(
        (key for key in LANDCOVER_MAPS if isinstance(mapping, str) and mapping.startswith(key)),
        None,
    )
    if product is None:
        return Source(
            f"land-cover map {file_name}",
            "not known to ilots: see the terms of the map's publisher",
            "",
        )
    known = LANDCOVER_MAPS[product]
    attribution = (
        known.attribution.format(year=year)
        if year is not None
        else known.attribution.replace(" ({year})", "").replace(" {year}", "")
    )
    return Source(f"{known.name} ({file_name})", known.licence, attribution)


@dataclass(frozen=True)
class RunInputs:
    """What a run read, for its layers' metadata (:func:`zone_layer_metadata`).

    Attributes
    ----------
    periods
        The acquisition periods, first and last day of each (both included).
    sources
        Keys of :data:`SOURCES` the run read, in the order to name them.
    synthetic
        The run read the demo's synthetic products and tables (in those sources' formats).
    landcover_map
        The external land-cover map the run read (:func:`landcover_map_source`), if any.

    Raises
    ------
    ValueError
        A source that is no key of :data:`SOURCES`, or a period that ends before it starts.
    """

    periods: tuple[tuple[dt.date, dt.date], ...] = ()
    sources: tuple[str, ...] = ()
    synthetic: bool = False
    landcover_map: Source | None = None

    def __post_init__(self) -> None:
        unknown = [key for key in self.sources if key not in SOURCES]
        if unknown:
            raise ValueError(f"unknown sources {unknown}; choose among {sorted(SOURCES)}")
        for start, end in self.periods:
            if end < start:
                raise ValueError(f"period {start} - {end} ends before it starts; swap them")


def zone_layer_metadata(layer: str, frame: gpd.GeoDataFrame, inputs: RunInputs) -> str:
    """Return the QGIS layer-metadata document of a run's zone layer.

    The XML QGIS writes in ``gpkg_metadata`` when a user saves a layer's metadata to its
    GeoPackage (``QgsLayerMetadata::writeMetadataXml``, elements in its order): title,
    a one-sentence abstract (what the layer is, the run's periods and inputs; "SYNTHETIC
    DATA" first for the demo's), ISO topic categories and keywords, the licence and
    attribution of each source (none for synthetic data, which have no third party), the
    ilots version (history), and the layer's CRS, extent and periods.

    Parameters
    ----------
    layer
        Layer name (``iris``, ``qpv``, or an extra zone layer's).
    frame
        The layer, in the CRS it is written in (which must be set).
    inputs
        The run's periods and sources.

    Returns
    -------
    str
        The document, with QGIS's doctype.

    Raises
    ------
    CRSError
        The layer has no CRS.
    """
    if frame.crs is None:
        raise CRSError(
            f"zone layer {layer!r} has no CRS: set it (GeoDataFrame.set_crs) before writing "
            "its metadata"
        )
    what = _layer_noun(layer)
    root = ET.Element("qgis", {"version": _QGIS_VERSION})
    for tag, text in (
        ("identifier", f"ilots:{layer}"),
        ("parentidentifier", ""),
        ("language", "en"),
        ("type", "dataset"),
        ("title", ("SYNTHETIC " if inputs.synthetic else "") + f"Urban heat island per {what}"),
        ("abstract", _abstract(what, inputs)),
    ):
        ET.SubElement(root, tag).text = text
    for vocabulary, words in (
        ("gmd:topicCategory", _TOPICS),
        ("ilots", ("urban heat island", "land surface temperature", "NDVI", "land cover",
                   "inequality", what.split()[0], "ilots")),
    ):  # fmt: skip
        keywords = ET.SubElement(root, "keywords", {"vocabulary": vocabulary})
        for word in words:
            ET.SubElement(keywords, "keyword").text = word
    ET.SubElement(root, "history").text = f"Written by ilots {ilots_version()}"
    ET.SubElement(root, "fees").text = ""
    for tag, text in _rights(inputs):
        ET.SubElement(root, tag).text = text
    ET.SubElement(root, "encoding").text = ""
    root.append(_crs_element(frame))
    root.append(_extent_element(frame, inputs.periods))
    return _serialise(root)  # with QGIS's doctype, as the styles


def _abstract(what: str, inputs: RunInputs) -> str:
    """Return the one-sentence abstract of a zone layer (see :func:`zone_layer_metadata`)."""
    names = [source.name for source in _read(inputs)]
    read = (
        f"synthetic products and tables in the formats of {', '.join(names)}"
        if inputs.synthetic
        else ", ".join(names)
    )
    periods = " and ".join(
        f"{start.isoformat()} to {end.isoformat()}" for start, end in inputs.periods
    )
    return (
        (SYNTHETIC_MARK if inputs.synthetic else "")
        + f"Urban heat island statistics (land surface temperature and its anomaly, "
        f"vegetation, land cover) per {what}, computed by ilots"
        + (f" over {periods}" if periods else "")
        + (f" from {read}" if read else "")
        + "."
    )


def _rights(inputs: RunInputs) -> list[tuple[str, str]]:
    """Return the ``rights`` (attributions) and ``license`` elements of the sources read.

    Of a synthetic run (the demo), none but those of a real land-cover map it was given.
    """
    own = inputs.landcover_map
    if inputs.synthetic:
        if own is None:
            return [("rights", "Synthetic data written by the ilots demo: no third-party data.")]
        read = [own]  # the demo city with a real land-cover map over it: the map's credit
        rights = ["Synthetic data written by the ilots demo, but for its land-cover map."]
    else:
        read = _read(inputs)
        years = _years_text(sorted({day.year for period in inputs.periods for day in period}))
        rights = [SOURCES[key].attribution.format(years=years).strip() for key in inputs.sources]
    if own is not None and own.attribution:
        rights.append(own.attribution)  # with its own year, written out
    return [("rights", text) for text in rights] + [
        ("license", f"{source.name}: {source.licence}") for source in read
    ]


def _read(inputs: RunInputs) -> list[Source]:
    """Return the sources a run read: those of :data:`SOURCES`, then its land-cover map."""
    own = [] if inputs.landcover_map is None else [inputs.landcover_map]
    return [SOURCES[key] for key in inputs.sources] + own


def _years_text(years: list[int]) -> str:
    """Write sorted years as an attribution does: ``2023``, ``2021-2023``, ``2019, 2023``."""
    if len(years) > 1 and years[-1] - years[0] == len(years) - 1:
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(year) for year in years)


def _crs_element(frame: gpd.GeoDataFrame) -> ET.Element:
    """Build the layer's CRS as QGIS writes it (``QgsCoordinateReferenceSystem::writeXml``)."""
    crs = frame.crs
    authority = crs.to_authority()
    authid = ":".join(authority) if authority else ""
    element = ET.Element("crs")
    srs = ET.SubElement(element, "spatialrefsys")
    for tag, text in (
        ("wkt", crs.to_wkt("WKT2_2019")),
        ("srid", authority[1] if authority and authority[0] == "EPSG" else ""),
        ("authid", authid),
        ("description", crs.name),
        ("geographicflag", "true" if crs.is_geographic else "false"),
    ):
        ET.SubElement(srs, tag).text = text
    return element


def _extent_element(
    frame: gpd.GeoDataFrame, periods: tuple[tuple[dt.date, dt.date], ...]
) -> ET.Element:
    """Build the layer's bounds in its CRS and the run's periods (QGIS's ``<extent>``)."""
    element = ET.Element("extent")
    if not frame.is_empty.all():  # an empty layer has no bounds
        authority = frame.crs.to_authority()
        minx, miny, maxx, maxy = (repr(float(v)) for v in frame.total_bounds)
        ET.SubElement(element, "spatial", {
            "crs": ":".join(authority) if authority else "", "dimensions": "2",
            "minx": minx, "miny": miny, "minz": "0", "maxx": maxx, "maxy": maxy, "maxz": "0",
        })  # fmt: skip
    temporal = ET.SubElement(element, "temporal")
    for start, end in periods:
        period = ET.SubElement(temporal, "period")
        ET.SubElement(period, "start").text = f"{start.isoformat()}T00:00:00Z"
        ET.SubElement(period, "end").text = f"{end.isoformat()}T23:59:59Z"
    return element


def write_zones_gpkg(
    path: str | os.PathLike[str],
    layers: Mapping[str, gpd.GeoDataFrame],
    styles: Mapping[str, str] | None = None,
    *,
    descriptions: Mapping[str, str] | None = None,
    slds: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write zone layers to one GeoPackage with their QGIS styles; replace ``path`` atomically.

    Parameters
    ----------
    path
        Target ``.gpkg`` (``RunFolder.zones_gpkg``); its folder must exist.
    layers
        Layer name → GeoDataFrame, written in this order, each in its own CRS.
    styles
        Layer name → QML (see :mod:`pipelines.outputs.styles`); each becomes the default
        style (``useAsDefault = 1``) of its layer in ``layer_styles``.
    descriptions
        Layer name → description stored in ``gpkg_contents`` (e.g. units of the columns).
    slds
        Layer name → the same style as SLD (``styleSLD``, for other programs than QGIS);
        only for a layer with a style.
    metadata
        Layer name → QGIS layer-metadata document (:func:`zone_layer_metadata`), stored in
        the GeoPackage metadata extension; a document a user saved in QGIS for the layer in
        the file replaced stays the layer's instead (see the module's docstring).

    Returns
    -------
    Path
        The target.

    Raises
    ------
    ValueError
        No layers, a bad or reserved layer name, a style, description or metadata for a
        layer not given, an SLD for a layer without a style, or a target not ending in
        ``.gpkg``.
    CRSError
        A layer without a CRS.
    ZonesError
        A layer that is not a GeoDataFrame or has no active geometry column.
    """
    target = Path(path)
    if target.suffix.lower() != ".gpkg":
        raise ValueError(f"a GeoPackage path must end in .gpkg; got {target.name}")
    if not layers:
        raise ValueError("no zone layers to write; pass at least one GeoDataFrame")
    styles, slds = dict(styles or {}), dict(slds or {})
    descriptions, metadata = dict(descriptions or {}), dict(metadata or {})
    for what, names, among in (
        ("styles", styles, layers),
        ("descriptions", descriptions, layers),
        ("metadata", metadata, layers),
        ("SLD styles", slds, styles),
    ):
        extra = sorted(set(names) - set(among))
        if extra:
            given = "among the layers" if among is layers else "layers with a QML style"
            raise ValueError(f"{what} given for {extra}, which are not {given}")
    for name, frame in layers.items():
        _check_layer(name, frame)

    # Held from the reading of the file (the QGIS tables carried) to its renaming: an
    # ``ilots zonal`` adding a layer meanwhile is waited for, not lost.
    with file_lock(target, wait=True):
        check_closed(target)
        _write_staged(target, layers, styles, slds, descriptions, metadata)
    return target


def _write_staged(
    target: Path,
    layers: Mapping[str, gpd.GeoDataFrame],
    styles: Mapping[str, str],
    slds: Mapping[str, str],
    descriptions: Mapping[str, str],
    metadata: Mapping[str, Any],
) -> None:
    """Write :func:`write_zones_gpkg`'s new ``target`` under a temporary name, then rename it."""
    with staged(target) as staging:
        for name, frame in layers.items():
            options = {"DESCRIPTION": descriptions[name]} if name in descriptions else {}
            frame.to_file(
                staging, layer=name, driver="GPKG", layer_options=options,
                dataset_options={"VERSION": GPKG_VERSION},
            )  # fmt: skip
        if styles:
            _add_layer_styles(staging, styles, slds)
        if metadata:
            _add_metadata(staging, metadata)
            _carry_metadata(target, staging, layers)
        replaced = _carry_qgis_tables(target, staging, layers)
        _warn_of_what_goes(target, staging, replaced)


def _check_layer(name: str, frame: object) -> None:
    check_name(name, "zone layer")
    if name.lower() == "layer_styles" or name.lower().startswith(_RESERVED):
        raise ValueError(f"layer name {name!r} is reserved in a GeoPackage; choose another")
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ZonesError(f"zone layer {name!r} is a {type(frame).__name__}, not a GeoDataFrame")
    if frame._geometry_column_name not in frame.columns:
        raise ZonesError(f"zone layer {name!r} has no active geometry column; set_geometry() it")
    if frame.crs is None:
        raise CRSError(f"zone layer {name!r} has no CRS; set it with .set_crs() before writing")


def _add_layer_styles(gpkg: Path, styles: Mapping[str, str], slds: Mapping[str, str]) -> None:
    """Create ``layer_styles`` as QGIS does, register it, and insert one default style per layer.

    Each row holds the layer's QML (``styles``) and its SLD (``slds``; empty without one).
    """
    description = f"ilots {ilots_version()} default style"
    with closing(sqlite3.connect(gpkg)) as con, con:
        geometry_columns = dict(
            con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns")
        )
        con.execute(LAYER_STYLES_DDL)
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            f"last_change, srs_id) VALUES ('layer_styles', 'attributes', 'layer_styles', "
            f"'QGIS layer styles', {_NOW}, 0)"
        )
        for layer, qml in styles.items():
            geometry = geometry_columns.get(layer, "geom")
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                f"owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, '', NULL, {_NOW})",
                (layer, geometry, layer, qml, slds.get(layer, ""), description),
            )


def _add_metadata(gpkg: Path, metadata: Mapping[str, str]) -> None:
    """Write each layer's QGIS metadata document in the GeoPackage metadata extension.

    The tables and their ``gpkg_extensions`` rows as GDAL creates them (``gpkg_metadata``
    scope ``read-write``), one ``dataset`` document per layer, referenced by its table, with
    ilots' record of it as its parent (:data:`_RECORD_URI`).
    """
    definition = (
        f"http://www.geopackage.org/spec{GPKG_VERSION.replace('.', '')}0/#extension_metadata"
    )
    with closing(sqlite3.connect(gpkg)) as con, con:
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
        if "gpkg_extensions" not in tables:
            con.execute(_EXTENSIONS_DDL)
        for table, ddl in zip(
            ("gpkg_metadata", "gpkg_metadata_reference"), _METADATA_DDL, strict=True
        ):
            if table not in tables:
                con.execute(ddl)
            con.execute(
                "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, "
                "definition, scope) SELECT ?, NULL, 'gpkg_metadata', ?, 'read-write' WHERE NOT "
                "EXISTS (SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND "
                "extension_name = 'gpkg_metadata')",
                (table, definition, table),
            )
        insert = (
            "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
            "VALUES ('dataset', ?, 'text/xml', ?)"
        )
        for layer, document in metadata.items():
            row = con.execute(insert, (QGIS_METADATA_URI, document)).lastrowid
            record = con.execute(insert, (_RECORD_URI, document)).lastrowid
            con.execute(
                "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, "
                f"timestamp, md_file_id, md_parent_id) VALUES ('table', ?, {_NOW}, ?, ?)",
                (layer, row, record),
            )


def _carry_metadata(target: Path, new: Path, layers: Iterable[str]) -> None:
    """Keep in ``new`` the layer-metadata documents a user saved in ``target``; warn of them.

    For each layer of ``new`` with a document, the one of ``target`` replaces it when it is
    the user's (:func:`_edited`) and of ilots' layer of that name in ``target``
    (:func:`_ilots_layers` for the ``layers`` written; a user's table of that name keeps
    its own, carried with it); the record stays ilots' new document. When ilots' document
    changed since the one it wrote in ``target`` (its elements: not only its form), or
    ``target`` kept no record of it, one :class:`~tiles.errors.IlotsWarning` (kind
    ``layer_metadata_kept``) names the layers and what changed. Nothing for a file that is
    not there or not a GeoPackage.
    """
    if not target.is_file():
        return
    try:
        with closing(_read_only(target)) as con:
            ours = _ilots_layers(con, "main", layers)
        saved = {name: doc for name, doc in _layer_documents(target).items() if name in ours}
    except sqlite3.DatabaseError:
        return
    written = _layer_documents(new)
    outdated = []
    with closing(sqlite3.connect(new)) as con, con:
        for layer, (row, ours, _) in written.items():
            _, document, record = saved.get(layer, (None, None, None))
            if document is None or not _edited(document, record):
                continue
            con.execute("UPDATE gpkg_metadata SET metadata = ? WHERE id = ?", (document, row))
            if record is None:
                outdated.append(f"{layer} (no record of what it wrote before: {_EARLIER})")
            elif changed := _changed_elements(record, ours):
                outdated.append(f"{layer} ({', '.join(changed)})")
    if outdated:
        warnings.warn(
            IlotsWarning(
                f"{target}: the layer metadata you saved in QGIS is kept, but what ilots writes "
                f"of it has changed since: {'; '.join(outdated)}; update these in QGIS (Layer "
                "Properties › Metadata, then Save to GeoPackage)",
                code="layer_metadata_kept",
            ),
            stacklevel=3,
        )


def _layer_documents(gpkg: Path) -> dict[str, tuple[int, str, str | None]]:
    """Return each layer's QGIS metadata document of ``gpkg``: its row, text and ilots' record.

    The document QGIS reads and saves, the first of the layer's (``reference_scope``
    ``table``, ``md_standard_uri`` :data:`QGIS_METADATA_URI`); the record None without one.
    """
    if not {"gpkg_metadata", "gpkg_metadata_reference"} <= _tables(gpkg):
        return {}
    with closing(_read_only(gpkg)) as con:
        rows = con.execute(
            "SELECT r.table_name, m.id, m.metadata, p.metadata FROM gpkg_metadata_reference r "
            "JOIN gpkg_metadata m ON m.id = r.md_file_id LEFT JOIN gpkg_metadata p ON "
            "p.id = r.md_parent_id AND p.md_standard_uri = ? WHERE r.reference_scope = 'table' "
            "AND m.md_standard_uri = ? ORDER BY m.id",
            (_RECORD_URI, QGIS_METADATA_URI),
        ).fetchall()
    documents: dict[str, tuple[int, str, str | None]] = {}
    for layer, row, document, record in rows:
        documents.setdefault(layer, (row, document, record))
    return documents


def _edited(document: str, record: str | None) -> bool:
    """Whether a layer's metadata ``document`` is a user's: not ilots' ``record`` of it.

    Without a record (a file of an earlier ilots): when it has QGIS's ``<links>`` element,
    which QGIS writes in every document it saves and ilots never wrote; or is not XML. An
    empty document (the column's default) is nobody's.
    """
    if not document.strip():
        return False
    if record is not None:
        return document != record
    try:
        return ET.fromstring(document).find("links") is not None
    except ET.ParseError:
        return True


def _changed_elements(before: str, after: str) -> list[str]:
    """Name the elements of ilots' document ``after`` that differ from ``before``'s.

    A record that is not XML (damaged) differs as a whole: ``["document"]``.
    """
    try:
        old, new = (_elements(document) for document in (before, after))
    except ET.ParseError:
        return ["document"]
    return [tag for tag in dict.fromkeys([*old, *new]) if old.get(tag) != new.get(tag)]


def _elements(document: str) -> dict[str, list[bytes]]:
    """Return the children of a metadata document's root by tag, each serialised."""
    elements: dict[str, list[bytes]] = {}
    for child in ET.fromstring(document):
        child.tail = None  # the indentation after it
        elements.setdefault(child.tag, []).append(ET.tostring(child))
    return elements


#: Styles ilots writes (:func:`_add_layer_styles`); a user's are the others.
_USER_STYLE = "description IS NULL OR description NOT LIKE 'ilots % default style'"
#: The journals SQLite keeps beside a database a program has open (or left after a crash).
_JOURNALS = ("-wal", "-journal")


def check_closed(gpkg: str | os.PathLike[str]) -> None:
    """Refuse to replace a GeoPackage another program has open with a journal beside it.

    A file QGIS edits is in WAL mode: its ``-wal`` beside it, renamed over, would be read
    into the new file (SQLite applies a journal it finds beside a file), which no program
    could then open. A journal left by a program that crashed is settled by opening the
    file once (what SQLite does to a hot journal), here; one that stays is a live program's.
    A file no program has open is then put out of WAL mode, so that reading it (its QGIS
    projects, carried into the new file) leaves no journal beside it.

    Raises
    ------
    OutputError
        ``"<gpkg> is open in another program (<gpkg>-wal beside it) ..."``.
    """
    gpkg = Path(gpkg)
    if not gpkg.is_file():
        return

    def journals() -> list[str]:
        return [f"{gpkg.name}{side}" for side in _JOURNALS if Path(f"{gpkg}{side}").exists()]

    if journals():
        with contextlib.suppress(sqlite3.DatabaseError), closing(_connect(gpkg)) as con:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if left := journals():
        raise OutputError(
            f"{gpkg} is open in another program ({' and '.join(left)} beside it), e.g. "
            "QGIS editing it: close that project (or remove its layers from it), then run "
            "again; replacing it now would leave a file no program can open"
        )
    with contextlib.suppress(sqlite3.DatabaseError), closing(_connect(gpkg)) as con:
        con.execute("PRAGMA journal_mode=DELETE").fetchone()


def _connect(gpkg: Path) -> sqlite3.Connection:
    """Open the SQLite file ``gpkg``, waiting at most a second for another program's lock."""
    return sqlite3.connect(gpkg, timeout=1)


@dataclass(frozen=True)
class _Replaced:
    """What a run's new file took of the file it replaces (:func:`_carry_qgis_tables`).

    Attributes
    ----------
    ours
        The layers ilots wrote in the old file (:func:`_ilots_layers`), but those edited.
    edited
        ilots' layers a user edited since (:func:`_edited_layers`), carried as theirs.
    carried
        The user's tables copied (and the edited layers).
    """

    ours: frozenset[str] = frozenset()
    edited: frozenset[str] = frozenset()
    carried: CarriedTables = field(default_factory=CarriedTables)

    @property
    def styles_renamed(self) -> dict[str, str]:
        """The user's tables renamed, whose styles follow them (an edited layer's stay)."""
        return {old: new for old, new in self.carried.renamed.items() if old not in self.edited}


def _carry_qgis_tables(target: Path, new: Path, written: Iterable[str]) -> _Replaced:
    """Copy into ``new`` the QGIS projects, the user's tables and layer styles of ``target``.

    The ``qgis_projects`` table whole (with its ``gpkg_contents`` row, if QGIS registered
    it), the user's own layers and tables (:func:`carry_user_tables`; ilots' layers are
    those of :func:`_ilots_layers`, for the layers ``written``), with ilots' layers a user
    edited since (:func:`_edited_layers`), and the ``layer_styles`` rows not written by
    ilots whose layer ``new`` has. Nothing for a file that is not there or not a GeoPackage.
    """
    if not target.is_file():
        return _Replaced()
    try:
        old_tables = _tables(target)
    except sqlite3.DatabaseError:
        return _Replaced()
    new_tables = _tables(new)
    with closing(sqlite3.connect(new.resolve().as_uri(), uri=True)) as con, con:
        con.execute("ATTACH DATABASE ? AS old", (f"{target.resolve().as_uri()}?mode=ro",))
        if "qgis_projects" in old_tables and "qgis_projects" not in new_tables:
            (ddl,) = con.execute(
                "SELECT sql FROM old.sqlite_master WHERE name = 'qgis_projects'"
            ).fetchone()
            con.execute(ddl)
            con.execute("INSERT INTO qgis_projects SELECT * FROM old.qgis_projects")
            if "gpkg_contents" in old_tables:
                con.execute(
                    "INSERT OR IGNORE INTO gpkg_contents SELECT * FROM old.gpkg_contents "
                    "WHERE table_name = 'qgis_projects'"
                )
        ours = _ilots_layers(con, "old", written)
        edited = _edited_layers(con, ours)
        carried = carry_user_tables(con, target, ours=ours, edited=edited)
        replaced = _Replaced(frozenset(ours - set(edited)), frozenset(edited), carried)
        theirs = {row[1] for row in con.execute("PRAGMA old.table_info(layer_styles)")}
        if "layer_styles" in new_tables and {"f_table_name", "styleName"} <= theirs:
            _carry_styles(con, theirs, replaced.styles_renamed)
        con.commit()
        con.execute("DETACH DATABASE old")
    return replaced


def _carry_styles(con: sqlite3.Connection, theirs: set[str], renamed: Mapping[str, str]) -> None:
    """Copy the user's styles of ``old.layer_styles`` (its columns ``theirs``) for our layers.

    A style of a user's table ``renamed`` in ``new`` goes to it under its new name. A user's
    default style of a layer stays its default: ilots' own is no longer one (QGIS takes the
    latest default).
    """
    ours = [row[1] for row in con.execute("PRAGMA main.table_info(layer_styles)")]
    names = [name for name in ours if name in theirs and name != "id"]
    layer = _renamed_sql(renamed)
    selected = ", ".join(layer if name == "f_table_name" else name for name in names)
    users = _user_style_filter(theirs)
    con.execute(
        f"INSERT INTO layer_styles ({', '.join(names)}) SELECT {selected} FROM old.layer_styles "
        f"WHERE ({users}) AND f_table_name IN (SELECT table_name FROM gpkg_contents)"
    )
    if "useAsDefault" in theirs:
        con.execute(
            f"UPDATE layer_styles SET useAsDefault = 0 WHERE NOT ({_USER_STYLE}) AND "
            f"f_table_name IN (SELECT {layer} FROM old.layer_styles WHERE ({users}) "
            "AND useAsDefault)"
        )


def _renamed_sql(renamed: Mapping[str, str]) -> str:
    """Return the SQL of ``f_table_name`` with the tables ``renamed`` under their new names."""
    if not renamed:
        return "f_table_name"
    cases = " ".join(f"WHEN {_literal(old)} THEN {_literal(new)}" for old, new in renamed.items())
    return f"CASE f_table_name {cases} ELSE f_table_name END"


def _literal(text: str) -> str:
    """Write ``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _user_style_filter(columns: set[str]) -> str:
    """Return the SQL filter of a user's rows in a ``layer_styles`` with ``columns``.

    ilots writes a description in each of its rows: without the column, all are a user's.
    """
    return _USER_STYLE if "description" in columns else "1"


def _warn_of_what_goes(target: Path, new: Path, replaced: _Replaced) -> None:
    """Warn that replacing ``target`` by ``new`` drops what the run neither wrote nor carried.

    A table or view that is no table of the format (``gpkg_*``, ``rtree_*``, ``sqlite_*``),
    not carried, and not in ``new`` (ilots' layers the run writes again; QGIS's tables it
    carries): a layer of an earlier run (``replaced.ours``) the run no longer writes, or a
    user's; the metadata of a user's table not carried with it; and a style of
    ``layer_styles`` that is not ilots' default one and not in ``new`` (under the new name
    of its layer, for the tables renamed). Said once (:class:`~tiles.errors.IlotsWarning`,
    kind ``user_tables_replaced``); nothing for a file that is not there or not a GeoPackage.
    """
    if not target.is_file():
        return
    try:
        lost = _not_ilots(target, _tables(new), _user_styles(new), replaced)
    except sqlite3.DatabaseError:  # not a GeoPackage (nor SQLite): nothing of a user's to say
        return
    if lost:
        warnings.warn(
            IlotsWarning(
                f"{target}: this run replaces it whole, and what it neither writes again nor "
                f"can carry into the new file is gone with it: {'; '.join(lost)}; keep "
                f"these in another file (a .qgz project, another GeoPackage), not in "
                f"{target.name}",
                code="user_tables_replaced",
            ),
            stacklevel=3,
        )


def _read_only(gpkg: Path) -> sqlite3.Connection:
    """Open the SQLite file ``gpkg`` read-only (a file QGIS holds open is left as it is)."""
    return sqlite3.connect(f"{gpkg.resolve().as_uri()}?mode=ro", uri=True)


def _tables(gpkg: Path) -> set[str]:
    """Return the names of the tables and views of the SQLite file ``gpkg``."""
    with closing(_read_only(gpkg)) as con:
        query = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
        return {name for (name,) in con.execute(query)}


def _user_styles(gpkg: Path) -> set[tuple[str, str]]:
    """Return the ``(styleName, f_table_name)`` of the user's styles in ``gpkg``."""
    if "layer_styles" not in _tables(gpkg):
        return set()
    with closing(_read_only(gpkg)) as con:
        query = f"SELECT styleName, f_table_name FROM layer_styles WHERE {_USER_STYLE}"
        return set(con.execute(query))


def _not_ilots(
    gpkg: Path, kept: set[str], kept_styles: set[tuple[str, str]], replaced: _Replaced
) -> list[str]:
    """Describe what of ``gpkg`` is not in the new file (tables ``kept``, styles ``kept_styles``).

    A table carried is kept under its new name, and so are its styles (but an edited layer's,
    which stay with the layer of that name).
    """
    names = _tables(gpkg)
    carried = replaced.carried.names
    with closing(_read_only(gpkg)) as con:
        kinds = dict(con.execute("SELECT name, type FROM sqlite_master"))
        lost = [
            _gone(con, name, kinds[name], replaced.ours)
            for name in sorted(names)
            if not name.lower().startswith(_RESERVED)
            and name not in carried
            and (name not in kept or name in replaced.edited)
        ] + replaced.carried.metadata_left
        renamed = replaced.styles_renamed
        if "layer_styles" in names:
            columns = {row[1] for row in con.execute("PRAGMA table_info(layer_styles)")}
            users = _user_style_filter(columns)
            styles = con.execute(f"SELECT styleName, f_table_name FROM layer_styles WHERE {users}")
            lost += [
                f"QGIS style {style!r} of layer {layer}"
                for style, layer in styles
                if (style, renamed.get(layer, layer)) not in kept_styles
            ]
    return lost


def user_content(gpkg: str | os.PathLike[str]) -> list[str]:
    """Describe the user's own tables, views, QGIS projects and styles in a ``zones.gpkg``.

    As ``table x``, ``QGIS style 's' of layer iris``: everything but ilots' layers
    (:func:`_ilots_layers`: in a file with ilots' marks, those marked; in one without, those
    it describes), the format's tables and ilots' default styles. Empty for a file that is
    not a GeoPackage (nor SQLite).
    """
    path = Path(gpkg)
    try:
        with closing(_read_only(path)) as con:
            tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
            ours = _ilots_layers(con, "main", tables)
        # layer_styles is ilots' too: the user's styles in it are said one by one.
        return _not_ilots(path, ours | {"layer_styles"}, set(), _Replaced())
    except sqlite3.DatabaseError:
        return []


def _gone(con: sqlite3.Connection, name: str, kind: str, ours: frozenset[str]) -> str:
    """Describe table (or view) ``name`` of ``con``, which a run drops, for its warning."""
    if name in ours:
        return f"layer {name} of an earlier run, which this run does not write"
    return f"{kind} {name}" + (_projects(con) if name == "qgis_projects" else "")


def _ilots_layers(con: sqlite3.Connection, schema: str, written: Iterable[str]) -> set[str]:
    """Return the layers ilots wrote in the GeoPackage ``schema`` of ``con``.

    Those it names as its own where only ilots writes: its default style in
    ``layer_styles``, its record of their metadata (a copy by GDAL or QGIS has neither);
    in a file with neither (written without styles nor metadata, or by an earlier ilots),
    those described as :func:`zone_layer_description` describes them that are named as a
    layer ``written`` by the run. A table with that description under another name is a
    user's copy of a layer (GDAL copies the description): kept, as any of the user's; and
    so is one in a file with ilots' marks that has none of them (an ilots layer a user
    edited, kept by an earlier run under its own name: :func:`_edited_layers`).
    """
    tables = {name for (name,) in con.execute(f"SELECT name FROM {schema}.sqlite_master")}
    ours = set(_ilots_writes(con, schema, tables))
    if "gpkg_contents" in tables and not ours:
        names = {name.lower() for name in written}
        ours |= {
            name
            for (name,) in con.execute(
                f"SELECT table_name FROM {schema}.gpkg_contents WHERE "
                "instr(coalesce(description, ''), ?)",
                (_LAYER_MARK,),
            )
            if name.lower() in names
        }
    return ours


def _ilots_writes(con: sqlite3.Connection, schema: str, tables: set[str]) -> dict[str, str]:
    """Return the layers of ``schema`` ilots named as its own, each with when it wrote them.

    The time of ilots' record of the layer's metadata (its reference's ``timestamp``), or
    of ilots' default style (``update_time``): the later, as ilots writes them after the
    layer, ISO-8601.
    """
    queries = []
    if "layer_styles" in tables and {"description", "update_time"} <= {
        row[1] for row in con.execute(f"PRAGMA {schema}.table_info(layer_styles)")
    }:
        queries.append((
            f"SELECT f_table_name, update_time FROM {schema}.layer_styles "
            f"WHERE NOT ({_USER_STYLE})", (),
        ))  # fmt: skip
    if {"gpkg_metadata", "gpkg_metadata_reference"} <= tables:
        queries.append((
            f"SELECT r.table_name, r.timestamp FROM {schema}.gpkg_metadata_reference r JOIN "
            f"{schema}.gpkg_metadata p ON p.id = r.md_parent_id WHERE p.md_standard_uri = ?",
            (_RECORD_URI,),
        ))  # fmt: skip
    writes: dict[str, str] = {}
    for sql, args in queries:
        for name, stamp in con.execute(sql, args):
            writes[name] = max(writes.get(name, ""), str(stamp or ""))
    return writes


def _edited_layers(con: sqlite3.Connection, ours: Iterable[str]) -> dict[str, str]:
    """Return the layers ``ours`` of ``old`` a user changed since ilots wrote them.

    A layer whose ``gpkg_contents.last_change`` is later, by more than
    :data:`_EDIT_TOLERANCE`, than ilots' write of it (:func:`_ilots_writes`): GDAL (QGIS's
    edits) moves it on each change of the table; not a metadata or style saved. A layer
    without either time is not. Name → what tells it, for the warning.
    """
    tables = {name for (name,) in con.execute("SELECT name FROM old.sqlite_master")}
    if "gpkg_contents" not in tables:
        return {}
    writes = _ilots_writes(con, "old", tables)
    changes = dict(con.execute("SELECT table_name, last_change FROM old.gpkg_contents"))
    edited = {}
    for name in sorted(ours):
        change, write = _instant(changes.get(name)), _instant(writes.get(name))
        if change is not None and write is not None and change > write + _EDIT_TOLERANCE:
            edited[name] = (
                f"last changed {change:%Y-%m-%d %H:%M:%S} UTC, after ilots wrote it "
                f"{write:%Y-%m-%d %H:%M:%S} UTC"
            )
    return edited


def _instant(stamp: object) -> dt.datetime | None:
    """Read a GeoPackage timestamp (ISO-8601, ``Z`` or no zone: UTC); None if it is not one."""
    try:
        instant = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def _projects(con: sqlite3.Connection) -> str:
    """Name the QGIS projects of QGIS's ``qgis_projects`` table (one row per project)."""
    try:
        names = [name for (name,) in con.execute("SELECT name FROM qgis_projects")]
    except sqlite3.DatabaseError:  # another table of that name
        return ""
    return f" (QGIS projects {', '.join(map(repr, names))})" if names else ""
