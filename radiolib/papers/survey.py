"""Datasets cut from simulated fields, with truth labels, and the dataset tables of both papers.

`tile_simulated` tiles simulated fields the way each paper tiles its survey and attaches the
truth every later task needs: frame labels for hulk tiles (Riggi et al. 2024 [0]), source
counts for MGCLS crops (Lastufka et al. 2024 [1]) and the source of each banner cut-out.
The table functions summarise the resulting `radiolib.tiling.TileSet` objects:

- `riggi_table1`: hulk and banner data-set sizes (smart_hulk is a model trained on the two in
  turn, not a data set of its own) and the sizes of the
  banner sources, per field (Riggi et al. Table 1);
- `mgcls_table`: MGCLS crops per field, written and skipped, sources per crop (Lastufka et al.
  Table 1);
- `survey_hulk_counts`: the hulk tiles the same code gives for a survey of a given area;
- `label_fractions`: how often each frame label occurs among hulk tiles;
- `realism_table`: `radiolib.sky.field_stats` of simulated and real images side by side;
- `variation_table`: counts per crop, their dispersion within and between pointings, the
  centre-to-edge ratio and the noise spread of simulated pointings (`simulated_variation`)
  beside real fields (`real_variation`).

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from radiolib.files import atomic_write
from radiolib.io import Image, read_catalogue, read_fits, robust_noise
from radiolib.papers.frame_truth import beam_area, visible_labels
from radiolib.sky.plan import plan_field
from radiolib.sky.presets import PRESETS, get_preset
from radiolib.sky.realism import field_stats
from radiolib.sky.simulate import SimulatedField
from radiolib.sky.statistics import (
    CropCounts,
    catalogue_counts,
    count_summary,
    image_counts,
    plan_counts,
)
from radiolib.sky.truth import FRAME_LABELS, frame_labels, primary_label, source_counts
from radiolib.tiling import (
    TileSet,
    banner_boxes,
    mgcls_boxes,
    n_hulk_tiles,
    n_mgcls_tiles,
    tile_fields,
)

__all__ = ["banner_sources", "brightest_box", "centre_and_edge", "centre_crop", "class_examples",
           "hulk_labels", "label_fractions", "mgcls_subset", "mgcls_table", "pick_by_label",
           "pixel_snr", "pointing_crops", "real_variation", "realism_table", "riggi_table1",
           "riggi_table1_records", "reuse_or_make", "simulated_variation", "sky_code",
           "source_column", "survey_hulk_counts", "tile_simulated", "variation_table"]


def sky_code() -> str:
    """Hash of the code that makes simulated tiles and their truth (radiolib.sky and .tiling)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in ("sky", "tiling"):
        for path in sorted((root / pkg).rglob("*.py")):
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def reuse_or_make(out_dir: str | os.PathLike, made: Mapping, make: Callable[[], TileSet]
                  ) -> TileSet:
    """Return the TileSet in ``out_dir`` if ``out_dir.json`` records ``made``; else ``make()`` it.

    ``made`` says what makes the tiles (seeds, sizes...); the hash of the simulator and tiler
    code (:func:`sky_code`) is added, so a code change remakes them. The record is removed
    before making and written (atomically) after, so a failed run is never taken for a
    finished one. Notebooks asking for the same tiles share them instead of re-tiling.
    """
    out_dir = Path(out_dir)
    made = {**made, "code": sky_code()}
    record = out_dir.with_name(out_dir.name + ".json")
    if (record.is_file() and (out_dir / "index.csv").is_file()
            and json.loads(record.read_text()) == json.loads(json.dumps(made))):
        return TileSet.open(out_dir)
    record.unlink(missing_ok=True)
    tiles = make()
    atomic_write(record, json.dumps(made) + "\n")
    return tiles


def banner_sources(catalogue: pd.DataFrame, *, snr_min: float = 10.0) -> pd.DataFrame:
    """Catalogue rows that get a banner cut-out: detected sources with ``snr >= snr_min``.

    Artefacts and mosaic seams are left out, and so are sources without an island above the
    mask threshold. The rows keep ``x, y`` and the mask box ``x0, y0, x1, y1``, from which
    `radiolib.tiling.catalogue_pixels` takes the centre and the extent.
    """
    if snr_min < 0:
        raise ValueError(f"snr_min must be >= 0, got {snr_min}")
    keep = ((catalogue["kind"].astype(str) == "source") & (catalogue["snr"] >= snr_min)
            & (catalogue["n_islands"] > 0))
    return catalogue.loc[keep].reset_index(drop=True)


def hulk_labels(catalogue, *, snr_min: float = 5.0, segmap=None,
                beam_area_px: float | None = None) -> Callable[[np.ndarray], dict]:
    """Return ``labels(boxes)`` giving each box its frame labels and primary label.

    The columns are ``labels`` (a set, stored as ``"A|B"``) and ``primary``. With the field's
    ``segmap`` and ``beam_area_px`` a label is set only when its object is visible in the tile
    (`radiolib.papers.frame_truth.visible_labels`); without them, from bounding boxes
    (`radiolib.sky.frame_labels`). See `radiolib.sky.primary_label`.
    """
    def labels(boxes: np.ndarray) -> dict:
        if segmap is None:
            sets = frame_labels(catalogue, boxes, snr_min=snr_min)
        else:
            sets = visible_labels(catalogue, segmap, boxes, beam_area_px=beam_area_px,
                                  snr_min=snr_min)
        return {"labels": sets, "primary": [primary_label(s) for s in sets]}

    return labels


def _count_labels(catalogue, snr_min: float,
                  components: bool = False) -> Callable[[np.ndarray], dict]:
    def labels(boxes: np.ndarray) -> dict:
        return {"n_sources": source_counts(catalogue, boxes, snr_min=snr_min,
                                           components=components)}

    return labels


def tile_simulated(fields: Sequence[SimulatedField], mode: str, *, out_dir: str | os.PathLike,
                   snr_min: float | None = None, **kwargs) -> TileSet:
    """Tile simulated fields into one TileSet with their truth labels.

    Parameters
    ----------
    fields : sequence of SimulatedField
        Fields written by `radiolib.sky.simulate`; named ``<preset>_<seed>`` in the TileSet.
    mode : {"hulk", "banner", "mgcls"}
        hulk tiles get ``labels`` and ``primary`` (frame labels of the objects visible in
        the tile, `radiolib.papers.frame_truth`; sources with SNR >= 5);
        MGCLS crops get ``n_sources`` (sources with SNR >= 5 centred in the crop; a preset
        with ``count_components``, ``mightee``, counts each source's components); banner
        cut-outs are made around `banner_sources` (SNR >= 10) and keep the source's ``id``
        in the ``source`` column.
    out_dir : path-like
        Folder of the TileSet (replaced if it exists).
    snr_min : float, optional
        Override the SNR threshold of the mode.
    **kwargs
        Passed to `radiolib.tiling.tile_fields` (``size``, ``overlap``, ``factor``...).
    """
    cats = [f.catalogue for f in fields]
    names = [f"{f.preset}_{f.seed}" for f in fields]
    paths = [f.image_path for f in fields]
    if mode == "banner":
        cats = [banner_sources(c, snr_min=10.0 if snr_min is None else snr_min) for c in cats]
        return tile_fields(paths, mode, out_dir=out_dir, catalogues=cats, names=names,
                           overwrite=True, **kwargs)
    threshold = 5.0 if snr_min is None else snr_min
    if mode == "hulk":
        labels = [hulk_labels(f.catalogue, snr_min=threshold, segmap=f.segmap(),
                              beam_area_px=beam_area(f.header)) for f in fields]
    else:
        labels = [_count_labels(c, threshold, components=_components(f.preset))
                  for f, c in zip(fields, cats, strict=True)]
    return tile_fields(paths, mode, out_dir=out_dir, labels=labels, names=names,
                       overwrite=True, **kwargs)


def _components(preset: str) -> bool:
    """Whether a preset's catalogue counts components (False for a preset not registered)."""
    return bool(PRESETS[preset].count_components) if preset in PRESETS else False


def _pixel_scale(ts: TileSet, field: str) -> float:
    scale = ts.fields[field].get("pixel_scale")
    return float(scale) if scale else float("nan")


def riggi_table1(hulk: TileSet, banner: TileSet) -> pd.DataFrame:
    """Dataset sizes and banner-source sizes per field, with a ``total`` row.

    Columns: ``n_hulk`` (hulk tiles written), ``n_banner`` (banner cut-outs written), and the
    largest extent of the banner sources in arcsec: ``size_min, size_median, size_mean,
    size_max`` (Riggi et al.'s Table 1 gives the mean, minimum and maximum).
    """
    fields = list(dict.fromkeys([*hulk.fields, *banner.fields]))
    index = banner.index
    sizes = index["source_extent_pix"] * index["field"].map(lambda f: _pixel_scale(banner, f))
    rows = {}
    for name, part in [*((f, index["field"] == f) for f in fields),
                       ("total", np.ones(len(index), bool))]:
        n_hulk = int((hulk.index["field"] == name).sum()) if name != "total" else len(hulk)
        s = sizes[np.asarray(part)].to_numpy(float)
        stats = ((s.min(), np.median(s), s.mean(), s.max()) if s.size else (np.nan,) * 4)
        rows[name] = {"n_hulk": n_hulk, "n_banner": int(s.size),
                      **dict(zip(("size_min", "size_median", "size_mean", "size_max"),
                                 (float(v) for v in stats), strict=True))}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "field"
    return table


def riggi_table1_records(table: pd.DataFrame) -> dict[str, float]:
    """Return the published Table 1 keys a :func:`riggi_table1` fills, per survey.

    Fields ``emupilot*`` and ``smgps*`` (one field of each), in the paper's units: counts, mean
    and maximum source size in arcmin, minimum in arcsec.
    """
    out: dict[str, float] = {}
    for field, row in table.drop(index="total", errors="ignore").iterrows():
        survey = str(field).split("_")[0]
        if survey not in ("emupilot", "smgps"):
            continue
        out[f"riggi2024.table1.n_img_hulk_{survey}"] = int(row["n_hulk"])
        out[f"riggi2024.table1.n_img_banner_{survey}"] = int(row["n_banner"])
        if row["n_banner"]:
            out[f"riggi2024.table1.mean_source_size_banner_{survey}"] = row["size_mean"] / 60
            out[f"riggi2024.table1.min_source_size_banner_{survey}"] = row["size_min"]
            out[f"riggi2024.table1.max_source_size_banner_{survey}"] = row["size_max"] / 60
    return out


def mgcls_subset(ts: TileSet, fraction: float, *, seed: int = 0) -> np.ndarray:
    """Return indices of a random ``fraction`` of the crops, with a crop of every field.

    Lastufka et al.'s MGCLS_5k (Sect. 2.2.1): 5000 of MGCLS_20k's 19,554 crops, every field
    represented; their ViT-S/8 trains on it. ``fraction=1`` returns every crop, in order.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    n = len(ts)
    if fraction == 1:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    fields = ts.index["field"].astype(str).to_numpy()
    one_each = [rng.choice(np.flatnonzero(fields == f)) for f in np.unique(fields)]
    rest = np.setdiff1d(np.arange(n), one_each)
    extra = max(0, round(fraction * n) - len(one_each))
    return np.sort(np.concatenate([one_each, rng.choice(rest, extra, replace=False)]))


def label_fractions(ts: TileSet, *, column: str = "labels") -> pd.DataFrame:
    """Fraction of tiles carrying each frame label, one column per field and one for ``all``.

    ``column`` holds ``"A|B"`` label sets (``labels``: a tile counts for every label it has)
    or single labels (``primary``). Rows follow `radiolib.sky.FRAME_LABELS`.
    """
    sets = ts.index[column].fillna("").astype(str).str.split("|")
    out = {}
    for name, mask in [*((f, ts.index["field"] == f) for f in ts.fields),
                       ("all", np.ones(len(ts), bool))]:
        part = sets[np.asarray(mask)]
        out[name] = [float(np.mean([lab in s for s in part])) if len(part) else np.nan
                     for lab in FRAME_LABELS]
    return pd.DataFrame(out, index=pd.Index(FRAME_LABELS, name="label"))


def mgcls_table(ts: TileSet) -> pd.DataFrame:
    """MGCLS crops per field: image shape, crops by formula, written, skipped, sources per crop.

    ``n_formula`` is `radiolib.tiling.n_mgcls_tiles` of the image shape; crops holding a NaN
    (beyond the primary-beam cut) are skipped: our choice, the paper does not discuss blanks.
    """
    size, overlap = ts.tile_size, ts.meta["params"]["max_overlap"]
    rows = {}
    for name, info in ts.fields.items():
        part = ts.index[ts.index["field"] == name]
        counts = part["n_sources"] if "n_sources" in part else pd.Series(dtype=float)
        rows[name] = {"shape": "x".join(str(v) for v in info["shape"]),
                      "n_formula": n_mgcls_tiles(info["shape"], size, overlap),
                      "n_written": info["n_written"], "n_skipped": info["n_skipped"],
                      "sources_per_crop": float(counts.mean()) if len(counts) else np.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "field"
    return table


def survey_hulk_counts(surveys: Mapping[str, tuple[float, float]], *, size: int = 256,
                       overlap: float = 0.5) -> pd.DataFrame:
    """Hulk tiles of a square mosaic of each survey's area: ``{name: (area_deg2, arcsec/px)}``.

    An idealised count (one square, blank-free mosaic), to set the simulated fields beside
    the scale of the real surveys.
    """
    rows = {}
    for name, (area, scale) in surveys.items():
        side = int(round(np.sqrt(area) * 3600 / scale))
        rows[name] = {"area_deg2": area, "pixel_scale": scale, "side_pix": side,
                      "n_hulk": n_hulk_tiles((side, side), size, overlap)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "survey"
    return table


def class_examples(catalogue: pd.DataFrame, *, snr_min: float = 10.0,
                   max_size: float | None = None, shape: tuple[int, int] | None = None,
                   margin: int = 16) -> pd.DataFrame:
    """Return one source per morphology class: the one of highest SNR, sorted by class.

    Candidates are `banner_sources` (SNR >= ``snr_min``) whose mask box is at most
    ``max_size`` pixels across and, when the image ``shape`` (ny, nx) is given, at least
    ``margin`` pixels from its border.
    """
    cat = banner_sources(catalogue, snr_min=snr_min)
    keep = np.ones(len(cat), bool)
    if max_size is not None:
        keep &= np.maximum(cat["x1"] - cat["x0"], cat["y1"] - cat["y0"]).to_numpy() <= max_size
    if shape is not None:
        ny, nx = shape
        keep &= ((cat["x0"] >= margin) & (cat["y0"] >= margin) & (cat["x1"] <= nx - margin)
                 & (cat["y1"] <= ny - margin)).to_numpy()
    best = cat[keep].sort_values("snr", ascending=False).groupby("class", sort=False).head(1)
    return best.sort_values("class").reset_index(drop=True)


def centre_crop(image: Image, size: int) -> Image:
    """Return the central ``size`` x ``size`` pixels of an image (all if smaller) as an Image.

    The WCS is dropped (the crop is for pixel statistics); beam and pixel scale are kept.
    """
    ny, nx = image.shape
    y0, x0 = max(0, (ny - size) // 2), max(0, (nx - size) // 2)
    data = np.asarray(image.data[y0:y0 + size, x0:x0 + size], dtype=np.float32)
    return Image(data=data, header=image.header, wcs=None, beam=image.beam,
                 pixel_scale=image.pixel_scale, path=image.path, unit=image.unit)


def pixel_snr(data: np.ndarray, *, max_pixels: int = 1_000_000) -> np.ndarray:
    """Finite pixels in units of the robust noise around the median (a regular subsample)."""
    values = np.asarray(data, dtype=np.float32)
    values = values[np.isfinite(values)]
    values = values[:: max(1, values.size // max_pixels)]
    return (values - np.median(values)) / robust_noise(values)


def realism_table(images: Mapping[str, Image], *, block: int = 128) -> pd.DataFrame:
    """`radiolib.sky.field_stats` of each image as one row of readable numbers.

    Columns: ``rms_ujy`` (µJy/beam), ``rms_p90_p10`` (spread of the local noise),
    ``density_deg2`` (sources peaking above 5 sigma per deg²), ``neg_pct`` (pixels below
    -3 sigma, %; 0.13 % for Gaussian noise), ``ripple_neg_pct`` (the same within 15 beams of
    bright sources), ``q999`` (99.9th percentile in sigma) and ``n_bright``.
    """
    rows = {}
    for name, image in images.items():
        beam_px = image.beam.bmaj / image.pixel_scale if image.beam and image.pixel_scale else 4.0
        s = field_stats(np.asarray(image.data), beam_px=beam_px, block=block,
                        pixel_scale=image.pixel_scale)
        rows[name] = {"shape": "x".join(str(v) for v in image.shape),
                      "rms_ujy": 1e6 * s["rms"], "rms_p90_p10": s["rms_p90_p10"],
                      "density_deg2": float(s.get("source_density_deg2", np.nan)),
                      "neg_pct": 100 * s["negative_fraction"],
                      "ripple_neg_pct": 100 * s["ripple_negative_fraction"],
                      "q999": s["quantiles"][0.999], "n_bright": s["n_bright"]}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "field"
    return table


def source_column(ts: TileSet, fields: Sequence[SimulatedField],
                  column: str = "class") -> pd.Series:
    """Return ``column`` of the catalogue source behind each banner tile of ``ts``.

    ``ts`` holds banner tiles of `tile_simulated` (fields named ``<preset>_<seed>``); tiles
    whose source is not found get an empty string.
    """
    lookup = {}
    for f in fields:
        ids, values = f.catalogue["id"].astype(str), f.catalogue[column]
        lookup.update({(f"{f.preset}_{f.seed}", i): v for i, v in zip(ids, values, strict=True)})
    keys = zip(ts.index["field"].astype(str), ts.index["source"].astype(str), strict=True)
    return pd.Series([lookup.get(k, "") for k in keys], index=ts.index.index, name=column)


def centre_and_edge(ts: TileSet, field: str) -> tuple[int, int]:
    """Return the indices of the tiles of ``field`` nearest to and farthest from its centre."""
    part = ts.index[ts.index["field"] == field]
    if part.empty:
        raise KeyError(f"no tile of field {field!r} in {ts.path}")
    ny, nx = ts.fields[field]["shape"]
    dx = (part["x0"] + part["x1"]) / 2 - nx / 2
    dy = (part["y0"] + part["y1"]) / 2 - ny / 2
    r = np.hypot(dx, dy).to_numpy()
    return int(part.index[r.argmin()]), int(part.index[r.argmax()])


def brightest_box(catalogue: pd.DataFrame, side: int, shape: tuple[int, int]) -> np.ndarray:
    """Return a ``side``-pixel box ``(x0, y0, x1, y1)`` around the source of highest peak.

    Only sources centred on the image of ``shape`` (ny, nx) count; the box is shifted to lie
    inside the image where it can.
    """
    ny, nx = shape
    x, y = catalogue["x"], catalogue["y"]
    inside = (catalogue["kind"].astype(str) == "source") & (x >= 0) & (x < nx) & (y >= 0) & (y < ny)
    sources = catalogue[inside]
    if sources.empty:
        raise ValueError("no catalogued source is centred on the image")
    row = sources.loc[sources["peak"].idxmax()]
    box = banner_boxes([row["x"]], [row["y"]], [0.0], min_size=side)[0]
    shift = np.array([min(0, nx - box[2]) - min(0, box[0]), min(0, ny - box[3]) - min(0, box[1])])
    return box + np.tile(shift, 2)


def pointing_crops(preset: str = "mgcls", *, image_size: int | None = None, size: int = 256,
                   max_overlap: int = 10) -> int:
    """Count the blank-free MGCLS crops of one pointing of ``preset`` from geometry alone.

    The pointing is cut where its Gaussian primary beam falls to the preset's ``pb_cut``; the
    crops of `radiolib.tiling.mgcls_boxes` on a square image of side ``image_size`` (default:
    the cut disc's diameter) centred on the pointing count when their four corners fall
    inside the disc and the image.
    """
    p = get_preset(preset)
    if p.mode != "pointing":
        raise ValueError(f"preset {p.name!r} is a mosaic, not a pointing")
    radius = p.pb_fwhm_arcmin * 60 / p.pixel_scale * np.sqrt(np.log(1 / p.pb_cut) / np.log(16))
    side = int(np.ceil(2 * radius)) if image_size is None else int(image_size)
    boxes = mgcls_boxes((side, side), size, max_overlap).astype(float) - side / 2
    corners = [np.hypot(boxes[:, i], boxes[:, j]) for i in (0, 2) for j in (1, 3)]
    return int(np.all(np.stack(corners) <= radius, axis=0).sum())


def pick_by_label(labels: pd.Series, order: Sequence[str], n: int, *,
                  seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Pick up to ``n`` random rows per label, labels in ``order`` (for sample galleries).

    Returns the positions of the picked rows (in label order) and their labels.
    """
    rng = np.random.default_rng(seed)
    values = np.asarray(labels).astype(str)
    picked = [(i, label) for label in order
              for i in rng.permutation(np.flatnonzero(values == label))[:n]]
    return np.array([i for i, _ in picked], dtype=np.int64), [label for _, label in picked]


Variation = tuple[list[CropCounts], list[float]]


def simulated_variation(preset: str = "mgcls", seeds: Sequence[int] = range(12), *,
                        size: int = 3072, crop: int = 256, snr_min: float = 5.0) -> Variation:
    """Return counts per crop (truth, SNR >= ``snr_min``) and rms of simulated pointings.

    Each seed is planned with `radiolib.sky.plan_field` (sources and truth, no image), so a
    dozen 3072² pointings take seconds; the crops are the MGCLS crops whose corners are
    observed, as the tiler keeps them.
    """
    plans = [plan_field(preset, size=size, seed=int(s)) for s in seeds]
    components = get_preset(preset).count_components
    return ([plan_counts(p, size=crop, snr_min=snr_min, components=components) for p in plans],
            [p.rms for p in plans])


_LOTSS = "catalog_shimwell_reduced.srl.fits"
_SCORPIO = ("ScorpioS17Field", "ScorpioExtendedSourceField", "ScorpioFaintSNRField")


def real_variation(real_dir: str | os.PathLike, *, crop: int = 256,
                   pixel_scale: float = 1.5) -> dict[str, Variation]:
    """Return counts per crop and noise of the real fields in ``real_dir`` (`fetch`ed).

    - ``"LoTSS DR1 (catalogue)"``: the PyBDSF source list of two whole LoTSS DR1 mosaics,
      sources with peak / island rms >= 5 per square cell of ``crop`` x ``pixel_scale``
      arcsec (a 256² MGCLS crop at 1.5"/px), about each mosaic's pointing centre (its name);
      the noise of a mosaic is the median island rms;
    - ``"Scorpio ATCA (peak finder)"``: local peaks above 5 sigma (`find_peaks`) per
      ``crop``² crop of the three 1000² ATCA fields; the noise is each image's robust rms.

    Files that are missing are left out; the LoTSS cut-out images are too small to crop.
    """
    real_dir = Path(real_dir)
    out: dict[str, Variation] = {}
    path = real_dir / _LOTSS
    if path.exists():
        cat = read_catalogue(path).to_pandas()
        counts, rms = [], []
        for mosaic, part in cat.groupby("Mosaic_ID"):
            name = mosaic.decode() if isinstance(mosaic, bytes) else str(mosaic)
            centre = (float(name[1:4]), float(name[4:]))  # "P205+55": RA 205, Dec +55
            counts.append(catalogue_counts(part["RA"], part["DEC"], centre=centre,
                                           cell_deg=crop * pixel_scale / 3600,
                                           snr=part["Peak_flux"] / part["Isl_rms"]))
            rms.append(float(np.median(part["Isl_rms"])) * 1e-3)  # mJy/beam -> Jy/beam
        out["LoTSS DR1 (catalogue)"] = (counts, rms)
    counts, rms = [], []
    for stem in _SCORPIO:
        path = real_dir / f"{stem}.fits"
        if not path.exists():
            continue
        image = read_fits(path)
        beam_px = image.beam.bmaj / image.pixel_scale if image.beam else 4.0
        data = np.asarray(image.data, dtype=np.float32)
        counts.append(image_counts(data, size=crop, beam_px=beam_px))
        rms.append(robust_noise(data))
    if counts:
        out["Scorpio ATCA (peak finder)"] = (counts, rms)
    return out


def variation_table(entries: Mapping[str, Variation]) -> pd.DataFrame:
    """One row of `radiolib.sky.statistics.count_summary` per entry, in readable columns.

    Columns: ``pointings``, ``crops``, ``mean`` and ``var`` of the counts per crop,
    ``var/mean`` (1 for pure Poisson scatter), ``within var/mean`` (inside each pointing),
    ``between var`` (of the pointings' mean counts), ``mean range`` (lowest-highest
    pointing mean), ``centre/edge`` (inner half of crops over outer half), ``rms spread dex``
    and ``rms max/min`` between pointings, ``p98`` (98th percentile of the counts).
    """
    rows = {}
    for name, (counts, rms) in entries.items():
        s = count_summary(counts, rms)
        pooled = np.concatenate([c.counts for c in counts])
        rows[name] = {"pointings": s["n_pointings"], "crops": s["n_crops"], "mean": s["mean"],
                      "var": s["var"], "var/mean": s["dispersion"],
                      "within var/mean": s["within_dispersion"], "between var": s["between_var"],
                      "mean range": f"{s['pointing_mean_min']:.1f}-{s['pointing_mean_max']:.1f}",
                      "centre/edge": s["centre_edge"], "rms spread dex": s["rms_spread_dex"],
                      "rms max/min": s["rms_max_min"], "p98": float(np.percentile(pooled, 98))}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "fields"
    return table
