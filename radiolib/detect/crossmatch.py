"""Compare a detection catalogue with a reference source list (e.g. PyBDSF) on the sky.

A reference source is *recovered* when a detection lies within ``radius`` arcsec of it; a
detection is *confirmed* when a reference source lies within ``radius`` of it. Completeness
is the recovered share of reference sources (per flux bin with
:func:`radiolib.detect.metrics.completeness_by`), reliability the confirmed share of
detections. Positions only: this says nothing about masks or classes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.coordinates import SkyCoord

__all__ = ["crossmatch"]


def crossmatch(det_ra, det_dec, ref_ra, ref_dec, *, radius: float = 6.0
               ) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Return (recovered per reference source, confirmed per detection, summary).

    Coordinates in degrees; ``radius`` in arcsec. The summary holds the counts, completeness
    and reliability (NaN when there is nothing to divide by).
    """
    det = SkyCoord(np.asarray(det_ra, float) * u.deg, np.asarray(det_dec, float) * u.deg)
    ref = SkyCoord(np.asarray(ref_ra, float) * u.deg, np.asarray(ref_dec, float) * u.deg)
    recovered = np.zeros(len(ref), bool)
    confirmed = np.zeros(len(det), bool)
    if len(det) and len(ref):
        _, sep, _ = ref.match_to_catalog_sky(det)
        recovered = sep.arcsec <= radius
        _, sep, _ = det.match_to_catalog_sky(ref)
        confirmed = sep.arcsec <= radius
    summary = pd.Series({"reference": len(ref), "detections": len(det),
                         "recovered": int(recovered.sum()), "confirmed": int(confirmed.sum()),
                         "completeness": recovered.mean() if len(ref) else np.nan,
                         "reliability": confirmed.mean() if len(det) else np.nan})
    return recovered, confirmed, summary
