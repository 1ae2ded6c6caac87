"""Variable stripe length (VSL): net modal gain from the edge emission of a pump stripe.

A knife edge on the ``LinearStage`` covers part of the pump stripe; the stage position is
the uncovered stripe length L (mm). For each fluence (swept upwards; set like the fluence
sweep: attenuator to F·A for the whole stripe's area A, pulse energy measured and
corrected once) the knife edge first leaves a short stripe L0 whose averaged spectrum is
the *template*, then steps through the lengths. At each length the edge-emission spectrum
is recorded (integration time auto-ranged: from three times the previous one down while
the detector saturates) with its integrated intensity, and the stimulated band: what is
left inside the window after removing the template, scaled on the blue side of the band
(``spectra.stimulated_part``).

Why a template from the same fluence: the spontaneous bands (exciton, biexciton) grow as L
at any one fluence, so a short stripe of the same fluence removes them exactly, where a
spectrum below threshold (as in the fluence sweep) has a different biexciton share and a
different stimulated share. The template does hold a little amplified emission, I(L0),
and removing it takes (L/L0)·I(L0) from every point; the analysis adds it back
self-consistently (``template_gain``).

Gain: ``labctl.analysis.gain.vsl_gain`` fits I(L) = (A/g)(e^{gL} − 1) on the unsaturated
lengths (gain saturation detected and excluded), for each fluence; with three fluences or
more, g against ln F extrapolates to the fluence of zero net gain.
"""

import functools
import math

import numpy as np

from labctl.analysis import models, spectra
from labctl.analysis.gain import MM_PER_CM, vsl_gain
from labctl.analysis.series import trend
from labctl.beam import Beam
from labctl.errors import ParameterError
from labctl.parameters import Bool, Float, FloatList, Int
from labctl.procedure import PlannedStep, Procedure, Setpoint
from labctl.records import ArraySpec, Column

from procedures import acquisition
from procedures.plotting import emission_window


def _number(value) -> float:
    """A result value as a float (a stored run's JSON has None for NaN)."""
    return math.nan if value is None else float(value)


def template_gain(length, stimulated, template_length, template_noise=0.0, tolerance=1e-4, rounds=3):
    """Net modal gain from stimulated-band intensities measured against a template taken
    at the stripe length ``template_length`` (mm) of the same fluence.

    Removing the template scaled by L/L0 also removed (L/L0)·I(L0), the template's own
    amplified emission. The seed s = I(L0) is found so that ``vsl_gain`` fitted to
    stimulated + s·L/L0 passes through s at L0 (secant method, on the lengths below gain
    saturation; the saturated ones are found again with the seed until they stay the
    same). The template's noise (``template_noise``, 1σ of its window integral) shifts
    every point by the same multiple of L/L0; its share of the error of g is propagated
    through the same condition. Returns (Fit, seed, template share of the 1σ error of g,
    converged).
    """
    length, stimulated = np.asarray(length, float), np.asarray(stimulated, float)
    scale = length / template_length
    seed, excluded, converged = 0.0, None, False
    for _ in range(rounds):
        fit = vsl_gain(length, stimulated + seed * scale)
        if fit.excluded == excluded:
            break
        excluded = fit.excluded
        below = np.ones(length.size, bool)
        below[excluded] = False
        mismatch = _mismatch(length[below], stimulated[below], scale[below], template_length)
        seed, converged = _secant(mismatch, seed, tolerance)
    else:
        fit = vsl_gain(length, stimulated + seed * scale)
        converged = converged and fit.excluded == excluded
    share = math.nan
    if template_noise > 0:
        (h1, at), (h2, shifted) = mismatch(seed), mismatch(seed + max(template_noise, 0.05 * seed))
        if h2 != h1:
            share = abs((shifted["gain"] - at["gain"]) / (h2 - h1)) * template_noise
    return fit, seed, share, converged


def _mismatch(length, stimulated, scale, template_length):
    """seed -> (fitted I(L0) − seed, fit) on lengths without gain saturation."""
    def mismatch(seed):
        fit = vsl_gain(length, stimulated + seed * scale, min_points=length.size)
        return float(models.vsl(template_length / MM_PER_CM, fit["gain"], fit["amplitude"])) - seed, fit
    return mismatch


def _secant(mismatch, start, tolerance, iterations=30):
    """Root of ``mismatch`` (a seed ≥ 0) from ``start`` and its fixed-point step."""
    x0, h0 = start, mismatch(start)[0]
    x1 = max(start + h0, 0.0)
    h1 = mismatch(x1)[0]
    for _ in range(iterations):
        if abs(h1) <= tolerance * abs(x1):
            return x1, True
        if h1 == h0:
            break
        x0, h0, x1 = x1, h1, max(x1 - h1 * (x1 - x0) / (h1 - h0), 0.0)
        h1 = mismatch(x1)[0]
    return x1, False


@functools.lru_cache(maxsize=256)
def _block_gain(lengths: tuple, stimulated: tuple, template_length: float, template_noise: float) -> dict:
    """``template_gain`` of one fluence as plain data (cached: the live analysis refits
    only the fluence whose data changed)."""
    fit, seed, share, converged = template_gain(lengths, stimulated, template_length, template_noise)
    error = math.hypot(fit.error("gain"), share) if math.isfinite(share) else fit.error("gain")
    warnings = [w for w in fit.warnings if not w.startswith("gain saturation")]
    warnings += ([] if converged else ["the template seed did not converge (saturated lengths changed with it)"])
    return {"gain": fit["gain"], "error": error, "fit_error": fit.error("gain"), "template_error": share,
            "amplitude": fit["amplitude"], "seed": seed, "template_length": template_length,
            "saturation_length": fit["saturation_length"],
            "excluded_lengths": [float(lengths[i]) for i in fit.excluded], "warnings": warnings}


class VSL(Procedure):
    name = "vsl"
    title = "Variable stripe length: net modal gain from edge emission"
    roles = ("PumpLaser", "Attenuator", "PowerMeter", "Spectrometer", "LinearStage")

    fluences = FloatList([57.0], unit="uJ/cm^2", minimum=1e-3, maximum=1e5, max_length=50,
                         doc="pump fluences (swept upwards)")
    length_start = Float(0.25, unit="mm", minimum=0.01, maximum=50, doc="shortest stripe length")
    length_stop = Float(1.25, unit="mm", minimum=0.01, maximum=50, doc="longest stripe length")
    lengths = Int(21, minimum=3, maximum=500, doc="number of stripe lengths (evenly spaced)")
    template_length = Float(0.1, unit="mm", minimum=0.005, maximum=50,
                            doc="stripe length of the spontaneous template (below length_start)")
    template_averages = Int(32, minimum=2, maximum=1000, doc="spectra averaged for the template")
    averages = Int(3, minimum=2, maximum=1000,
                   doc="spectra averaged per length, at least (and per batch while not precise)")
    max_averages = Int(30, minimum=2, maximum=10000, doc="most spectra averaged per length")
    precision = Float(0.03, minimum=1e-4, maximum=1.0,
                      doc="relative 1σ of the stimulated band to average for (faint above twice this)")
    integration_time = Float(2.0, unit="s", minimum=1e-3, maximum=60, doc="longest integration time")
    auto_integration = Bool(True, doc="shorten the integration time until not saturated")
    stripe_width = Float(0.1, unit="mm", minimum=1e-3, maximum=20, doc="stripe width")
    stripe_length = Float(3.0, unit="mm", minimum=1e-3, maximum=50,
                          doc="stripe length with the knife edge open")
    shots = Int(10, minimum=1, maximum=10000, doc="pulses averaged by the power meter per fluence")
    energy_tolerance = Float(0.05, minimum=0.0, maximum=1.0, doc="relative pulse-energy error corrected once")
    window_start = Float(519.0, unit="nm", minimum=100, maximum=3000, doc="start of the stimulated band")
    window_stop = Float(531.0, unit="nm", minimum=100, maximum=3000, doc="end of the stimulated band")

    columns = (
        Column("fluence_target", "uJ/cm^2", "target fluence"),
        Column("fluence", "uJ/cm^2", "measured fluence"),
        Column("pulse_energy", "uJ", "measured pulse energy at the sample (whole stripe)"),
        Column("length", "mm", "uncovered stripe length"),
        Column("template", "", "1 for the spontaneous template of the fluence"),
        Column("integration_time", "s", "integration time used"),
        Column("intensity_total", "counts/s", "whole spectrum"),
        Column("intensity_stimulated", "counts/s", "stimulated band: window minus the scaled template"),
        Column("stimulated_error", "counts/s", "1σ of the stimulated band from the spectra's scatter"),
        Column("averages", "", "spectra averaged"),
        Column("template_noise", "counts/s", "1σ of the template's window integral (template rows)"),
        Column("peak_wavelength", "nm"),
        Column("fwhm", "nm", "FWHM of the whole spectrum"),
        Column("saturated", "", "1 if the spectrum is clipped"),
    )
    arrays = (ArraySpec("spectrum", "counts/s", ("wavelength",), "dark-corrected edge-emission spectrum"),)
    views = ("vsl-gain", "spectrum")
    #: What a series records from each VSL run: the gain at the highest fluence fitted.
    key_results = (("gain", ("gain", "value"), "1/cm"), ("gain_error", ("gain", "error"), "1/cm"),
                   ("gain_fluence", ("gain", "fluence"), "uJ/cm^2"))

    def check(self):
        if self.length_stop <= self.length_start:
            raise ParameterError("length_stop", self.length_stop,
                                 f"must be above length_start ({self.length_start:g} mm)")
        if self.length_stop > self.stripe_length:
            raise ParameterError("length_stop", self.length_stop,
                                 f"must not exceed the stripe length ({self.stripe_length:g} mm)")
        if self.template_length >= self.length_start:
            raise ParameterError("template_length", self.template_length,
                                 f"must be below length_start ({self.length_start:g} mm)")
        if self.window_stop <= self.window_start:
            raise ParameterError("window_stop", self.window_stop, "must be above window_start")
        if self.max_averages < self.averages:
            raise ParameterError("max_averages", self.max_averages, f"must not be below averages ({self.averages})")

    # -- plan ---------------------------------------------------------------------
    def beam(self) -> Beam:
        return Beam("stripe", self.stripe_width, self.stripe_length)

    def stripe_lengths(self) -> np.ndarray:
        return np.linspace(self.length_start, self.length_stop, self.lengths)

    def plan(self):
        area = self.beam().area
        per_length = 1.0 + self.averages * self.integration_time
        steps = []
        for fluence in sorted(set(self.fluences)):
            steps.append(PlannedStep(
                f"{fluence:.4g} µJ/cm², template at {self.template_length:g} mm",
                (Setpoint("fluence", fluence, "uJ/cm^2"), Setpoint("pulse_energy", fluence * area, "uJ")),
                3.0 + self.template_averages * self.integration_time,
                {"fluence": fluence, "length": self.template_length, "template": True}))
            steps += [PlannedStep(f"{fluence:.4g} µJ/cm², {length:.4g} mm", (), per_length,
                                  {"fluence": fluence, "length": float(length), "template": False})
                      for length in self.stripe_lengths()]
        return steps

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        laser, meter, spectrometer = run.role("PumpLaser"), run.role("PowerMeter"), run.role("Spectrometer")
        self.rep_rate = laser.rep_rate
        meter.set_wavelength(laser.wavelength)
        spectrometer.set_integration_time(self.integration_time)
        run.set_axis("wavelength", spectrometer.wavelengths, "nm")
        self.template, self.energy, self.last_time = None, math.nan, self.integration_time
        run.role("LinearStage").move_to(self.template_length)
        run.role("Attenuator").set_pulse_energy(min(self.fluences) * self.beam().area * 1e-6)
        run.open_beam()

    def on_pause(self, run):
        run.close_beam()

    def on_resume(self, run):
        run.open_beam()

    def _stimulated(self, wl, frames, template):
        """Stimulated band of the mean of ``frames`` and its 1σ from their scatter (the
        template removal is linear, so the band of the mean is the mean of the bands)."""
        window = (self.window_start, self.window_stop)
        each = [spectra.integrate(wl, spectra.stimulated_part(wl, frame, template)[0], window) for frame in frames]
        return float(np.mean(each)), float(np.std(each, ddof=1) / math.sqrt(len(each)))

    def measure(self, run, step):
        fluence, length, is_template = (step.values[k] for k in ("fluence", "length", "template"))
        area = self.beam().area
        wl = run.axes["wavelength"][0]
        if is_template:
            self.energy = acquisition.set_pulse_energy(run, fluence * area * 1e-6, self.rep_rate,
                                                       self.shots, self.energy_tolerance)
        run.role("LinearStage").move_to(length)
        spectrometer = run.role("Spectrometer")
        if is_template:
            exposure = acquisition.spectrum(spectrometer, self.integration_time, self.template_averages,
                                            auto=self.auto_integration)
            self.template = exposure.counts
            stimulated, error = math.nan, math.nan
            noise = self._stimulated(wl, exposure.frames, self.template)[1]
        else:
            def imprecise(frames):
                value, error = self._stimulated(wl, frames, self.template)
                return error > self.precision * abs(value)
            exposure = acquisition.spectrum(spectrometer, self.integration_time, self.averages,
                                            start=3 * self.last_time, auto=self.auto_integration,
                                            more=imprecise, most=self.max_averages)
            stimulated, error = self._stimulated(wl, exposure.frames, self.template)
            noise = math.nan
        self.last_time = exposure.integration_time
        counts = exposure.counts
        return {
            "fluence_target": fluence, "fluence": self.energy * 1e6 / area, "pulse_energy": self.energy * 1e6,
            "length": length, "template": float(is_template), "integration_time": exposure.integration_time,
            "intensity_total": spectra.integrate(wl, counts), "intensity_stimulated": stimulated,
            "stimulated_error": error, "averages": float(len(exposure.frames)), "template_noise": noise,
            "peak_wavelength": spectra.peak(wl, counts)[0], "fwhm": spectra.fwhm(wl, counts),
            "saturated": float(exposure.saturated), "spectrum": counts.astype(np.float32),
        }

    def teardown(self, run):
        run.close_beam()
        run.role("LinearStage").move_to(self.stripe_length)      # the whole stripe for the next run

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        if not len(scalars):
            return {}
        blocks = [_fluence_gain(block, 2 * self.precision)
                  for _, block in scalars.groupby("fluence_target", sort=True)]
        out = {"fluences": blocks, "points": int((scalars["template"] == 0).sum())}
        found = [b for b in blocks if b["found"]]
        if found:
            top = found[-1]
            out["gain"] = {"value": top["gain"], "error": top["error"], "fluence": top["fluence"], "unit": "1/cm"}
        usable = [b for b in found if b["error"] > 0 and math.isfinite(b["error"])]
        if len(usable) >= 3:
            out["trend"] = _zero_gain(usable)
        return out

    @classmethod
    def headline(cls, results: dict) -> str:
        found = [b for b in results.get("fluences", []) if b["found"]]
        return "; ".join(f"g = {b['gain']:.3g} ± {b['error']:.2g} cm⁻¹ at {b['fluence']:.3g} µJ/cm²"
                         for b in found[:3]) + ("; …" if len(found) > 3 else "")

    @classmethod
    def report(cls, results):
        lines = []
        for b in results.get("fluences", []):
            label = f"net gain at {b['fluence']:.4g} µJ/cm²"
            if not b["found"]:
                lines.append((label, f"not found: {b['reason']}"))
                continue
            saturation = (f"saturated from {_number(b['saturation_length']):.3g} mm, "
                          f"{len(b['excluded_lengths'])} length(s) excluded"
                          if b["excluded_lengths"] else "no saturation")
            lines.append((label, f"{b['gain']:.4g} ± {b['error']:.2g} cm⁻¹  (fit ± {b['fit_error']:.2g}, "
                                 f"template ± {_number(b['template_error']):.2g}; {b['points']} lengths, "
                                 f"{saturation})"))
            lines += [("warning", w) for w in b["warnings"]]
            if b["faint_lengths"]:
                lines.append(("warning", f"{len(b['faint_lengths'])} length(s) too faint for the fit: "
                                         + ", ".join(f"{x:.3g}" for x in b["faint_lengths"]) + " mm"))
        t = results.get("trend")
        if t:
            lines.append(("zero net gain", f"{t['zero_gain_fluence']:.3g} µJ/cm² [{t['low']:.3g}, {t['high']:.3g}] "
                                           f"(g = {t['slope']:.3g}·ln(F/F0) cm⁻¹)"))
        return lines

    @classmethod
    def figures(cls, run):
        return {"gain": _gain_figure(run), "spectra": _spectra_figure(run)}


def _fluence_gain(block, faint) -> dict:
    """The gain of one fluence's rows (template row and lengths); lengths whose
    stimulated band has a relative 1σ above ``faint`` -- its own, and the template's noise
    times L/L0, which every length shares -- are left out."""
    template = block[block["template"] > 0]
    data = block[(block["template"] == 0) & np.isfinite(block["intensity_stimulated"])]
    shared = 0.0 if template.empty else \
        data["length"] / template["length"].iloc[-1] * template["template_noise"].iloc[-1]
    dim = (np.hypot(data["stimulated_error"], shared) > faint * data["intensity_stimulated"].abs()).to_numpy()
    entry = {"fluence_target": float(block["fluence_target"].iloc[0]),
             "fluence": float(block["fluence"].iloc[0]), "points": int((~dim).sum()),
             "faint_lengths": [float(x) for x in data["length"][dim]], "found": False}
    data = data[~dim]
    if template.empty:
        return entry | {"reason": "no template"}
    try:
        fit = _block_gain(tuple(data["length"]), tuple(data["intensity_stimulated"]),
                          float(template["length"].iloc[-1]), float(template["template_noise"].iloc[-1]))
    except ValueError as exc:
        return entry | {"reason": str(exc)}
    found = math.isfinite(fit["gain"]) and math.isfinite(fit["error"])
    return entry | dict(fit) | {"found": found, "reason": "" if found else "no gain uncertainty"}


def _zero_gain(blocks) -> dict:
    """g = slope·ln(F/F0): weighted line of the gains against ln F, centred at the
    weighted mean of ln F so that slope and intercept are uncorrelated; F0 is where the
    net gain extrapolates to zero, with its 95 % interval from the 1σ errors."""
    log_f = np.log([b["fluence"] for b in blocks])
    gain, error = np.array([b["gain"] for b in blocks]), np.array([b["error"] for b in blocks])
    centre = float(np.average(log_f, weights=error ** -2.0))
    fit = trend(log_f - centre, gain, error)
    slope, intercept = fit["slope"], fit["intercept"]
    log_zero = centre - intercept / slope
    spread = 1.96 * math.hypot(fit.error("intercept") / slope, intercept * fit.error("slope") / slope ** 2)
    return {"slope": slope, "slope_error": fit.error("slope"), "zero_gain_fluence": math.exp(log_zero),
            "low": math.exp(log_zero - spread), "high": math.exp(log_zero + spread)}


def _gain_figure(run):
    """I(L) of every fluence with its fit (log scale), and g against the fluence."""
    from labctl.plots import _title as title, plt
    s, results = run.scalars, run.results
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.8), dpi=110, gridspec_kw={"width_ratios": [1.5, 1]})
    colours = plt.get_cmap("viridis")
    blocks = [b for b in results.get("fluences", []) if b["found"]]
    highest = 0.0
    for i, b in enumerate(blocks):
        colour = colours(i / max(1, len(blocks) - 1) * 0.85)
        rows = s[(s["fluence_target"] == b["fluence_target"]) & (s["template"] == 0)]
        length = rows["length"].to_numpy()
        value = rows["intensity_stimulated"].to_numpy() + b["seed"] * length / b["template_length"]
        out, faint = np.isin(length, b["excluded_lengths"]), np.isin(length, b["faint_lengths"])
        fitted = ~out & ~faint
        highest = max(highest, float(np.nanmax(value, initial=0.0)))
        left.semilogy(length[fitted], value[fitted], "o", color=colour, ms=5,
                      label=f"{b['fluence']:.3g} µJ/cm²: g = {b['gain']:.3g} ± {b['error']:.2g} cm⁻¹")
        left.semilogy(length[out], value[out], "o", mfc="none", color=colour, ms=5)
        left.semilogy(length[faint], value[faint], "x", color=colour, ms=5)
        end = _number(b["saturation_length"])
        end = end if math.isfinite(end) else length.max()
        for stop, style in ((end, "-"), (length.max(), ":")):
            x = np.linspace(0.02 if style == "-" else end, stop, 200)
            left.semilogy(x, models.vsl(x / MM_PER_CM, b["gain"], b["amplitude"]), style, color=colour, lw=1.5)
    if highest > 0:
        left.set_ylim(top=highest * 5)
    if any(b["excluded_lengths"] for b in blocks):
        left.plot([], [], "o", mfc="none", color="gray", label="gain saturation (excluded)")
    if any(b["faint_lengths"] for b in blocks):
        left.plot([], [], "x", color="gray", label="too faint (left out)")
    left.set_xlabel("stripe length L (mm)")
    left.set_ylabel("stimulated band, template seed restored (counts/s)")
    left.set_title(r"fit $I(L) = (A/g)(e^{gL} - 1)$ on the unsaturated lengths (dotted: extrapolated)", fontsize=9)
    left.legend(fontsize=8, loc="lower right")
    left.grid(True, which="both", alpha=0.25)
    if blocks:
        right.errorbar([b["fluence"] for b in blocks], [b["gain"] for b in blocks],
                       [b["error"] for b in blocks], fmt="o", color="tab:blue", capsize=3, label="net modal gain")
    t = results.get("trend")
    if t:
        f = np.geomspace(t["zero_gain_fluence"], max(b["fluence"] for b in blocks) * 1.1, 100)
        right.plot(f, t["slope"] * np.log(f / t["zero_gain_fluence"]), "-", color="tab:orange",
                   label=f"g = {t['slope']:.3g}·ln(F/{t['zero_gain_fluence']:.3g} µJ/cm²)")
        right.legend(fontsize=8, loc="upper left")
    right.axhline(0, color="gray", lw=0.8)
    right.set_xlabel("pump fluence (µJ/cm²)")
    right.set_ylabel("net modal gain g (cm⁻¹)")
    right.grid(True, alpha=0.25)
    fig.suptitle(title(run, "Variable stripe length"), fontsize=10)
    fig.tight_layout()
    return fig


def _spectra_figure(run):
    """Edge-emission spectra of the highest fluence, normalized, coloured by stripe length."""
    from labctl.plots import _title as title, plt
    s = run.scalars
    recorded = run.arrays["spectrum"]
    wl, unit = recorded.axes["wavelength"]
    rows = np.flatnonzero((s["fluence_target"] == s["fluence_target"].max()).to_numpy())
    length = s["length"].to_numpy()[rows]
    wl, values = emission_window(wl, recorded.values[rows])
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    colours = plt.get_cmap("viridis")
    for y, L in zip(values, length):
        ax.plot(wl, y / max(y.max(), 1e-12), color=colours(L / length.max()), lw=0.9)
    mappable = plt.cm.ScalarMappable(cmap=colours, norm=plt.Normalize(0, length.max()))
    fig.colorbar(mappable, ax=ax, label="stripe length (mm)")
    ax.set_xlabel(f"wavelength ({unit})")
    ax.set_ylabel("normalized intensity")
    ax.set_title(title(run, f"Edge emission at {s['fluence'].to_numpy()[rows][0]:.3g} µJ/cm²"), fontsize=10)
    ax.grid(True, alpha=0.25)
    fig.tight_layout()
    return fig
