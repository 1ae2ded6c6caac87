"""Coherent Astrella: exact bytes, the ready/interlock/shutter state machine."""

import pytest
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.coherent_astrella import Astrella

from .simbench import generic_client, sim_of

INIT = [("PROMPT=0", ""), ("ECHO=0", ""), ("HEARTBEAT=0", "")]
RESOURCE = "ASRL1::INSTR"


def test_protocol_open_shutter_checks_interlock_and_ready():
    with expected_protocol(Astrella, INIT + [
        ("?IL", "1"), ("?ST", "Warming Up"), ("?ST", "Ready"), ("SHUTTER=1", ""),
    ]) as laser:
        laser.open_shutter()


def test_protocol_refusal_raises():
    with expected_protocol(Astrella, INIT + [
        ("SHUTTER=1", "Error: Shutter cannot open, laser not ready")]) as laser:
        with pytest.raises(DeviceError, match="laser not ready"):
            laser.shutter = True


def test_protocol_readings():
    with expected_protocol(Astrella, INIT + [("?WV", "400.0"), ("?RR", "1000"), ("?PW", "100")]) as laser:
        assert laser.wavelength == 400.0
        assert laser.rep_rate == 1000.0
        assert laser.pulse_width == pytest.approx(100e-15)


def test_twin_state_machine_through_plain_pyvisa():
    sim = sim_of(("PumpLaser", "coherent-astrella", RESOURCE, {"warmup": 30}))
    laser = generic_client(sim, RESOURCE, read_termination="\r\n", write_termination="\r\n")
    assert laser.query("?ST") == "Ready"
    assert laser.query("L=0") == ""
    assert laser.query("SHUTTER=1") == "Error: Shutter cannot open, laser not ready"
    assert laser.query("L=1") == "" and laser.query("?ST") == "Warming Up"
    sim.clock.sleep(31)
    assert laser.query("?ST") == "Ready"
    assert laser.query("SHUTTER=1") == "" and laser.query("?SHUTTER") == "1"
    assert sim.optics.pumps()[0].wavelength == 400.0       # the beam reaches the sample
    sim.twins["PumpLaser"].open_interlock()                 # the door opens
    assert laser.query("?SHUTTER") == "0" and laser.query("?IL") == "0"
    assert laser.query("SHUTTER=1").startswith("Error")
    assert laser.query("SHUTTER=5") == "Error: Value out of range"
    assert laser.query("FIRE") == "Error: Command not recognized"


def test_driver_against_twin_safe_state():
    sim = sim_of(("PumpLaser", "coherent-astrella", RESOURCE, {}))
    laser = Astrella(RESOURCE, visa_library=sim.library)
    assert laser.identity == "Coherent,Astrella,AST-SIM-0001,3.2.1"
    laser.open_shutter()
    assert laser.shutter_open and not sim.twins["PumpLaser"].safe_state_reached()
    laser.safe_state()
    assert sim.twins["PumpLaser"].safe_state_reached()
    assert sim.optics.pumps() == []


def test_protocol_fault_codes():
    from drivers.base import ReplyError
    with expected_protocol(Astrella, INIT + [("?F", "0"), ("?F", "12,34"), ("?F", "1x,#")]) as laser:
        laser.check_fault()
        with pytest.raises(DeviceError, match="fault\\(s\\) 12,34"):
            laser.check_fault()
        with pytest.raises(ReplyError, match="not numbers"):          # garbage: retried, not a crash
            laser.check_fault()
