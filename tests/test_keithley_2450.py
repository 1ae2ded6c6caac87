"""Keithley 2450 (SCPI command set): exact bytes, the twin through plain pyvisa and stock
pyvisa-sim, the driver against its twin with a diode on the terminals."""

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
