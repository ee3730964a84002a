"""Thermal sharpening: a coarse LST to a fine NDVI grid (DisTrad / TsHARP, science.md §4.2).

:func:`sharpen_lst` is the xarray/Dask entry point (:mod:`raster.sharpen.api`); the pure NumPy
kernels and the :class:`SharpenSpec` of the method are in :mod:`raster.sharpen.kernels`.
"""

from raster.sharpen.api import SharpenResult, sharpen_lst
from raster.sharpen.kernels import SharpenError, SharpenFit, SharpenSpec

__all__ = ["SharpenError", "SharpenFit", "SharpenResult", "SharpenSpec", "sharpen_lst"]
