"""The ``radiolib`` command: thin argparse wrappers over the library (no logic lives here)."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from pathlib import Path

__all__ = ["Terminated", "main"]


def _cmd_fetch(args: argparse.Namespace) -> int:
    from radiolib.data import fetch, list_datasets

    if args.list or not args.names:
        for m in list_datasets():
            state = "downloadable" if m.downloadable else "manual (see its manifest)"
            print(f"{m.name:24s} {state:28s} {m.title}")
        return 0
    for name in args.names:
        path = fetch(name, data_dir=args.data_dir, mirror=args.mirror, progress=not args.quiet)
        print(f"{name}: {path}")
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from radiolib.io import describe, read_fits

    for path in args.files:
        info = describe(read_fits(path))
        print(path)
        for key, value in info.items():
            print(f"  {key:16s} {value}")
    return 0


def _cmd_preprocess(args: argparse.Namespace) -> int:
    from radiolib.preprocess import preprocess_files

    report = preprocess_files(
        args.files, scaling=args.scaling, out_dir=args.out, preview=args.preview, size=args.size,
        overwrite=args.overwrite, merge=args.merge,
    )
    for failure in report.failed:
        print(f"FAILED {failure.path}: {failure.reason}", file=sys.stderr)
    print(f"{len(report.written)} written, {len(report.failed)} failed; index: {report.index_path}")
    return 1 if report.failed else 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from radiolib.sky import simulate

    field = simulate(args.preset, size=args.size, seed=args.seed, out_dir=args.out)
    n_sources = int((field.catalogue["kind"] == "source").sum())
    print(f"{args.preset} field {field.shape[1]}x{field.shape[0]} px, seed {args.seed}, "
          f"DQF {field.dqf}: {n_sources} sources in {field.seconds:.1f} s")
    for path in (field.image_path, field.catalogue_path, field.segmap_path):
        print(f"  {path}")
    return 0


def _cmd_tile(args: argparse.Namespace) -> int:
    from radiolib.tiling import tile_fits

    tiles = tile_fits(args.mosaic, args.mode, out_dir=args.out, catalogue=args.catalogue,
                      size=args.size, overlap=args.overlap, nan_max=args.nan_max,
                      overwrite=args.overwrite)
    print(tiles.summary())
    return 0


def _set_values(items: list[str] | None) -> dict:
    """``--set KEY=VALUE`` options as a dict, each value read as YAML (numbers, lists...)."""
    import yaml

    from radiolib.errors import ConfigError

    changes = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        changes[key.strip()] = yaml.safe_load(value)
    return changes


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from radiolib.models import select_device
    from radiolib.ssl import dataset_for, load_config, train

    select_device(args.device)  # a missing GPU is said before the data are read
    config = load_config(args.config)
    changes = _set_values(args.set)
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    config = config.replace(**changes) if changes else config
    result = train(config, dataset_for(config, args.data), out_dir=args.out, resume=args.resume,
                   overwrite=args.overwrite, init_from=args.init_from, max_steps=args.max_steps,
                   device=args.device, progress=not args.quiet)
    if os.environ.get("RANK", "0") == "0":
        loss = "n/a" if result.loss is None else f"{result.loss:.4f}"
        print(f"{config.name}: step {result.step}, epoch {result.epoch:.2f}, loss {loss}, "
              f"{'finished' if result.finished else 'stopped'}; checkpoint {result.checkpoint}")
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    import torch

    from radiolib.papers import pretraining_budget as pb

    torch.set_num_threads(args.threads)
    settings = pb.study_settings(pilot=not args.long_only, long=args.long or args.long_only,
                                 names=args.setting or ())
    curves = pb.run_study(settings, work=args.out / "work", cache_dir=args.out, size=args.size,
                          n_train=args.n_train, n_eval=args.n_eval, progress=not args.quiet)
    result = pb.budget_result(curves, args.budget)
    print(result.table.to_string(float_format=lambda v: f"{v:.4g}"))
    for sentence in result.details["verdicts"].values():
        print(sentence)
    print(f"curves: {args.out / pb.RESULTS}")
    return 0


def _cmd_classify(args: argparse.Namespace) -> int:
    from radiolib.evaluate.user_classifier import fit_classifier, predict_files

    if args.action == "fit":
        metrics = fit_classifier(args.backbone, args.labels, args.out, recipe=args.recipe,
                                 image_size=args.image_size, n_blocks=args.finetune_blocks,
                                 epochs=args.epochs, val_fraction=args.val_fraction,
                                 seed=args.seed, device=args.device,
                                 progress=not args.quiet)
        print(f"model in {args.out}: validation accuracy {metrics['accuracy']:.3f} on "
              f"{metrics['n_validation']} files (metrics.json)")
        return 0
    table = predict_files(args.model, args.files, args.out)
    print(f"{len(table)} files classified -> {args.out}")
    return 0


def _cmd_embed(args: argparse.Namespace) -> int:
    from radiolib.evaluate.embed import embed_inputs

    done = embed_inputs(args.backbone, args.inputs, args.out, resize=args.resize,
                        batch_size=args.batch_size, device=args.device, seed=args.seed,
                        progress=not args.quiet)
    print(f"{done.path}: {done.n} embeddings" + (" (cached: same inputs and backbone)"
                                                 if done.reused else ""))
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from radiolib.reproduce import reproduce

    reproduce(profile=args.profile, only=args.only, force=args.force, book_dir=args.book_dir)
    return 0


def _cmd_anomaly(args: argparse.Namespace) -> int:
    from radiolib.anomaly import rank_search, review_search

    if args.action == "rank":
        table = rank_search(args.source, args.out, backbone=args.backbone, top=args.top,
                            seed=args.seed)
        print(f"{len(table)} candidates ranked by anomaly score: {args.out} "
              f"(score them 0-5 in column user_score, then `radiolib anomaly review {args.out}`)")
    else:
        table = review_search(args.review_file, weight=args.weight, top=args.top)
        n = int(table["user_score"].notna().sum())
        print(f"re-ranked {args.review_file} from {n} scored frame(s); the previous file is "
              "kept as a numbered .bak")
    return 0


def _cmd_detect(args: argparse.Namespace) -> int:
    from radiolib.detect.mosaic import detect_to_catalogue

    table, paths = detect_to_catalogue(args.mosaic, args.model, args.out, device=args.device,
                                       overlap=args.overlap, pixel_only=args.pixel_only,
                                       progress=not args.quiet)
    counts = table["class"].value_counts().to_dict() if len(table) else {}
    print(f"{len(table)} detections {counts}: " + ", ".join(str(p) for p in paths.values()))
    return 0


def _cmd_detect_train(args: argparse.Namespace) -> int:
    from radiolib.detect.train import train_run

    changes = _set_values(args.set)
    for key in ("epochs", "trainable_layers", "seed"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    path, losses = train_run(args.data, args.out, init=args.init, config=args.config,
                             changes=changes, steps=args.steps, device=args.device,
                             overwrite=args.overwrite, progress=not args.quiet)
    print(f"detector trained {len(losses)} steps (last loss {losses['loss'].iloc[-1]:.4f}): "
          f"{path}; run it with `radiolib detect MOSAIC.fits --model {path.parent} --out DIR`")
    return 0


class _LazyChoices:
    """Valid names read from a module on first use (a value checked, a help page shown).

    Building the parser then imports nothing heavy, so that ``radiolib fetch`` does not load
    astropy or pandas for the choices of ``preprocess`` and ``simulate``.
    """

    def __init__(self, module: str, attribute: str):
        self.module, self.attribute = module, attribute

    def _names(self) -> list[str]:
        import importlib

        return sorted(getattr(importlib.import_module(self.module), self.attribute))

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __iter__(self):
        return iter(self._names())


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``radiolib`` command."""
    parser = argparse.ArgumentParser(
        prog="radiolib",
        description="Self-supervised learning for radio-astronomy images: data, preprocessing "
        "and the reproducible book of Riggi et al. 2024 and Lastufka et al. 2024.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "fetch",
        help="download a dataset radiolib has a manifest for (hash-checked)",
        description="Download datasets named in radiolib's data_manifests/*.yaml (or "
        "$RADIOLIB_MANIFESTS) with pooch, checking their sha256. A mirror folder (--mirror or "
        "$RADIOLIB_MIRROR) is tried before the network. Without NAME, list the datasets.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="dataset name(s), e.g. mirabest")
    p.add_argument("--list", action="store_true", help="list the datasets and exit")
    p.add_argument("--data-dir", type=Path, help="where data go (default: $RADIOLIB_DATA)")
    p.add_argument("--mirror", type=Path, help="local mirror folder (default: $RADIOLIB_MIRROR)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser(
        "embed",
        help="embed image files or a TileSet with a backbone into features.npz",
        description="Embed FITS/PNG/JPEG files, or the tiles of one TileSet folder, with a "
        "backbone (a run folder or checkpoint, a published name, a backbone released by others "
        "such as rgz_byol:resnet18 or dinov2:vitg14, random:<arch>) and write "
        "features, ids, the backbone's name and weight hash and the preprocessing to one .npz. "
        "An existing output with the same inputs, backbone and preprocessing is reused.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="FILES_OR_TILESET")
    p.add_argument("--backbone", required=True, metavar="NAME_OR_CHECKPOINT")
    p.add_argument("--out", required=True, type=Path, metavar="FEATURES.npz")
    p.add_argument("--resize", type=int, help="resize every image to N x N pixels first")
    p.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    p.add_argument("--device", default=None, help="cpu, cuda or auto (default: auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of a random: backbone")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_embed)

    p = sub.add_parser(
        "inspect",
        help="summarise radio FITS images",
        description="Print shape, pixel scale, restoring beam, WCS centre, NaN fraction and a "
        "robust (MAD) noise estimate of each FITS image.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE.fits")
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser(
        "preprocess",
        help="scale FITS images and write arrays (+ PNG previews) and an index CSV",
        description="Apply a named scaling to each FITS image and write one .npy array per "
        "input, an index.csv, and optionally PNG previews. Bad files are reported and "
        "skipped; the exit code is 1 if any failed.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE.fits")
    # a metavar, so that argparse lists the lazy choices only when it shows or checks them
    p.add_argument("--scaling", required=True, metavar="NAME",
                   choices=_LazyChoices("radiolib.scaling", "SCALINGS"),
                   help="scaling name: %(choices)s")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--preview", action="store_true", help="also write PNG previews")
    p.add_argument("--size", type=int, help="resize to SIZE x SIZE pixels (riggi3: 224)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier preprocess run in the output folder")
    p.add_argument("--merge", action="store_true",
                   help="add to an earlier run in the output folder (same scaling and size)")
    p.set_defaults(func=_cmd_preprocess)

    p = sub.add_parser(
        "simulate",
        help="simulate a radio sky field with ground truth (FITS + catalogue + segmap)",
        description="Write a simulated wide-field image (float32 Jy/beam FITS with WCS and "
        "beam), its source catalogue (CSV) and a segmentation map, all from one seed. "
        "Presets: smgps (Galactic plane), emupilot (extragalactic), mgcls (cluster pointing); "
        "see radiolib.sky.presets for what each does and does not model.",
    )
    p.add_argument("--preset", default="emupilot", metavar="NAME",
                   choices=_LazyChoices("radiolib.sky.presets", "PRESETS"),
                   help="%(choices)s (default emupilot)")
    p.add_argument("--size", type=int, default=2048, help="pixels a side (default 2048)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "tile",
        help="cut a FITS mosaic into tiles (hulk, banner or MGCLS crops)",
        description="Cut a mosaic into a TileSet on disk (index.csv, fields.json and the "
        "pixels: the field stored once for hulk/mgcls, tile copies in tiles.npy for banner): "
        "hulk = sliding windows (Riggi), banner = source-centred cut-outs 1.5x the source "
        "size from a catalogue (Riggi), mgcls = crops with minimal overlap (Lastufka). "
        "Tiles with too many NaN pixels are skipped and counted.",
    )
    p.add_argument("mosaic", type=Path, metavar="MOSAIC.fits")
    p.add_argument("--mode", required=True, choices=["banner", "hulk", "mgcls"])
    p.add_argument("--catalogue", type=Path, help="source list (FITS/CSV; needed for banner)")
    p.add_argument("--out", required=True, type=Path, help="output folder (the TileSet)")
    p.add_argument("--size", type=int, default=256, help="tile side in pixels (default 256)")
    p.add_argument("--overlap", type=float, default=0.5, help="hulk overlap (default 0.5)")
    p.add_argument("--nan-max", type=float, help="skip tiles with a larger NaN fraction")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=_cmd_tile)

    p = sub.add_parser(
        "pretrain",
        help="self-supervised pre-training (SimCLR or DINO) on a TileSet",
        description="Train a recipe (a config shipped with radiolib, by name: SimCLR of Riggi "
        "et al. or DINO of Lastufka et al.; or a YAML file of your own) on the tiles of a "
        "TileSet. RUN_DIR receives checkpoint.pt (everything needed to resume), "
        "metrics.jsonl and config.yaml. Run under torchrun for several processes/GPUs (see "
        "radiolib/configs/README.md).",
    )
    p.add_argument("--config", required=True, metavar="NAME|FILE.yaml",
                   help="a recipe's name (simclr_riggi, dino_resnet50, dino_vits8; an unknown "
                   "name lists them) or a YAML file")
    p.add_argument("--data", required=True, type=Path, metavar="TILESET_DIR",
                   help="TileSet folder written by `radiolib tile`")
    p.add_argument("--out", required=True, type=Path, metavar="RUN_DIR", help="run folder")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier run in RUN_DIR (only a run's own files may be there)")
    p.add_argument("--init-from", type=Path, metavar="CKPT",
                   help="start from these weights (e.g. smart_hulk: hulk, then banner)")
    p.add_argument("--max-steps", type=int, metavar="N", help="stop after N steps in all")
    p.add_argument("--epochs", type=int, metavar="N", help="override the config's epochs")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key (repeatable), e.g. --set image_size=64")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"],
                   help="auto (default): cuda when available, else cpu")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser(
        "study",
        help="the CPU pre-training budget study: probe score vs minutes, SSL vs random",
        description="Train the study's SimCLR and DINO settings on simulated MGCLS-like "
        "crops (each once: runs are cached in OUT by their config, data and code), embed "
        "held-out crops every few epochs and score the source-count and frame-label probes "
        "with 95 % intervals. Writes OUT/budget_curves.json, which notebook 10 shows. "
        "Default: the pilot settings; --long adds the longer setting (make pretrain).",
    )
    p.add_argument("--out", type=Path, default=Path("book/_work/budget"), metavar="DIR",
                   help="cache of the runs and the curves (default book/_work/budget)")
    p.add_argument("--long", action="store_true", help="add the longer CPU setting")
    p.add_argument("--long-only", action="store_true", help="only the longer CPU setting")
    p.add_argument("--setting", action="append", metavar="NAME",
                   help="run only this setting (repeatable; an unknown name lists them)")
    p.add_argument("--budget", type=float, default=5.0, metavar="MIN",
                   help="minutes of pre-training the verdict allows (default 5)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--size", type=int, default=3072, help="pixels per side of a pointing")
    p.add_argument("--n-train", type=int, default=12, help="training pointings (default 12)")
    p.add_argument("--n-eval", type=int, default=24,
                   help="held-out pointings for the probes (default 24: ~1600 crops)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_study)

    p = sub.add_parser(
        "classify",
        help="train a morphology classifier on labelled cut-outs, or apply one",
        description="fit: train a linear head (optionally fine-tuning the last backbone "
        "blocks) on FITS/PNG cut-outs listed in a CSV of file,label, and write a model folder "
        "(weights, label map, preprocessing, validation metrics). predict: classify files "
        "with such a folder, using the preprocessing it was fitted with.",
    )
    csub = p.add_subparsers(dest="action", required=True)
    f = csub.add_parser("fit", help="train on a CSV of file,label")
    f.add_argument("--backbone", required=True,
                   help="run folder or checkpoint, random:<arch>, imagenet:resnet18, a "
                   "published name or a backbone released by others (rgz_byol:resnet18, ...)")
    f.add_argument("--labels", type=Path, required=True, help="CSV with columns file,label")
    f.add_argument("--out", type=Path, required=True, help="model folder to write")
    f.add_argument("--recipe", default="mirabest", choices=["mirabest", "riggi3"],
                   help="preprocessing (default mirabest: central 150 px, 3-sigma clip)")
    f.add_argument("--image-size", type=int, help="input side (default: the backbone's)")
    f.add_argument("--finetune-blocks", type=int, default=0,
                   help="last backbone blocks trained with the head (default 0: frozen)")
    f.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    f.add_argument("--val-fraction", type=float, default=0.2,
                   help="held-out share scored in metrics.json (default 0.2)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    f = csub.add_parser("predict", help="classify files with a fitted model folder")
    f.add_argument("model", type=Path, help="model folder written by classify fit")
    f.add_argument("files", nargs="+", help="FITS or PNG cut-outs")
    f.add_argument("--out", type=Path, required=True, help="predictions CSV to write")
    p.set_defaults(func=_cmd_classify)

    p = sub.add_parser(
        "reproduce",
        help="execute the book's notebooks with papermill for a profile",
        description="Execute the notebooks with the parameters of a profile "
        "(radiolib/profiles/*.yaml) and write them where the book reads them. Notebooks "
        "whose inputs did not change are not re-executed. Runs from a checkout of the "
        "repository, where the notebooks are.",
    )
    p.add_argument("--profile", default="quick", help="smoke, quick or paper (default quick)")
    p.add_argument("--only", action="append", metavar="NAME", help="run only this notebook")
    p.add_argument("--force", action="store_true", help="re-execute even if cached")
    p.add_argument("--book-dir", type=Path, help="book folder (default: the repository's book/)")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser(
        "anomaly",
        help="blind search for peculiar tiles: rank by Isolation Forest, review, re-rank",
        description="Riggi et al. 2024's Task III on your own tiles: `rank` embeds a TileSet "
        "(from `radiolib tile`) with a backbone, or reads an .npy of embeddings, scores every "
        "frame with an Isolation Forest (200 trees, max_samples 0.02) and writes a review CSV "
        "of the top frames with thumbnails; `review` reads your 0-5 scores back from that CSV "
        "and re-ranks (the old file is kept as a numbered .bak).",
    )
    asub = p.add_subparsers(dest="action", required=True)
    q = asub.add_parser("rank", help="score every frame and write the ranked review CSV")
    q.add_argument("source", type=Path, metavar="TILES_OR_EMBEDDINGS",
                   help="TileSet folder or .npy array (frames x features)")
    q.add_argument("--backbone", metavar="NAME",
                   help="run folder, checkpoint, published name or random:<arch> (TileSets)")
    q.add_argument("--out", required=True, type=Path, metavar="RANKED.csv")
    q.add_argument("--top", type=int, default=50, help="frames listed (default 50)")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_cmd_anomaly)
    q = asub.add_parser("review", help="re-rank a review CSV from the scores filled in")
    q.add_argument("review_file", type=Path, metavar="RANKED.csv")
    q.add_argument("--weight", type=float, default=0.5,
                   help="share of the predicted person's score in the ranking (default 0.5)")
    q.add_argument("--top", type=int, help="frames listed (default: as before)")
    q.set_defaults(func=_cmd_anomaly)

    p = sub.add_parser(
        "detect",
        help="detect radio sources in a FITS mosaic with a trained Mask R-CNN: a catalogue",
        description="Riggi et al. 2024's Task II on your own mosaic: tiles it (50 % overlap, "
        "the detector's input side), runs a detector trained by notebook 08 (its "
        "detector.pt), keeps each source once (from the tile whose centre is nearest), and "
        "writes OUT/<mosaic>.fits, .csv (id, ra, dec, class, score, pixel box, mask area, "
        "integrated flux in Jy) and a DS9 .reg file. To train a detector on your own "
        "annotated images: `radiolib detect train --data ... --init ... --out RUN_DIR` (the "
        "same command as `radiolib detect-train`, see its --help; so a mosaic file named "
        "`train` must be given as ./train).",
    )
    p.add_argument("mosaic", type=Path, metavar="MOSAIC.fits")
    p.add_argument("--model", required=True, type=Path, metavar="DETECTOR",
                   help="a detector.pt (or its folder) saved by radiolib.detect.save_detector")
    p.add_argument("--out", required=True, type=Path, metavar="DIR")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA if present)")
    p.add_argument("--overlap", type=float, default=0.5, help="tile overlap (default 0.5)")
    p.add_argument("--pixel-only", action="store_true",
                   help="accept a mosaic without celestial WCS or beam (no RA/Dec, no flux)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_detect)

    p = sub.add_parser(
        "detect-train",
        help="train a Mask R-CNN detector on annotated images (also `radiolib detect train`)",
        description="Train the detector `radiolib detect` runs on images annotated in the "
        "format of Riggi et al.'s caesar-mrcnn dataset (one JSON per image: the image FITS, "
        "survey and beam, and per object a mask FITS, its class, islands and side-lobe "
        "flags; see radiolib.detect.jsonset). The trunk starts from a SimCLR run or "
        "checkpoint, random:resnet18 or imagenet:resnet18. RUN_DIR receives detector.pt (for "
        "`radiolib detect --model`) and losses.csv. Also spelled `radiolib detect train`.",
    )
    p.add_argument("--data", required=True, nargs="+", metavar="DIR_OR_JSON_LIST",
                   help="the dataset's folder (every *.json below it), JSON file(s), or a "
                   "text file listing one JSON path per line")
    p.add_argument("--init", required=True, metavar="CHECKPOINT|random:resnet18|imagenet:resnet18",
                   help="the ResNet18 trunk's weights: a SimCLR run folder or checkpoint, "
                   "random:resnet18 or imagenet:resnet18")
    p.add_argument("--out", required=True, type=Path, metavar="RUN_DIR", help="run folder")
    p.add_argument("--config", default="maskrcnn_riggi", metavar="NAME|FILE.yaml",
                   help="detector settings (default maskrcnn_riggi)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a detector setting (repeatable), e.g. --set image_size=64")
    p.add_argument("--steps", type=int, metavar="N",
                   help="training steps (batches; default: the config's epochs over the data)")
    p.add_argument("--epochs", type=int, metavar="N", help="override the config's epochs")
    p.add_argument("--trainable-layers", type=int, choices=range(6), metavar="{0..5}",
                   help="ResNet stages trained from the top (0: frozen trunk, the paper's "
                   "Sect. 4.3; 5: all, its Sect. 4.4; default: the config's)")
    p.add_argument("--seed", type=int, help="random seed (default: the config's)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="auto (default): cuda when available, else cpu")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier run in RUN_DIR (only a run's own files may be there)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_detect_train)
    return parser


def _aliases(argv: list[str]) -> list[str]:
    """Spell ``radiolib detect train ...`` as ``radiolib detect-train ...``.

    argparse cannot take a positional MOSAIC and a subcommand at the same place.
    """
    return ["detect-train", *argv[2:]] if argv[:2] == ["detect", "train"] else argv


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that cleanup code runs.

    A BaseException, so that no ``except Exception`` of the library swallows it, while every
    ``finally`` and context manager (temporary files and folders) runs as the stack unwinds.
    """


# OSErrors caused by where the user asked us to read or write, with what to do about them;
# others (and every other exception) are bugs and keep their traceback.
_PATH_ERRORS = {
    errno.EACCES: "check its permissions, or write to a folder of your own",
    errno.EPERM: "check its permissions, or write to a folder of your own",
    errno.EROFS: "the file system is read-only: write elsewhere",
    errno.ENOSPC: "free some disk space or write elsewhere",
    getattr(errno, "EDQUOT", -1): "free some disk space or write elsewhere",
    errno.EEXIST: "a file is in the way: give a folder, or a path that does not exist yet",
    errno.ENOTDIR: "a file is in the way where a folder is needed: give another path",
    errno.EISDIR: "a folder was given where a file is needed: give a file",
    errno.ENAMETOOLONG: "give a shorter path",
}


def _on_sigterm(signum, frame):
    if os.getpid() != _on_sigterm.pid:  # a forked worker (DataLoader): die as by default
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Terminated(signum)


def _run(args: argparse.Namespace) -> int:
    """Run the subcommand with SIGTERM turned into `Terminated` (from the main thread)."""
    _on_sigterm.pid = os.getpid()
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: signals cannot be handled here
        return args.func(args)
    try:
        return args.func(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; errors from bad input print one clear line, not a traceback.

    Exit codes: 0 success, 2 bad input (a `RadiolibError`, or a path that cannot be written
    or read as asked), 130 Ctrl-C, 143 SIGTERM. Files being written when a run is stopped
    are removed by the library's context managers as the exception unwinds.
    """
    from radiolib.errors import RadiolibError

    args = build_parser().parse_args(_aliases(list(sys.argv[1:] if argv is None else argv)))
    where = f"radiolib {args.command}"
    try:
        return _run(args)
    except RadiolibError as exc:
        print(f"{where}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in _PATH_ERRORS:
            raise
        name = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"{where}: error: {name}{(exc.strerror or str(exc)).lower()}; "
              f"{_PATH_ERRORS[exc.errno]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{where}: interrupted (Ctrl-C); files being written were removed, finished "
              "ones kept", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{where}: stopped by SIGTERM; files being written were removed, finished ones "
              "kept", file=sys.stderr)
        return 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(main())
