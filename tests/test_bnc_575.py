"""BNC 575: exact lines with the serial echo, ok / ?n replies, the twin through plain
pyvisa, and the driver against its twin on serial and on LAN (no echo)."""

from pathlib import Path

import pytest
import pyvisa
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.bnc_575 import BNC575
from sim_instruments.sample import PulseDrive

from .simbench import generic_client, sim_of

RESOURCE = "ASRL11::INSTR"
SLOT = "PulseGenerator.bnc"
YAML = Path(__file__).parents[1] / "sim_instruments" / "models" / "bnc_575.yaml"


def echoed(command, reply="ok"):
    """A command line on the serial port: its echo, then the reply."""
    return [(command, command), (None, reply)]


SET_PULSE = sum((echoed(c) for c in (
    ":PULSE1:OUTP:MODE ADJ", ":PULSE1:OUTP:AMPL 5.00", ":PULSE1:POL NORM", ":PULSE1:DELAY 0",
    ":PULSE1:WIDT 1e-05", ":PULSE0:PER 0.001")), [])


def test_protocol_set_pulse_reads_echo_and_ok():
    with expected_protocol(BNC575, SET_PULSE, echo=True) as bnc:
        bnc.set_pulse(5.0, 10e-6, 1e-3)


def test_protocol_error_reply_and_wrong_echo_raise():
    with expected_protocol(BNC575, echoed(":PULSE1:OUTP:MODE ADJ", "?8"), echo=True) as bnc:
        with pytest.raises(DeviceError, match=r"\?8: command unavailable in the current system"):
            bnc.set_pulse(5.0, 10e-6, 1e-3)
    with expected_protocol(BNC575, [(":PULSE1:STATE OFF", ":PULSE1:STATE ON")], echo=True) as bnc:
        with pytest.raises(DeviceError, match="echoed"):
            bnc.disable_output()


def test_protocol_queries_burst_and_trigger():
    with expected_protocol(BNC575, echoed(":PULSE1:STATE?", "1") + echoed(":PULSE0:STATE?", "0")
                           + echoed(":PULSE0:MODE BURS") + echoed(":PULSE0:BCO 25")
                           + echoed(":PULSE0:TRIG:MODE TRIG") + echoed("*TRG", "?8"),
                           echo=True) as bnc:
        assert bnc.output_enabled is False
        bnc.set_burst(25)
        with pytest.raises(DeviceError, match=r"\?8"):
            bnc.trigger()


def test_protocol_without_echo_and_refusals_before_any_byte():
    with expected_protocol(BNC575, [(":PULSE2:STATE OFF", "ok"), (":PULSE2:OUTP:AMPL 2.00", "ok")],
                           channel=2, echo=False) as bnc:
        with pytest.raises(ValueError, match=r"amplitude 25 V is outside .* \[2, 20\] V"):
            bnc.set_pulse(25.0, 1e-6, 1e-3)
        with pytest.raises(ValueError, match=r"width 0.002 s .* shorter than the period 0.001 s"):
            bnc.set_pulse(5.0, 2e-3, 1e-3)
        bnc.safe_state()


def test_twin_echo_and_error_codes_through_plain_pyvisa():
    sim = sim_of((SLOT, "bnc-575", RESOURCE, {}))
    bnc = generic_client(sim, RESOURCE, read_termination="\r\n", write_termination="\r\n")

    def line(command):
        bnc.write(command)
        assert bnc.read() == command                    # the serial echo
        return bnc.read()

    assert line("*IDN?").startswith("BNC,575")
    assert line(":PULSE1:WIDTH 25e-6") == "ok"
    assert line(":pulse1:widt?") == "0.000025000"
    assert line(":PULSE0:MODE BURST") == "ok" and line(":PULS0:MOD?") == "BURS"
    assert line(":PULSE1:STATE ON") == "ok" and line(":PULSE1:STATE?") == "1"
    assert [line(c) for c in ("PULSE1:WIDT 1e-6", ":PULSE1::WIDT 1", ":PULSE7:WIDT 1e-6",
                              ":PULSE1:WIDT", ":PULSE1:OUTP:AMPL 30", "*IDN", "*TRG?", "*TRG")] \
        == ["?1", "?2", "?3", "?4", "?5", "?6", "?7", "?8"]
    bnc.write(":SYST:ECH OFF")
    assert bnc.read() == ":SYST:ECH OFF" and bnc.read() == "ok"
    assert bnc.query(":PULSE1:WIDT?") == "0.000025000"   # no echo any more


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{YAML}@sim")
    bnc = rm.open_resource(RESOURCE, read_termination="\r\n", write_termination="\r\n")
    assert bnc.query("*IDN?").startswith("BNC,575")
    assert bnc.query(":PULS2:WIDT 2e-6") == "ok" and bnc.query(":PULS2:WIDT?") == "0.000002000"
    assert bnc.query(":PULS2:OUTP:AMPL 30") == "?5"
    bnc.close()


def test_driver_against_twin_drives_bursts_and_reaches_safe_state():
    sim = sim_of((SLOT, "bnc-575", RESOURCE, {}))
    twin = sim.twins[SLOT]
    bnc = BNC575(RESOURCE, visa_library=sim.library)
    assert bnc.echo and bnc.identity.startswith("BNC,575-4")
    bnc.set_pulse(8.0, 5e-6, 1e-3)
    assert not bnc.output_enabled and twin.pulse_drive() is None
    bnc.enable_output()
    assert bnc.output_enabled and twin.pulse_drive() == PulseDrive(8.0, 5e-6, 1e-3)
    bnc.set_burst(3)
    assert twin.pulse_drive() is None                    # waiting for a trigger
    bnc.trigger()
    assert twin.pulse_drive() == PulseDrive(8.0, 5e-6, 1e-3)
    sim.clock.sleep(3.1e-3)
    assert twin.pulse_drive() is None                    # three periods later
    bnc.set_burst(None)
    with pytest.raises(DeviceError, match=r"\?8"):
        bnc.trigger()
    assert bnc.settings()["amplitude_V"] == 8.0
    bnc.safe_state()
    assert twin.safe_state_reached() and not bnc.output_enabled


def test_driver_on_lan_reads_no_echo():
    resource = "TCPIP::192.168.1.57::2101::SOCKET"
    sim = sim_of((SLOT, "bnc-575", resource, {}))
    bnc = BNC575(resource, visa_library=sim.library)
    assert not bnc.echo
    bnc.set_pulse(3.0, 1e-6, 1e-4)
    bnc.enable_output()
    assert sim.twins[SLOT].pulse_drive() == PulseDrive(3.0, 1e-6, 1e-4)
