"""Thermal-band constants and published coefficient tables.

:class:`ThermalConstants` (K1, K2, ML, AL of one TIRS band; science.md §2.1), the Landsat 8/9
reference values, and the single-channel ψ and split-window coefficients (§2.4, §2.5). The
real code path reads K1/K2 per scene from the MTL through :mod:`raster.sources` (asset fields
``ilots:k1``/``ilots:k2``): L8 and L9 differ (pitfall 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster.thermal.radiance import brightness_temperature, radiance_from_dn


@dataclass(frozen=True)
class ThermalConstants:
    """Radiometric constants of one thermal band of one sensor (science.md §2.1).

    Parameters
    ----------
    k1
        K1 in W m⁻² sr⁻¹ µm⁻¹ (MTL ``K1_CONSTANT_BAND_n``).
    k2
        K2 in K (MTL ``K2_CONSTANT_BAND_n``).
    mult, add
        Radiance rescaling ML, AL: ``L = ML·DN + AL`` (MTL ``RADIANCE_MULT/ADD_BAND_n``).
    """

    k1: float
    k2: float
    mult: float
    add: float

    def __post_init__(self) -> None:
        for name in ("k1", "k2", "mult"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"ThermalConstants.{name} must be a positive number, got {value}")
        if not np.isfinite(self.add):
            raise ValueError(f"ThermalConstants.add must be finite, got {self.add}")

    def radiance(self, dn: ArrayLike, *, dtype: DTypeLike = np.float32) -> NDArray[np.floating]:
        """Return :func:`radiance_from_dn` with these constants."""
        return radiance_from_dn(dn, self.mult, self.add, dtype=dtype)

    def brightness_temperature(
        self, radiance: ArrayLike, *, dtype: DTypeLike = np.float32
    ) -> NDArray[np.floating]:
        """Return :func:`brightness_temperature` with these K1, K2."""
        return brightness_temperature(radiance, self.k1, self.k2, dtype=dtype)


#: Landsat 8 TIRS band 10 (science.md §2.1, [V2]). Reference only: read the scene's MTL.
L8_B10 = ThermalConstants(k1=774.8853, k2=1321.0789, mult=3.342e-4, add=0.1)
#: Landsat 8 TIRS band 11 ([V2]).
L8_B11 = ThermalConstants(k1=480.8883, k2=1201.1442, mult=3.342e-4, add=0.1)
#: Landsat 9 TIRS-2 band 10 ([V], real L9 C2 MTL). Not the typo K2 = 1329.0284.
L9_B10 = ThermalConstants(k1=799.0284, k2=1329.2405, mult=3.8e-4, add=0.1)
#: Landsat 9 TIRS-2 band 11 ([V]).
L9_B11 = ThermalConstants(k1=475.6581, k2=1198.3494, mult=3.49e-4, add=0.1)

#: Jiménez-Muñoz et al. (2014) single-channel ψ coefficients for TIRS B10, rows ψ1, ψ2, ψ3,
#: columns (c_k1, c_k2, c_k3) of ψ_k = c_k1·w² + c_k2·w + c_k3. **[U]**: from geeSEBAL, not
#: checked against the paper's table (science.md §2.4).
JM2014_B10_PSI: tuple[tuple[float, float, float], ...] = (
    (0.04019, 0.02916, 1.01523),
    (-0.38333, -1.50294, 0.20324),
    (0.00918, 1.36072, -0.27514),
)

#: Jiménez-Muñoz et al. (2014) split-window coefficients c0 … c6 (science.md §2.5, [V2]).
#: Note c1 = 1.378 (pylandtemp's 1.387 is a typo, pitfall 7).
JM2014_SPLIT_WINDOW: tuple[float, ...] = (-0.268, 1.378, 0.183, 54.30, -2.238, -129.20, 16.40)

#: Du et al. (2015) split-window coefficients b0 … b7 by column water vapour range (g cm⁻²),
#: from ``NikosAlexandris/i.landsat8.swlst`` (science.md §2.5, [V2]).
DU2015_CWV_COEFFICIENTS: Mapping[tuple[float, float], tuple[float, ...]] = {
    (0.0, 2.5): (-2.78009, 1.01408, 0.15833, -0.34991, 4.04487, 3.55414, -8.88394, 0.09152),
    (2.0, 3.5): (11.00824, 0.95995, 0.17243, -0.28852, 7.11492, 0.42684, -6.62025, -0.06381),
    (3.0, 4.5): (9.62610, 0.96202, 0.13834, -0.17262, 7.87883, 5.17910, -13.26611, -0.07603),
    (4.0, 5.5): (0.61258, 0.99124, 0.10051, -0.09664, 7.85758, 6.86626, -15.00742, -0.01185),
    (5.0, 6.3): (-0.34808, 0.98123, 0.05599, -0.03518, 11.96444, 9.06710, -14.74085, -0.20471),
    (0.0, 6.3): (-0.41165, 1.00522, 0.14543, -0.27297, 4.06655, -6.92512, -18.27461, 0.24468),
}
