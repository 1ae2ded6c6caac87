"""Keithley 2450 (SCPI command set): exact bytes, the twin through plain pyvisa and stock
pyvisa-sim, the driver against its twin with a diode on the terminals."""

from dataclasses import replace

import pytest
import pyvisa
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.keithley_2450 import Keithley2450
from sim_instruments.twin import MODELS_DIR

from .keithley_samples import diode_sample
from .simbench import generic_client, sim_of

RESOURCE = "USB0::0x05E6::0x2450::04096331::INSTR"
NO_ERROR = ("SYST:ERR?", '0,"No error;0;0 0"')


def test_protocol_set_voltage_selects_current_reading():
    with expected_protocol(Keithley2450, [
        (":SOUR:FUNC VOLT", None), (":SOUR:VOLT:LEV 3", None), (':SENS:FUNC "CURR"', None), NO_ERROR,
        (":SOUR:VOLT:ILIM 0.005", None), NO_ERROR,
        ("OUTPUT ON", None), NO_ERROR,
    ]) as smu:
        smu.set_voltage(3)
        smu.set_current_compliance(5e-3)
        smu.enable_output()


def test_protocol_set_current_and_voltage_limit():
    with expected_protocol(Keithley2450, [
        (":SOUR:FUNC CURR", None), (":SOUR:CURR:LEV 0.0001", None), (':SENS:FUNC "VOLT"', None), NO_ERROR,
        (":SOUR:CURR:VLIM 12", None), NO_ERROR,
    ]) as smu:
        smu.set_current(1e-4)
        smu.set_voltage_compliance(12)


def test_protocol_instrument_refusal_raises():
    with expected_protocol(Keithley2450, [
        (":SOUR:FUNC VOLT", None), (":SOUR:VOLT:LEV 30", None), (':SENS:FUNC "CURR"', None),
        ("SYST:ERR?", '-221,"Settings conflict;1;2026/01/01 00:00:01.000"'), NO_ERROR,
    ]) as smu:
        with pytest.raises(DeviceError, match="Keithley 2450 error -221: Settings conflict$"):
            smu.set_voltage(30)


def test_limits_refused_before_any_byte():
    with expected_protocol(Keithley2450, []) as smu:
        with pytest.raises(ValueError, match=r"current compliance 2 A is outside the Keithley "
                                             r"2450's range \[1e-09, 1.05\] A"):
            smu.set_current_compliance(2)
        with pytest.raises(ValueError, match=r"voltage compliance 0.01 V .*\[0.02, 210\] V"):
            smu.set_voltage_compliance(0.01)
        with pytest.raises(ValueError, match="source voltage -300 V"):
            smu.set_voltage(-300)


def test_protocol_reading_and_limit_trip():
    with expected_protocol(Keithley2450, [
        (":SOUR:FUNC?", "VOLT"), (':READ? "defbuffer1", READ, SOUR', "1.000000E-02,1.670000E+00"),
        (":SOUR:FUNC?", "VOLT"), (":SOUR:VOLT:ILIM:TRIP?", "1"),
        (":SOUR:FUNC?", "CURR"), (':READ? "defbuffer1", READ, SOUR', "1.100000E+00,1.000000E-03"),
        (":SOUR:FUNC?", "CURR"), (":SOUR:CURR:VLIM:TRIP?", "0"),
    ]) as smu:
        assert smu.measure() == (pytest.approx(1.67), pytest.approx(0.01))
        assert smu.in_compliance
        assert smu.measure() == (pytest.approx(1.1), pytest.approx(1e-3))
        assert not smu.in_compliance


def test_twin_through_plain_pyvisa():
    sim = sim_of(("SourceMeter.k2450", "keithley-2450", RESOURCE, {}))
    k = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n", timeout=200)
    assert k.query("*IDN?") == "KEITHLEY INSTRUMENTS,MODEL 2450,04096331,1.7.12b"
    assert k.query("*LANG?") == "SCPI"
    k.write(":SOURce:VOLTage 1.5")                            # level without :LEVel
    assert k.query(":SOUR:VOLT?") == "1.500000E+00"
    k.write(":SOUR:VOLT:ILIM 2")                               # beyond 1.05 A
    k.write(":SENS:FUNC 'RES'")                                # not a 2450 SCPI function here
    k.write(":SENS:CURR:PROTECTION 0.1")                       # the 2400's command
    entries = [k.query(":SYST:ERR?") for _ in range(4)]
    assert [e.split(";")[0] for e in entries] == [
        '-222,"Parameter data out of range', '-141,"Invalid character data',
        '-113,"Undefined header', '0,"No error']
    assert entries[0].endswith(';1;2026/01/01 00:00:00.000"') and entries[3] == '0,"No error;0;0 0"'
    k.write(":SENS:FUNC 'CURR'")
    assert k.query(":SENS:FUNC?") == '"CURR:DC"'
    amps, volts, unit = k.query(':READ? "defbuffer1", READ, SOUR, UNIT').split(",")
    assert abs(float(amps)) < 1e-9 and abs(float(volts)) < 1e-3 and unit == "Amp DC"   # off: 0 V
    k.write(":OUTP ON")
    amps, volts = (float(x) for x in k.query(':READ? "defbuffer1", READ, SOUR').split(","))
    assert volts == pytest.approx(1.5, abs=1e-3) and abs(amps) < 1e-9       # bare film leaks
    assert k.query(":SOUR:VOLT:ILIM:TRIP?") == "0"
    k.write(':READ? "mybuffer"')
    assert k.query(":SYST:ERR?").startswith('-224,"Illegal parameter value')


def test_stock_pyvisa_sim_loads_the_yaml():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'keithley_2450.yaml'}@sim")
    k = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    assert k.query("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2450")
    assert k.query("SOUR:VOLT:ILIM?") == "1.050000E-04"          # stock: short forms only
    assert k.query("SYST:LFR?") == "50"
    k.close()


def test_driver_against_twin_diode_and_compliance(tmp_path):
    sim = sim_of(("SourceMeter.k2450", "keithley-2450", RESOURCE, {}), sample=diode_sample(tmp_path))
    twin = sim.twins["SourceMeter.k2450"]
    smu = Keithley2450(RESOURCE, visa_library=sim.library)
    smu.set_current_compliance(0.01)
    smu.set_voltage(1.0)
    smu.enable_output()
    assert smu.output_enabled
    volts, amps = smu.measure()
    assert volts == pytest.approx(1.0, abs=1e-3) and 1e-4 < amps < 1e-3 and not smu.in_compliance
    assert twin.terminal_voltage() == pytest.approx(1.0)
    smu.set_voltage(4.0)
    volts, amps = smu.measure()
    assert smu.in_compliance and amps == pytest.approx(0.01, rel=1e-3) and 1.0 < volts < 2.0
    assert twin.terminal_voltage() == pytest.approx(volts, abs=1e-3)          # what the optics see
    smu.set_current(5e-3)
    smu.set_voltage_compliance(1.0)                                           # diode needs ~1.5 V
    volts, amps = smu.measure()
    assert smu.in_compliance and volts == pytest.approx(1.0, abs=1e-3) and amps < 1e-3
    assert smu.settings() | {"sense": "VOLT", "source": "current"} == smu.settings()
    smu.safe_state()
    assert twin.safe_state_reached() and twin.terminal_voltage() is None


# -- holds: trigger model blocks, timed by the instrument --------------------------------
def hold_messages(level: str, delays: list) -> list:
    blocks = [f":TRIG:BLOC:DEL:CONS {3 + k}, {d}" for k, d in enumerate(delays)]
    n = 3 + len(delays)
    return [("OUTPUT OFF", None), (":SOUR:FUNC VOLT", None), (f":SOUR:VOLT:LEV {level}", None),
            (':SENS:FUNC "CURR"', None), NO_ERROR,
            *[(m, None) for m in (':TRIG:LOAD "Empty"', ":TRIG:BLOC:BUFF:CLE 1",
                                  ":TRIG:BLOC:SOUR:STAT 2, ON", *blocks, f":TRIG:BLOC:MEAS {n}",
                                  f":TRIG:BLOC:SOUR:STAT {n + 1}, OFF")],
            NO_ERROR, (":INIT", None)]


def test_protocol_hold_then_reading():
    with expected_protocol(Keithley2450, [
        (":SENS:CURR:NPLC?", "1.000000E-02"), (":SYST:LFR?", "50"),
        *hold_messages("2.5", ["0.0298"]),
        (":TRIG:STAT?", "IDLE;IDLE;5"),
        (":SOUR:FUNC?", "VOLT"), (':FETC? "defbuffer1", READ, SOUR', "2.000000E-03,2.499900E+00"),
    ]) as smu:
        smu.hold_voltage(2.5, 0.03)                 # returns at once
        assert smu.held_reading() == (pytest.approx(2.4999), pytest.approx(2e-3))


def test_protocol_long_hold_takes_several_delay_blocks():
    with expected_protocol(Keithley2450, [
        (":SENS:CURR:NPLC?", "1.000000E+00"), (":SYST:LFR?", "50"),
        *hold_messages("-1", ["8333.32667"] * 3),
    ]) as smu:
        smu.hold_voltage(-1, 25000)                 # beyond one 10 ks delay block


def test_protocol_aborted_hold_has_no_reading():
    with expected_protocol(Keithley2450, [
        (":SENS:CURR:NPLC?", "1.000000E-02"), (":SYST:LFR?", "50"),
        *hold_messages("1", ["0.0298"]), (":TRIG:STAT?", "ABORTED;ABORTED;3"),
    ]) as smu:
        smu.hold_voltage(1, 0.03)
        with pytest.raises(DeviceError, match="the hold's trigger model ended ABORTED"):
            smu.held_reading()


def test_protocol_end_hold_and_safe_state():
    with expected_protocol(Keithley2450, [
        (":ABOR", None), ("OUTPUT OFF", None),
        (":ABOR", None), ("OUTPUT OFF", None), ("OUTPUT OFF", None),
        (":SOUR:FUNC VOLT", None), (":SOUR:VOLT:LEV 0", None), (':SENS:FUNC "CURR"', None), NO_ERROR,
    ]) as smu:
        smu.end_hold()
        smu.safe_state()


def test_hold_refusals():
    with expected_protocol(Keithley2450, []) as smu:
        with pytest.raises(ValueError, match=r"source voltage 300 V is outside the Keithley "
                                             r"2450's range \[-210, 210\] V"):
            smu.hold_voltage(300, 1.0)
        with pytest.raises(ValueError, match=r"hold of 200000 s is outside the Keithley 2450's "
                                             r"range \(0, 100000\] s \(10 delay blocks of 10000 s\)"):
            smu.hold_voltage(1.0, 2e5)
        with pytest.raises(ValueError, match="hold of 0 s is outside"):
            smu.hold_voltage(1.0, 0)
        with pytest.raises(DeviceError, match="no hold to read"):
            smu.held_reading()
    with expected_protocol(Keithley2450, [(":SENS:CURR:NPLC?", "1.000000E+00"), (":SYST:LFR?", "50")]) as smu:
        with pytest.raises(ValueError, match=r"hold of 0.01 s is shorter than one reading \(0.02 s\)"):
            smu.hold_voltage(1.0, 0.01)             # nothing set: only the queries went out


def test_twin_trigger_model_through_plain_pyvisa():
    sim = sim_of(("SourceMeter.k2450", "keithley-2450", RESOURCE, {"noise": 0.0}))
    twin = sim.twins["SourceMeter.k2450"]
    k = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n", timeout=200)
    assert k.query(":TRIGger:STATe?") == "EMPTY;EMPTY;0"
    for message in (":SOUR:VOLT 2", ":SENS:CURR:NPLC 1", ':TRIGger:LOAD "Empty"',
                    ":TRIG:BLOC:BUFF:CLE 1", ":TRIG:BLOC:SOUR:STAT 2, ON", ":TRIG:BLOC:DEL:CONS 3, 1.98",
                    ':TRIGger:BLOCk:MEASure 4, "defbuffer1"', ":TRIG:BLOC:SOUR:STAT 5, OFF"):
        k.write(message)
    assert k.query(":TRIG:STAT?") == "BUILDING;BUILDING;0" and k.query("OUTP?") == "0"
    k.write(":INIT")
    assert k.query(":TRIG:STAT?") == "RUNNING;RUNNING;3" and k.query("OUTP?") == "1"
    assert twin.terminal_voltage() == pytest.approx(2.0)
    k.write(":INIT")                                           # already running
    k.write(':FETC? "defbuffer1"')                             # nothing measured yet
    sim.clock.sleep(1.99)
    assert k.query(":TRIG:STAT?") == "RUNNING;RUNNING;4" and k.query("OUTP?") == "1"
    sim.clock.sleep(0.02)                                      # done: the output is off
    assert k.query(":TRIG:STAT?") == "IDLE;IDLE;5" and k.query("OUTP?") == "0"
    assert twin.terminal_voltage() is None
    amps, volts = k.query(':FETC? "defbuffer1", READ, SOUR').split(",")
    assert float(volts) == pytest.approx(2.0) and abs(float(amps)) < 1e-9     # bare film leaks
    k.write(":INIT")                                           # again, aborted in the delay
    sim.clock.sleep(1.0)
    k.write(":ABOR")
    sim.clock.sleep(2.0)
    assert k.query(":TRIG:STAT?") == "ABORTED;ABORTED;3"
    assert k.query("OUTP?") == "1" and twin.terminal_voltage() == pytest.approx(2.0)   # as left
    k.write(":TRIG:BLOC:DEL:CONS 3, 20000")                    # beyond 10 ks
    k.write(':TRIG:LOAD "SimpleLoop", 5')                      # not modelled
    k.write(":TRIG:BLOC:SOUR:STAT 2, MAYBE")
    k.write(":OUTP OFF")
    entries = [k.query(":SYST:ERR?").split(";")[0] for _ in range(6)]
    assert entries == ['-213,"Init ignored', '-230,"Data corrupt or stale', '-222,"Parameter data out of range',
                       '-113,"Undefined header', '-224,"Illegal parameter value', '0,"No error']
    assert twin.terminal_voltage() is None


def test_driver_hold_ends_by_itself_with_the_link_lost(tmp_path):
    sim = sim_of(("SourceMeter.k2450", "keithley-2450", RESOURCE, {}), sample=diode_sample(tmp_path))
    twin = sim.twins["SourceMeter.k2450"]
    smu = Keithley2450(RESOURCE, visa_library=sim.library)
    smu.set_current_compliance(0.01)
    start = sim.clock.now()
    smu.hold_voltage(1.0, 5.0)
    assert sim.clock.now() - start < 0.1                       # returned at once
    assert twin.terminal_voltage() == pytest.approx(1.0)
    sim.clock.sleep(4.9)
    assert twin.terminal_voltage() == pytest.approx(1.0)
    sim.clock.sleep(0.2)                                       # nothing sent since the start
    assert twin.terminal_voltage() is None                     # the last block switched it off
    volts, amps = smu.held_reading()
    env = sim.optics.environment()
    assert volts == pytest.approx(1.0, abs=1e-3)
    assert amps == pytest.approx(sim.sample.current(1.0, replace(env, bias_voltage=1.0)), rel=1e-2)
    assert 1e-4 < amps < 1e-3                                  # the diode conducts at 1 V
    smu.hold_voltage(1.2, 5.0)
    sim.clock.sleep(1.0)
    smu.end_hold()                                             # early: off now
    assert twin.terminal_voltage() is None and not smu.output_enabled
    smu.safe_state()
    assert twin.safe_state_reached()
    smu.check_fault()
