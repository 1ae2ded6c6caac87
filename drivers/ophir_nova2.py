"""Ophir Nova II laser power/energy meter console with a pyroelectric energy head.

Command set: Ophir's RS232 "Guide to programmers" (common to LaserStar, Nova, Nova II and
Vega), as implemented by pymeasure's ``instruments/ophir/ophir_base.py`` and its tests:
RS-232 at 9600 baud 8N1, CR LF terminated. Every command is ``$`` + two letters (+ a
parameter); every command is answered with one line, ``*`` + data on success or ``?`` + a
message on error. ``OVER`` in a reading means over range.

pymeasure's Ophir drivers (``NovaII``, ``OphirBase``) are on its main branch but in no
release yet (the project pins pymeasure 0.16). This driver keeps their conventions --
``$`` added in ``write``, ``*``/``?`` checked in ``read``, ``OVER`` read as infinity, the
same command strings and property names -- so that it can subclass
``pymeasure.instruments.ophir.NovaII`` once a release ships it.

=======  =============================================  ===============================
command  meaning                                        reply
=======  =============================================  ===============================
$II      instrument: model, serial number, name         ``*NOVA2 612345 NOVA2``
$VE      firmware version                               ``*1.37``
$HI      head: type, serial, name, capabilities (hex)   ``*PY 654321 PE10BF-C 80000003``
$MM0     measurement mode (2 power, 3 energy)           ``*3``; ``$MM3`` -> ``*``
$AR      current range index and the range names        ``*0 20.0uJ 2.00uJ 200nJ 20.0nJ``
$RN      current range index; ``$WNi`` selects one      ``*0``; ``*``
$AW      wavelength list: CONTINUOUS min max i e1..e6   ``*CONTINUOUS 150 12000 1 355 ...``
$WL n    wavelength (whole nm) of the active entry      ``*``
$EF      new-energy flag (a pulse since the last $SE)   ``*1``
$SE      energy of the latest pulse, J                  ``*3.260E-7`` or ``*OVER``
$SF      pulse frequency, Hz                            ``*1.000E1``
=======  =============================================  ===============================
"""

import math

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

from .base import DeviceError, PlainAttributes, flag, poll
from .roles import PowerMeter
from .validators import within

MODES = {"power": 2, "energy": 3}


def _over_range_as_inf(reply: str) -> str:
    """``OVER`` -> ``inf`` (as pymeasure's Ophir driver reads it)."""
    return reply.replace("OVER", "inf")


class NovaII(PlainAttributes, Instrument, PowerMeter):
    """Nova II on RS-232; ``pulse_energy`` reads one pulse per reading in energy mode."""

    #: Shortest wait for the next pulse before the beam is declared blocked, s.
    pulse_timeout = 1.0
    #: Shortest interval between polls of the new-energy flag, s (a $EF round trip at
    #: 9600 baud takes about 10 ms).
    poll_interval = 0.01

    def __init__(self, adapter, name="Ophir Nova II", **kwargs):
        kwargs.setdefault("read_termination", "\r\n")
        kwargs.setdefault("write_termination", "\r\n")
        kwargs.setdefault("asrl", {"baud_rate": 9600})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self._sent = ""
        names = self.values("AR", separator=None, cast=str)[1:]
        first = -1 if names[0] == "AUTO" else 0          # AUTO is range -1 (not on pyro heads)
        self.energy_range_values = {name: first + i for i, name in enumerate(names)}
        self.wavelength_kind, *spec = self.values("AW", separator=None, cast=str)
        self.wavelength_limits = ((float(spec[0]), float(spec[1]))
                                  if self.wavelength_kind == "CONTINUOUS" else None)
        if self.wavelength_limits:
            self.wavelength_setting_values = self.wavelength_limits

    # -- framing ----------------------------------------------------------------------
    def write(self, command, **kwargs):
        """Send ``$`` + command."""
        self._sent = command
        super().write("$" + command, **kwargs)

    def read(self, **kwargs) -> str:
        """One reply without its ``*``; a ``?`` reply raises ``DeviceError``."""
        reply = super().read(**kwargs).strip()
        if reply.startswith("*"):
            return reply[1:].strip()
        message = reply[1:].strip() if reply.startswith("?") else repr(reply)
        raise DeviceError(f"Nova II refused ${self._sent}: {message}")

    def check_set_errors(self):
        """Every set command is answered: ``*`` or a ``?`` error."""
        self.read()
        return []

    # -- commands -----------------------------------------------------------------------
    instrument_info = Instrument.measurement(
        "II", "Get the console's model, serial number and name.", cast=str, separator=None)
    software_version = Instrument.measurement("VE", "Get the firmware version.", cast=str)
    head_info = Instrument.measurement(
        "HI", "Get the head's type (PY pyroelectric, TH thermopile, SI photodiode, XX none), "
        "serial number, name and capability flags.", cast=str, separator=None)
    mode = Instrument.control(
        "MM0", "MM%d", "Control the measurement mode: power or energy.",
        validator=strict_discrete_set, values=MODES, map_values=True, check_set_errors=True)
    energy_range = Instrument.control(
        "RN", "WN%d", "Control the range by name (see ``energy_range_values``, from $AR).",
        validator=strict_discrete_set, values={}, map_values=True, dynamic=True,
        check_set_errors=True)
    wavelength_setting = Instrument.setting(
        "WL %d", "Set the wavelength of the active wavelength entry, nm (whole nm).",
        validator=within("wavelength", "nm"), values=(0, math.inf), dynamic=True,
        set_process=round, check_set_errors=True)
    energy_flag = Instrument.measurement(
        "EF", "Get whether a new pulse was measured since the last energy reading.",
        get_process=flag)
    energy = Instrument.measurement(
        "SE", "Get the energy of the latest pulse, J (inf: over range).",
        preprocess_reply=_over_range_as_inf)
    frequency = Instrument.measurement("SF", "Get the pulse frequency the head sees, Hz.")

    # -- PowerMeter -----------------------------------------------------------------------
    def set_wavelength(self, wavelength: float) -> None:
        if self.wavelength_limits is None:
            raise DeviceError("this head has discrete wavelength settings ($AW "
                              f"{self.wavelength_kind}); select one with $WI")
        self.wavelength_setting = wavelength

    def pulse_energy(self, rep_rate: float, readings: int = 1) -> float:
        """Mean energy of ``readings`` fresh pulses, J (each read once the new-energy flag
        is up); waits up to 3 pulse periods (at least ``pulse_timeout``) for each."""
        if rep_rate <= 0:
            raise ValueError(f"repetition rate {rep_rate:g} Hz must be positive")
        if readings < 1:
            raise ValueError(f"readings {readings} must be at least 1")
        if self.mode != "energy":
            self.mode = "energy"
        timeout = max(self.pulse_timeout, 3.0 / rep_rate)
        interval = max(self.poll_interval, min(0.05, 0.25 / rep_rate))
        energies = []
        for _ in range(readings):
            try:
                poll(self, lambda: self.energy_flag, timeout, interval, what="pulse")
            except DeviceError:
                raise DeviceError(f"no laser pulse reached the Nova II head within {timeout:g} s "
                                  "(beam blocked or laser off?)") from None
            energy = self.energy
            if math.isinf(energy):
                raise DeviceError(f"Nova II reading over range on the {self.energy_range} "
                                  "range; select a larger range")
            energies.append(energy)
        return sum(energies) / len(energies)

    # -- Role -------------------------------------------------------------------------------
    @property
    def identity(self) -> str:
        model, serial, _ = self.instrument_info
        _, head_serial, head, _ = self.head_info
        return f"Ophir,{model},{serial},{self.software_version},head {head} {head_serial}"

    def settings(self) -> dict:
        kind, _, wavelength_spec = self.ask("AW").partition(" ")
        fields = wavelength_spec.split()
        active = (float(fields[2 + int(fields[2])]) if kind == "CONTINUOUS"
                  else fields[int(fields[0])])
        return {"head": self.head_info[2], "mode": self.mode, "energy_range": self.energy_range,
                "wavelength_nm": active}

    def check_fault(self) -> None:
        if self.head_info[0] == "XX":
            raise DeviceError("no sensor head is connected to the Nova II")
