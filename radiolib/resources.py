"""The data folders shipped inside the package: training recipes, dataset manifests, profiles.

They are found with :mod:`importlib.resources`, so an installed radiolib (``pip install``, not
editable) finds them as a checkout does; an environment variable, where one is named, points
elsewhere (``$RADIOLIB_MANIFESTS`` for the manifests).

>>> sorted(FOLDERS)
['configs', 'data_manifests', 'profiles']
>>> package_folder("configs").joinpath("simclr_riggi.yaml").is_file()
True
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from radiolib.errors import ConfigError

__all__ = ["FOLDERS", "package_folder"]

#: The package's data folders (``radiolib/<name>/*.yaml``) and what each holds.
FOLDERS = {
    "configs": "training recipes (radiolib pretrain --config NAME)",
    "data_manifests": "one manifest per dataset (radiolib fetch)",
    "profiles": "the notebooks' parameters at each scale (radiolib reproduce --profile)",
}


def package_folder(name: str, env: str | None = None) -> Path:
    """Return the package's data folder ``name``, or the folder ``$env`` names when it is set.

    Raises
    ------
    ConfigError
        If radiolib is installed in a form with no folder on disk (a zip), where the YAML files
        cannot be listed.
    """
    if name not in FOLDERS:
        raise ValueError(f"unknown package folder {name!r}; valid: {', '.join(FOLDERS)}")
    override = os.environ.get(env) if env else None
    if override:
        return Path(override).expanduser()
    folder = files("radiolib") / name
    if not isinstance(folder, Path):
        raise ConfigError(f"radiolib's {name}/ folder is not on disk ({folder}): install "
                          "radiolib as files (pip does), not zipped"
                          + (f", or set ${env}" if env else ""))
    return folder
