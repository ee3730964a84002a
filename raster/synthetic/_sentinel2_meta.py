"""Sentinel-2 L2A metadata for the synthetic writers: band facts, names, MTD XML, STAC item.

The XML layouts copy real ``MTD_MSIL2A.xml`` / ``MTD_TL.xml`` files (baselines 02.12 and 05.09,
stactools-sentinel2 test data) and the STAC item copies a real Earth Search v1
``sentinel-2-l2a`` item; spectral response curves, GIPP lists and angle grids are left out.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from raster.bands import BandSpec
from raster.synthetic._write import SyntheticProductError, UtmGrid

__all__ = [
    "BANDS",
    "BY_KEY",
    "SCL_QI",
    "SENTINEL2_SYNTHETIC_MARKER",
    "Band",
    "BandFacts",
    "Scene",
    "boa_add_offset",
    "earthsearch_item",
    "mtd_msil2a",
    "mtd_tl",
    "parse_baseline",
]

#: Marker written to every synthetic Sentinel-2 metadata file.
SENTINEL2_SYNTHETIC_MARKER = "Synthetic product written by ilots (not an ESA or Element 84 product)"

_NS_MTD = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
_NS_TL = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd"
_NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class BandFacts:
    """Static facts about one Sentinel-2 band (``band_id`` as in MTD_MSIL2A.xml)."""

    file_key: str
    band_id: int | None
    resolution: int
    wavelength_nm: tuple[int, int, float] | None
    description: str
    center_um: float | None
    fwhm_um: float | None

    @property
    def physical(self) -> str:
        """``physicalBand`` attribute: ``B1`` .. ``B12``, ``B8A``."""
        return "B8A" if self.file_key == "B8A" else f"B{int(self.file_key[1:])}"


# Wavelengths from a real S2A MTD_MSIL2A.xml (PB 05.09); titles and eo:bands from a real Earth
# Search v1 item.
BANDS: tuple[BandFacts, ...] = (
    BandFacts("B01", 0, 60, (412, 456, 442.7), "Coastal aerosol (band 1)", 0.443, 0.027),
    BandFacts("B02", 1, 10, (456, 533, 492.7), "Blue (band 2)", 0.49, 0.098),
    BandFacts("B03", 2, 10, (538, 583, 559.8), "Green (band 3)", 0.56, 0.045),
    BandFacts("B04", 3, 10, (646, 684, 664.6), "Red (band 4)", 0.665, 0.038),
    BandFacts("B05", 4, 20, (695, 714, 704.1), "Red edge 1 (band 5)", 0.704, 0.019),
    BandFacts("B06", 5, 20, (731, 749, 740.5), "Red edge 2 (band 6)", 0.74, 0.018),
    BandFacts("B07", 6, 20, (769, 797, 782.8), "Red edge 3 (band 7)", 0.783, 0.028),
    BandFacts("B08", 7, 10, (760, 907, 832.8), "NIR 1 (band 8)", 0.842, 0.145),
    BandFacts("B8A", 8, 20, (837, 881, 864.7), "NIR 2 (band 8A)", 0.865, 0.033),
    BandFacts("B09", 9, 60, (932, 958, 945.1), "NIR 3 (band 9)", 0.945, 0.026),
    BandFacts("B10", 10, 60, (1337, 1412, 1373.5), "Cirrus (band 10)", 1.375, 0.076),
    BandFacts("B11", 11, 20, (1539, 1682, 1613.7), "SWIR 1 (band 11)", 1.61, 0.143),
    BandFacts("B12", 12, 20, (2078, 2320, 2202.4), "SWIR 2 (band 12)", 2.19, 0.242),
    BandFacts("SCL", None, 20, None, "Scene classification map (SCL)", None, None),
)
BY_KEY = {b.file_key: b for b in BANDS}
_SOLAR_IRRADIANCE = tuple(
    "1884.69 1959.66 1823.24 1512.06 1424.64 1287.61 1162.08 1041.63 955.32 812.92 367.15 "
    "245.59 85.25".split()
)
_PHYSICAL_GAINS = tuple(
    "4.10304067 3.75668157 4.18953758 4.5233009 5.20566374 4.87066355 4.53175713 6.15677842 "
    "5.13408802 8.53331509 54.96213391 35.21561911 106.32214723".split()
)
_SCL_NAMES = tuple(
    "NODATA SATURATED_DEFECTIVE DARK_FEATURE_SHADOW CLOUD_SHADOW VEGETATION NOT_VEGETATED WATER "
    "UNCLASSIFIED CLOUD_MEDIUM_PROBA CLOUD_HIGH_PROBA THIN_CIRRUS SNOW_ICE".split()
)
_QUALITY_CHECKS = (
    "FORMAT_CORRECTNESS GENERAL_QUALITY GEOMETRIC_QUALITY L2A_QUALITY RADIOMETRIC_QUALITY "
    "SENSOR_QUALITY".split()
)
# SCL class -> (MTD Image_Content_QI element, Earth Search s2:* property)
SCL_QI = {
    1: ("SATURATED_DEFECTIVE_PIXEL_PERCENTAGE", "s2:saturated_defective_pixel_percentage"),
    2: ("DARK_FEATURES_PERCENTAGE", "s2:dark_features_percentage"),
    3: ("CLOUD_SHADOW_PERCENTAGE", "s2:cloud_shadow_percentage"),
    4: ("VEGETATION_PERCENTAGE", "s2:vegetation_percentage"),
    5: ("NOT_VEGETATED_PERCENTAGE", "s2:not_vegetated_percentage"),
    6: ("WATER_PERCENTAGE", "s2:water_percentage"),
    7: ("UNCLASSIFIED_PERCENTAGE", "s2:unclassified_percentage"),
    8: ("MEDIUM_PROBA_CLOUDS_PERCENTAGE", "s2:medium_proba_clouds_percentage"),
    9: ("HIGH_PROBA_CLOUDS_PERCENTAGE", "s2:high_proba_clouds_percentage"),
    10: ("THIN_CIRRUS_PERCENTAGE", "s2:thin_cirrus_percentage"),
    11: ("SNOW_ICE_PERCENTAGE", "s2:snow_ice_percentage"),
}
_BASELINE_RE = re.compile(r"^(\d{2})\.(\d{2})$")


def boa_add_offset(processing_baseline: str) -> int:
    """Return the L2A ``BOA_ADD_OFFSET`` (DN) of a baseline: -1000 from 04.00 on, else 0.

    Parameters
    ----------
    processing_baseline
        ``"NN.NN"``, e.g. ``"02.14"``, ``"04.00"``, ``"05.10"``.

    Raises
    ------
    ValueError
        If the baseline is not of the form ``NN.NN``.
    """
    return -1000 if parse_baseline(processing_baseline) >= (4, 0) else 0


def parse_baseline(text: str) -> tuple[int, int]:
    """Parse ``"05.10"`` into ``(5, 10)``; raise :class:`SyntheticProductError` otherwise."""
    m = _BASELINE_RE.match(str(text))
    if m is None:
        raise SyntheticProductError(f"processing_baseline must look like '05.10', got {text!r}")
    return int(m[1]), int(m[2])


@dataclass(frozen=True)
class Band:
    """One band ready to write: its spec, static facts, native-resolution DNs and grid."""

    spec: BandSpec
    info: BandFacts
    array: np.ndarray  # at the band's native resolution
    grid: UtmGrid


@dataclass(frozen=True)
class Scene:
    """Everything the files of one product say, resolved from the writer's arguments.

    All names and times derive deterministically from these fields (``generated`` is the
    sensing time plus a fixed delay), so writing the same product twice gives the same bytes.
    """

    platform: str
    tile: str
    sensing: dt.datetime
    baseline: str
    relative_orbit: int
    absolute_orbit: int
    grid: UtmGrid  # the 10 m grid
    bands: tuple[Band, ...]
    cloud_cover: float
    scl_percentages: Mapping[int, float] | None
    nodata_percentage: float
    sun_elevation: float
    sun_azimuth: float

    @property
    def letter(self) -> str:
        return self.platform[-1].upper()

    @property
    def offset(self) -> int:
        return boa_add_offset(self.baseline)

    @property
    def generated(self) -> dt.datetime:
        return self.sensing.replace(microsecond=0) + dt.timedelta(hours=2, minutes=47, seconds=12)

    @property
    def datastrip_start(self) -> dt.datetime:
        return self.sensing.replace(microsecond=0) + dt.timedelta(seconds=3)

    @property
    def station(self) -> str:
        return f"2{self.letter}PS"

    @property
    def safe_name(self) -> str:
        b = self.baseline.replace(".", "")
        return (
            f"S2{self.letter}_MSIL2A_{self.sensing:%Y%m%dT%H%M%S}_N{b}_R{self.relative_orbit:03d}"
            f"_T{self.tile}_{self.generated:%Y%m%dT%H%M%S}.SAFE"
        )

    @property
    def granule_dir(self) -> str:
        return f"L2A_T{self.tile}_A{self.absolute_orbit:06d}_{self.datastrip_start:%Y%m%dT%H%M%S}"

    @property
    def datatake_id(self) -> str:
        when = f"{self.sensing:%Y%m%dT%H%M%S}"
        return f"GS2{self.letter}_{when}_{self.absolute_orbit:06d}_N{self.baseline}"

    @property
    def datastrip_id(self) -> str:
        return (
            f"S2{self.letter}_OPER_MSI_L2A_DS_{self.station}_{self.generated:%Y%m%dT%H%M%S}_"
            f"S{self.datastrip_start:%Y%m%dT%H%M%S}_N{self.baseline}"
        )

    def tile_id(self, level: str = "L2A") -> str:
        made = self.generated - (
            dt.timedelta(hours=1, minutes=18) if level == "L1C" else dt.timedelta()
        )
        return (
            f"S2{self.letter}_OPER_MSI_{level}_TL_{self.station}_{made:%Y%m%dT%H%M%S}_"
            f"A{self.absolute_orbit:06d}_T{self.tile}_N{self.baseline}"
        )

    @property
    def earthsearch_id(self) -> str:
        return f"S2{self.letter}_{self.tile}_{self.sensing:%Y%m%d}_0_L2A"

    def image_stem(self, band: Band) -> str:
        info = band.info
        return f"T{self.tile}_{self.sensing:%Y%m%dT%H%M%S}_{info.file_key}_{info.resolution}m"

    def image_path(self, band: Band) -> str:
        """Path of a band inside the SAFE, without the ``.jp2`` extension (as MTD lists it)."""
        return (
            f"GRANULE/{self.granule_dir}/IMG_DATA/R{band.info.resolution}m/{self.image_stem(band)}"
        )


def _pct(value: float) -> str:
    return repr(round(float(value), 6))


def _reflectance_conversion_u(day: dt.date) -> float:
    """``U``: the Sun–Earth distance correction 1/d², d in AU."""
    doy = day.timetuple().tm_yday
    d = 1.0 - 0.01672 * np.cos(np.deg2rad(0.9856 * (doy - 4)))
    return float(1.0 / d**2)


# --------------------------------------------------------------------------------------------
# SAFE metadata


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def _xml_document(root: ET.Element) -> str:
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f"<!-- {SENTINEL2_SYNTHETIC_MARKER} -->\n{body}\n"
    )


def _ms(t: dt.datetime) -> str:
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def mtd_msil2a(s: Scene) -> str:
    """Build the product-level ``MTD_MSIL2A.xml``."""
    ET.register_namespace("n1", _NS_MTD)
    ET.register_namespace("xsi", _NS_XSI)
    root = ET.Element(
        f"{{{_NS_MTD}}}Level-2A_User_Product", {f"{{{_NS_XSI}}}schemaLocation": _NS_MTD}
    )
    general = _sub(root, f"{{{_NS_MTD}}}General_Info")
    info = _sub(general, "Product_Info")
    new = parse_baseline(s.baseline) >= (4, 0)
    _sub(info, "PRODUCT_START_TIME", _ms(s.sensing))
    _sub(info, "PRODUCT_STOP_TIME", _ms(s.sensing))
    _sub(info, "PRODUCT_URI", s.safe_name)
    _sub(info, "PROCESSING_LEVEL", "Level-2A")
    _sub(info, "PRODUCT_TYPE", "S2MSI2A")
    _sub(info, "PROCESSING_BASELINE", s.baseline)
    if new:
        _sub(info, "PRODUCT_DOI", "https://doi.org/10.5270/S2_-znk9xsj")
        _sub(info, "GENERATION_TIME", f"{s.generated:%Y-%m-%dT%H:%M:%S}.000000Z")
    else:
        _sub(info, "GENERATION_TIME", _ms(s.generated))
    _sub(info, "PREVIEW_IMAGE_URL", "Not applicable")
    _sub(info, "PREVIEW_GEO_INFO", "Not applicable")
    datatake = _sub(info, "Datatake", datatakeIdentifier=s.datatake_id)
    _sub(datatake, "SPACECRAFT_NAME", f"Sentinel-2{s.letter}")
    _sub(datatake, "DATATAKE_TYPE", "INS-NOBS")
    _sub(datatake, "DATATAKE_SENSING_START", _ms(s.sensing))
    _sub(datatake, "SENSING_ORBIT_NUMBER", s.relative_orbit)
    _sub(datatake, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    query = _sub(info, "Query_Options", completeSingleTile="true")
    _sub(query, "PRODUCT_FORMAT", "SAFE_COMPACT")
    granules = _sub(_sub(info, "Product_Organisation"), "Granule_List")
    granule = _sub(
        granules,
        "Granule",
        datastripIdentifier=s.datastrip_id,
        granuleIdentifier=s.tile_id(),
        imageFormat="JPEG2000",
    )
    for band in sorted(s.bands, key=lambda b: (b.info.resolution, b.info.file_key)):
        _sub(granule, "IMAGE_FILE", s.image_path(band))

    chars = _sub(general, "Product_Image_Characteristics")
    for text, index in (("NODATA", 0), ("SATURATED", 65535)):
        special = _sub(chars, "Special_Values")
        _sub(special, "SPECIAL_VALUE_TEXT", text)
        _sub(special, "SPECIAL_VALUE_INDEX", index)
    order = _sub(chars, "Image_Display_Order")
    _sub(order, "RED_CHANNEL", 3)
    _sub(order, "GREEN_CHANNEL", 2)
    _sub(order, "BLUE_CHANNEL", 1)
    quant = _sub(chars, "QUANTIFICATION_VALUES_LIST")
    _sub(quant, "BOA_QUANTIFICATION_VALUE", 10000, unit="none")
    _sub(quant, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
    _sub(quant, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
    if new:
        offsets = _sub(chars, "BOA_ADD_OFFSET_VALUES_LIST")
        for band_id in range(13):
            _sub(offsets, "BOA_ADD_OFFSET", s.offset, band_id=str(band_id))
    conversion = _sub(chars, "Reflectance_Conversion")
    _sub(conversion, "U", repr(_reflectance_conversion_u(s.sensing.date())))
    irradiance = _sub(conversion, "Solar_Irradiance_List")
    for band_id, value in enumerate(_SOLAR_IRRADIANCE):
        _sub(irradiance, "SOLAR_IRRADIANCE", value, bandId=str(band_id), unit="W/m²/µm")
    spectral = _sub(chars, "Spectral_Information_List")
    for info_b in sorted((b for b in BANDS if b.band_id is not None), key=lambda b: b.band_id or 0):
        el = _sub(
            spectral,
            "Spectral_Information",
            bandId=str(info_b.band_id),
            physicalBand=info_b.physical,
        )
        _sub(el, "RESOLUTION", info_b.resolution)
        wave = _sub(el, "Wavelength")
        lo, hi, centre = info_b.wavelength_nm or (0, 0, 0.0)
        _sub(wave, "MIN", lo, unit="nm")
        _sub(wave, "MAX", hi, unit="nm")
        _sub(wave, "CENTRAL", centre, unit="nm")
    for band_id, gain in enumerate(_PHYSICAL_GAINS):
        _sub(chars, "PHYSICAL_GAINS", gain, bandId=str(band_id))
    _sub(chars, "REFERENCE_BAND", 3)
    classes = _sub(chars, "Scene_Classification_List")
    for index, name in enumerate(_SCL_NAMES):
        cls = _sub(classes, "Scene_Classification_ID")
        _sub(cls, "SCENE_CLASSIFICATION_TEXT", f"SC_{name}")
        _sub(cls, "SCENE_CLASSIFICATION_INDEX", index)

    geometric = _sub(root, f"{{{_NS_MTD}}}Geometric_Info")
    footprint = _sub(geometric, "Product_Footprint")
    inner = _sub(footprint, "Product_Footprint")
    ring, _ = s.grid.footprint()
    pos = " ".join(f"{lat!r} {lon!r}" for lon, lat in ring)
    _sub(_sub(inner, "Global_Footprint"), "EXT_POS_LIST", pos + " ")
    _sub(footprint, "RASTER_CS_TYPE", "POINT")
    _sub(footprint, "PIXEL_ORIGIN", 1)
    crs = _sub(geometric, "Coordinate_Reference_System")
    _sub(crs, "GEO_TABLES", "EPSG", version="1")
    _sub(crs, "HORIZONTAL_CS_TYPE", "GEOGRAPHIC")

    aux = _sub(root, f"{{{_NS_MTD}}}Auxiliary_Data_Info")
    _sub(aux, "PRODUCTION_DEM_TYPE", "CopernicusDEM90")

    quality = _sub(root, f"{{{_NS_MTD}}}Quality_Indicators_Info")
    _sub(quality, "Cloud_Coverage_Assessment", _pct(s.cloud_cover))
    technical = _sub(quality, "Technical_Quality_Assessment")
    _sub(technical, "DEGRADED_ANC_DATA_PERCENTAGE", "0.0")
    _sub(technical, "DEGRADED_MSI_DATA_PERCENTAGE", 0)
    checks = _sub(_sub(quality, "Quality_Control_Checks"), "Quality_Inspections")
    for check in _QUALITY_CHECKS:
        _sub(checks, "quality_check", "PASSED", checkType=check)
    _image_content_qi(quality, s)
    return _xml_document(root)


def _image_content_qi(parent: ET.Element, s: Scene) -> None:
    qi = _sub(parent, "Image_Content_QI")
    _sub(qi, "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE", _pct(s.cloud_cover))
    _sub(qi, "NODATA_PIXEL_PERCENTAGE", _pct(s.nodata_percentage))
    if s.scl_percentages is not None:
        for cls, (name, _) in SCL_QI.items():
            _sub(qi, name, _pct(s.scl_percentages[cls]))


def mtd_tl(s: Scene) -> str:
    """Build the granule-level ``MTD_TL.xml`` (tile geocoding, mean sun angles, QI)."""
    ET.register_namespace("n1", _NS_TL)
    ET.register_namespace("xsi", _NS_XSI)
    root = ET.Element(f"{{{_NS_TL}}}Level-2A_Tile_ID", {f"{{{_NS_XSI}}}schemaLocation": _NS_TL})
    general = _sub(root, f"{{{_NS_TL}}}General_Info")
    _sub(general, "L1C_TILE_ID", s.tile_id("L1C"), metadataLevel="Brief")
    _sub(general, "TILE_ID", s.tile_id(), metadataLevel="Brief")
    _sub(general, "DATASTRIP_ID", s.datastrip_id, metadataLevel="Standard")
    _sub(general, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    _sub(general, "SENSING_TIME", f"{s.sensing:%Y-%m-%dT%H:%M:%S.%f}Z", metadataLevel="Standard")
    archiving = _sub(general, "Archiving_Info", metadataLevel="Expertise")
    _sub(archiving, "ARCHIVING_CENTRE", s.station)
    _sub(
        archiving,
        "ARCHIVING_TIME",
        f"{s.generated + dt.timedelta(minutes=39):%Y-%m-%dT%H:%M:%S}.000000Z",
    )

    geometric = _sub(root, f"{{{_NS_TL}}}Geometric_Info")
    geocoding = _sub(geometric, "Tile_Geocoding", metadataLevel="Brief")
    hemi = "N" if s.grid.north else "S"
    _sub(geocoding, "HORIZONTAL_CS_NAME", f"WGS84 / UTM zone {s.grid.zone:02d}{hemi}")
    _sub(geocoding, "HORIZONTAL_CS_CODE", f"EPSG:{s.grid.epsg}")
    rows, cols = s.grid.shape
    for res in (10, 20, 60):
        f = res // 10
        size = _sub(geocoding, "Size", resolution=str(res))
        _sub(size, "NROWS", -(-rows // f))
        _sub(size, "NCOLS", -(-cols // f))
    t = s.grid.transform
    for res in (10, 20, 60):
        geo = _sub(geocoding, "Geoposition", resolution=str(res))
        _sub(geo, "ULX", _num(t.c))
        _sub(geo, "ULY", _num(t.f))
        _sub(geo, "XDIM", res)
        _sub(geo, "YDIM", -res)
    angles = _sub(geometric, "Tile_Angles", metadataLevel="Standard")
    sun = _sub(angles, "Mean_Sun_Angle")
    _sub(sun, "ZENITH_ANGLE", repr(90.0 - s.sun_elevation), unit="deg")
    _sub(sun, "AZIMUTH_ANGLE", repr(s.sun_azimuth), unit="deg")

    quality = _sub(root, f"{{{_NS_TL}}}Quality_Indicators_Info", metadataLevel="Standard")
    _image_content_qi(quality, s)
    return _xml_document(root)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def earthsearch_item(s: Scene, *, applied: bool, href_root: Path | None) -> dict[str, Any]:
    """Build the Earth Search v1 ``sentinel-2-l2a`` STAC item (hrefs ``./B04.tif`` or absolute)."""
    zone_band, square = s.tile[:3], s.tile[3:]
    created = f"{s.generated:%Y-%m-%dT%H:%M:%S}.000Z"
    try:
        version = metadata.version("ilots")
    except metadata.PackageNotFoundError:
        version = "unknown"
    props: dict[str, Any] = {
        "created": created,
        "description": SENTINEL2_SYNTHETIC_MARKER,
        "ilots:synthetic": True,
        "platform": s.platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": round(s.cloud_cover, 6),
        "proj:epsg": s.grid.epsg,
        "mgrs:utm_zone": int(zone_band[:2]),
        "mgrs:latitude_band": zone_band[2],
        "mgrs:grid_square": square,
        "grid:code": f"MGRS-{s.tile}",
        "view:sun_azimuth": s.sun_azimuth,
        "view:sun_elevation": s.sun_elevation,
        "s2:degraded_msi_data_percentage": 0,
        "s2:nodata_pixel_percentage": round(s.nodata_percentage, 6),
    }
    if s.scl_percentages is not None:
        for cls, (_, key) in SCL_QI.items():
            props[key] = round(s.scl_percentages[cls], 6)
    props.update(
        {
            "s2:product_type": "S2MSI2A",
            "s2:processing_baseline": s.baseline,
            "s2:product_uri": s.safe_name,
            "s2:generation_time": f"{s.generated:%Y-%m-%dT%H:%M:%S}.000000Z",
            "s2:datatake_id": s.datatake_id,
            "s2:datatake_type": "INS-NOBS",
            "s2:datastrip_id": s.datastrip_id,
            "s2:granule_id": s.tile_id(),
            "s2:reflectance_conversion_factor": _reflectance_conversion_u(s.sensing.date()),
            "datetime": f"{s.sensing:%Y-%m-%dT%H:%M:%S.%f}Z",
            "s2:sequence": "0",
            "earthsearch:boa_offset_applied": applied,
            "processing:software": {"ilots": version},
            "updated": created,
        }
    )
    ring, bbox = s.grid.footprint()
    assets: dict[str, Any] = {}
    offset: float | int = s.offset / 10000 if s.offset else 0  # real items write 0, not 0.0
    for band in s.bands:
        info, spec = band.info, band.spec
        name = f"{info.file_key}.tif"
        href = str(href_root / name) if href_root is not None else f"./{name}"
        raster: dict[str, Any] = {"nodata": 0, "data_type": spec.dtype}
        if spec.is_categorical:
            raster["spatial_resolution"] = info.resolution
        else:
            raster.update(
                {
                    "bits_per_sample": 15,
                    "spatial_resolution": info.resolution,
                    "scale": 0.0001,
                    "offset": offset,
                }
            )
        asset: dict[str, Any] = {
            "href": href,
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "title": info.description
            if spec.is_categorical
            else f"{info.description} - {info.resolution}m",
        }
        if not spec.is_categorical:
            asset["eo:bands"] = [
                {
                    "name": spec.name,
                    "common_name": spec.name,
                    "description": info.description,
                    "center_wavelength": info.center_um,
                    "full_width_half_max": info.fwhm_um,
                }
            ]
            asset["gsd"] = info.resolution
        t = band.grid.transform
        asset["proj:shape"] = list(band.grid.shape)
        asset["proj:transform"] = [t.a, t.b, t.c, t.d, t.e, t.f]
        asset["raster:bands"] = [raster]
        asset["roles"] = ["data", "reflectance"]
        assets[spec.name] = asset
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": s.earthsearch_id,
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "links": [
            {
                "rel": "license",
                "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
            }
        ],
        "assets": assets,
        "bbox": bbox,
        "stac_extensions": [
            "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
            "https://stac-extensions.github.io/view/v1.0.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/grid/v1.0.0/schema.json",
            "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
        ],
        "collection": "sentinel-2-l2a",
    }
