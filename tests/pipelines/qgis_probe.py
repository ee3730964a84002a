"""Open a run folder in QGIS, headless, and print what QGIS made of it as JSON.

Run by ``tests/pipelines/test_qgis.py`` with a Python that has QGIS's bindings (Debian's
``python3-qgis``), never imported by the tests themselves::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis_probe.py RUN_FOLDER OUT [GPKG ...]

For each layer of ``zones.gpkg`` and each raster of ``rasters/``, QGIS opens it as a user
would (its default style: the GeoPackage's ``layer_styles`` table, the ``.qml`` beside a
COG) and the probe reports the renderer and its legend (a pseudocolour raster's shader type
and items); each layer is also drawn and the image saved in ``OUT`` (second argument) for the
test to read. A raster is drawn at its own size and extent, so that pixel ``(row, col)`` of
the image is pixel ``(row, col)`` of the raster; a vector layer at 1,000 pixels across its
extent, and for each feature the probe reports the symbols the renderer gives it, the
attributes the renderer reads and the image pixel of the point of the feature farthest from
its edges. The ``iris`` layers of further GeoPackages (the ``GPKG`` arguments) are reported
in the same way, under ``"more"``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsExpressionContextUtils,
    QgsMapLayer,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsRasterLayer,
    QgsRenderContext,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize, QVariant
from qgis.PyQt.QtGui import QColor

VECTOR_WIDTH = 1000  # pixels of a vector layer's image across its extent


def draw(layer: QgsMapLayer, size: QSize, image: Path) -> QgsMapSettings:
    """Draw ``layer`` alone over its extent on a transparent ``size`` image, saved as ``image``."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setOutputSize(size)
    settings.setExtent(layer.extent())
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(str(image), "png")
    return settings


def rgba(color: QColor) -> list[int]:
    return [color.red(), color.green(), color.blue(), color.alpha()]


def plain(value: object) -> object:
    """An attribute as JSON: NULL (a null QVariant in older PyQGIS) as None."""
    if isinstance(value, QVariant):
        return None if value.isNull() else value.value()
    return value


def vector_report(gpkg: Path, name: str, out_dir: Path) -> dict:
    layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
    renderer = layer.renderer()
    out = {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "renderer": renderer.type(),
        "labels": layer.labelsEnabled(),
        "metadata": {
            "title": layer.metadata().title(),
            "abstract": layer.metadata().abstract(),
            "crs": layer.metadata().crs().authid(),
            "licenses": layer.metadata().licenses(),
        },
        "legend": [
            {"label": item.label(), "color": rgba(item.symbol().color())}
            for item in renderer.legendSymbolItems()
        ],
    }
    if renderer.type() == "RuleRenderer":
        out["filters"] = [rule.filterExpression() for rule in renderer.rootRule().children()]

    extent = layer.extent()
    height = round(VECTOR_WIDTH * extent.height() / extent.width())
    image = out_dir / f"{gpkg.stem}.{name}.qgis.png"
    settings = draw(layer, QSize(VECTOR_WIDTH, height), image)
    out["image"] = str(image)
    to_pixel = settings.mapToPixel()

    context = QgsRenderContext.fromMapSettings(settings)
    context.expressionContext().appendScopes(
        QgsExpressionContextUtils.globalProjectLayerScopes(layer)
    )
    renderer = renderer.clone()
    renderer.startRender(context, layer.fields())
    out["columns"] = sorted(renderer.usedAttributes(context))
    zones = []
    for feature in layer.getFeatures():
        context.expressionContext().setFeature(feature)
        symbols = renderer.symbolsForFeature(feature, context)
        inner, _ = feature.geometry().poleOfInaccessibility(1.0)
        point = to_pixel.transform(inner.asPoint())
        zones.append(
            {
                "fid": feature.id(),
                "values": {c: plain(feature.attribute(c)) for c in out["columns"]},
                "symbols": [
                    {
                        "color": rgba(symbol.color()),
                        "layers": [sl.layerType() for sl in symbol.symbolLayers()],
                    }
                    for symbol in symbols
                ],
                "pixel": [int(point.y()), int(point.x())],
            }
        )
    renderer.stopRender(context)
    out["zones"] = zones
    return out


def raster_report(tif: Path, out_dir: Path) -> dict:
    layer = QgsRasterLayer(str(tif), tif.stem)
    renderer = layer.renderer()
    out = {"valid": layer.isValid(), "renderer": renderer.type()}
    if renderer.type() == "paletted":
        out["classes"] = {str(int(c.value)): c.label for c in renderer.classes()}
    elif renderer.type() == "singlebandpseudocolor":
        out["range"] = [renderer.classificationMin(), renderer.classificationMax()]
        shader = renderer.shader().rasterShaderFunction()
        out["shader"] = shader.colorRampTypeAsQString()
        out["items"] = [
            {"value": item.value, "label": item.label, "color": rgba(item.color)}
            for item in shader.colorRampItemList()
        ]
    image = out_dir / f"{tif.stem}.qgis.png"
    draw(layer, QSize(layer.width(), layer.height()), image)
    out["image"] = str(image)
    return out


def main() -> None:
    folder, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    more = [Path(arg) for arg in sys.argv[3:]]
    app = QgsApplication([], False)
    app.initQgis()
    gpkg = folder / "zones.gpkg"
    tifs = sorted(folder.glob("rasters/*.tif"))
    report = {
        "qgis": Qgis.QGIS_VERSION,
        "vector": {name: vector_report(gpkg, name, out_dir) for name in ("iris", "qpv")},
        "more": {str(path): vector_report(path, "iris", out_dir) for path in more},
        "rasters": {tif.stem: raster_report(tif, out_dir) for tif in tifs},
    }
    print(json.dumps(report))
    app.exitQgis()


if __name__ == "__main__":
    main()
