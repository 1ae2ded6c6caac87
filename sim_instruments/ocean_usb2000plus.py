"""Twin of the Ocean Optics USB2000+: OOI opcodes in, spectra of the sample out."""

import struct

import numpy as np

from .twin import Twin

PIXELS = 2048
DARK_PIXELS = slice(6, 22)


class USB2000PlusTwin(Twin):
    """Options: ``serial``, ``coefficients`` (c0..c3), ``resolution`` (nm FWHM),
    ``sensitivity`` (counts per collected photon), ``offset`` (counts), ``read_noise``
    (counts rms), ``dark_rate`` (counts/s)."""

    definition = "ocean_usb2000plus.yaml"
    framing = "raw"

    def attach(self, name, device):
        super().attach(name, device)
        o = self.options
        self.serial = str(o.get("serial", "USB2+H01234"))
        self.coefficients = [float(c) for c in o.get("coefficients", (339.7, 0.3787, -1.55e-5, -2.3e-10))]
        self.resolution = float(o.get("resolution", 1.5))
        self.sensitivity = float(o.get("sensitivity", 0.05))
        self.offset = float(o.get("offset", 1200.0))
        self.read_noise = float(o.get("read_noise", 12.0))
        self.dark_rate = float(o.get("dark_rate", 200.0))
        self.wavelengths = np.polynomial.polynomial.polyval(np.arange(PIXELS), self.coefficients)
        self.wavelengths.flags.writeable = False         # the physics keeps bands on it
        self.pixel_width = np.gradient(self.wavelengths)

    def _eeprom(self, slot: int) -> bytes:
        values = {0: self.serial, **{i + 1: f"{c:.6e}" for i, c in enumerate(self.coefficients)},
                  14: "3"}
        text = values.get(slot, "").encode("ascii")[:15]
        return bytes([0x05, slot]) + text + b"\x00" * (15 - len(text))

    def _status(self) -> bytes:
        return struct.pack("<HIBBBBBBBBBB", PIXELS, self.get("integration_us"), 0,
                           self.get("trigger_mode"), 0, 64, 0, 0, 0, 0, 0x80, 0)

    def on_raw(self, data: bytes):
        opcode, payload = data[0], data[1:]
        try:
            if opcode == 0x01:
                return None
            if opcode == 0x02 and len(payload) == 4:
                self.device._properties["integration_us"].set_value(str(struct.unpack("<I", payload)[0]))
            elif opcode == 0x05 and len(payload) == 1:
                return self._eeprom(payload[0])
            elif opcode == 0x09:
                return self.spectrum().astype("<u2").tobytes() + b"\x69"
            elif opcode == 0x0A and len(payload) == 2:
                self.device._properties["trigger_mode"].set_value(str(struct.unpack("<H", payload)[0]))
            elif opcode == 0xFE:
                return self._status()
        except ValueError:
            pass              # out-of-range values are ignored, as the firmware does
        return None

    def spectrum(self) -> np.ndarray:
        """Integrate the sample's emission for the integration time; add the detector."""
        t = self.get("integration_us") * 1e-6
        self.sleep(t)
        photons = self.pixel_width * self.sim.optics.collect(self.wavelengths, t, self.resolution, self.rng)
        electrons = photons * self.sensitivity + self.dark_rate * t
        electrons[DARK_PIXELS] = self.dark_rate * t
        counts = self.rng.poisson(electrons) + self.offset + self.rng.normal(0, self.read_noise, PIXELS)
        return np.clip(np.rint(counts), 0, 65535)

    def safe_state_reached(self) -> bool:
        return True
