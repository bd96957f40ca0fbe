"""The data-set facts of both papers, reproduced on the simulated sky (notebook 02).

Riggi et al.'s Table 1 (hulk and banner sizes per survey), the scale of the real surveys'
hulk sets, the PECULIAR fraction of the labelled frames, Lastufka et al.'s MGCLS crop count
(their Table 1), and the realism of the simulated fields beside real ones. Each function
returns a :class:`~radiolib.papers.PaperResult` whose records carry the keys of
``published.yaml`` (or ``extra.`` keys for numbers the papers do not state).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from radiolib.io import Image
from radiolib.papers import PaperResult, survey
from radiolib.results import load_published
from radiolib.sky import get_preset
from radiolib.tiling import TileSet

__all__ = ["EMU_PECULIAR", "PECULIAR", "SURVEY_AREAS", "mgcls_crops_result", "peculiar_result",
           "published_beside", "realism_result", "riggi_table1_result", "survey_scale_result",
           "variation_result"]

#: Survey area (deg²) and pixel scale (arcsec/px) of the real mosaics, from the data manifests:
#: EMU pilot (Norris et al. 2021) and SMGPS (l = 2–60° and 252–358°, |b| < 1.5°).
SURVEY_AREAS = {"EMU-PS1": (270.0, 2.0), "SMGPS": (492.0, 1.5)}

_N_CLUSTERS = "lastufka2024.sec2_1_1.n_clusters"  # MGCLS DR1 pointings
_N_PECULIAR, _N_ANNOTATED = "riggi2024.sec5_1.n_peculiar", "riggi2024.sec5_1.n_labelled"
_N_MGCLS_CROPS = "lastufka2024.table1.n_mgcls_crops"
#: PECULIAR fraction of all simulated hulk tiles, and of the emupilot fields' (inputs).
PECULIAR, EMU_PECULIAR = "extra.sim.peculiar_fraction", "extra.sim.emupilot.peculiar_fraction"
_IMAGE_DEG = "lastufka2024.sec2_1_1.enhanced_inner_region"  # MGCLS DR1 images: inner 1.2°


def _published(key: str) -> float:
    return float(load_published().set_index("key").loc[key, "value"])


def riggi_table1_result(hulk: TileSet, banner: TileSet, *, note: str | None = None
                        ) -> PaperResult:
    """Riggi et al. Table 1 on the simulated fields: tile counts and banner source sizes."""
    table = survey.riggi_table1(hulk, banner)
    records = survey.riggi_table1_records(table)
    for name, row in table.drop(index="total").iterrows():
        for column in ("n_hulk", "n_banner", "size_mean"):
            records[f"extra.sim.{str(name).split('_')[0]}.{column}"] = row[column]
    return PaperResult(table, records, note=note)


def survey_scale_result(areas: Mapping[str, tuple[float, float]] = SURVEY_AREAS
                        ) -> PaperResult:
    """Hulk tiles an idealised square mosaic of each real survey's area would give."""
    table = survey.survey_hulk_counts(areas)
    records = {f"extra.survey.{name.lower().replace('-', '_')}.n_hulk": int(row["n_hulk"])
               for name, row in table.iterrows()}
    return PaperResult(table, records, note="idealised square mosaic of the survey's area")


def peculiar_result(hulk: TileSet) -> PaperResult:
    """Frame-label fractions of the hulk tiles; the PECULIAR one beside the paper's.

    The paper's fraction is its PECULIAR frames over the EMU-pilot frames it annotated
    (Sect. 5.1). Records the PECULIAR fraction of all tiles and of the emupilot fields' tiles
    (:data:`EMU_PECULIAR`; NaN without such fields): an input, since the emupilot preset's
    ring density is tuned to the paper's fraction (`radiolib.sky.presets`).
    """
    table = survey.label_fractions(hulk)
    paper = _published(_N_PECULIAR) / _published(_N_ANNOTATED)
    emu = hulk.index.loc[hulk.index["field"].astype(str).str.startswith("emupilot"), "labels"]
    emu_fraction = (float(np.mean(["PECULIAR" in str(s).split("|") for s in emu]))
                    if len(emu) else np.nan)
    return PaperResult(table, {PECULIAR: table.loc["PECULIAR", "all"], EMU_PECULIAR: emu_fraction},
                       details={"reference": {"PECULIAR": paper}},
                       note="an input, not a reproduction: the emupilot preset's ring density "
                            "is tuned so that its hulk tiles show the paper's PECULIAR fraction")


def mgcls_crops_result(crops: TileSet, *, image_size: int, note: str | None = None
                       ) -> PaperResult:
    """MGCLS crops of the simulated pointings (Lastufka et al. Table 1), per field.

    Also the crops one DR1-sized image of the preset holds by geometry (the inner 1.2° the
    survey releases), and so the whole survey (its DR1 pointings times that), cut like the
    simulated ones.
    """
    side = round(_published(_IMAGE_DEG) * 3600 / get_preset("mgcls").pixel_scale)
    per_pointing = survey.pointing_crops("mgcls", image_size=side)
    records = {_N_MGCLS_CROPS: len(crops),
               "extra.sim.mgcls.sources_per_crop": float(crops.index["n_sources"].mean()),
               "extra.survey.mgcls.n_crops": int(_published(_N_CLUSTERS)) * per_pointing}
    details = {"per_image": survey.pointing_crops("mgcls", image_size=image_size),
               "per_pointing": per_pointing, "pointing_side": side,
               "n_pointings": int(_published(_N_CLUSTERS))}
    return PaperResult(survey.mgcls_table(crops), records, note=note, details=details)


def published_beside(*results: PaperResult, contains: str = ".n_") -> pd.DataFrame:
    """Tabulate the records holding ``contains`` that the papers state, beside their values."""
    published = load_published().set_index("key")["value"]
    ours = {k: v for r in results for k, v in r.records.items()
            if contains in k and k in published.index}
    return pd.DataFrame({"simulated": ours, "published": published[list(ours)]})


def variation_result(entries: Mapping[str, survey.Variation]) -> PaperResult:
    """Compare counts per crop within and between pointings, simulated beside real ones.

    ``entries`` map a label to what `survey.simulated_variation` / `survey.real_variation`
    return; the records keep each entry's var/mean and centre-to-edge ratio.
    """
    table = survey.variation_table(entries)
    records = {}
    for label, row in table.iterrows():
        name = str(label).lower().replace(" ", "_").replace("(", "").replace(")", "")
        for column, stat in (("var/mean", "var_over_mean"), ("centre/edge", "centre_over_edge")):
            if np.isfinite(row[column]):  # too few crops for a centre and an edge: left out
                records[f"extra.variation.{name}.{stat}"] = float(row[column])
    return PaperResult(table, records)


def realism_result(images: Mapping[str, Image]) -> PaperResult:
    """Noise, source density and negative-pixel statistics of real and simulated images."""
    table = survey.realism_table(images)
    records = {f"extra.realism.{str(label).lower().replace(' ', '_')}.neg_pct": row["neg_pct"]
               for label, row in table.iterrows()}
    return PaperResult(table, records)
