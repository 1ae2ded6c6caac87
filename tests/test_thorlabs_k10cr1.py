"""Thorlabs K10CR1 (APT protocol): message bytes as documented, the asynchronous
MOVE_COMPLETED / MOVE_HOMED messages, stop, refusals, and the variable ND wheel's
transmission against the optics' true one."""

import struct

import pytest
import pyvisa
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.thorlabs_k10cr1 import K10CR1, VariableNDAttenuator
from sim_instruments.twin import MODELS_DIR

from .simbench import generic_client, sim_of

RESOURCE = "ASRL13::INSTR"
COUNTS = 409600 / 3                      # microsteps per degree
HOMED, ENABLED, FORWARD = 0x400, 0x80000000, 0x10


def short(message_id, p1=0, p2=0, dest=0x50, source=0x01):
    return struct.pack("<HBBBB", message_id, p1, p2, dest, source)


def long(message_id, data, dest=0x50, source=0x01):
    return struct.pack("<HHBB", message_id, len(data), dest | 0x80, source) + data


def reply(message_id, data):
    return long(message_id, data, dest=0x01, source=0x50)


def status(bits):
    return (short(0x0429, 1), reply(0x042A, struct.pack("<HI", 1, bits)))


INFO = struct.pack("<i8sH4B60sHHH", 55000123, b"K10CR1\0\0", 16, 3, 0, 1, 0, b"", 1, 0, 1)
INIT = [(short(0x0012), None), (short(0x0005), reply(0x0006, INFO)), (short(0x0210, 1, 1), None)]


def test_message_bytes_match_the_apt_documentation():
    # MOT_MOVE_HOME and MOT_MOVE_ABSOLUTE(2048 microsteps) as printed in the
    # thorlabs-apt-protocol README (the APT manual's layout)
    home = b"C\x04\x01\x00P\x01"
    move = b"S\x04\x06\x00\xd0\x01\x01\x00\x00\x08\x00\x00"
    homed = short(0x0444, 1, dest=0x01, source=0x50)
    completed = reply(0x0464, struct.pack("<HiiI", 1, 2048, 0, HOMED | ENABLED))
    with expected_protocol(K10CR1, INIT + [
        status(ENABLED),                                             # not homed yet
        (home, None), status(ENABLED | 0x200 | 0x20),              # homing, turning back
        (short(0x0429, 1), homed + status(HOMED | ENABLED)[1]),    # homed arrives unasked
        (move, None),
        (short(0x0429, 1), status(HOMED | ENABLED | FORWARD)[1]),
        (short(0x0429, 1), completed + status(HOMED | ENABLED)[1]),
    ]) as stage:
        assert stage.identity == "Thorlabs,K10CR1,55000123,1.0.3"
        stage.move_to(2048 / COUNTS)
        assert stage.notifications == {}


def test_rich_response_refusal_raises():
    notes = b"channel disabled: motion refused".ljust(64, b"\0")
    refused = reply(0x0081, struct.pack("<HH64s", 0x0453, 1, notes))
    with expected_protocol(K10CR1, INIT + [
        status(HOMED), (long(0x0453, struct.pack("<Hi", 1, 0)), None),
        (short(0x0429, 1), refused),
    ]) as stage:
        with pytest.raises(DeviceError, match="refused message 0x0453 .*channel disabled"):
            stage.move_to(0.0)


def test_limits_and_velocity_refused_before_any_byte():
    with expected_protocol(K10CR1, INIT, limits=(0, 270)) as stage:
        with pytest.raises(ValueError, match=r"300 deg is outside the travel limits \[0, 270\] deg"):
            stage.move_to(300)
        with pytest.raises(ValueError, match=r"velocity 20 deg/s is outside \(0, 10\]"):
            stage.velocity = 20


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'thorlabs_k10cr1.yaml'}@sim")
    rm.open_resource("ASRL5::INSTR")
    assert rm.visalib.devices["ASRL5::INSTR"]._properties["model"].get_value() == "K10CR1"
    rm.close()


def test_twin_moves_homes_and_reports_when_done():
    sim = sim_of(("RotationStage.k10cr1", "thorlabs-k10cr1", RESOURCE, {"initial_position": 30.0}))
    apt = generic_client(sim, RESOURCE, timeout=50)
    apt.write_raw(short(0x0005))
    info = apt.read_bytes(90)
    assert info[:2] == b"\x06\x00" and info[10:16] == b"K10CR1"
    apt.write_raw(long(0x0453, struct.pack("<Hi", 1, round(20 * COUNTS))))   # counter: 0 at 30°
    with pytest.raises(pyvisa.VisaIOError):
        apt.read_bytes(6)                                   # nothing while it turns (10°/s)
    sim.clock.sleep(1.0)
    apt.write_raw(short(0x0411, 1))
    _, counts = struct.unpack("<Hi", apt.read_bytes(12)[6:])
    assert 5 * COUNTS < counts < 15 * COUNTS
    sim.clock.sleep(1.5)
    done = apt.read_bytes(20)                               # MOVE_COMPLETED, unasked
    assert struct.unpack_from("<HHBB", done) == (0x0464, 14, 0x81, 0x50)
    _, position, _, bits = struct.unpack("<HiiI", done[6:])
    assert position == round(20 * COUNTS) and not bits & 0x30
    assert sim.twins["RotationStage.k10cr1"].position() == pytest.approx(50.0)
    apt.write_raw(short(0x0443, 1))                          # home: back to the switch at 0°
    sim.clock.sleep(11.0)                                    # 50° at 5°/s
    assert apt.read_bytes(6) == short(0x0444, 1, dest=0x01, source=0x50)
    apt.write_raw(short(0x0429, 1))
    assert struct.unpack("<HI", apt.read_bytes(12)[6:])[1] & HOMED
    apt.write_raw(long(0x0453, struct.pack("<Hi", 1, round(90 * COUNTS))))
    sim.clock.sleep(2.0)
    apt.write_raw(short(0x0465, 1, 2))                       # stop: MOVE_STOPPED at once
    stopped = apt.read_bytes(20)
    assert stopped[:2] == b"\x66\x04"
    assert struct.unpack("<HiiI", stopped[6:])[1] == pytest.approx(20 * COUNTS, abs=2)
    sim.clock.sleep(10.0)
    with pytest.raises(pyvisa.VisaIOError):
        apt.read_bytes(6)                                    # a stopped move never completes
    apt.write_raw(short(0x0210, 1, 2))                       # disable the channel
    apt.write_raw(long(0x0453, struct.pack("<Hi", 1, 0)))
    refused = apt.read_bytes(74)
    assert refused[:2] == b"\x81\x00" and struct.unpack_from("<H", refused, 6)[0] == 0x0453
    apt.write_raw(short(0x0999, 1))                          # unknown: ignored
    with pytest.raises(pyvisa.VisaIOError):
        apt.read_bytes(6)


def test_driver_homes_moves_stops_and_reaches_safe_state():
    sim = sim_of(("RotationStage.k10cr1", "thorlabs-k10cr1", RESOURCE, {"initial_position": 100.0}))
    twin = sim.twins["RotationStage.k10cr1"]
    stage = K10CR1(RESOURCE, visa_library=sim.library)
    assert not stage.homed
    stage.move_to(45.0)                                      # homes first
    assert stage.homed and stage.angle == pytest.approx(45.0) and twin.position() == pytest.approx(45.0)
    stage.velocity = 5.0
    assert stage.velocity == pytest.approx(5.0)
    stage.move_to(-90.0, wait=False)
    sim.clock.sleep(3.0)
    assert twin.moving()
    stage.safe_state()                                       # stops
    assert twin.safe_state_reached() and stage.angle == pytest.approx(30.0, abs=0.2)
    stage.check_fault()
    assert stage.settings()["homed"] is True


ND_LAW = {"kind": "nd-wheel", "zero_angle": 0.0, "max_transmission": 0.9, "max_density": 4.0,
          "span": 270}


def test_nd_wheel_transmission_matches_the_optics():
    sim = sim_of(("Attenuator.ns", "nd-wheel-k10cr1", "ASRL5::INSTR", {"initial_position": 200.0}),
                 optics={"beam_lines": {".ns": {"attenuator": ND_LAW}}})
    twin = sim.twins["Attenuator.ns"]
    law = sim.optics.lines[".ns"].attenuator
    wheel = VariableNDAttenuator.open("ASRL5::INSTR", visa_library=sim.library, connection={},
                                      options={"calibration": {"zero_angle": 0.2, "max_density": 3.98,
                                                               "span": 269.5, "max_pulse_energy": 9e-7}})
    with pytest.raises(DeviceError, match="not homed"):
        wheel.transmission
    for wanted in (1.0, 0.3, 1e-2, 1e-3):
        wheel.set_transmission(wanted)
        true = law.transmission(twin.position()) / 0.9
        assert true == pytest.approx(wanted, rel=0.03)
        assert wheel.transmission == pytest.approx(wanted, rel=1e-4)
    wheel.set_pulse_energy(4.5e-7)
    assert law.transmission(twin.position()) / 0.9 == pytest.approx(0.5, rel=0.03)
    assert not twin.safe_state_reached()                     # standing still, but bright
    with pytest.raises(ValueError, match="outside"):
        wheel.set_transmission(1.5)
    wheel.safe_state()
    assert twin.safe_state_reached()
    assert law.transmission(twin.position()) == pytest.approx(0.9e-4, rel=0.03)
    assert wheel.settings()["optical_density"] == pytest.approx(3.98)
