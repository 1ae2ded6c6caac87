"""Temperature series: cryostat setpoints with an inner procedure (a fluence sweep) at each.

At every setpoint (in the order given; optionally ramped at ``ramp_rate``) the series
waits until the sample temperature has stayed within ±``tolerance`` of the setpoint for
``stable_time``, then runs the inner procedure as a linked run. While it runs -- and
between points -- a suspender holds the series and its inner run (shutters closed by the
inner procedure's ``on_pause``) whenever the temperature leaves the band, and resumes
them when it is back. The temperature readings of each point (settling and inner run)
are recorded as a trace.

The analysis takes the inner runs' key results: thresholds versus T (and the
characteristic temperature T0 of F_th ∝ e^{T/T0}), thermal quenching of the integrated PL
below threshold I(T) = I0/(1 + a·e^{−E_b/k_BT}), the shift of the spontaneous band's peak
and its broadening.
"""

import dataclasses

import numpy as np

from labctl.analysis import temperature
from labctl.analysis.series import trend
from labctl.errors import LabctlError
from labctl.parameters import Float, FloatList
from labctl.procedure import Setpoint
from labctl.records import ArraySpec, Column
from labctl.series import Series

HC_EV_NM = 1239.84193
ROOM = 295.0              # K, where the plan assumes the cryostat starts
ASSUMED_RATE = 5.0        # K/min, the plan's guess for an unramped setpoint change
TRACE = 256               # temperature readings kept per point (evenly thinned beyond)


class Trace:
    """Temperature readings of one point, thinned to at most ``2·TRACE`` as they come
    and to ``TRACE`` when recorded (bounded memory on runs of any length)."""

    def __init__(self):
        self.times, self.kelvin = [], []

    def add(self, seconds, kelvin):
        self.times.append(seconds)
        self.kelvin.append(kelvin)
        if len(self.times) >= 2 * TRACE:
            self.times, self.kelvin = self.times[::2], self.kelvin[::2]

    def arrays(self):
        """(times, temperatures), NaN-padded to ``TRACE`` values."""
        keep = np.unique(np.linspace(0, len(self.times) - 1, min(TRACE, len(self.times))).astype(int)) \
            if self.times else np.array([], int)
        out = np.full((2, TRACE), np.nan)
        out[0, :keep.size] = np.asarray(self.times)[keep]
        out[1, :keep.size] = np.asarray(self.kelvin)[keep]
        return out


class TemperatureSeries(Series):
    name = "temperature-series"
    title = "Temperature series: an inner procedure at each cryostat setpoint, thermal quenching"
    roles = ("TemperatureController",)

    temperatures = FloatList([80, 140, 200, 260, 320, 350], unit="K", minimum=0, maximum=2000,
                             doc="cryostat setpoints, in the order they are visited")
    ramp_rate = Float(0.0, unit="K/min", minimum=0, maximum=1000,
                      doc="setpoint ramp rate (0: the setpoint jumps)")
    tolerance = Float(0.5, unit="K", minimum=1e-3, maximum=100,
                      doc="stable within ± this of the setpoint; outside it the run pauses itself")
    stable_time = Float(60.0, unit="s", minimum=0, maximum=86400,
                        doc="time the temperature must stay within the tolerance before a point")
    settle_timeout = Float(7200.0, unit="s", minimum=1, maximum=604800,
                           doc="the run fails if a setpoint is not stable, or a hold not over, within this")
    check_interval = Float(5.0, unit="s", minimum=0.1, maximum=600,
                           doc="time between temperature readings while waiting or held")

    outer = Column("temperature", "K", "cryostat setpoint")
    views = ("temperature-trace", "temperature-dependence")
    own_columns = (
        Column("temperature_mean", "K", "mean reading during the inner run"),
        Column("temperature_min", "K", "lowest reading during the inner run"),
        Column("temperature_max", "K", "highest reading during the inner run"),
        Column("settle_time", "s", "time until the temperature was stable"),
        Column("suspensions", "", "times the run held because the temperature left the band"),
    )
    arrays = (ArraySpec("trace_time", "s", ("reading",), "time of each reading since the series started", "f8"),
              ArraySpec("trace_temperature", "K", ("reading",), "sample temperature readings"))

    # -- plan ---------------------------------------------------------------------
    def points(self):
        return self.temperatures

    def outer_setpoints(self, value):
        ramp = (Setpoint("ramp_rate", self.ramp_rate, "K/min"),) if self.ramp_rate > 0 else ()
        return (Setpoint("temperature", value, "K"),) + ramp

    def plan(self):
        """The series' plan, each point's duration raised by its estimated settling: the
        setpoint change at the ramp rate (unramped: ``ASSUMED_RATE``), then ``stable_time``."""
        steps, previous = [], ROOM
        for step in super().plan():
            value = step.values["value"]
            settle = abs(value - previous) / (self.ramp_rate or ASSUMED_RATE) * 60 + self.stable_time
            steps.append(dataclasses.replace(step, duration=step.duration + settle))
            previous = value
        return steps

    def schema(self):
        columns, _ = super().schema()
        return columns + self.own_columns, self.arrays

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        super().setup(run)
        self.controller = run.role("TemperatureController")
        self.controller.set_ramp_rate(self.ramp_rate)
        self.started = run.now()
        self.target = None
        run.set_axis("reading", np.arange(TRACE), "")
        run.suspend_while(lambda: self._out_of_band(run), self.check_interval)

    def _reading(self, run, target) -> float:
        """A temperature reading, added to the trace; outside the band around ``target``
        the controller is asked for faults first (a broken sensor reads 0 K)."""
        kelvin = self.controller.temperature
        if abs(kelvin - target) > self.tolerance:
            self.controller.check_fault()
        self.trace.add(run.now() - self.started, kelvin)
        return kelvin

    def _out_of_band(self, run):
        """The suspender: a reason to hold while the temperature is outside the band
        around the present setpoint (or cannot be read), None otherwise. A controller
        that does not answer at all ends the run: waiting for it would hold forever."""
        if self.target is None:
            return None
        try:
            kelvin = self._reading(run, self.target)
        except LabctlError as exc:
            if getattr(exc, "silent", False):
                raise
            reason = f"no valid temperature reading: {exc}"
        else:
            self.during.append(kelvin)
            reason = None if abs(kelvin - self.target) <= self.tolerance else (
                f"temperature {kelvin:.3f} K outside {self.target:g} ± {self.tolerance:g} K")
        if reason and not self.held:
            self.suspensions += 1
            self.held_since = run.now()
        elif reason and run.now() - self.held_since > self.settle_timeout:
            raise LabctlError(f"held for more than the settle timeout ({self.settle_timeout:g} s) "
                              f"and still: {reason}")
        self.held = reason is not None
        return reason

    def apply(self, run, value):
        """Send the setpoint and wait, reading every ``check_interval``, until the
        temperature has stayed within the tolerance for ``stable_time``."""
        self.target, self.trace = None, Trace()
        self.during, self.held, self.suspensions, self.held_since = [], False, 0, 0.0
        self.controller.set_setpoint(value)
        started = stable_since = None
        while True:
            kelvin, now = self._reading(run, value), run.now()
            started = now if started is None else started
            if abs(kelvin - value) <= self.tolerance:
                stable_since = now if stable_since is None else stable_since
                if now - stable_since >= self.stable_time:
                    break
            else:
                stable_since = None
            if now - started >= self.settle_timeout:
                raise LabctlError(f"temperature did not settle at {value:g} K within "
                                  f"{self.settle_timeout:g} s (±{self.tolerance:g} K for "
                                  f"{self.stable_time:g} s); last reading {kelvin:.3f} K")
            run.sleep(self.check_interval)
        self.settle_time = now - started
        self.target = value

    def measure(self, run, step):
        data = super().measure(run, step)
        during = np.asarray(self.during or [np.nan])
        times, kelvin = self.trace.arrays()
        return data | {"temperature_mean": float(np.mean(during)), "temperature_min": float(np.min(during)),
                       "temperature_max": float(np.max(during)), "settle_time": self.settle_time,
                       "suspensions": float(self.suspensions),
                       "trace_time": times, "trace_temperature": kelvin}

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        out = {"points": int(len(scalars))}
        for part in (self._thresholds, self._linewidths, self._quenching, self._peak):
            try:
                out |= part(scalars)
            except (ValueError, RuntimeError, TypeError, np.linalg.LinAlgError) as exc:
                out.setdefault("warnings", []).append(f"{part.__name__.strip('_')}: {exc}")
        return out

    @staticmethod
    def _finite(scalars, *columns):
        if not all(c in scalars for c in columns):
            return scalars.iloc[0:0]
        return scalars[np.isfinite(scalars[list(columns)]).all(axis=1)]

    def _thresholds(self, scalars):
        """Thresholds against T and T0 of F_th = F0·e^{T/T0} (weighted by their intervals)."""
        found = self._finite(scalars, "threshold", "threshold_low", "threshold_high")
        if not len(found):
            return {}
        out = {"thresholds": {"temperature": found["temperature"].tolist(), "value": found["threshold"].tolist(),
                              "low": found["threshold_low"].tolist(), "high": found["threshold_high"].tolist()}}
        if len(found) >= 3:
            error = np.log(found["threshold_high"] / found["threshold_low"]) / (2 * 1.959964)
            fit = trend(found["temperature"], np.log(found["threshold"]), error)
            t0 = 1 / fit["slope"]
            out["characteristic_temperature"] = {"value": t0, "error": t0 ** 2 * fit.error("slope"), "unit": "K",
                                                 "f0": float(np.exp(fit["intercept"]))}
        return out

    def _linewidths(self, scalars):
        """The lasing-mode linewidth and Q of every point that resolved its modes."""
        modes = self._finite(scalars, "linewidth", "q_factor")
        if not len(modes):
            return {}
        return {"linewidths": {"temperature": modes["temperature"].tolist(), "value": modes["linewidth"].tolist(),
                               "q_factor": modes["q_factor"].tolist()}}

    def _quenching(self, scalars):
        """E_b from the integrated PL below threshold (inner key result ``pl_yield``)."""
        pl = self._finite(scalars, "pl_yield")
        if len(pl) < 4:
            return {}
        fit = temperature.thermal_quenching(pl["temperature"], pl["pl_yield"])
        low, high = fit.interval("e_b")
        return {"quenching": {"e_b_mev": fit["e_b"], "error": fit.error("e_b"), "low": low, "high": high,
                              "a": fit["a"], "i0": fit["i0"], "points": fit.points}}

    def _peak(self, scalars):
        """Shift (meV/K) and broadening (meV/K) of the spontaneous band."""
        band = self._finite(scalars, "spontaneous_peak", "spontaneous_fwhm")
        if len(band) < 3:
            return {}
        shift = temperature.peak_shift(band["temperature"], band["spontaneous_peak"])
        width = HC_EV_NM * 1e3 * band["spontaneous_fwhm"] / band["spontaneous_peak"] ** 2
        broadening = trend(band["temperature"], width)
        return {"peak_shift": {"slope_mev_per_k": shift["slope"], "error": shift.error("slope"),
                               "energy0_ev": shift["energy0"]},
                "broadening": {"slope_mev_per_k": broadening["slope"], "error": broadening.error("slope"),
                               "fwhm_first_mev": broadening["first"], "fwhm_last_mev": broadening["last"]}}

    @classmethod
    def headline(cls, results):
        parts = []
        if "quenching" in results:
            parts.append(f"E_b {results['quenching']['e_b_mev']:.3g} meV")
        if "characteristic_temperature" in results:
            parts.append(f"T0 {results['characteristic_temperature']['value']:.3g} K")
        return ", ".join(parts)

    @classmethod
    def report(cls, results):
        lines = [("setpoints done", str(results.get("points", 0)))]
        thresholds = results.get("thresholds")
        if thresholds:
            lines.append(("thresholds", ", ".join(f"{v:.3g} µJ/cm² at {t:g} K" for t, v in
                                                   zip(thresholds["temperature"], thresholds["value"]))))
        if "linewidths" in results:
            widths = results["linewidths"]
            lines.append(("lasing linewidth", ", ".join(f"{v:.3g} nm at {t:g} K" for t, v in
                                                        zip(widths["temperature"], widths["value"]))))
        if "characteristic_temperature" in results:
            t0 = results["characteristic_temperature"]
            lines.append(("characteristic temperature", f"T0 = {t0['value']:.3g} ± {t0['error']:.2g} K "
                                                       "(F_th ∝ e^(T/T0))"))
        if "quenching" in results:
            q = results["quenching"]
            lines.append(("thermal quenching", f"E_b = {q['e_b_mev']:.3g} meV (95% CI {q['low']:.3g}–"
                                               f"{q['high']:.3g}), a = {q['a']:.3g}"))
        if "peak_shift" in results:
            lines.append(("spontaneous band", f"shift {results['peak_shift']['slope_mev_per_k']:.3g} meV/K, "
                                              f"broadening {results['broadening']['slope_mev_per_k']:.3g} meV/K"))
        lines += [("warning", w) for w in results.get("warnings", [])]
        return lines

    @classmethod
    def figures(cls, run):
        from procedures.temperature_series_figures import dependence_figure, trace_figure
        return {"temperature": dependence_figure(run), "trace": trace_figure(run)}

