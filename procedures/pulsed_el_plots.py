"""Figures of pulsed-electroluminescence runs (``PulsedEL.figures``)."""

import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from labctl.analysis.models import s_curve  # noqa: E402
from labctl.units import pretty  # noqa: E402

from .pulsed_el import HC_EV_NM, pulse_heating  # noqa: E402

J_UNIT = pretty("A/cm^2")


def _title(run, what):
    drive = run.parameters.get("drive", "pulses")
    return f"{what} — {run.sample.get('name', '')}, {drive} ({run.uid[:8]}, {run.status})"


def _sweep(run):
    s = run.scalars
    return s[s["scan"] == 0].sort_values("amplitude", kind="stable")


def _threshold_band(ax, threshold):
    if threshold.get("found"):
        ax.axvspan(threshold["low"], threshold["high"], color="tab:orange", alpha=0.2)
        ax.axvline(threshold["value"], color="tab:orange", lw=2,
                   label=f"EL threshold {threshold['value']:.3g} {J_UNIT} "
                         f"[{threshold['low']:.3g}, {threshold['high']:.3g}]")


def el_versus_j(run):
    """J–V with the series-resistance line; stimulated output J·S/P and the EL intensity
    against J (log-log) with the fitted S-curve and the threshold."""
    s, results = _sweep(run), run.results
    failure = results.get("failure") or {}
    with_el = "spectrum" in run.arrays
    fig, axes = plt.subplots(1, 2 if with_el else 1, figsize=(12 if with_el else 7, 5), dpi=110, squeeze=False)
    jv = axes[0, 0]
    held = s[s["in_compliance"] == 1]
    if len(held):
        jv.plot(held["voltage"], held["current_density"], "D", mfc="none", color="tab:purple", ms=8,
                label="at the compliance limit")
    jv.plot(s["voltage"], s["current_density"], "o-", ms=4, lw=1, color="tab:blue", label="measured")
    r = results.get("series_resistance")
    if r:
        area_cm2 = run.parameters.get("area", 0.01) * 1e-2
        current = np.linspace(r["from_A"], s["current"].max(), 20)
        jv.plot(r["intercept_V"] + r["value"] * current, current / area_cm2, "-", color="tab:orange", lw=2,
                label=f"series resistance {r['value']:.3g} Ω")
    if failure.get("found"):
        broken = s.iloc[failure["step"]:]
        jv.plot(broken["voltage"], broken["current_density"], "x", color="tab:red", ms=9,
                label="after failure")
        jv.text(0.02, 0.98, textwrap.fill(failure["message"], 60), transform=jv.transAxes, va="top",
                fontsize=8, color="tab:red")
    jv.set_xlabel("voltage across the device (V)")
    jv.set_ylabel(f"current density ({J_UNIT})")
    jv.set_title("J–V", fontsize=10)
    jv.grid(True, alpha=0.25)
    jv.legend(fontsize=8, loc="center left")
    fig.suptitle(_title(run, "Pulsed electroluminescence"), fontsize=10)
    if not with_el:
        fig.tight_layout()
        return fig

    el = axes[0, 1]
    density = s["current_density"].to_numpy()
    output = density * s["stimulated_ratio"].to_numpy()
    clipped = s["saturated"].to_numpy() > 0
    ok = np.isfinite(output) & (output > 0) & (density > 0) & ~clipped
    threshold = results.get("threshold") or {}
    if ok.any():
        el.loglog(density[ok], output[ok], "o", color="tab:blue", label="stimulated output J·S/P")
        if threshold.get("found"):
            x = np.geomspace(density[ok].min(), density[ok].max(), 200)
            shape = s_curve(density[ok], threshold["value"], results["beta"])
            scale = float(np.dot(output[ok], shape) / np.dot(shape, shape))
            el.loglog(x, scale * s_curve(x, threshold["value"], results["beta"]), "-", color="tab:blue",
                      lw=1, alpha=0.7, label=f"S-curve, β = {results['beta']:.2g}")
    _threshold_band(el, threshold)
    if threshold and not threshold.get("found"):
        el.text(0.02, 0.98, textwrap.fill(f"no EL threshold: {threshold.get('reason', '')}", 60),
                transform=el.transAxes, va="top", fontsize=8)
    el.set_xlabel(f"current density ({J_UNIT})")
    el.set_ylabel(f"stimulated / spontaneous EL × J ({J_UNIT})")
    intensity = s["el_intensity"].to_numpy()
    right = el.twinx()
    shown = (intensity > 0) & (density > 0)
    right.loglog(density[shown & ~clipped], intensity[shown & ~clipped], "s", mfc="none", color="tab:gray",
                 ms=5, label="EL intensity")
    if (shown & clipped).any():
        right.loglog(density[shown & clipped], intensity[shown & clipped], "x", color="tab:red", ms=7,
                     label="saturated spectrum (excluded)")
    right.set_ylabel("EL intensity (counts/s)", color="tab:gray")
    handles = el.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    labels = el.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
    el.legend(handles, labels, fontsize=8, loc="lower right")
    el.grid(True, which="both", alpha=0.25)
    el.set_title("EL versus current density", fontsize=10)
    fig.tight_layout()
    return fig


def el_spectra(run):
    """Normalized EL spectra of the sweep (colour: J) and the FWHM of the whole spectrum
    and of its two bands against J."""
    s = run.scalars
    order = [i for i in _sweep(run).index if np.isfinite(s["spontaneous_center"][i]) and not s["saturated"][i]]
    spectra = run.arrays["spectrum"]
    wl = spectra.axes["wavelength"][0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
    if order:
        density = s["current_density"][order].to_numpy()
        centre = float(np.median(s["peak_wavelength"][order]))
        spread = 4 * float(np.nanmax(s["fwhm"][order])) * centre ** 2 / (1e3 * HC_EV_NM)
        near = (wl > centre - spread) & (wl < centre + spread)
        cmap = plt.get_cmap("viridis")
        norm = matplotlib.colors.LogNorm(max(density.min(), 1e-3), max(density.max(), 1e-2))
        for i, j in zip(order, density):
            row = spectra.values[i][near]
            left.plot(wl[near], row / row.max(), color=cmap(norm(max(j, 1e-3))), lw=0.8)
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=left, label=f"current density ({J_UNIT})")
        for column, style, label in (("fwhm", "o-", "whole spectrum"),
                                     ("spontaneous_fwhm", "s", "spontaneous band"),
                                     ("stimulated_fwhm", "^", "stimulated band")):
            right.semilogx(density, s[column][order], style, ms=4, lw=1, label=label)
    left.set_xlabel("wavelength (nm)")
    left.set_ylabel("normalized EL")
    left.set_title("EL spectra (colour: current density)", fontsize=10)
    _threshold_band(right, run.results.get("threshold") or {})
    right.set_xlabel(f"current density ({J_UNIT})")
    right.set_ylabel("FWHM (meV)")
    right.set_title("linewidth", fontsize=10)
    right.grid(True, which="both", alpha=0.25)
    right.legend(fontsize=8)
    fig.suptitle(_title(run, "EL spectra"), fontsize=10)
    fig.tight_layout()
    return fig


def heating(run):
    """Shift of the spontaneous band against the pulse width, with the fitted heating
    curve and its temperature scale."""
    s, h = run.scalars, run.results["heating"]
    scan = s[s["scan"] == 1]
    coefficient = run.parameters.get("shift_coefficient", -0.3)
    energy = 1e3 * HC_EV_NM / scan["spontaneous_center"]
    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=110)
    ax.plot(scan["width"], energy - h["e0_mev"], "o", color="tab:red", label="spontaneous band (measured)")
    widths = np.geomspace(scan["width"].min() / 2, scan["width"].max() * 1.5, 200)
    ax.plot(widths, pulse_heating(widths, 0.0, h["shift_mev"], h["tau_us"]), "-", color="tab:red", lw=1.5,
            label=f"ΔT∞·[1 − (τ_T/τp)(1 − e^(−τp/τ_T))]: τ_T = {h['tau_us']:.3g} µs "
                  f"[{h['tau_low']:.3g}, {h['tau_high']:.3g}]")
    ax.set_xscale("log")
    ax.set_xlabel("pulse width (µs)")
    ax.set_ylabel("peak energy shift (meV)")
    right = ax.secondary_yaxis("right", functions=(lambda e: e / coefficient, lambda t: t * coefficient))
    right.set_ylabel(f"mean junction heating (K, at {coefficient:g} meV/K)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(_title(run, f"Pulse heating at {h['scan_current_density']:.3g} {J_UNIT}: "
                             f"ΔT∞ = {h['steady_rise_K']:.3g} K"), fontsize=9)
    fig.tight_layout()
    return fig
