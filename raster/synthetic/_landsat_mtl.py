"""Landsat Collection 2 metadata for the synthetic writers: product ids, calibration, MTL content.

The MTL tree built here copies the group order, key order, quoting and number formats of real
USGS files (Landsat 8 ``LC08_L2SP_008059_20191201_20200825_02_T1``, Landsat 9
``LC09_L2SP_010065_20220129_20220131_02_T1``, the C2 Level-1 ``LC08_L1TP_201028_20171117_
20200902_02_T1``); :mod:`raster.synthetic._mtl` encodes it as ODL, JSON and XML.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from raster.bands import BandSpec
from raster.synthetic._mtl import Lit, MTLTree
from raster.synthetic._write import UtmGrid

__all__ = [
    "L1_ANGLE_FILES",
    "L1_CONTENTS",
    "L2_CONTENTS",
    "LANDSAT_CALIBRATION",
    "LANDSAT_SYNTHETIC_ORIGIN",
    "LandsatCalibration",
    "LandsatProductId",
    "Scene",
    "build_mtl",
]

#: The ``ORIGIN`` of every synthetic MTL (USGS writes "Image courtesy of the U.S. Geological
#: Survey").
LANDSAT_SYNTHETIC_ORIGIN = "Synthetic product written by ilots (not a USGS product)"

_DOI_L2 = "https://doi.org/10.5066/P9OGBGM6"
_DOI_L1 = "https://doi.org/10.5066/P975CC9B"
_SOFTWARE = "LPGS_15.6.0"


@dataclass(frozen=True)
class LandsatCalibration:
    """Level-1 radiometric constants of one platform, as its MTL files carry them.

    Parameters
    ----------
    platform
        ``"landsat-8"`` or ``"landsat-9"``.
    radiance_mult, radiance_add
        ``RADIANCE_MULT/ADD_BAND_1..11`` (W m-2 sr-1 um-1 per DN).
    radiance_maximum, radiance_minimum
        ``RADIANCE_MAXIMUM/MINIMUM_BAND_1..11``.
    k1, k2
        ``K1/K2_CONSTANT_BAND_10`` and ``_11``.
    rlut
        ``FILE_NAME_RLUT`` (response linearisation table).
    mtl_extras
        Whether the MTL carries the Landsat 8 only fields (``TRUNCATION_OLI``, ``TIRS_SSM_*``,
        ``DATA_SOURCE_TIRS_STRAY_LIGHT_CORRECTION``), as the real files do.
    """

    platform: str
    radiance_mult: tuple[float, ...]
    radiance_add: tuple[float, ...]
    radiance_maximum: tuple[float, ...]
    radiance_minimum: tuple[float, ...]
    k1: tuple[float, float]
    k2: tuple[float, float]
    rlut: str
    mtl_extras: bool

    def __post_init__(self) -> None:
        if self.platform not in ("landsat-8", "landsat-9"):
            raise ValueError(f"unsupported platform {self.platform!r}")
        for name in ("radiance_mult", "radiance_add", "radiance_maximum", "radiance_minimum"):
            if len(getattr(self, name)) != 11:
                raise ValueError(f"LandsatCalibration.{name} needs 11 values (bands 1..11)")
        if len(self.k1) != 2 or len(self.k2) != 2:
            raise ValueError("LandsatCalibration.k1/k2 need the band 10 and band 11 values")

    @property
    def number(self) -> int:
        """Satellite number, 8 or 9."""
        return int(self.platform[-1])

    @property
    def spacecraft_id(self) -> str:
        """MTL ``SPACECRAFT_ID`` (``LANDSAT_8``)."""
        return f"LANDSAT_{self.number}"

    def thermal_constants(self, band: int) -> tuple[float, float]:
        """``(K1, K2)`` of TIRS band 10 or 11."""
        if band not in (10, 11):
            raise ValueError(f"TIRS band must be 10 or 11, got {band}")
        return self.k1[band - 10], self.k2[band - 10]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split())


#: Constants copied from real MTL files: Landsat 8 ``LC08_L2SP_008059_20191201_20200825_02_T1``
#: and Landsat 9 ``LC09_L2SP_010065_20220129_20220131_02_T1`` (science.md §2.1).
LANDSAT_CALIBRATION: Mapping[str, LandsatCalibration] = {
    "landsat-8": LandsatCalibration(
        platform="landsat-8",
        radiance_mult=_floats(
            "1.2913E-02 1.3223E-02 1.2185E-02 1.0275E-02 6.2877E-03 1.5637E-03 5.2705E-04 "
            "1.1628E-02 2.4574E-03 3.3420E-04 3.3420E-04"
        ),
        radiance_add=_floats(
            "-64.56431 -66.11464 -60.92407 -51.37461 -31.43870 -7.81852 -2.63526 -58.14192 "
            "-12.28696 0.10000 0.10000"
        ),
        radiance_maximum=_floats(
            "781.68005 800.44989 737.60773 621.99237 380.62833 94.65881 31.90508 703.92419 "
            "148.75818 22.00180 22.00180"
        ),
        radiance_minimum=_floats(
            "-64.55139 -66.10141 -60.91189 -51.36433 -31.43241 -7.81695 -2.63473 -58.13029 "
            "-12.28450 0.10033 0.10033"
        ),
        k1=(774.8853, 480.8883),
        k2=(1321.0789, 1201.1442),
        rlut="LC08RLUT_20150303_20431231_02_01.h5",
        mtl_extras=True,
    ),
    "landsat-9": LandsatCalibration(
        platform="landsat-9",
        radiance_mult=_floats(
            "1.2925E-02 1.3275E-02 1.2198E-02 1.0339E-02 6.3429E-03 1.5846E-03 5.3504E-04 "
            "1.1703E-02 2.6313E-03 3.8000E-04 3.4900E-04"
        ),
        radiance_add=_floats(
            "-64.62385 -66.37380 -60.98879 -51.69279 -31.71429 -7.92276 -2.67518 -58.51451 "
            "-13.15630 0.10000 0.10000"
        ),
        radiance_maximum=_floats(
            "782.40094 803.58759 738.39124 625.84460 383.96490 95.92091 32.38846 708.43524 "
            "159.28333 25.00330 22.97172"
        ),
        radiance_minimum=_floats(
            "-64.61092 -66.36053 -60.97659 -51.68245 -31.70795 -7.92118 -2.67465 -58.50281 "
            "-13.15367 0.10038 0.10035"
        ),
        k1=(799.0284, 475.6581),
        k2=(1329.2405, 1198.3494),
        rlut="LC09RLUT_20210927_20531231_02_07.h5",
        mtl_extras=False,
    ),
}

# (file_key, MTL suffix of FILE_NAME_* / DATA_TYPE_*), in the order of the real MTL.
L2_CONTENTS: tuple[tuple[str, str], ...] = (
    *((f"SR_B{n}", f"BAND_{n}") for n in range(1, 8)),
    ("ST_B10", "BAND_ST_B10"),
    ("ST_TRAD", "THERMAL_RADIANCE"),
    ("ST_URAD", "UPWELL_RADIANCE"),
    ("ST_DRAD", "DOWNWELL_RADIANCE"),
    ("ST_ATRAN", "ATMOSPHERIC_TRANSMITTANCE"),
    ("ST_EMIS", "EMISSIVITY"),
    ("ST_EMSD", "EMISSIVITY_STDEV"),
    ("ST_CDIST", "CLOUD_DISTANCE"),
    ("SR_QA_AEROSOL", "QUALITY_L2_AEROSOL"),
    ("ST_QA", "QUALITY_L2_SURFACE_TEMPERATURE"),
    ("QA_PIXEL", "QUALITY_L1_PIXEL"),
    ("QA_RADSAT", "QUALITY_L1_RADIOMETRIC_SATURATION"),
)
L1_CONTENTS: tuple[tuple[str, str], ...] = (
    *((f"B{n}", f"BAND_{n}") for n in range(1, 12)),
    ("QA_PIXEL", "QUALITY_L1_PIXEL"),
    ("QA_RADSAT", "QUALITY_L1_RADIOMETRIC_SATURATION"),
)
L1_ANGLE_FILES: tuple[tuple[str, str], ...] = (
    ("ANGLE_SENSOR_AZIMUTH_BAND_4", "VAA"),
    ("ANGLE_SENSOR_ZENITH_BAND_4", "VZA"),
    ("ANGLE_SOLAR_AZIMUTH_BAND_4", "SAA"),
    ("ANGLE_SOLAR_ZENITH_BAND_4", "SZA"),
)

_PID_RE = re.compile(
    r"^LC0(?P<n>[89])_(?P<level>L1TP|L1GT|L2SP|L2SR)_(?P<path>\d{3})(?P<row>\d{3})_"
    r"(?P<acq>\d{8})_(?P<proc>\d{8})_02_(?P<tier>T1|T2|RT)$"
)


@dataclass(frozen=True)
class LandsatProductId:
    """A Landsat 8/9 OLI/TIRS Collection 2 product identifier.

    ``LC0N_LLLL_PPPRRR_YYYYMMDD_yyyymmdd_02_TX``: platform, processing level, WRS-2 path and
    row, acquisition and processing dates, collection 02 and tier.

    Parameters
    ----------
    platform
        ``"landsat-8"`` or ``"landsat-9"``.
    level
        ``L2SP``, ``L2SR``, ``L1TP`` or ``L1GT``.
    path, row
        WRS-2 path (1–233) and row (1–248).
    acquired, processed
        Acquisition and processing dates (processing not before acquisition).
    tier
        ``T1``, ``T2`` or ``RT``.
    """

    platform: str
    level: str
    path: int
    row: int
    acquired: dt.date
    processed: dt.date
    tier: str = "T1"

    def __post_init__(self) -> None:
        if self.platform not in LANDSAT_CALIBRATION:
            raise ValueError(
                f"platform must be one of {', '.join(LANDSAT_CALIBRATION)}, got {self.platform!r}"
            )
        if self.level not in ("L1TP", "L1GT", "L2SP", "L2SR"):
            raise ValueError(f"level must be L1TP, L1GT, L2SP or L2SR, got {self.level!r}")
        if not 1 <= self.path <= 233 or not 1 <= self.row <= 248:
            raise ValueError(f"WRS-2 path/row out of range: {self.path}/{self.row}")
        if self.tier not in ("T1", "T2", "RT"):
            raise ValueError(f"tier must be T1, T2 or RT, got {self.tier!r}")
        if self.processed < self.acquired:
            raise ValueError(
                f"processing date {self.processed} precedes acquisition {self.acquired}"
            )

    @classmethod
    def parse(cls, text: str) -> LandsatProductId:
        """Parse ``LC08_L2SP_199026_20220718_20220726_02_T1``.

        Raises
        ------
        ValueError
            If ``text`` is not a Landsat 8/9 OLI/TIRS Collection 2 product id.
        """
        m = _PID_RE.match(text.strip())
        if m is None:
            raise ValueError(
                f"{text!r} is not a Landsat 8/9 Collection 2 product id "
                "(LC0N_L2SP_PPPRRR_YYYYMMDD_YYYYMMDD_02_T1)"
            )

        def day(s: str) -> dt.date:
            try:
                return dt.datetime.strptime(s, "%Y%m%d").date()
            except ValueError:
                raise ValueError(f"{text!r}: {s} is not a date") from None

        return cls(
            platform=f"landsat-{m['n']}",
            level=m["level"],
            path=int(m["path"]),
            row=int(m["row"]),
            acquired=day(m["acq"]),
            processed=day(m["proc"]),
            tier=m["tier"],
        )

    def __str__(self) -> str:
        return (
            f"LC0{self.number}_{self.level}_{self.path:03d}{self.row:03d}_"
            f"{self.acquired:%Y%m%d}_{self.processed:%Y%m%d}_02_{self.tier}"
        )

    @property
    def number(self) -> int:
        """Satellite number, 8 or 9."""
        return int(self.platform[-1])

    @property
    def scene_id(self) -> str:
        """The ``LANDSAT_SCENE_ID`` (``LC80080592019335LGN00``)."""
        doy = self.acquired.timetuple().tm_yday
        return f"LC{self.number}{self.path:03d}{self.row:03d}{self.acquired:%Y}{doy:03d}LGN00"

    def with_level(self, level: str) -> LandsatProductId:
        """Return the same scene at another processing level."""
        return replace(self, level=level)


def _earth_sun_distance(day: dt.date) -> float:
    """Earth–Sun distance in AU, the usual cosine approximation."""
    doy = day.timetuple().tm_yday
    return 1.0 - 0.01672 * math.cos(math.radians(0.9856 * (doy - 4)))


# --------------------------------------------------------------------------------------------
# MTL content


def _f(value: float, digits: int) -> Lit:
    return Lit(f"{value:.{digits}f}")


def _quarter(day: dt.date) -> tuple[dt.date, dt.date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    last_month = first_month + 2
    return (
        dt.date(day.year, first_month, 1),
        dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1]),
    )


@dataclass(frozen=True)
class Scene:
    """Everything the MTL of one product says, resolved from the writer's arguments."""

    pid: LandsatProductId
    cal: LandsatCalibration
    grid: UtmGrid
    acquired: dt.datetime
    cloud_cover: float
    sun_elevation: float
    sun_azimuth: float

    @property
    def l1_pid(self) -> LandsatProductId:
        return self.pid if self.pid.level.startswith("L1") else self.pid.with_level("L1TP")

    @property
    def l2_generated(self) -> str:
        return f"{self.pid.processed:%Y-%m-%d}T05:45:26Z"

    @property
    def l1_generated(self) -> str:
        return f"{self.pid.processed:%Y-%m-%d}T05:35:48Z"


def _image_attributes(s: Scene) -> MTLTree:
    t = s.acquired
    node: MTLTree = {
        "SPACECRAFT_ID": s.cal.spacecraft_id,
        "SENSOR_ID": "OLI_TIRS",
        "WRS_TYPE": Lit("2"),
        "WRS_PATH": Lit(str(s.pid.path)),
        "WRS_ROW": Lit(str(s.pid.row)),
        "NADIR_OFFNADIR": "NADIR",
        "TARGET_WRS_PATH": Lit(str(s.pid.path)),
        "TARGET_WRS_ROW": Lit(str(s.pid.row)),
        "DATE_ACQUIRED": Lit(f"{t:%Y-%m-%d}"),
        "SCENE_CENTER_TIME": f"{t:%H:%M:%S}.{t.microsecond:06d}0Z",
        "STATION_ID": "LGN",
        "CLOUD_COVER": _f(s.cloud_cover, 2),
        "CLOUD_COVER_LAND": _f(s.cloud_cover, 2),
        "IMAGE_QUALITY_OLI": Lit("9"),
        "IMAGE_QUALITY_TIRS": Lit("9"),
    }
    for n in range(1, 10):
        node[f"SATURATION_BAND_{n}"] = "N"
    node["ROLL_ANGLE"] = Lit("-0.001")
    node["SUN_AZIMUTH"] = _f(s.sun_azimuth, 8)
    node["SUN_ELEVATION"] = _f(s.sun_elevation, 8)
    node["EARTH_SUN_DISTANCE"] = _f(_earth_sun_distance(t.date()), 7)
    if s.cal.mtl_extras:
        node["TRUNCATION_OLI"] = "UPPER"
        node["TIRS_SSM_MODEL"] = "FINAL"
        node["TIRS_SSM_POSITION_STATUS"] = "ESTIMATED"
    return node


def _projection_attributes(s: Scene, *, level1: bool) -> MTLTree:
    g = s.grid
    rows, cols = g.shape
    res = g.res
    left, bottom, right, top = g.bounds
    # USGS corners are pixel centres (the files are AREA_OR_POINT=Point).
    x0, x1 = left + res / 2, right - res / 2
    y0, y1 = top - res / 2, bottom + res / 2
    corners = {"UL": (x0, y0), "UR": (x1, y0), "LL": (x0, y1), "LR": (x1, y1)}
    xs = [c[0] for c in corners.values()]
    ys = [c[1] for c in corners.values()]
    lonlat = dict(zip(corners, g.to_lonlat(xs, ys), strict=True))
    node: MTLTree = {
        "MAP_PROJECTION": "UTM",
        "DATUM": "WGS84",
        "ELLIPSOID": "WGS84",
        "UTM_ZONE": Lit(str(g.zone)),
    }
    if level1:
        node["GRID_CELL_SIZE_PANCHROMATIC"] = _f(res / 2, 2)
    node["GRID_CELL_SIZE_REFLECTIVE"] = _f(res, 2)
    node["GRID_CELL_SIZE_THERMAL"] = _f(res, 2)
    if level1:
        node["PANCHROMATIC_LINES"] = Lit(str(2 * rows - 1))
        node["PANCHROMATIC_SAMPLES"] = Lit(str(2 * cols - 1))
    node["REFLECTIVE_LINES"] = Lit(str(rows))
    node["REFLECTIVE_SAMPLES"] = Lit(str(cols))
    node["THERMAL_LINES"] = Lit(str(rows))
    node["THERMAL_SAMPLES"] = Lit(str(cols))
    node["ORIENTATION"] = "NORTH_UP"
    for c, (lon, lat) in lonlat.items():
        node[f"CORNER_{c}_LAT_PRODUCT"] = _f(lat, 5)
        node[f"CORNER_{c}_LON_PRODUCT"] = _f(lon, 5)
    for c, (x, y) in corners.items():
        node[f"CORNER_{c}_PROJECTION_X_PRODUCT"] = _f(x, 3)
        node[f"CORNER_{c}_PROJECTION_Y_PRODUCT"] = _f(y, 3)
    return node


def _level1_processing_record(s: Scene, files: MTLTree) -> MTLTree:
    pid = s.l1_pid
    n = s.cal.number
    t = s.acquired
    q0, q1 = _quarter(t.date())
    bpf0, bpf1 = t - dt.timedelta(minutes=33, seconds=7), t + dt.timedelta(minutes=9, seconds=44)
    tirs0, tirs1 = t - dt.timedelta(days=2, hours=3), t + dt.timedelta(days=1, hours=5)
    node: MTLTree = {
        "ORIGIN": LANDSAT_SYNTHETIC_ORIGIN,
        "DIGITAL_OBJECT_IDENTIFIER": _DOI_L1,
        "REQUEST_ID": "L2",
        "LANDSAT_SCENE_ID": pid.scene_id,
        "LANDSAT_PRODUCT_ID": str(pid),
        "PROCESSING_LEVEL": pid.level,
        "COLLECTION_CATEGORY": pid.tier,
        "OUTPUT_FORMAT": "GEOTIFF",
        "DATE_PRODUCT_GENERATED": Lit(s.l1_generated),
        "PROCESSING_SOFTWARE_VERSION": _SOFTWARE,
        **files,
        "FILE_NAME_CPF": f"LC0{n}CPF_{q0:%Y%m%d}_{q1:%Y%m%d}_02.01",
        "FILE_NAME_BPF_OLI": f"LO{n}BPF{bpf0:%Y%m%d%H%M%S}_{bpf1:%Y%m%d%H%M%S}.01",
        "FILE_NAME_BPF_TIRS": f"LT{n}BPF{tirs0:%Y%m%d%H%M%S}_{tirs1:%Y%m%d%H%M%S}.01",
        "FILE_NAME_RLUT": s.cal.rlut,
    }
    if s.cal.mtl_extras:
        node["DATA_SOURCE_TIRS_STRAY_LIGHT_CORRECTION"] = "TIRS"
    node["DATA_SOURCE_ELEVATION"] = "GLS2000"
    if pid.level == "L1TP":
        node.update(
            {
                "GROUND_CONTROL_POINTS_VERSION": Lit("5"),
                "GROUND_CONTROL_POINTS_MODEL": Lit("331"),
                "GEOMETRIC_RMSE_MODEL": Lit("8.288"),
                "GEOMETRIC_RMSE_MODEL_Y": Lit("6.701"),
                "GEOMETRIC_RMSE_MODEL_X": Lit("4.877"),
                "GROUND_CONTROL_POINTS_VERIFY": Lit("90"),
                "GEOMETRIC_RMSE_VERIFY": Lit("9.911"),
            }
        )
    return node


def _level1_groups(s: Scene) -> MTLTree:
    cal = s.cal
    radiance: MTLTree = {}
    for b in range(1, 12):
        radiance[f"RADIANCE_MAXIMUM_BAND_{b}"] = _f(cal.radiance_maximum[b - 1], 5)
        radiance[f"RADIANCE_MINIMUM_BAND_{b}"] = _f(cal.radiance_minimum[b - 1], 5)
    reflectance: MTLTree = {}
    for b in range(1, 10):
        reflectance[f"REFLECTANCE_MAXIMUM_BAND_{b}"] = Lit("1.210700")
        reflectance[f"REFLECTANCE_MINIMUM_BAND_{b}"] = Lit("-0.099980")
    pixel: MTLTree = {}
    for b in range(1, 12):
        pixel[f"QUANTIZE_CAL_MAX_BAND_{b}"] = Lit("65535")
        pixel[f"QUANTIZE_CAL_MIN_BAND_{b}"] = Lit("1")
    rescaling: MTLTree = {}
    for b in range(1, 12):
        rescaling[f"RADIANCE_MULT_BAND_{b}"] = Lit(f"{cal.radiance_mult[b - 1]:.4E}")
    for b in range(1, 12):
        rescaling[f"RADIANCE_ADD_BAND_{b}"] = _f(cal.radiance_add[b - 1], 5)
    for b in range(1, 10):
        rescaling[f"REFLECTANCE_MULT_BAND_{b}"] = Lit("2.0000E-05")
    for b in range(1, 10):
        rescaling[f"REFLECTANCE_ADD_BAND_{b}"] = Lit("-0.100000")
    thermal: MTLTree = {}
    for band in (10, 11):
        k1, k2 = cal.thermal_constants(band)
        thermal[f"K1_CONSTANT_BAND_{band}"] = _f(k1, 4)
        thermal[f"K2_CONSTANT_BAND_{band}"] = _f(k2, 4)
    projection: MTLTree = {
        "MAP_PROJECTION": "UTM",
        "DATUM": "WGS84",
        "ELLIPSOID": "WGS84",
        "UTM_ZONE": Lit(str(s.grid.zone)),
        "GRID_CELL_SIZE_PANCHROMATIC": _f(s.grid.res / 2, 2),
        "GRID_CELL_SIZE_REFLECTIVE": _f(s.grid.res, 2),
        "GRID_CELL_SIZE_THERMAL": _f(s.grid.res, 2),
        "ORIENTATION": "NORTH_UP",
        "RESAMPLING_OPTION": "CUBIC_CONVOLUTION",
    }
    return {
        "LEVEL1_MIN_MAX_RADIANCE": radiance,
        "LEVEL1_MIN_MAX_REFLECTANCE": reflectance,
        "LEVEL1_MIN_MAX_PIXEL_VALUE": pixel,
        "LEVEL1_RADIOMETRIC_RESCALING": rescaling,
        "LEVEL1_THERMAL_CONSTANTS": thermal,
        "LEVEL1_PROJECTION_PARAMETERS": projection,
    }


def _l1_file_names(
    pid: LandsatProductId, written: list[tuple[str, str]] | None, formats: Sequence[str]
) -> MTLTree:
    """``FILE_NAME_*`` of a Level-1 product: the files written, or the full USGS list."""
    node: MTLTree = {}
    if written is None:  # the parent L1 product of an L2 product: its complete file list
        for key, suffix in L1_CONTENTS:
            node[f"FILE_NAME_{suffix}"] = f"{pid}_{key}.TIF"
        node["FILE_NAME_ANGLE_COEFFICIENT"] = f"{pid}_ANG.txt"
        for suffix, key in L1_ANGLE_FILES:
            node[f"FILE_NAME_{suffix}"] = f"{pid}_{key}.TIF"
        node["FILE_NAME_METADATA_ODL"] = f"{pid}_MTL.txt"
        node["FILE_NAME_METADATA_XML"] = f"{pid}_MTL.xml"
        return node
    for key, suffix in written:
        node[f"FILE_NAME_{suffix}"] = f"{pid}_{key}.TIF"
    if "txt" in formats:
        node["FILE_NAME_METADATA_ODL"] = f"{pid}_MTL.txt"
    if "xml" in formats:
        node["FILE_NAME_METADATA_XML"] = f"{pid}_MTL.xml"
    return node


def _product_contents(
    s: Scene, written: list[tuple[BandSpec, str]], formats: Sequence[str]
) -> MTLTree:
    pid = s.pid
    node: MTLTree = {
        "ORIGIN": LANDSAT_SYNTHETIC_ORIGIN,
        "DIGITAL_OBJECT_IDENTIFIER": _DOI_L2 if pid.level.startswith("L2") else _DOI_L1,
        "LANDSAT_PRODUCT_ID": str(pid),
        "PROCESSING_LEVEL": pid.level,
        "COLLECTION_NUMBER": Lit("02"),
        "COLLECTION_CATEGORY": pid.tier,
        "OUTPUT_FORMAT": "GEOTIFF",
    }
    node.update(_l1_file_names(pid, [(spec.file_key, sfx) for spec, sfx in written], formats))
    for spec, suffix in written:
        node[f"DATA_TYPE_{suffix}"] = spec.dtype.upper()
    return node


def _level2_groups(s: Scene) -> MTLTree:
    st = s.pid.level == "L2SP"
    record: MTLTree = {
        "ORIGIN": LANDSAT_SYNTHETIC_ORIGIN,
        "DIGITAL_OBJECT_IDENTIFIER": _DOI_L2,
        "REQUEST_ID": "L2",
        "LANDSAT_PRODUCT_ID": str(s.pid),
        "PROCESSING_LEVEL": s.pid.level,
        "OUTPUT_FORMAT": "GEOTIFF",
        "DATE_PRODUCT_GENERATED": Lit(s.l2_generated),
        "PROCESSING_SOFTWARE_VERSION": _SOFTWARE,
        "ALGORITHM_SOURCE_SURFACE_REFLECTANCE": "LaSRC_1.5.0",
        "DATA_SOURCE_OZONE": "MODIS",
        "DATA_SOURCE_PRESSURE": "Calculated",
        "DATA_SOURCE_WATER_VAPOR": "MODIS",
        "DATA_SOURCE_AIR_TEMPERATURE": "MODIS",
    }
    if st:
        record["ALGORITHM_SOURCE_SURFACE_TEMPERATURE"] = "st_1.3.0"
        record["DATA_SOURCE_REANALYSIS"] = "GEOS-5 FP-IT"
    sr: MTLTree = {}
    for b in range(1, 8):
        sr[f"REFLECTANCE_MAXIMUM_BAND_{b}"] = Lit("1.602213")
        sr[f"REFLECTANCE_MINIMUM_BAND_{b}"] = Lit("-0.199972")
    for b in range(1, 8):
        sr[f"QUANTIZE_CAL_MAX_BAND_{b}"] = Lit("65535")
        sr[f"QUANTIZE_CAL_MIN_BAND_{b}"] = Lit("1")
    for b in range(1, 8):
        sr[f"REFLECTANCE_MULT_BAND_{b}"] = Lit("2.75e-05")
    for b in range(1, 8):
        sr[f"REFLECTANCE_ADD_BAND_{b}"] = Lit("-0.2")
    groups: MTLTree = {
        "LEVEL2_PROCESSING_RECORD": record,
        "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS": sr,
    }
    if st:
        groups["LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"] = {
            "TEMPERATURE_MAXIMUM_BAND_ST_B10": Lit("372.999941"),
            "TEMPERATURE_MINIMUM_BAND_ST_B10": Lit("149.003418"),
            "QUANTIZE_CAL_MAXIMUM_BAND_ST_B10": Lit("65535"),
            "QUANTIZE_CAL_MINIMUM_BAND_ST_B10": Lit("1"),
            "TEMPERATURE_MULT_BAND_ST_B10": Lit("0.00341802"),
            "TEMPERATURE_ADD_BAND_ST_B10": Lit("149.0"),
        }
    return groups


def build_mtl(s: Scene, written: list[tuple[BandSpec, str]], formats: Sequence[str]) -> MTLTree:
    level2 = s.pid.level.startswith("L2")
    body: MTLTree = {
        "PRODUCT_CONTENTS": _product_contents(s, written, formats),
        "IMAGE_ATTRIBUTES": _image_attributes(s),
        "PROJECTION_ATTRIBUTES": _projection_attributes(s, level1=not level2),
    }
    if level2:
        body.update(_level2_groups(s))
        l1_files = _l1_file_names(s.l1_pid, None, formats)
    else:
        l1_files = _l1_file_names(s.pid, [(sp.file_key, sfx) for sp, sfx in written], formats)
    body["LEVEL1_PROCESSING_RECORD"] = _level1_processing_record(s, l1_files)
    body.update(_level1_groups(s))
    return {"LANDSAT_METADATA_FILE": body}
