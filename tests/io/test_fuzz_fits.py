"""Fuzzing the FITS reader with mutated real headers: a clean FITSError or a usable image, always.

Real SkyView FIRST cut-outs and the centre of a Scorpio field with its real header (from the
shared data) get a few hundred seeded mutations of their header (flipped bytes, truncation,
changed NAXIS/BITPIX/BSCALE/WCS values, broken keywords, a lost END card); `read_fits` (and
`describe`, as `radiolib inspect` runs it) must raise a `FITSError` naming the file or return
a 2-D image, never anything else.
"""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from radiolib.errors import RadiolibError
from radiolib.io import describe, read_fits

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SOURCES = [*sorted((SHARED_DATA / "mirabest_fits_sample").glob("*.fits"))[:3],
           SHARED_DATA / "real_fields" / "ScorpioFaintSNRField.fits"]
N_MUTATIONS = 400
TIME_LIMIT_S = 25  # a slow machine runs a prefix of the same seeded sequence, at least 100
MIN_MUTATIONS = 100

_VALUES = {
    "NAXIS": ["0", "1", "3", "-1", "999", "2.5", "'2'"],
    "NAXIS1": ["0", "-5", "1", "1000000000", "301", "'x'"],
    "NAXIS2": ["0", "-5", "1", "1000000000", "299", "1E3"],
    "BITPIX": ["8", "16", "32", "64", "-64", "7", "0", "'X'"],
    "BSCALE": ["0", "-1", "1E300", "'abc'", "NAN", "T"],
    "BZERO": ["1E308", "-32768", "'z'"],
    "BLANK": ["-32768", "'nan'", "1.5"],
    "CTYPE1": ["'RA---XXX'", "'GLON-CAR'", "''", "12"],
    "CDELT1": ["0", "-0.0", "1E999", "'a'"],
    "CDELT2": ["0", "NAN"],
    "CRVAL2": ["91", "-1E30", "'dec'"],
    "CRPIX1": ["1E300", "'c'"],
    "BMAJ": ["'big'", "-1", "0"],
    "EQUINOX": ["'J2000'", "-1"],
}


def _header_cards(raw: bytes) -> int:
    """Number of 80-byte cards up to and including END."""
    for i in range(0, len(raw), 80):
        if raw[i:i + 8] == b"END     ":
            return i // 80 + 1
    raise AssertionError("no END card")


def _set_value(cards: list[bytes], key: str, value: str) -> None:
    card = f"{key:<8}= {value:>20}".encode("ascii").ljust(80)
    for i, c in enumerate(cards):
        if c[:8].rstrip() == key.encode():
            cards[i] = card
            return
    cards.insert(len(cards) - 1, card)  # before END


def mutate(raw: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation of a FITS file's primary header (the data stay)."""
    n = _header_cards(raw)
    head_len = -(-n * 80 // 2880) * 2880
    cards = [raw[i * 80:(i + 1) * 80] for i in range(n)]
    rest = raw[head_len:]
    kind = rng.integers(8)
    if kind == 0:  # flip bytes inside the header
        head = bytearray(b"".join(cards))
        for pos in rng.integers(0, len(head), rng.integers(1, 9)):
            head[pos] = int(rng.integers(256))
        cards = [bytes(head[i:i + 80]) for i in range(0, len(head), 80)]
    elif kind == 1:  # truncate anywhere
        return raw[: int(rng.integers(0, len(raw)))]
    elif kind in (2, 3, 4):  # a structural or WCS keyword gets an odd value
        key = list(_VALUES)[rng.integers(len(_VALUES))]
        _set_value(cards, key, _VALUES[key][rng.integers(len(_VALUES[key]))])
    elif kind == 5:  # a broken keyword: lower case, illegal characters, no '= '
        i = int(rng.integers(1, n - 1))
        bad = [b"naxis1  = 300", b"NA XIS  = 2", b"BITPIX  300", b"\x00\x01BAD   = 1",
               b"SIMPLE  = F", b"HIERARCH", b"CONTINUE  'x'", b"= 5"]
        cards[i] = bad[rng.integers(len(bad))].ljust(80)
    elif kind == 6:  # a card removed (END, SIMPLE, NAXIS... included)
        del cards[int(rng.integers(n))]
    else:  # a card duplicated with another value
        _set_value(cards, "NAXIS", "2")
        cards.insert(int(rng.integers(1, len(cards))),
                     f"NAXIS1  = {int(rng.integers(-10, 10**6)):>20}".encode().ljust(80))
    head = b"".join(cards)
    head += b" " * (-len(head) % 2880)
    return head + rest


@pytest.mark.skipif(not all(p.is_file() for p in SOURCES),
                    reason=f"real FITS files not found under {SHARED_DATA}")
def test_mutated_real_headers_give_a_clean_error_or_an_image(tmp_path):
    rng = np.random.default_rng(2024)
    originals = [p.read_bytes() for p in SOURCES[:-1]]
    with fits.open(SOURCES[-1]) as hdul:  # the wide field's real header on its central pixels
        ny, nx = hdul[0].data.shape
        centre = hdul[0].data[ny // 2 - 128:ny // 2 + 128, nx // 2 - 128:nx // 2 + 128]
        buffer = io.BytesIO()
        fits.PrimaryHDU(centre, hdul[0].header).writeto(buffer)
    originals.append(buffer.getvalue())
    start = time.perf_counter()
    outcomes = {"image": 0, "FITSError": 0}
    for k in range(N_MUTATIONS):
        raw = mutate(originals[k % len(originals)], rng)
        path = tmp_path / f"m{k}.fits"
        path.write_bytes(raw)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # odd headers warn (pixel-only mode, astropy)
                image = read_fits(path)
                info = describe(image)
        except RadiolibError as exc:
            assert str(path) in str(exc), exc  # the message names the file
            outcomes["FITSError"] += 1
        except Exception as exc:  # noqa: BLE001 - what the test is looking for
            kept = tmp_path.parent / f"fuzz-failure-{k}.fits"
            kept.write_bytes(raw)
            pytest.fail(f"mutation {k} ({kept}): {type(exc).__name__}: {exc}")
        else:
            assert image.data.ndim == 2 and min(image.data.shape) >= 1
            assert np.isfinite(image.data).any() and "shape" in info
            outcomes["image"] += 1
            del image
        path.unlink()
        if time.perf_counter() - start > TIME_LIMIT_S:
            break
    assert k + 1 >= MIN_MUTATIONS, f"only {k + 1} mutations in {TIME_LIMIT_S} s"
    # both outcomes happen: the mutations are neither all harmless nor all fatal
    assert outcomes["image"] > 20 and outcomes["FITSError"] > 20, outcomes
