"""Figures of the fluence sweep's lasing-mode and two-band modes (matplotlib, Agg): the
spectra they were read from, with the fits drawn on the data."""

import numpy as np

from labctl.analysis import models, spectra
from labctl.plots import plt
from labctl.units import pretty

from procedures.fluence_sweep import band_guess, narrow_part

FLUENCE = f"pump fluence ({pretty('uJ/cm^2')})"


def _title(run, what):
    return f"{what} — {run.sample.get('name', '')} ({run.uid[:8]}, {run.status})"


def modes_figure(run):
    """Left: the strongest unsaturated spectrum whose modes were fitted, the band
    interpolated under them and the window. Right: the modes above the band with the
    strongest one's fitted line (Lorentzian ⊗ resolution), its linewidth and Q."""
    s, p = run.scalars, run.parameters
    fitted = np.isfinite(s["mode_fwhm"])
    unclipped = fitted & (s["saturated"] == 0)
    i = int(s["intensity_stimulated"][unclipped if unclipped.any() else fitted].idxmax())
    wl, unit = run.arrays["spectrum"].axes["wavelength"]
    counts = run.arrays["spectrum"].values[i].astype(float)
    window = (p["window_start"], p["window_stop"])
    lines, band = narrow_part(wl, counts, window, p["flank_width"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=110)
    left.semilogy(wl, np.clip(band, 1e-3, None), color="tab:gray", lw=2.5,
                  label="spontaneous band (interpolated under the modes)")
    left.semilogy(wl, np.clip(counts, 1e-3, None), color="tab:blue", lw=0.6,
                  label=f"spectrum at {s['fluence'][i]:.3g} µJ/cm²")
    left.axvspan(*window, color="tab:orange", alpha=0.12, label="mode window")
    margin = 3 * (window[1] - window[0]) + 2 * p["flank_width"]
    left.set_xlim(max(wl.min(), window[0] - margin), min(wl.max(), window[1] + margin))
    left.set_ylim(counts.max() * 1e-3, counts.max() * 2)
    left.set_xlabel(f"wavelength ({unit})")
    left.set_ylabel("counts/s")
    left.legend(fontsize=8, loc="upper left")
    inside = (wl >= window[0]) & (wl <= window[1])
    fit = spectra.q_factor(wl, lines, window=window, resolution=p["resolution"])
    right.plot(wl[inside], lines[inside], "o", ms=2.5, color="tab:blue", label="modes (band removed)")
    shape = models.voigt(wl[inside], fit["center"], p["resolution"], fit["fwhm"])
    peak = np.interp(fit["center"], wl[inside], lines[inside])
    right.plot(wl[inside], shape / shape.max() * peak, color="tab:red", lw=1.5,
               label=f"strongest mode: Δλ = {fit['fwhm']:.3g} nm, Q = {fit['q']:.0f}")
    right.set_ylim(top=lines[inside].max() * 1.3)
    right.set_xlabel(f"wavelength ({unit})")
    right.set_ylabel("counts/s")
    results = run.results
    if "mode_spacing_nm" in results:
        right.set_title(f"{results['modes']} modes, spacing {results['mode_spacing_nm']:.3g} nm; over "
                        f"{results['mode_points']} spectra Δλ = {results['linewidth_nm']:.3g} nm, "
                        f"Q ≈ {results['q_factor']:.0f}", fontsize=9)
    right.legend(fontsize=8, loc="upper center", ncols=2)
    fig.suptitle(_title(run, "Lasing modes"), fontsize=10)
    fig.tight_layout()
    return fig


def bands_figure(run):
    """Left: exciton and biexciton band intensities against the pump on log-log axes with
    their power laws. Right: the decomposition of the strongest spectrum below threshold."""
    s, results = run.scalars, run.results
    laws = results.get("power_laws", {})
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=110)
    for band, colour in (("exciton", "tab:blue"), ("biexciton", "tab:red")):
        y = s[f"{band}_intensity"]
        ok = y > 0
        left.loglog(s["fluence"][ok], y[ok], "o", color=colour, ms=5, label=band)
        if band in laws:
            law = laws[band]
            x = np.geomspace(s["fluence"][ok].min(), s["fluence"][ok].max(), 50)
            scale = np.exp(np.mean(np.log(y[ok]) - law["slope"] * np.log(s["fluence"][ok])))
            left.loglog(x, scale * x ** law["slope"], "-", color=colour, lw=1,
                        label=f"slope {law['slope']:.3f} [{law['low']:.3f}, {law['high']:.3f}]")
    per_fluence = float(np.median(s["occupancy"] / s["fluence"]))
    top = left.secondary_xaxis("top", functions=(lambda f: f * per_fluence, lambda n: n / per_fluence))
    top.set_xlabel("average excitons per dot ⟨N⟩")
    left.set_xlabel(FLUENCE)
    left.set_ylabel("band intensity (counts/s)")
    left.grid(True, which="both", alpha=0.25)
    left.legend(fontsize=8)
    threshold = results.get("threshold", {})
    below = s["fluence"] < 0.5 * threshold["value"] if threshold.get("found") else s["fluence"] > 0
    unclipped = below & (s["saturated"] == 0)
    i = int(s["fluence"][unclipped if unclipped.any() else below].idxmax())
    wl, unit = run.arrays["spectrum"].axes["wavelength"]
    counts = run.arrays["spectrum"].values[i].astype(float)
    fit = spectra.two_bands(wl, counts, guess=band_guess(wl, counts, run.parameters["binding_energy"]))
    right.semilogy(wl, np.clip(counts, 1e-3, None), color="k", lw=0.8,
                   label=f"spectrum at {s['fluence'][i]:.3g} µJ/cm²")
    for k, (band, colour) in enumerate((("exciton", "tab:blue"), ("biexciton", "tab:red")), start=1):
        right.semilogy(wl, models.gaussian(wl, fit[f"center{k}"], fit[f"fwhm{k}"], fit[f"area{k}"]),
                       color=colour, lw=1.5, label=f"{band} {fit[f'center{k}']:.1f} nm")
    right.set_ylim(max(counts.max() * 1e-4, 1e-3), counts.max() * 2)
    right.set_xlabel(f"wavelength ({unit})")
    right.set_ylabel("counts/s")
    title = "two-band decomposition"
    if "binding_energy_mev" in results:
        title += f": biexciton binding energy {results['binding_energy_mev']:.3g} meV"
    right.set_title(title, fontsize=9)
    right.legend(fontsize=8)
    fig.suptitle(_title(run, "Exciton and biexciton power laws"), fontsize=10)
    fig.tight_layout()
    return fig
