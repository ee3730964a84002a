"""Land surface temperature: Level-2 ST, and the Level-1 route DN → radiance → BT → LST.

Everything here is **land surface (skin) temperature**, not air temperature (science.md §1–§2,
§4.1). Two layers:

* **Kernels** — pure NumPy, inputs in physical units (radiance in W m⁻² sr⁻¹ µm⁻¹,
  temperatures in K, wavelengths in µm), computed in float64, returned as a new ``float32``
  array (``dtype`` keyword for another float type), NaN where an input is NaN or out of its
  physical domain, never ±inf, no ``RuntimeWarning``; inputs are never modified:
  :func:`radiance_from_dn`, :func:`brightness_temperature`, :func:`radiance_from_bt`,
  :func:`vegetation_proportion`, :func:`emissivity_ndvi_threshold`, :func:`lst_single_band`,
  :func:`atmospheric_functions`, :func:`planck_linearisation`, :func:`lst_single_channel`,
  :func:`lst_split_window_jm2014`, :func:`lst_split_window_du2015`,
  :func:`rte_blackbody_radiance`, :func:`rte_surface_temperature`, :func:`utfvi`,
  :func:`zscore`.
* **xarray wrappers** — lazy on Dask, keep coordinates, write CF-style attributes:
  :func:`surface_temperature_l2` (the product path: USGS ST_B10), :func:`lst_level1` (fallback
  or validation path from Level-1 radiance), :func:`scene_utfvi` and :func:`scene_zscore`.

Constants marked **[U]** in science.md are keyword parameters with documented defaults. The
thermal constants K1, K2, ML, AL differ between Landsat 8 and 9 (pitfall 3): the real code
path reads them per scene from the MTL; :data:`L8_B10` etc. are reference values only.

Modules
-------
:mod:`~raster.thermal.constants`
    :class:`ThermalConstants`, the L8/L9 reference constants and the coefficient tables.
:mod:`~raster.thermal.radiance`
    DN → radiance → brightness temperature, and back.
:mod:`~raster.thermal.emissivity`
    Proportion of vegetation and NDVI-threshold emissivity.
:mod:`~raster.thermal.lst`
    Single-band and single-channel LST kernels (TIRS B10).
:mod:`~raster.thermal.split_window`
    Split-window LST kernels (B10 and B11, research path).
:mod:`~raster.thermal.rte`
    LST recomputed from the Level-2 intermediate bands.
:mod:`~raster.thermal.metrics`
    UTFVI and z-score kernels.
:mod:`~raster.thermal.dataset`
    :func:`surface_temperature_l2` and :func:`lst_level1` on a loaded Dataset.
:mod:`~raster.thermal.scene`
    :func:`scene_utfvi` and :func:`scene_zscore` on DataArrays.
"""

from __future__ import annotations

from raster.thermal.constants import (
    DU2015_CWV_COEFFICIENTS,
    JM2014_B10_PSI,
    JM2014_SPLIT_WINDOW,
    L8_B10,
    L8_B11,
    L9_B10,
    L9_B11,
    ThermalConstants,
)
from raster.thermal.dataset import lst_level1, surface_temperature_l2
from raster.thermal.emissivity import emissivity_ndvi_threshold, vegetation_proportion
from raster.thermal.lst import (
    atmospheric_functions,
    lst_single_band,
    lst_single_channel,
    planck_linearisation,
)
from raster.thermal.metrics import utfvi, zscore
from raster.thermal.radiance import brightness_temperature, radiance_from_bt, radiance_from_dn
from raster.thermal.rte import rte_blackbody_radiance, rte_surface_temperature
from raster.thermal.scene import scene_utfvi, scene_zscore
from raster.thermal.split_window import lst_split_window_du2015, lst_split_window_jm2014

__all__ = [
    "DU2015_CWV_COEFFICIENTS",
    "JM2014_B10_PSI",
    "JM2014_SPLIT_WINDOW",
    "L8_B10",
    "L8_B11",
    "L9_B10",
    "L9_B11",
    "ThermalConstants",
    "atmospheric_functions",
    "brightness_temperature",
    "emissivity_ndvi_threshold",
    "lst_level1",
    "lst_single_band",
    "lst_single_channel",
    "lst_split_window_du2015",
    "lst_split_window_jm2014",
    "planck_linearisation",
    "radiance_from_bt",
    "radiance_from_dn",
    "rte_blackbody_radiance",
    "rte_surface_temperature",
    "scene_utfvi",
    "scene_zscore",
    "surface_temperature_l2",
    "utfvi",
    "vegetation_proportion",
    "zscore",
]
