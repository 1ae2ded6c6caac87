"""Excitation scan (PLE of the stimulated emission): the pump wavelength of the tunable
source across a range at constant photon fluence, a spectrum at each.

The sample's absorption changes with the pump wavelength, so the comparison is made at
the same number of pump photons per pulse: at each wavelength λ the fluence is set to
F(λ) = j·hc/λ (j the photon fluence of ``fluence`` at the reference wavelength) through
the source's power level, measured and corrected once. The first step pumps at the
off-resonant ``reference_wavelength``; the scan follows.

Each spectrum is split into its narrow lines (``procedures.linefit``): the lines found in
the first spectrum are fitted again at every step, centres and widths free (the
stimulated line moves with the pump). The bluest lines are the exciton sublevels, the
brightest narrow line to their red the stimulated emission (SE). The spontaneous
intensity is the sum of the sublevel lines: on resonance the SE line is ~40× brighter
than all spontaneous emission together, and "total minus SE" would carry the SE line's
shot noise (~10 % of the spontaneous part); the broad spontaneous background scales with
the lines.

Results: the resonance (pump wavelength of the strongest SE, refined between scan points
by a parabola) and, at the scan point of the strongest SE, how much SE and spontaneous
emission grow over the off-resonant reference and how far the SE peak has moved red.
"""

import math

import numpy as np

from labctl.analysis import spectra
from labctl.errors import LabctlError, ParameterError
from labctl.parameters import Float, FloatList
from labctl.records import ArraySpec, Column

from . import linefit
from .micro_pl import MicroPL

FILTER_SPEED = 100.0      # nm/s of the tunable filter, for the duration estimate
SE_REACH = 3.0            # the SE line may move by this many of its widths to the red


class ExcitationScan(MicroPL):
    name = "excitation-scan"
    title = "Excitation scan at constant photon fluence: resonant enhancement of stimulated emission"

    wavelength_start = Float(520.0, unit="nm", minimum=405, maximum=845, doc="first pump wavelength")
    wavelength_stop = Float(540.0, unit="nm", minimum=405, maximum=845, doc="last pump wavelength")
    wavelength_step = Float(0.5, unit="nm", minimum=0.05, maximum=100, doc="pump wavelength step")
    reference_wavelength = Float(495.0, unit="nm", minimum=0, maximum=845,
                                 doc="off-resonant reference, measured first (0: none, the "
                                     "first wavelength of the scan is the reference)")
    fluence = Float(60.0, unit="mJ/cm^2", minimum=1e-3, maximum=1e4,
                    doc="fluence at the reference wavelength; every wavelength gets its photon fluence")
    peaks = FloatList([], unit="nm", minimum=200, maximum=1400, min_length=0, max_length=6,
                      doc="approximate wavelengths of the lines (empty: found in the first spectrum)")

    columns = (
        Column("pump_wavelength", "nm", "pump wavelength"),
        Column("reference", "", "1 for the off-resonant reference"),
        Column("fluence_target", "mJ/cm^2", "fluence giving the photon fluence of the reference"),
        Column("fluence", "mJ/cm^2", "measured pump fluence"),
        Column("photon_fluence", "1/cm^2", "measured pump photons per cm² per pulse"),
        Column("pulse_energy", "pJ", "measured pulse energy at the sample"),
        Column("power", "uW", "measured average pump power"),
        Column("power_level", "%", "power level of the source"),
        Column("integration_time", "s", "integration time used"),
        Column("saturated", "", "1 if the spectrum is clipped"),
        Column("intensity_total", "counts*nm/s", "whole spectrum"),
        Column("intensity_stimulated", "counts*nm/s", "area of the stimulated line"),
        Column("intensity_spontaneous", "counts*nm/s", "areas of the exciton sublevel lines"),
        Column("stimulated_error", "counts*nm/s", "standard error of the stimulated line's area"),
        Column("spontaneous_error", "counts*nm/s", "standard error of the spontaneous lines' area"),
        Column("se_peak", "nm", "centre of the stimulated line"),
        Column("se_peak_error", "nm", "its standard error"),
        Column("se_fwhm", "nm", "FWHM of the stimulated line"),
    )
    arrays = (ArraySpec("spectrum", "counts/s", ("wavelength",), "dark-corrected spectrum"),)
    views = ("excitation", "spectrum", "waterfall")
    key_results = (("resonance", ("resonance", "wavelength"), "nm"),
                   ("stimulated_enhancement", ("stimulated_enhancement",), ""),
                   ("spontaneous_enhancement", ("spontaneous_enhancement",), ""),
                   ("red_shift", ("red_shift", "value"), "nm"))

    def check(self):
        if self.wavelength_stop <= self.wavelength_start:
            raise ParameterError("wavelength_stop", self.wavelength_stop,
                                 f"must be above wavelength_start ({self.wavelength_start:g} nm)")
        if 0 < self.reference_wavelength < 405:
            raise ParameterError("reference_wavelength", self.reference_wavelength,
                                 "must be 0 (none) or a pump wavelength from 405 nm")

    # -- plan ---------------------------------------------------------------------
    def wavelengths(self) -> np.ndarray:
        step = self.wavelength_step
        return np.arange(self.wavelength_start, self.wavelength_stop + step / 2, step)

    def reference(self) -> float:
        return self.reference_wavelength or float(self.wavelengths()[0])

    def fluence_at(self, wavelength) -> float:
        """Fluence (mJ/cm²) with the photon fluence of ``fluence`` at the reference."""
        return self.fluence * self.reference() / wavelength

    def points(self) -> list[tuple[float, int]]:
        """(pump wavelength, 1 for the reference) of every step, the reference first."""
        scan = [float(w) for w in self.wavelengths()]
        if self.reference_wavelength:
            return [(self.reference_wavelength, 1)] + [(w, 0) for w in scan]
        return [(w, int(i == 0)) for i, w in enumerate(scan)]

    def plan(self):
        steps, previous = [], self.center_wavelength
        for wavelength, reference in self.points():
            fluence = self.fluence_at(wavelength)
            label = f"pump {wavelength:.4g} nm{' (reference)' if reference else ''}, {fluence:.4g} mJ/cm²"
            steps.append(self.pump_step(label, fluence, {"wavelength": wavelength, "reference": reference},
                                        abs(wavelength - previous) / FILTER_SPEED))
            previous = wavelength
        return steps

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        self.setup_spectrograph(run)
        self.tune(run, self.points()[0][0])
        self.start_pump(run)
        self.survey = None

    def _find_lines(self, wl, counts):
        """Lines of the first spectrum: (guesses, indices of the exciton sublevels, index
        of the stimulated line)."""
        step = float(np.median(np.abs(np.diff(wl))))
        try:
            lines, found = linefit.survey(wl, [counts], [(p, 3 * step) for p in self.peaks])
        except ValueError:
            lines = ()
        if len(lines) < 2:
            raise LabctlError(f"{len(lines)} line(s) in the first spectrum: the stimulated line "
                              "cannot be told from the exciton's; give their wavelengths in `peaks`")
        sublevels = min(2, len(lines) - 1)
        stimulated = max(range(sublevels, len(lines)), key=lambda i: found[0, i])
        return list(zip(lines.centers, lines.fwhms)), list(range(sublevels)), stimulated

    @staticmethod
    def _follow(wl, counts, guesses, se):
        """The guesses with the SE line started at the brightest pixel where it may be:
        from midway to its blue neighbour to ``SE_REACH`` widths red of where it was
        first (it moves with the pump by more than its width)."""
        center, width = guesses[se]
        blue = (center + guesses[se - 1][0]) / 2 if se > 0 else center - SE_REACH * width
        zone = (wl > blue) & (wl < center + SE_REACH * width)
        moved = list(guesses)
        if zone.any():
            moved[se] = (float(wl[zone][np.argmax(counts[zone])]), width)
        return moved

    def measure(self, run, step):
        wavelength = step.values["wavelength"]
        self.tune(run, wavelength)
        target = self.fluence_at(wavelength)
        pumped = self.set_fluence(run, target)
        counts, t, saturated = self.acquire(run)
        wl = run.axes["wavelength"][0]
        if self.survey is None:
            self.survey = self._find_lines(wl, counts)
            guesses, _, se = self.survey
            run.event("lines", "lines at " + ", ".join(f"{c:.3f} nm" for c, _ in guesses)
                      + f"; stimulated emission at {guesses[se][0]:.3f} nm")
        guesses, exciton, se = self.survey
        lines, areas, errors = linefit.fit(wl, [counts], self._follow(wl, counts, guesses, se))
        return {"pump_wavelength": wavelength, "reference": float(step.values["reference"]),
                "fluence_target": target, "integration_time": t, "saturated": float(saturated),
                **{k: pumped[k] for k in ("fluence", "photon_fluence", "pulse_energy", "power",
                                          "power_level")},
                "intensity_total": spectra.integrate(wl, counts), "intensity_stimulated": areas[0, se],
                "intensity_spontaneous": float(np.sum(areas[0, exciton])), "stimulated_error": errors[0, se],
                "spontaneous_error": float(np.sqrt(np.sum(errors[0, exciton] ** 2))),
                "se_peak": lines.centers[se], "se_peak_error": lines.center_errors[se],
                "se_fwhm": lines.fwhms[se], "spectrum": counts.astype(np.float32)}

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        if len(scalars) < 2:
            return {}
        reference = scalars[scalars["reference"] > 0].iloc[0]
        scan = scalars if not self.reference_wavelength else scalars[scalars["reference"] == 0]
        scan = scan.sort_values("pump_wavelength")
        if len(scan) < 3:
            return {"points": int(len(scalars))}
        pump = scan["pump_wavelength"].to_numpy()
        se = scan["intensity_stimulated"].to_numpy()
        i = int(np.argmax(se))
        strongest = scan.iloc[i]
        bracketed = 0 < i < len(se) - 1
        resonance = spectra.peak(pump, se)[0] if bracketed else float(pump[i])
        se_ref = float(reference["intensity_stimulated"])
        significant = se_ref > 3 * float(reference["stimulated_error"])
        out = {"points": int(len(scalars)),
               "reference_wavelength": float(reference["pump_wavelength"]),
               "resonance": {"wavelength": resonance, "unit": "nm", "bracketed": bracketed},
               "strongest_wavelength": float(pump[i]),
               "stimulated_enhancement": (float(strongest["intensity_stimulated"]) / se_ref
                                          if significant else math.nan),
               "spontaneous_enhancement": float(strongest["intensity_spontaneous"]
                                                / reference["intensity_spontaneous"]),
               "red_shift": {"value": float(strongest["se_peak"] - reference["se_peak"]), "unit": "nm",
                             "error": math.hypot(strongest["se_peak_error"], reference["se_peak_error"])},
               "se_peak_reference_nm": float(reference["se_peak"]),
               "se_peak_resonance_nm": float(strongest["se_peak"])}
        if not significant:
            out["warning"] = "no stimulated line at the reference: its enhancement is undefined"
        return out

    @classmethod
    def headline(cls, results):
        if "resonance" not in results:
            return ""
        r = results
        return (f"resonance {r['resonance']['wavelength']:.2f} nm: SE ×{r['stimulated_enhancement']:.3g}, "
                f"spontaneous ×{r['spontaneous_enhancement']:.3g}, "
                f"SE red shift {r['red_shift']['value']:.3f} nm")

    @classmethod
    def report(cls, results):
        if "resonance" not in results:
            return []
        r = results
        lines = [("resonance (strongest SE)", f"{r['resonance']['wavelength']:.2f} nm"
                  + ("" if r["resonance"]["bracketed"] else " (at the end of the scan)")),
                 (f"at {r['strongest_wavelength']:.4g} nm vs {r['reference_wavelength']:.4g} nm",
                  f"stimulated ×{r['stimulated_enhancement']:.3g}, "
                  f"spontaneous ×{r['spontaneous_enhancement']:.3g}"),
                 ("SE peak red shift", f"{r['red_shift']['value']:.3f} ± {r['red_shift']['error']:.3f} nm "
                                       f"({r['se_peak_reference_nm']:.3f} → "
                                       f"{r['se_peak_resonance_nm']:.3f} nm)")]
        if "warning" in r:
            lines.append(("warning", r["warning"]))
        return lines

    @classmethod
    def figures(cls, run):
        return {"excitation": excitation_figure(run)}


def excitation_figure(run):
    """Stimulated and spontaneous intensity (relative to the off-resonant reference) and
    the SE peak against the pump wavelength; the spectra as a map."""
    from labctl.plots import LogNorm, plt

    s, r = run.scalars, run.results
    reference = s[s["reference"] > 0].iloc[0]
    scan = s if not run.parameters.get("reference_wavelength") else s[s["reference"] == 0]
    scan = scan.sort_values("pump_wavelength")
    pump = scan["pump_wavelength"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.8), dpi=110,
                                      gridspec_kw={"width_ratios": [1.25, 1]})
    stimulated = scan["intensity_stimulated"].clip(lower=1e-12) / reference["intensity_stimulated"]
    left.semilogy(pump, stimulated, "o-", color="tab:red", ms=4, lw=1, label="stimulated (SE line)")
    left.semilogy(pump, scan["intensity_spontaneous"] / reference["intensity_spontaneous"], "s-",
                  color="tab:blue", ms=4, lw=1, label="spontaneous (exciton sublevel lines)")
    left.axhline(1.0, color="k", ls="--", lw=0.8,
                 label=f"off-resonant reference ({reference['pump_wavelength']:.4g} nm) = 1")
    if "resonance" in r:
        left.axvline(r["resonance"]["wavelength"], color="tab:green", lw=1.5,
                     label=f"resonance {r['resonance']['wavelength']:.2f} nm: "
                           f"SE ×{r['stimulated_enhancement']:.3g}, "
                          f"spont. ×{r['spontaneous_enhancement']:.3g}")
    left.set_xlabel("pump wavelength (nm)")
    left.set_ylabel("intensity / reference (same photon fluence)")
    left.grid(True, which="both", alpha=0.25)
    twin = left.twinx()
    strong = scan["intensity_stimulated"] > 3 * scan["stimulated_error"]
    twin.errorbar(pump[strong], scan["se_peak"][strong], yerr=scan["se_peak_error"][strong], fmt="^",
                  color="tab:purple", ms=4, lw=1, label="SE peak")
    twin.axhline(reference["se_peak"], color="tab:purple", ls=":", lw=0.8)
    twin.set_ylabel("SE peak wavelength (nm)", color="tab:purple")
    twin.tick_params(axis="y", colors="tab:purple")
    handles = left.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = left.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    left.legend(handles, labels, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)

    spectra_ = run.arrays["spectrum"]
    wl, unit = spectra_.axes["wavelength"]
    order = scan.index.to_numpy()
    values = np.clip(spectra_.values[order], 1.0, None)
    centre = float(reference["se_peak"])
    zoom = (wl > centre - 2.0) & (wl < centre + 1.5)
    top = values[:, zoom].max()
    mesh = right.pcolormesh(wl[zoom], pump, values[:, zoom], shading="nearest",
                            norm=LogNorm(vmin=max(top * 1e-3, 1.0), vmax=top))
    fig.colorbar(mesh, ax=right, label="counts/s")
    right.set_xlabel(f"emission wavelength ({unit})")
    right.set_ylabel("pump wavelength (nm)")
    right.set_title("spectra", fontsize=9)
    fig.suptitle(f"Excitation scan — {run.sample.get('name', '')}, {run.parameters.get('fluence', 0):g} "
                 f"mJ/cm² at {reference['pump_wavelength']:.4g} nm, constant photon fluence "
                 f"({run.uid[:8]}, {run.status})", fontsize=10)
    fig.tight_layout()
    return fig
