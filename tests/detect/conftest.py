"""A tiny dataset in the authors' JSON format, written from the simulator's truth.

:func:`write_json_dataset` writes it by hand with astropy and ``json`` (not with radiolib's
reader code), so that the reader is tested against an independent writer.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from radiolib.detect import field_images
from radiolib.sky import simulate


def write_json_dataset(root, *, n_images: int = 3, size: int = 64, seed: int = 0):
    """Write ``n_images`` annotated images of a simulated EMU-like field under ``root``.

    Layout: ``root/img<k>.json`` + ``root/img<k>.fits`` + ``root/masks/img<k>_<id>.fits`` and
    ``root/dataset.txt`` listing the JSON files. Returns (the field, the DetectionImages
    written, the catalogue rows of their objects by id).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    field = simulate("emupilot", size=3 * size, seed=seed, out_dir=root.parent / "field")
    images = field_images(field, size)[:n_images]
    assert len(images) == n_images, "the simulated field gave too few annotated images"
    cat = field.catalogue.set_index("id")
    wcs, beam, pix = field.image().wcs, field.image().beam, field.image().pixel_scale
    names = []
    for k, im in enumerate(images):
        x0, y0, x1, y1 = im.box
        header = wcs[y0:y1, x0:x1].to_header()
        header.update({"BMAJ": beam.bmaj / 3600, "BMIN": beam.bmin / 3600, "BPA": 0.0,
                       "BUNIT": "Jy/beam"})
        fits.PrimaryHDU(im.pixels, header).writeto(root / f"img{k}.fits")
        objs = []
        for oid, mask, cls, snr in zip(im.ids, im.masks, im.class_names, im.snr, strict=True):
            name = f"masks/img{k}_{oid}.fits"
            fits.PrimaryHDU(mask.astype(np.uint8)).writeto(root / name)
            objs.append({"name": f"S{oid}", "mask": name, "class": cls.lower(),
                         "nislands": int(cat.loc[oid, "n_islands"]),
                         "sidelobe-mixed": int(cls == "FLAGGED"), "sidelobe-near": 0,
                         "snr": float(snr)})
        doc = {"img": f"img{k}.fits", "telescope": "askap", "bmaj": beam.bmaj,
               "bmin": beam.bmin, "dx": pix, "dy": pix, "nx": x1 - x0, "ny": y1 - y0,
               "bkg": 0.0, "rms": float(cat["rms_local"].median()), "objs": objs}
        (root / f"img{k}.json").write_text(json.dumps(doc, indent=1))
        names.append(f"img{k}.json")
    (root / "dataset.txt").write_text("# the fixture's images\n" + "\n".join(names) + "\n")
    return field, images, cat


@pytest.fixture
def json_dataset(tmp_path):
    """(folder, field, images written, catalogue) of a 3-image dataset in tmp_path."""
    root = tmp_path / "dataset"
    field, images, cat = write_json_dataset(root)
    return root, field, images, cat
