"""Figures of a temperature series (matplotlib, Agg): what the inner runs gave against
temperature with the fits drawn on them, and the temperature trace of the cryostat."""

import numpy as np

from labctl.analysis import models
from labctl.plots import plt
from labctl.units import pretty

HC_EV_NM = 1239.84193


def _title(run, what):
    return f"{what} — {run.sample.get('name', '')} ({run.uid[:8]}, {run.status})"


def dependence_figure(run):
    """Threshold (with its interval and F0·e^{T/T0}), integrated PL below threshold (with
    the thermal-quenching fit), peak energy and FWHM of the spontaneous band against T."""
    s, results = run.scalars, run.results
    t = s["temperature"].to_numpy()
    grid = np.linspace(t.min(), t.max(), 200)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), dpi=110)
    (threshold, pl), (peak, width) = axes
    if "threshold" in s:
        ok = np.isfinite(s["threshold"])
        threshold.errorbar(t[ok], s["threshold"][ok],
                           yerr=[s["threshold"][ok] - s["threshold_low"][ok], s["threshold_high"][ok] - s["threshold"][ok]],
                           fmt="o", color="tab:blue", capsize=3, label="threshold (95% CI)")
        if "characteristic_temperature" in results:
            t0 = results["characteristic_temperature"]
            threshold.plot(grid, t0["f0"] * np.exp(grid / t0["value"]), color="tab:orange",
                           label=f"F0·e^(T/T0), T0 = {t0['value']:.3g} ± {t0['error']:.2g} K")
        threshold.set_ylabel(f"threshold ({pretty('uJ/cm^2')})")
        threshold.legend(fontsize=8)
    if "pl_yield" in s:
        pl.plot(t, s["pl_yield"], "o", color="tab:blue", label="integrated PL below threshold")
        if "quenching" in results:
            q = results["quenching"]
            pl.plot(grid, models.thermal_quenching(grid, q["i0"], q["a"], q["e_b_mev"] * 1e-3), color="tab:orange",
                    label=f"I0/(1 + a·e^(−E_b/kT)): E_b = {q['e_b_mev']:.3g} ± {q['error']:.2g} meV")
        pl.set_ylabel(f"PL per fluence (counts/s per {pretty('uJ/cm^2')})")
        pl.set_ylim(bottom=0)
        pl.legend(fontsize=8)
    if "spontaneous_peak" in s:
        energy = HC_EV_NM / s["spontaneous_peak"]
        peak.plot(t, energy * 1e3, "o", color="tab:blue", label="spontaneous band peak")
        fwhm = HC_EV_NM * 1e3 * s["spontaneous_fwhm"] / s["spontaneous_peak"] ** 2
        width.plot(t, fwhm, "o", color="tab:blue", label="spontaneous band FWHM")
        if "peak_shift" in results:
            shift = results["peak_shift"]
            peak.plot(grid, (shift["energy0_ev"] * 1e3 + shift["slope_mev_per_k"] * grid), color="tab:orange",
                      label=f"{shift['slope_mev_per_k']:.3g} ± {shift['error']:.1g} meV/K")
            b = results["broadening"]
            width.plot(grid, np.interp(grid, [t.min(), t.max()], [b["fwhm_first_mev"], b["fwhm_last_mev"]]),
                       color="tab:orange", label=f"{b['slope_mev_per_k']:.3g} ± {b['error']:.1g} meV/K")
        peak.set_ylabel("peak energy (meV)")
        width.set_ylabel("FWHM (meV)")
        peak.legend(fontsize=8)
        width.legend(fontsize=8)
    for ax in axes.flat:
        ax.set_xlabel("temperature (K)")
        ax.grid(True, alpha=0.25)
    fig.suptitle(_title(run, "Temperature series"), fontsize=10)
    fig.tight_layout()
    return fig


def trace_figure(run):
    """Sample temperature readings against time, one colour per setpoint, with the
    setpoints and the tolerance band the run held itself to."""
    s, p = run.scalars, run.parameters
    times, kelvin = run.arrays["trace_time"].values, run.arrays["trace_temperature"].values
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    cmap = plt.get_cmap("coolwarm")
    span = max(float(np.ptp(s["temperature"])), 1.0)
    for i, setpoint in enumerate(s["temperature"]):
        ok = np.isfinite(times[i])
        colour = cmap((setpoint - s["temperature"].min()) / span)
        ax.plot(times[i][ok] / 60, kelvin[i][ok], ".-", ms=2, lw=0.8, color=colour)
        if ok.any():
            start, stop = times[i][ok][0] / 60, times[i][ok][-1] / 60
            ax.fill_between([start, stop], setpoint - p["tolerance"], setpoint + p["tolerance"],
                            color=colour, alpha=0.25, lw=0)
            ax.hlines(setpoint, start, stop, color=colour, ls="--", lw=0.8)
    ax.set_xlabel("time since the series started (min)")
    ax.set_ylabel("sample temperature (K)")
    ax.grid(True, alpha=0.25)
    held = int(s["suspensions"].sum()) if "suspensions" in s else 0
    ax.set_title(_title(run, "Temperature trace") + f"; held {held}× outside ±{p['tolerance']:g} K",
                 fontsize=10)
    fig.tight_layout()
    return fig
