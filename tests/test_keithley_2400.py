"""Keithley 2400: exact SCPI bytes, the twin through plain pyvisa and stock pyvisa-sim,
the driver against its twin with a diode on the terminals."""

import math

import pytest
import pyvisa
from pymeasure.test import expected_protocol

from drivers.base import DeviceError, ReplyError
from drivers.keithley_2400 import Keithley2400
from sim_instruments.twin import MODELS_DIR

from .keithley_samples import diode_sample
from .simbench import generic_client, sim_of

RESOURCE = "GPIB0::24::INSTR"
INIT = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None),
        (":SENS:FUNC:CONC ON", None), (':SENS:FUNC "VOLT","CURR"', None)]
NO_ERROR = ("SYST:ERR?", '0,"No error"')


def test_protocol_set_voltage_then_error_queue():
    with expected_protocol(Keithley2400, INIT + [
        (":SOURCE:FUNCTION VOLT", None), (":SOURCE:VOLTAGE 2.5", None), NO_ERROR,
        (":SENSE:CURRENT:PROTECTION 0.01", None), NO_ERROR,
        ("OUTPUT 1", None), NO_ERROR,
    ]) as smu:
        smu.set_voltage(2.5)
        smu.set_current_compliance(0.01)
        smu.enable_output()


def test_protocol_instrument_refusal_raises():
    with expected_protocol(Keithley2400, INIT + [
        (":SOURCE:FUNCTION CURR", None), (":SOURCE:CURRENT 0.001", None),
        ("SYST:ERR?", '-222,"Data out of range"'), NO_ERROR,
    ]) as smu:
        with pytest.raises(DeviceError, match=r"Keithley 2400 error -222: Data out of range"):
            smu.set_current(1e-3)


def test_limits_refused_before_any_byte():
    with expected_protocol(Keithley2400, INIT) as smu:
        with pytest.raises(ValueError, match=r"source voltage 250 V is outside the Keithley "
                                             r"2400's range \[-210, 210\] V"):
            smu.set_voltage(250)
        with pytest.raises(ValueError, match=r"current compliance 2 A .*\[1e-09, 1.05\] A"):
            smu.set_current_compliance(2)
        with pytest.raises(ValueError, match="source current -1.2 A"):
            smu.set_current(-1.2)


def test_protocol_reading_and_compliance_bit():
    reading = "+1.670000E+00,+1.000000E-02,+9.910000E+37,+2.000000E-02,+1.200000E+01"
    with expected_protocol(Keithley2400, INIT + [("OUTPUT?", "1"), (":READ?", reading)]) as smu:
        assert smu.measure() == (pytest.approx(1.67), pytest.approx(0.01))
        assert smu.in_compliance                       # status 12 = front terminals + bit 3


def test_protocol_no_reading_with_output_off():
    with expected_protocol(Keithley2400, INIT + [("OUTPUT?", "0")]) as smu:
        with pytest.raises(DeviceError, match="output is off"):
            smu.measure()


def test_protocol_safe_state():
    with expected_protocol(Keithley2400, INIT + [
        (":ABOR", None), (":SOUR:CLE:AUTO OFF", None), (":TRIG:COUN 1", None), (":SOUR:DEL:AUTO ON", None),
        ("OUTPUT 0", None), (":SOURCE:FUNCTION VOLT", None), (":SOURCE:VOLTAGE 0", None), NO_ERROR,
    ]) as smu:
        smu.safe_state()


def test_twin_through_plain_pyvisa():
    sim = sim_of(("SourceMeter", "keithley-2400", RESOURCE, {}))
    k = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n", timeout=200)
    assert k.query("*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400")
    k.write(":SOURce:VOLTage:LEVel:IMMediate:AMPLitude 2")     # long forms, full level path
    assert k.query("sour:volt?") == "+2.000000E+00"
    k.write(":SOUR:VOLT 300")                                   # beyond ±210 V
    k.write(":SENS:CURR:PROT abc")
    k.write(":SOUR:FUNC WATTS")
    k.write(":BOGUS 1")
    with pytest.raises(pyvisa.errors.VisaIOError):
        k.query(":READ?")                                      # output off: no reply...
    assert [k.query("SYST:ERR?") for _ in range(6)] == [
        '-222,"Data out of range"', '-104,"Data type error"', '-141,"Invalid character data"',
        '-113,"Undefined header"', '+803,"Not permitted with OUTPUT off"', '0,"No error"']
    k.write(":FORM:ELEM CURR,STAT")
    k.write(":SENS:CURR:PROT 1e-3")
    k.write(":OUTP ON")
    assert k.query("OUTP?") == "1"
    amps, status = (float(x) for x in k.query(":READ?").split(","))
    assert amps == pytest.approx(0.0, abs=1e-9) and int(status) & 8 == 0   # bare film: leaks
    assert k.query(":SENS:CURR:RANG?") == "+1.050000E-06"      # autorange went down
    k.write("*RST")
    assert k.query("OUTP?") == "0" and k.query("SOUR:VOLT?") == "+0.000000E+00"


def test_stock_pyvisa_sim_loads_the_yaml():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'keithley_2400.yaml'}@sim")
    k = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    assert k.query("*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400")
    assert k.query("SENS:CURR:PROT?") == "+1.050000E-04"
    k.close()


def test_driver_against_twin_diode_and_compliance(tmp_path):
    sim = sim_of(("SourceMeter", "keithley-2400", RESOURCE, {}), sample=diode_sample(tmp_path))
    smu = Keithley2400(RESOURCE, visa_library=sim.library)
    assert smu.identity.startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400")
    smu.set_current_compliance(0.02)
    smu.set_voltage(-2.0)
    smu.enable_output()
    volts, reverse = smu.measure()
    assert volts == pytest.approx(-2.0, abs=1e-3) and abs(reverse) < 1e-8    # blocks
    currents = []
    for level in (0.6, 0.9, 1.2):
        smu.set_voltage(level)
        currents.append(smu.measure()[1])
        assert not smu.in_compliance
    assert currents[0] > 0 and currents[1] / currents[0] > 10                 # exponential
    assert currents[2] - currents[1] > currents[1] - currents[0]
    smu.set_voltage(5.0)                                                      # would be ~90 mA
    volts, amps = smu.measure()
    assert smu.in_compliance and amps == pytest.approx(0.02, rel=1e-3) and volts < 3.0
    assert sim.optics.environment().bias_voltage == pytest.approx(volts, abs=1e-3)
    smu.set_current(1e-3)                                                     # current source
    smu.set_voltage_compliance(10)
    volts, amps = smu.measure()
    assert amps == pytest.approx(1e-3, rel=1e-3) and 0.9 < volts < 1.5 and not smu.in_compliance
    assert smu.settings()["source"] == "current" and not math.isnan(volts)
    smu.safe_state()
    assert sim.twins["SourceMeter"].safe_state_reached()
    assert sim.twins["SourceMeter"].terminal_voltage() is None                # terminals open
    assert not smu.output_enabled


@pytest.mark.parametrize("reply", ["x#9\x07", "NaN"])
def test_garbled_error_queue_or_status_is_a_reply_error(reply):
    from drivers.base import ReplyError
    with expected_protocol(Keithley2400, INIT + [("SYST:ERR?", reply)]) as smu:
        with pytest.raises(ReplyError, match="garbled"):
            smu.check_fault()
    with expected_protocol(Keithley2400, INIT + [("OUTPUT?", "1"), (":READ?", f"1.0,2e-6,9.9e37,1.5,{reply}")]) as smu:
        with pytest.raises(ReplyError, match="garbled"):
            smu.measure()


HOLD = [(":SENS:CURR:NPLC?", "+1.000000E+00"), (":SYST:LFR?", "50"), ("OUTPUT 0", None),
        (":SOURCE:FUNCTION VOLT", None), (":SOURCE:VOLTAGE 5", None), NO_ERROR,
        (":SOUR:CLE:AUTO ON", None), (":SOUR:CLE:AUTO:MODE TCO", None)]
IDLE = [(":SOUR:CLE:AUTO OFF", None), (":TRIG:COUN 1", None), (":SOUR:DEL:AUTO ON", None)]


def test_protocol_hold_read_at_its_end():
    reading = "+5.000000E+00,+2.000000E-06,+2.500000E+06,+3.000000E-01,+4.000000E+00"
    with expected_protocol(Keithley2400, INIT + HOLD + [
        (":SOUR:DEL 0.0300", None), (":ARM:COUN 1", None), (":TRIG:COUN 1", None), NO_ERROR,
        (":INIT", None), (":FETC?", reading)] + IDLE + [(":ABOR", None)] + IDLE) as smu:
        smu.hold_voltage(5, 0.05)                 # one cycle: 30 ms delay + 1 NPLC at 50 Hz
        assert smu.held_reading() == (pytest.approx(5.0), pytest.approx(2e-6))
        assert not smu.in_compliance
        smu.end_hold()


def test_protocol_long_hold_in_several_cycles_and_too_short_refused():
    with expected_protocol(Keithley2400, INIT + HOLD + [
        (":SOUR:DEL 833.3133", None), (":ARM:COUN 1", None), (":TRIG:COUN 3", None), NO_ERROR,
        (":INIT", None), (":SENS:CURR:PROT:TRIP?", "0"),
        (":SENS:CURR:NPLC?", "+1.000000E+00"), (":SYST:LFR?", "60"),
        (":SENS:CURR:NPLC?", "nan"), (":SYST:LFR?", "50")]) as smu:
        smu.hold_voltage(5, 2500)                 # longer than one source delay can be
        assert not smu.in_compliance              # a reading would end the hold: the trip flag
        with pytest.raises(ValueError, match=r"hold of 0.01 s is shorter than one reading \(0.0166"):
            smu.hold_voltage(5, 0.01)
        with pytest.raises(ReplyError, match="garbled"):
            smu.hold_voltage(5, 1)
        with pytest.raises(ValueError, match="source voltage 300 V"):
            smu.hold_voltage(300, 1)
        with pytest.raises(ValueError, match="hold of -1 s"):
            smu.hold_voltage(5, -1)


def test_hold_ends_by_itself_on_the_twin(tmp_path):
    sim = sim_of(("SourceMeter", "keithley-2400", RESOURCE, {}), sample=diode_sample(tmp_path))
    smu, twin = Keithley2400(RESOURCE, visa_library=sim.library), sim.twins["SourceMeter"]
    smu.set_current_compliance(0.02)
    smu.hold_voltage(0.9, 2.0)
    assert twin.terminal_voltage() == pytest.approx(0.9) and smu.output_enabled
    sim.clock.sleep(1.9)
    assert twin.terminal_voltage() == pytest.approx(0.9)
    sim.clock.sleep(0.1)                          # nothing sent: the 2400 ends it itself
    assert twin.terminal_voltage() is None and not smu.output_enabled
    volts, amps = smu.held_reading()
    assert volts == pytest.approx(0.9, abs=1e-3) and 1e-6 < amps < 0.02
    smu.hold_voltage(0.9, 5.0)
    smu.end_hold()                                # :ABOR ends it at once
    assert twin.terminal_voltage() is None
    smu.enable_output()                           # plain d.c. operation again
    assert smu.measure()[1] == pytest.approx(amps, rel=0.01)
    smu.safe_state()
    assert twin.safe_state_reached()


def test_fetch_without_a_sweep_is_an_error():
    sim = sim_of(("SourceMeter", "keithley-2400", RESOURCE, {}))
    k = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n", timeout=200)
    with pytest.raises(pyvisa.errors.VisaIOError):
        k.query(":FETCh?")
    k.write(":SOUR:CLE:AUTO:MODE TCOUNT")
    k.write(":SOUR:DEL 0.5")
    assert k.query(":SOUR:DEL:AUTO?") == "0" and k.query(":SOUR:CLE:AUTO:MODE?") == "TCO"
    k.write(":INIT")                              # output off, auto output-off disabled
    assert [k.query("SYST:ERR?") for _ in range(3)] == [
        '-230,"Data corrupt or stale"', '+803,"Not permitted with OUTPUT off"', '0,"No error"']
