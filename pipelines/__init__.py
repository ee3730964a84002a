"""The flows of ilots: single-product processing, the demo, and the ``ilots`` command line."""

from pipelines.product import product_indices, product_lst, write_product_raster

__all__ = ["product_indices", "product_lst", "write_product_raster"]
