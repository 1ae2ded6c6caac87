"""Lumibird Q-smart: exact bytes (value + status lines, ERROR replies), the STATE machine
through plain pyvisa, the YAML in stock pyvisa-sim, and the driver against its twin."""

import pyvisa
import pytest
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.lumibird_qsmart import QSmart
from sim_instruments.twin import MODELS_DIR

from .simbench import generic_client, sim_of

RESOURCE = "TCPIP0::169.254.0.1::10001::SOCKET"
NS_LINE = {"beam_lines": {".ns": {"line_transmission": 1e-4}}}


def state(code):
    return [("STATE", f"STATE = {code}"), (None, "OK : STATE")]


def qsmart(**options):
    return sim_of(("PumpLaser.ns", "lumibird-qsmart", RESOURCE, options), optics=NS_LINE)


def test_protocol_query_reads_the_value_and_its_status_line():
    with expected_protocol(QSmart, [("CGTEMP", "CGTEMP = 38.5"), (None, "OK : CGTEMP"),
                                    ("QSPAR2", "QSPAR2 = 4"), (None, "OK : QSPAR2"),
                                    ("QSPAR3", "QSPAR3 = 1"), (None, "OK : QSPAR3")]) as laser:
        assert laser.cooling_temperature == 38.5
        assert laser.rep_rate == pytest.approx(2.5)          # 10 Hz flashlamp, 1 of 4 shots


def test_protocol_open_shutter_fires_the_qswitch_and_waits_for_the_shutter():
    with expected_protocol(QSmart, state(3) + [("QSW 1", "OK : QSW")] + state(4)
                           + state(5)) as laser:
        laser.open_shutter()


def test_protocol_open_shutter_refused_while_the_flashlamp_is_off():
    with expected_protocol(QSmart, state(2)) as laser:
        with pytest.raises(DeviceError, match=r"flashlamp is not running \(STATE 2"):
            laser.open_shutter()


def test_protocol_shutter_held_by_the_interlock_stops_the_qswitch_again():
    with expected_protocol(QSmart, state(3) + [("QSW 1", "OK : QSW")] + state(4) * 3
                           + [("QSW 0", "OK : QSW")]) as laser:
        laser.shutter_timeout = 1.0
        with pytest.raises(DeviceError, match="interlock open"):
            laser.open_shutter()


def test_protocol_error_reply_raises_and_settings_are_checked():
    with expected_protocol(QSmart, [("RUN", "ERROR : RUN not allowed in STATE 3"),
                                    ("QSPAR1 0", "OK : QSPAR1"), ("QSPAR2 5", "OK : QSPAR2"),
                                    ("QSPAR3 1", "OK : QSPAR3")]) as laser:
        with pytest.raises(DeviceError, match="refused 'RUN'.*STATE 3"):
            laser.start_lamp()
        laser.set_divider(5)


def test_bad_values_refused_before_any_byte():
    with expected_protocol(QSmart, []) as laser:
        with pytest.raises(ValueError, match=r"300 is not in range \[0,255\]"):
            laser.qswitch_delay = 300
        with pytest.raises(ValueError, match="XI"):
            laser.trigger_mode = "XI"


def test_twin_state_machine_through_plain_pyvisa():
    sim = qsmart(warmup=600, shutter_delay=1, nlo_warmup=40)
    laser = generic_client(sim, RESOURCE, read_termination="\r\n", write_termination="\n")
    laser.write("STATE")
    assert laser.read_raw() == b"STATE = 1\r\n" and laser.read_raw() == b"OK : STATE\r\n"
    assert laser.query("RUN") == "ERROR : RUN not allowed in STATE 1"     # warming up
    sim.clock.sleep(600)
    assert laser.query("CGTEMP") == "CGTEMP = 40.0" and laser.read() == "OK : CGTEMP"
    assert laser.query("QSW 1") == "ERROR : QSW 1 not allowed in STATE 2"
    assert laser.query("QSPAR2 2") == "OK : QSPAR2"                     # settings in STATE 1-2
    assert laser.query("RUN") == "OK : RUN"
    assert laser.query("QSPAR2 1") == "ERROR : QSPAR2 not allowed in STATE 3"
    assert laser.query("QSW 1") == "OK : QSW" and laser.query("STATE") == "STATE = 4"
    laser.read()
    sim.clock.sleep(1)
    assert sim.optics.pumps()[0].rep_rate == 5.0                        # every 2nd lamp shot
    for stage in (5, 6, 7, 8, 9):                                        # harmonic warm-up
        assert laser.query("STATE") == f"STATE = {stage}" and laser.read() == "OK : STATE"
        sim.clock.sleep(10)
    assert laser.query("SSHOT") == "SSHOT = 1250510" and laser.read() == "OK : SSHOT"
    assert laser.query("USHOT 0") == "OK : USHOT"
    sim.clock.sleep(2)
    assert laser.query("USHOT") == "USHOT = 20" and laser.read() == "OK : USHOT"
    assert laser.query("QDLY 256") == "ERROR : invalid parameter"
    assert laser.query("FIRE") == "ERROR : unknown command"
    assert laser.query("STOP") == "OK : STOP" and laser.query("STATE") == "STATE = 2"


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'lumibird_qsmart.yaml'}@sim")
    laser = rm.open_resource(RESOURCE, read_termination="\r\n", write_termination="\n")
    assert laser.query("MODEL") == "MODEL = Q-SMART 450" and laser.read() == "OK : MODEL"
    rm.close()


def test_driver_against_twin_pulses_reach_the_sample_only_while_the_qswitch_fires():
    sim = qsmart()
    twin = sim.twins["PumpLaser.ns"]
    laser = QSmart(RESOURCE, visa_library=sim.library)
    assert laser.identity == "Lumibird,Q-SMART 450,PSVERS 2.07,LVERS 1.15"
    with pytest.raises(DeviceError, match="start it"):
        laser.open_shutter()
    laser.start_lamp()
    assert sim.optics.pumps() == []                          # flashlamp alone: no pulses
    laser.open_shutter()
    [pump] = sim.optics.pumps()
    assert (pump.wavelength, pump.rep_rate, pump.pulse_width) == (355.0, 10.0, 5e-9)
    assert sim.optics.pulse_energy_at_sample() == pytest.approx(0.2 * 1e-4)
    assert laser.shutter_open and not twin.safe_state_reached()
    laser.safe_state()
    assert twin.safe_state_reached() and sim.optics.pumps() == []
    assert laser.state == 3                                  # the flashlamp keeps flashing


def test_driver_against_twin_interlock():
    sim = qsmart(lamp_on=True)
    twin = sim.twins["PumpLaser.ns"]
    laser = QSmart(RESOURCE, visa_library=sim.library)
    laser.open_shutter()
    twin.open_interlock()                                     # someone opens the door
    assert not laser.shutter_open and sim.optics.pumps() == []
    with pytest.raises(DeviceError, match="interlock open"):
        laser.open_shutter()
    assert laser.state == 3 and twin.safe_state_reached()    # the Q-switch was stopped
    twin.close_interlock()
    laser.open_shutter()
    assert laser.shutter_open and laser.interlock_ok


def test_garbled_state_code_is_a_reply_error_not_a_string():
    from drivers.base import ReplyError
    with expected_protocol(QSmart, [("STATE", "STATE = NaN"), (None, "OK : STATE")]) as laser:
        with pytest.raises(ReplyError, match="expected an integer"):
            laser.state
