"""Synthetic satellite products in the real formats, written from NumPy arrays.

For tests, benchmarks and the ``ilots demo`` city: the writers lay out Landsat 8/9 Collection 2
(Level-2 and Level-1, USGS folder and tar) and Sentinel-2 L2A (ESA SAFE and Earth Search COGs
with a STAC item) products exactly as the providers ship them, from digital-number arrays keyed
by common band name (:mod:`raster.bands`). Every product says it is synthetic in its metadata
(the MTL ``ORIGIN``, an XML comment in the SAFE files, ``ilots:synthetic`` in the STAC item);
every other field is real-looking and consistent with the arrays and grid. Output is
deterministic and written atomically. The helpers in :mod:`raster.synthetic.encode` turn
physical values (reflectance, kelvin, QA flags) into the stored digital numbers.
"""

from __future__ import annotations

from raster.synthetic._write import SyntheticProductError
from raster.synthetic.encode import (
    brightness_temperature_to_dn,
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    reflectance_to_dn_sentinel2,
    toa_reflectance_to_dn_landsat,
)
from raster.synthetic.landsat import (
    LANDSAT_CALIBRATION,
    LANDSAT_FILE_NODATA,
    LANDSAT_SYNTHETIC_ORIGIN,
    LandsatCalibration,
    LandsatProductId,
    write_landsat_c2l1,
    write_landsat_c2l2,
)
from raster.synthetic.sentinel2 import (
    SENTINEL2_SYNTHETIC_MARKER,
    boa_add_offset,
    write_sentinel2_earthsearch,
    write_sentinel2_safe,
)

__all__ = [
    "LANDSAT_CALIBRATION",
    "LANDSAT_FILE_NODATA",
    "LANDSAT_SYNTHETIC_ORIGIN",
    "SENTINEL2_SYNTHETIC_MARKER",
    "LandsatCalibration",
    "LandsatProductId",
    "SyntheticProductError",
    "boa_add_offset",
    "brightness_temperature_to_dn",
    "encode_qa_pixel",
    "kelvin_to_st_dn",
    "reflectance_to_dn_landsat",
    "reflectance_to_dn_sentinel2",
    "toa_reflectance_to_dn_landsat",
    "write_landsat_c2l1",
    "write_landsat_c2l2",
    "write_sentinel2_earthsearch",
    "write_sentinel2_safe",
]
