"""Static figures of stored runs (matplotlib, no display needed): what headless runs
write next to their run files and what ``labctl analyze`` redraws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from .units import pretty  # noqa: E402


def _title(run, what):
    sample = run.sample.get("name", "")
    return f"{what} — {sample} ({run.uid[:8]}, {run.status})"


def light_in_light_out(run):
    """Log-log L-L curve of the stimulated and total output, the FWHM on a second axis,
    and the threshold with its confidence interval."""
    s = run.scalars
    fig, ax = plt.subplots(figsize=(7.5, 5.2), dpi=110)
    clipped = s["saturated"] > 0
    ok = s["intensity_stimulated"] > 0
    ax.loglog(s["fluence"][ok & ~clipped], s["intensity_stimulated"][ok & ~clipped], "o",
              color="tab:blue", label="stimulated (spontaneous removed)")
    ax.loglog(s["fluence"], s["intensity_total"], "s", mfc="none", color="tab:gray", ms=5,
              label="total emission")
    if clipped.any():
        ax.loglog(s["fluence"][clipped], s["intensity_total"][clipped], "x", color="tab:red",
                  label="saturated (excluded)")
    ax.set_xlabel(f"pump fluence ({pretty('uJ/cm^2')})")
    ax.set_ylabel("integrated intensity (counts/s)")
    threshold = run.results.get("threshold", {})
    if threshold.get("found"):
        ax.axvspan(threshold["low"], threshold["high"], color="tab:orange", alpha=0.2)
        ax.axvline(threshold["value"], color="tab:orange", lw=2,
                   label=f"threshold {threshold['value']:.3g} µJ/cm² "
                         f"[{threshold['low']:.3g}, {threshold['high']:.3g}]")
    elif threshold:
        ax.text(0.02, 0.98, f"no threshold: {threshold.get('reason', '')}", transform=ax.transAxes,
                va="top", fontsize=8, wrap=True)
    right = ax.twinx()
    right.semilogx(s["fluence"], s["fwhm"], "^-", color="tab:green", ms=4, lw=1, label="FWHM")
    right.set_ylabel("FWHM (nm)", color="tab:green")
    right.tick_params(axis="y", colors="tab:green")
    right.set_ylim(0, max(1.0, float(np.nanmax(s["fwhm"]))) * 1.15)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
    ax.legend(handles, labels, loc="lower right", fontsize=8)
    ax.grid(True, which="both", alpha=0.25)
    ax.set_title(_title(run, "Light-in/light-out"), fontsize=10)
    fig.tight_layout()
    return fig


def waterfall(run, array="spectrum", axis="wavelength"):
    """Spectra of every step as a map: pump fluence (log) against wavelength."""
    spectra = run.arrays[array]
    wl, unit = spectra.axes[axis]
    fluence = run.scalars["fluence"].to_numpy()
    order = np.argsort(fluence)
    values = np.clip(spectra.values[order], 1e-3, None)
    peak = values.max(axis=0)
    keep = peak > 0.01 * peak.max()
    if keep.sum() > 10:
        lo, hi = np.flatnonzero(keep)[[0, -1]]
        margin = (hi - lo) // 3
        lo, hi = max(0, lo - margin), min(len(wl) - 1, hi + margin)
        wl, values = wl[lo:hi + 1], values[:, lo:hi + 1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), dpi=110,
                                      gridspec_kw={"width_ratios": [1.2, 1]})
    mesh = left.pcolormesh(wl, fluence[order], values, shading="nearest",
                           norm=LogNorm(vmin=max(values.max() * 1e-4, 1e-3), vmax=values.max()))
    left.set_yscale("log")
    left.set_xlabel(f"wavelength ({unit})")
    left.set_ylabel(f"pump fluence ({pretty('uJ/cm^2')})")
    fig.colorbar(mesh, ax=left, label="counts/s")
    cmap = plt.get_cmap("viridis")
    for j, i in enumerate(order):
        row = values[j]
        right.plot(wl, row / row.max(), color=cmap(j / max(1, len(order) - 1)), lw=0.8)
    right.set_xlabel(f"wavelength ({unit})")
    right.set_ylabel("normalized intensity")
    right.set_title("normalized spectra (colour: fluence)", fontsize=9)
    fig.suptitle(_title(run, "Emission spectra"), fontsize=10)
    fig.tight_layout()
    return fig


def save(figures: dict, run_path) -> list:
    """Write figures as PNG next to the run file: ``<run>_<suffix>.png``."""
    from pathlib import Path

    paths = []
    stem = Path(run_path).with_suffix("")
    for suffix, fig in figures.items():
        path = stem.parent / f"{stem.name}_{suffix}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths
