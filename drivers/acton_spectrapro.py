"""Princeton Instruments Acton SpectraPro spectrograph (SP-2150i/2300i/2500i) with a
cooled CCD (PIXIS, ProEM ...) on its exit port.

Spectrograph: the ASCII command set of the *SpectraPro Operating Instructions* /
*IsoPlane SCT 320 Manual* §A.4 (also ScopeFoundry ``HW_acton_spec``). RS-232 at 9600 baud
8N1 without flow control; a command is one or more words with the parameter before the
keyword, terminated by CR; when the command is complete the spectrograph answers with any
data and `` ok`` CR LF. On RS-232 it echoes every character it receives, so a reply line
reads ``?NM 546.070 nm ok``; its USB port (a virtual COM port too) does not echo: open it
with ``echo=False``. A word it cannot execute is answered with ``?`` instead of ``ok``.

==================================  ==================================  ====================
command                             meaning                             reply (after echo)
==================================  ==================================  ====================
``?NM``                             centre wavelength                   `` 546.070 nm ok``
``546.070 GOTO``                    move at full speed (blocks)         `` ok`` when there
``546.070 >NM``, ``MONO-?DONE``     scan at the NM/MIN rate, poll it    `` ok``, `` 1 ok``
``MONO-STOP``                       stop and end a ``>NM`` scan         `` ok``
``?GRATING``, ``2 GRATING``         grating in use; change (10-20 s)    `` 2 ok``, `` ok``
``?GRATINGS``                       list, 0x1A marks the one in use     one line per position
``?TURRET``                         turret in use                       `` 1 ok``
``SIDE-ENT-SLIT ?MICRONS``          entrance slit width (10-3000 µm)    `` 100 um ok``
``SIDE-ENT-SLIT 50 MICRONS``        set it                              `` ok``
``MODEL``, ``SERIAL``               identity                            `` SP-2-300i ok``
==================================  ==================================  ====================

Detector: the CCD is not on the serial line; it is reached only through Princeton's PICam
SDK. This module talks to it through ``Camera``, the subset of pylablib's ``PicamCamera``
(``pylablib.devices.PrincetonInstruments``) it uses. ``open()`` imports pylablib lazily --
it is not a labctl dependency; without it opening fails with the package to install --
unless ``visa_library`` is the simulated bench's library (``getattr(visa_library, "sim",
None)``): then it takes the simulated camera of the ``SpectraProTwin`` attached to the
spectrograph's resource (``sim_instruments/acton_spectrapro.py``), i.e. the simulation sits
exactly at the SDK boundary. The CCD is read in full vertical binning; pixel wavelengths
follow the grating equation of the Czerny-Turner mount around the centre wavelength.
"""

import math
import re
from contextlib import contextmanager
from typing import Protocol

import numpy as np
from pymeasure.instruments import Instrument
from pyvisa.rname import to_canonical_name

from .base import DeviceError, PlainAttributes, ReplyError, flag
from .roles import Spectrograph
from .validators import within

MECHANICAL_RANGE = 1400.0        # nm of wavelength drive with a 1200 g/mm grating
SLIT_LIMITS = (10, 3000)         # µm, motorized entrance slit
MOVE_TIMEOUT = 60.0              # s: GOTO across the range
GRATING_TIMEOUT = 40.0           # s: a turret turn takes 10-20 s
INTEGRATION_LIMITS = (1e-3, 3600.0)   # s, with the mechanical shutter
FULL_SCALE = 65535               # 16-bit ADC


def _installed(value, numbers):
    if value not in numbers:
        raise ValueError(f"grating {value} is not installed (installed: "
                         f"{', '.join(str(n) for n in numbers)})")
    return value


def _drop(unit: str):
    """Reply pre-processor: ``546.070 nm`` -> ``546.070``."""
    return lambda reply: reply.removesuffix(unit).strip()


def grooves_of(grating: str) -> float:
    """Groove density (lines/mm) of a grating description such as ``1200 g/mm BLZ=500NM``."""
    return float(grating.split()[0])


def pixel_wavelengths(center: float, grooves: float, pixels: int, pixel_width: float,
                      focal_length: float = 300.0, included_angle: float = 30.0,
                      order: int = 1) -> np.ndarray:
    """Wavelength (nm) at the centre of each of ``pixels`` pixels (``pixel_width`` µm) of a
    detector centred on the focal plane of a Czerny-Turner spectrograph set to ``center``.

    Grating equation m·λ = d·(sin α + sin β) with α = θ + φ, β = θ − φ (2φ the
    included angle, θ the grating rotation) and β + atan(x/f) at a distance x from the
    centre.
    """
    d = 1e6 / grooves                                      # groove spacing, nm
    phi = math.radians(included_angle) / 2
    theta = math.asin(order * center / (2 * d * math.cos(phi)))
    x = (np.arange(pixels) - (pixels - 1) / 2) * pixel_width * 1e-3        # mm
    beta = theta - phi + np.arctan(x / focal_length)
    return d * (math.sin(theta + phi) + np.sin(beta)) / order


class Camera(Protocol):
    """What this driver asks of the CCD: the calls of pylablib's ``PicamCamera`` it makes
    (attribute names are PICam's)."""

    def get_device_info(self):
        """(name, serial_number, model, interface)"""

    def get_detector_size(self) -> tuple[int, int]:
        """(width, height) in pixels"""

    def get_pixel_size(self) -> tuple[float, float]:
        """(width, height) in m"""

    def set_roi(self, hstart=0, hend=None, vstart=0, vend=None, hbin=1, vbin=1):
        """Region of interest and binning"""

    def get_exposure(self) -> float:
        """Exposure time, s"""

    def set_exposure(self, exposure: float) -> float:
        """Set the exposure time, s"""

    def get_attribute_value(self, name: str):
        """A PICam parameter, e.g. "Sensor Temperature Reading" (°C)"""

    def set_attribute_value(self, name: str, value) -> None:
        """Set a PICam parameter, e.g. "Shutter Timing Mode" """

    def snap(self, timeout: float = 5.0) -> np.ndarray:
        """Acquire one frame: 2D uint16 array (rows, columns)"""

    def close(self) -> None:
        """Release the camera"""


def open_picam(serial_number: str | None = None) -> Camera:
    """The real CCD through pylablib's PICam binding (imported only when needed)."""
    try:
        from pylablib.devices import PrincetonInstruments
    except ImportError as exc:
        raise ImportError("the SpectraPro's CCD is read through the PICam SDK: install "
                          "pylablib (pip install pylablib) and Princeton Instruments' PICam "
                          "runtime") from exc
    return PrincetonInstruments.PicamCamera(serial_number)


def simulated_camera(sim, resource: str) -> Camera:
    """The simulated CCD of the SpectraPro twin attached to ``resource`` on a SimBench."""
    wanted = to_canonical_name(resource)
    for spec in sim.instruments:
        camera = getattr(sim.twins[spec["slot"]], "camera", None)
        if to_canonical_name(spec["resource"]) == wanted and camera is not None:
            return camera
    raise DeviceError(f"no simulated SpectraPro with a CCD at {resource}")


class SpectraPro(PlainAttributes, Instrument):
    """The spectrograph on its serial port (RS-232 echo on by default)."""

    def __init__(self, adapter, name="Acton SpectraPro", echo=True, **kwargs):
        kwargs.setdefault("read_termination", "\r\n")
        kwargs.setdefault("write_termination", "\r")
        kwargs.setdefault("asrl", {"baud_rate": 9600})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.echo = echo
        self._sent = ""
        self.installed = self.read_gratings()
        self.grating_values = sorted(self.installed)
        self._grating_changed(self.grating)

    # -- framing ----------------------------------------------------------------------
    def write(self, command, **kwargs):
        self._sent = command
        super().write(command, **kwargs)

    def read(self, **kwargs) -> str:
        """The reply to the last command up to its ``ok``, without echo and ``ok`` (lines
        joined by LF); a ``?`` reply raises ``DeviceError``."""
        lines = []
        while not (lines and lines[-1].endswith("ok")):
            lines.append(super().read(**kwargs))
            if lines[-1].endswith("?"):
                raise DeviceError(f"SpectraPro cannot execute {self._sent!r} "
                                  f"(replied {lines[-1].strip()!r})")
        text = "\n".join(lines)
        if self.echo:
            if not text.startswith(self._sent):
                raise ReplyError(f"SpectraPro echoed {lines[0]!r} for {self._sent!r}")
            text = text[len(self._sent):]
        return text[:-2].strip()

    def check_set_errors(self):
        """A command is complete when ``ok`` arrives; ``?`` raises."""
        self.read()
        return []

    @contextmanager
    def _patience(self, seconds: float):
        """Wait up to ``seconds`` for the reply of a slow command (a move)."""
        connection = self.adapter.connection
        before = connection.timeout
        connection.timeout = seconds * 1000
        try:
            yield
        finally:
            connection.timeout = before

    # -- commands -----------------------------------------------------------------------
    model = Instrument.measurement("MODEL", "Get the model, e.g. SP-2-300i.", cast=str)
    serial_number = Instrument.measurement("SERIAL", "Get the serial number.", cast=str)
    wavelength = Instrument.control(
        "?NM", "%.3f GOTO",
        "Control the centre wavelength, nm (GOTO: full speed; answered when the move ends).",
        preprocess_reply=_drop("nm"), validator=within("centre wavelength", "nm"),
        values=(0.0, MECHANICAL_RANGE), dynamic=True, check_set_errors=True)
    grating = Instrument.control(
        "?GRATING", "%d GRATING", "Control the grating in use (position 1-9).",
        cast=int, validator=_installed, values=[1], dynamic=True, check_set_errors=True)
    turret = Instrument.measurement("?TURRET", "Get the turret in use.", cast=int)
    move_done = Instrument.measurement("MONO-?DONE", "Get whether the last move ended.",
                                    get_process=flag)
    slit_width = Instrument.control(
        "SIDE-ENT-SLIT ?MICRONS", "SIDE-ENT-SLIT %d MICRONS",
        "Control the side entrance slit width, whole µm.",
        preprocess_reply=_drop("um"), cast=int, validator=within("slit width", "µm"),
        values=SLIT_LIMITS, set_process=round, check_set_errors=True)

    def read_gratings(self) -> dict[int, str]:
        """Installed gratings by position, e.g. ``{1: "300 g/mm BLZ=500NM", ...}``."""
        found = {}
        for line in self.ask("?GRATINGS").splitlines():
            number, _, name = line.strip(" \x1a").partition(" ")
            name = " ".join(re.sub(r"=\s+", "=", name).split())
            if number.isdigit() and name != "Not Installed":
                found[int(number)] = name
        if not found:
            raise DeviceError("the SpectraPro reports no installed grating")
        return found

    def _grating_changed(self, number: int) -> None:
        self.wavelength_values = (0.0, MECHANICAL_RANGE * 1200 / grooves_of(self.installed[number]))

    def stop(self) -> None:
        """Stop a scan."""
        self.ask("MONO-STOP")


class SpectraProCCD(SpectraPro, Spectrograph):
    """SpectraPro with a cooled CCD read in full vertical binning; ``acquire()`` subtracts a
    dark frame taken with the shutter closed at the same exposure time."""

    def __init__(self, adapter, camera: Camera, name="Acton SpectraPro + CCD",
                 focal_length=300.0, included_angle=30.0, **kwargs):
        super().__init__(adapter, name, **kwargs)
        self.camera = camera
        self.focal_length = float(focal_length)
        self.included_angle = float(included_angle)
        self.pixels, rows = camera.get_detector_size()
        self.pixel_width = camera.get_pixel_size()[0] * 1e6            # µm
        camera.set_roi(0, self.pixels, 0, rows, hbin=1, vbin=rows)      # full vertical binning
        self._dark = None           # (exposure s, dark row)
        self._saturated = False

    @classmethod
    def open(cls, resource, *, visa_library, connection, options):
        options = dict(options)
        serial = options.pop("camera_serial", None)
        sim = getattr(visa_library, "sim", None)
        camera = simulated_camera(sim, resource) if sim is not None else open_picam(serial)
        return cls(resource, camera=camera, visa_library=visa_library, **connection, **options)

    # -- spectrograph -----------------------------------------------------------------
    @property
    def center_wavelength(self) -> float:
        return self.wavelength

    def set_center_wavelength(self, wavelength: float) -> None:
        with self._patience(MOVE_TIMEOUT):
            self.wavelength = wavelength

    @property
    def gratings(self) -> list[str]:
        return [self.installed.get(n, "Not Installed") for n in range(1, max(self.installed) + 1)]

    def set_grating(self, number: int) -> None:
        with self._patience(GRATING_TIMEOUT):
            self.grating = number
        self._grating_changed(number)

    def set_slit_width(self, micrometres: float) -> None:
        with self._patience(MOVE_TIMEOUT):
            self.slit_width = micrometres

    @property
    def wavelengths(self) -> np.ndarray:
        return pixel_wavelengths(self.wavelength, grooves_of(self.installed[self.grating]),
                                 self.pixels, self.pixel_width, self.focal_length,
                                 self.included_angle)

    # -- detector ---------------------------------------------------------------------
    @property
    def integration_time(self) -> float:
        return self.camera.get_exposure()

    def set_integration_time(self, seconds: float) -> None:
        low, high = INTEGRATION_LIMITS
        if not low <= seconds <= high:
            raise ValueError(f"integration time {seconds:g} s is outside the CCD's range "
                             f"[{low:g}, {high:g}] s")
        self.camera.set_exposure(seconds)

    @property
    def integration_limits(self) -> tuple[float, float]:
        return INTEGRATION_LIMITS

    @property
    def max_counts(self) -> int:
        return FULL_SCALE

    def _frame(self, shutter: str) -> np.ndarray:
        """One full-vertical-binning readout (uint16 counts per column)."""
        self.camera.set_attribute_value("Shutter Timing Mode", shutter)
        return np.asarray(self.camera.snap(timeout=self.integration_time + 10.0))[0]

    def take_dark(self) -> np.ndarray:
        """Record the dark frame (shutter closed) at the current exposure time."""
        self._dark = (self.integration_time, self._frame("Always Closed").astype(float))
        return self._dark[1]

    def acquire(self) -> np.ndarray:
        if self._dark is None or self._dark[0] != self.integration_time:
            self.take_dark()
        raw = self._frame("Normal")
        self._saturated = bool(raw.max() >= FULL_SCALE)
        return raw.astype(float) - self._dark[1]

    @property
    def saturated(self) -> bool:
        return self._saturated

    @property
    def ccd_temperature(self) -> float:
        """CCD temperature, K."""
        return self.camera.get_attribute_value("Sensor Temperature Reading") + 273.15

    # -- Role -----------------------------------------------------------------------------
    @property
    def identity(self) -> str:
        info = self.camera.get_device_info()
        return (f"Princeton Instruments,{self.model},{self.serial_number},"
                f"CCD {info.model} {info.serial_number}")

    def settings(self) -> dict:
        return {"center_wavelength_nm": self.wavelength,
                "grating": self.installed[self.grating],
                "slit_width_um": self.slit_width,
                "integration_time_s": self.integration_time,
                "ccd_temperature_K": round(self.ccd_temperature, 2),
                "ccd_cooler": self.camera.get_attribute_value("Sensor Temperature Status")}

    def safe_state(self) -> None:
        """Stop any scan and close the CCD's shutter (no stray laser light on the chip)."""
        self.stop()
        self.camera.set_attribute_value("Shutter Timing Mode", "Always Closed")

    def check_fault(self) -> None:
        self.move_done
        if self.camera.get_attribute_value("Sensor Temperature Status") == "Faulted":
            raise DeviceError("the CCD's temperature control reports a fault")

    def close(self) -> None:
        self.camera.close()
        super().close()
