"""Product metadata: every input product becomes a :class:`pystac.Item`.

Whatever the user points ilots at (a Landsat product folder, one of its ``_MTL`` files, the
``.tar`` as downloaded from USGS, a Sentinel-2 SAFE folder or the ``.zip`` the Copernicus
Data Space delivers, an Earth Search or Planetary Computer item JSON), :func:`open_product`
returns one STAC Item with the same shape, and :func:`raster.load.load_items` loads any list
of such Items onto one grid.

The Item contract
-----------------
Properties
    ``datetime`` (acquisition, UTC), ``platform`` (``landsat-8``, ``landsat-9``,
    ``sentinel-2a`` ...), ``ilots:product_type`` (one of :data:`raster.bands.PRODUCT_TYPES`),
    ``ilots:processing_level`` (``L2SP``, ``L2SR``, ``L1TP``, ``L2A`` ...), ``ilots:source``
    (the path that was read), ``eo:cloud_cover`` and ``view:sun_elevation`` where known,
    ``landsat:wrs_path`` / ``landsat:wrs_row`` / ``landsat:collection_number`` for Landsat,
    ``s2:processing_baseline`` (string ``"04.00"``), ``s2:mgrs_tile`` and, where the product
    name or datatake id tells it, ``ilots:datatake`` (``S2A_20200219T112111``: spacecraft and
    datatake sensing start, the same in every distributor's copy) for Sentinel-2.
Geometry
    The footprint in EPSG:4326 (the reference band's bounds, transformed), and its bbox.
Assets
    Keyed by *common band name* (:mod:`raster.bands`). Each has ``href`` (absolute local path,
    a GDAL ``/vsitar/`` or ``/vsizip/`` path, or a URL, signed where the catalogue signs),
    ``proj:code`` / ``proj:shape`` / ``proj:transform`` read from the file header when the
    file is local (never from the MTL, whose grid may not be the file's), and
    ``raster:bands`` with one entry giving ``data_type``, ``nodata``,
    ``scale``, ``offset`` and ``unit`` such that ``physical = DN * scale + offset``. For Landsat
    Level-1 reflective bands the scale and offset already include the division by
    ``sin(SUN_ELEVATION)``; Level-1 thermal bands are radiance and carry ``ilots:k1`` and
    ``ilots:k2`` (the scene's K1/K2 from the MTL). Sentinel-2 offsets follow the processing
    baseline (``-0.1`` from 04.00 on), never the date.

USGS gives a Level-2 product as two STAC items, its surface reflectance (``<id>_SR``,
collection ``landsat-c2l2-sr``) and its surface temperature (``<id>_ST``,
``landsat-c2l2-st``). An item JSON is read with the other half's JSON beside it
(``X_SR.json`` / ``X_ST.json``, ``X_SR_stac.json`` / ``X_ST_stac.json``), and
:func:`merge_halves` joins the halves gathered from anywhere else; an item of one half alone
carries ``ilots:usgs_half`` (``"SR"`` or ``"ST"``) and :func:`half_note` says what it lacks.
"""

from __future__ import annotations

from raster.sources.assets import RasterHeader, read_header, require_bands
from raster.sources.landsat import landsat_item
from raster.sources.landsat_build import BandScaling, band_scaling
from raster.sources.landsat_halves import HALF_PROPERTY, half_note, merge_halves
from raster.sources.mtl import LandsatMetadata, landsat_metadata, parse_mtl, read_mtl
from raster.sources.product import RECOGNISED_LAYOUTS, open_product, open_products
from raster.sources.sentinel2 import sentinel2_item
from raster.sources.sentinel2_safe import read_mtd_msil2a
from raster.sources.sentinel2_scaling import boa_scaling, parse_baseline
from tiles.errors import ProductNotFoundError

__all__ = [
    "HALF_PROPERTY",
    "RECOGNISED_LAYOUTS",
    "BandScaling",
    "LandsatMetadata",
    "ProductNotFoundError",
    "RasterHeader",
    "band_scaling",
    "boa_scaling",
    "half_note",
    "landsat_item",
    "landsat_metadata",
    "merge_halves",
    "open_product",
    "open_products",
    "parse_baseline",
    "parse_mtl",
    "read_header",
    "read_mtd_msil2a",
    "read_mtl",
    "require_bands",
    "sentinel2_item",
]
