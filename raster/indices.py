"""Spectral indices and broadband albedo from surface reflectance (science.md §3.4–§3.5).

Two layers, as everywhere in :mod:`raster`:

* **Kernels** (:func:`ndvi`, :func:`ndbi`, :func:`mndwi`, :func:`ndwi`, :func:`savi`,
  :func:`ibi`, :func:`ui`, :func:`albedo_liang_oli`, :func:`albedo_s2`) are pure NumPy
  functions. They take reflectances as floats in [0, 1] (never raw DN: integer arrays are
  refused, science.md pitfall 2), compute in float64, and return a new ``float32`` array (the
  ``dtype`` keyword asks for another float type). The result is NaN where an input is NaN or a
  denominator is 0, never ±inf, and no ``RuntimeWarning`` escapes. Inputs are never modified.
* **Dataset wrappers** (:func:`compute_index`, :func:`compute_indices`) pick the bands of a
  loaded :class:`xarray.Dataset` by common band name (:mod:`raster.bands`) through the
  :data:`INDICES` registry and lift the kernel with :func:`xarray.apply_ufunc`. They work on
  NumPy- and Dask-backed data alike, stay lazy on Dask, keep the coordinates and write CF-style
  attributes.

Band choice. Every kernel argument lists candidate common bands in order of preference; the
first one present in the Dataset is used. Sentinel-2 has both ``nir`` (B08, 10 m) and
``nir08`` (B8A, 20 m), Landsat only ``nir08`` (OLI B5). NDVI, SAVI and NDWI prefer ``nir``
(10 m NDVI from B08/B04); NDBI, UI and the Liang albedo prefer ``nir08`` (B8A is the spectral
match of OLI B5, science.md §3.1). :meth:`IndexSpec.bands_for` shows the resulting bands per
product type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster._floats import finish_float as _finish
from raster._lift import lift, numpy_only
from raster.bands import band_table
from tiles.errors import BandMissingError, ProductError

__all__ = [
    "INDICES",
    "AffineRatio",
    "IndexSpec",
    "albedo_liang_oli",
    "albedo_s2",
    "compute_index",
    "compute_indices",
    "ibi",
    "index_names",
    "mndwi",
    "ndbi",
    "ndvi",
    "ndwi",
    "savi",
    "ui",
]

#: Liang (2001) shortwave albedo coefficients for blue, red, NIR, SWIR1, SWIR2 and the
#: intercept, TM/ETM+ values mapped to OLI bands B2, B4, B5, B6, B7 (science.md §3.5, [V2]).
LIANG_OLI_COEFFICIENTS: tuple[float, ...] = (0.356, 0.130, 0.373, 0.085, 0.072, -0.0018)

#: Bonafoni & Sekertekin (2020) Sentinel-2 albedo coefficients for B02, B03, B04, B08, B11,
#: B12 (science.md §3.5, **[U]**: not checked against the paper).
BONAFONI_S2_COEFFICIENTS: tuple[float, ...] = (0.2266, 0.1236, 0.1573, 0.3417, 0.1170, 0.0338)


# --------------------------------------------------------------------------------------------
# kernel helpers
# --------------------------------------------------------------------------------------------


def _reflectance(x: ArrayLike, name: str, *, convert: bool = True) -> NDArray[np.float64]:
    """Return ``x`` as float64 (a new array if a cast is needed); refuse integer arrays.

    With ``convert=False`` only the check is done and ``x`` comes back as an array unchanged.
    """
    numpy_only(x, name, "raster.compute_indices(ds, [...]) on the bands' Dataset")
    arr = np.asarray(x)
    if arr.ndim > 0 and arr.dtype.kind in "iub":
        raise TypeError(
            f"{name} is a {arr.dtype} array, which looks like raw DN; indices need reflectance "
            "floats: apply the band scale/offset first (raster.bands)"
        )
    return arr.astype(np.float64, copy=False) if convert else arr


def _divide(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    """``num / den`` in a new array, NaN (not ±inf, no warning) where ``den`` is 0."""
    out = np.empty(np.broadcast(num, den).shape, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(num, den, out=out)
    np.copyto(out, np.nan, where=den == 0)
    return out


def _normalized_difference(
    a: ArrayLike, b: ArrayLike, names: tuple[str, str], dtype: DTypeLike
) -> NDArray[np.floating]:
    """Return ``(a - b) / (a + b)``, NaN where ``a + b == 0``; negative inputs count as 0.

    A surface reflectance below 0 (Landsat's L2 offset is −0.2, Sentinel-2's −0.1: dark water
    comes out slightly negative) is noise about 0: taken as it is, it sent the NDVI of a
    water pixel with red 0.0084 and NIR −0.0084 to 1344. As 0 it gives −1, and the result
    stays in [−1, 1]. The arithmetic is float64 (the ufuncs cast on the fly), and only the
    result is rounded to ``dtype``.
    """
    _reflectance(a, names[0], convert=False)
    _reflectance(b, names[1], convert=False)
    a, b = np.maximum(a, 0.0), np.maximum(b, 0.0)  # NaN stays NaN
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        num = np.asarray(np.subtract(a, b, dtype=np.float64))
        den = np.add(a, b, dtype=np.float64)
        np.divide(num, den, out=num)
    np.copyto(num, np.nan, where=den == 0)
    return _finish(num, dtype)


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------


def ndvi(red: ArrayLike, nir: ArrayLike, *, dtype: DTypeLike = np.float32) -> NDArray[np.floating]:
    """Compute the NDVI, (NIR − Red)/(NIR + Red) (Tucker 1979).

    Parameters
    ----------
    red, nir
        Surface reflectance (float, unitless, nominally in [0, 1]); broadcastable.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        NDVI in [−1, 1]; NaN where ``nir + red == 0`` or an input is NaN.
    """
    return _normalized_difference(nir, red, ("nir", "red"), dtype)


def ndbi(
    swir16: ArrayLike, nir: ArrayLike, *, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """Compute the NDBI, (SWIR1 − NIR)/(SWIR1 + NIR) (Zha, Gao & Ni 2003).

    Parameters
    ----------
    swir16, nir
        Surface reflectance of SWIR 1.6 µm (OLI B6, S2 B11) and NIR (OLI B5, S2 B8A).
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        NDBI; NaN where the denominator is 0 or an input is NaN.
    """
    return _normalized_difference(swir16, nir, ("swir16", "nir"), dtype)


def mndwi(
    green: ArrayLike, swir16: ArrayLike, *, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """Compute the MNDWI, (Green − SWIR1)/(Green + SWIR1) (Xu 2006).

    Parameters
    ----------
    green, swir16
        Surface reflectance of green and SWIR 1.6 µm.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        MNDWI; NaN where the denominator is 0 or an input is NaN. Water is typically > 0.
    """
    return _normalized_difference(green, swir16, ("green", "swir16"), dtype)


def ndwi(
    green: ArrayLike, nir: ArrayLike, *, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """Compute McFeeters' NDWI, (Green − NIR)/(Green + NIR) (McFeeters 1996).

    Parameters
    ----------
    green, nir
        Surface reflectance of green and NIR.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        NDWI; NaN where the denominator is 0 or an input is NaN.
    """
    return _normalized_difference(green, nir, ("green", "nir"), dtype)


def savi(
    red: ArrayLike, nir: ArrayLike, L: float = 0.5, *, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """Compute the SAVI, (1 + L)(NIR − Red)/(NIR + Red + L) (Huete 1988).

    Parameters
    ----------
    red, nir
        Surface reflectance of red and NIR.
    L
        Soil brightness correction factor; 0.5 is the usual value for intermediate cover.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        SAVI; NaN where ``nir + red + L == 0`` or an input is NaN.
    """
    red64, nir64 = _reflectance(red, "red"), _reflectance(nir, "nir")
    with np.errstate(invalid="ignore", over="ignore"):
        return _finish(_divide((1.0 + L) * (nir64 - red64), nir64 + red64 + L), dtype)


def ibi(
    green: ArrayLike,
    red: ArrayLike,
    nir: ArrayLike,
    swir16: ArrayLike,
    *,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Compute the IBI, band form (Xu 2008; science.md §3.4, formula **[U]**).

    ``IBI = (a − b)/(a + b)`` with ``a = 2·SW1/(SW1 + NIR)`` and
    ``b = NIR/(NIR + Red) + G/(G + SW1)``. The index form built from NDBI, SAVI and MNDWI is
    numerically unstable (near-zero, sign-changing denominators) and is not used.

    Parameters
    ----------
    green, red, nir, swir16
        Surface reflectance of green, red, NIR and SWIR 1.6 µm.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        IBI; NaN where any of the four denominators is 0 or an input is NaN.
    """
    g, r = _reflectance(green, "green"), _reflectance(red, "red")
    n, s = _reflectance(nir, "nir"), _reflectance(swir16, "swir16")
    with np.errstate(invalid="ignore", over="ignore"):
        built = _divide(2.0 * s, s + n)
        other = _divide(n, n + r) + _divide(g, g + s)
        return _finish(_divide(built - other, built + other), dtype)


def ui(swir22: ArrayLike, nir: ArrayLike, *, dtype: DTypeLike = np.float32) -> NDArray[np.floating]:
    """Compute the urban index, (SWIR2 − NIR)/(SWIR2 + NIR) (Kawamura 1996, **[U]**).

    Parameters
    ----------
    swir22, nir
        Surface reflectance of SWIR 2.2 µm (OLI B7, S2 B12) and NIR (OLI B5, S2 B8A).
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        UI; NaN where the denominator is 0 or an input is NaN.
    """
    return _normalized_difference(swir22, nir, ("swir22", "nir"), dtype)


def _linear_combination(
    bands: Mapping[str, ArrayLike], coefficients: Iterable[float], intercept: float
) -> NDArray[np.float64]:
    arrays = [_reflectance(value, name) for name, value in bands.items()]
    coefs = tuple(coefficients)
    if len(coefs) != len(arrays):
        raise ValueError(f"expected {len(arrays)} coefficients, got {len(coefs)}")
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.asarray(intercept, dtype=np.float64)
        for coef, arr in zip(coefs, arrays, strict=True):
            total = total + coef * arr
    return total


def albedo_liang_oli(
    blue: ArrayLike,
    red: ArrayLike,
    nir: ArrayLike,
    swir16: ArrayLike,
    swir22: ArrayLike,
    *,
    coefficients: tuple[float, ...] = LIANG_OLI_COEFFICIENTS,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Compute shortwave broadband albedo after Liang (2001) on OLI bands (§3.5, [V2]).

    ``α = 0.356·B2 + 0.130·B4 + 0.373·B5 + 0.085·B6 + 0.072·B7 − 0.0018``. Meaningful on
    surface reflectance only, not TOA. Smith's (2010) "normalised" variant is this value
    divided by 1.016 (the whole expression, intercept included).

    Parameters
    ----------
    blue, red, nir, swir16, swir22
        Surface reflectance of OLI B2, B4, B5, B6, B7 (or the Sentinel-2 equivalents B02,
        B04, B8A/B08, B11, B12).
    coefficients
        Five band coefficients then the intercept; default :data:`LIANG_OLI_COEFFICIENTS`.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        Albedo (unitless); NaN where an input is NaN.
    """
    coefs = tuple(coefficients)
    if len(coefs) != 6:
        raise ValueError(f"albedo_liang_oli needs 5 coefficients and an intercept, got {coefs}")
    bands = {"blue": blue, "red": red, "nir": nir, "swir16": swir16, "swir22": swir22}
    return _finish(_linear_combination(bands, coefs[:5], coefs[5]), dtype)


def albedo_s2(
    blue: ArrayLike,
    green: ArrayLike,
    red: ArrayLike,
    nir: ArrayLike,
    swir16: ArrayLike,
    swir22: ArrayLike,
    *,
    coefficients: tuple[float, ...] = BONAFONI_S2_COEFFICIENTS,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Compute Sentinel-2 shortwave albedo (Bonafoni & Sekertekin 2020), **[U]**.

    ``α = 0.2266·B02 + 0.1236·B03 + 0.1573·B04 + 0.3417·B08 + 0.1170·B11 + 0.0338·B12``.
    The coefficients were not checked against the paper (science.md §3.5): treat the result
    as provisional and prefer :func:`albedo_liang_oli` where a verified value matters.

    Parameters
    ----------
    blue, green, red, nir, swir16, swir22
        Surface reflectance of S2 B02, B03, B04, B08 (broad NIR), B11, B12.
    coefficients
        Six band coefficients; default :data:`BONAFONI_S2_COEFFICIENTS`.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        Albedo (unitless); NaN where an input is NaN.
    """
    bands = {
        "blue": blue, "green": green, "red": red, "nir": nir, "swir16": swir16, "swir22": swir22,
    }  # fmt: skip
    return _finish(_linear_combination(bands, coefficients, 0.0), dtype)


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------

_NIR_10M_FIRST = ("nir", "nir08")  # S2 B08 (10 m) when present, else OLI B5 / S2 B8A
_NIR_NARROW_FIRST = ("nir08", "nir")  # S2 B8A (the OLI B5 match) when present, else B08


@dataclass(frozen=True)
class AffineRatio:
    """An index as a ratio of two affine forms of its band arguments.

    ``(n0 + Σ nᵢ·xᵢ) / (d0 + Σ dⱼ·xⱼ)``, each sum taken from its constant then term by term in
    the order listed: the order in which the NumPy kernel adds them, so that a fused kernel
    (:mod:`raster.index_composite`) computing in float64 rounds exactly alike. NaN where the
    denominator is 0.

    Parameters
    ----------
    numerator, denominator
        ``(argument, coefficient)`` terms; arguments are the kernel's (:attr:`IndexSpec.arguments`).
    numerator_constant, denominator_constant
        The constants ``n0`` and ``d0``.
    floor
        Arguments below it count as it (0 for the normalized differences, whose kernels take
        a negative reflectance as 0); ``-inf``: none.
    """

    numerator: tuple[tuple[str, float], ...]
    numerator_constant: float = 0.0
    denominator: tuple[tuple[str, float], ...] = ()
    denominator_constant: float = 1.0
    floor: float = -np.inf

    @classmethod
    def normalized_difference(cls, a: str, b: str) -> AffineRatio:
        """Return the normalized difference ``(a - b) / (a + b)``, negative arguments as 0."""
        return cls(((a, 1.0), (b, -1.0)), 0.0, ((a, 1.0), (b, 1.0)), 0.0, floor=0.0)

    @classmethod
    def linear(
        cls, arguments: Iterable[str], coefficients: Iterable[float], intercept: float = 0.0
    ) -> AffineRatio:
        """Return the linear combination ``intercept + Σ cᵢ·xᵢ`` (no denominator)."""
        return cls(tuple(zip(arguments, map(float, coefficients), strict=True)), intercept)

    @property
    def arguments(self) -> tuple[str, ...]:
        """The arguments the ratio reads, each once, in order of first use."""
        return tuple(dict.fromkeys(arg for arg, _ in self.numerator + self.denominator))


@dataclass(frozen=True)
class IndexSpec:
    """How to compute one index from a Dataset of common-named reflectance bands.

    Parameters
    ----------
    name
        Registry key, lower case (``"ndvi"``).
    long_name
        CF ``long_name`` of the result.
    kernel
        The NumPy kernel; called with the bands as keyword arguments named as in ``inputs``.
    inputs
        ``(argument, candidates)`` pairs: for each kernel argument, the common band names
        that may feed it, in order of preference (the first present in the Dataset is used).
    formula
        Human-readable formula, written to the ``formula`` attribute.
    references
        Citation, written to the ``references`` attribute.
    standard_name
        CF standard name, where one exists.
    comment
        Caveats written to the ``comment`` attribute (e.g. unverified coefficients).
    units
        Units of the result (``"1"``: dimensionless).
    ratio
        The same index as an :class:`AffineRatio` of the kernel's arguments, where it is one
        (normalized differences, linear albedos): fused kernels compute it from that.
    """

    name: str
    long_name: str
    kernel: Callable[..., NDArray[np.floating]]
    inputs: tuple[tuple[str, tuple[str, ...]], ...]
    formula: str
    references: str
    standard_name: str | None = None
    comment: str = ""
    units: str = "1"
    ratio: AffineRatio | None = None

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.lower():
            raise ValueError(f"IndexSpec name must be a non-empty lower-case string: {self.name!r}")
        if not self.inputs or any(not cands for _, cands in self.inputs):
            raise ValueError(f"IndexSpec {self.name}: every input needs at least one band")
        if self.ratio is not None and not set(self.ratio.arguments) <= set(self.arguments):
            raise ValueError(f"IndexSpec {self.name}: its ratio reads arguments it does not have")

    @property
    def arguments(self) -> tuple[str, ...]:
        """The kernel's band arguments, in order."""
        return tuple(arg for arg, _ in self.inputs)

    def resolve(self, available: Iterable[str]) -> dict[str, str] | None:
        """Map each kernel argument to the first candidate band in ``available``.

        Parameters
        ----------
        available
            Common band names present (e.g. a Dataset's variable names).

        Returns
        -------
        dict or None
            ``{argument: band}``, or ``None`` if some argument has no candidate present.
        """
        present = set(available)
        chosen: dict[str, str] = {}
        for arg, candidates in self.inputs:
            band = next((c for c in candidates if c in present), None)
            if band is None:
                return None
            chosen[arg] = band
        return chosen

    def bands_for(self, product_type: str) -> dict[str, str] | None:
        """Return the bands this index uses on a product type (:data:`raster.bands.PRODUCT_TYPES`).

        Parameters
        ----------
        product_type
            ``"landsat-c2-l2"``, ``"sentinel-2-l2a"`` ...

        Returns
        -------
        dict or None
            ``{argument: common band}``, or ``None`` if the product lacks a needed band.
        """
        return self.resolve(band_table(product_type))


_nd = AffineRatio.normalized_difference

_SAVI_FORMULA = "(1 + L) * (nir - red) / (nir + red + L)"

_SPECS = (
    IndexSpec(
        "ndvi", "normalized difference vegetation index", ndvi,
        (("red", ("red",)), ("nir", _NIR_10M_FIRST)),
        "(nir - red) / (nir + red)", "Tucker 1979",
        standard_name="normalized_difference_vegetation_index", ratio=_nd("nir", "red"),
    ),
    IndexSpec(
        "ndbi", "normalized difference built-up index", ndbi,
        (("swir16", ("swir16",)), ("nir", _NIR_NARROW_FIRST)),
        "(swir16 - nir) / (swir16 + nir)", "Zha, Gao & Ni 2003, IJRS 24:583",
        ratio=_nd("swir16", "nir"),
    ),
    IndexSpec(
        "mndwi", "modified normalized difference water index", mndwi,
        (("green", ("green",)), ("swir16", ("swir16",))),
        "(green - swir16) / (green + swir16)", "Xu 2006, IJRS 27:3025",
        ratio=_nd("green", "swir16"),
    ),
    IndexSpec(
        "ndwi", "normalized difference water index (McFeeters)", ndwi,
        (("green", ("green",)), ("nir", _NIR_10M_FIRST)),
        "(green - nir) / (green + nir)", "McFeeters 1996, IJRS 17:1425",
        ratio=_nd("green", "nir"),
    ),
    IndexSpec(
        "savi", "soil-adjusted vegetation index", savi,
        (("red", ("red",)), ("nir", _NIR_10M_FIRST)),
        _SAVI_FORMULA, "Huete 1988, RSE 25:295",
    ),
    IndexSpec(
        "ibi", "index-based built-up index (band form)", ibi,
        (("green", ("green",)), ("red", ("red",)), ("nir", _NIR_NARROW_FIRST),
         ("swir16", ("swir16",))),
        "(a - b) / (a + b), a = 2 swir16/(swir16 + nir), b = nir/(nir + red) + green/(green + "
        "swir16)",
        "Xu 2008, IJRS 29:4269",
        comment="band form; the formula transcription is unverified [U]",
    ),
    IndexSpec(
        "ui", "urban index", ui,
        (("swir22", ("swir22",)), ("nir", _NIR_NARROW_FIRST)),
        "(swir22 - nir) / (swir22 + nir)", "Kawamura et al. 1996",
        comment="citation unverified [U]", ratio=_nd("swir22", "nir"),
    ),
    IndexSpec(
        "albedo_liang", "surface broadband albedo (Liang 2001, OLI bands)", albedo_liang_oli,
        (("blue", ("blue",)), ("red", ("red",)), ("nir", _NIR_NARROW_FIRST),
         ("swir16", ("swir16",)), ("swir22", ("swir22",))),
        "0.356 blue + 0.130 red + 0.373 nir + 0.085 swir16 + 0.072 swir22 - 0.0018",
        "Liang 2001, RSE 76:213-238", standard_name="surface_albedo",
        comment="valid on surface reflectance only, not TOA",
        ratio=AffineRatio.linear(("blue", "red", "nir", "swir16", "swir22"),
                                 LIANG_OLI_COEFFICIENTS[:5], LIANG_OLI_COEFFICIENTS[5]),
    ),
    IndexSpec(
        "albedo_s2", "surface broadband albedo (Bonafoni & Sekertekin 2020, Sentinel-2)",
        albedo_s2,
        (("blue", ("blue",)), ("green", ("green",)), ("red", ("red",)), ("nir", ("nir",)),
         ("swir16", ("swir16",)), ("swir22", ("swir22",))),
        "0.2266 B02 + 0.1236 B03 + 0.1573 B04 + 0.3417 B08 + 0.1170 B11 + 0.0338 B12",
        "Bonafoni & Sekertekin 2020, IEEE GRSL 17(9):1618", standard_name="surface_albedo",
        comment="coefficients unverified [U]; Sentinel-2 only (needs B08 as 'nir')",
        ratio=AffineRatio.linear(("blue", "green", "red", "nir", "swir16", "swir22"),
                                 BONAFONI_S2_COEFFICIENTS),
    ),
)  # fmt: skip

#: The index registry: lower-case name → :class:`IndexSpec`.
INDICES: Mapping[str, IndexSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})


def index_names() -> tuple[str, ...]:
    """Return the names of the registered indices, in registry order."""
    return tuple(INDICES)


# --------------------------------------------------------------------------------------------
# Dataset wrappers
# --------------------------------------------------------------------------------------------


def _spec(name: str) -> IndexSpec:
    key = name.strip().lower() if isinstance(name, str) else name
    try:
        return INDICES[key]
    except (KeyError, TypeError):
        raise ValueError(f"unknown index {name!r}; known indices: {', '.join(INDICES)}") from None


def _resolve_bands(ds: xr.Dataset, spec: IndexSpec) -> dict[str, str]:
    """Map the index's arguments to the Dataset's bands, or say which band is missing."""
    available = [str(v) for v in ds.data_vars]
    chosen = spec.resolve(available)
    if chosen is None:
        missing = next(cands for _, cands in spec.inputs if not any(c in available for c in cands))
        wanted = " or ".join(repr(c) for c in missing)
        raise BandMissingError(
            f"index {spec.name!r} needs band {wanted}, which is missing; bands present: "
            f"{', '.join(sorted(available)) or 'none'}"
        )
    return chosen


def _select_bands(ds: xr.Dataset, spec: IndexSpec) -> dict[str, xr.DataArray]:
    chosen = _resolve_bands(ds, spec)
    bands = {arg: ds[band] for arg, band in chosen.items()}
    for arg, da in bands.items():
        if da.dtype.kind in "iub":
            raise ProductError(
                f"band {chosen[arg]!r} is {da.dtype} (raw DN?); index {spec.name!r} needs "
                "reflectance floats: load the product with its scale/offset applied"
            )
    return bands


@dataclass(frozen=True)
class _Call:
    """A picklable ``kernel(**bands, **params)`` with positional band arrays."""

    kernel: Callable[..., NDArray[np.floating]]
    arguments: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, *arrays: NDArray[Any]) -> NDArray[np.floating]:
        return self.kernel(**dict(zip(self.arguments, arrays, strict=True)), **self.params)


def compute_index(ds: xr.Dataset, name: str, **params: Any) -> xr.DataArray:
    """Compute one registered index from a Dataset of common-named reflectance bands.

    Parameters
    ----------
    ds
        Dataset whose variables are surface reflectances (floats) named by common band name
        (:mod:`raster.bands`), NumPy- or Dask-backed.
    name
        Index name, case-insensitive: one of :func:`index_names`.
    **params
        Extra keyword arguments for the kernel (e.g. ``L=0.5`` for SAVI).

    Returns
    -------
    xarray.DataArray
        ``float32`` index named ``name`` with the bands' coordinates and CF-style attributes
        (``long_name``, ``units``, ``standard_name`` where one exists, ``formula``,
        ``references``, ``ilots:bands`` naming the bands used). Lazy if the bands are.

    Raises
    ------
    ValueError
        If ``name`` is not a registered index.
    tiles.errors.BandMissingError
        If a band the index needs is absent; the message names it and the bands present.
    tiles.errors.ProductError
        If a band holds integers (unscaled DN).
    """
    spec = _spec(name)
    bands = _select_bands(ds, spec)
    call = _Call(spec.kernel, tuple(bands), dict(params))
    call(*[np.array([0.1])] * len(bands))  # a bad parameter raises now, not at compute time
    out = lift(call, *bands.values(), dtype=np.float32)
    return out.rename(spec.name).assign_attrs(_attrs(spec, bands, params))


def _attrs(
    spec: IndexSpec, bands: Mapping[str, xr.DataArray], params: Mapping[str, Any]
) -> dict[str, Any]:
    attrs: dict[str, Any] = {"long_name": spec.long_name, "units": spec.units}
    if spec.standard_name:
        attrs["standard_name"] = spec.standard_name
    formula = spec.formula
    if spec.name == "savi":
        formula = f"{formula}, L = {params.get('L', 0.5)}"
    attrs["formula"] = formula
    attrs["references"] = spec.references
    if spec.comment:
        attrs["comment"] = spec.comment
    attrs["ilots:bands"] = ", ".join(f"{arg}={da.name}" for arg, da in bands.items())
    return attrs


def compute_indices(ds: xr.Dataset, names: str | Iterable[str]) -> xr.Dataset:
    """Compute several registered indices into one Dataset.

    Parameters
    ----------
    ds
        Dataset of common-named reflectance bands (see :func:`compute_index`).
    names
        Index names, as an iterable or a comma-separated string (``"ndvi,ndbi"``).

    Returns
    -------
    xarray.Dataset
        One ``float32`` variable per index (lower-case names, in the order given, duplicates
        dropped), with the input's coordinates and attributes.

    Raises
    ------
    ValueError
        If a name is unknown or no name is given.
    tiles.errors.BandMissingError
        If a band needed by one of the indices is absent.
    """
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    specs = list(dict.fromkeys(_spec(n) for n in names))
    if not specs:
        raise ValueError(f"no index name given; known indices: {', '.join(INDICES)}")
    for spec in specs:  # fail on any missing band before building anything
        _select_bands(ds, spec)
    return xr.Dataset(
        {spec.name: compute_index(ds, spec.name) for spec in specs}, attrs=dict(ds.attrs)
    )
