"""Space: analysis grids, processing tiles, chunking, and the ilots exceptions."""

from tiles.errors import (
    BandMissingError,
    CRSError,
    GridError,
    IlotsError,
    IlotsWarning,
    MetadataError,
    ProductError,
    ProductNotFoundError,
    ReadError,
    UnrecognisedProductError,
    UnsupportedProductError,
    ZonesError,
)

__all__ = [
    "BandMissingError",
    "CRSError",
    "GridError",
    "IlotsError",
    "IlotsWarning",
    "MetadataError",
    "ProductError",
    "ProductNotFoundError",
    "ReadError",
    "UnrecognisedProductError",
    "UnsupportedProductError",
    "ZonesError",
]
