"""Thorlabs SC10: exact bytes (echo, answer, "> " prompt, error texts), the shutter in
time through plain pyvisa, the YAML in stock pyvisa-sim, and the driver against its twin
on the 355-nm line of the Q-smart."""

import pyvisa
import pytest
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.lumibird_qsmart import QSmart
from drivers.thorlabs_sc10 import SC10
from sim_instruments.twin import MODELS_DIR

from .simbench import generic_client, sim_of

RESOURCE = "ASRL3::INSTR"
LASER = "TCPIP0::169.254.0.1::10001::SOCKET"


def answer(command, value=None):
    """What the SC10 sends back, up to the prompt's ">", then the prompt's space."""
    return [(command, command + "\r" + ("" if value is None else value + "\r")), (None, " ")]


def test_protocol_answers_without_echo_and_prompt():
    with expected_protocol(SC10, answer("closed?", "1") + answer("open?", "250")) as sc:
        assert sc.closed is True
        assert sc.open_time == 0.25


def test_protocol_open_switches_to_manual_and_toggles_the_output():
    with expected_protocol(SC10, answer("interlock?", "0") + answer("mode?", "2")
                           + answer("mode=1") + answer("ens?", "0") + answer("ens")
                           + answer("closed?", "0")) as sc:
        sc.open_shutter()


def test_protocol_close_toggles_only_an_enabled_output():
    with expected_protocol(SC10, answer("ens?", "0") + answer("closed?", "1")) as sc:
        sc.close_shutter()


def test_protocol_open_refused_while_the_interlock_is_tripped():
    with expected_protocol(SC10, answer("interlock?", "1")) as sc:
        with pytest.raises(DeviceError, match="interlock is tripped"):
            sc.open_shutter()


def test_protocol_error_text_and_missing_echo_raise():
    with expected_protocol(SC10, answer("mode=5", "Command error CMD_ARG_INVALID")
                           + [("ens?", "1\r"), (None, " ")]) as sc:
        with pytest.raises(DeviceError, match="refused 'mode=5': Command error CMD_ARG_INVALID"):
            sc.mode = "external gate"
        with pytest.raises(DeviceError, match="did not echo 'ens\\?'"):
            sc.enabled


def test_bad_values_refused_before_any_byte():
    with expected_protocol(SC10, []) as sc:
        with pytest.raises(ValueError, match=r"100 is not in range \[1,99\]"):
            sc.repeat_count = 100
        with pytest.raises(ValueError, match=r"1000 is not in range \[0,999.999\]"):
            sc.open_time = 1000


def test_twin_through_plain_pyvisa():
    sim = sim_of(("Shutter.ns", "thorlabs-sc10", RESOURCE, {}))
    sc = generic_client(sim, RESOURCE, read_termination=">", write_termination="\r")

    def query(command):
        reply = sc.query(command)
        assert sc.read_bytes(1) == b" "
        return reply

    sc.write("id?")
    assert sc.read_raw() == b"id?\rTHORLABS SC10 VERSION 1.07\r>" and sc.read_bytes(1) == b" "
    assert query("ens") == "ens\r" and query("closed?") == "closed?\r0\r"      # manual: open
    assert query("mode=3") == "mode=3\r" and query("ens?") == "ens?\r0\r"      # mode change shuts
    assert query("open=200") == "open=200\r" and query("ens") == "ens\r"
    assert query("closed?") == "closed?\r0\r"
    sim.clock.sleep(0.25)                                                       # single: 200 ms
    assert query("closed?") == "closed?\r1\r" and query("ens?") == "ens?\r0\r"
    query("mode=2")
    query("ens")                                                                # auto: 200/100 ms
    sim.clock.sleep(0.25)
    assert query("closed?") == "closed?\r1\r"
    sim.clock.sleep(0.1)
    assert query("closed?") == "closed?\r0\r"
    assert query("mode=9") == "mode=9\rCommand error CMD_ARG_INVALID\r"
    assert query("rep=0") == "rep=0\rCommand error CMD_ARG_INVALID\r"
    assert query("open") == "open\rCommand error CMD_NOT_DEFINED\r"
    sim.twins["Shutter.ns"].open_interlock()
    assert query("interlock?") == "interlock?\r1\r" and query("closed?") == "closed?\r1\r"
    query("ens")
    assert query("ens?") == "ens?\r0\r"                                         # stays disabled


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'thorlabs_sc10.yaml'}@sim")
    sc = rm.open_resource(RESOURCE, read_termination=">", write_termination="\r")
    assert sc.query("id?") == "id?\rTHORLABS SC10 VERSION 1.07\r"
    rm.close()


def test_pulses_reach_the_sample_only_through_the_open_shutter():
    sim = sim_of(("PumpLaser.ns", "lumibird-qsmart", LASER, {"lamp_on": True}),
                 ("Shutter.ns", "thorlabs-sc10", RESOURCE, {}),
                 optics={"beam_lines": {".ns": {"line_transmission": 1e-4}}})
    laser = QSmart(LASER, visa_library=sim.library)
    shutter = SC10(RESOURCE, visa_library=sim.library)
    assert shutter.identity == "THORLABS SC10 VERSION 1.07"
    laser.open_shutter()
    assert sim.optics.pumps() == []                           # the SC10 blocks the beam
    shutter.open_shutter()
    [pump] = sim.optics.pumps()
    assert shutter.is_open and (pump.wavelength, pump.rep_rate) == (355.0, 10.0)
    shutter.safe_state()
    assert sim.twins["Shutter.ns"].safe_state_reached() and sim.optics.pumps() == []
    assert not shutter.is_open and laser.shutter_open         # the laser still fires
