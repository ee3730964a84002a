"""Sensor band tables: common band names, product file names, encodings and units.

Every product ilots reads is described by STAC assets keyed by a *common band name* (``red``,
``nir08``, ``lwir11``, ``qa_pixel`` ...), whatever the sensor calls the file. The tables here
are the single place where the sensor names, the default scale/offset/nodata and the units
live (science.md §1.1–§1.2, §3.1–§3.3). Metadata read from a product (MTL, MTD_MSIL2A.xml,
``raster:bands``) overrides the defaults; falling back to a default is warned about by the
readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "LANDSAT_C1_L1",
    "LANDSAT_C2_L1",
    "LANDSAT_C2_L2",
    "PRODUCT_TYPES",
    "SENTINEL2_L2A",
    "BandSpec",
    "ProductType",
    "band_table",
]

Kind = Literal[
    "reflectance",
    "temperature",
    "radiance",
    "uncertainty",
    "emissivity",
    "distance",
    "bitfield",
    "classes",
    "raw",
]

ProductType = Literal["landsat-c2-l2", "landsat-c2-l1", "landsat-c1-l1", "sentinel-2-l2a"]
PRODUCT_TYPES: tuple[str, ...] = (
    "landsat-c2-l2",
    "landsat-c2-l1",
    "landsat-c1-l1",
    "sentinel-2-l2a",
)


@dataclass(frozen=True)
class BandSpec:
    """How one band of one product type is stored and what it means.

    Parameters
    ----------
    name
        Common band name used as the STAC asset key and the Dataset variable name.
    file_key
        The sensor's own band name: the file-name suffix for Landsat (``SR_B4``, ``ST_B10``,
        ``B10``, ``QA_PIXEL``), the band id for Sentinel-2 (``B04``, ``SCL``).
    kind
        What the physical value is; decides the resampling and whether scale/offset apply.
    dtype
        Storage data type of the file.
    nodata
        Fill value of the file, or ``None`` where the format has none.
    scale, offset
        Default ``physical = DN * scale + offset``; products override them from metadata.
    unit
        Unit of the physical value (UDUNITS spelling), ``"1"`` for dimensionless.
    long_name
        Human-readable description written to the CF ``long_name`` attribute.
    standard_name
        CF standard name, where one exists.
    wavelength_um
        Centre wavelength in micrometres, for spectral bands.
    saturated
        A stored value that marks a saturated pixel (Sentinel-2 L2A reflectance: 65535, the
        ``SATURATED`` special value of ``MTD_MSIL2A.xml``), read as missing like ``nodata``;
        ``None`` where the format has none.
    """

    name: str
    file_key: str
    kind: Kind
    dtype: str
    nodata: float | None
    scale: float = 1.0
    offset: float = 0.0
    unit: str = "1"
    long_name: str = ""
    standard_name: str | None = None
    wavelength_um: float | None = None
    saturated: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.file_key:
            raise ValueError("BandSpec needs a name and a file_key")
        if self.scale == 0:
            raise ValueError(f"BandSpec {self.name}: scale must not be 0")

    @property
    def is_categorical(self) -> bool:
        """Whether the band holds codes (bit fields, classes) that must never be interpolated."""
        return self.kind in ("bitfield", "classes")

    @property
    def resampling(self) -> str:
        """Default resampling onto an analysis grid: nearest for codes, bilinear otherwise."""
        return "nearest" if self.is_categorical else "bilinear"


def _table(*specs: BandSpec) -> MappingProxyType[str, BandSpec]:
    return MappingProxyType({s.name: s for s in specs})


_SR = {"scale": 2.75e-05, "offset": -0.2, "unit": "1", "dtype": "uint16", "nodata": 0}
_SURF_REFL = "surface_bidirectional_reflectance"

#: Landsat 8/9 OLI/TIRS Collection 2 Level-2 (L2SP / L2SR), science.md §1.1–§1.2.
LANDSAT_C2_L2 = _table(
    BandSpec(
        "coastal",
        "SR_B1",
        "reflectance",
        long_name="surface reflectance, coastal aerosol",
        standard_name=_SURF_REFL,
        wavelength_um=0.443,
        **_SR,
    ),
    BandSpec(
        "blue",
        "SR_B2",
        "reflectance",
        long_name="surface reflectance, blue",
        standard_name=_SURF_REFL,
        wavelength_um=0.482,
        **_SR,
    ),
    BandSpec(
        "green",
        "SR_B3",
        "reflectance",
        long_name="surface reflectance, green",
        standard_name=_SURF_REFL,
        wavelength_um=0.561,
        **_SR,
    ),
    BandSpec(
        "red",
        "SR_B4",
        "reflectance",
        long_name="surface reflectance, red",
        standard_name=_SURF_REFL,
        wavelength_um=0.655,
        **_SR,
    ),
    BandSpec(
        "nir08",
        "SR_B5",
        "reflectance",
        long_name="surface reflectance, near infrared",
        standard_name=_SURF_REFL,
        wavelength_um=0.865,
        **_SR,
    ),
    BandSpec(
        "swir16",
        "SR_B6",
        "reflectance",
        long_name="surface reflectance, SWIR 1.6 um",
        standard_name=_SURF_REFL,
        wavelength_um=1.609,
        **_SR,
    ),
    BandSpec(
        "swir22",
        "SR_B7",
        "reflectance",
        long_name="surface reflectance, SWIR 2.2 um",
        standard_name=_SURF_REFL,
        wavelength_um=2.201,
        **_SR,
    ),
    BandSpec(
        "lwir11",
        "ST_B10",
        "temperature",
        "uint16",
        0,
        0.00341802,
        149.0,
        "K",
        "land surface temperature",
        "surface_temperature",
        10.895,
    ),
    BandSpec(
        "st_qa",
        "ST_QA",
        "uncertainty",
        "int16",
        -9999,
        0.01,
        0.0,
        "K",
        "land surface temperature uncertainty (1 sigma)",
    ),
    BandSpec(
        "st_emis",
        "ST_EMIS",
        "emissivity",
        "int16",
        -9999,
        0.0001,
        0.0,
        "1",
        "surface emissivity, band 10",
    ),
    BandSpec(
        "st_emsd",
        "ST_EMSD",
        "emissivity",
        "int16",
        -9999,
        0.0001,
        0.0,
        "1",
        "surface emissivity standard deviation",
    ),
    BandSpec(
        "st_trad",
        "ST_TRAD",
        "radiance",
        "int16",
        -9999,
        0.001,
        0.0,
        "W m-2 sr-1 um-1",
        "thermal radiance at sensor",
    ),
    BandSpec(
        "st_urad",
        "ST_URAD",
        "radiance",
        "int16",
        -9999,
        0.001,
        0.0,
        "W m-2 sr-1 um-1",
        "upwelled radiance",
    ),
    BandSpec(
        "st_drad",
        "ST_DRAD",
        "radiance",
        "int16",
        -9999,
        0.001,
        0.0,
        "W m-2 sr-1 um-1",
        "downwelled radiance",
    ),
    BandSpec(
        "st_atran",
        "ST_ATRAN",
        "emissivity",
        "int16",
        -9999,
        0.0001,
        0.0,
        "1",
        "atmospheric transmittance",
    ),
    BandSpec(
        "st_cdist",
        "ST_CDIST",
        "distance",
        "int16",
        -9999,
        0.01,
        0.0,
        "km",
        "distance to nearest cloud",
    ),
    BandSpec("qa_pixel", "QA_PIXEL", "bitfield", "uint16", 1, long_name="pixel quality bits"),
    BandSpec(
        "qa_radsat",
        "QA_RADSAT",
        "bitfield",
        "uint16",
        None,
        long_name="radiometric saturation bits",
    ),
    BandSpec(
        "qa_aerosol", "SR_QA_AEROSOL", "bitfield", "uint8", 1, long_name="aerosol quality bits"
    ),
)

_L1_REFL = {
    "kind": "reflectance",
    "dtype": "uint16",
    "nodata": 0,
    "scale": 2.0e-05,
    "offset": -0.1,
    "unit": "1",
    "standard_name": "toa_bidirectional_reflectance",
}
_L1_RAD = {
    "kind": "radiance",
    "dtype": "uint16",
    "nodata": 0,
    "scale": 3.342e-04,
    "offset": 0.1,
    "unit": "W m-2 sr-1 um-1",
}


def _level1(qa: BandSpec) -> MappingProxyType[str, BandSpec]:
    return _table(
        BandSpec(
            "coastal",
            "B1",
            long_name="TOA reflectance, coastal aerosol",
            wavelength_um=0.443,
            **_L1_REFL,
        ),
        BandSpec("blue", "B2", long_name="TOA reflectance, blue", wavelength_um=0.482, **_L1_REFL),
        BandSpec(
            "green", "B3", long_name="TOA reflectance, green", wavelength_um=0.561, **_L1_REFL
        ),
        BandSpec("red", "B4", long_name="TOA reflectance, red", wavelength_um=0.655, **_L1_REFL),
        BandSpec(
            "nir08",
            "B5",
            long_name="TOA reflectance, near infrared",
            wavelength_um=0.865,
            **_L1_REFL,
        ),
        BandSpec(
            "swir16",
            "B6",
            long_name="TOA reflectance, SWIR 1.6 um",
            wavelength_um=1.609,
            **_L1_REFL,
        ),
        BandSpec(
            "swir22",
            "B7",
            long_name="TOA reflectance, SWIR 2.2 um",
            wavelength_um=2.201,
            **_L1_REFL,
        ),
        BandSpec(
            "lwir11",
            "B10",
            long_name="TOA spectral radiance, TIRS band 10",
            wavelength_um=10.895,
            **_L1_RAD,
        ),
        BandSpec(
            "lwir12",
            "B11",
            long_name="TOA spectral radiance, TIRS band 11",
            wavelength_um=12.005,
            **_L1_RAD,
        ),
        qa,
    )


#: Landsat 8/9 Collection 2 Level-1 (L1TP/L1GT): DN bands, QA_PIXEL with the C2 layout.
LANDSAT_C2_L1 = _level1(
    BandSpec("qa_pixel", "QA_PIXEL", "bitfield", "uint16", 1, long_name="pixel quality bits")
)
#: Landsat 8 Collection 1 Level-1: DN bands, the older BQA bit layout.
LANDSAT_C1_L1 = _level1(
    BandSpec("bqa", "BQA", "bitfield", "uint16", 1, long_name="Collection 1 quality bits")
)

_S2 = {
    "kind": "reflectance",
    "dtype": "uint16",
    "nodata": 0,
    "saturated": 65535,
    "scale": 1e-4,
    "offset": 0.0,
    "unit": "1",
    "standard_name": _SURF_REFL,
}

#: Sentinel-2 L2A (Sen2Cor). The offset is 0 here; readers set -0.1 for baseline >= 04.00.
#: DN 0 is NODATA and 65535 SATURATED (``Special_Values`` of ``MTD_MSIL2A.xml``): both missing.
SENTINEL2_L2A = _table(
    BandSpec(
        "coastal",
        "B01",
        long_name="surface reflectance, coastal aerosol",
        wavelength_um=0.4439,
        **_S2,
    ),
    BandSpec("blue", "B02", long_name="surface reflectance, blue", wavelength_um=0.4966, **_S2),
    BandSpec("green", "B03", long_name="surface reflectance, green", wavelength_um=0.560, **_S2),
    BandSpec("red", "B04", long_name="surface reflectance, red", wavelength_um=0.6645, **_S2),
    BandSpec(
        "rededge1", "B05", long_name="surface reflectance, red edge 1", wavelength_um=0.7039, **_S2
    ),
    BandSpec(
        "rededge2", "B06", long_name="surface reflectance, red edge 2", wavelength_um=0.7402, **_S2
    ),
    BandSpec(
        "rededge3", "B07", long_name="surface reflectance, red edge 3", wavelength_um=0.7825, **_S2
    ),
    BandSpec(
        "nir",
        "B08",
        long_name="surface reflectance, near infrared (broad)",
        wavelength_um=0.8351,
        **_S2,
    ),
    BandSpec(
        "nir08",
        "B8A",
        long_name="surface reflectance, near infrared (narrow)",
        wavelength_um=0.8648,
        **_S2,
    ),
    BandSpec(
        "nir09", "B09", long_name="surface reflectance, water vapour", wavelength_um=0.945, **_S2
    ),
    BandSpec(
        "swir16", "B11", long_name="surface reflectance, SWIR 1.6 um", wavelength_um=1.6137, **_S2
    ),
    BandSpec(
        "swir22", "B12", long_name="surface reflectance, SWIR 2.2 um", wavelength_um=2.2024, **_S2
    ),
    BandSpec("scl", "SCL", "classes", "uint8", 0, long_name="Sen2Cor scene classification"),
)

_TABLES: dict[str, MappingProxyType[str, BandSpec]] = {
    "landsat-c2-l2": LANDSAT_C2_L2,
    "landsat-c2-l1": LANDSAT_C2_L1,
    "landsat-c1-l1": LANDSAT_C1_L1,
    "sentinel-2-l2a": SENTINEL2_L2A,
}


def band_table(product_type: str) -> MappingProxyType[str, BandSpec]:
    """Return the band table of a product type.

    Parameters
    ----------
    product_type
        One of :data:`PRODUCT_TYPES`.

    Returns
    -------
    Mapping of common band name to :class:`BandSpec`.

    Raises
    ------
    ValueError
        If the product type is unknown.
    """
    try:
        return _TABLES[product_type]
    except KeyError:
        raise ValueError(
            f"unknown product type {product_type!r}; expected one of {', '.join(PRODUCT_TYPES)}"
        ) from None
