"""Pump-fluence sweep: light-in/light-out, linewidth and the ASE/lasing threshold.

For each target fluence (log- or linearly spaced, always swept upwards to spare the
sample) the attenuator is set to the pulse energy F·A for the beam area A, the pulse
energy is measured with the power meter (and the attenuator corrected once if it is off
by more than ``energy_tolerance``), and a spectrum is taken, with the integration time
shortened until the detector is not saturated. Recorded per step: target and measured
fluence, ⟨N⟩ = σ·j, the integrated intensity of the whole spectrum, of a window, of the
stimulated part and of the spontaneous part, the peak wavelength and the FWHM.

The stimulated output is separated from the spontaneous band in one of two ways
(``separation``):

* ``template`` (ASE): the spectrum of the first point, spontaneous only, is scaled on the
  blue side of the band and removed;
* ``narrow`` (lasing modes): the narrow lines inside the window above the smooth band,
  interpolated under them from the flanks of the window; wherever the lines carry more
  light than the band, the strongest mode's linewidth (Q = λ/Δλ) and the mode spacing
  are fitted.

With ``two_bands`` every spectrum is also decomposed into an exciton and a biexciton band,
whose power laws (slopes ≈ 1 and ≈ 2) the analysis fits.
"""

import numpy as np

from labctl.analysis import powerlaw, spectra
from labctl.analysis.threshold import find_threshold
from labctl.beam import Beam
from labctl.errors import ParameterError
from labctl.parameters import Bool, Choice, Float, Int, Text
from labctl.procedure import EndRun, PlannedStep, Procedure, Setpoint
from labctl.records import ArraySpec, Column
from procedures import acquisition

APPROACH = 0.8        # first setting as a fraction of the target pulse energy
HC_EV_NM = 1239.84193
EV_J = 1.602176634e-19
SMOOTH_NM = 1.0        # the spontaneous band's peak and FWHM are read after smoothing over this


def occupancy(fluence_uj_cm2, wavelength_nm, cross_section_cm2):
    """Average excitons per dot ⟨N⟩ = σ·j, j = F/(hν) the photon fluence."""
    photon_energy = HC_EV_NM / np.asarray(wavelength_nm) * EV_J
    return cross_section_cm2 * np.asarray(fluence_uj_cm2) * 1e-6 / photon_energy


def narrow_part(wavelength, counts, window, flank):
    """Split a spectrum into the narrow lines inside ``window`` = (start, stop) nm and the
    smooth band under them, interpolated across the window by a parabola through the
    ``flank`` nm of spectrum on either side. Both parts are linear in the data -- whatever
    the noise, a fixed share of the lines' wings goes to the band -- so that the stimulated
    output keeps its shape on the L-L curve (a running median would not: it takes in weak
    lines and ignores strong ones). Returns (lines, band); the lines are 0 outside the window.
    """
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    start, stop = window
    inside = (wavelength >= start) & (wavelength <= stop)
    flanks = (((wavelength >= start - flank) & (wavelength < start))
              | ((wavelength > stop) & (wavelength <= stop + flank)))
    band = counts.copy()
    if flanks.sum() > 3 and inside.any():
        centre = 0.5 * (start + stop)
        parabola = np.polyfit(wavelength[flanks] - centre, counts[flanks], 2)
        band[inside] = np.polyval(parabola, wavelength[inside] - centre)
    return counts - band, band


def smoothed(wavelength, counts):
    """A broad band smoothed over ``SMOOTH_NM``, to read its centre and width."""
    return spectra.smooth(counts, int(SMOOTH_NM / abs(wavelength[1] - wavelength[0])) // 2 * 2 + 1)


def band_guess(wavelength, counts, binding_energy):
    """Start of the two-band fit: the exciton at the spectrum's centre and width, the
    biexciton red-shifted by the expected binding energy (meV)."""
    band = smoothed(wavelength, counts)
    exciton, width = spectra.band_centre(wavelength, band), spectra.fwhm(wavelength, band)
    width = width if np.isfinite(width) else 0.1 * (wavelength[-1] - wavelength[0])
    biexciton = HC_EV_NM / (HC_EV_NM / exciton - binding_energy * 1e-3)
    return (exciton, width), (biexciton, width)


def power_law(fluence, intensity) -> dict:
    """Slope of log intensity versus log fluence, with its 95 % interval."""
    fit = powerlaw.power_law(fluence, intensity)
    low, high = fit.interval("slope")
    return {"slope": fit["slope"], "error": fit.error("slope"), "low": low, "high": high,
            "points": fit.points}


class FluenceSweep(Procedure):
    name = "fluence-sweep"
    title = "Pump-fluence sweep: L-L curve, linewidth and ASE/lasing threshold"
    roles = ("PumpLaser", "Attenuator", "PowerMeter", "Spectrometer")

    fluence_start = Float(2.0, unit="uJ/cm^2", minimum=1e-3, maximum=1e5, doc="first target fluence")
    fluence_stop = Float(150.0, unit="uJ/cm^2", minimum=1e-3, maximum=1e5, doc="last target fluence")
    points = Int(30, minimum=2, maximum=2000, doc="number of fluences")
    spacing = Choice("log", ("log", "linear"), doc="spacing of the fluences")
    repeats = Int(1, minimum=1, maximum=100, doc="how many times the sweep is repeated")
    geometry = Choice("stripe", ("stripe", "spot"), doc="beam shape at the sample")
    stripe_width = Float(0.1, unit="mm", minimum=1e-3, maximum=20, doc="stripe width")
    stripe_length = Float(3.0, unit="mm", minimum=1e-3, maximum=50, doc="stripe length")
    spot_diameter = Float(0.2, unit="mm", minimum=1e-3, maximum=20, doc="spot diameter")
    shots = Int(10, minimum=1, maximum=10000, doc="pulses averaged by the power meter per point")
    averages = Int(1, minimum=1, maximum=1000, doc="spectra averaged per point")
    integration_time = Float(0.1, unit="s", minimum=1e-3, maximum=60, doc="longest integration time")
    auto_integration = Bool(True, doc="shorten the integration time until not saturated")
    energy_tolerance = Float(0.05, minimum=0.0, maximum=1.0, doc="relative pulse-energy error corrected once")
    cross_section = Float(2.5e-14, unit="cm^2", minimum=1e-18, maximum=1e-10,
                          doc="absorption cross-section at the pump wavelength, for ⟨N⟩")
    window_start = Float(519.0, unit="nm", minimum=100, maximum=3000,
                         doc="start of the intensity window (narrow: of the lasing modes)")
    window_stop = Float(531.0, unit="nm", minimum=100, maximum=3000,
                        doc="end of the intensity window (narrow: of the lasing modes)")
    line = Text("", max_length=20, doc="pump beam line: '' (main) or a slot qualifier such as ns")
    detector = Text("", max_length=20, doc="spectrometer slot qualifier ('' or e.g. hr)")
    center_wavelength = Float(0.0, unit="nm", minimum=0, maximum=3000,
                              doc="spectrograph centre wavelength (0: leave as it is)")
    adaptive = Bool(False, doc="add points around the threshold until its interval is narrow")
    adaptive_precision = Float(0.03, minimum=0.005, maximum=0.5,
                               doc="target relative half-width of the threshold interval")
    adaptive_points = Int(12, minimum=1, maximum=200, doc="most points adaptive sampling may add")
    damage_guard = Bool(False, doc="stop if the output falls or the pump passes a multiple of the threshold")
    guard_multiple = Float(5.0, minimum=1.1, maximum=1000, doc="stop above this multiple of the threshold")
    guard_drop = Float(0.2, minimum=0.01, maximum=0.99, doc="stop when the output falls by this fraction")
    separation = Choice("template", ("template", "narrow"),
                        doc="stimulated output: template (ASE: first spectrum removed) or narrow "
                            "(lasing modes in the window above the band under them)")
    flank_width = Float(5.0, unit="nm", minimum=0.1, maximum=500,
                        doc="narrow: spectrum on either side of the window the band is interpolated from")
    resolution = Float(0.0, unit="nm", minimum=0.0, maximum=50,
                       doc="narrow: spectrometer resolution (FWHM) removed from the mode linewidth")
    two_bands = Bool(False, doc="also decompose each spectrum into exciton and biexciton bands")
    binding_energy = Float(50.0, unit="meV", minimum=0.0, maximum=500,
                           doc="two bands: expected biexciton binding energy (start of the fit)")

    columns = (
        Column("fluence_target", "uJ/cm^2", "target fluence"),
        Column("fluence", "uJ/cm^2", "measured fluence"),
        Column("pulse_energy", "uJ", "measured pulse energy at the sample"),
        Column("occupancy", "", "average excitons per dot ⟨N⟩"),
        Column("integration_time", "s", "integration time used"),
        Column("intensity_total", "counts/s", "whole spectrum"),
        Column("intensity_window", "counts/s", "inside the window"),
        Column("intensity_stimulated", "counts/s", "stimulated part (spontaneous removed)"),
        Column("intensity_spontaneous", "counts/s", "spontaneous part"),
        Column("peak_wavelength", "nm"),
        Column("fwhm", "nm", "FWHM of the whole spectrum"),
        Column("spontaneous_peak", "nm", "peak of the spontaneous part"),
        Column("spontaneous_fwhm", "nm", "FWHM of the spontaneous part"),
        Column("mode_wavelength", "nm", "narrow: strongest lasing mode"),
        Column("mode_fwhm", "nm", "narrow: its linewidth Δλ"),
        Column("modes", "", "narrow: number of modes"),
        Column("mode_spacing", "nm", "narrow: spacing of the modes"),
        Column("exciton_intensity", "counts/s", "two bands: exciton (bluer) band"),
        Column("biexciton_intensity", "counts/s", "two bands: biexciton (redder) band"),
        Column("exciton_peak", "nm", "two bands: exciton band centre"),
        Column("biexciton_peak", "nm", "two bands: biexciton band centre"),
        Column("saturated", "", "1 if the spectrum is clipped"),
        Column("repeat", "", "sweep repetition"),
        Column("adaptive", "", "1 for points added by adaptive sampling"),
    )
    arrays = (ArraySpec("spectrum", "counts/s", ("wavelength",), "dark-corrected spectrum"),)
    views = ("light-in-out", "spectrum", "waterfall")
    #: What a series records from each fluence sweep: (column, path in results, unit).
    key_results = (("threshold", ("threshold", "value"), "uJ/cm^2"),
                   ("threshold_low", ("threshold", "low"), "uJ/cm^2"),
                   ("threshold_high", ("threshold", "high"), "uJ/cm^2"),
                   ("beta", ("beta",), ""),
                   ("fwhm_above", ("fwhm_above_nm",), "nm"),
                   ("peak_above", ("peak_above_nm",), "nm"),
                   ("linewidth", ("linewidth_nm",), "nm"),
                   ("q_factor", ("q_factor",), ""),
                   ("pl_yield", ("pl_yield",), "counts/s/(uJ/cm^2)"),
                   ("spontaneous_peak", ("spontaneous_peak_nm",), "nm"),
                   ("spontaneous_fwhm", ("spontaneous_fwhm_nm",), "nm"),
                   ("slope_exciton", ("power_laws", "exciton", "slope"), ""),
                   ("slope_biexciton", ("power_laws", "biexciton", "slope"), ""))

    def check(self):
        if self.fluence_stop <= self.fluence_start:
            raise ParameterError("fluence_stop", self.fluence_stop,
                                 f"must be above fluence_start ({self.fluence_start:g} µJ/cm²)")
        if self.window_stop <= self.window_start:
            raise ParameterError("window_stop", self.window_stop, "must be above window_start")

    # -- plan ---------------------------------------------------------------------
    def beam(self) -> Beam:
        return Beam(self.geometry, self.stripe_width, self.stripe_length, self.spot_diameter)

    def beam_line(self) -> str:
        return self.line

    def slots(self):
        return super().slots() | {"Spectrometer": self.detector}

    def fluences(self) -> np.ndarray:
        space = np.geomspace if self.spacing == "log" else np.linspace
        return space(self.fluence_start, self.fluence_stop, self.points)

    def _step(self, fluence, repeat, adaptive=False):
        per_point = 1.5 + self.averages * self.integration_time + self.shots * 1e-3
        label = f"{'adaptive' if adaptive else f'repeat {repeat + 1}'}, {fluence:.4g} µJ/cm²"
        return PlannedStep(label, (Setpoint("fluence", fluence, "uJ/cm^2"),
                                   Setpoint("pulse_energy", fluence * self.beam().area, "uJ")),
                           per_point, {"fluence": fluence, "repeat": repeat, "adaptive": adaptive})

    def plan(self):
        return [self._step(f, r) for r in range(self.repeats) for f in self.fluences()]

    def more_steps(self, run, results):
        """Adaptive sampling: fluences inside the threshold's interval (within the
        planned range) until the interval is narrow enough or the budget is spent."""
        threshold = results.get("threshold") or {}
        done = run.table.get("adaptive", [])
        if not (self.adaptive and threshold.get("found")) or sum(done) >= self.adaptive_points:
            return []
        value, low, high = threshold["value"], threshold["low"], threshold["high"]
        if (high - low) / (2 * value) <= self.adaptive_precision:
            return []
        measured = np.asarray(run.table["fluence"])
        candidates = np.geomspace(max(low * 0.9, self.fluence_start), min(high * 1.1, self.fluence_stop), 4)
        fresh = [f for f in candidates if np.min(np.abs(measured / f - 1)) > 0.01]
        budget = int(self.adaptive_points - sum(done))
        return [self._step(float(f), self.repeats, adaptive=True) for f in fresh[:budget]]

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        laser, meter, spectrometer = run.role("PumpLaser"), run.role("PowerMeter"), run.role("Spectrometer")
        self.wavelength = laser.wavelength
        self.rep_rate = laser.rep_rate
        meter.set_wavelength(self.wavelength)
        if self.center_wavelength > 0:
            run.role("Spectrograph", self.detector).set_center_wavelength(self.center_wavelength)
        spectrometer.set_integration_time(self.integration_time)
        self.template = None
        self.kept = None            # (fluence, integration time) of the last spectrum
        run.set_axis("wavelength", spectrometer.wavelengths, "nm")
        run.role("Attenuator").set_pulse_energy(self.fluence_start * self.beam().area * 1e-6)
        run.open_beam()

    def on_pause(self, run):
        run.close_beam()

    def on_resume(self, run):
        run.open_beam()

    def _guard(self, run, step):
        """Damage guard: end the run before a fluence far above threshold, or when the
        stimulated output fell at equal or higher pump."""
        if not self.damage_guard:
            return
        threshold = run.results.get("threshold") or {}
        if threshold.get("found") and step.values["fluence"] > self.guard_multiple * threshold["value"]:
            raise EndRun(f"damage guard: {step.values['fluence']:.4g} µJ/cm² is above "
                         f"{self.guard_multiple:g} × the threshold {threshold['value']:.3g} µJ/cm²")
        fluence, output = run.table.get("fluence", []), run.table.get("intensity_stimulated", [])
        if len(output) >= 2 and fluence[-1] >= fluence[-2] * 0.98 and output[-2] > 0 \
                and output[-1] < (1 - self.guard_drop) * output[-2]:
            raise EndRun(f"damage guard: the stimulated output fell by {1 - output[-1] / output[-2]:.0%} "
                         f"at {fluence[-1]:.4g} µJ/cm² (sample damage?)")

    def _spectrum(self, run, fluence):
        """Averaged spectrum in counts/s, the integration shortened while saturated. A step
        up in fluence starts at the integration time the step before kept: more pump gives
        more light, so a longer one would saturate again."""
        start = self.kept[1] if self.kept and fluence >= self.kept[0] else None
        exposure = acquisition.spectrum(run.role("Spectrometer"), self.integration_time, self.averages,
                                        start=start, auto=self.auto_integration)
        self.kept = (fluence, exposure.integration_time)
        return exposure.counts, exposure.integration_time, exposure.saturated

    def measure(self, run, step):
        self._guard(run, step)
        area = self.beam().area
        energy = acquisition.set_pulse_energy(run, step.values["fluence"] * area * 1e-6, self.rep_rate,
                                             self.shots, self.energy_tolerance, approach=APPROACH)
        counts, t, saturated = self._spectrum(run, step.values["fluence"])
        wl = run.axes["wavelength"][0]
        if self.separation == "narrow":
            stimulated, spontaneous = narrow_part(wl, counts, (self.window_start, self.window_stop),
                                                  self.flank_width)
        else:
            if self.template is None:
                self.template = counts.copy()
                self.template.flags.writeable = False     # stimulated_part prepares it once
            stimulated, _ = spectra.stimulated_part(wl, counts, self.template)
            spontaneous = counts - stimulated
        band = smoothed(wl, spontaneous)
        fluence = energy * 1e6 / area
        data = {
            "fluence_target": step.values["fluence"], "fluence": fluence,
            "pulse_energy": energy * 1e6,
            "occupancy": float(occupancy(fluence, self.wavelength, self.cross_section)),
            "integration_time": t,
            "intensity_total": spectra.integrate(wl, counts),
            "intensity_window": spectra.integrate(wl, counts, (self.window_start, self.window_stop)),
            "intensity_stimulated": spectra.integrate(wl, stimulated),
            "intensity_spontaneous": spectra.integrate(wl, spontaneous),
            "peak_wavelength": spectra.peak(wl, counts)[0],
            "fwhm": spectra.fwhm(wl, counts),
            "spontaneous_peak": spectra.band_centre(wl, band),
            "spontaneous_fwhm": spectra.fwhm(wl, band),
            "saturated": float(saturated), "repeat": float(step.values["repeat"]),
            "adaptive": float(step.values["adaptive"]),
            "spectrum": counts.astype(np.float32),
        }
        if self.separation == "narrow" and data["intensity_stimulated"] >= data["intensity_spontaneous"]:
            data |= self._modes(wl, stimulated)
        if self.two_bands:
            bands = spectra.two_bands(wl, counts, guess=band_guess(wl, counts, self.binding_energy))
            data |= {"exciton_intensity": bands["area1"], "biexciton_intensity": bands["area2"],
                     "exciton_peak": bands["center1"], "biexciton_peak": bands["center2"]}
        return data

    def _modes(self, wl, lines):
        """Linewidth of the strongest mode and the mode spacing (spectra whose lines carry
        more light than the band)."""
        window = (self.window_start, self.window_stop)
        q = spectra.q_factor(wl, lines, window=window, resolution=self.resolution)
        spacing = spectra.mode_spacing(wl, lines, window=window)
        return {"mode_wavelength": q["center"], "mode_fwhm": q["fwhm"], "modes": q["modes"],
                "mode_spacing": spacing["spacing"]}

    def teardown(self, run):
        run.close_beam()

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        if len(scalars) < 2:
            return {}
        # the FWHM of a multi-mode spectrum is that of the group of modes: no linewidth method
        narrow = self.separation == "narrow"
        result = find_threshold(scalars["fluence"], scalars["intensity_stimulated"],
                                linewidth=None if narrow else scalars["fwhm"], unit="uJ/cm^2",
                                saturated=scalars["saturated"] > 0)
        out = {"threshold": {"value": result.threshold, "unit": "uJ/cm^2", "low": result.low,
                             "high": result.high, "found": result.found, "method": result.method,
                             "reason": result.reason, "agree": result.agree},
               "beta": result.beta, "slope_below": result.slope_below,
               "slope_above": result.slope_above, "warnings": result.warnings,
               "points": int(len(scalars)), "adaptive_points": int(scalars["adaptive"].sum())}
        if result.found:
            below = scalars[scalars["fluence"] < 0.8 * result.threshold]
            above = scalars[scalars["fluence"] > 1.5 * result.threshold]
            if len(below):
                out["fwhm_below_nm"] = float(below["fwhm"].median())
            if len(above):
                out["fwhm_above_nm"] = float(above["fwhm"].median())
                out["peak_above_nm"] = float(above["peak_wavelength"].median())
                out["q_factor"] = out["peak_above_nm"] / out["fwhm_above_nm"]
        out |= self._spontaneous(scalars, result)
        if narrow:
            out |= self._lasing_modes(scalars)      # Q from the mode linewidth, if resolved
        if self.two_bands:
            out |= self._bands(scalars, result)
        return out

    @staticmethod
    def _spontaneous(scalars, result) -> dict:
        """The spontaneous PL at the lowest fluences of the sweep (up to twice the first,
        and below half the threshold): integrated, per unit fluence (the stimulated part,
        which grows faster than the pump towards threshold, removed), its peak and FWHM.
        A series compares the same fluences at every point (thermal quenching)."""
        if "intensity_spontaneous" not in scalars:          # a run stored before it was recorded
            return {}
        low = scalars[scalars["fluence"] <= 2 * scalars["fluence"].min()]
        if result.found:
            low = low[low["fluence"] < 0.5 * result.threshold]
        if not len(low):
            return {}
        return {"pl_yield": float((low["intensity_spontaneous"] / low["fluence"]).median()),
                "spontaneous_peak_nm": float(low["spontaneous_peak"].median()),
                "spontaneous_fwhm_nm": float(low["spontaneous_fwhm"].median())}

    @staticmethod
    def _lasing_modes(scalars) -> dict:
        """Mode linewidth and Q = λ/Δλ from the spectra whose modes were fitted."""
        if "mode_fwhm" not in scalars:
            return {}
        modes = scalars[np.isfinite(scalars["mode_fwhm"]) & (scalars["mode_fwhm"] > 0)]
        if not len(modes):
            return {}
        return {"linewidth_nm": float(modes["mode_fwhm"].median()),
                "mode_wavelength_nm": float(modes["mode_wavelength"].median()),
                "q_factor": float((modes["mode_wavelength"] / modes["mode_fwhm"]).median()),
                "modes": int(modes["modes"].median()),
                "mode_spacing_nm": float(modes["mode_spacing"].median()),
                "mode_points": int(len(modes))}

    @staticmethod
    def _bands(scalars, result) -> dict:
        """Power laws of the exciton and biexciton bands (below half the threshold, if
        there is one) and the biexciton binding energy from their centres."""
        below = scalars[scalars["fluence"] < 0.5 * result.threshold] if result.found else scalars
        laws = {band: power_law(below["fluence"], below[f"{band}_intensity"])
                for band in ("exciton", "biexciton") if (below[f"{band}_intensity"] > 0).sum() >= 3}
        if not laws:
            return {}
        binding = HC_EV_NM / below["exciton_peak"] - HC_EV_NM / below["biexciton_peak"]
        return {"power_laws": laws, "binding_energy_mev": float(binding.median() * 1e3)}

    @classmethod
    def headline(cls, results: dict) -> str:
        t = results.get("threshold", {})
        if not t:
            return ""
        if not t.get("found"):
            return "no threshold"
        return f"threshold {t['value']:.3g} µJ/cm² [{t['low']:.3g}, {t['high']:.3g}]"

    @classmethod
    def report(cls, results):
        if not results.get("threshold"):
            return []
        return (cls._report_threshold(results) + cls._report_spontaneous(results)
                + cls._report_bands(results) + [("warning", w) for w in results.get("warnings", [])])

    @classmethod
    def _report_threshold(cls, results):
        t = results["threshold"]
        if not t["found"]:
            return [("ASE/lasing threshold", f"none found: {t['reason']}")]
        lines = [("ASE/lasing threshold", f"{t['value']:.3g} µJ/cm²  (95% CI {t['low']:.3g}–"
                                          f"{t['high']:.3g}; {t['method']})"),
                 ("spontaneous coupling β", f"{results['beta']:.2g}")]
        if "linewidth_nm" in results:
            lines.append(("lasing modes", f"{results['modes']} modes {results['mode_spacing_nm']:.3g} nm "
                                          f"apart; linewidth {results['linewidth_nm']:.3g} nm "
                                          f"(Q ≈ {results['q_factor']:.0f})"))
        elif "fwhm_below_nm" in results and "fwhm_above_nm" in results:
            lines.append(("FWHM below → above", f"{results['fwhm_below_nm']:.3g} nm → "
                                                 f"{results['fwhm_above_nm']:.3g} nm at "
                                                 f"{results['peak_above_nm']:.4g} nm (Q ≈ {results['q_factor']:.0f})"))
        return lines

    @classmethod
    def _report_spontaneous(cls, results):
        if "pl_yield" not in results:
            return []
        return [("spontaneous PL", f"{results['pl_yield']:.4g} counts/s per µJ/cm² at the lowest fluences; "
                                   f"band at {results['spontaneous_peak_nm']:.4g} nm, "
                                   f"FWHM {results['spontaneous_fwhm_nm']:.3g} nm")]

    @classmethod
    def _report_bands(cls, results):
        lines = [(f"{band} power law", f"slope {law['slope']:.3g} (95% CI {law['low']:.3g}–{law['high']:.3g}, "
                                       f"{law['points']} points)")
                 for band, law in results.get("power_laws", {}).items()]
        if "binding_energy_mev" in results:
            lines.append(("biexciton binding energy", f"{results['binding_energy_mev']:.3g} meV"))
        return lines

    @classmethod
    def figures(cls, run):
        from labctl.plots import light_in_light_out, waterfall

        from procedures.fluence_sweep_figures import bands_figure, modes_figure
        figures = {"LL": light_in_light_out(run), "spectra": waterfall(run)}
        if run.parameters.get("separation") == "narrow" and "linewidth_nm" in run.results:
            figures["modes"] = modes_figure(run)
        if run.parameters.get("two_bands") and run.results.get("power_laws"):
            figures["bands"] = bands_figure(run)
        return figures
