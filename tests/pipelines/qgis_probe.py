"""Open a run folder in QGIS, headless, and print what QGIS made of it as JSON.

Run by ``tests/pipelines/test_run.py`` with a Python that has QGIS's bindings (Debian's
``python3-qgis``), never imported by the tests themselves::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis_probe.py RUN_FOLDER

For each layer of ``zones.gpkg`` and each raster of ``rasters/``, QGIS opens it as a user
would (its default style: the GeoPackage's ``layer_styles`` table, the ``.qml`` beside a
COG) and the probe reports the renderer; each raster is also drawn at its own size and
extent, so that pixel ``(row, col)`` of the image is pixel ``(row, col)`` of the raster, and
the image is saved as ``<name>.qgis.png`` in ``OUT`` (second argument) for the test to read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def vector_report(gpkg: Path, name: str) -> dict:
    layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
    renderer = layer.renderer()
    out = {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "renderer": renderer.type(),
        "labels": layer.labelsEnabled(),
    }
    if renderer.type() == "graduatedSymbol":
        out["attribute"] = renderer.classAttribute()
        out["labels_of_ranges"] = [r.label() for r in renderer.ranges()]
    return out


def raster_report(tif: Path, out_dir: Path) -> dict:
    layer = QgsRasterLayer(str(tif), tif.stem)
    renderer = layer.renderer()
    out = {"valid": layer.isValid(), "renderer": renderer.type()}
    if renderer.type() == "paletted":
        out["classes"] = {str(int(c.value)): c.label for c in renderer.classes()}
    elif renderer.type() == "singlebandpseudocolor":
        out["range"] = [renderer.classificationMin(), renderer.classificationMax()]
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(layer.width(), layer.height()))
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = out_dir / f"{tif.stem}.qgis.png"
    job.renderedImage().save(str(image), "png")
    out["image"] = str(image)
    return out


def main() -> None:
    folder, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    app = QgsApplication([], False)
    app.initQgis()
    gpkg = folder / "zones.gpkg"
    tifs = sorted(folder.glob("rasters/*.tif"))
    report = {
        "qgis": Qgis.QGIS_VERSION,
        "vector": {name: vector_report(gpkg, name) for name in ("iris", "qpv")},
        "rasters": {tif.stem: raster_report(tif, out_dir) for tif in tifs},
    }
    print(json.dumps(report))
    app.exitQgis()


if __name__ == "__main__":
    main()
