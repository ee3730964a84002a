"""Space: analysis grids, processing tiles, chunking, and the ilots exceptions."""

from tiles.errors import (
    BandMissingError,
    CensusError,
    ConfigError,
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
    "ConfigError",
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
