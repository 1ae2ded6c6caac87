"""Time-resolved PL with a streak camera: τ_X, the Auger lifetime and the absorption
cross-section σ from streak images at a series of pump fluences.

For each fluence (in increasing order) the attenuator is set to the pulse energy F·A and
the energy is measured with the power meter (corrected once if it is off by more than
``energy_tolerance``). Then two streak images are taken: a *long* time range (20 ns) for
the exciton lifetime τ_X and the long-delay PL, and a *short* one (1 ns, its sweep
started ``lead`` before the time zero found on the first long image) for the Auger
component that appears at high ⟨N⟩.

Every image is auto-ranged: the exposure (1-2-5 steps, each holding whole pulses) is
shortened while any pixel saturates and lengthened until the brightest pixel reaches
``fill`` of full scale. The MCP gain stays put, so that intensities compare directly;
only if a single pulse saturates is it lowered, and the response ratio of the two gains
measured on the same scene.

Each image's exciton-window decay (rows divided by their duration: the sweep is not
linear) is fitted with two exponentials ⊗ a Gaussian IRF (``labctl.analysis.decays``),
leaving out the last ``EDGE`` of the sweep. Recorded per fluence: both images (uint16,
dark-corrected counts + ``PEDESTAL``), the fits, the long-delay PL of the window
(counts per pulse from ``long_delay`` after time zero), the early and late intensities
and spectral peaks (stimulated emission is early and red-shifted). The analysis combines
the fluences: τ_X and τ_A as weighted means, σ from long-delay PL ∝ 1 − e^{−σj} against
photon fluence j (``labctl.analysis.pump``).
"""

import math
from dataclasses import dataclass

import numpy as np

from labctl.analysis import decays, models, pump, spectra
from labctl.beam import Beam
from labctl.errors import ParameterError
from labctl.parameters import Choice, Float, FloatList, Int, Text
from labctl.procedure import PlannedStep, Procedure, Setpoint
from labctl.records import ArraySpec, Column
from labctl.units import pretty
from procedures import acquisition

FULL_SCALE = 65535
PEDESTAL = 1000           # counts added to dark-corrected images so that they store as uint16
EXPOSURE_LIMITS = (1e-3, 10.0)   # s, the readout camera
RANGES = ("long", "short")
EDGE = 0.05               # end of the sweep left out of the fits: the IRF blurs its last
                          # rows with the nothing beyond the screen
TRIES = 30                # images at most to auto-range one
FIT = ("t0", "irf", "background", "a_fast", "a_slow", "tau_fast", "tau_slow",
       "tau_fast_err", "tau_slow_err")


def one_two_five(value: float) -> bool:
    """Whether ``value`` is 1, 2 or 5 times a power of ten (the streak time ranges)."""
    mantissa = value / 10.0 ** math.floor(math.log10(value) + 1e-9)
    return any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5, 10))


def exposures(longest: float, rep_rate: float) -> list[float]:
    """Exposures (s) in 1-2-5 steps from the shortest that holds a pulse to ``longest``
    (few distinct exposures: the driver's dark frames are reused)."""
    shortest = max(EXPOSURE_LIMITS[0], 1.0 / rep_rate)
    steps = [m * 10.0 ** e for e in range(-3, 2) for m in (1, 2, 5)]
    found = [s for s in steps if shortest * (1 - 1e-9) <= s <= longest * (1 + 1e-9)]
    return found or [min(max(shortest, longest), EXPOSURE_LIMITS[1])]


def row_widths(time) -> np.ndarray:
    """Duration of every image row relative to the average row: the sweep is not linear,
    and a row's counts are proportional to its duration."""
    width = np.gradient(np.asarray(time, float))
    return width / width.mean()


def decay(time, wavelength, image, window) -> np.ndarray:
    """Decay of a spectral window (start, stop nm): counts per row of average duration."""
    return decays.streak_decays(time, wavelength, image, [window])[0] / row_widths(time)


def fitted(time) -> np.ndarray:
    """The rows the fits use: all but the last ``EDGE`` of the sweep."""
    return time <= time[-1] - EDGE * (time[-1] - time[0])


def fit_curve(time, values: dict) -> np.ndarray:
    """The fitted decay on ``time`` (ns) from a fit's values (names of ``FIT``)."""
    return models.exp_decay(time, [values["a_fast"], values["a_slow"]],
                            [values["tau_fast"], values["tau_slow"]], values["t0"],
                            values["irf"], values["background"])


@dataclass(frozen=True)
class Shot:
    """An auto-ranged image and the settings it was taken with."""

    counts: np.ndarray       # dark-corrected, (time, wavelength)
    time: np.ndarray         # ns after the trigger, of every row
    delay: float             # ns, trigger to sweep start
    exposure: float          # s
    gain: int
    response: float          # counts per photoelectron relative to the first gain
    pulses: float            # counts ÷ pulses = counts per pulse at the first gain
    saturated: bool


@dataclass
class TimeRange:
    """One sweep range and its auto-ranging state."""

    name: str
    span: float              # s
    delay: float             # s, trigger to sweep start
    gain: int
    exposure: float          # s, the last one (the next image starts from it)
    response: float = 1.0    # counts per photoelectron relative to the first gain


class TRPL(Procedure):
    name = "trpl"
    title = "Time-resolved PL (streak camera): exciton and Auger lifetimes, absorption cross-section"
    roles = ("PumpLaser", "Attenuator", "PowerMeter", "StreakCamera")

    fluences = FloatList([2, 5, 10, 20, 40, 80, 160], unit="uJ/cm^2", minimum=1e-3, maximum=1e5,
                         max_length=200, doc="pump fluences (measured in increasing order)")
    geometry = Choice("stripe", ("stripe", "spot"), doc="beam shape at the sample")
    stripe_width = Float(0.1, unit="mm", minimum=1e-3, maximum=20, doc="stripe width")
    stripe_length = Float(3.0, unit="mm", minimum=1e-3, maximum=50, doc="stripe length")
    spot_diameter = Float(0.2, unit="mm", minimum=1e-3, maximum=20, doc="spot diameter")
    line = Text("", max_length=20, doc="pump beam line: '' (main) or a slot qualifier such as ns")
    shots = Int(10, minimum=1, maximum=10000, doc="pulses averaged by the power meter per fluence")
    energy_tolerance = Float(0.05, minimum=0.0, maximum=1.0, doc="relative pulse-energy error corrected once")
    long_range = Float(20.0, unit="ns", minimum=0.5, maximum=1e6,
                       doc="long sweep time range (1-2-5 steps): τ_X and the long-delay PL")
    short_range = Float(1.0, unit="ns", minimum=0.5, maximum=1e6,
                        doc="short sweep time range (1-2-5 steps): the Auger component")
    delay = Float(0.0, unit="ns", minimum=0.0, maximum=1e9,
                  doc="trigger delay of the long range (the pulse must arrive early in it)")
    lead = Float(0.1, unit="ns", minimum=0.0, maximum=1e6,
                 doc="the short sweep starts this long before time zero")
    mcp_gain = Int(20, minimum=1, maximum=63, doc="MCP gain (lowered only if one pulse saturates)")
    gain_step = Int(8, minimum=1, maximum=62, doc="MCP gain decrement when one pulse saturates")
    max_exposure = Float(5.0, unit="s", minimum=EXPOSURE_LIMITS[0], maximum=EXPOSURE_LIMITS[1],
                         doc="longest exposure per image")
    fill = Float(0.5, minimum=0.05, maximum=0.9, doc="auto-ranging target: brightest pixel / full scale")
    window_start = Float(500.0, unit="nm", minimum=100, maximum=3000,
                         doc="exciton window start (blue of the stimulated band)")
    window_stop = Float(512.0, unit="nm", minimum=100, maximum=3000, doc="exciton window end")
    long_delay = Float(1.5, unit="ns", minimum=0.0, maximum=1e6,
                       doc="long-delay PL from this long after time zero (Auger over)")
    early = Float(0.03, unit="ns", minimum=0.001, maximum=1e3,
                  doc="early spectrum: the first this long after time zero (short range)")
    auger_share = Float(0.5, minimum=0.0, maximum=1.0,
                        doc="τ_A from the fluences whose fast component has at least this share "
                            "of the initial amplitude (short range)")

    columns = (
        Column("fluence_target", "uJ/cm^2", "target fluence"),
        Column("fluence", "uJ/cm^2", "measured fluence"),
        Column("pulse_energy", "uJ", "measured pulse energy at the sample"),
        Column("photon_fluence", "1/cm^2", "photons per cm² per pulse"),
        Column("rep_rate", "Hz", "pump repetition rate"),
        Column("pedestal", "counts", "added to the stored images"),
        *(Column(f"{r}_{name}", unit, doc) for r in RANGES for name, unit, doc in (
            ("delay", "ns", "trigger to sweep start"),
            ("gain", "", "MCP gain"),
            ("exposure", "s", "exposure"),
            ("response", "", "counts per photoelectron relative to the first gain"),
            ("t0", "ns", "time zero after the trigger"),
            ("irf", "ns", "instrument response FWHM"),
            ("background", "counts/ns", "per pulse, exciton window"),
            ("a_fast", "counts/ns", "per pulse, exciton window, fast component at t0"),
            ("a_slow", "counts/ns", "per pulse, exciton window, slow component at t0"),
            ("tau_fast", "ns", "fast lifetime"), ("tau_slow", "ns", "slow lifetime"),
            ("tau_fast_err", "ns", "1σ"), ("tau_slow_err", "ns", "1σ"),
            ("chi2", "", "reduced χ² of the fit (counts are not photoelectrons)"))),
        Column("time_zero", "ns", "of the run, after the trigger: t0 of the first long image"),
        Column("long_delay_pl", "counts", "per pulse, exciton window, from long_delay after time zero"),
        Column("early_intensity", "counts", "per pulse, whole image, the first `early` after t0"),
        Column("late_intensity", "counts", "per pulse, whole image, from long_delay after time zero"),
        Column("peak_early", "nm", "peak of the early spectrum"),
        Column("peak_late", "nm", "centre of the late (exciton) band"),
        Column("saturated", "", "1 if an image stayed saturated"),
    )
    arrays = (ArraySpec("streak_long", "counts", ("time_long", "wavelength"),
                        "long range: dark-corrected counts + pedestal", dtype="u2"),
              ArraySpec("streak_short", "counts", ("time_short", "wavelength"),
                        "short range: dark-corrected counts + pedestal", dtype="u2"))
    views = (("streak", {"name": "long"}), ("streak", {"name": "short"}), "long-delay-pl")
    #: What a series records from each run: (column, path in results, unit).
    key_results = (("tau_x", ("tau_x", "value"), "ns"), ("tau_auger", ("tau_auger", "value"), "ps"),
                   ("cross_section", ("cross_section", "value"), "cm^2"))

    def check(self):
        for name in ("long_range", "short_range"):
            if not one_two_five(getattr(self, name)):
                raise ParameterError(name, getattr(self, name), "streak time ranges come in 1-2-5 steps")
        if self.short_range >= self.long_range:
            raise ParameterError("short_range", self.short_range,
                                 f"must be shorter than long_range ({self.long_range:g} ns)")
        if self.window_stop <= self.window_start:
            raise ParameterError("window_stop", self.window_stop, "must be above window_start")
        if self.long_delay >= self.long_range:
            raise ParameterError("long_delay", self.long_delay,
                                 f"must lie inside the long range ({self.long_range:g} ns)")

    # -- plan ---------------------------------------------------------------------
    def beam(self) -> Beam:
        return Beam(self.geometry, self.stripe_width, self.stripe_length, self.spot_diameter)

    def beam_line(self) -> str:
        return self.line

    def plan(self):
        area = self.beam().area
        # energy set and measured; per range (auto-ranging, dark frames) about one and a
        # half of the longest exposure: long ones at low fluence, short ones at high
        duration = 1.5 + self.shots * 1e-3 + 2 * (1.5 * self.max_exposure + 0.5)
        return [PlannedStep(f"{f:.4g} µJ/cm²", (Setpoint("fluence", f, "uJ/cm^2"),
                                                 Setpoint("pulse_energy", f * area, "uJ")),
                            duration, {"fluence": f})
                for f in sorted(set(self.fluences))]

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        laser, camera = run.role("PumpLaser"), run.role("StreakCamera")
        self.wavelength, self.rep_rate = laser.wavelength, laser.rep_rate
        run.role("PowerMeter").set_wavelength(self.wavelength)
        self.steps = exposures(self.max_exposure, self.rep_rate)
        self.ranges = {name: TimeRange(name, span * 1e-9, self.delay * 1e-9 if name == "long" else 0.0,
                                       self.mcp_gain, self.steps[-1])
                       for name, span in (("long", self.long_range), ("short", self.short_range))}
        self.time_zero = None       # ns after the trigger, from the first long image
        camera.close_shutter()
        camera.set_exposure(self.steps[0])
        camera.set_mcp_gain(self.mcp_gain)
        for r in self.ranges.values():        # the axes, from dark images (shutter closed)
            camera.set_time_range(r.span)
            camera.set_delay(r.delay)
            camera.acquire()
            run.set_axis(f"time_{r.name}", (camera.time_axis - r.delay) * 1e9, "ns")
        run.set_axis("wavelength", camera.wavelength_axis, "nm")
        camera.open_shutter()
        run.role("Attenuator").set_pulse_energy(min(self.fluences) * self.beam().area * 1e-6)
        run.open_beam()

    def on_pause(self, run):
        run.close_beam()

    def on_resume(self, run):
        run.open_beam()

    def _window(self, wavelength):
        return (wavelength >= self.window_start) & (wavelength <= self.window_stop)

    def _image(self, run, r: TimeRange) -> Shot:
        """An auto-ranged image of range ``r``."""
        camera = run.role("StreakCamera")
        camera.set_time_range(r.span)
        camera.set_delay(r.delay)
        camera.set_mcp_gain(r.gain)
        camera.set_exposure(r.exposure)
        for _ in range(TRIES):
            image = camera.acquire()
            shot = Shot(image, camera.time_axis * 1e9, r.delay * 1e9, r.exposure, r.gain, r.response,
                        r.exposure * self.rep_rate * r.response, camera.saturated)
            if shot.saturated:
                shorter = [s for s in self.steps if s <= r.exposure / 10] or self.steps[:1]
                if shorter[-1] < r.exposure:
                    r.exposure = shorter[-1]
                    camera.set_exposure(r.exposure)
                elif r.gain > 1:
                    self._lower_gain(run, r, image)
                else:
                    return shot
                continue
            longer = [s for s in self.steps if r.exposure < s <= r.exposure * self.fill * FULL_SCALE
                      / max(image.max(), 1.0)]
            if not longer:
                return shot
            r.exposure = longer[-1]
            camera.set_exposure(r.exposure)
        return shot

    def _lower_gain(self, run, r: TimeRange, bright):
        """Lower the MCP gain by ``gain_step`` and measure how much the response fell, on
        the exciton window (away from the saturating stimulated band): exposed as long as
        keeps the window below a third of full scale, the pixels far from full scale in
        one image at the old gain are summed in a second one and in one at the new gain
        (chosen on an independent image, so that the noise cannot bias the ratio)."""
        camera = run.role("StreakCamera")
        cols = self._window(camera.wavelength_axis)
        window = bright[:, cols]
        longer = [s for s in self.steps
                  if r.exposure < s <= r.exposure * FULL_SCALE / 3 / max(window.max(), 1.0)]
        if longer:
            camera.set_exposure(longer[-1])
            window = camera.acquire()[:, cols]
        far = window < 0.5 * FULL_SCALE
        again = camera.acquire()[:, cols][far].sum()
        r.gain = max(1, r.gain - self.gain_step)
        camera.set_mcp_gain(r.gain)
        ratio = again / camera.acquire()[:, cols][far].sum()
        r.response /= ratio
        camera.set_exposure(r.exposure)
        run.event("gain", f"{r.name} range: MCP gain lowered to {r.gain}, response ÷{ratio:.4g}")

    def _fit(self, name, shot: Shot, wavelength) -> dict:
        """Fit the exciton-window decay: the values of ``FIT`` in counts per pulse per ns."""
        curve = decay(shot.time, wavelength, shot.counts, (self.window_start, self.window_stop))
        inside = fitted(shot.time)
        fit = decays.fit_decay(shot.time[inside], curve[inside], components=2)
        v, e = fit.values, fit.errors
        per_pulse = 1.0 / (shot.pulses * np.gradient(shot.time).mean())
        out = {"t0": v["t0"], "irf": v["irf_fwhm"], "background": v["background"] * per_pulse,
               "a_fast": v["a1"] * per_pulse, "a_slow": v["a2"] * per_pulse,
               "tau_fast": v["tau1"], "tau_slow": v["tau2"],
               "tau_fast_err": e["tau1"], "tau_slow_err": e["tau2"],
               "chi2": fit.chi2 / max(fit.dof, 1), "delay": shot.delay, "gain": shot.gain,
               "exposure": shot.exposure, "response": shot.response}
        return {f"{name}_{k}": float(x) for k, x in out.items()}

    def measure(self, run, step):
        area = self.beam().area
        energy = acquisition.set_pulse_energy(run, step.values["fluence"] * area * 1e-6, self.rep_rate,
                                             self.shots, self.energy_tolerance)
        fluence = energy * 1e6 / area
        wl = run.axes["wavelength"][0]
        out = {"fluence_target": step.values["fluence"], "fluence": fluence,
               "pulse_energy": energy * 1e6, "rep_rate": self.rep_rate,
               "photon_fluence": float(pump.photon_fluence(fluence, self.wavelength)),
               "pedestal": PEDESTAL}
        shots = {}
        for name, r in self.ranges.items():             # long first: it times the short sweep
            shots[name] = shot = self._image(run, r)
            out.update(self._fit(name, shot, wl))
            out[f"streak_{name}"] = np.clip(np.rint(shot.counts + PEDESTAL), 0, FULL_SCALE).astype(np.uint16)
            if self.time_zero is None:
                self._set_time_zero(run, out["long_t0"])
        out["saturated"] = float(any(shot.saturated for shot in shots.values()))
        out["time_zero"] = self.time_zero
        out.update(self._early_late(shots, out, wl))
        return out

    def _set_time_zero(self, run, t0):
        """The run's time zero, from the first long image: the long-delay window starts
        ``long_delay`` after it at every fluence (one window for all, so that a time zero
        a few ps off cannot bias σ), and the short sweep ``lead`` before it."""
        self.time_zero = t0
        start = t0 - self.lead
        if start < 0:
            run.event("warning", f"time zero {t0:.3g} ns is less than lead {self.lead:g} ns after "
                                 "the trigger: the short range starts at the trigger")
        self.ranges["short"].delay = round(max(start, 0.0) * 1e3) * 1e-12      # ps steps, s

    @staticmethod
    def _spectrum(shot: Shot, start, stop, before):
        """Spectrum of the rows from ``start`` to ``stop`` (ns) less the mean row before
        the pulse (rows before ``before``, if any), per pulse."""
        rows = (shot.time >= start) & (shot.time < stop)
        spectrum = shot.counts[rows].sum(axis=0)
        ahead = shot.time < before
        if ahead.any():
            spectrum = spectrum - rows.sum() * shot.counts[ahead].mean(axis=0)
        return spectrum / shot.pulses

    def _early_late(self, shots, out, wl):
        """Early (short range) and late (long range) spectra: intensities and peaks; the
        long-delay PL of the exciton window."""
        t0, t0_short = self.time_zero, out["short_t0"]
        late = self._spectrum(shots["long"], t0 + self.long_delay, np.inf, t0 - 2 * out["long_irf"])
        early = self._spectrum(shots["short"], t0_short, t0_short + self.early,
                               t0_short - 2 * out["short_irf"])
        return {"long_delay_pl": float(late[self._window(wl)].sum()),
                "early_intensity": float(early.sum()), "late_intensity": float(late.sum()),
                "peak_early": spectra.peak(wl, spectra.smooth(early, 9))[0],
                "peak_late": spectra.band_centre(wl, spectra.smooth(late, 9))}

    def teardown(self, run):
        run.close_beam()
        run.role("StreakCamera").close_shutter()

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        if not len(scalars):
            return {}
        clean = scalars[scalars["saturated"] == 0]
        out = {"points": int(len(scalars)), "warnings": []}
        if len(clean) < len(scalars):
            out["warnings"].append(f"{len(scalars) - len(clean)} fluence(s) left out: an image "
                                   "stayed saturated at the lowest gain and shortest exposure")
        tau_x = weighted_mean(clean["long_tau_slow"], clean["long_tau_slow_err"])
        if tau_x:
            out["tau_x"] = tau_x | {"unit": "ns"}
        share = clean["short_a_fast"] / (clean["short_a_fast"] + clean["short_a_slow"])
        auger = share >= self.auger_share
        tau_a = weighted_mean(clean["short_tau_fast"][auger] * 1e3, clean["short_tau_fast_err"][auger] * 1e3)
        if tau_a:
            out["tau_auger"] = tau_a | {"unit": "ps"}
        else:
            out["warnings"].append(f"no Auger lifetime: at no fluence does the fast component carry "
                                   f"{self.auger_share:.0%} of the initial amplitude (raise the fluence)")
        out["auger_share"] = [float(x) for x in share]
        ok = (clean["photon_fluence"] > 0) & (clean["long_delay_pl"] > 0)
        if ok.sum() >= 3:
            # relative errors (fluence reading, photon statistics): weights 1/PL², the
            # covariance then scaled by the reduced χ² (the scatter sets the error)
            pl = clean["long_delay_pl"][ok]
            fit = pump.fit_cross_section(clean["photon_fluence"][ok], pl, sigma=pl)
            scale = math.sqrt(fit.chi2 / fit.dof) if fit.dof > 0 else math.nan
            sigma = float(fit.values["cross_section"])
            out["cross_section"] = {"value": sigma, "error": float(fit.errors["cross_section"] * scale),
                                    "unit": "cm^2", "amplitude": float(fit.values["amplitude"]),
                                    "points": int(ok.sum())}
            out["occupancy"] = [float(n) for n in sigma * scalars["photon_fluence"]]
        last = scalars.iloc[-1]
        out.update({"time_zero_ns": float(last["time_zero"]), "peak_early_nm": float(last["peak_early"]),
                    "peak_late_nm": float(last["peak_late"])})
        return out

    @classmethod
    def headline(cls, results: dict) -> str:
        parts = []
        for key, text in (("tau_x", "τ_X {:.3g} ns"), ("tau_auger", "τ_A {:.3g} ps"),
                          ("cross_section", "σ {:.2g} cm²")):
            if key in results:
                parts.append(text.format(results[key]["value"]))
        return ", ".join(parts)

    @classmethod
    def report(cls, results):
        lines = []
        for key, label in (("tau_x", "exciton lifetime τ_X"), ("tau_auger", "Auger lifetime τ_A"),
                           ("cross_section", "cross-section σ")):
            if key in results:
                r = results[key]
                text = scientific(r["value"], r["error"]) if key == "cross_section" else \
                    f"{r['value']:.4g} ± {r['error']:.2g}"
                lines.append((label, f"{text} {pretty(r['unit'])}  ({r['points']} fluences)"))
        if "occupancy" in results:
            n = results["occupancy"]
            lines.append(("⟨N⟩ = σj", f"{min(n):.2g} … {max(n):.2g}"))
        if "peak_early_nm" in results:
            lines.append(("peak early → late", f"{results['peak_early_nm']:.4g} → "
                                               f"{results['peak_late_nm']:.4g} nm (highest fluence)"))
        lines += [("warning", w) for w in results.get("warnings", [])]
        return lines

    @classmethod
    def figures(cls, run):
        from .trpl_plots import cross_section, decay_fits, spectrograms
        figures = {"streak": spectrograms(run), "decays": decay_fits(run)}
        if "cross_section" in run.results:
            figures["sigma"] = cross_section(run)
        return figures


def scientific(value: float, error) -> str:
    """``(2.49 ± 0.03)×10⁻¹⁴``: a value and its error (None or NaN: unknown) with one
    power of ten."""
    exponent = math.floor(math.log10(abs(value)))
    superscript = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    if error is None or not math.isfinite(error):
        return f"{value / 10 ** exponent:.3g}×10{superscript}"
    return f"({value / 10 ** exponent:.3g} ± {error / 10 ** exponent:.2g})×10{superscript}"


def weighted_mean(values, errors) -> dict:
    """Inverse-variance weighted mean of the finite values with positive errors; its error
    is scaled by the Birge ratio √(χ²/dof) when the values scatter more than their errors."""
    values, errors = np.asarray(values, float), np.asarray(errors, float)
    ok = np.isfinite(values) & np.isfinite(errors) & (errors > 0)
    if not ok.any():
        return {}
    v, w = values[ok], errors[ok] ** -2.0
    mean = float(np.sum(w * v) / w.sum())
    error = float(w.sum() ** -0.5)
    if ok.sum() > 1:
        error *= max(1.0, math.sqrt(float(np.sum(w * (v - mean) ** 2)) / (ok.sum() - 1)))
    return {"value": mean, "error": error, "points": int(ok.sum())}
