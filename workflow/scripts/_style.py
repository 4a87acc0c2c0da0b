"""Shared look of every benchmark figure: one theme, fixed colours per category, one save helper.

Each ``plot_*.py`` script imports this module (Snakemake puts the script's folder on ``sys.path``)
so that a noise model or a model structure has the same colour and label in every figure.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402

#: Width of one column / the full text width of a typical two-column paper, in inches.
COLUMN_W = 3.5
PAGE_W = 7.2

STRUCTURE_LABELS = {"nmf": "NMF", "convex": "Convex NMF", "autoencoder": "AE-NMF"}
STRUCTURE_ORDER = ["nmf", "autoencoder", "convex"]
STRUCTURE_COLOURS = {"nmf": "#1b9e77", "autoencoder": "#d95f02", "convex": "#7570b3"}

NOISE_ORDER = ["gaussian", "poisson", "gamma", "tweedie", "nb_shared", "nb_sample", "nb"]
NOISE_LABELS = {"gaussian": "Gaussian", "poisson": "Poisson", "gamma": "Gamma", "tweedie": "Tweedie",
                "nb_shared": "NB (shared α)", "nb_sample": "NB (per-sample α)", "nb": "NB"}
#: seaborn's "colorblind" palette (its 10 colours), without importing seaborn (1.4 s per figure job)
_NOISE_PALETTE = ["#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494",
                  "#ece133", "#56b4e9"]
NOISE_COLOURS = {name: _NOISE_PALETTE[i] for i, name in enumerate(NOISE_ORDER)}

#: The usual six-colour SBS scheme (COSMIC / SigProfiler plots).
SBS_COLOURS = {"C>A": "#1EBFF0", "C>G": "#050708", "C>T": "#E62725",
               "T>A": "#CBCACB", "T>C": "#A1CF64", "T>G": "#EDC8C5"}
SUBSTITUTIONS = list(SBS_COLOURS)


#: seaborn's set_theme(context="paper", style="ticks") as plain matplotlib settings (the rcParams it changes,
#: its "deep" colour cycle), plus the project's sizes: the same figures without importing seaborn in every job
#: (the scripts that draw with seaborn import it themselves).
_DEEP = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974",
         "#64b5cd"]
THEME = {"axes.axisbelow": True, "axes.edgecolor": ".15", "axes.labelcolor": ".15", "axes.linewidth": 1.0,
         "axes.prop_cycle": cycler(color=_DEEP), "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans",
                                                                      "Bitstream Vera Sans", "sans-serif"],
         "grid.color": ".8", "lines.linewidth": 1.2, "lines.markersize": 4.8, "lines.solid_capstyle": "round",
         "patch.edgecolor": "w", "patch.force_edgecolor": True, "patch.linewidth": 0.8, "text.color": ".15",
         "xtick.color": ".15", "ytick.color": ".15", "xtick.major.size": 4.8, "ytick.major.size": 4.8,
         "xtick.major.width": 1.0, "ytick.major.width": 1.0, "xtick.minor.size": 3.2, "ytick.minor.size": 3.2,
         "xtick.minor.width": 0.8, "ytick.minor.width": 0.8,
         # the project's own sizes and output settings
         "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100, "savefig.dpi": 200,
         "savefig.bbox": "tight", "pdf.fonttype": 42, "axes.titlesize": 9, "axes.labelsize": 8.5,
         "xtick.labelsize": 7.5, "ytick.labelsize": 7.5, "legend.fontsize": 7.5, "legend.title_fontsize": 8,
         "font.size": 8}


def setup() -> None:
    """Apply the project theme (call once at the top of each ``main``)."""
    matplotlib.rcParams.update(THEME)


def noise_key(name: str) -> str:
    """Family key of a noise label (``tweedie_p1.5`` -> ``tweedie``, ``nb_sample`` -> ``nb_sample``)."""
    name = str(name)
    for key in sorted(NOISE_ORDER, key=len, reverse=True):
        if name == key or name.startswith(key + "_") or name.startswith(key + "-"):
            return key
    return name


FAMILIES = ("gaussian", "poisson", "gamma", "tweedie", "nb")


def family_of(name: str) -> str:
    """Noise family of a config key or scenario name by its prefix (``nb10`` -> ``nb``, ``tweedie_p1.5`` -> ``tweedie``)."""
    name = str(name).lower()
    return next((f for f in FAMILIES if name.startswith(f)), name)


def same_family(generating: str, fitted: str, fitted_family: str | None = None) -> bool:
    """Is a fit correctly specified for a simulation scenario (same noise family)?"""
    return str(generating) == str(fitted) or family_of(generating) == (fitted_family or family_of(fitted))


def noise_label(name: str) -> str:
    return NOISE_LABELS.get(str(name), NOISE_LABELS.get(noise_key(name), str(name)))


def scenario_label(name: str) -> str:
    """Display name of a simulation scenario: its generating family, and the scenario key where that differs
    (``nb10`` -> ``NB (nb10)``, ``poisson`` -> ``Poisson``)."""
    label = noise_label(name)
    if label != str(name):
        return label
    family = family_of(name)
    return f"{noise_label(family).split(' (')[0]} ({name})" if family != str(name).lower() else str(name)


def structure_label(name: str) -> str:
    return STRUCTURE_LABELS.get(str(name), str(name))


def noise_colour(name: str):
    return NOISE_COLOURS.get(str(name), NOISE_COLOURS.get(noise_key(name), "0.4"))


def ordered(values, order) -> list:
    """``values`` (unique) sorted by their position in ``order``; unknown values last, alphabetically."""
    vals = list(dict.fromkeys(values))
    rank = {v: i for i, v in enumerate(order)}
    return sorted(vals, key=lambda v: (rank.get(v, len(rank)), str(v)))


def log_axis(ax, axis: str = "y") -> None:
    """Log scale with plain-number labels at 1-2-5 steps (``2000`` rather than ``2 x 10^3``)."""
    import matplotlib.ticker as mticker

    getattr(ax, f"set_{axis}scale")("log")
    a = getattr(ax, f"{axis}axis")
    a.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    a.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.10g}" if 1e-3 <= v < 1e6 else f"{v:.0e}"))
    a.set_minor_formatter(mticker.NullFormatter())


def save(fig, png: str | Path, pdf: str | Path | None = None) -> None:
    """Write ``fig`` as PNG (and PDF), creating folders, then close it."""
    for path in (png, pdf):
        if path is None:
            continue
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    plt.close(fig)


def placeholder(png, pdf, message: str) -> None:
    """A small figure that says why there is nothing to plot (instead of failing the workflow)."""
    setup()
    fig, ax = plt.subplots(figsize=(COLUMN_W, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=8)
    save(fig, png, pdf)


def log_to(path) -> logging.Logger:
    """Route warnings and errors of a Snakemake script to its ``log:`` file."""
    logger = logging.getLogger("plot")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(path, "w")  # noqa: SIM115 - kept open for the life of the job
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s", force=True)
    logging.captureWarnings(True)
    return logger
