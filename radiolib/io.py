"""Read and write radio FITS images and source catalogues.

Survey images arrive as 2-D maps with degenerate FREQ/STOKES axes, float or scaled-integer pixels,
NaN blanks, a restoring beam in BMAJ/BMIN/BPA and a celestial WCS (TAN, SIN, NCP). `read_fits`
turns any of them into one `Image`; files that cannot be used fail with a `FITSError` that says
what to do next.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.fits.verify import VerifyError, VerifyWarning
from astropy.table import Table
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import proj_plane_pixel_area

from radiolib.errors import DataError, FITSError
from radiolib.files import atomic_path

__all__ = [
    "Beam",
    "Image",
    "PixelOnlyWarning",
    "describe",
    "read_catalogue",
    "read_fits",
    "robust_noise",
    "write_fits",
]

# Surveys whose cut-outs (e.g. SkyView FIRST) carry no BMAJ/BMIN: documented survey beams.
_SURVEY_BEAMS = {"FIRST": (5.4, 5.4, 0.0, "FIRST survey value, Becker et al. 1995")}
_AIPS_BEAM = re.compile(r"BMAJ=\s*([-+.\dEe]+)\s+BMIN=\s*([-+.\dEe]+)\s+BPA=\s*([-+.\dEe]+)")
_CATALOGUE_FORMATS = {".fits": "fits", ".fit": "fits", ".csv": "ascii.csv",
                      ".ecsv": "ascii.ecsv", ".vot": "votable", ".xml": "votable"}


class PixelOnlyWarning(UserWarning):
    """The image has no usable celestial WCS: it is read in pixel-only mode (``wcs=None``)."""


@dataclass(frozen=True)
class Beam:
    """Restoring beam: FWHM axes ``bmaj``, ``bmin`` in arcsec, position angle ``bpa`` in deg."""

    bmaj: float
    bmin: float
    bpa: float = 0.0
    origin: str = "header"

    @property
    def area(self) -> float:
        """Gaussian beam solid angle in arcsec², ``pi bmaj bmin / (4 ln 2)``."""
        return math.pi * self.bmaj * self.bmin / (4 * math.log(2))

    def __str__(self) -> str:
        return f'{self.bmaj:.2f}" x {self.bmin:.2f}", PA {self.bpa:.1f} deg'


@dataclass(frozen=True, eq=False)
class Image:
    """A 2-D radio image: pixels (memory-mapped when possible), WCS, beam and pixel scale.

    ``data`` has shape (ny, nx) and keeps NaN blanks. ``wcs`` is the celestial WCS or None
    (pixel-only mode); ``pixel_scale`` is in arcsec/pixel.
    """

    data: np.ndarray
    header: fits.Header
    wcs: WCS | None = None
    beam: Beam | None = None
    pixel_scale: float | None = None
    path: Path | None = None
    unit: str = "Jy/beam"

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape (ny, nx)."""
        return self.data.shape

    @cached_property
    def nan_fraction(self) -> float:
        """Fraction of pixels that are NaN or infinite."""
        return 1.0 - np.count_nonzero(np.isfinite(self.data)) / self.data.size

    @cached_property
    def noise(self) -> float:
        """Robust (MAD) noise estimate in the image unit, see `robust_noise`."""
        return robust_noise(self.data)


def robust_noise(data: np.ndarray, *, sigma: float = 3.0, max_pixels: int = 4_000_000) -> float:
    """Return the MAD noise (1.4826 x median absolute deviation) of the finite pixels.

    Pixels further than ``sigma`` x MAD from the median (sources) are clipped once and the MAD
    recomputed. Images above ``max_pixels`` are sampled with a regular stride.
    """
    flat = np.asarray(data).ravel()
    flat = flat[:: max(1, flat.size // max_pixels)]
    values = flat[np.isfinite(flat)].astype(np.float64)
    if values.size == 0:
        raise ValueError("robust_noise: the array has no finite pixels")
    for _ in range(2):
        median = np.median(values)
        mad = 1.4826 * np.median(np.abs(values - median))
        kept = values[np.abs(values - median) <= sigma * mad]
        if mad == 0 or kept.size < 2:
            break
        values = kept
    return float(mad)


# what astropy raises, besides OSError, on a header it cannot make sense of
_MALFORMED = (ValueError, TypeError, KeyError, IndexError, AttributeError, VerifyError)


def _fail(path: Path, problem: str, todo: str) -> FITSError:
    return FITSError(f"{path}: {problem}; {todo}")


_BITPIX = (8, 16, 32, 64, -32, -64)
_MAX_HDUS = 1000


def _read_all_hdus(hdul: fits.HDUList, path: Path) -> None:
    """Load every HDU, checking each one's structural cards before the next is looked for.

    astropy finds the next HDU from NAXISn and BITPIX; a negative NAXISn sends it back to the
    same header forever, so the values are checked first.
    """
    for i in range(_MAX_HDUS + 1):
        try:
            header = hdul[i].header  # loads HDU i lazily
        except IndexError:
            return
        bitpix, naxis = header.get("BITPIX"), header.get("NAXIS")
        if not (_is_int(bitpix) and bitpix in _BITPIX):
            bad = "BITPIX"
        elif not (_is_int(naxis) and 0 <= naxis <= 999):
            bad = "NAXIS"
        else:
            bad = next((f"NAXIS{k}" for k in range(1, naxis + 1)
                        if not (_is_int(v := header.get(f"NAXIS{k}")) and v >= 0)), None)
        if bad is not None:
            raise _fail(path, f"HDU #{i} has an invalid {bad} card ({header.get(bad)!r})",
                        "the file is damaged or not a FITS image; download it again")
    raise _fail(path, f"it has more than {_MAX_HDUS} HDUs",
                "the file is damaged or not a FITS image; download it again")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _open(path: Path) -> fits.HDUList:
    if not path.is_file():
        todo = "check the path, or download the data with `radiolib fetch`"
        raise _fail(path, "no such file" if not path.exists() else "not a file", todo)
    if path.stat().st_size == 0:
        raise _fail(path, "the file is empty (0 bytes)", "download or write it again")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(path, memmap=True)
            _read_all_hdus(hdul, path)
        except OSError as exc:
            if any("multiple of 2880" in str(w.message) for w in caught):
                raise _fail(path, "the FITS header is truncated", "download it again") from exc
            raise _fail(path, f"not a readable FITS file ({exc})",
                        "check that it is a FITS image, or download it again") from exc
        except FITSError:
            raise
        except _MALFORMED as exc:  # astropy on wrong structural keywords (NAXISn, BITPIX...)
            raise _fail(path, f"its header is malformed ({type(exc).__name__}: {exc})",
                        "check the header's NAXIS/BITPIX cards, or download it again") from exc
    if any("truncated" in str(w.message) for w in caught):
        hdul.close()
        raise _fail(path, "the file is truncated (shorter than its header says)",
                    "download or copy it again")
    return hdul


def _pick_hdu(hdul: fits.HDUList, hdu: int | str | None, path: Path) -> int:
    def describe_hdu(i: int) -> tuple[bool, str]:
        h = hdul[i]
        naxes = [h.header.get(f"NAXIS{k}", 0) for k in range(1, h.header.get("NAXIS", 0) + 1)]
        kind = f"image with NAXIS={naxes or 0}" if h.is_image else "table"
        return h.is_image and len(naxes) >= 2 and all(naxes), f"#{i} {h.name} ({kind})"

    if hdu is not None:
        try:
            index = hdul.index_of(hdu)
        except (KeyError, IndexError) as exc:
            raise _fail(path, f"has no HDU {hdu!r} (it has {len(hdul)})", "pick another") from exc
        candidates = [index]
    else:
        candidates = range(len(hdul))
    seen = []
    for i in candidates:
        usable, text = describe_hdu(i)
        if usable:
            return i
        seen.append(text)
    todo = "for a source list use read_catalogue()" if any("table" in s for s in seen) else \
        "the file holds no pixels; write or download the image again"
    raise _fail(path, f"no HDU with 2-D image data ({', '.join(seen)})", todo)


def _pixels(hdul: fits.HDUList, index: int, path: Path, plane: int | None) -> np.ndarray:
    header = hdul[index].header
    for key in ("BSCALE", "BZERO"):
        value = header.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value):
            raise _fail(path, f"its {key} card ({value!r}) is not a finite number",
                        f"fix or remove {key} in the header")
    # Read before touching .data: astropy drops BSCALE/BZERO from the header once it scales.
    needs_copy = header["BITPIX"] > 0 or header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0
    try:
        try:
            data = hdul[index].data
        except ValueError:  # astropy refuses to memory-map scaled integers
            with fits.open(path, memmap=False) as copy:
                data = copy[index].data
    except TypeError as exc:
        raise _fail(path, "the data are truncated", "download or copy it again") from exc
    except (ValueError, OverflowError) as exc:
        raise _fail(path, f"its pixels cannot be decoded with its header ({exc})",
                    "check BITPIX, BSCALE, BZERO and BLANK, or download it again") from exc
    if needs_copy or data.dtype.kind != "f":
        data = np.asarray(data, dtype=np.float32)
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    if data.ndim == 3 and plane is not None:
        if not -data.shape[0] <= plane < data.shape[0]:
            raise _fail(path, f"plane={plane} is outside 0..{data.shape[0] - 1}", "pick another")
        data = data[plane]
    if data.ndim != 2:
        axes = [header.get(f"CTYPE{k}", "?") for k in range(header["NAXIS"], 0, -1)]
        raise _fail(path, f"is a {data.ndim}-D cube of shape {data.shape} (axes {axes}) after "
                    "dropping length-1 axes", "pick one plane with read_fits(path, plane=k) or "
                    "average the channels into a 2-D image first")
    return data


def _drop_unparsable(header: fits.Header, path: Path) -> None:
    """Remove, with a warning, the cards whose value astropy cannot parse (the file is kept).

    One damaged card (e.g. a quote missing in a SURVEY card) would otherwise fail every
    later look-up in the header, even of other keywords.
    """
    bad = []
    for i, card in enumerate(header.cards):
        try:
            card.value  # noqa: B018 - parsed on access
        except (VerifyError, ValueError):
            bad.append(i)
    for i in reversed(bad):
        del header[i]
    if bad:
        warnings.warn(f"{path}: ignoring {len(bad)} header card(s) that cannot be parsed",
                      UserWarning, stacklevel=3)


def _has_finite(data: np.ndarray, rows: int = 16) -> bool:
    """Return whether any pixel is finite, reading a few rows at a time from the middle out.

    A memory-mapped mosaic's blank border, read first, would stay resident however wide it is.
    """
    starts = np.arange(0, data.shape[0], rows)
    middle = np.argsort(np.abs(starts + rows / 2 - data.shape[0] / 2), kind="stable")
    return any(np.isfinite(data[i : i + rows]).any() for i in starts[middle])


def _celestial_wcs(header: fits.Header, path: Path) -> WCS | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            warnings.simplefilter("ignore", VerifyWarning)  # e.g. tabs in FIRST COMMENT cards
            wcs = WCS(header).celestial
            ok = wcs.has_celestial and np.all(np.isfinite(wcs.wcs_pix2world([[0.0, 0.0]], 0)))
            ok = ok and isinstance(wcs.pixel_to_world(0, 0), SkyCoord)  # a sky frame astropy knows
    except Exception as exc:  # wcslib raises many unrelated types
        ok, reason = False, f"its WCS is invalid ({exc})"
    else:
        reason = f"it has no celestial WCS (CTYPE1={header.get('CTYPE1')!r})"
    if ok:
        return wcs
    warnings.warn(f"{path}: {reason}; reading it in pixel-only mode (wcs=None, no sky "
                  "coordinates or pixel scale)", PixelOnlyWarning, stacklevel=3)
    return None


def _beam(header: fits.Header) -> Beam | None:
    def arcsec(deg: float) -> float:
        return round(float(deg) * 3600, 6)  # micro-arcsec: 6.0", not 5.999999999999997"

    if "BMAJ" in header and "BMIN" in header:
        with contextlib.suppress(TypeError, ValueError):  # e.g. BMAJ = 'big': no beam from it
            return Beam(arcsec(header["BMAJ"]), arcsec(header["BMIN"]),
                        float(header.get("BPA", 0)))
    for line in reversed(header.get("HISTORY", [])):
        if m := _AIPS_BEAM.search(str(line)):
            bmaj, bmin, bpa = (float(v) for v in m.groups())
            return Beam(arcsec(bmaj), arcsec(bmin), bpa, origin="AIPS HISTORY card")
    survey = str(header.get("SURVEY", "")).upper()
    return next((Beam(*v) for k, v in _SURVEY_BEAMS.items() if k in survey), None)


def read_fits(path: str | os.PathLike, *, hdu: int | str | None = None,
              plane: int | None = None) -> Image:
    """Read a radio FITS image into an `Image`.

    Parameters
    ----------
    path : path-like
        FITS file; the first HDU with 2-D-able image data is used unless ``hdu`` is given.
    hdu : int or str, optional
        HDU index or EXTNAME.
    plane : int, optional
        Plane to take from a cube with more than one channel along its third axis.

    Returns
    -------
    Image
        Pixels as a memory-mapped view when no BSCALE/BZERO scaling is needed, else a float32
        copy; length-1 FREQ/STOKES axes dropped; NaN blanks kept.

    Raises
    ------
    FITSError
        Missing, empty, non-FITS or truncated file; no image HDU; all-NaN; not 2-D.

    Warns
    -----
    PixelOnlyWarning
        No usable celestial WCS: the image is returned with ``wcs=None``.
    """
    path = Path(path)
    hdul = _open(path)
    try:
        index = _pick_hdu(hdul, hdu, path)
        _drop_unparsable(hdul[index].header, path)
        header = hdul[index].header.copy()
        data = _pixels(hdul, index, path, plane)
    finally:
        hdul.close()  # a memory map stays valid while ``data`` references it
    if not _has_finite(data):
        raise _fail(path, "every pixel is NaN or infinite", "check the HDU/plane you read")
    wcs = _celestial_wcs(header, path)
    scale = math.sqrt(proj_plane_pixel_area(wcs)) * 3600 if wcs is not None else None
    unit = str(header.get("BUNIT", "Jy/beam")).strip() or "Jy/beam"
    return Image(data, header, wcs, _beam(header), scale, path, unit)


def describe(image: Image) -> dict[str, str]:
    """Summarise an image as ``{label: text}``: shape, pixel scale, beam, centre, NaNs, noise."""
    ny, nx = image.shape
    info = {"shape": f"{ny} x {nx} pixels (ny x nx), {image.data.dtype.name}"}
    info["pixel scale"] = f'{image.pixel_scale:.3f}"/pixel' if image.pixel_scale else \
        "unknown (pixel-only mode)"
    if image.beam is None:
        info["beam"] = "unknown (no BMAJ/BMIN in the header)"
    else:
        note = "" if image.beam.origin == "header" else f" ({image.beam.origin})"
        info["beam"] = f"{image.beam}{note}"
    if image.wcs is not None:
        centre = image.wcs.pixel_to_world((nx - 1) / 2, (ny - 1) / 2)
        info["wcs"] = " / ".join(str(image.header.get(f"CTYPE{k}", "?")) for k in (1, 2))
        frame = centre.frame.name.upper()
        if hasattr(centre, "ra"):
            info["centre (deg)"] = f"RA {centre.ra.deg:.6f}, Dec {centre.dec.deg:+.6f} ({frame})"
            info["centre (hms/dms)"] = centre.to_string("hmsdms", precision=2)
        else:  # e.g. Galactic: the header's own longitude and latitude, and RA/Dec (ICRS)
            lon, lat = centre.spherical.lon.deg, centre.spherical.lat.deg
            info["centre (deg)"] = f"lon {lon:.6f}, lat {lat:+.6f} ({frame})"
            info["centre (hms/dms)"] = centre.icrs.to_string("hmsdms", precision=2) + " (ICRS)"
    else:
        info["wcs"] = "none (pixel-only mode)"
    info["nan fraction"] = f"{100 * image.nan_fraction:.2f} %"
    noise, unit = image.noise, image.unit
    if unit.lower().replace(" ", "") == "jy/beam":
        info["noise (MAD)"] = f"{noise:.3e} Jy/beam = {1e3 * noise:.4f} mJy/beam"
    else:
        info["noise (MAD)"] = f"{noise:.3e} {unit}"
    return info


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def _printable(header: fits.Header) -> fits.Header:
    """Copy ``header`` with the non-printable characters of its text replaced by spaces.

    FITS allows only printable ASCII in cards, but real headers break the rule (SkyView's
    FIRST cut-outs have TABs in COMMENT cards) and astropy refuses to write them.
    """
    def clean(card: fits.Card) -> fits.Card:
        try:
            value, comment = card.value, card.comment or ""
        except (VerifyError, ValueError):  # e.g. a TAB inside a quoted value: parse it cleaned
            raw = getattr(card, "_image", None) or ""  # the card's 80 characters as read
            return fits.Card.fromstring(_UNPRINTABLE.sub(" ", raw))
        if not (isinstance(value, str) and _UNPRINTABLE.search(value)) \
                and not _UNPRINTABLE.search(comment):
            return card
        if isinstance(value, str):
            value = _UNPRINTABLE.sub(" ", value)
        return fits.Card(card.keyword, value, _UNPRINTABLE.sub(" ", comment))

    return fits.Header([clean(card) for card in header.copy().cards])


def write_fits(path: str | os.PathLike, data: np.ndarray,
               header: fits.Header | None = None) -> Path:
    """Write ``data`` (with ``header``) as a primary-HDU FITS file, atomically; return the path.

    Non-printable characters in the header's text (TABs in the COMMENT cards of SkyView
    cut-outs) are replaced by spaces; the rest of the text is kept.
    """
    data = np.asarray(data)
    if data.dtype.kind not in "biuf":
        raise FITSError(f"{path}: cannot write {data.dtype} pixels; give a numeric array")
    hdu = fits.PrimaryHDU(data=data, header=None if header is None else _printable(header))
    with atomic_path(path) as tmp:
        hdu.writeto(tmp, overwrite=True, output_verify="silentfix")
    return Path(path)


def read_catalogue(path: str | os.PathLike, *, format: str | None = None) -> Table:
    """Read a source list (FITS table, CSV, ECSV or VOTable) into an astropy `Table`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such catalogue; check the path or run `radiolib fetch`")
    fmt = format or _CATALOGUE_FORMATS.get(Path(path.name.lower().removesuffix(".gz")).suffix)
    if fmt is None:
        raise DataError(f"{path}: unknown catalogue format; use one of "
                        f"{sorted(_CATALOGUE_FORMATS)} or pass format=")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-standard units in survey catalogues
            return Table.read(path, format=fmt)
    except Exception as exc:  # astropy's readers raise many unrelated types
        raise DataError(f"{path}: cannot be read as {fmt} ({exc})") from exc
