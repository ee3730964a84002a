"""The run folder: COG rasters, a QGIS-styled GeoPackage, GeoParquet, inequality, manifest.

Every file is written under a temporary name beside its target and renamed onto it, so a
crash leaves the previous file or none, never a partial one. Rasters are written lazily
(one Delayed per file) so that all outputs compute in one Dask pass.

>>> folder = RunFolder("out").create()                                  # doctest: +SKIP
>>> tasks = write_rasters(rasters, folder.rasters)                      # doctest: +SKIP
>>> dask.compute(*tasks.values())                                       # doctest: +SKIP
>>> write_zones_gpkg(folder.zones_gpkg, layers, default_zone_styles(layers))  # doctest: +SKIP
"""

from pipelines.outputs.folder import RunFolder
from pipelines.outputs.geopackage import write_zones_gpkg, zone_layer_description
from pipelines.outputs.manifest import (
    MANIFEST_KEYS,
    build_manifest,
    write_json_atomic,
    write_manifest,
)
from pipelines.outputs.rasters import write_rasters
from pipelines.outputs.styles import (
    GraduatedStyle,
    default_zone_styles,
    graduated_qml,
    outline_qml,
)
from pipelines.outputs.tables import write_geoparquet, write_inequality

__all__ = [
    "MANIFEST_KEYS",
    "GraduatedStyle",
    "RunFolder",
    "build_manifest",
    "default_zone_styles",
    "graduated_qml",
    "outline_qml",
    "write_geoparquet",
    "write_inequality",
    "write_json_atomic",
    "write_manifest",
    "write_rasters",
    "write_zones_gpkg",
    "zone_layer_description",
]
