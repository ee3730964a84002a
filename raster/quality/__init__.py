"""Quality masks: Landsat QA_PIXEL / QA_RADSAT / ST_QA / ST_CDIST, Collection 1 BQA, Sentinel-2 SCL.

Two layers, as everywhere in :mod:`raster`:

* **Kernels** (``qa_pixel_clear``, ``radsat_ok``, ``bqa_clear``, ``scl_keep`` ...) are pure NumPy:
  NumPy in, a new boolean NumPy array out, inputs never modified. ``True`` always means *keep*
  (or *flag is set*, for the water masks).
* **Wrappers** (``landsat_clear_mask``, ``sentinel2_clear_mask``, ``bqa_clear_mask`` ...) take an
  :class:`xarray.Dataset` whose variables are named by common band name (:mod:`raster.bands`),
  lift the kernels with :func:`xarray.apply_ufunc` (``dask="parallelized"``), keep the coordinates,
  stay lazy on Dask-backed data and describe the mask in ``attrs``.

Input encodings
---------------
Bit-field and class bands may arrive as integers (as stored in the files) or as floats with NaN
where ilots' loader found nodata (QA values are < 2**24, so float32 holds them exactly). NaN is
treated as fill: it is never kept and carries no flag. Float values that are not whole numbers in
0..65535 mean that a QA band was resampled with a non-nearest method; the kernels raise
:class:`ValueError` rather than decode garbage bits.

Layouts (science.md §1.2, §1.3, §3.3)
-------------------------------------
QA_PIXEL (Landsat 4-9 Collection 2, Level 1 and 2): bit 0 fill, 1 dilated cloud, 2 cirrus
(L8/9), 3 cloud, 4 cloud shadow, 5 snow, 6 clear, 7 water; bits 8-9 cloud, 10-11 cloud-shadow,
12-13 snow/ice and 14-15 cirrus confidence (0 none, 1 low, 2 medium, 3 high; USGS documents 2 as
"reserved" for all but cloud confidence). The clear bit (6) only says that the cloud and
dilated-cloud bits are unset, so a "clear" pixel can be a cloud shadow: ilots never uses it.

QA_RADSAT (Landsat 8/9): bits 0-6 = bands 1-7 saturated, bit 8 = band 9 saturated, bit 11 =
terrain occlusion; :func:`radsat_ok` always rejects terrain occlusion.

BQA (Landsat 8 Collection 1 Level 1): bit 0 designated fill, bit 1 terrain occlusion, bits 2-3
radiometric saturation (0 none, 1: 1-2 bands, 2: 3-4 bands, 3: 5 or more), bit 4 cloud, and
two-bit confidences: bits 5-6 cloud, 7-8 cloud shadow, 9-10 snow/ice, 11-12 cirrus. Checked
against the USGS "Landsat Collection 1 Level-1 Quality Assessment Band" page as reproduced by
Sentinel Hub's ``decodeLs8Qa`` and against a real C1 BQA file (value 2720 = clear, low
confidences).

SCL (Sentinel-2 L2A, Sen2Cor): see :class:`SCL` and :data:`SCL_PRESETS`.

Modules
-------
:mod:`~raster.quality.qa_pixel`
    QA_PIXEL layout, :class:`QAPixelMask` and its presets, kernels.
:mod:`~raster.quality.landsat_qa`
    QA_RADSAT, ST_QA and ST_CDIST kernels.
:mod:`~raster.quality.bqa`
    Collection 1 BQA layout and kernels.
:mod:`~raster.quality.scl`
    Sentinel-2 SCL codes, :class:`SCLMask` and its presets, kernels.
:mod:`~raster.quality.dilation`
    :func:`dilate_mask`, on NumPy or Dask.
:mod:`~raster.quality.masks`
    The xarray wrappers.
"""

from __future__ import annotations

import logging

from raster.quality.bqa import BQA_FIELDS, bqa_clear, decode_bqa
from raster.quality.dilation import dilate_mask
from raster.quality.landsat_qa import (
    RADSAT_BITS,
    RADSAT_TERRAIN_OCCLUSION_BIT,
    cdist_ok,
    radsat_ok,
    radsat_reject_value,
    st_qa_ok,
)
from raster.quality.masks import (
    LANDSAT_MASK_STEPS,
    bqa_clear_mask,
    landsat_clear_mask,
    landsat_mask_steps,
    landsat_radsat_mask,
    landsat_water_mask,
    sentinel2_clear_mask,
    sentinel2_water_mask,
)
from raster.quality.qa_pixel import (
    QA_PIXEL_BITS,
    QA_PIXEL_CONFIDENCE,
    QA_PIXEL_PRESETS,
    QAPixelMask,
    decode_qa_pixel,
    qa_pixel_clear,
    qa_pixel_cloudy,
    qa_pixel_preset,
    qa_pixel_water,
)
from raster.quality.scl import (
    SCL,
    SCL_CLASS_NAMES,
    SCL_CLOUD_CLASSES,
    SCL_PRESETS,
    SCLMask,
    scl_keep,
    scl_preset,
    scl_water,
)

__all__ = [
    "BQA_FIELDS",
    "LANDSAT_MASK_STEPS",
    "QA_PIXEL_BITS",
    "QA_PIXEL_CONFIDENCE",
    "QA_PIXEL_PRESETS",
    "RADSAT_BITS",
    "RADSAT_TERRAIN_OCCLUSION_BIT",
    "SCL",
    "SCL_CLASS_NAMES",
    "SCL_CLOUD_CLASSES",
    "SCL_PRESETS",
    "QAPixelMask",
    "SCLMask",
    "bqa_clear",
    "bqa_clear_mask",
    "cdist_ok",
    "decode_bqa",
    "decode_qa_pixel",
    "dilate_mask",
    "landsat_clear_mask",
    "landsat_mask_steps",
    "landsat_radsat_mask",
    "landsat_water_mask",
    "qa_pixel_clear",
    "qa_pixel_cloudy",
    "qa_pixel_preset",
    "qa_pixel_water",
    "radsat_ok",
    "radsat_reject_value",
    "scl_keep",
    "scl_preset",
    "scl_water",
    "sentinel2_clear_mask",
    "sentinel2_water_mask",
    "st_qa_ok",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())
