"""Survey presets of the simulated sky: what each field models, and what it does not.

A preset is a frozen dataclass of numbers: instrument (pixel, beam, noise, primary beam or
mosaic), sky content (one `ClassSpec` per morphology: density, flux and size ranges) and
artefact levels. Densities are per square degree; fluxes in Jy at the preset's frequency;
sizes are largest angular sizes in arcsec. Each preset's ``description`` says what it models
and what it does not:

- ``emupilot``: ASKAP EMU pilot (Riggi et al. 2024): extragalactic sky, mosaic with seams.
- ``smgps``: MeerKAT Galactic Plane Survey (Riggi et al. 2024): + HII regions, SNR shells,
  Galactic diffuse clouds and background, filaments; more artefacts.
- ``mgcls``: MeerKAT Galaxy Cluster Legacy Survey (Lastufka et al. 2024): one PB-corrected
  pointing on a cluster (halo, relics, tails, radio members), rms 3-5 µJy/beam, DQF 0-3.
- ``mightee``: MeerKAT MIGHTEE (Lastufka et al. 2024): a deep pointing without a cluster,
  rms ~2 µJy/beam; its crops count every source component, as the MIGHTEE catalogue does.
- ``first``: VLA FIRST (the images of Radio Galaxy Zoo, Riggi et al. 2024 Sect. 3.1): 1.4 GHz,
  5.4" beam, 1.8" pixels, 0.15 mJy/beam; the sources of the morphology classification task.

Each simulated field is one pointing (or mosaic patch) drawn from the preset's `Variation`:
its depth (log-normal rms, raised by a poor DQF), its source density (log-normal), the
richness of its cluster, and a log-normal modulation of the density across the field; the
``provenance`` of each preset says which numbers come from where.

None models spectral indices, polarisation, source clustering, w-term or bandwidth/time
smearing, or true deconvolution residuals (only parametric radial ripples and spokes).
"""

from __future__ import annotations

from dataclasses import dataclass

from radiolib.errors import ConfigError

__all__ = ["PRESETS", "ClassSpec", "ClusterSpec", "SkyPreset", "Variation", "get_preset"]


@dataclass(frozen=True)
class ClassSpec:
    """One morphology's population: ``density`` per deg² with flux in ``flux`` (Jy).

    Fluxes follow dN/dS ∝ S^-gamma (S^-gamma_faint below ``s_break``); sizes (arcsec) are
    log-uniform in ``size``.
    """

    name: str
    density: float
    flux: tuple[float, float]
    size: tuple[float, float] = (0.0, 0.0)
    gamma: float = 2.0
    gamma_faint: float | None = None
    s_break: float | None = None


@dataclass(frozen=True)
class ClusterSpec:
    """A galaxy cluster at the field centre: halo, relics, bent tails, threads, radio members.

    ``n_members`` compact radio members (mean number, times the pointing's richness) lie in a
    Gaussian of sigma ``members_arcmin`` about the centre, with fluxes from dN/dS ∝
    S^-``members_gamma`` in ``members_flux`` (Jy); the richness also scales ``n_tails``.
    """

    p_halo: float = 0.7
    n_relics: float = 0.8
    n_tails: float = 5.0
    n_threads: float = 1.0
    radius_arcmin: float = 8.0
    halo_flux: tuple[float, float] = (5e-3, 8e-2)
    halo_size: tuple[float, float] = (240.0, 720.0)
    n_members: float = 0.0
    members_arcmin: float = 4.0
    members_flux: tuple[float, float] = (2e-5, 5e-2)
    members_gamma: float = 1.8
    richness_sigma_ln: float = 0.0


@dataclass(frozen=True)
class Variation:
    """How one simulated pointing differs from the next, and the density from place to place.

    Per pointing: rms = ``SkyPreset.rms`` x LogNormal(0, ``rms_sigma_ln``) x
    ``dqf_noise[dqf]`` (poor dynamic range raises the noise floor); every source density x
    LogNormal(-σ²/2, ``density_sigma_ln``) (mean 1); cluster richness x
    LogNormal(-σ²/2, `ClusterSpec.richness_sigma_ln`). Within a field, field sources are
    placed with density ∝ exp(``clustering_sigma_ln`` g - σ²/2), g a unit Gaussian random
    field of correlation length ``clustering_arcmin`` (a log-normal Cox process).
    """

    rms_sigma_ln: float = 0.0
    dqf_noise: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    density_sigma_ln: float = 0.0
    clustering_sigma_ln: float = 0.0
    clustering_arcmin: float = 5.0


@dataclass(frozen=True)
class SkyPreset:
    """A survey field: instrument, noise, primary beam or mosaic, sky content, artefacts.

    ``rms`` is the median noise of a pointing (Jy/beam at the pointing centre); each field
    draws its own from ``variation`` (see `Variation` and `radiolib.sky.pointing`).
    ``mode`` is ``"pointing"`` (one primary-beam-corrected pointing: noise ∝ 1/PB, NaN where
    PB < ``pb_cut``) or ``"mosaic"`` (a grid of pointings and tiles: noise ripple, tile seams
    with pedestals and noise steps, survey edges with rising noise and NaN borders).
    ``count_components``: the survey's catalogue lists every component of a multi-component
    source, so a crop's source count counts components (MIGHTEE; MGCLS drops them).
    """

    name: str
    description: str
    telescope: str
    freq_hz: float
    pixel_scale: float
    beam: tuple[float, float, float]
    rms: float
    centre: tuple[float, float]
    classes: tuple[ClassSpec, ...]
    mode: str = "mosaic"
    pb_fwhm_arcmin: float = 60.0
    pb_cut: float = 0.5
    pointing_spacing_arcmin: float = 40.0
    tile_deg: float = 1.5
    seam_level: float = 0.6
    seam_noise: float = 0.15
    edge_prob: float = 0.5
    edge_width: tuple[float, float] = (0.01, 0.05)
    edge_taper: float = 0.06
    background_level: float = 0.0
    background_scale_arcmin: float = 10.0
    dqf_probs: tuple[float, float, float, float] = (0.4, 0.35, 0.2, 0.05)
    artefact_levels: tuple[float, float, float, float] = (0.0003, 0.001, 0.003, 0.01)
    ripple_beams: tuple[float, float] = (3.0, 6.0)
    cluster: ClusterSpec | None = None
    variation: Variation = Variation()
    count_components: bool = False
    provenance: str = ""

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the morphologies this preset draws."""
        return tuple(c.name for c in self.classes)


_RADIO_GALAXIES = (
    ClassSpec("fri", 6.0, (2e-3, 1.0), (40.0, 300.0)),
    ClassSpec("frii", 8.0, (2e-3, 2.0), (40.0, 400.0)),
    ClassSpec("wat", 1.5, (3e-3, 0.5), (60.0, 300.0)),
    ClassSpec("ht", 1.5, (2e-3, 0.3), (40.0, 250.0)),
    ClassSpec("hybrid", 0.8, (3e-3, 0.5), (60.0, 300.0)),
    ClassSpec("xshaped", 0.6, (3e-3, 0.5), (80.0, 300.0)),
    ClassSpec("ddrg", 0.6, (3e-3, 0.5), (80.0, 400.0)),
)

EMUPILOT = SkyPreset(
    name="emupilot",
    description="""ASKAP EMU-pilot-like extragalactic field (944 MHz, 2"/pixel, 13"x11" beam).

    Models: compact sources from a broken power-law dN/dS (slope 1.6 below 0.13 mJy, 2.0 above),
    resolved blobs, FRI/FRII, wide-angle and head-tail radio galaxies, hybrids, X-shaped and
    double-double galaxies, ORC-like rings (their density tuned so ~7 % of 256² hulk tiles
    show a PECULIAR object),
    rare filaments, halos and relics; beam-correlated noise of 30 µJy/beam, a mosaic of
    pointings (small noise ripple) cut into tiles with seams (pedestal and noise steps), survey
    edges with rising noise and NaN borders, sidelobe ripples around bright sources (DQF 0-3).
    Does not model: spectral index or bandwidth smearing, clustering of sources, Galactic
    emission, true ASKAP PAF beam shapes, deconvolution residuals other than radial ripples.
    """,
    telescope="ASKAP",
    freq_hz=944e6,
    pixel_scale=2.0,
    beam=(13.0, 11.0, 70.0),
    rms=30e-6,
    centre=(330.0, -52.0),
    classes=(
        ClassSpec("compact", 2400.0, (30e-6, 2.0), gamma=2.0, gamma_faint=1.6, s_break=1.3e-4),
        ClassSpec("resolved", 100.0, (2e-4, 0.2), (14.0, 60.0)),
        *_RADIO_GALAXIES,
        ClassSpec("ring", 4.5, (4e-3, 4e-2), (60.0, 180.0), gamma=1.5),
        ClassSpec("filament", 0.3, (2e-3, 2e-2), (120.0, 600.0)),
        ClassSpec("halo", 0.05, (5e-3, 5e-2), (180.0, 600.0)),
        ClassSpec("relic", 0.05, (5e-3, 5e-2), (180.0, 600.0)),
    ),
    pointing_spacing_arcmin=54.0,
    pb_fwhm_arcmin=99.0,
    tile_deg=1.2,
    variation=Variation(rms_sigma_ln=0.15, dqf_noise=(1.0, 1.05, 1.15, 1.3),
                        density_sigma_ln=0.1, clustering_sigma_ln=0.25, clustering_arcmin=5.0),
    provenance="""rms 30 µJy/beam at 944 MHz, 11-18" beam: Riggi et al. 2024 Sect. 2.2.
    Tuned to the paper (an input, not a result): the ring density, 4.5 per deg², chosen so that
    the PECULIAR fraction of hulk tiles, with labels set only where the object is visible
    (`radiolib.papers.frame_truth`), is about the 7.4 % of Riggi et al. Sect. 5.1 (428 PECULIAR
    of ~5,800 annotated frames, a subset partly drawn from lists of peculiar candidates, so the
    survey-wide fraction is likely lower); measured 7.7 ± 0.6 % (mean ± standard error) over
    48 fields of 2048² (seeds 2000-2023 and 3000-3023), one field scattering by ~4 points
    (1.9 per deg², the density before labels were set by visibility, gives 4.3 %).
    Assumed (no number in the papers at hand): the field-to-field rms scatter (log-normal,
    0.15), the rms rise with DQF, the 10 % field-to-field density scatter (cosmic variance of
    ~1 deg² fields) and the within-field clustering (log-normal 0.25 on 5').""",
)

SMGPS = SkyPreset(
    name="smgps",
    description="""MeerKAT Galactic Plane Survey-like field (1.3 GHz, 1.5"/pixel, 8" beam).

    Models: the extragalactic background seen through the plane (same compact and radio-galaxy
    populations, fewer resolved ones), HII regions (resolved thermal blobs), supernova-remnant
    shells, large Galactic diffuse clouds (log-normal random fields), non-thermal filaments,
    ring-shaped peculiar sources (bubbles / ORC-like; ~4 % of hulk tiles PECULIAR), a weak
    large-scale diffuse background, 10-20 µJy/beam correlated noise, a mosaic with seams and
    survey edges, stronger sidelobe artefacts (DQF skewed high).
    Does not model: missing short spacings (negative bowls), absorption, polarisation, the
    latitude dependence of Galactic emission, realistic SNR/HII luminosity functions.
    """,
    telescope="MeerKAT",
    freq_hz=1.3e9,
    pixel_scale=1.5,
    beam=(8.0, 8.0, 0.0),
    rms=14e-6,
    centre=(241.0, -52.2),
    classes=(
        ClassSpec("compact", 3000.0, (14e-6, 2.0), gamma=2.0, gamma_faint=1.6, s_break=1.2e-4),
        ClassSpec("resolved", 60.0, (2e-4, 0.2), (10.0, 45.0)),
        *_RADIO_GALAXIES,
        ClassSpec("ring", 4.6, (4e-3, 6e-2), (50.0, 200.0), gamma=1.5),
        ClassSpec("filament", 3.0, (2e-3, 5e-2), (60.0, 600.0)),
        ClassSpec("hii", 30.0, (1e-3, 0.5), (15.0, 120.0)),
        ClassSpec("snr", 1.5, (0.05, 5.0), (120.0, 900.0)),
        ClassSpec("cloud", 3.0, (0.05, 5.0), (300.0, 1500.0)),
    ),
    pointing_spacing_arcmin=30.0,
    pb_fwhm_arcmin=66.0,
    tile_deg=1.0,
    background_level=0.8,
    background_scale_arcmin=12.0,
    dqf_probs=(0.25, 0.35, 0.25, 0.15),
    variation=Variation(rms_sigma_ln=0.27, dqf_noise=(1.0, 1.1, 1.3, 1.6),
                        density_sigma_ln=0.1, clustering_sigma_ln=0.25, clustering_arcmin=5.0),
    provenance="""rms 10-20 µJy/beam at 1.3 GHz, 8" beam: Riggi et al. 2024 Sect. 2.2, read as
    the 10-90 % range of a log-normal (median 14 µJy/beam, sigma ln(2) / 2.56 = 0.27).
    Assumed: the rms rise with DQF, the 10 % density scatter, the clustering and the ring
    density (Riggi et al. give no PECULIAR fraction for SMGPS; 4.6 per deg² gives ~4 % of hulk
    tiles PECULIAR with labels set only where visible: 3 fields of 4096², seeds 0-2).""",
)

MGCLS = SkyPreset(
    name="mgcls",
    description="""MeerKAT MGCLS-like cluster pointing (1.28 GHz, 1.5"/pixel, 7.6" beam).

    Models: one primary-beam-corrected pointing (Gaussian PB of FWHM 67': noise rises as 1/PB
    towards the edge, so a source's SNR falls as PB; NaN beyond PB = 0.2, the corners of a
    1.2 deg square image), a cluster at the centre (radio halo with probability 0.7, Poisson
    relics, bent-tail members, threads, compact radio members), field compact sources, field
    radio galaxies, rare rings, sidelobe ripples with a per-field DQF as in MGCLS (Lastufka
    Fig 12); pointings differ in depth (3-5 µJy/beam), DQF, density and cluster richness.
    Does not model: the true MeerKAT beam (Airy sidelobes, frequency dependence), direction-
    dependent calibration errors other than radial ripples, mosaicking (MGCLS fields are single
    pointings), cluster redshift or the halo-mass relations.
    """,
    telescope="MeerKAT",
    freq_hz=1.28e9,
    pixel_scale=1.5,
    beam=(7.6, 7.6, 0.0),
    rms=4e-6,
    centre=(303.1, -56.8),
    classes=(
        ClassSpec("compact", 10000.0, (4e-6, 2.0), gamma=2.0, gamma_faint=1.6, s_break=1.2e-4),
        ClassSpec("resolved", 150.0, (5e-5, 0.2), (8.0, 40.0)),
        *_RADIO_GALAXIES,
        ClassSpec("ring", 1.0, (1e-3, 2e-2), (50.0, 200.0), gamma=1.5),
        ClassSpec("filament", 0.5, (5e-4, 1e-2), (60.0, 400.0)),
    ),
    mode="pointing",
    pb_fwhm_arcmin=67.0,
    pb_cut=0.2,
    dqf_probs=(0.3, 0.35, 0.25, 0.1),
    cluster=ClusterSpec(n_members=100.0, members_arcmin=4.0, richness_sigma_ln=0.6),
    variation=Variation(rms_sigma_ln=0.2, dqf_noise=(1.0, 1.1, 1.3, 1.6),
                        density_sigma_ln=0.1, clustering_sigma_ln=0.25, clustering_arcmin=5.0),
    provenance="""Lastufka et al. 2024 Sect. 2.1: 115 cluster pointings, 7.5" beam, rms about
    3-5 µJy/beam (read as the 10-90 % range of a log-normal: median 4, sigma ln(5/3) / 2.56 =
    0.2), primary-beam-corrected images of the inner 1.2 deg (about 3500² pixels): with a
    Gaussian PB of FWHM 67' (MeerKAT L band at 1.28 GHz; Lastufka quotes 1.2 deg) the corners
    of that square lie at PB ~ 0.2, hence the cut; DQF 0-3 definitions (Sect. 2.1, Fig. 12).
    Their Sect. 4.1 (2 % of crops hold more than 60 compact sources; probe MSEs of 40-49)
    implies a variance of counts per crop well above its mean: the field compact density
    (10⁴ deg⁻², was 7000) and the cluster's compact radio members (100 on average, log-normal
    richness 0.6, Gaussian of 4' about the centre) are tuned so that 1-2 % of 256² crops of
    3072² pointings hold more than 60 sources with SNR >= 5. Assumed (not in the papers at
    hand): the DQF probabilities and the rms rise with DQF, the 10 % density scatter and the
    clustering (log-normal 0.25 on 5').""",
)

FIRST = SkyPreset(
    name="first",
    description="""VLA FIRST-like field (1.4 GHz, 1.8"/pixel, 5.4" beam), for RGZ-like sources.

    Models: the extragalactic radio sky at FIRST's resolution and depth: compact sources
    (dN/dS slope 2 above 0.5 mJy), resolved blobs, FRI/FRII, wide-angle and head-tail radio
    galaxies, hybrids, X-shaped and double-double galaxies with sizes up to 3' (the side of a
    Radio Galaxy Zoo image), beam-correlated noise of 0.15 mJy/beam, a mosaic of snapshots with
    weak seams, mild sidelobe ripples. Extended sources are made several times more common than
    on the real sky, so that one field yields enough multi-component sources for the six
    components-peaks classes (the class mix is then set by sampling, as in the paper's
    selection).
    Does not model: FIRST's snapshot sidelobes and CLEAN bias, bandwidth smearing, the
    declination-dependent beam, the RGZ volunteers' consensus (labels are the simulator's
    island and peak counts), the host galaxies.
    """,
    telescope="VLA",
    freq_hz=1.4e9,
    pixel_scale=1.8,
    beam=(5.4, 5.4, 0.0),
    rms=1.5e-4,
    centre=(150.0, 30.0),
    classes=(
        ClassSpec("compact", 150.0, (5e-4, 2.0), gamma=2.0),
        ClassSpec("resolved", 40.0, (2e-3, 0.2), (8.0, 30.0)),
        ClassSpec("fri", 15.0, (3e-3, 1.0), (15.0, 150.0)),
        ClassSpec("frii", 60.0, (3e-3, 2.0), (5.0, 150.0)),
        ClassSpec("wat", 6.0, (4e-3, 0.5), (30.0, 150.0)),
        ClassSpec("ht", 6.0, (3e-3, 0.3), (20.0, 120.0)),
        ClassSpec("hybrid", 8.0, (4e-3, 0.5), (15.0, 150.0)),
        ClassSpec("xshaped", 6.0, (4e-3, 0.5), (20.0, 150.0)),
        ClassSpec("ddrg", 6.0, (4e-3, 0.5), (20.0, 180.0)),
    ),
    pointing_spacing_arcmin=26.0,
    pb_fwhm_arcmin=32.0,
    tile_deg=0.5,
    seam_level=0.2,
    seam_noise=0.05,
    edge_prob=0.0,
    dqf_probs=(0.6, 0.3, 0.09, 0.01),
    artefact_levels=(0.0003, 0.001, 0.002, 0.005),
    variation=Variation(rms_sigma_ln=0.1, dqf_noise=(1.0, 1.05, 1.1, 1.2),
                        density_sigma_ln=0.1),
    provenance="""1.4 GHz, ~5" resolution: Riggi et al. 2024 Sect. 3.1 (FIRST, the RGZ images);
    1.8" pixels as the MiraBest and RGD FIRST images. Assumed (no number in the papers at
    hand): the 0.15 mJy/beam rms (FIRST's typical noise), its 10 % field-to-field scatter and
    rise with DQF, the source densities (compact sources near FIRST's ~90 per deg² above
    1 mJy; extended sources boosted several times, see the description), the weak seams.
    Tuned: FRII sizes start at 5" (about one beam; was 10"), because compact doubles a beam
    or two across, whose lobes join into one island with two peaks, are RGZ's 1C-2P class
    (20.9 % of the paper's selection) and were the rarest class relative to that share
    (3-5 % of the simulated sources); this raises the 1C-2P to 2C-2P ratio from ~0.2 to ~0.3
    (RGZ: 1.2) and the balanced draws, which that rarest class limits, by up to ~1.6x. 1C-3P
    and 2C-3P (a visible core; a core joined to one lobe) stay rarer than in RGZ: stronger
    FRII cores (tried) would change the source model of every preset and add mostly 3C-3P,
    whose share already matches.""",
)

MIGHTEE = SkyPreset(
    name="mightee",
    description="""MeerKAT MIGHTEE-like deep field (1.28 GHz, 1.5"/pixel, 8.2" beam).

    Models: one primary-beam-corrected deep pointing of the extragalactic sky, with no cluster
    at its centre: compact sources down to ~2 µJy/beam (half the MGCLS-like noise), resolved
    blobs and the radio galaxies of the other presets, rare rings and filaments, mild sidelobe
    ripples (good data quality: DQF 0-2); pointings differ in depth and density by a little
    (two deep fields, not a hundred cluster pointings).
    Does not model: confusion noise (the real images are confusion-limited at this depth),
    the mosaicking of XMM-LSS (three pointings), the true MeerKAT beam, the customised
    weighting of the giant radio galaxies, or source clustering beyond a log-normal density.
    """,
    telescope="MeerKAT",
    freq_hz=1.28e9,
    pixel_scale=1.5,
    beam=(8.2, 8.2, 0.0),
    rms=2e-6,
    centre=(150.1, 2.2),
    classes=(
        ClassSpec("compact", 8500.0, (2e-6, 2.0), gamma=2.0, gamma_faint=1.6, s_break=1.2e-4),
        ClassSpec("resolved", 200.0, (3e-5, 0.2), (8.0, 40.0)),
        *_RADIO_GALAXIES,
        ClassSpec("ring", 1.0, (1e-3, 2e-2), (50.0, 200.0), gamma=1.5),
        ClassSpec("filament", 0.3, (5e-4, 1e-2), (60.0, 400.0)),
    ),
    mode="pointing",
    pb_fwhm_arcmin=67.0,
    pb_cut=0.2,
    dqf_probs=(0.5, 0.4, 0.1, 0.0),
    variation=Variation(rms_sigma_ln=0.1, dqf_noise=(1.0, 1.05, 1.15, 1.3),
                        density_sigma_ln=0.1, clustering_sigma_ln=0.5, clustering_arcmin=5.0),
    count_components=True,
    provenance="""Lastufka et al. 2024 Sect. 2.2.2: MIGHTEE (Early Science, COSMOS and XMM-LSS)
    is deeper than MGCLS (17 h on source) at the same resolution as MGCLS; its crops are cut
    as MGCLS's and stretched between the 2nd and 99.9th percentiles (Sect. 2.4); its PyBDSF
    catalogue keeps every component of a multi-Gaussian source (Sect. 2.3), so the count of a
    MIGHTEE-like crop counts components (`radiolib.sky.truth.source_counts`). From the
    MIGHTEE release (Heywood et al. 2022, cited by the paper; our manifest ``mightee``):
    ~8" resolution and ~1.5-2 µJy/beam thermal noise; the 8.2" beam and the 2 µJy/beam
    median are ours within those. Assumed: the 1.5" pixels (those of our MGCLS-like
    pointings, so that a 256² crop covers the same sky), a single pointing per field, the
    10 % scatter of depth and density, the DQF mix. Tuned: the compact density (8500 per
    deg² above 2 µJy, the MGCLS-like slopes) and the within-field clustering (log-normal 0.5
    on 5', twice the other presets': without a cluster, the count of a crop scatters only by
    the clustering), so that about 1 % of the 256² crops hold more than 50 counted sources, as
    Sect. 4.1 reports for MIGHTEE: measured 1.4 % of 1260 crops (9 pointings of 3072², seeds
    0-8, about the paper's 1246), mean 25.8 and variance 92 per crop, 9 crops beyond 3 std
    (the paper drops 4).""",
)

PRESETS: dict[str, SkyPreset] = {p.name: p for p in (EMUPILOT, FIRST, MGCLS, MIGHTEE, SMGPS)}


def get_preset(name: str | SkyPreset) -> SkyPreset:
    """Return the preset called ``name`` (a `SkyPreset` passes through).

    Raises
    ------
    ConfigError
        Unknown name; the message lists the presets.
    """
    if isinstance(name, SkyPreset):
        return name
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown sky preset {name!r}; choose one of "
                          f"{', '.join(sorted(PRESETS))}") from None
