"""Ocean USB2000+: the binary OOI protocol byte for byte, and spectra from the twin."""

import struct

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.ocean_usb2000plus import PIXELS, USB2000Plus

from .simbench import generic_client, sim_of

RESOURCE = "USB0::0x2457::0x101E::USB2+H01234::RAW"


def eeprom(slot, text):
    return bytes([0x05, slot]) + text.encode() + b"\x00" * (15 - len(text))


INIT = [(b"\x01", None), (b"\x05\x00", eeprom(0, "USB2+H01234"))] + [
    (bytes([0x05, s]), eeprom(s, v)) for s, v in ((1, "340.0"), (2, "0.38"), (3, "-1.5e-05"), (4, "0"))]


def test_protocol_init_reads_serial_and_calibration():
    with expected_protocol(USB2000Plus, INIT) as spec:
        assert spec.serial_number == "USB2+H01234"
        assert spec.wavelengths[0] == pytest.approx(340.0)
        assert spec.wavelengths[100] == pytest.approx(340.0 + 38 - 0.15)


def test_protocol_integration_time_bytes_and_range():
    with expected_protocol(USB2000Plus, INIT + [(b"\x02" + struct.pack("<I", 25000), None)]) as spec:
        spec.set_integration_time(0.025)
        with pytest.raises(ValueError, match="outside the USB2000\\+ range"):
            spec.set_integration_time(1e-4)


def test_protocol_spectrum_sync_and_dark_correction():
    raw = np.full(PIXELS, 1000, dtype="<u2")
    raw[500] = 1500
    with expected_protocol(USB2000Plus, INIT + [(b"\x09", raw.tobytes() + b"\x69")]) as spec:
        counts = spec.acquire()
        assert counts[500] == 500 and counts[10] == 0 and not spec.saturated
    with expected_protocol(USB2000Plus, INIT + [(b"\x09", raw.tobytes() + b"\x00")]) as spec:
        with pytest.raises(DeviceError, match="sync byte"):
            spec.raw_spectrum()


def test_twin_speaks_ooi_to_a_plain_pyvisa_client():
    sim = sim_of(("Spectrometer", "ocean-usb2000plus", RESOURCE, {}))
    usb = generic_client(sim, RESOURCE)
    usb.write_raw(b"\x05\x01")
    reply = usb.read_bytes(17)
    assert reply[:2] == b"\x05\x01" and float(reply[2:].split(b"\0")[0]) == pytest.approx(339.7)
    usb.write_raw(b"\x02" + struct.pack("<I", 50000))
    usb.write_raw(b"\xfe")
    status = usb.read_bytes(16)
    assert struct.unpack("<HI", status[:6]) == (PIXELS, 50000)
    usb.write_raw(b"\x09")
    data = usb.read_bytes(2 * PIXELS + 1)
    assert data[-1] == 0x69 and len(data) == 4097


def test_spectra_are_seeded_saturate_and_show_the_sample():
    def acquire(seed, energy):
        sim = sim_of(("PumpLaser", "coherent-astrella", "ASRL1::INSTR", {"pulse_energy": energy}),
                     ("Spectrometer", "ocean-usb2000plus", RESOURCE, {}), seed=seed,
                     optics={"beam_lines": {"": {"line_transmission": 1e-3}}})
        sim.twins["PumpLaser"].put("shutter", 1)
        spec = USB2000Plus(RESOURCE, visa_library=sim.library)
        return spec, spec.raw_spectrum()

    spec, a = acquire(1, 1e-5)
    _, b = acquire(1, 1e-5)
    _, c = acquire(2, 1e-5)
    assert np.array_equal(a, b) and not np.array_equal(a, c)       # seeded noise
    peak = spec.wavelengths[np.argmax(a)]
    assert 505 < peak < 525                                         # CsPbBr3 emission
    _, bright = acquire(1, 5e-3)
    assert bright.max() == 65535                                    # 16-bit saturation
