"""Pump-fluence sweep: light-in/light-out, linewidth and the ASE/lasing threshold.

For each target fluence (log- or linearly spaced, always swept upwards to spare the
sample) the attenuator is set to the pulse energy F·A for the beam area A, the pulse
energy is measured with the power meter (and the attenuator corrected once if it is off
by more than ``energy_tolerance``), and a spectrum is taken, with the integration time
shortened until the detector is not saturated. Recorded per step: target and measured
fluence, ⟨N⟩ = σ·j, the integrated intensity of the whole spectrum, of a window, and of
the stimulated part (the spontaneous band, measured at the first point, removed), the
peak wavelength and the FWHM.
"""

import numpy as np

from labctl.analysis import spectra
from labctl.analysis.threshold import find_threshold
from labctl.beam import Beam
from labctl.errors import ParameterError
from labctl.parameters import Bool, Choice, Float, Int, Text
from labctl.procedure import EndRun, PlannedStep, Procedure, Setpoint
from labctl.records import ArraySpec, Column

APPROACH = 0.8        # first setting as a fraction of the target pulse energy
HC_EV_NM = 1239.84193
EV_J = 1.602176634e-19


def occupancy(fluence_uj_cm2, wavelength_nm, cross_section_cm2):
    """Average excitons per dot ⟨N⟩ = σ·j, j = F/(hν) the photon fluence."""
    photon_energy = HC_EV_NM / np.asarray(wavelength_nm) * EV_J
    return cross_section_cm2 * np.asarray(fluence_uj_cm2) * 1e-6 / photon_energy


class FluenceSweep(Procedure):
    name = "fluence-sweep"
    title = "Pump-fluence sweep: L-L curve, linewidth and ASE/lasing threshold"
    roles = ("PumpLaser", "Attenuator", "PowerMeter", "Spectrometer")
    optional = ("Shutter",)

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
    window_start = Float(519.0, unit="nm", minimum=100, maximum=3000, doc="start of the intensity window")
    window_stop = Float(531.0, unit="nm", minimum=100, maximum=3000, doc="end of the intensity window")
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

    columns = (
        Column("fluence_target", "uJ/cm^2", "target fluence"),
        Column("fluence", "uJ/cm^2", "measured fluence"),
        Column("pulse_energy", "uJ", "measured pulse energy at the sample"),
        Column("occupancy", "", "average excitons per dot ⟨N⟩"),
        Column("integration_time", "s", "integration time used"),
        Column("intensity_total", "counts/s", "whole spectrum"),
        Column("intensity_window", "counts/s", "inside the window"),
        Column("intensity_stimulated", "counts/s", "stimulated part (spontaneous removed)"),
        Column("peak_wavelength", "nm"),
        Column("fwhm", "nm", "FWHM of the whole spectrum"),
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
                   ("peak_above", ("peak_above_nm",), "nm"))

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
        run.set_axis("wavelength", spectrometer.wavelengths, "nm")
        run.role("Attenuator").set_pulse_energy(self.fluence_start * self.beam().area * 1e-6)
        self._beam(run, open_=True)

    def _beam(self, run, open_):
        """Open (or close) the laser's shutter and, if the line has one, the external shutter."""
        shutters = [run.role("PumpLaser")] + ([run.role("Shutter")] if run.has("Shutter") else [])
        for shutter in shutters:
            (shutter.open_shutter if open_ else shutter.close_shutter)()

    def on_pause(self, run):
        self._beam(run, open_=False)

    def on_resume(self, run):
        self._beam(run, open_=True)

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

    def _set_energy(self, run, target):
        """Set the pulse energy (J) approaching from below -- a calibration error then
        cannot overshoot -- and correct once from the measurement; return measured J."""
        attenuator, meter = run.role("Attenuator"), run.role("PowerMeter")
        first = max(APPROACH * target, attenuator.min_pulse_energy)
        attenuator.set_pulse_energy(first)
        measured = meter.pulse_energy(self.rep_rate, self.shots)
        if measured > 0 and abs(measured / target - 1) > self.energy_tolerance:
            corrected = first * target / measured
            if corrected <= attenuator.max_pulse_energy:
                attenuator.set_pulse_energy(corrected)
                measured = meter.pulse_energy(self.rep_rate, self.shots)
        return measured

    def _spectrum(self, run):
        """Averaged spectrum in counts/s, shortening the integration while saturated."""
        spectrometer = run.role("Spectrometer")
        shortest = spectrometer.integration_limits[0]
        t = self.integration_time
        spectrometer.set_integration_time(t)
        while True:
            shots = [spectrometer.acquire() for _ in range(self.averages)]
            saturated = spectrometer.saturated
            if not (saturated and self.auto_integration and t > shortest):
                return np.mean(shots, axis=0) / t, t, saturated
            t = max(shortest, t / 3)
            spectrometer.set_integration_time(t)

    def measure(self, run, step):
        self._guard(run, step)
        area = self.beam().area
        energy = self._set_energy(run, step.values["fluence"] * area * 1e-6)
        counts, t, saturated = self._spectrum(run)
        wl = run.axes["wavelength"][0]
        if self.template is None:
            self.template = counts
        stimulated, _ = spectra.stimulated_part(wl, counts, self.template)
        fluence = energy * 1e6 / area
        return {
            "fluence_target": step.values["fluence"], "fluence": fluence,
            "pulse_energy": energy * 1e6,
            "occupancy": float(occupancy(fluence, self.wavelength, self.cross_section)),
            "integration_time": t,
            "intensity_total": spectra.integrate(wl, counts),
            "intensity_window": spectra.integrate(wl, counts, (self.window_start, self.window_stop)),
            "intensity_stimulated": spectra.integrate(wl, stimulated),
            "peak_wavelength": spectra.peak(wl, counts)[0],
            "fwhm": spectra.fwhm(wl, counts),
            "saturated": float(saturated), "repeat": float(step.values["repeat"]),
            "adaptive": float(step.values["adaptive"]),
            "spectrum": counts.astype(np.float32),
        }

    def teardown(self, run):
        self._beam(run, open_=False)

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        if len(scalars) < 2:
            return {}
        result = find_threshold(scalars["fluence"], scalars["intensity_stimulated"],
                                linewidth=scalars["fwhm"], unit="uJ/cm^2",
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
        return out

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
        t = results.get("threshold")
        if not t:
            return []
        if not t["found"]:
            return [("ASE/lasing threshold", f"none found: {t['reason']}")]
        lines = [("ASE/lasing threshold", f"{t['value']:.3g} µJ/cm²  (95% CI {t['low']:.3g}–"
                                          f"{t['high']:.3g}; {t['method']})"),
                 ("spontaneous coupling β", f"{results['beta']:.2g}")]
        if "fwhm_below_nm" in results and "fwhm_above_nm" in results:
            lines.append(("FWHM below → above", f"{results['fwhm_below_nm']:.3g} nm → "
                                                 f"{results['fwhm_above_nm']:.3g} nm at "
                                                 f"{results['peak_above_nm']:.4g} nm (Q ≈ {results['q_factor']:.0f})"))
        for warning in results.get("warnings", []):
            lines.append(("warning", warning))
        return lines

    @classmethod
    def figures(cls, run):
        from labctl.plots import light_in_light_out, waterfall
        return {"LL": light_in_light_out(run), "spectra": waterfall(run)}
