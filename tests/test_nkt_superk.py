"""NKT SuperK EXTREME + VARIA: Interbus telegrams byte for byte (CRC and escapes computed
here independently), NACK / CRC-error replies, the twin through plain pyvisa, and the
driver against its twin down to the pump reaching the sample."""

import struct

import pytest
import pyvisa
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.nkt_superk import SuperK, crc16, telegram
from sim_instruments.twin import MODELS_DIR

from .simbench import generic_client, sim_of

# expected_protocol cannot split replies at the 0x0A terminator; every pair is one telegram.
pytestmark = pytest.mark.filterwarnings("ignore:Breaking on termination character")

RESOURCE = "ASRL4::INSTR"
SLOT = "PumpLaser.tunable"
HOST, EXTREME, VARIA = 0x40, 15, 16
NACK, CRC_ERROR, ACK, READ, WRITE, DATAGRAM = 0, 1, 3, 4, 5, 8


def xmodem(data: bytes) -> int:
    """CRC-16/XMODEM bit by bit (polynomial 0x1021, initial value 0)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def frame(dest, source, kind, register, data=b"") -> bytes:
    """A telegram built the way the Interbus description says."""
    body = bytes([dest, source, kind, register]) + data
    body += xmodem(body).to_bytes(2, "big")
    escaped = b"".join(bytes([0x5E, b + 0x40]) if b in (0x0A, 0x0D, 0x5E) else bytes([b])
                       for b in body)
    return b"\x0d" + escaped + b"\x0a"


def read(module, register, value=None, fmt="B"):
    """Request/reply pair of a register read."""
    reply = None if value is None else frame(HOST, module, DATAGRAM, register, struct.pack(fmt, value))
    return frame(module, HOST, READ, register), reply


def write(module, register, value, fmt="<H", reply=ACK):
    return (frame(module, HOST, WRITE, register, struct.pack(fmt, value)),
            frame(HOST, module, reply, register))


INIT = [read(EXTREME, 0x61, 0x60), read(VARIA, 0x61, 0x68)]


def test_crc_and_escapes_match_an_independent_implementation():
    assert crc16(b"123456789") == xmodem(b"123456789") == 0x31C3      # the CRC's check value
    request = telegram(EXTREME, HOST, READ, 0x30)
    assert request == frame(EXTREME, HOST, READ, 0x30)
    assert request[:5] == bytes([0x0D, 0x0F, 0x40, 0x04, 0x30]) and request[-1] == 0x0A
    # 26.6 % = 266 = 0x010A: the data byte 0x0A must travel as 0x5E 0x4A
    escaped = telegram(EXTREME, HOST, WRITE, 0x37, struct.pack("<H", 266))
    assert escaped[5:7] == b"\x5e\x4a" and escaped == frame(EXTREME, HOST, WRITE, 0x37, b"\x0a\x01")
    assert escaped.count(0x0A) == 1 and escaped.count(0x0D) == 1


def test_protocol_power_level_with_escaped_byte_and_checked_ack():
    with expected_protocol(SuperK, INIT + [write(EXTREME, 0x37, 266), read(EXTREME, 0x37, 266, "<H")]) as laser:
        laser.power_level = 26.6
        assert laser.power_level == pytest.approx(26.6)
        with pytest.raises(ValueError):
            laser.power_level = 120                   # refused before any byte


def test_protocol_nack_crc_error_and_corrupt_replies_raise():
    corrupt = bytearray(frame(HOST, EXTREME, ACK, 0x30))
    corrupt[-2] ^= 0x01
    with expected_protocol(SuperK, INIT + [
        write(EXTREME, 0x30, 3, "B", reply=NACK),
        write(EXTREME, 0x30, 3, "B", reply=CRC_ERROR),
        (frame(EXTREME, HOST, WRITE, 0x30, b"\x03"), bytes(corrupt)),
    ]) as laser:
        with pytest.raises(DeviceError, match="NACK"):
            laser.emission = True
        with pytest.raises(DeviceError, match="CRC error instead of ACK"):
            laser.emission = True
        with pytest.raises(DeviceError, match="CRC error in the reply"):
            laser.emission = True


def test_protocol_wrong_module_type_is_refused():
    with pytest.raises(DeviceError, match="has type 0x61, expected 0x60"):
        with expected_protocol(SuperK, [read(EXTREME, 0x61, 0x61)]):
            pass


def test_protocol_set_wavelength_writes_edges_and_waits_for_the_filters():
    with expected_protocol(SuperK, INIT + [
        write(VARIA, 0x34, 5950), write(VARIA, 0x33, 6050),
        read(VARIA, 0x66, 0x6000, "<H"), read(VARIA, 0x66, 0x0000, "<H"),
    ], bandwidth=10) as laser:
        laser.set_wavelength(600.0)
    with expected_protocol(SuperK, INIT, bandwidth=20) as laser:
        with pytest.raises(ValueError, match="outside the Varia's 400-850 nm.*410 to 840 nm"):
            laser.set_wavelength(845.0)
        with pytest.raises(ValueError, match="bandwidth 200 nm is outside its range"):
            laser.set_bandwidth(200)
    with pytest.raises(ValueError, match="bandwidth 5 nm"):
        with expected_protocol(SuperK, [], bandwidth=5):
            pass


def test_protocol_open_shutter_refused_while_interlock_is_off():
    with expected_protocol(SuperK, INIT + [read(EXTREME, 0x66, 0x000A, "<H")]) as laser:
        with pytest.raises(DeviceError, match="interlock relays off, interlock loop open"):
            laser.open_shutter()


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'nkt_superk.yaml'}@sim")
    rm.open_resource(RESOURCE)
    device = rm.visalib.devices[RESOURCE]
    assert device._properties["extreme_type"].get_value() == 0x60
    rm.close()


def test_twin_answers_real_telegrams_through_plain_pyvisa():
    sim = sim_of((SLOT, "nkt-superk", RESOURCE, {}))
    bus = generic_client(sim, RESOURCE, read_termination="\n", timeout=200)

    def ask(message):
        bus.write_raw(message)
        return bus.read_raw()

    assert ask(frame(VARIA, 0x52, READ, 0x61)) == frame(0x52, VARIA, DATAGRAM, 0x61, b"\x68")
    assert ask(frame(EXTREME, HOST, READ, 0x65)) == frame(HOST, EXTREME, DATAGRAM, 0x65, b"SK-EXT-SIM01")
    assert ask(frame(EXTREME, HOST, WRITE, 0x30, b"\x03")) == frame(HOST, EXTREME, ACK, 0x30)
    assert ask(frame(EXTREME, HOST, READ, 0x66)) == frame(HOST, EXTREME, DATAGRAM, 0x66, b"\x01\x00")
    assert ask(frame(EXTREME, HOST, READ, 0x99)) == frame(HOST, EXTREME, NACK, 0x99)       # unknown
    assert ask(frame(VARIA, HOST, WRITE, 0x61, b"\x00")) == frame(HOST, VARIA, NACK, 0x61)  # read-only
    assert ask(frame(EXTREME, HOST, WRITE, 0x30, b"\x01")) == frame(HOST, EXTREME, NACK, 0x30)
    too_far = struct.pack("<H", 9000)                                      # SWP at 900 nm
    assert ask(frame(VARIA, HOST, WRITE, 0x33, too_far)) == frame(HOST, VARIA, NACK, 0x33)
    bad = bytearray(frame(EXTREME, HOST, READ, 0x30))
    bad[-2] ^= 0xFF
    assert ask(bytes(bad)) == frame(HOST, EXTREME, CRC_ERROR, 0x30)
    bus.write_raw(frame(20, HOST, READ, 0x61))                             # nobody at 20
    with pytest.raises(pyvisa.VisaIOError):
        bus.read_raw()
    # moving the long-wave-pass edge 450 -> 600 nm takes 0.2 s + 150 nm / (100 nm/s)
    assert ask(frame(VARIA, HOST, WRITE, 0x34, struct.pack("<H", 6000))) == frame(HOST, VARIA, ACK, 0x34)
    assert ask(frame(VARIA, HOST, READ, 0x66)) == frame(HOST, VARIA, DATAGRAM, 0x66, struct.pack("<H", 1 << 14))
    sim.clock.sleep(1.8)
    assert ask(frame(VARIA, HOST, READ, 0x66)) == frame(HOST, VARIA, DATAGRAM, 0x66, b"\x00\x00")


def test_driver_against_twin_pump_reaches_the_sample_at_the_set_wavelength():
    sim = sim_of((SLOT, "nkt-superk", RESOURCE, {"spectral_density": 0.5e-3}),
                 optics={"beam_lines": {".tunable": {"line_transmission": 0.5}}})
    twin = sim.twins[SLOT]
    laser = SuperK(RESOURCE, visa_library=sim.library, bandwidth=20)
    assert laser.identity == "NKT Photonics,SuperK EXTREME,SK-EXT-SIM01,SuperK VARIA,SK-VAR-SIM01"
    laser.set_wavelength(480.0)
    assert (laser.wavelength, laser.bandwidth) == (480.0, 20.0) and not laser.filters_moving
    laser.power_level = 50
    assert sim.optics.pumps() == []                                        # emission off
    laser.open_shutter()
    [pump] = sim.optics.pumps()
    assert pump.wavelength == pytest.approx(480.0) and pump.rep_rate == 78e6
    energy = 0.5e-3 * 20 * 0.5 / 78e6                                      # W/nm · nm · level / Hz
    assert twin.laser_output().energy == pytest.approx(energy)
    assert sim.optics.pulse_energy_at_sample() == pytest.approx(0.5 * energy)
    assert laser.settings()["emission"] is True

    twin.open_interlock()                                                  # the door opens
    assert not laser.shutter_open and not laser.interlock_ok and sim.optics.pumps() == []
    with pytest.raises(DeviceError, match="interlock"):
        laser.open_shutter()
    twin.close_interlock()
    assert not laser.interlock_ok                                          # relays need a reset
    laser.reset_interlock()
    laser.open_shutter()
    assert laser.shutter_open
    laser.check_fault()
    laser.safe_state()
    assert twin.safe_state_reached() and sim.optics.pumps() == []
