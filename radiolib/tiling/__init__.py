"""Survey tiling: hulk, MGCLS and banner boxes, streamed into a lazy on-disk `TileSet`.

``tile_fits(path, mode, out_dir=...)`` is the entry point; the box generators and tile-count
formulas are pure functions of the image shape (see `radiolib.tiling.boxes`).
"""

from .boxes import (
    banner_boxes,
    box_sums,
    count_in_boxes,
    hulk_boxes,
    hulk_starts,
    mgcls_boxes,
    mgcls_starts,
    n_hulk_tiles,
    n_mgcls_tiles,
)
from .catalogue import banner_boxes_from_catalogue, catalogue_pixels
from .stats import field_statistics
from .tile import DEFAULT_NAN_MAX, MODES, tile_fields, tile_fits
from .tileset import TileSet, TileSetExistsError, TileSetWriter

__all__ = [
    "DEFAULT_NAN_MAX",
    "MODES",
    "TileSet",
    "TileSetExistsError",
    "TileSetWriter",
    "banner_boxes",
    "banner_boxes_from_catalogue",
    "box_sums",
    "catalogue_pixels",
    "count_in_boxes",
    "field_statistics",
    "hulk_boxes",
    "hulk_starts",
    "mgcls_boxes",
    "mgcls_starts",
    "n_hulk_tiles",
    "n_mgcls_tiles",
    "tile_fields",
    "tile_fits",
]
