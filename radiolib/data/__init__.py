"""Datasets: manifests (``radiolib/data_manifests/*.yaml``), hash-checked fetching, and loaders.

``fetch(name)`` puts a dataset in ``<data folder>/<name>/`` (``$RADIOLIB_DATA`` or the user
cache), copying from a local mirror (``$RADIOLIB_MIRROR``) when it holds the files and
downloading otherwise. The loaders return :class:`LabelledImages`; they are imported on first
use so that ``radiolib fetch`` does not pay for pandas, astropy or h5py.
"""

from __future__ import annotations

import importlib
from typing import Any

from radiolib.data.archive import extract_archive
from radiolib.data.fetch import (
    ENV_DATA,
    ENV_MIRROR,
    data_root,
    dataset_dir,
    fetch,
    file_path,
    mirror_root,
)
from radiolib.data.manifest import (
    ENV_MANIFESTS,
    FileEntry,
    Manifest,
    get_manifest,
    list_datasets,
    load_manifest,
    manifest_dir,
)
from radiolib.data.safe_pickle import safe_load

__all__ = [
    "ENV_DATA",
    "ENV_MANIFESTS",
    "ENV_MIRROR",
    "FileEntry",
    "LabelledImages",
    "Manifest",
    "data_root",
    "dataset_dir",
    "extract_archive",
    "fetch",
    "file_path",
    "get_manifest",
    "list_datasets",
    "load_first_fits",
    "load_manifest",
    "load_mirabest",
    "load_mirabest_pngs",
    "load_rgd",
    "load_rgz_dr1",
    "manifest_dir",
    "mirror_root",
    "rgz_dr1_available",
    "safe_load",
]

_LAZY = {"LabelledImages", "load_first_fits", "load_mirabest", "load_mirabest_pngs", "load_rgd",
         "load_rgz_dr1", "rgz_dr1_available"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("radiolib.data.loaders"), name)
    raise AttributeError(f"module 'radiolib.data' has no attribute {name!r}")
