"""Twin of an Acton SpectraPro with a cooled CCD: the ASCII spectrograph on its serial port
and the CCD simulated at the boundary of its SDK (pylablib's ``PicamCamera``).

The spectrograph echoes what it receives (RS-232), moves the grating in simulated time
(``GOTO`` and ``n GRATING`` answer when the move is over; ``>NM`` scans while
``MONO-?DONE`` says 0 and holds the drive until ``MONO-STOP``) and answers ``?`` to what
it cannot execute. The CCD on its exit port sees the sample's emission dispersed by the
grating in use: pixel wavelengths from the grating equation, an instrumental line width
from the slit image and the optics' blur, counts from photons with shot noise, dark
current, read noise, bias and 16-bit saturation.
"""

import collections
import math

import numpy as np
from pyvisa_sim.devices import Device
from scipy.special import erf

from drivers.acton_spectrapro import grooves_of, pixel_wavelengths

from .newport_smc100 import Move
from .twin import Twin, command, computed

GRATINGS = ("300 g/mm BLZ=  500NM", "1200 g/mm BLZ=  500NM", "1800 g/mm BLZ=  500NM")
MECHANICAL_RANGE = 1400.0          # nm at 1200 g/mm
SUBPIXELS = 5                      # samples per pixel when integrating the spectrum

TDeviceInfo = collections.namedtuple("TDeviceInfo", ["name", "serial_number", "model", "interface"])


class Refused(ValueError):
    """A value the spectrograph cannot go to (answered with ``?``)."""


class SpectraProTwin(Twin):
    """Options: ``echo`` (RS-232: True), ``gratings`` (descriptions of positions 1-3),
    ``initial_wavelength`` (nm, 0 after power-up), ``initial_grating``, ``slew_rate``
    (nm/s at 1200 g/mm for GOTO), ``grating_time`` (s per turret turn), ``slit_rate`` (µm/s),
    ``focal_length`` (mm), ``included_angle`` (deg), ``blur`` (µm FWHM of the optics' image
    of a point), ``source_image`` (µm, width of the sample's image on the slit),
    ``throughput`` (electrons per photon through a fully filled slit), ``ccd`` (options of
    ``SimulatedPicam``)."""

    definition = "acton_spectrapro.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        o = self.options
        self.echo = bool(o.get("echo", True))
        self.installed = list(o.get("gratings", GRATINGS))
        self.slew_rate = float(o.get("slew_rate", 250.0))
        self.grating_time = float(o.get("grating_time", 15.0))
        self.slit_rate = float(o.get("slit_rate", 500.0))
        self.focal_length = float(o.get("focal_length", 300.0))
        self.included_angle = float(o.get("included_angle", 30.0))
        self.blur = float(o.get("blur", 25.0))
        self.source_image = float(o.get("source_image", 100.0))
        self.throughput = float(o.get("throughput", 0.3))
        self.put("grating", int(o.get("initial_grating", 1)))
        here = float(o.get("initial_wavelength", 0.0))
        self.move = Move(here, here, 0.0, 0.0)
        self.scanning = False            # a >NM scan holds the drive until MONO-STOP
        self.camera = SimulatedPicam(self, o.get("ccd", {}))

    # -- wavelength drive -------------------------------------------------------------
    def grooves(self) -> float:
        return grooves_of(self.installed[self.get("grating") - 1])

    def moving(self) -> bool:
        return self.clock.now() < self.move.t0 + self.move.duration

    @computed("wavelength")
    def position(self) -> float:
        return self.move.position(self.clock.now())

    @computed("done")
    def done(self):
        return int(not self.moving())

    def _start(self, text: str, nm_per_s: float) -> float:
        """Start a move to ``text`` nm; return its duration (s)."""
        try:
            target = float(text)
        except ValueError:
            raise Refused(text) from None
        if self.scanning or not 0 <= target <= MECHANICAL_RANGE * 1200 / self.grooves():
            raise Refused(text)
        here = self.position()
        self.move = Move(here, target, self.clock.now(), abs(target - here) / nm_per_s)
        return self.move.duration

    def _slew_rate(self) -> float:
        """GOTO speed in nm/s with the grating in use (a fixed turn rate of the drive)."""
        return self.slew_rate * 1200 / self.grooves()

    # -- replies ------------------------------------------------------------------------
    def _say(self, match, reply: str) -> str:
        """Reply text after the RS-232 echo of the command."""
        return (match.string.decode("latin-1") if self.echo else "") + reply

    @command(r"(\S+) (?:GOTO|<GOTO>)")
    def goto(self, match):
        try:
            self.sleep(self._start(match[1], self._slew_rate()))
        except Refused:
            return self._say(match, " ?")
        return self._say(match, " ok")

    @command(r"(\S+) (?:NM|<NM>)")
    def scan(self, match):
        try:
            self.sleep(self._start(match[1], self.get("scan_rate") / 60))
        except Refused:
            return self._say(match, " ?")
        return self._say(match, " ok")

    @command(r"(\S+) >NM")
    def start_scan(self, match):
        try:
            self._start(match[1], self.get("scan_rate") / 60)
        except Refused:
            return self._say(match, " ?")
        self.scanning = True
        return self._say(match, " ok")

    @command(r"MONO-STOP")
    def stop(self, match):
        here = self.position()
        self.move = Move(here, here, self.clock.now(), 0.0)
        self.scanning = False
        return self._say(match, " ok")

    @command(r"\?GRATINGS")
    def grating_list(self, match):
        lines = []
        for number in range(1, 10):
            name = self.installed[number - 1] if number <= len(self.installed) else "Not Installed"
            marker = "\x1a" if number == self.get("grating") else " "
            lines.append(f"{marker}{number}  " + f"{name} ".ljust(18))
        return self._say(match, "\r\n" + "\r\n".join(lines) + "\r\n ok")

    def check_setting(self, name, value):
        if name == "grating":
            if value > len(self.installed) or self.scanning or self.moving():
                raise Refused(value)
            grooves = grooves_of(self.installed[value - 1])
            if self.position() > MECHANICAL_RANGE * 1200 / grooves:
                raise Refused(value)
        if name == "slit":
            self._slit_from = self.get("slit")

    def after_setting(self, name, value):
        if name == "grating":
            self.sleep(self.grating_time)
        if name == "slit":
            self.sleep(abs(value - self._slit_from) / self.slit_rate)

    @command(r"(.*)")
    def everything_else(self, match):
        """The YAML answers (or refuses with ``?``), after the echo and a space (pyvisa-sim
        strips the leading space of YAML replies)."""
        reply = Device._match(self.device, match.string)
        if reply is None:
            reply = self.device.error_response("command_error")
        return self._say(match, " " + reply.decode("latin-1"))

    # -- light on the detector --------------------------------------------------------
    def photoelectrons(self, pixels: int, pixel_width: float, seconds: float) -> np.ndarray:
        """Photo-electrons per detector column in ``seconds`` (before the CCD's noise)."""
        sample, optics = self.sim.sample, self.sim.optics
        if sample is None:
            return np.zeros(pixels)
        grooves = self.grooves()
        center = self.position()
        wl = pixel_wavelengths(center, grooves, pixels * SUBPIXELS, pixel_width / SUBPIXELS,
                               self.focal_length, self.included_angle)
        step = np.gradient(wl)                                       # nm per sub-pixel
        slit = self.get("slit")
        resolution = step[len(wl) // 2] * SUBPIXELS / pixel_width * math.hypot(slit, self.blur)
        density = optics.collect(wl, seconds, resolution, self.rng)
        collected = self.throughput * min(1.0, slit / self.source_image)
        return collected * (density * step).reshape(pixels, SUBPIXELS).sum(axis=1)

    def safe_state_reached(self) -> bool:
        return not (self.moving() or self.scanning) and self.camera.shutter == "Always Closed"


class SimulatedPicam:
    """A PIXIS CCD as pylablib's ``PicamCamera`` presents it (the calls the driver makes),
    on the exit port of a SpectraPro twin.

    Options: ``model``, ``serial``, ``sensor`` (name), ``width``, ``height`` (pixels),
    ``pixel_size`` (µm), ``bias`` (counts), ``gain`` (electrons per count), ``read_noise``
    (electrons rms), ``dark_current`` (electrons/pixel/s at -75 °C, doubling every 6.3 K),
    ``image_height`` (rows, FWHM of the slit image along the slit), ``temperature`` (°C at
    power-up; the cooler pulls it to the set point with a 60 s time constant).
    """

    SHUTTER_MODES = ("Normal", "Always Closed", "Always Open")

    def __init__(self, twin, options):
        o = dict(options)
        self.twin, self.clock = twin, twin.clock
        self.info = TDeviceInfo(str(o.get("sensor", "E2V 1340 x 100 (CCD 81)(B)")),
                                str(o.get("serial", "2800000001")),
                                str(o.get("model", "PIXIS: 100BR")), "USB 2.0")
        self.width, self.height = int(o.get("width", 1340)), int(o.get("height", 100))
        self.pixel_size = float(o.get("pixel_size", 20.0))
        self.bias = float(o.get("bias", 600.0))
        self.gain = float(o.get("gain", 1.0))
        self.read_noise = float(o.get("read_noise", 5.0))
        self.dark_current = float(o.get("dark_current", 1e-3))
        self.image_height = float(o.get("image_height", 30.0))
        self.exposure = 0.1
        self.shutter = "Normal"
        self.roi = (0, self.width, 0, self.height, 1, 1)
        self.set_point = -75.0
        self._cooling = (self.clock.now(), float(o.get("temperature", self.set_point)))

    # -- pylablib PicamCamera calls -------------------------------------------------------
    def get_device_info(self):
        return self.info

    def get_detector_size(self):
        return self.width, self.height

    def get_pixel_size(self):
        return self.pixel_size * 1e-6, self.pixel_size * 1e-6

    def set_roi(self, hstart=0, hend=None, vstart=0, vend=None, hbin=1, vbin=1):
        hend = self.width if hend is None else hend
        vend = self.height if vend is None else vend
        hbin, vbin = max(1, min(hbin, hend - hstart)), max(1, min(vbin, vend - vstart))
        hend -= (hend - hstart) % hbin
        vend -= (vend - vstart) % vbin
        self.roi = (hstart, hend, vstart, vend, hbin, vbin)
        return self.roi

    def get_roi(self):
        return self.roi

    def get_exposure(self):
        return self.exposure

    def set_exposure(self, exposure):
        self.exposure = max(0.0, float(exposure))
        return self.exposure

    def get_attribute_value(self, name):
        values = {"Sensor Temperature Reading": self.temperature(),
                  "Sensor Temperature Set Point": self.set_point,
                  "Sensor Temperature Status":
                      "Locked" if abs(self.temperature() - self.set_point) < 0.5 else "Unlocked",
                  "Shutter Timing Mode": self.shutter,
                  "Exposure Time": self.exposure * 1e3}
        if name not in values:
            raise KeyError(f"no PICam parameter {name!r}")
        return values[name]

    def set_attribute_value(self, name, value):
        if name == "Shutter Timing Mode" and value in self.SHUTTER_MODES:
            self.shutter = value
        elif name == "Sensor Temperature Set Point" and -80 <= value <= 20:
            self._cooling = (self.clock.now(), self.temperature())
            self.set_point = float(value)
        elif name == "Exposure Time" and value >= 0:
            self.exposure = value * 1e-3
        else:
            raise ValueError(f"PICam parameter {name!r} cannot be set to {value!r}")

    def snap(self, timeout=5.0):
        hstart, hend, vstart, vend, hbin, vbin = self.roi
        readout = 0.01 + (hend - hstart) * (vend - vstart) / (hbin * vbin) / 2e6
        if self.exposure + readout > timeout:
            raise TimeoutError(f"frame not ready within {timeout:g} s")
        self.twin.sim.optics.advance()
        self.twin.sleep(self.exposure + readout)
        return self._read_out(self._electrons())

    def close(self):
        pass

    # -- physics ------------------------------------------------------------------------
    def temperature(self) -> float:
        """Sensor temperature, °C."""
        since, start = self._cooling
        relaxed = math.exp(-(self.clock.now() - since) / 60.0)
        return self.set_point + (start - self.set_point) * relaxed

    def _electrons(self) -> np.ndarray:
        """Expected electrons per pixel of the whole chip after the exposure."""
        light = np.zeros(self.width)
        if self.shutter != "Always Closed":
            light = self.twin.photoelectrons(self.width, self.pixel_size, self.exposure)
        edges = (np.arange(self.height + 1) - self.height / 2) / (self.image_height / 2.3548)
        profile = np.diff(0.5 * (1 + erf(edges / math.sqrt(2))))        # slit image per row
        dark = self.dark_current * 2 ** ((self.temperature() + 75.0) / 6.3) * self.exposure
        return profile[:, None] * light[None, :] + dark

    def _read_out(self, electrons) -> np.ndarray:
        hstart, hend, vstart, vend, hbin, vbin = self.roi
        roi = electrons[vstart:vend, hstart:hend]
        rows, columns = (vend - vstart) // vbin, (hend - hstart) // hbin
        binned = roi.reshape(rows, vbin, columns, hbin).sum(axis=(1, 3))
        rng = self.twin.rng
        counts = (rng.poisson(binned) + rng.normal(0.0, self.read_noise, binned.shape)) / self.gain
        return np.clip(np.rint(counts + self.bias), 0, 65535).astype(np.uint16)
