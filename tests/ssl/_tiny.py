"""Tiny recipes and a small FITS field shared by the training tests and their spawned ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from astropy.io import fits

#: ResNet18 at 32 px, batch 8, 3 steps per epoch on 24 images: about 0.25 s a step.
TINY_SIMCLR = dict(image_size=32, epochs=2, batch_size=8, warmup_epochs=1, proj_hidden_dim=32,
                   proj_out_dim=16, log_every=1, num_workers=0)
#: 1-channel ResNet18, 2 global 32 px + 2 local 16 px crops, a small head.
TINY_DINO = dict(backbone="resnet18", image_size=40, global_size=32, local_size=16, n_local=2,
                 out_dim=64, hidden_dim=32, bottleneck_dim=16, epochs=2, batch_size=8,
                 warmup_epochs=1, log_every=1, num_workers=0)


def write_field(path, size: int = 128, n_sources: int = 12, seed: int = 0):
    """A small noise field with Gaussian sources, a SIN WCS and a beam; returns its catalogue."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = rng.normal(0, 1e-4, (size, size))
    x, y = rng.uniform(4, size - 4, n_sources), rng.uniform(4, size - 4, n_sources)
    for xi, yi, amp in zip(x, y, rng.uniform(1e-3, 1e-2, n_sources), strict=True):
        image += amp * np.exp(-((xx - xi) ** 2 + (yy - yi) ** 2) / (2 * 2.0 ** 2))
    header = fits.Header({"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CRVAL1": 150.0,
                          "CRVAL2": -30.0, "CRPIX1": size / 2, "CRPIX2": size / 2,
                          "CDELT1": -2 / 3600, "CDELT2": 2 / 3600, "BMAJ": 6 / 3600,
                          "BMIN": 5 / 3600, "BPA": 0.0, "BUNIT": "Jy/beam"})
    fits.PrimaryHDU(image.astype(np.float32), header).writeto(path)
    return pd.DataFrame({"x": x, "y": y, "size_pix": np.full(n_sources, 4.0)})
