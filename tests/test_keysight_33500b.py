"""Keysight 33500B (pymeasure's Agilent33500 wrapped): exact bytes, the twin's pulse,
level and load constraints through plain pyvisa, and the drive the sample sees."""

from pathlib import Path

import pytest
import pyvisa
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.keysight_33500b import Keysight33500B
from sim_instruments.sample import PulseDrive

from .simbench import generic_client, sim_of

RESOURCE = "USB0::0x0957::0x2807::MY57000001::INSTR"
YAML = Path(__file__).parents[1] / "sim_instruments" / "models" / "keysight_33500b.yaml"
NO_ERROR = ("SYST:ERR?", '+0,"No error"')
SET_PULSE = [
    ("FUNC PULS", None), ("OUTP:LOAD INF", None),
    ("FUNC:PULS:TRAN:BOTH 8.400000e-09", None), ("FUNC:PULS:WIDT 1.600000e-08", None),
    ("FUNC:PULS:PER 1.000000e-03", None), ("FUNC:PULS:WIDT 1.000000e-05", None),
    ("FUNC:PULS:TRAN:BOTH 1.000000e-08", None),
    ("VOLT:HIGH 5.000000", None), ("VOLT:LOW 0.000000", None),
]


def test_protocol_set_pulse_narrows_first_and_reads_the_error_queue():
    with expected_protocol(Keysight33500B, SET_PULSE + [NO_ERROR]) as gen:
        gen.set_pulse(5.0, 10e-6, 1e-3)


def test_protocol_instrument_error_after_a_set_raises():
    with expected_protocol(Keysight33500B, SET_PULSE + [
        ("SYST:ERR?", '-221,"Settings conflict;pulse width too large for period"'), NO_ERROR,
    ]) as gen:
        with pytest.raises(DeviceError, match="-221,.*Settings conflict"):
            gen.set_pulse(5.0, 10e-6, 1e-3)


def test_protocol_bad_pulses_refused_before_any_byte():
    with expected_protocol(Keysight33500B, [], load=50) as gen:
        with pytest.raises(ValueError, match=r"amplitude 6 V .* \[0.001, 5\] V"):
            gen.set_pulse(6.0, 10e-6, 1e-3)
        with pytest.raises(ValueError, match=r"width 0.001 s does not fit the period 0.001 s"):
            gen.set_pulse(1.0, 1e-3, 1e-3)
        with pytest.raises(ValueError, match=r"period 1e-08 s is outside"):
            gen.set_pulse(1.0, 20e-9, 10e-9)
        with pytest.raises(ValueError, match="burst count 0"):
            gen.set_burst(0)


def test_protocol_burst_trigger_and_ignored_trigger():
    with expected_protocol(Keysight33500B, [
        ("BURS:MODE TRIG", None), ("BURS:NCYC 10", None), ("TRIG:SOUR BUS", None),
        ("BURS:STAT 1", None), NO_ERROR,
        ("*TRG", None), NO_ERROR,
        ("*TRG", None), ("SYST:ERR?", '-211,"Trigger ignored"'), NO_ERROR,
    ]) as gen:
        gen.set_burst(10)
        gen.trigger()
        with pytest.raises(DeviceError, match="Trigger ignored"):
            gen.trigger()


def test_protocol_safe_state_output_off_then_minimum_amplitude():
    with expected_protocol(Keysight33500B, [
        ("OUTP 0", None), ("OUTP:LOAD INF", None), ("VOLT:HIGH 0.002000", None), ("VOLT:LOW 0.000000", None), NO_ERROR,
    ]) as gen:
        gen.safe_state()


def test_twin_constraints_through_plain_pyvisa():
    sim = sim_of(("PulseGenerator", "keysight-33500b", RESOURCE, {}))
    gen = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n")

    def errors():
        found = []
        while (entry := gen.query("SYST:ERR?")) != '+0,"No error"':
            found.append(entry)
        return found

    assert gen.query("*IDN?").startswith("Keysight Technologies,33522B")
    gen.write("SOURce:FUNCtion PULSe")
    assert gen.query("FUNC?") == "PULS"
    gen.write("FUNC:PULS:PER 1e-5")                     # the 100 µs default width does not fit
    assert errors() == ['-221,"Settings conflict;pulse width too large for period"']
    assert float(gen.query("FUNC:PULS:PER?")) == pytest.approx(1e-3)
    gen.write("FUNC:PULS:WIDT 1e-6")
    gen.write("FUNC:PULS:TRAN 7e-7")                     # 1.6 × 700 ns > 1 µs of pulse
    assert errors() == ['-222,"Data out of range;edge time too large for pulse width"']
    gen.write("FREQ 2e4")                                # FREQ and PER are one setting
    assert float(gen.query("FUNC:PULS:PER?")) == pytest.approx(5e-5)
    gen.write("VOLT:HIGH 7")                             # ±5 V into the default 50 Ω
    assert errors() == ['-222,"Data out of range"']
    gen.write("VOLT:HIGH 4")
    gen.write("OUTPut:LOAD INFinity")                    # same output, shown for high impedance
    assert float(gen.query("VOLT:HIGH?")) == pytest.approx(8.0)
    assert float(gen.query("OUTP:LOAD?")) == pytest.approx(9.9e37)
    gen.write("VOLT:LOW 8")                              # low must stay below high
    gen.write("BURS:MODE SOMETIMES")
    gen.write("FREQ fast")
    gen.write("*TRG")                                    # trigger source is IMMediate
    gen.write("FUNC:PULS:SHAPE 1")
    assert errors() == ['-221,"Settings conflict;high level must exceed low level"',
                        '-224,"Illegal parameter value"', '-104,"Data type error"',
                        '-211,"Trigger ignored"', '-113,"Undefined header"']


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{YAML}@sim")
    gen = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    assert gen.query("*IDN?").startswith("Keysight Technologies,33522B")
    gen.write("FUNC:PULS:WIDT 2e-5")
    assert float(gen.query("FUNC:PULS:WIDT?")) == pytest.approx(2e-5)
    gen.close()


def test_driver_drives_the_sample_in_bursts_and_reaches_safe_state():
    sim = sim_of(("PulseGenerator", "keysight-33500b", RESOURCE, {}))
    twin = sim.twins["PulseGenerator"]
    gen = Keysight33500B(RESOURCE, visa_library=sim.library)
    assert gen.identity.startswith("Keysight Technologies,33522B,MY57000001")
    gen.set_pulse(5.0, 10e-6, 1e-3)
    assert twin.pulse_drive() is None and not gen.output_enabled
    gen.enable_output()
    assert gen.output_enabled
    assert sim.optics.environment().drive == PulseDrive(5.0, 10e-6, 1e-3)
    gen.set_pulse(2.0, 20e-9, 50e-9)                    # a shorter period than the width before
    assert twin.pulse_drive() == PulseDrive(2.0, 20e-9, 50e-9)
    gen.set_burst(100)
    assert twin.pulse_drive() is None                   # waiting for the trigger
    gen.trigger()
    assert twin.pulse_drive() == PulseDrive(2.0, 20e-9, 50e-9)
    sim.clock.sleep(100 * 50e-9 + 1e-9)
    assert twin.pulse_drive() is None                   # the burst is over
    assert gen.settings()["burst_count"] == 100
    gen.safe_state()
    assert twin.safe_state_reached() and twin.pulse_drive() is None
    assert gen.settings()["high_V"] == pytest.approx(0.002)
