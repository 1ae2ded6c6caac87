"""Thorlabs PM100D optical power and energy meter console.

Wraps pymeasure's ``ThorlabsPM100USB`` (same SCPI command set; *PM100D Optical Power
and Energy Meter, Operation Manual*, chapter "Computer Interface - SCPI commands") and
adds the energy-meter side the pump-fluence measurements need: measurement mode,
averaging, energy range, dark zeroing, and the SCPI error queue. USB-TMC, LF terminated.
"""

import re
import warnings

from pymeasure.instruments import Instrument
from pymeasure.instruments.thorlabs.thorlabspm100usb import ThorlabsPM100USB
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import DeviceError, PlainAttributes, ReplyError, poll, remembered
from .roles import PowerMeter

OVER_RANGE = 9.0e37
NR3 = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


class PM100D(PlainAttributes, ThorlabsPM100USB, PowerMeter):
    """PM100D with a power (photodiode/thermal) or energy (pyroelectric) sensor."""

    def __init__(self, adapter, name="Thorlabs PM100D", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        with warnings.catch_warnings():
            # pymeasure marks ThorlabsPM100USB "SCPI unknown"; the PM100D manual documents
            # its SCPI command set, so the warning does not apply.
            warnings.filterwarnings("ignore", "It is not known whether this device support SCPI",
                                    FutureWarning)
            super().__init__(adapter, name, **kwargs)
        self.known = {}

    mode = Instrument.control(
        "CONF?", "CONF:%s", "Control the measurement quantity: POW or ENER.",
        validator=strict_discrete_set, values=("POW", "ENER"), cast=str, check_set_errors=True)
    _averaging = Instrument.control(
        "SENS:AVER:COUN?", "SENS:AVER:COUN %d", "Control how many samples are averaged.",
        validator=strict_range, values=(1, 10000), cast=int, check_set_errors=True)
    averaging = remembered("_averaging", "Samples (power) or pulses (energy) averaged per reading.")
    energy_range = Instrument.control(
        "SENS:ENER:RANG?", "SENS:ENER:RANG %g", "Control the energy range in J.",
        validator=strict_range, values=(1e-9, 10.0), check_set_errors=True)

    def check_set_errors(self):
        try:
            errors = self.check_errors()
            if errors:
                code, text = errors[0]
                code = int(code)
        except (ValueError, IndexError, TypeError) as exc:   # not 'code,"text"': garbled
            raise ReplyError(f"PM100D error queue reply is garbled ({exc})") from None
        if errors:
            raise DeviceError(f"PM100D error {code}, {str(text).strip(chr(34))}")
        return []

    def check_fault(self) -> None:
        self.check_set_errors()

    def zero(self, timeout: float = 30.0) -> None:
        """Dark zero (block the beam first)."""
        self.write("SENS:CORR:COLL:ZERO:INIT")
        poll(self, lambda: int(self.values("SENS:CORR:COLL:ZERO:STAT?")[0]) == 0, timeout,
             interval=0.2, what="PM100D zeroing")

    @property
    def identity(self) -> str:
        return f"{self.id},sensor {self.sensor_name} {self.sensor_sn}"

    def set_wavelength(self, wavelength: float) -> None:
        self.wavelength = wavelength
        self.check_set_errors()

    def measure(self, quantity: str) -> float:
        """One ``MEAS:ENER?`` (J) or ``MEAS:POW?`` (W) reading. The console always answers
        in exponential notation, so a reply without its exponent was cut short and is
        refused (ReplyError, retried) rather than read 10⁶ times too large."""
        reply = self.ask(f"MEAS:{quantity}?").strip()
        if not NR3.fullmatch(reply):
            raise ReplyError(f"PM100D reading {reply!r:.40} is not a number in exponential notation")
        value = float(reply)
        if value >= OVER_RANGE:
            raise DeviceError(f"PM100D reading over range ({value:g})")
        return value

    def pulse_energy(self, rep_rate: float, readings: int = 1) -> float:
        """One reading of ``readings`` pulses (samples) averaged by the console
        (``SENS:AVER:COUN``, set when it differs from what this driver last set or read)."""
        if readings != self.known.get("_averaging"):
            self.averaging = readings
        if self.is_energy_sensor:
            return self.measure("ENER")
        return self.measure("POW") / rep_rate

    def settings(self) -> dict:
        return {"sensor": self.sensor_name, "mode": self.mode, "wavelength_nm": self.wavelength,
                "averaging": self.averaging}
