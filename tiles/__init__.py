"""Space: analysis grids, processing tiles, chunking, and the ilots exceptions."""

from tiles.errors import (
    BandMissingError,
    CensusError,
    CRSError,
    GridError,
    IlotsError,
    IlotsWarning,
    InequalityError,
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
    "CensusError",
    "GridError",
    "IlotsError",
    "IlotsWarning",
    "InequalityError",
    "MetadataError",
    "ProductError",
    "ProductNotFoundError",
    "ReadError",
    "UnrecognisedProductError",
    "UnsupportedProductError",
    "ZonesError",
]
