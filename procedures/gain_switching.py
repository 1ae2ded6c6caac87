"""Electrical switching of optical gain: the bias on a QD film between two electrodes
switched on and off at a fixed pump fluence between the 0 V and the biased threshold,
spectra acquired continuously with timestamps.

The pump is set once to ``fluence`` (pulse energy F·A, measured and corrected once with
the power meter). A baseline with the bias off comes first, then ``cycles`` times the
bias on for ``on_time`` and off for ``off_time``. Every ``interval`` (from the scheduled
start of the step, on the bench's clock) a spectrum of ``integration_time`` is taken. The
bias of an on-phase is a hold timed by the source-meter itself (``hold_voltage``): it
takes the bias off at the phase's end on its own, so a lost link cannot leave the sample
biased; its voltage and current are read at the end of the hold (0 with the output off).
A phase that starts late (a slow instrument, a pause) is shifted, not shortened: the
schedule's clock (``time``) restarts from there. Each spectrum is
split into the spontaneous band (the mean baseline spectrum, below threshold, scaled on
its blue half) and the stimulated (ASE) remainder, after removing the detector's offset
(a straight line through the outer pixels); the intensities integrate over the emission
band (the baseline band ± 3 FWHM).

Analysis (on the finished phases): the steady ASE and spontaneous levels of every phase
(its second half); the switching contrast (emission in the ASE window, bias on / off),
whether it is real (a change beyond 5 σ of the window's scatter: a device with an
insulating layer does not switch) and the modulation depth of the ASE; the response
time τ (exponential fits of the spontaneous intensity after the switching instants, on
and off: the charging and discharging of the film; the slower one); the ASE switch-on
and switch-off times (90 % of the change, from the mean response over the cycles); and
the reversibility (the levels after the last switch-off against the baseline).
"""

import math

import numpy as np

from labctl.analysis import spectra
from labctl.analysis.fitting import fit_model
from labctl.beam import Beam
from labctl.errors import ParameterError
from labctl.parameters import Choice, Float, Int, Text
from labctl.procedure import PlannedStep, Procedure, Setpoint
from labctl.records import ArraySpec, Column
from procedures import acquisition

STEADY = 0.5             # the last half of a phase counts as its steady state
REVERSIBLE = 0.1         # off levels back within 10 % of the switching swing (and spontaneous PL)
BAND = 3.0               # intensities integrate over the spontaneous band ± BAND × its FWHM
SWITCHED = 5.0           # a change of the ASE window beyond 5 σ of its scatter: the bias switches


def relaxation(x, start, end, tau):
    """start → end exponentially with time constant ``tau`` (x: time since the step)."""
    return end + (start - end) * np.exp(-np.asarray(x, float) / tau)


def crossing(times, values, level, rising):
    """First time the mean response crosses ``level`` (linear interpolation), nan if never."""
    passed = values >= level if rising else values <= level
    hits = np.flatnonzero(passed)
    if not hits.size:
        return math.nan
    i = hits[0]
    if i == 0:
        return float(times[0])
    return float(np.interp(level, *((values[i - 1:i + 1], times[i - 1:i + 1]) if rising else
                                    (values[i - 1:i + 1][::-1], times[i - 1:i + 1][::-1]))))


class GainSwitching(Procedure):
    name = "gain-switching"
    title = "Electrical switching of optical gain: ASE against time with the bias switched on and off"
    roles = ("PumpLaser", "Attenuator", "PowerMeter", "Spectrometer", "SourceMeter")

    fluence = Float(40.0, unit="uJ/cm^2", minimum=1e-3, maximum=1e5,
                    doc="pump fluence, between the biased and the unbiased threshold")
    bias = Float(20.0, unit="V", minimum=-1000, maximum=1000, doc="voltage while the bias is on")
    compliance = Float(1e-5, unit="A", minimum=1e-9, maximum=1.0, doc="current limit of the source-meter")
    cycles = Int(3, minimum=1, maximum=10000, doc="on/off cycles after the baseline")
    on_time = Float(0.5, unit="s", minimum=1e-3, maximum=3600, doc="bias on, per cycle")
    off_time = Float(0.5, unit="s", minimum=1e-3, maximum=3600, doc="bias off, per cycle (and the baseline)")
    interval = Float(0.01, unit="s", minimum=1e-3, maximum=600, doc="time between spectra")
    integration_time = Float(0.005, unit="s", minimum=1e-4, maximum=60, doc="integration time per spectrum")
    geometry = Choice("stripe", ("stripe", "spot"), doc="beam shape at the sample")
    stripe_width = Float(0.1, unit="mm", minimum=1e-3, maximum=20, doc="stripe width")
    stripe_length = Float(3.0, unit="mm", minimum=1e-3, maximum=50, doc="stripe length")
    spot_diameter = Float(0.2, unit="mm", minimum=1e-3, maximum=20, doc="spot diameter")
    shots = Int(10, minimum=1, maximum=10000, doc="pulses averaged by the power meter")
    energy_tolerance = Float(0.05, minimum=0.0, maximum=1.0, doc="relative pulse-energy error corrected once")
    window_start = Float(530.0, unit="nm", minimum=100, maximum=3000, doc="start of the ASE window (contrast)")
    window_stop = Float(540.0, unit="nm", minimum=100, maximum=3000, doc="end of the ASE window (contrast)")
    line = Text("", max_length=20, doc="pump beam line: '' (main) or a slot qualifier such as ns")
    detector = Text("", max_length=20, doc="spectrometer slot qualifier ('' or e.g. hr)")

    columns = (
        Column("time", "s", "start of the acquisition since the first one"),
        Column("since_switch", "s", "start of the acquisition since the last switching"),
        Column("bias", "V", "voltage set (0: bias off)"),
        Column("cycle", "", "0: baseline, then 1, 2, ..."),
        Column("fluence", "uJ/cm^2", "pump fluence measured at the start"),
        Column("voltage", "V", "measured at the end of a phase (0: output off)"),
        Column("current", "A", "measured at the end of a phase (0: output off)"),
        Column("intensity_total", "counts/s", "whole emission band"),
        Column("intensity_ase", "counts/s", "stimulated part (spontaneous band removed)"),
        Column("intensity_spontaneous", "counts/s", "spontaneous band"),
        Column("intensity_window", "counts/s", "whole spectrum inside the ASE window"),
        Column("peak_wavelength", "nm"),
        Column("fwhm", "nm", "FWHM of the whole spectrum"),
        Column("saturated", "", "1 if the spectrum is clipped"),
    )
    arrays = (ArraySpec("spectrum", "counts/s", ("wavelength",), "dark-corrected spectrum"),)
    views = ("switching", "spectrum")

    def check(self):
        if self.window_stop <= self.window_start:
            raise ParameterError("window_stop", self.window_stop, "must be above window_start")
        if self.integration_time > self.interval:
            raise ParameterError("integration_time", self.integration_time,
                                 f"must not exceed the interval between spectra ({self.interval:g} s)")

    # -- plan ---------------------------------------------------------------------
    def beam(self) -> Beam:
        return Beam(self.geometry, self.stripe_width, self.stripe_length, self.spot_diameter)

    def beam_line(self) -> str:
        return self.line

    def slots(self):
        return super().slots() | {"Spectrometer": self.detector}

    def phases(self):
        """(cycle, bias, start s, duration s) of the baseline and of every phase."""
        out, start = [(0, 0.0, 0.0, self.off_time)], self.off_time
        for cycle in range(1, self.cycles + 1):
            out.append((cycle, self.bias, start, self.on_time))
            out.append((cycle, 0.0, start + self.on_time, self.off_time))
            start += self.on_time + self.off_time
        return out

    def plan(self):
        steps = []
        energy = self.fluence * self.beam().area
        for cycle, bias, start, duration in self.phases():
            count = max(1, int(round(duration / self.interval)))
            for k in range(count):
                setpoints = ()
                if k == 0:
                    setpoints = (Setpoint("source_voltage", bias, "V"),
                                 Setpoint("source_current", self.compliance, "A"))
                if not steps:
                    setpoints += (Setpoint("fluence", self.fluence, "uJ/cm^2"),
                                  Setpoint("pulse_energy", energy, "uJ"))
                state = "baseline" if cycle == 0 else f"cycle {cycle}, bias {'on' if bias else 'off'}"
                steps.append(PlannedStep(f"{state}, {start + k * self.interval:.3f} s", setpoints, self.interval,
                                         {"time": start + k * self.interval, "bias": bias, "cycle": cycle,
                                          "switch": k == 0, "last": k == count - 1,
                                          "phase_end": start + duration}))
        return steps

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        laser, meter, spectrometer = run.role("PumpLaser"), run.role("PowerMeter"), run.role("Spectrometer")
        meter.set_wavelength(laser.wavelength)
        spectrometer.set_integration_time(self.integration_time)
        run.set_axis("wavelength", spectrometer.wavelengths, "nm")
        smu = run.role("SourceMeter")
        smu.set_current_compliance(self.compliance)
        smu.set_voltage(0.0)
        run.open_beam()
        energy = acquisition.set_pulse_energy(run, self.fluence * self.beam().area * 1e-6, laser.rep_rate,
                                             self.shots, self.energy_tolerance)
        self.measured_fluence = energy * 1e6 / self.beam().area
        self.baseline, self.start, self.applied = [], None, 0.0

    def hold(self, run, bias, phase_end):
        """Bias on until the end of its phase, timed by the source-meter itself."""
        duration = max(self.start + phase_end - run.now(), self.interval)
        run.role("SourceMeter").hold_voltage(bias, duration)
        self.applied, self.phase_end = bias, phase_end

    def on_pause(self, run):
        run.close_beam()
        run.role("SourceMeter").end_hold()
        self.paused = run.now()

    def on_resume(self, run):
        run.open_beam()
        if self.start is not None:            # the schedule resumes where it paused
            self.start += run.now() - self.paused
        if self.applied:
            self.hold(run, self.applied, self.phase_end)

    def teardown(self, run):
        run.close_beam()
        smu = run.role("SourceMeter")
        smu.end_hold()
        smu.disable_output()

    def measure(self, run, step):
        smu, spectrometer = run.role("SourceMeter"), run.role("Spectrometer")
        values = step.values
        if self.start is None:
            self.start, self.switched = run.now(), run.now()
        wait = self.start + values["time"] - run.now()
        if wait > 0:
            run.sleep(wait)
        elif values["switch"]:                # late (a slow instrument): shift, not shorten, the phase
            self.start -= wait
        if values["switch"]:                  # an earlier hold ended by itself at its phase's end
            self.applied = 0.0
            if values["bias"]:
                self.hold(run, values["bias"], values["phase_end"])
            self.switched = run.now()
        began = run.now()
        raw = spectrometer.acquire()
        saturated = spectrometer.saturated
        wl = run.axes["wavelength"][0]
        counts = spectra.subtract_background(wl, raw)[0] / self.integration_time
        data = {"time": began - self.start, "since_switch": began - self.switched, "bias": values["bias"],
                "cycle": float(values["cycle"]), "fluence": self.measured_fluence, "saturated": float(saturated)}
        if values["last"]:
            data["voltage"], data["current"] = smu.held_reading() if values["bias"] else (0.0, 0.0)
        if values["cycle"] == 0:                     # spontaneous template: the baseline's mean
            self.baseline.append(counts)
            self.template = np.mean(self.baseline, axis=0)
            centre, width = spectra.peak(wl, self.template)[0], spectra.fwhm(wl, self.template)
            self.band = (centre - BAND * width, centre + BAND * width)
        stimulated, scale = spectra.stimulated_part(wl, counts, self.template)
        return data | {
            "intensity_total": spectra.integrate(wl, counts, self.band),
            "intensity_ase": spectra.integrate(wl, stimulated, self.band),
            "intensity_spontaneous": scale * spectra.integrate(wl, self.template, self.band),
            "intensity_window": spectra.integrate(wl, counts, (self.window_start, self.window_stop)),
            "peak_wavelength": spectra.peak(wl, counts)[0], "fwhm": spectra.fwhm(wl, counts),
            "spectrum": counts.astype(np.float32)}

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        if len(scalars) < 2:
            return {}
        col = {name: scalars[name].to_numpy() for name in
               ("since_switch", "bias", "cycle", "current", "intensity_ase", "intensity_spontaneous",
                "intensity_window")}
        phase = (col["cycle"] * 2 + ((col["bias"] == 0) & (col["cycle"] > 0))).astype(int)   # 0, on 2k, off 2k+1
        levels, late = {}, np.zeros(len(phase), bool)
        for k in np.unique(phase):
            rows = phase == k
            late |= rows & (col["since_switch"] >= STEADY * col["since_switch"][rows].max())
            levels[int(k)] = {name: float(col[f"intensity_{name}"][late & rows].mean())
                              for name in ("ase", "spontaneous", "window")}
        out = {"points": int(len(scalars)), "cycles_done": int(col["cycle"].max()), "levels": levels}
        finished = set(np.unique(phase[np.isfinite(col["current"])]).tolist())   # a current read ends a phase
        on = [v for k, v in levels.items() if k in finished and k > 0 and k % 2 == 0]
        off = [v for k, v in levels.items() if k in finished and (k == 0 or k % 2 == 1)]
        if not on or not off:
            return out
        mean = {f"{name}_{state}": float(np.mean([v[name] for v in group]))
                for name in ("ase", "spontaneous", "window") for state, group in (("on", on), ("off", off))}
        out |= mean
        swing = mean["ase_on"] - mean["ase_off"]
        both = mean["ase_on"] + mean["ase_off"]
        out["modulation"] = swing / both if both else math.nan
        out["contrast"] = mean["window_on"] / mean["window_off"] if mean["window_off"] > 0 else math.nan
        out["spontaneous_ratio"] = mean["spontaneous_on"] / mean["spontaneous_off"]
        # Does the bias switch anything? The window's change against its scatter in the steady parts.
        steady_on = col["intensity_window"][late & np.isin(phase, [k for k in finished if k > 0 and k % 2 == 0])]
        steady_off = col["intensity_window"][late & np.isin(phase, [k for k in finished if k == 0 or k % 2 == 1])]
        noise = math.hypot(np.std(steady_on) / math.sqrt(steady_on.size),
                           np.std(steady_off) / math.sqrt(steady_off.size))
        out["switching"] = bool(abs(mean["window_on"] - mean["window_off"]) > SWITCHED * noise)
        if not out["switching"]:
            return out
        over = np.isin(phase, list(finished)) & (col["cycle"] > 0)
        for name, rising, selected in (("on", True, over & (col["bias"] != 0)),
                                       ("off", False, over & (col["bias"] == 0))):
            start, end = ((mean["spontaneous_off"], mean["spontaneous_on"]) if rising else
                          (mean["spontaneous_on"], mean["spontaneous_off"]))
            out |= self._response(name, col["since_switch"][selected], col["intensity_spontaneous"][selected],
                                  col["intensity_ase"][selected], (start, end),
                                  mean["ase_off"] + (0.9 if rising else 0.1) * swing, rising)
        taus = [out[f"spontaneous_tau_{k}"]["value"] for k in ("on", "off") if f"spontaneous_tau_{k}" in out]
        if taus:
            out["response_time"] = max(taus)
        if max(finished) % 2 == 1 and swing > 0:
            baseline, last = levels[0], levels[max(finished)]
            out["ase_return"] = (last["ase"] - baseline["ase"]) / swing
            out["spontaneous_return"] = last["spontaneous"] / baseline["spontaneous"] - 1
            out["reversible"] = bool(abs(out["ase_return"]) < REVERSIBLE and
                                     abs(out["spontaneous_return"]) < REVERSIBLE)
        return out

    def _response(self, name, since, spontaneous, ase, levels, level, rising):
        """Spontaneous response time τ (exponential fit) and the time the mean ASE
        response over the cycles crosses ``level``; memoized on the data (the fits of
        finished phases are reused at every live step)."""
        if since.size < 6:
            return {}
        key = (since.tobytes(), spontaneous.tobytes(), ase.tobytes(), levels, level)
        cache = self.__dict__.setdefault("_responses", {})
        if cache.get(name, (None,))[0] != key:
            out = {}
            try:
                _, fit = fit_model(relaxation, since, spontaneous,
                                   {"start": levels[0], "end": levels[1], "tau": (0.05, 1e-5, 10 * since.max())})
                low, high = fit.interval("tau")
                out[f"spontaneous_tau_{name}"] = {"value": fit["tau"], "low": low, "high": high, "unit": "s"}
            except (ValueError, RuntimeError):
                pass
            grid = np.round(since / self.interval).astype(int)
            bins = np.unique(grid)
            times = np.array([since[grid == b].mean() for b in bins])
            mean = np.array([ase[grid == b].mean() for b in bins])
            out[f"ase_switch_{name}_time"] = crossing(times, mean, level, rising)
            cache[name] = (key, out)
        return cache[name][1]

    @classmethod
    def headline(cls, results):
        if "contrast" not in results:
            return ""
        if not results["switching"]:
            return f"no switching (ASE window on/off {results['contrast']:.3g})"
        parts = [f"ASE window on/off {results['contrast']:.3g}"]
        if "response_time" in results:
            parts.append(f"response τ {results['response_time'] * 1e3:.3g} ms")
        times = [results.get(f"ase_switch_{k}_time", math.nan) for k in ("on", "off")]
        if all(np.isfinite(times)):
            parts.append(f"ASE on/off in {times[0] * 1e3:.3g}/{times[1] * 1e3:.3g} ms")
        if "reversible" in results:
            parts.append("reversible" if results["reversible"] else "NOT reversible")
        return ", ".join(parts)

    @classmethod
    def report(cls, results):
        if "contrast" not in results:
            return []
        lines = [("ASE bias on / off", f"{results['ase_on']:.4g} / {results['ase_off']:.3g} counts/s "
                                      f"(modulation {results['modulation']:.3f})"),
                 ("switching contrast", f"{results['contrast']:.3g} (ASE window, bias on / off)"),
                 ("spontaneous on / off", f"× {results['spontaneous_ratio']:.3f}")]
        if not results["switching"]:
            return lines + [("switching", "none: the bias changes nothing beyond the noise")]
        for name in ("on", "off"):
            tau = results.get(f"spontaneous_tau_{name}")
            if tau:
                interval = f"95% CI {tau['low'] * 1e3:.3g}–{tau['high'] * 1e3:.3g}"
                lines.append((f"spontaneous τ (switch-{name})", f"{tau['value'] * 1e3:.3g} ms ({interval})"))
            t = results.get(f"ase_switch_{name}_time")
            if t is not None:
                lines.append((f"ASE switch-{name} (90 %)", f"{t * 1e3:.3g} ms"))
        if "reversible" in results:
            lines.append(("reversibility", f"{'yes' if results['reversible'] else 'NO'}: ASE back to "
                                           f"{results['ase_return']:+.1%} of the swing, spontaneous "
                                           f"{results['spontaneous_return']:+.1%} of the baseline"))
        return lines

    @classmethod
    def figures(cls, run):
        import matplotlib.pyplot as plt

        from labctl.plots import _title

        s, results = run.scalars, run.results
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), dpi=110, sharex=True,
                                          gridspec_kw={"height_ratios": [3, 1]})
        top.plot(s["time"], s["intensity_ase"], ".-", ms=3, lw=0.8, color="tab:green",
                 label="ASE (stimulated part)")
        top.plot(s["time"], s["intensity_spontaneous"], ".-", ms=3, lw=0.8, color="tab:blue",
                 label="spontaneous band")
        for name, color in (("on", "tab:red"), ("off", "tab:purple")):
            tau = results.get(f"spontaneous_tau_{name}")
            if not tau:
                continue
            rows = s[(s["cycle"] > 0) & ((s["bias"] != 0) if name == "on" else (s["bias"] == 0))]
            for cycle, group in rows.groupby("cycle"):
                start, end = ((results["spontaneous_off"], results["spontaneous_on"]) if name == "on" else
                              (results["spontaneous_on"], results["spontaneous_off"]))
                t0 = group["time"].iloc[0] - group["since_switch"].iloc[0]
                since = np.linspace(0, group["since_switch"].max(), 100)
                top.plot(t0 + since, relaxation(since, start, end, tau["value"]), "-", color=color, lw=1.2,
                         label=f"fit, switch-{name}: τ = {tau['value'] * 1e3:.3g} ms" if cycle == 1 else None)
        top.set_ylabel("intensity (counts/s)")
        top.grid(True, alpha=0.25)
        top.legend(fontsize=8, loc="center left")
        text = cls.headline(results)
        if text:
            top.set_title(text, fontsize=9)
        bottom.step(s["time"], s["bias"], where="post", color="k", lw=1.2, label="bias set")
        bottom.set_ylabel("bias (V)")
        bottom.set_xlabel("time (s)")
        ended = s[np.isfinite(s["current"])]
        if len(ended):
            right = bottom.twinx()
            right.plot(ended["time"], ended["current"] * 1e9, "o", color="tab:purple", ms=4, label="current")
            right.set_ylabel("current (nA)", color="tab:purple")
        bottom.grid(True, alpha=0.25)
        fig.suptitle(_title(run, "Gain switching"), fontsize=10)
        fig.tight_layout()
        return {"switching": fig}
