"""Keithley 2636B (TSP): exact Lua statements, the twin's interpreter and trigger model
through plain pyvisa and stock pyvisa-sim, pulsed sweeps of a diode against the twin."""

from dataclasses import replace

import numpy as np
import pytest
import pyvisa
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.keithley_2636b import Keithley2636B
from sim_instruments.twin import MODELS_DIR

from .keithley_samples import diode_sample
from .simbench import generic_client, sim_of

RESOURCE = "GPIB0::26::INSTR"
NO_ERROR = ("print(errorqueue.next())", "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00")
PULSE_SETUP = [
    "smua.source.func = smua.OUTPUT_DCVOLTS", "smua.source.levelv = 0",
    "smua.source.rangev = 2", "smua.measure.rangei = 0.05", "smua.measure.nplc = 0.025",
    "smua.trigger.source.listv({1, 2})", "smua.trigger.source.limiti = 0.05",
    "smua.trigger.source.action = smua.ENABLE", "smua.trigger.measure.action = smua.ENABLE",
    "smua.trigger.measure.iv(smua.nvbuffer1, smua.nvbuffer2)",
    "smua.trigger.endpulse.action = smua.SOURCE_IDLE",
    "trigger.timer[1].delay = 0.01", "trigger.timer[1].count = 1",
    "trigger.timer[1].passthrough = true",
    "trigger.timer[1].stimulus = smua.trigger.ARMED_EVENT_ID",
    "trigger.timer[2].delay = 0.001", "trigger.timer[2].count = 1",
    "trigger.timer[2].passthrough = false",
    "trigger.timer[2].stimulus = smua.trigger.SOURCE_COMPLETE_EVENT_ID",
    "smua.trigger.source.stimulus = trigger.timer[1].EVENT_ID",
    "smua.trigger.measure.stimulus = 0",
    "smua.trigger.endpulse.stimulus = trigger.timer[2].EVENT_ID",
    "smua.trigger.count = 2", "smua.trigger.arm.count = 1",
    "smua.nvbuffer1.clear()", "smua.nvbuffer2.clear()"]
PULSE_END = [("smua.source.output = smua.OUTPUT_OFF", None),
             ("smua.source.autorangev = smua.AUTORANGE_ON", None),
             ("smua.measure.autorangei = smua.AUTORANGE_ON", None)]
PULSE_START = [("print(localnode.linefreq)", "5.00000e+01")] + [(s, None) for s in PULSE_SETUP] + [
    NO_ERROR, ("smua.source.output = smua.OUTPUT_ON", None), ("smua.trigger.initiate()", None),
    ("waitcomplete()", None)]


def test_protocol_dc_source_statements():
    with expected_protocol(Keithley2636B, [
        ("smua.source.func=1", None), ("smua.source.levelv=1.5", None), NO_ERROR,
        ("smua.source.limiti=1e-07", None), NO_ERROR,               # pymeasure's %f sent 0.000000
        ("smua.source.output=1", None), NO_ERROR,
        ("print(smua.measure.iv())", "1.00000e-07\t1.49998e+00"),
        ("print(smua.source.compliance)", "true"),
    ]) as smu:
        smu.set_voltage(1.5)
        smu.set_current_compliance(1e-7)
        smu.enable_output()
        assert smu.measure() == (pytest.approx(1.49998), pytest.approx(1e-7))
        assert smu.in_compliance


def test_protocol_error_queue_refusal_raises():
    with expected_protocol(Keithley2636B, [
        ("smua.source.func=0", None), ("smua.source.leveli=0.001", None),
        ("print(errorqueue.next())", "1.10100e+03\tParameter too big\t2.00000e+01\t1.00000e+00"),
        NO_ERROR,
    ]) as smu:
        with pytest.raises(DeviceError, match="Keithley 2636B error 1101: Parameter too big"):
            smu.set_current(1e-3)


def test_limits_refused_before_any_byte():
    with expected_protocol(Keithley2636B, []) as smu:
        with pytest.raises(ValueError, match=r"source voltage 201 V is outside the Keithley "
                                             r"2636B's range \[-200, 200\] V"):
            smu.set_voltage(201)
        with pytest.raises(ValueError, match=r"pulse current limit 12 A .*\[1e-11, 10\] A"):
            smu.pulsed_sweep([1.0], 1e-3, 1e-2, 12)
        with pytest.raises(ValueError, match="pulse level -250 V"):
            smu.pulsed_sweep([1.0, -250], 1e-3, 1e-2, 0.1)
        with pytest.raises(ValueError, match="shorter than the Keithley 2636B's minimum of 0.0001 s"):
            smu.pulsed_sweep([1.0], 1e-5, 1e-2, 0.1)
        with pytest.raises(ValueError, match="period 0.001 s must exceed the pulse width 0.002 s"):
            smu.pulsed_sweep([1.0], 2e-3, 1e-3, 0.1)


def test_protocol_pulsed_sweep_statements():
    with expected_protocol(Keithley2636B, PULSE_START + [
        ("print(smua.nvbuffer1.n)", "2.00000e+00"), *PULSE_END,
        ("printbuffer(1, 2, smua.nvbuffer1.readings)", "1.00000e-03, 2.00000e-02"),
        ("printbuffer(1, 2, smua.nvbuffer2.readings)", "1.00000e+00, 1.90000e+00"), NO_ERROR,
    ], connection_attributes={"timeout": 2000}) as smu:
        volts, amps = smu.pulsed_sweep([1, 2], 1e-3, 1e-2, 0.05)
        assert volts.tolist() == [1.0, 1.9] and amps.tolist() == [1e-3, 2e-2]


def test_protocol_pulsed_sweep_missing_readings_raise():
    with expected_protocol(Keithley2636B, PULSE_START + [
        ("print(smua.nvbuffer1.n)", "1.00000e+00"), *PULSE_END, NO_ERROR,
    ], connection_attributes={"timeout": 2000}) as smu:
        with pytest.raises(DeviceError, match="took 1 of 2 readings"):
            smu.pulsed_sweep([1, 2], 1e-3, 1e-2, 0.05)


def test_twin_interpreter_and_errors_through_plain_pyvisa():
    sim = sim_of(("PulsedSourceMeter", "keithley-2636b", RESOURCE, {}))
    k = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n", timeout=200)
    assert k.query("*IDN?") == "Keithley Instruments Inc., Model 2636B, 4390123, 4.0.4"
    k.write("smua.source.levelv = 2 * 0.75   smua.source.limiti=1e-3 -- two statements")
    assert k.query("print(smua.source.levelv, smua.source.limiti)") == "1.50000e+00\t1.00000e-03"
    k.write("smua.source.levelv = 250")                          # beyond ±200 V
    k.write("smua.source.limiti = 0")
    k.write("smua.source.levelv = 3 smua.source.levelv = )")     # syntax: nothing runs
    k.write("smua.source.levelv = 4 bogus() smua.source.levelv = 5")   # runtime: stops there
    k.write("smub.source.output = 1")                            # channel B is not simulated
    assert k.query("print(smua.source.levelv)") == "4.00000e+00"
    assert k.query("print(errorqueue.count)") == "5.00000e+00"
    errors = [k.query("print(errorqueue.next())").split("\t")[:2] for _ in range(6)]
    assert errors == [
        ["1.10100e+03", "Parameter too big"], ["1.10200e+03", "Parameter too small"],
        ["-2.85000e+02", "TSP Syntax error at line 1: unexpected symbol near `)'"],
        ["-2.86000e+02", "TSP Runtime error at line 1: attempt to call a nil value (bogus)"],
        ["-2.86000e+02", "TSP Runtime error at line 1: attempt to index a nil value (smub.source.output)"],
        ["0.00000e+00", "Queue Is Empty"]]
    assert k.query("print(smua.source.output, smua.source.compliance)") == "0.00000e+00\tfalse"
    k.write("smua.source.output = smua.OUTPUT_ON")
    amps, volts = (float(x) for x in k.query("print(smua.measure.iv())").split("\t"))
    assert volts == pytest.approx(4.0, abs=5e-3) and abs(amps) < 1e-9     # bare film leaks
    k.write("smua.source.rangev = 5")                            # selects the 20 V range
    assert k.query("print(smua.source.rangev, smua.source.autorangev)") == "2.00000e+01\t0.00000e+00"
    k.write("reset()")
    assert k.query("print(smua.source.output, smua.source.levelv)") == "0.00000e+00\t0.00000e+00"


def test_twin_trigger_model_runs_in_simulated_time():
    sim = sim_of(("PulsedSourceMeter", "keithley-2636b", RESOURCE, {"noise": 0.0}))
    k = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n", timeout=200)
    for statement in PULSE_SETUP:
        k.write(statement.replace("{1, 2}", "{1, 2, 3, 4}").replace("count = 2", "count = 4")
                .replace("timer[1].count = 1", "timer[1].count = 3"))
    k.write("smua.source.output = smua.OUTPUT_ON smua.trigger.initiate()")
    start = sim.clock.now()
    assert k.query("print(smua.nvbuffer1.n)") == "0.00000e+00"
    sim.clock.sleep(0.0255)                                      # pulses at 0, 10 and 20 ms
    assert k.query("print(smua.nvbuffer2.n)") == "3.00000e+00"
    assert k.query("printbuffer(1, 3, smua.nvbuffer2.readings)") == \
        "1.00000e+00, 2.00000e+00, 3.00000e+00"
    k.write("waitcomplete()")
    assert sim.clock.now() - start == pytest.approx(0.031)       # 3 periods + one width
    assert k.query("print(smua.nvbuffer1.n)") == "4.00000e+00"
    k.write("printbuffer(1, 5, smua.nvbuffer1.readings)")
    assert "printbuffer index out of range" in k.query("print(errorqueue.next())")
    # a sweep waiting for a timer nothing starts never completes: waitcomplete() hangs
    k.write("smua.trigger.source.stimulus = trigger.timer[3].EVENT_ID smua.trigger.initiate()")
    k.write("waitcomplete()")
    with pytest.raises(pyvisa.errors.VisaIOError):
        k.query("print(smua.nvbuffer1.n)")


def test_stock_pyvisa_sim_loads_the_yaml():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'keithley_2636b.yaml'}@sim")
    k = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n")
    assert k.query("*IDN?").startswith("Keithley Instruments Inc., Model 2636B")
    assert k.query("print(smua.source.limiti)") == "1.00000e-01"
    k.close()


def test_driver_pulsed_sweep_of_a_diode(tmp_path):
    sim = sim_of(("PulsedSourceMeter", "keithley-2636b", RESOURCE, {}), sample=diode_sample(tmp_path))
    twin = sim.twins["PulsedSourceMeter"]
    smu = Keithley2636B(RESOURCE, visa_library=sim.library)
    assert smu.identity.startswith("Keithley Instruments Inc., Model 2636B")
    levels = [-1.0, 0.8, 0.9, 1.0, 2.0, 4.0, 6.0]
    start = sim.clock.now()
    volts, amps = smu.pulsed_sweep(levels, width=1e-3, period=1e-2, compliance=0.03)
    assert sim.clock.now() - start == pytest.approx(6 * 1e-2 + 1e-3, abs=1e-3)
    assert volts.shape == amps.shape == (len(levels),)
    assert abs(amps[0]) < 2e-5                                   # reverse: blocks (100 mA range)
    assert np.all(np.diff(amps[:5]) > 0)                          # forward: rises...
    assert amps[2] / amps[1] > 3 and amps[3] / amps[2] > 3       # ...× 5-7 per 0.1 V
    assert volts[:5] == pytest.approx(levels[:5], abs=1e-3)
    assert amps[-2:] == pytest.approx([0.03, 0.03], rel=1e-3)   # clamped at the pulse limit
    assert 2.0 < volts[-1] < 4.0 and volts[-2] == pytest.approx(volts[-1], abs=1e-2)
    assert not smu.output_enabled and twin.terminal_voltage() is None     # off after the sweep
    smu.set_current_compliance(1e-3)
    smu.set_voltage(2.0)
    smu.enable_output()
    dc_volts, dc_amps = smu.measure()
    assert smu.in_compliance and dc_amps == pytest.approx(1e-3, rel=1e-3) and dc_volts < 2.0
    smu.safe_state()
    assert twin.safe_state_reached()
    smu.check_fault()


# -- holds: one pulse from 0 V, timed and ended by the instrument ------------------------
def hold_statements(level: str, nplc: str, measure_delay: str, duration: str) -> list:
    return [
        "smua.source.func = smua.OUTPUT_DCVOLTS", "smua.source.levelv = 0",
        f"smua.measure.nplc = {nplc}", f"smua.trigger.source.listv({{{level}}})",
        "smua.trigger.source.limiti = smua.LIMIT_AUTO",
        "smua.trigger.source.action = smua.ENABLE", "smua.trigger.measure.action = smua.ENABLE",
        "smua.trigger.measure.iv(smua.nvbuffer1, smua.nvbuffer2)",
        "smua.trigger.endpulse.action = smua.SOURCE_IDLE",
        f"trigger.timer[1].delay = {measure_delay}", "trigger.timer[1].count = 1",
        "trigger.timer[1].passthrough = false",
        "trigger.timer[1].stimulus = smua.trigger.SOURCE_COMPLETE_EVENT_ID",
        f"trigger.timer[2].delay = {duration}", "trigger.timer[2].count = 1",
        "trigger.timer[2].passthrough = false",
        "trigger.timer[2].stimulus = smua.trigger.SOURCE_COMPLETE_EVENT_ID",
        "smua.trigger.source.stimulus = 0",
        "smua.trigger.measure.stimulus = trigger.timer[1].EVENT_ID",
        "smua.trigger.endpulse.stimulus = trigger.timer[2].EVENT_ID",
        "smua.trigger.count = 1", "smua.trigger.arm.count = 1",
        "smua.nvbuffer1.clear()", "smua.nvbuffer2.clear()"]


def test_protocol_hold_then_reading():
    with expected_protocol(Keithley2636B, [
        ("print(localnode.linefreq)", "5.00000e+01"),
        *[(s, None) for s in hold_statements("1.5", "0.05", "0.001", "0.002")], NO_ERROR,
        ("smua.source.output = smua.OUTPUT_ON", None), ("smua.trigger.initiate()", None),
        ("print(smua.nvbuffer1.n)", "1.00000e+00"),
        ("printbuffer(1, 1, smua.nvbuffer1.readings)", "2.50000e-03"),
        ("printbuffer(1, 1, smua.nvbuffer2.readings)", "1.49990e+00"), NO_ERROR,
    ]) as smu:
        smu.hold_voltage(1.5, 2e-3)                  # returns at once: no waitcomplete()
        assert smu.held_reading() == (pytest.approx(1.4999), pytest.approx(2.5e-3))


def test_protocol_long_hold_integrates_one_cycle_before_the_end():
    with expected_protocol(Keithley2636B, [
        ("print(localnode.linefreq)", "6.00000e+01"),
        *[(s, None) for s in hold_statements("-2", "1", "299.983333", "300")], NO_ERROR,
        ("smua.source.output = smua.OUTPUT_ON", None), ("smua.trigger.initiate()", None),
    ]) as smu:
        smu.hold_voltage(-2, 300)


@pytest.mark.parametrize("reply", ["5#.00000e+01", "nan", "4.90000e+01"])
def test_garbled_line_frequency_is_a_reply_error_before_any_statement(reply):
    """A reply error is retried by the bench: nothing of the sweep or hold is sent yet."""
    from drivers.base import ReplyError
    with expected_protocol(Keithley2636B, [("print(localnode.linefreq)", reply)] * 2) as smu:
        with pytest.raises(ReplyError, match="line frequency"):
            smu.pulsed_sweep([1, 2], 1e-3, 1e-2, 0.05)
        with pytest.raises(ReplyError, match="line frequency"):
            smu.hold_voltage(1.5, 2e-3)


def test_protocol_end_hold_and_safe_state():
    with expected_protocol(Keithley2636B, [
        ("smua.abort()", None), ("smua.source.levelv = 0", None),
        ("smua.abort()", None), ("smua.source.levelv = 0", None),
        ("smua.source.output=0", None),
        ("smua.source.func=1", None), ("smua.source.levelv=0", None), NO_ERROR,
    ]) as smu:
        smu.end_hold()
        smu.safe_state()


def test_hold_refusals_before_any_byte():
    with expected_protocol(Keithley2636B, []) as smu:
        with pytest.raises(ValueError, match=r"source voltage 250 V is outside the Keithley "
                                             r"2636B's range \[-200, 200\] V"):
            smu.hold_voltage(250, 1.0)
        with pytest.raises(ValueError, match=r"hold of 200000 s is outside the Keithley 2636B's "
                                             r"range \[0.0001, 100000\] s .*longest timer delay"):
            smu.hold_voltage(1.0, 2e5)
        with pytest.raises(ValueError, match=r"hold of 1e-05 s is outside"):
            smu.hold_voltage(1.0, 1e-5)
        with pytest.raises(DeviceError, match="no hold to read"):
            smu.held_reading()


def test_twin_hold_program_through_plain_pyvisa():
    sim = sim_of(("PulsedSourceMeter", "keithley-2636b", RESOURCE, {"noise": 0.0}))
    twin = sim.twins["PulsedSourceMeter"]
    k = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n", timeout=200)
    for statement in hold_statements("3", "1", "1.98", "2"):
        k.write(statement)
    k.write("smua.source.output = smua.OUTPUT_ON smua.trigger.initiate()")
    assert twin.terminal_voltage() == pytest.approx(3.0)
    sim.clock.sleep(1.99)                           # integrating, not done
    assert k.query("print(smua.nvbuffer1.n)") == "0.00000e+00"
    assert twin.terminal_voltage() == pytest.approx(3.0)
    sim.clock.sleep(0.02)                           # timer 2 expired: back to 0 V by itself
    assert k.query("print(smua.nvbuffer1.n, smua.source.output)") == "1.00000e+00\t1.00000e+00"
    assert k.query("printbuffer(1, 1, smua.nvbuffer2.readings)") == "3.00000e+00"
    assert twin.terminal_voltage() == 0.0
    k.write("smua.trigger.initiate()")              # the same hold again, aborted halfway
    sim.clock.sleep(1.0)
    assert twin.terminal_voltage() == pytest.approx(3.0)
    k.write("smua.abort()")
    assert twin.terminal_voltage() == 0.0
    sim.clock.sleep(2.0)
    assert k.query("print(smua.nvbuffer1.n)") == "0.00000e+00"      # no reading taken
    assert k.query("print(errorqueue.count)") == "0.00000e+00"


def test_driver_hold_ends_by_itself_with_the_link_lost(tmp_path):
    sim = sim_of(("PulsedSourceMeter", "keithley-2636b", RESOURCE, {}), sample=diode_sample(tmp_path))
    twin = sim.twins["PulsedSourceMeter"]
    smu = Keithley2636B(RESOURCE, visa_library=sim.library)
    smu.set_current_compliance(0.01)
    start = sim.clock.now()
    smu.hold_voltage(1.0, 5.0)
    assert sim.clock.now() - start < 0.1                       # returned at once
    assert twin.terminal_voltage() == pytest.approx(1.0)
    sim.clock.sleep(4.9)
    assert twin.terminal_voltage() == pytest.approx(1.0)
    sim.clock.sleep(0.2)                                       # nothing sent since the start
    assert twin.terminal_voltage() == 0.0                      # on, at the idle level 0 V
    volts, amps = smu.held_reading()
    env = sim.optics.environment()
    assert volts == pytest.approx(1.0, abs=1e-3)
    assert amps == pytest.approx(sim.sample.current(1.0, replace(env, bias_voltage=1.0)), rel=1e-2)
    assert 1e-4 < amps < 1e-3                                  # the diode conducts at 1 V
    smu.hold_voltage(1.2, 5.0)
    sim.clock.sleep(1.0)
    smu.end_hold()                                             # early: 0 V now
    assert twin.terminal_voltage() == 0.0
    smu.safe_state()
    assert twin.safe_state_reached() and twin.terminal_voltage() is None
    smu.check_fault()
