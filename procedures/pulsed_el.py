"""Pulsed electroluminescence of a QD LED: J–V, EL versus current density, the EL ASE
threshold, linewidth narrowing and Joule heating.

Drives (``drive``):

* ``pulses`` -- the pulse generator applies square voltage pulses through a sense
  resistor R in series with the device; the oscilloscope reads the voltage across R
  (channel 1, current I = V/R) and the drive (channel 2, triggering on its rising edge);
  the voltage across the device is the drive minus R·I. The spectrometer integrates the
  EL of many pulses. First a *width scan* at one amplitude (pulse widths around the
  device's thermal time), then the *amplitude sweep*, which stops before the current
  density is predicted to pass the envelope's ``max_current_density``. The device is
  driven only in bursts (see *fail-silent drive* below).
* ``pulsed-smu`` -- the pulsed source-meter gives one voltage pulse per amplitude and
  measures V and I during it (J–V only: a source-meter pulse is not synchronised with the
  spectrometer, and its shortest pulses, ~100 µs, are long against the thermal time).
* ``dc`` -- the source-meter holds each voltage for ``dwell`` and an EL spectrum, a hold
  it times itself (``hold_voltage``: ``dwell`` + 1.5 × ``integration_time`` + 1 s, what
  the spectrum's adaptive integration can take; longer once a spectrum outlasted it,
  which is then taken again), and V and I are read at its end. A
  device that overheats fails: its current collapses and its EL vanishes; the analysis
  reports the failure and the run ends.

Every spectrum is decomposed into a broad spontaneous and a narrower, redder stimulated
band (two Gaussians; each fit starts from the fit at the nearest current density). The
stimulated output is taken relative to the spontaneous band, J·S/P: the spontaneous EL
counts the injected carriers that recombine radiatively (collection, EQE roll-off and
thermal quenching), so that the ratio is the stimulated output per injected carrier, on
the rate-equation S-curve in J whose onset the threshold analyzer finds. The junction
heating is read from the red shift of the spontaneous band (``shift_coefficient``, from
temperature-dependent PL): in the width scan the mean rise over a pulse follows
ΔT∞·[1 − (τ_T/τp)(1 − e^(−τp/τ_T))], which gives the thermal time τ_T and ΔT∞.

Fail-silent drive (``pulses``): the generator is put in triggered burst mode before its
output is switched on, so that it emits no pulse without a software trigger. Each
acquisition that needs the drive -- an oscilloscope record, a spectrum -- triggers a burst
just long enough to cover it (its duration, the trigger latency and the overhead measured
on the previous acquisitions of its kind), and the procedure waits for the burst to end
before it goes on. Should the link to the generator be lost, the drive stops by itself
within one acquisition; between acquisitions nothing drives the device. Likewise in
``dc``, a lost link to the source-meter ends the drive at the end of the step's hold.
"""

import math

import numpy as np

from labctl.analysis import spectra
from labctl.analysis.fitting import fit_model
from labctl.analysis.series import trend
from labctl.analysis.threshold import find_threshold
from labctl.errors import LabctlError, ParameterError, SafetyError
from labctl.parameters import Choice, Float, FloatList, Int, Text
from labctl.procedure import EndRun, PlannedStep, Procedure, Setpoint
from labctl.records import ArraySpec, Column

HC_EV_NM = 1239.84193
PULSE_TIME = np.linspace(-0.2, 1.4, 161)       # time / pulse width of the recorded pulses
PLATEAU = (0.2, 0.9)                           # part of a pulse averaged, / pulse width
MIN_VOLTS_PER_DIV, MAX_VOLTS_PER_DIV = 5e-4, 10.0
MIN_SECONDS_PER_DIV = 5e-9
DETECTED = 10.0                                # EL peak / noise for a usable spectrum
CONDUCTING = 1.0                               # A/cm²: a device carrying less is not on
TRIGGER_LATENCY = 0.05                         # s, software trigger to the start of an acquisition
ROLES = {"pulses": ("PulseGenerator", "Oscilloscope", "Spectrometer"),
         "pulsed-smu": ("PulsedSourceMeter",),
         "dc": ("SourceMeter", "Spectrometer")}


def mev(fwhm_nm, center_nm):
    """A spectral width in nm at ``center_nm`` expressed in meV."""
    return 1e3 * HC_EV_NM * fwhm_nm / center_nm ** 2


def pulse_heating(x, e0, shift, tau):
    """Mean temperature-driven shift over a square pulse of width ``x``: e0 + shift·g,
    g = 1 − (τ/x)(1 − e^(−x/τ)) the mean of 1 − e^(−t/τ) over the pulse."""
    ratio = np.asarray(x, float) / tau
    return e0 + shift * (1 + np.expm1(-ratio) / ratio)


def fit_pulse_heating(width_us, energy_mev):
    """Fit the spontaneous-band energy against the pulse width (µs): ``e0`` (meV, no
    heating), ``shift`` (meV at thermal equilibrium, ΔT∞ times dE/dT) and ``tau`` (µs,
    the thermal time). Returns a ``Fit``."""
    x, y = np.asarray(width_us, float), np.asarray(energy_mev, float)
    slope = (y[-1] - y[0]) / (x[-1] - x[0])
    guess_tau = float(np.clip(np.median(x), x[0], x[-1]))
    _, fit = fit_model(pulse_heating, x, y, {"e0": float(y[0]), "shift": float(slope * x[-1] * 2),
                                              "tau": (guess_tau, x[0] / 20, x[-1] * 20)})
    return fit


class PulsedEL(Procedure):
    name = "pulsed-el"
    title = "Pulsed electroluminescence: J–V, EL vs J, EL ASE threshold, heating"
    roles = ROLES["pulses"]

    drive = Choice("pulses", tuple(ROLES), doc="pulse generator + oscilloscope, pulsed source-meter "
                                               "(J–V only), or d.c. source-meter")
    amplitude_start = Float(1.5, unit="V", minimum=0.0, maximum=200, doc="first pulse amplitude / d.c. voltage")
    amplitude_stop = Float(6.0, unit="V", minimum=0.0, maximum=200, doc="last pulse amplitude / d.c. voltage")
    points = Int(25, minimum=2, maximum=500, doc="amplitudes of the sweep (linear spacing)")
    width = Float(1.0, unit="us", minimum=0.01, maximum=1e6, doc="pulse width of the sweep")
    period = Float(1.0, unit="ms", minimum=1e-3, maximum=1e4, doc="pulse period (1 ms: 1 kHz)")
    heating_widths = FloatList([1, 2, 5, 10, 20, 30], unit="us", minimum=0.01, maximum=1e6,
                               min_length=0, doc="widths of the width scan (none: no scan)")
    heating_amplitude = Float(2.5, unit="V", minimum=0.0, maximum=200, doc="pulse amplitude of the width scan")
    area = Float(0.01, unit="mm^2", minimum=1e-6, maximum=1e4, doc="device area (electrode overlap)")
    sense_resistance = Float(10.0, unit="ohm", minimum=1e-3, maximum=1e6,
                             doc="current-sense resistor in series with the device (oscilloscope channel 1)")
    compliance = Float(0.1, unit="A", minimum=1e-9, maximum=10, doc="current limit of the source-meter modes")
    dwell = Float(1.0, unit="s", minimum=0.0, maximum=3600, doc="d.c.: time at each voltage before measuring")
    integration_time = Float(1.0, unit="s", minimum=1e-3, maximum=60, doc="longest spectrometer integration")
    shift_coefficient = Float(-0.3, unit="meV/K", minimum=-10, maximum=10,
                              doc="temperature coefficient of the EL peak energy (heating estimate)")
    collapse = Float(0.3, minimum=0.01, maximum=0.9,
                     doc="a current or EL below this fraction of its maximum at a higher drive marks a failed device")
    detector = Text("", max_length=20, doc="spectrometer slot qualifier ('' or e.g. hr)")
    slit_width = Float(0.0, unit="um", minimum=0.0, maximum=3000,
                       doc="spectrograph entrance slit (0: leave it): narrower for bright (d.c.) EL")

    columns = (
        Column("scan", "", "0: amplitude sweep, 1: width scan"),
        Column("amplitude", "V", "pulse amplitude or d.c. voltage applied"),
        Column("width", "us", "pulse width (inf: d.c.)"),
        Column("duty_cycle", "", "pulse width / period (NaN: d.c., which no pulsed limit applies to)"),
        Column("current", "A", "device current (during the pulse)"),
        Column("current_density", "A/cm^2", "current / device area"),
        Column("voltage", "V", "voltage across the device"),
        Column("in_compliance", "", "1 if the source-meter held the current at its limit"),
        Column("integration_time", "s", "spectrometer integration time used"),
        Column("el_intensity", "counts/s", "integrated EL spectrum"),
        Column("el_spontaneous", "counts/s", "area of the spontaneous band"),
        Column("el_stimulated", "counts/s", "area of the stimulated band"),
        Column("stimulated_ratio", "", "stimulated / spontaneous band area"),
        Column("el_per_charge", "counts/nC", "EL per injected charge (relative EQE)"),
        Column("peak_wavelength", "nm", "EL peak"),
        Column("fwhm", "meV", "FWHM of the whole EL spectrum"),
        Column("spontaneous_center", "nm"),
        Column("spontaneous_fwhm", "meV"),
        Column("stimulated_center", "nm"),
        Column("stimulated_fwhm", "meV"),
        Column("saturated", "", "1 if the spectrum is clipped"),
    )
    views = ("el-jv", "el-vs-j", "spectrum")
    key_results = (("threshold", ("threshold", "value"), "A/cm^2"),
                   ("threshold_low", ("threshold", "low"), "A/cm^2"),
                   ("threshold_high", ("threshold", "high"), "A/cm^2"),
                   ("max_current_density", ("max_current_density",), "A/cm^2"),
                   ("thermal_time", ("heating", "tau_us"), "us"))

    def check(self):
        if self.amplitude_stop <= self.amplitude_start:
            raise ParameterError("amplitude_stop", self.amplitude_stop,
                                 f"must be above amplitude_start ({self.amplitude_start:g} V)")
        for width in [self.width] + list(self.heating_widths):
            if self.drive != "dc" and width * 1e-3 >= self.period:
                raise ParameterError("width", width, f"a {width:g} µs pulse does not fit the period "
                                                     f"({self.period:g} ms)")
        if 0 < len(self.heating_widths) < 4:
            raise ParameterError("heating_widths", self.heating_widths,
                                 "needs at least 4 widths (or none) to fit the thermal time")

    # -- plan ---------------------------------------------------------------------
    def slots(self):
        return {role: self.detector if role == "Spectrometer" else "" for role in ROLES[self.drive]}

    def schema(self):
        arrays = []
        if self.drive != "pulsed-smu":
            arrays.append(ArraySpec("spectrum", "counts/s", ("wavelength",), "EL spectrum"))
        if self.drive == "pulses":
            arrays.append(ArraySpec("current_pulse", "A", ("pulse_time",), "current through the device"))
        return tuple(self.columns), tuple(arrays)

    @property
    def scanning(self) -> bool:
        """Whether the run has a width scan (pulsed drive with EL only)."""
        return self.drive == "pulses" and len(self.heating_widths) > 0

    def _step(self, scan, amplitude, width_us):
        area_cm2 = self.area * 1e-2
        if self.drive == "pulses":
            setpoints = (Setpoint("pulse_amplitude", amplitude, "V"),
                         Setpoint("duty_cycle", width_us * 1e-3 / self.period, ""))
            duration = 1.0 + self.integration_time
        else:
            setpoints = (Setpoint("source_voltage", amplitude, "V"),
                         Setpoint("source_current", self.compliance, "A"),
                         Setpoint("current_density", self.compliance / area_cm2, "A/cm^2"))
            if self.drive == "pulsed-smu":
                setpoints += (Setpoint("duty_cycle", width_us * 1e-3 / self.period, ""),)
                duration = 0.5 + self.period * 1e-3
            else:
                duration = self.dc_hold
        label = (f"width scan, {width_us:g} µs at {amplitude:g} V" if scan else
                 f"{amplitude:.4g} V" + ("" if self.drive == "dc" else f", {width_us:g} µs"))
        return PlannedStep(label, setpoints, duration, {"scan": scan, "amplitude": amplitude,
                                                        "width": width_us})

    def plan(self):
        steps = []
        if self.scanning:
            steps += [self._step(1, self.heating_amplitude, w) for w in sorted(self.heating_widths)]
        amplitudes = np.linspace(self.amplitude_start, self.amplitude_stop, self.points)
        return steps + [self._step(0, float(a), self.width) for a in amplitudes]

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        self.fits = []                 # (current density, two-band fit values): starting points
        if self.drive != "pulsed-smu":
            spectrometer = run.role("Spectrometer")
            if self.slit_width > 0:
                run.role("Spectrograph", self.detector).set_slit_width(self.slit_width)
            self.t_int = self.integration_time
            run.set_axis("wavelength", spectrometer.wavelengths, "nm")
        if self.drive == "pulses":
            self.volts_per_div = 0.1
            self.overhead = {}         # kind of acquisition -> s it took beyond its duration
            self.burst = 1
            run.role("PulseGenerator").set_burst(self.burst)     # no pulse without a trigger
            run.set_axis("pulse_time", PULSE_TIME, "")
        elif self.drive == "dc":
            smu = run.role("SourceMeter")
            smu.set_current_compliance(self.compliance)
            smu.set_voltage(0.0)
            self.hold = self.dc_hold

    def _output(self, run, on):
        if self.drive == "pulses":
            generator = run.role("PulseGenerator")
            generator.enable_output() if on else generator.disable_output()
        elif self.drive == "dc" and not on:         # on: each step holds its voltage
            smu = run.role("SourceMeter")
            smu.end_hold()
            smu.disable_output()

    def on_pause(self, run):
        self._output(run, False)

    def on_resume(self, run):
        self._output(run, True)

    def teardown(self, run):
        self._output(run, False)
        if self.drive == "dc":
            run.role("SourceMeter").set_voltage(0.0)

    def _guard(self, run, step):
        """End the run on a failed device, or before an amplitude whose current density,
        extrapolated along the J–V measured so far, would pass the envelope."""
        failure = run.results.get("failure") or {}
        if failure.get("found"):
            raise EndRun(failure["message"])
        table = run.table
        sweep = [(a, j) for s, a, j in zip(table.get("scan", []), table.get("amplitude", []),
                                           table.get("current_density", [])) if s == 0 and np.isfinite(j)]
        if step.values["scan"] or len(sweep) < 2:
            return
        (a1, j1), (a2, j2) = sweep[-2:]
        if a2 <= a1 or step.values["amplitude"] <= a2:
            return
        predicted = j2 + (j2 - j1) / (a2 - a1) * (step.values["amplitude"] - a2)
        try:
            run.bench.check_setpoint("current_density", predicted, "A/cm^2")
        except SafetyError as exc:
            raise EndRun(f"{step.values['amplitude']:.4g} V would drive about {predicted:.4g} A/cm² "
                         f"(extrapolated J–V): {exc}") from None

    def measure(self, run, step):
        self._guard(run, step)
        amplitude, width_us = step.values["amplitude"], step.values["width"]
        data = {"scan": float(step.values["scan"]), "amplitude": amplitude}
        if self.drive == "pulses":
            data |= self._pulse(run, amplitude, width_us)
        elif self.drive == "pulsed-smu":
            volts, amps = run.role("PulsedSourceMeter").pulsed_sweep(
                [amplitude], width_us * 1e-6, self.period * 1e-3, self.compliance)
            data |= {"width": width_us, "duty_cycle": width_us * 1e-3 / self.period,
                     "voltage": float(volts[0]), "current": float(amps[0]),
                     "in_compliance": float(abs(amps[0]) >= 0.99 * self.compliance)}
        else:
            reading, spectrum = self._held(run, amplitude)
            data |= reading
        data["current_density"] = data["current"] / (self.area * 1e-2)
        try:
            run.bench.check_setpoint("current_density", data["current_density"], "A/cm^2")
        except SafetyError as exc:         # off at once; the runner then fails the run
            self._output(run, False)
            run.event("safety", f"output switched off: {exc}")
        if self.drive == "pulses":
            spectrum = self._spectrum(run)
        if self.drive != "pulsed-smu":
            data |= self._electroluminescence(run, data, spectrum)
        return data

    @property
    def dc_hold(self) -> float:
        """s a d.c. step holds its voltage: the dwell and an adaptive spectrum."""
        return self.dwell + 1.5 * self.integration_time + 1.0

    def _held(self, run, amplitude):
        """d.c.: ``amplitude`` held by the source-meter's own timer for ``dwell`` and an EL
        spectrum, V and I read at the hold's end. A spectrum that outlasts its hold (a
        dark frame first, a slow readout) is taken again under a hold as long as it took."""
        smu = run.role("SourceMeter")
        for _ in range(2):
            smu.hold_voltage(amplitude, self.hold)
            began = run.now()
            run.sleep(self.dwell)
            spectrum = self._spectrum(run)
            took = run.now() - began
            if took <= self.hold:
                volts, amps = smu.held_reading()
                return {"width": math.inf, "duty_cycle": math.nan, "voltage": volts, "current": amps,
                        "in_compliance": float(smu.in_compliance)}, spectrum
            smu.end_hold()
            self.hold = took + 1.0
        raise LabctlError(f"the spectrum at {amplitude:.4g} V outlasted the source-meter's hold "
                          f"of {self.hold:.3g} s twice")

    # -- pulsed drive ---------------------------------------------------------------
    def _pulse(self, run, amplitude, width_us):
        """Apply the pulses, then read the current plateau (autoscaling channel 1) and
        the drive; returns the scalars and the current pulse on ``PULSE_TIME``."""
        generator, scope = run.role("PulseGenerator"), run.role("Oscilloscope")
        width, period = width_us * 1e-6, self.period * 1e-3
        generator.set_pulse(amplitude, width, period)
        generator.enable_output()
        per_div = max(width / 4, MIN_SECONDS_PER_DIV)
        drive_div = min(max(amplitude / 5, MIN_VOLTS_PER_DIV), MAX_VOLTS_PER_DIV)
        record = 10 * per_div + period         # the span, after waiting for a rising edge
        for _ in range(10):
            scope.configure(1, self.volts_per_div, per_div)
            scope.configure(2, drive_div, per_div, amplitude / 2)      # trigger on the drive
            t, sense = self._driven(run, "waveform", record, lambda: scope.waveform(1))
            plateau = float(np.nanmean(sense[(t > PLATEAU[0] * width) & (t < PLATEAU[1] * width)]))
            if plateau > 3.5 * self.volts_per_div and self.volts_per_div < MAX_VOLTS_PER_DIV:
                self.volts_per_div = min(self.volts_per_div * 3, MAX_VOLTS_PER_DIV)
            elif plateau < self.volts_per_div and self.volts_per_div > MIN_VOLTS_PER_DIV:
                self.volts_per_div = max(plateau / 3, MIN_VOLTS_PER_DIV)
            else:
                break
        t2, drive = self._driven(run, "waveform", record, lambda: scope.waveform(2))
        applied = float(np.nanmean(drive[(t2 > PLATEAU[0] * width) & (t2 < PLATEAU[1] * width)]))
        current = plateau / self.sense_resistance
        pulse = np.interp(PULSE_TIME * width, t, sense / self.sense_resistance, left=np.nan, right=np.nan)
        return {"width": width_us, "duty_cycle": width / period, "current": current,
                "voltage": applied - plateau, "current_pulse": pulse.astype(np.float32)}

    def _driven(self, run, kind, seconds, acquire):
        """``acquire()`` (an acquisition of ``kind`` lasting ``seconds``) under a burst of
        pulses that covers it; returns once the burst is over, also when something failed
        (the burst ends by itself at most ``count`` periods after the trigger). An
        acquisition that outlasts its burst (a detector's dark frame first, a slow readout)
        was not driven throughout: it is taken again under a burst as long as it took."""
        generator = run.role("PulseGenerator")
        period = self.period * 1e-3
        needed = seconds + self.overhead.get(kind, 0.0)
        for _ in range(2):
            count = math.ceil((needed + TRIGGER_LATENCY) / period) + 1
            if count != self.burst:
                generator.set_burst(count)
                self.burst = count
            sent, ends = run.now(), math.inf
            try:
                generator.trigger()
                ends = run.now() + count * period
                result = acquire()
                took = run.now() - sent
            finally:
                run.sleep(min(ends - run.now(), count * period))
            if took <= count * period:
                self.overhead[kind] = max(took - seconds, 0.0)
                return result
            needed = took
        raise LabctlError(f"{kind} took {took:.3g} s, longer than its burst of {count} pulses "
                          f"({count * period:.3g} s), twice")

    # -- spectra --------------------------------------------------------------------
    def _spectrum(self, run):
        """Spectrum in counts/s: the integration time follows the signal (shorter while
        saturated, longer while weak, never above ``integration_time``)."""
        spectrometer = run.role("Spectrometer")
        shortest = spectrometer.integration_limits[0]
        while True:
            spectrometer.set_integration_time(self.t_int)
            counts = self._driven(run, "spectrum", self.t_int, spectrometer.acquire) \
                if self.drive == "pulses" else spectrometer.acquire()
            saturated = spectrometer.saturated
            if saturated and self.t_int > shortest:
                self.t_int = max(shortest, self.t_int / 3)
            elif counts.max() < 0.1 * spectrometer.max_counts and self.t_int < self.integration_time:
                self.t_int = min(self.integration_time, self.t_int * 3)
            else:
                return counts / self.t_int, self.t_int, saturated

    def _electroluminescence(self, run, data, spectrum):
        counts, t, saturated = spectrum
        wl = run.axes["wavelength"][0]
        out = {"spectrum": counts.astype(np.float32), "integration_time": t, "saturated": float(saturated)}
        edges = np.r_[counts[:len(counts) // 10], counts[-len(counts) // 10:]]
        noise = max(float(np.std(edges)), 1e-12)
        peak_wl, height = spectra.peak(wl, counts)
        if height < DETECTED * noise:
            return out | {"el_intensity": spectra.integrate(wl, counts)}
        fwhm = spectra.fwhm(wl, counts)
        window = (peak_wl - 4 * fwhm, peak_wl + 4 * fwhm)
        inside = (wl >= window[0]) & (wl <= window[1])
        bands = self._bands(wl[inside], counts[inside], data["current_density"])
        duty = 1.0 if self.drive == "dc" else data["duty_cycle"]
        charge = data["current"] * duty * 1e9                          # nC/s
        intensity = spectra.integrate(wl, counts, window)
        return out | {
            "el_intensity": intensity, "el_per_charge": intensity / charge if charge > 0 else math.nan,
            "peak_wavelength": peak_wl, "fwhm": mev(fwhm, peak_wl),
            "el_spontaneous": bands["area1"], "el_stimulated": bands["area2"],
            "stimulated_ratio": bands["area2"] / bands["area1"],
            "spontaneous_center": bands["center1"], "spontaneous_fwhm": mev(bands["fwhm1"], bands["center1"]),
            "stimulated_center": bands["center2"], "stimulated_fwhm": mev(bands["fwhm2"], bands["center2"])}

    def _bands(self, wl, counts, density):
        """Spontaneous (bluer) and stimulated band: two Gaussians, starting from the fit
        at the nearest current density measured so far (the first: a narrow band red of
        the peak)."""
        if self.fits:
            start = min(self.fits, key=lambda entry: abs(entry[0] - density))[1]
            guess = ((start["center1"], start["fwhm1"]), (start["center2"], start["fwhm2"]))
        else:
            center, width = spectra.peak(wl, counts)[0], spectra.fwhm(wl, counts)
            guess = ((center, width), (center + width / 4, width / 2))
        values = spectra.two_bands(wl, counts, guess=guess).values
        self.fits.append((density, values))
        return values

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        if len(scalars) < 2:
            return {}
        out = {"points": int(len(scalars)),
               "max_current_density": float(np.nanmax(scalars["current_density"]))}
        sweep = scalars[scalars["scan"] == 0].sort_values("amplitude", kind="stable")
        failure = self._failure(sweep)
        out["failure"] = failure
        intact = sweep.iloc[:failure["step"]] if failure["found"] else sweep
        out |= self._jv(intact)
        if "stimulated_ratio" in intact and np.isfinite(intact["stimulated_ratio"]).sum() >= 2:
            out |= self._threshold(intact)
        heating = self._heating(scalars)
        if heating:
            out["heating"] = heating
        held = int((sweep["in_compliance"] == 1).sum())
        if held:
            out.setdefault("warnings", []).append(
                f"{held} point(s) held at the {self.compliance:g} A compliance (left out of the J–V fit)")
        clipped = int((scalars["saturated"] > 0).sum())
        if clipped:
            out.setdefault("warnings", []).append(
                f"{clipped} spectra saturated even at the shortest integration time (left out of the EL "
                f"analysis): attenuate the EL, e.g. with a neutral-density filter")
        return out

    def _failure(self, sweep):
        """A failed device: at a higher drive the current (or the EL) falls below
        ``collapse`` × the largest so far."""
        density = sweep["current_density"].to_numpy()
        el = sweep["el_intensity"].to_numpy()
        detected = np.isfinite(sweep["el_spontaneous"].to_numpy())
        for i in range(1, len(sweep)):
            j_max = np.nanmax(density[:i]) if np.isfinite(density[:i]).any() else math.nan
            el_max = np.nanmax(el[:i][detected[:i]]) if detected[:i].any() else math.nan
            dropped_j = j_max >= CONDUCTING and density[i] < self.collapse * j_max
            dropped_el = el_max > 0 and (not detected[i] or el[i] < self.collapse * el_max)
            if dropped_j or dropped_el:
                amplitude = float(sweep["amplitude"].iloc[i])
                what = " and ".join(filter(None, (
                    f"the current density fell from {j_max:.4g} to {density[i]:.3g} A/cm²" if dropped_j else "",
                    ("the EL vanished" if not detected[i] else
                     f"the EL fell to {el[i] / el_max:.1%} of its maximum") if dropped_el else "")))
                cause = " (overheated in d.c. operation)" if self.drive == "dc" else ""
                return {"found": True, "step": i, "amplitude": amplitude, "max_current_density": float(j_max),
                        "message": f"device failed at {amplitude:.4g} V{cause}: {what}"}
        return {"found": False}

    @staticmethod
    def _jv(sweep):
        """J–V summary: differential (series) resistance over the top third of the
        current range."""
        free = sweep[sweep["in_compliance"] != 1]
        current, voltage = free["current"].to_numpy(), free["voltage"].to_numpy()
        if not np.isfinite(current).any():
            return {}
        top = np.isfinite(current) & np.isfinite(voltage) & (current >= 2 / 3 * np.nanmax(current))
        if top.sum() < 3:
            return {}
        line = trend(current[top], voltage[top])
        return {"series_resistance": {"value": line["slope"], "error": line.error("slope"), "unit": "ohm",
                                      "intercept_V": line["intercept"], "from_A": float(current[top].min())}}

    @staticmethod
    def _threshold(sweep):
        ok = np.isfinite(sweep["stimulated_ratio"]) & (sweep["saturated"] == 0)
        rows = sweep[ok]
        density = rows["current_density"].to_numpy()
        result = find_threshold(density, density * rows["stimulated_ratio"].to_numpy(),
                                linewidth=rows["fwhm"].to_numpy(), unit="A/cm^2")
        out = {"threshold": {"value": result.threshold, "unit": "A/cm^2", "low": result.low,
                             "high": result.high, "found": result.found, "method": result.method,
                             "reason": result.reason, "agree": result.agree},
               "beta": result.beta, "warnings": result.warnings}
        if result.found:
            below = rows[density < 0.8 * result.threshold]
            above = rows[density > 2.0 * result.threshold]
            if len(below):
                out["fwhm_below_mev"] = float(below["fwhm"].median())
                out["spontaneous_fwhm_mev"] = float(below["spontaneous_fwhm"].median())
            if len(above):
                out["stimulated_fwhm_mev"] = float(above["stimulated_fwhm"].median())
                out["fwhm_top_mev"] = float(rows["fwhm"].iloc[-1])
        return out

    def _heating(self, scalars):
        """Thermal time and steady-state rise from the width scan; the mean rise of every
        step from its spontaneous band relative to the step with the least energy per pulse."""
        energy = 1e3 * HC_EV_NM / scalars["spontaneous_center"].where(scalars["saturated"] == 0)
        if not np.isfinite(energy).any():
            return {}
        heat = scalars["current"] * scalars["voltage"] * np.minimum(scalars["width"], 1e12)
        coolest = int(np.nanargmin(np.where(np.isfinite(energy), heat, np.nan)))
        rise = (energy - energy.iloc[coolest]) / self.shift_coefficient
        out = {"max_rise_K": float(np.nanmax(rise)), "reference_step": coolest} \
            if np.isfinite(rise).sum() >= 2 else {}
        scan = scalars[(scalars["scan"] == 1) & np.isfinite(energy)]
        if len(scan) >= 4:
            fit = fit_pulse_heating(scan["width"], energy[scan.index])
            low, high = fit.interval("tau")
            steady = fit["shift"] / self.shift_coefficient
            out |= {"tau_us": fit["tau"], "tau_low": low, "tau_high": high,
                    "steady_rise_K": steady, "steady_rise_error": abs(fit.error("shift") / self.shift_coefficient),
                    "scan_current_density": float(scan["current_density"].median()),
                    "e0_mev": fit["e0"], "shift_mev": fit["shift"]}
        return out

    # -- summary --------------------------------------------------------------------
    @classmethod
    def headline(cls, results):
        failure = results.get("failure") or {}
        if failure.get("found"):
            return failure["message"]
        t = results.get("threshold") or {}
        parts = []
        if t.get("found"):
            parts.append(f"EL threshold {t['value']:.3g} A/cm² [{t['low']:.3g}, {t['high']:.3g}]")
        elif t:
            parts.append("no EL threshold")
        if "max_current_density" in results:
            parts.append(f"up to {results['max_current_density']:.3g} A/cm²")
        if "tau_us" in (results.get("heating") or {}):
            parts.append(f"τ_T {results['heating']['tau_us']:.2g} µs")
        return "; ".join(parts)

    @classmethod
    def report(cls, results):
        if not results:
            return []
        lines = [("current density reached", f"{results['max_current_density']:.4g} A/cm²")]
        failure = results.get("failure") or {}
        if failure.get("found"):
            lines.append(("device failure", failure["message"]))
        if "series_resistance" in results:
            r = results["series_resistance"]
            lines.append(("series resistance", f"{r['value']:.3g} ± {r['error']:.2g} Ω"))
        t = results.get("threshold")
        if t and t["found"]:
            lines.append(("EL ASE threshold", f"{t['value']:.4g} A/cm²  (95% CI {t['low']:.4g}–"
                                              f"{t['high']:.4g}; {t['method']})"))
        elif t:
            lines.append(("EL ASE threshold", f"none found: {t['reason']}"))
        if "fwhm_below_mev" in results and "stimulated_fwhm_mev" in results:
            lines.append(("EL FWHM", f"{results['fwhm_below_mev']:.3g} meV below threshold → stimulated "
                                     f"band {results['stimulated_fwhm_mev']:.3g} meV"))
        heating = results.get("heating") or {}
        if "tau_us" in heating:
            lines.append(("thermal time τ_T", f"{heating['tau_us']:.3g} µs  (95% CI {heating['tau_low']:.3g}–"
                                              f"{heating['tau_high']:.3g})"))
            lines.append(("steady-state heating", f"{heating['steady_rise_K']:.3g} K at "
                                                  f"{heating['scan_current_density']:.3g} A/cm²"))
        if "max_rise_K" in heating:
            lines.append(("hottest step", f"{heating['max_rise_K']:.3g} K mean heating (EL peak shift)"))
        for warning in results.get("warnings", []):
            lines.append(("warning", warning))
        return lines

    @classmethod
    def figures(cls, run):
        from . import pulsed_el_plots as plots
        figures = {"EL": plots.el_versus_j(run)}
        usable = np.isfinite(run.scalars["spontaneous_center"]) & (run.scalars["saturated"] == 0)
        if "spectrum" in run.arrays and usable.sum() >= 3:
            figures["spectra"] = plots.el_spectra(run)
        if "tau_us" in (run.results.get("heating") or {}):
            figures["heating"] = plots.heating(run)
        return figures
