"""Photostability: the output under a fixed pump fluence for a long time, against the
number of pump shots the sample has taken.

First a spontaneous-emission template is taken below threshold (``template_fluence``).
Then the pump is set to the fluence (attenuator, power meter, corrected once) and a
spectrum is taken every ``interval`` for ``duration`` of beam-on time; every step
measures the pulse energy, and records the stimulated band (the window minus the
template scaled on the blue side of the band) and the whole spectrum. The shot count is
the laser's repetition rate times the beam-on time, kept by bookkeeping of the waits
(``run.sleep``, on the bench's clock) and the detector's integration; instrument
communication between them is not counted. Only every ``spectrum_every``-th spectrum is
stored (the others are NaN rows, which take as much room in the run file); the scalars of
every step are. The plan makes its steps when the runner asks for them (``Schedule``),
so that a long run does not hold one planned step per spectrum.

Analysis: ln(output) against shots is a straight line for a first-order photodegradation
(``labctl.analysis.series.trend``): the retained fraction at ``report_shots`` and at the
last step (relative to the fitted output at zero shots), and the shots per e-fold decay.
It costs O(steps) numpy work per call (the runner calls it ever less often as a run grows).
"""

import math
from collections.abc import Sequence

import numpy as np

from labctl.analysis import spectra
from labctl.analysis.series import trend
from labctl.beam import Beam
from labctl.errors import ParameterError
from labctl.parameters import Bool, Float, Int
from labctl.procedure import PlannedStep, Procedure, Setpoint
from labctl.records import ArraySpec, Column
from procedures import acquisition
from procedures.plotting import emission_window

OUTPUTS = (("stimulated", "intensity_stimulated"), ("total", "intensity_total"))


def decay(shots, output, report_shots) -> dict | None:
    """First-order decay of ``output`` with ``shots``: the fit of ln(output), the
    retained fractions (fit, with 1σ errors; and measured at the end: median of the last
    5 % of the points over the fitted start) and the shots per e-fold (None without 3
    positive outputs)."""
    shots, output = np.asarray(shots, float), np.asarray(output, float)
    ok = np.isfinite(shots) & np.isfinite(output) & (output > 0)
    if ok.sum() < 3:
        return None
    shots, output = shots[ok], output[ok]
    fit = trend(shots, np.log(output))
    slope, error = fit["slope"], fit.error("slope")
    initial = math.exp(fit["intercept"])
    end = float(shots[-1])
    tail = max(3, shots.size // 20)

    def retained(n):
        value = math.exp(slope * n)
        return value, value * n * error

    at_end, at_end_error = retained(end)
    at_report, at_report_error = retained(report_shots)
    return {"initial": initial, "slope": slope, "slope_error": error,
            "shots_per_efold": -1 / slope if slope < 0 else math.nan,
            "retained_end": at_end, "retained_end_error": at_end_error,
            "retained_end_measured": float(np.median(output[-tail:])) / initial,
            "retained_at": at_report, "retained_at_error": at_report_error,
            "report_shots": report_shots, "extrapolated": bool(report_shots > end)}


class Schedule(Sequence):
    """The plan of a photostability run, its steps made when asked for: a run of 100 000
    spectra does not hold 100 000 planned steps for its whole length."""

    def __init__(self, procedure, spectra: int):
        self.procedure, self.spectra = procedure, spectra

    def __len__(self):
        return self.spectra + 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        k = i + len(self) if i < 0 else i
        if not 0 <= k < len(self):
            raise IndexError(f"step {i} of a plan of {len(self)}")
        return self.procedure.planned_step(k - 1)


class Photostability(Procedure):
    name = "photostability"
    title = "Photostability: output against pump shots at a fixed fluence"
    roles = ("PumpLaser", "Attenuator", "PowerMeter", "Spectrometer")

    fluence = Float(57.0, unit="uJ/cm^2", minimum=1e-3, maximum=1e5, doc="pump fluence")
    duration = Float(5 * 3600.0, unit="s", minimum=1.0, maximum=30 * 86400.0,
                     doc="beam-on time at the fluence (e.g. '5 h')")
    interval = Float(30.0, unit="s", minimum=0.01, maximum=86400.0, doc="time between spectra")
    spectrum_every = Int(1, minimum=1, maximum=1_000_000,
                         doc="store every N-th spectrum (every step keeps its scalars)")
    report_shots = Float(1.6e7, minimum=1.0, maximum=1e15,
                         doc="shot count at which the retained output is reported")
    template_fluence = Float(5.0, unit="uJ/cm^2", minimum=1e-3, maximum=1e5,
                             doc="fluence of the spontaneous template (below threshold)")
    averages = Int(1, minimum=1, maximum=1000, doc="spectra averaged per step")
    integration_time = Float(0.1, unit="s", minimum=1e-3, maximum=60, doc="longest integration time")
    auto_integration = Bool(True, doc="shorten the integration time until not saturated")
    stripe_width = Float(0.1, unit="mm", minimum=1e-3, maximum=20, doc="stripe width")
    stripe_length = Float(3.0, unit="mm", minimum=1e-3, maximum=50, doc="stripe length")
    readings = Int(1, minimum=1, maximum=10000,
                   doc="power-meter readings per step (each one the meter's own average)")
    energy_tolerance = Float(0.05, minimum=0.0, maximum=1.0, doc="relative pulse-energy error corrected once")
    window_start = Float(519.0, unit="nm", minimum=100, maximum=3000, doc="start of the stimulated band")
    window_stop = Float(531.0, unit="nm", minimum=100, maximum=3000, doc="end of the stimulated band")

    columns = (
        Column("template", "", "1 for the spontaneous template (below threshold)"),
        Column("elapsed", "s", "beam-on time at the fluence, middle of the spectrum"),
        Column("shots", "", "pump pulses at the fluence so far (middle of the spectrum)"),
        Column("fluence", "uJ/cm^2", "measured fluence"),
        Column("pulse_energy", "uJ", "measured pulse energy at the sample"),
        Column("integration_time", "s", "integration time used"),
        Column("intensity_total", "counts/s", "whole spectrum"),
        Column("intensity_stimulated", "counts/s", "stimulated band: window minus the scaled template"),
        Column("peak_wavelength", "nm"),
        Column("fwhm", "nm", "FWHM of the whole spectrum"),
        Column("saturated", "", "1 if the spectrum is clipped"),
        Column("stored", "", "1 if the step's spectrum is stored (else a NaN row)"),
    )
    arrays = (ArraySpec("spectrum", "counts/s", ("wavelength",), "dark-corrected spectrum (NaN if not stored)"),)
    views = ("output-decay", "stored-spectrum")
    #: What a series records from each run: the retained stimulated output.
    key_results = (("retained", ("stimulated", "retained_at"), ""),
                   ("retained_error", ("stimulated", "retained_at_error"), ""),
                   ("shots_per_efold", ("stimulated", "shots_per_efold"), ""))

    def check(self):
        if self.averages * self.integration_time >= self.interval:
            raise ParameterError("interval", self.interval,
                                 f"must exceed averages × integration_time "
                                 f"({self.averages * self.integration_time:g} s)")
        if self.interval > self.duration:
            raise ParameterError("interval", self.interval, f"must not exceed the duration ({self.duration:g} s)")
        if self.template_fluence >= self.fluence:
            raise ParameterError("template_fluence", self.template_fluence,
                                 f"must be below the fluence ({self.fluence:g} µJ/cm²)")
        if self.window_stop <= self.window_start:
            raise ParameterError("window_stop", self.window_stop, "must be above window_start")

    # -- plan ---------------------------------------------------------------------
    def beam(self) -> Beam:
        return Beam("stripe", self.stripe_width, self.stripe_length)

    def _setpoints(self, fluence):
        return (Setpoint("fluence", fluence, "uJ/cm^2"), Setpoint("pulse_energy", fluence * self.beam().area, "uJ"))

    def plan(self):
        return Schedule(self, int(self.duration // self.interval) + 1)

    def planned_step(self, index: int) -> PlannedStep:
        """Step ``index``: -1 the template, 0… the spectra at the fluence."""
        acquire = self.averages * self.integration_time
        if index < 0:
            return PlannedStep(f"template at {self.template_fluence:.4g} µJ/cm²",
                               self._setpoints(self.template_fluence), 3.0 + acquire, {"index": -1})
        return PlannedStep(f"t = {index * self.interval / 3600:.4g} h",
                           self._setpoints(self.fluence) if index == 0 else (),
                           3.0 + acquire if index == 0 else self.interval, {"index": index})

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        laser, meter, spectrometer = run.role("PumpLaser"), run.role("PowerMeter"), run.role("Spectrometer")
        self.rep_rate = laser.rep_rate
        meter.set_wavelength(laser.wavelength)
        spectrometer.set_integration_time(self.integration_time)
        run.set_axis("wavelength", spectrometer.wavelengths, "nm")
        self.template, self.elapsed, self.last_time, self.busy = None, 0.0, self.integration_time, 0.0
        self.blank = np.full(len(spectrometer.wavelengths), np.nan, np.float32)
        run.role("Attenuator").set_pulse_energy(self.template_fluence * self.beam().area * 1e-6)
        run.open_beam()

    def on_pause(self, run):
        run.close_beam()

    def on_resume(self, run):
        run.open_beam()

    def _energy(self, run, fluence, index):
        """Pulse energy (J): set at the template and at the first step, measured after."""
        target = fluence * self.beam().area * 1e-6
        if index <= 0:
            return acquisition.set_pulse_energy(run, target, self.rep_rate, self.readings, self.energy_tolerance)
        return run.role("PowerMeter").pulse_energy(self.rep_rate, self.readings)

    def measure(self, run, step):
        index = step.values["index"]
        is_template = index < 0
        fluence = self.template_fluence if is_template else self.fluence
        if index > 0:                                 # the rest of the interval, beam on
            wait = max(0.0, self.interval - self.busy)
            run.sleep(wait)
            self.elapsed += wait
        energy = self._energy(run, fluence, index)
        exposure = acquisition.spectrum(run.role("Spectrometer"), self.integration_time, self.averages,
                                        start=None if index <= 0 else self.last_time, auto=self.auto_integration)
        self.last_time, self.busy = exposure.integration_time, exposure.exposed
        wl, counts = run.axes["wavelength"][0], exposure.counts
        middle = math.nan if is_template else self.elapsed + exposure.exposed / 2
        if is_template:
            self.template = counts
        else:
            self.elapsed += exposure.exposed
        stimulated, _ = spectra.stimulated_part(wl, counts, self.template)
        stored = is_template or index % self.spectrum_every == 0
        return {
            "template": float(is_template), "elapsed": middle, "shots": middle * self.rep_rate,
            "fluence": energy * 1e6 / self.beam().area, "pulse_energy": energy * 1e6,
            "integration_time": exposure.integration_time,
            "intensity_total": spectra.integrate(wl, counts),
            "intensity_stimulated": spectra.integrate(wl, stimulated, (self.window_start, self.window_stop)),
            "peak_wavelength": spectra.peak(wl, counts)[0], "fwhm": spectra.fwhm(wl, counts),
            "saturated": float(exposure.saturated), "stored": float(stored),
            "spectrum": counts.astype(np.float32) if stored else self.blank,
        }

    def teardown(self, run):
        run.close_beam()

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        exposed = scalars["template"].to_numpy() == 0
        if not exposed.any():
            return {}
        shots, elapsed = scalars["shots"].to_numpy()[exposed], scalars["elapsed"].to_numpy()[exposed]
        out = {"points": int(exposed.sum()), "shots": float(shots[-1]), "hours": float(elapsed[-1]) / 3600,
               "fluence": float(np.median(scalars["fluence"].to_numpy()[exposed]))}
        for name, column in OUTPUTS:
            result = decay(shots, scalars[column].to_numpy()[exposed], self.report_shots)
            if result:
                out[name] = result
        return out

    @classmethod
    def headline(cls, results: dict) -> str:
        d = results.get("stimulated")
        if not d:
            return ""
        note = " (extrapolated)" if d["extrapolated"] else ""
        return (f"ASE retained {100 * d['retained_at']:.1f} ± {100 * d['retained_at_error']:.1f} % "
                f"after {d['report_shots']:.3g} shots{note}")

    @classmethod
    def report(cls, results):
        if "stimulated" not in results:
            return []
        lines = [("shots", f"{results['shots']:.4g} in {results['hours']:.3g} h at {results['fluence']:.4g} µJ/cm²")]
        for name, _ in OUTPUTS:
            d = results.get(name)
            if not d:
                continue
            note = ", extrapolated" if d["extrapolated"] else ""
            efold = d["shots_per_efold"]
            efold = f"1/e after {efold:.3g} shots" if efold is not None and math.isfinite(efold) else "no decay"
            lines.append((f"{name} output", f"{100 * d['retained_at']:.2f} ± {100 * d['retained_at_error']:.2f} % "
                                            f"after {d['report_shots']:.3g} shots (fit{note}); at the end "
                                            f"{100 * d['retained_end']:.2f} % (fit), "
                                            f"{100 * d['retained_end_measured']:.2f} % (measured); {efold}"))
        return lines

    @classmethod
    def figures(cls, run):
        return {"decay": _decay_figure(run), "spectra": _spectra_figure(run)}


def _decay_figure(run):
    """Stimulated and total output against shots (beam-on time on top) with the fits."""
    from labctl.plots import _title as title, plt
    s, results = run.scalars, run.results
    data = s[s["template"] == 0]
    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=110)
    shots = data["shots"].to_numpy()
    for (name, column), colour, layer in zip(OUTPUTS, ("tab:blue", "tab:gray"), (3, 2)):   # ASE on top
        d = results.get(name)
        if not d:
            continue
        ax.plot(shots, data[column].to_numpy() / d["initial"], ".", ms=3, color=colour, zorder=layer,
                label=f"{name} (÷ fitted start)")
        x = np.linspace(0, max(shots.max(), d["report_shots"] if d["extrapolated"] else 0), 200)
        ax.plot(x, np.exp(d["slope"] * x), "-", color=colour, lw=1.5, zorder=layer + 2,
                label=f"fit: slope {d['slope']:.3g} per shot")
    d = results.get("stimulated")
    if d:
        ax.axvline(d["report_shots"], color="tab:orange", lw=1)
        ax.plot([d["report_shots"]], [d["retained_at"]], "D", color="tab:orange", zorder=6,
                label=f"ASE {100 * d['retained_at']:.1f} ± {100 * d['retained_at_error']:.1f} % "
                      f"after {d['report_shots']:.3g} shots")
    rate = float(np.median(shots / data["elapsed"].to_numpy())) if len(data) else 1.0
    top = ax.secondary_xaxis("top", functions=(lambda n: n / rate / 3600, lambda h: h * 3600 * rate))
    top.set_xlabel("beam-on time (h)")
    ax.set_xlabel("pump shots")
    ax.set_ylabel("output / fitted output at zero shots")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, alpha=0.25)
    ax.set_title(title(run, f"Photostability at {results.get('fluence', float('nan')):.3g} µJ/cm²"), fontsize=10)
    fig.tight_layout()
    return fig


def _spectra_figure(run):
    """The first and the last stored spectra at the fluence, and the template."""
    from labctl.plots import _title as title, plt
    s, recorded = run.scalars, run.arrays["spectrum"]
    stored = np.flatnonzero((s["stored"] > 0).to_numpy() & (s["template"] == 0).to_numpy())
    templates = np.flatnonzero((s["template"] > 0).to_numpy())
    rows = list(stored[[0, -1]]) if stored.size else []
    rows += list(templates[:1])
    wl, unit = recorded.axes["wavelength"]
    wl, values = emission_window(wl, recorded.values[rows]) if rows else (wl, np.empty((0, wl.size)))
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    styles = [("-", "tab:blue"), ("-", "tab:red")][:2 if stored.size else 0] + [("--", "gray")] * len(templates[:1])
    for row, y, (style, colour) in zip(rows, values, styles):
        label = (f"template at {s['fluence'].iloc[row]:.3g} µJ/cm²" if s["template"].iloc[row] > 0 else
                 f"{s['shots'].iloc[row]:.3g} shots ({s['elapsed'].iloc[row] / 3600:.2f} h)")
        ax.plot(wl, y, style, color=colour, lw=1, label=label)
    ax.set_xlabel(f"wavelength ({unit})")
    ax.set_ylabel("counts/s")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.25)
    ax.set_title(title(run, "First and last spectra"), fontsize=10)
    fig.tight_layout()
    return fig
