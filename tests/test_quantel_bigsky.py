"""Quantel Big Sky Ultra: exact fixed-width bytes and the value check after sets, the
flashlamp/Q-switch state machine through plain pyvisa, the YAML in stock pyvisa-sim, and
the driver against its twin."""

import pyvisa
import pytest
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.quantel_bigsky import BigSkyUltra
from sim_instruments.twin import MODELS_DIR

from .simbench import generic_client, sim_of

RESOURCE = "ASRL10::INSTR"
FIRING = (">WOR", "i 0 f 2 s 1 q 0")


def bigsky(**options):
    return sim_of(("PumpLaser.bigsky", "quantel-bigsky", RESOURCE, options),
                  optics={"beam_lines": {".bigsky": {"line_transmission": 1e-4}}})


def test_protocol_set_answers_the_value_in_force():
    with expected_protocol(BigSkyUltra, [(">F1500", "freq.  15.00 Hz"),
                                         (">F2000", "freq.  15.00 Hz")]) as laser:
        laser.lamp_frequency = 15
        with pytest.raises(DeviceError, match="refused '>F2000'.*15.00 Hz"):
            laser.lamp_frequency = 20


def test_protocol_open_shutter_waits_out_the_qswitch_delay():
    with expected_protocol(BigSkyUltra, [
        FIRING, (">R1", "shutter open   "), (">IQ", "IQS 10 00 00 00"), (">IQ", "IQS 00 00 00 00"),
        (">PQ", "fire auto      "), (">WOR", "i 0 f 2 s 1 q 2"),
    ]) as laser:
        laser.open_shutter()


def test_protocol_open_shutter_refused_unless_the_flashlamp_fires():
    with expected_protocol(BigSkyUltra, [
        (">WOR", "i 0 f 0 s 1 q 0"), (">ST", "simmer         "),
        (">WOR", "i 1 f 0 s 0 q 0"), (">IF", "IF1 10 00 00 00"),
    ]) as laser:
        with pytest.raises(DeviceError, match="flashlamp is not firing \\('simmer'\\)"):
            laser.open_shutter()
        with pytest.raises(DeviceError, match="interlock is open \\(IF1 10 00 00 00\\)"):
            laser.open_shutter()


def test_protocol_qswitch_held_off_closes_the_shutter_again():
    with expected_protocol(BigSkyUltra, [
        FIRING, (">R1", "shutter open   "), (">IQ", "IQS 00 00 00 00"), (">PQ", "fire auto      "),
        (">WOR", "i 0 f 2 s 1 q 0"), (">IQ", "IQS 01 00 00 00"),
        (">SQ", "fire auto      "), (">R0", "shutter closed "),
    ]) as laser:
        with pytest.raises(DeviceError, match="held by: coolant too cold"):
            laser.open_shutter()


def test_protocol_flashlamp_start_and_refusal():
    with expected_protocol(BigSkyUltra, [
        (">ST", "standby        "), (">M", "simmer         "), (">A", "fire auto      "),
        (">ST", "standby        "), (">M", "standby        "), (">IF", "IF1 01 00 00 00"),
    ]) as laser:
        laser.start_lamp()
        with pytest.raises(DeviceError, match="answered '>M' with 'standby'.*IF1 01"):
            laser.start_lamp()


def test_bad_values_refused_before_any_byte():
    with expected_protocol(BigSkyUltra, []) as laser:
        with pytest.raises(ValueError, match=r"120 is not in range \[1,99.99\]"):
            laser.lamp_frequency = 120
        with pytest.raises(ValueError, match=r"50 is not in range \[100,999\]"):
            laser.qswitch_delay = 50


def test_twin_state_machine_through_plain_pyvisa():
    sim = bigsky()
    laser = generic_client(sim, RESOURCE, read_termination="\r\n", write_termination="\r\n")
    laser.write(">ST")
    assert laser.read_raw() == b"standby        \r\n"                  # 15 characters + CR LF
    assert laser.query(">A") == "standby        "                   # refused: simmer first
    assert laser.query(">M") == "simmer         " and laser.query(">A") == "fire auto      "
    assert laser.query(">R1") == "shutter open   "
    assert laser.query(">IQ") == "IQS 10 00 00 00"                  # 8-s delay after the lamp
    laser.query(">PQ")
    assert laser.query(">WOR") == "i 0 f 2 s 1 q 0" and sim.optics.pumps() == []
    sim.clock.sleep(8)
    laser.query(">PQ")
    assert laser.query(">WOR") == "i 0 f 2 s 1 q 2"
    assert sim.optics.pumps()[0].rep_rate == 10.0
    sim.clock.sleep(10)
    assert laser.query(">CQ") == "ct QS   5100100" and laser.query(">UC") == "cu LP       180"
    assert laser.query(">R0") == "shutter closed " and laser.query(">WOR") == "i 0 f 2 s 1 q 0"
    assert laser.query(">F99999") == "freq.  10.00 Hz"              # out of range: unchanged
    assert laser.query(">QSM1") == "QS mode : 1    " and laser.query(">QSP5") == "burst QS      5"
    laser.query(">R1")
    laser.query(">PQ")
    sim.clock.sleep(1)                                                # 5 pulses at 10 Hz
    assert laser.query(">WOR") == "i 0 f 2 s 1 q 0" and laser.query(">CQ") == "ct QS   5100105"
    assert laser.query(">cg") == "temp. CG 45 d  "                  # read case-insensitively
    assert laser.query(">P0") == "CG pump 0      "                  # the pump stops: shutdown
    assert laser.query(">ST") == "standby        " and laser.query(">IF") == "IF1 01 00 00 00"
    assert laser.query(">FIRE") == "unknown command"


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'quantel_bigsky.yaml'}@sim")
    laser = rm.open_resource(RESOURCE, read_termination="\r\n", write_termination="\r\n")
    assert laser.query(">SN") == "s/number  21457"
    rm.close()


def test_driver_against_twin_pulses_reach_the_sample_only_while_they_should():
    sim = bigsky()
    twin = sim.twins["PumpLaser.bigsky"]
    laser = BigSkyUltra(RESOURCE, visa_library=sim.library)
    assert laser.identity == "Quantel,Big Sky Ultra,21457"
    with pytest.raises(DeviceError, match="not firing"):
        laser.open_shutter()
    laser.start_lamp()
    assert sim.optics.pumps() == []
    laser.open_shutter()                                      # waits out the 8-s delay
    [pump] = sim.optics.pumps()
    assert (pump.wavelength, pump.rep_rate, pump.pulse_width) == (1064.0, 10.0, 8e-9)
    assert laser.shutter_open and laser.rep_rate == 10.0
    laser.safe_state()
    assert twin.safe_state_reached() and sim.optics.pumps() == []
    assert laser.state == "fire auto"                         # the flashlamp keeps firing


def test_driver_against_twin_interlock_shuts_the_laser_down():
    sim = bigsky(lamp_on=True)
    twin = sim.twins["PumpLaser.bigsky"]
    laser = BigSkyUltra(RESOURCE, visa_library=sim.library)
    laser.open_shutter()
    twin.open_interlock()
    assert not laser.shutter_open and not laser.interlock_ok and sim.optics.pumps() == []
    laser.check_fault()                       # a shutdown, not a fault: a run pauses on it
    with pytest.raises(DeviceError, match="interlock is open"):
        laser.open_shutter()
    laser.safe_state()                                        # still works while shut down
    assert twin.safe_state_reached()
