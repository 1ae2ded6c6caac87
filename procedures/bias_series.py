"""Bias series: an inner procedure (default: a fluence sweep) at each voltage the
source-meter applies to the device, giving the ASE threshold against the bias.

At each voltage the source-meter (current-limited by ``compliance``) holds the bias for
``settle`` (the film charges: charged-exciton gain builds up within the charging response
time, tens of ms) plus the inner procedure's planned time with a margin, timed by the
source-meter itself (``hold_voltage``: a lost link cannot leave the device biased beyond
that); the inner procedure runs, and the voltage and current through the device are read
at the end of the hold, with the pump shut off. An inner run that outlasts its hold
fails the series (its last steps would have been unbiased). The inner run's key results
(threshold and interval, β, ...) are recorded against the bias. The analysis fits a weighted straight line to the
threshold against the bias (errors from the inner runs' 95 % intervals) and says
whether the bias changes the threshold at all (a device with an insulating layer
injects no charge: no effect). Voltages beyond the envelope's ``max_source_voltage`` --
above which a device risks dielectric breakdown -- are refused in the dry run.
"""

import numpy as np

from labctl.analysis.series import trend
from labctl.errors import LabctlError
from labctl.parameters import Float, FloatList, Text
from labctl.procedure import Setpoint
from labctl.records import Column
from labctl.series import Series

Z95 = 1.959964
SIGNIFICANT = 3.0          # slope / its error above which the bias has an effect
HOLD_MARGIN, HOLD_SLACK = 1.1, 2.0    # hold = 1.1 × (settle + the inner run's plan) + 2 s


class BiasSeries(Series):
    name = "bias-series"
    title = "Bias series: ASE threshold versus the voltage on the device"
    roles = ("SourceMeter",)
    outer = Column("bias", "V", "voltage set on the source-meter")

    voltages = FloatList([0, 5, 10, 15, 20], unit="V", minimum=-1000, maximum=1000,
                         doc="bias voltages, in the order applied")
    compliance = Float(1e-5, unit="A", minimum=1e-9, maximum=1.0, doc="current limit of the source-meter")
    settle = Float(0.3, unit="s", minimum=0.0, maximum=3600,
                   doc="wait at each voltage before the inner run (charging)")
    inner_settings = Text("fluence_start=8, fluence_stop=250, points=24", max_length=2000,
                          doc="parameters of the inner procedure: NAME=VALUE, NAME=VALUE")
    views = ("threshold-vs-bias", "bias-current")

    def points(self):
        return list(self.voltages)

    def outer_setpoints(self, value):
        return (Setpoint("source_voltage", value, "V"), Setpoint("source_current", self.compliance, "A"))

    def schema(self):
        columns, arrays = super().schema()
        return columns + (Column("voltage", "V", "measured voltage on the device"),
                          Column("current", "A", "measured current through the device"),
                          Column("in_compliance", "", "1 if the current limit held the source back")), arrays

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        super().setup(run)
        smu = run.role("SourceMeter")
        smu.set_current_compliance(self.compliance)
        smu.set_voltage(0.0)

    def apply(self, run, value):
        run.role("SourceMeter").hold_voltage(value, self.hold)
        run.sleep(self.settle)

    def measure(self, run, step):
        self.hold = HOLD_MARGIN * step.duration + HOLD_SLACK
        began = run.now()
        data = super().measure(run, step)
        if run.now() > began + self.hold:
            raise LabctlError(f"the inner run at {step.values['value']:g} V outlasted its bias hold of "
                              f"{self.hold:.3g} s: its last steps were unbiased")
        smu = run.role("SourceMeter")
        volts, amps = smu.held_reading()
        run.event("bias", f"{step.values['value']:g} V held: {volts:.4g} V, {amps:.3g} A at its end")
        return data | {"voltage": volts, "current": amps, "in_compliance": float(smu.in_compliance)}

    def teardown(self, run):
        smu = run.role("SourceMeter")
        smu.end_hold()
        smu.disable_output()

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        if "threshold" not in scalars or not len(scalars):
            return {}
        found = scalars[np.isfinite(scalars["threshold"])].sort_values("bias", kind="stable")
        out = {"points": int(len(scalars)), "found": int(len(found)),
               "unit": "uJ/cm^2", "max_current": float(np.nanmax(np.abs(scalars["current"])))}
        missing = scalars[~np.isfinite(scalars["threshold"])]["bias"]
        if len(missing):
            out["no_threshold_at"] = [float(v) for v in missing]
        if not len(found):
            return out
        out["first"] = {"bias": float(found["bias"].iloc[0]), "threshold": float(found["threshold"].iloc[0])}
        out["last"] = {"bias": float(found["bias"].iloc[-1]), "threshold": float(found["threshold"].iloc[-1])}
        error = found["threshold"] * np.log(found["threshold_high"] / found["threshold_low"]) / (2 * Z95)
        if len(found) < 3 or found["bias"].nunique() < 2:
            return out
        line = trend(found["bias"], found["threshold"], error)
        slope, slope_error = line["slope"], line.error("slope")
        out["trend"] = {"slope": slope, "slope_error": slope_error, "intercept": line["intercept"],
                        "first": line["first"], "last": line["last"], "change": line["change"],
                        "change_error": line.error("change"), "chi2_per_dof": line.chi2 / max(line.dof, 1)}
        out["bias_effect"] = bool(abs(slope) > SIGNIFICANT * slope_error)
        return out

    @classmethod
    def headline(cls, results):
        if "first" not in results:
            return "no threshold found" if results else ""
        first, last = results["first"], results["last"]
        text = (f"threshold {first['threshold']:.3g} → {last['threshold']:.3g} µJ/cm² "
                f"({first['bias']:g} → {last['bias']:g} V)")
        if "bias_effect" in results and not results["bias_effect"]:
            text += ", no bias effect"
        return text

    @classmethod
    def report(cls, results):
        if not results:
            return []
        lines = [("thresholds found", f"{results['found']} of {results['points']} voltages")]
        if "first" in results:
            lines.append(("threshold vs bias", cls.headline(results)))
        t = results.get("trend")
        if t:
            lines.append(("linear trend", f"{t['slope']:+.3g} ± {t['slope_error']:.2g} µJ/cm² per V; "
                                          f"fitted {t['first']:.3g} → {t['last']:.3g} µJ/cm² "
                                          f"(× {t['change']:.3g} ± {t['change_error']:.2g})"))
            lines.append(("bias effect", "yes" if results["bias_effect"] else
                          f"none (slope within {SIGNIFICANT:g} σ of zero)"))
        if results.get("no_threshold_at"):
            lines.append(("no threshold at", ", ".join(f"{v:g} V" for v in results["no_threshold_at"])))
        lines.append(("largest current", f"{results['max_current']:.3g} A"))
        return lines

    @classmethod
    def figures(cls, run):
        import matplotlib.pyplot as plt

        from labctl.plots import _title

        s = run.scalars.sort_values("bias", kind="stable")
        results = run.results
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
        ok = np.isfinite(s["threshold"])
        errors = [s["threshold"][ok] - s["threshold_low"][ok], s["threshold_high"][ok] - s["threshold"][ok]]
        left.errorbar(s["bias"][ok], s["threshold"][ok], yerr=errors, fmt="o", capsize=4, color="tab:blue",
                      label="ASE threshold (95 % interval)")
        t = results.get("trend")
        if t:
            bias = np.linspace(s["bias"].min(), s["bias"].max(), 50)
            left.plot(bias, t["intercept"] + t["slope"] * bias, "-", color="tab:orange", lw=2,
                      label=f"linear trend {t['slope']:+.3g} ± {t['slope_error']:.2g} µJ/cm² per V")
        for bias in results.get("no_threshold_at", []):
            left.axvline(bias, color="tab:red", ls=":", lw=1)
        left.set_xlabel("bias (V)")
        left.set_ylabel("ASE threshold (µJ/cm²)")
        left.set_ylim(0, None)
        left.grid(True, alpha=0.25)
        left.legend(fontsize=8)
        left.set_title("threshold versus bias", fontsize=10)
        right.plot(s["voltage"], s["current"] * 1e9, "s-", color="tab:purple", ms=5, lw=1)
        held = s["in_compliance"] == 1
        if held.any():
            right.plot(s["voltage"][held], s["current"][held] * 1e9, "x", color="tab:red", ms=9,
                       label="at the compliance limit")
            right.legend(fontsize=8)
        right.set_xlabel("measured voltage (V)")
        right.set_ylabel("current through the device (nA)")
        right.grid(True, alpha=0.25)
        right.set_title("bias and current", fontsize=10)
        fig.suptitle(_title(run, "Bias series"), fontsize=10)
        fig.tight_layout()
        return {"threshold": fig}
