"""Figures of a stored TRPL run: streak images, decays with their fits, and the
long-delay PL against photon fluence with the cross-section fit."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from labctl.analysis import spectra  # noqa: E402
from labctl.analysis.models import saturation  # noqa: E402
from labctl.units import pretty  # noqa: E402

from .trpl import FIT, decay, fit_curve, fitted, scientific  # noqa: E402

NAMES = {"long": "long range", "short": "short range"}


def _title(run, what):
    return f"{what} — {run.sample.get('name', '')} ({run.uid[:8]}, {run.status})"


def image(run, name: str, i: int):
    """Step ``i``'s image of range ``name``: (counts, time after the trigger ns, nm)."""
    array, s = run.arrays[f"streak_{name}"], run.scalars
    counts = array.values[i].astype(float) - s["pedestal"].iloc[i]
    time = np.asarray(array.axes[f"time_{name}"][0], float) + s[f"{name}_delay"].iloc[i]
    return counts, time, np.asarray(array.axes["wavelength"][0], float)


def measured_decay(run, name: str, i: int):
    """Step ``i``'s exciton-window decay in counts per pulse per ns: (time ns, values, fit)."""
    s, p = run.scalars.iloc[i], run.parameters
    counts, time, wl = image(run, name, i)
    pulses = s[f"{name}_exposure"] * s["rep_rate"] * s[f"{name}_response"]
    values = decay(time, wl, counts, (p["window_start"], p["window_stop"]))
    values /= pulses * np.gradient(time).mean()
    inside = time[fitted(time)]
    return time, values, (inside, fit_curve(inside, {k: s[f"{name}_{k}"] for k in FIT}))


def _labels(run):
    occupancy = run.results.get("occupancy")
    fluence = run.scalars["fluence"].to_numpy()
    return [f"{f:.3g} {pretty('uJ/cm^2')}" + (f", ⟨N⟩ = {occupancy[i]:.2g}" if occupancy else "")
            for i, f in enumerate(fluence)]


def spectrograms(run):
    """The highest fluence's images (log colour) and its early and late spectra."""
    i = int(np.argmax(run.scalars["fluence"].to_numpy()))
    p, s = run.parameters, run.scalars.iloc[i]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), dpi=110, gridspec_kw={"width_ratios": [1, 1, 0.8]})
    spectra_shown = {}
    for ax, name, unit, scale in ((axes[0], "long", "ns", 1.0), (axes[1], "short", "ps", 1e3)):
        counts, time, wl = image(run, name, i)
        shown = np.clip(counts, 1.0, None)
        t = (time - s["time_zero"]) * scale
        mesh = ax.pcolormesh(wl, t, shown, shading="nearest", rasterized=True,
                             norm=LogNorm(vmin=max(shown.max() * 3e-4, 1.0), vmax=shown.max()))
        ax.invert_yaxis()
        for edge in (p["window_start"], p["window_stop"]):
            ax.axvline(edge, color="w", ls="--", lw=0.8)
        ax.set_xlabel("wavelength (nm)")
        ax.set_ylabel(f"time after excitation ({unit})")
        ax.set_title(f"{NAMES[name]} {p[f'{name}_range']:g} ns, MCP gain {s[f'{name}_gain']:.0f}, "
                     f"{s[f'{name}_exposure']:g} s", fontsize=9)
        fig.colorbar(mesh, ax=ax, label="counts", pad=0.01)
        spectra_shown[name] = (wl, counts, t / scale)
    axes[0].axhline(p["long_delay"], color="w", ls=":", lw=1)
    wl, counts, t = spectra_shown["short"]
    t0 = s["short_t0"] - s["time_zero"]
    early = counts[(t >= t0) & (t < t0 + p["early"])].sum(axis=0)
    wl, counts, t = spectra_shown["long"]
    late = counts[t >= p["long_delay"]].sum(axis=0)
    for values, label, colour in ((early, f"first {p['early'] * 1e3:g} ps (short range)", "tab:red"),
                                  (late, f"after {p['long_delay']:g} ns (long range)", "tab:blue")):
        smooth = spectra.smooth(values, 9)
        axes[2].plot(wl, smooth / smooth.max(), color=colour, label=label)
    axes[2].set_xlabel("wavelength (nm)")
    axes[2].set_ylabel("normalized intensity")
    axes[2].set_title(f"early {s['peak_early']:.4g} nm → late {s['peak_late']:.4g} nm", fontsize=9)
    axes[2].legend(fontsize=8)
    axes[2].set_ylim(0, 1.1)
    fig.suptitle(_title(run, f"Streak images at {s['fluence']:.3g} µJ/cm²"), fontsize=10)
    fig.tight_layout()
    return fig


def decay_fits(run):
    """Exciton-window decays of every fluence with their fits, both ranges."""
    results = run.results
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), dpi=110)
    cmap = plt.get_cmap("viridis")
    labels = _labels(run)
    count = len(run.scalars)
    zero = run.scalars["time_zero"].iloc[0]
    for ax, name, unit, scale in ((axes[0], "long", "ns", 1.0), (axes[1], "short", "ps", 1e3)):
        floor = np.inf
        for i in range(count):
            colour = cmap(i / max(1, count - 1))
            time, values, (fit_time, fit) = measured_decay(run, name, i)
            ax.semilogy((time - zero) * scale, values, ".", ms=2, color=colour, alpha=0.5)
            ax.semilogy((fit_time - zero) * scale, fit, "-", lw=1.2, color=colour, label=labels[i])
            floor = min(floor, fit.max() * 3e-3)
        ax.set_ylim(bottom=floor)
        ax.set_xlabel(f"time after excitation ({unit})")
        ax.set_ylabel(f"exciton window ({run.parameters['window_start']:g}–"
                      f"{run.parameters['window_stop']:g} nm), counts/pulse/ns")
    tau_x, tau_a = results.get("tau_x"), results.get("tau_auger")
    if tau_x:
        axes[0].set_title(f"τ_X = {tau_x['value']:.4g} ± {tau_x['error']:.2g} ns "
                          f"(slow component, {tau_x['points']} fluences)", fontsize=9)
    if tau_a:
        axes[1].set_title(f"τ_A = {tau_a['value']:.4g} ± {tau_a['error']:.2g} ps "
                          f"(fast component, {tau_a['points']} fluences)", fontsize=9)
    axes[1].legend(fontsize=7, loc="upper right")
    fig.suptitle(_title(run, "Decays: 2 exponentials ⊗ Gaussian IRF"), fontsize=10)
    fig.tight_layout()
    return fig


def cross_section(run):
    """Long-delay PL against photon fluence with A·(1 − e^{−σj}); ⟨N⟩ = σj on top."""
    s, fit = run.scalars, run.results["cross_section"]
    j, pl = s["photon_fluence"].to_numpy(), s["long_delay_pl"].to_numpy()
    fig, ax = plt.subplots(figsize=(7.5, 5.2), dpi=110)
    ax.semilogx(j, pl, "o", color="tab:blue", label="long-delay PL (exciton window)")
    x = np.geomspace(j.min() / 2, j.max() * 2, 300)
    ax.semilogx(x, saturation(x, fit["amplitude"], fit["value"]), "-", color="tab:orange",
                label=f"A(1 − e^(−σj)): σ = {scientific(fit['value'], fit['error'])} cm²")
    ax.set_xlabel("photon fluence j (photons/cm²)")
    ax.set_ylabel(f"PL after {run.parameters['long_delay']:g} ns (counts/pulse)")
    ax.set_ylim(bottom=0)
    top = ax.secondary_xaxis("top", functions=(lambda v: v * fit["value"], lambda n: n / fit["value"]))
    top.set_xlabel("⟨N⟩ = σj")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="both", alpha=0.25)
    ax.set_title(_title(run, "Absorption cross-section"), fontsize=10, pad=28)
    fig.tight_layout()
    return fig
