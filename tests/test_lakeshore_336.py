"""Lake Shore 336/335 (pymeasure's LakeShore3xx wrapped): exact bytes, the status-register
refusals, the twin through plain pyvisa and the driver against the cryostat physics on
the simulated clock."""

import math
from pathlib import Path

import pytest
import pyvisa
from pymeasure.test import expected_protocol
from pyvisa.constants import Parity

from drivers.base import DeviceError
from drivers.lakeshore_336 import LakeShore335, LakeShore336
from labctl.bench import Bench
from labctl.errors import SafetyError

from .simbench import generic_client, sim_of

GPIB = "GPIB0::12::INSTR"
SERIAL = "ASRL12::INSTR"
CRLF = {"read_termination": "\r\n", "write_termination": "\r\n"}
YAML = Path(__file__).parents[1] / "sim_instruments" / "models" / "lakeshore_336.yaml"
OK = ("*ESR?", "000")


def ls336(**options):
    sim = sim_of(("TemperatureController", "lakeshore-336", GPIB, options))
    return sim, sim.twins["TemperatureController"]


# -- exact bytes ------------------------------------------------------------------------
def test_protocol_setpoint_reads_the_event_register_and_switches_the_heater_on():
    with expected_protocol(LakeShore336, [
        ("SETP 1,100.000000", None), ("*ESR?", "128"),      # power-on bit: not an error
        ("RANGE? 1", "0"), ("RANGE 1,3", None), OK,
    ], heater_range="high") as ls:
        ls.set_setpoint(100)


def test_protocol_refused_value_raises_with_the_register_bit():
    with expected_protocol(LakeShore336, [("SETP 1,100.000000", None), ("*ESR?", "016")]) as ls:
        with pytest.raises(DeviceError, match="execution error"):
            ls.set_setpoint(100)
    with expected_protocol(LakeShore336, [("RAMP 1,1,5", None), ("*ESR?", "032")]) as ls:
        with pytest.raises(DeviceError, match="command error"):
            ls.set_ramp_rate(5)


def test_protocol_ramp_rate_and_readings():
    with expected_protocol(LakeShore336, [
        ("RAMP 1,1,2.5", None), OK, ("RAMP 1,0,0", None), OK,
        ("KRDG? A", "+77.3502"), ("SETP? 1", "+80.0000"), ("HTR? 1", "+012.5"),
    ]) as ls:
        ls.set_ramp_rate(2.5)
        ls.set_ramp_rate(0)
        assert ls.temperature == pytest.approx(77.3502)
        assert ls.temperature_setpoint == 80.0
        assert ls.heater_output == 12.5


def test_bad_values_refused_before_any_byte():
    with expected_protocol(LakeShore336, []) as ls:
        with pytest.raises(ValueError, match="setpoint 600 K is outside .* 0 to 500 K"):
            ls.set_setpoint(600)
        with pytest.raises(ValueError, match="ramp rate 150 K/min is outside 0.1 to 100"):
            ls.set_ramp_rate(150)
        with pytest.raises(ValueError, match="ramp rate 0.05 K/min"):
            ls.set_ramp_rate(0.05)
        with pytest.raises(ValueError, match=r"PID \(0, 20, 0\) outside"):
            ls.loop.pid = (0, 20, 0)
    with pytest.raises(ValueError, match="Model 335 has inputs A, B"):
        LakeShore335(GPIB, visa_library=sim_of().library, sensor="C")


def test_protocol_safe_state_holds_a_ramp_where_it_is():
    with expected_protocol(LakeShore336, [
        ("OUTMODE? 1", "1,1,0"), ("RAMPST? 1", "1"), ("SETP? 1", "+250.000"),
        ("SETP 1,250.000000", None), OK,
    ]) as ls:
        ls.safe_state()
    with expected_protocol(LakeShore336, [("OUTMODE? 1", "1,1,0"), ("RAMPST? 1", "0")]) as ls:
        ls.safe_state()                                   # regulating: left alone


def test_protocol_safe_state_closes_an_open_loop():
    with expected_protocol(LakeShore336, [
        ("OUTMODE? 1", "3,1,0"), ("RAMP? 1", "1,+5.00000"), ("RAMP 1,0,5", None), OK,
        ("KRDG? A", "+123.456"), ("SETP 1,123.456000", None), OK,
        ("OUTMODE 1,1,1,0", None), OK,
    ]) as ls:
        ls.safe_state()


def test_protocol_check_fault_reads_sensor_and_heater_status():
    with expected_protocol(LakeShore336, [("RDGST? A", "001")]) as ls:
        with pytest.raises(DeviceError, match="input A: invalid reading"):
            ls.check_fault()
    with expected_protocol(LakeShore336, [("RDGST? A", "000"), ("HTRST? 1", "1")]) as ls:
        with pytest.raises(DeviceError, match="output 1: heater open load"):
            ls.check_fault()


# -- the twin on its own ----------------------------------------------------------------
def test_twin_through_plain_pyvisa():
    sim, _ = ls336(regulating=True)
    ls = generic_client(sim, GPIB, **CRLF)
    assert ls.query("*IDN?").startswith("LSCI,MODEL336,")
    assert ls.query("*ESR?") == "128"                      # power on
    assert ls.query("*ESR?") == "000"                      # read and cleared
    first, second = float(ls.query("KRDG? A")), float(ls.query("KRDG? A"))
    assert first == pytest.approx(295.0, abs=0.01) and first != second    # mK noise
    assert float(ls.query("KRDG? B")) == pytest.approx(3.5, abs=0.01)     # cold plate
    assert ls.query("HTR? 1") == "+043.7"                  # 0.15 W/K × 291.5 K of 100 W
    for refused in ("SETP 1,600", "PID 1,2000,20,0", "OUTMODE 1,4,1,0", "RAMP 1,1,500"):
        ls.write(refused)
        assert ls.query("*ESR?") == "016", refused         # execution error
    assert ls.query("SETP? 1") == "+295.000"               # nothing changed
    ls.write("SETPOINT 1,200")
    assert ls.query("*ESR?") == "032"                      # command error
    ls.write("*ESE 48")
    ls.write("KRDG A")
    assert ls.query("*STB?") == "032"                      # event summary bit
    ls.write("*CLS")
    assert ls.query("*STB?") == "000"

    ls.write("RAMP 1,1,5")
    assert ls.query("RAMP? 1") == "1,+5.00000"
    ls.write("SETP 1,285")
    assert ls.query("RAMPST? 1") == "1"
    sim.clock.sleep(60)
    assert ls.query("SETP? 1") == "+290.000"               # 5 K/min
    sim.clock.sleep(60)
    assert ls.query("RAMPST? 1") == "0" and ls.query("SETP? 1") == "+285.000"

    ls.write("RANGE 1,0")                                  # heater off
    assert ls.query("HTR? 1") == "+000.0"
    sim.clock.sleep(3600)
    assert float(ls.query("KRDG? A")) < 5.0                # back towards the 3.5 K cold plate
    ls.write("RANGE 1,3")
    ls.write("*RST")                                       # power-up settings: heaters off
    assert ls.query("RANGE? 1") == "0"


def test_335_twin_on_its_serial_port():
    sim = sim_of(("TemperatureController.ls335", "lakeshore-335", SERIAL, {}))
    ls = generic_client(sim, SERIAL, baud_rate=57600, data_bits=7, parity=Parity.odd, **CRLF)
    assert ls.query("*IDN?").startswith("LSCI,MODEL335,")
    assert ls.query("*ESR?") == "128"
    ls.write("KRDG? C")                                    # the 335 has inputs A and B only
    with pytest.raises(pyvisa.VisaIOError):
        ls.read()
    assert ls.query("*ESR?") == "032"
    ls.write("OUTMODE 2,5,2,0")                            # warm-up supply: output 2 of a 335
    assert ls.query("*ESR?") == "000" and ls.query("OUTMODE? 2") == "5,2,0"


def test_stock_pyvisa_sim_loads_the_yaml():
    rm = pyvisa.ResourceManager(f"{YAML}@sim")
    ls336 = rm.open_resource(GPIB, **CRLF)
    ls335 = rm.open_resource(SERIAL, **CRLF)
    assert ls336.query("*IDN?").startswith("LSCI,MODEL336,")
    assert ls335.query("*IDN?").startswith("LSCI,MODEL335,")
    assert ls336.query("KRDG? A") == "+295.000"


# -- driver against the twin --------------------------------------------------------------
def test_setpoint_change_settles_in_a_realistic_time():
    sim, twin = ls336(regulating=True)
    ls = LakeShore336(GPIB, visa_library=sim.library)
    start = sim.clock.now()
    ls.set_setpoint(200)
    ls.wait_until_stable(tolerance=0.05, duration=60, timeout=3600)
    took = sim.clock.now() - start
    assert 300 < took < 1200                               # minutes, not seconds or hours
    assert twin.sample_temperature() == pytest.approx(200, abs=0.05)
    assert ls.heater_output == pytest.approx(29.5, abs=0.2)  # 0.15 W/K × 196.5 K of 100 W


def test_ramp_rate_is_honoured():
    sim, _ = ls336(regulating=True)
    ls = LakeShore336(GPIB, visa_library=sim.library)
    ls.set_ramp_rate(2.0)
    ls.set_setpoint(250)
    start = sim.clock.now()
    sim.clock.sleep(600)
    assert ls.setpoint_ramping
    assert ls.temperature_setpoint == pytest.approx(295 - 2.0 * 10)
    # the stage follows the ramp with the loop's 30 s lag: rate × τ = 1 K
    assert ls.temperature == pytest.approx(275 + 1.0, abs=0.05)
    ls.wait_until_stable(tolerance=0.05, duration=60, timeout=3600)
    assert sim.clock.now() - start > 45 / 2.0 * 60         # 45 K at 2 K/min


def test_wait_until_stable_times_out_when_the_heater_range_is_too_small():
    sim, _ = ls336(initial_temperature=4.0)                # cold, heater off
    ls = LakeShore336(GPIB, visa_library=sim.library, heater_range="low")   # 1 W
    start = sim.clock.now()
    ls.set_setpoint(100)
    with pytest.raises(DeviceError, match=r"did not settle within 1800 s.*100 K.*"
                                          r"heater at full output"):
        ls.wait_until_stable(tolerance=0.1, duration=60, timeout=1800)
    assert sim.clock.now() - start >= 1800
    # 1 W warms the stage towards 3.5 K + 1 W / 0.15 W/K with the stage's 600 s time constant
    ceiling = 3.5 + 1.0 / 0.15
    assert ls.temperature == pytest.approx(ceiling - (ceiling - 4.0) * math.exp(-3), abs=0.05)


def test_safe_state_keeps_regulating():
    sim, twin = ls336(regulating=True)
    ls = LakeShore336(GPIB, visa_library=sim.library)
    ls.set_ramp_rate(5)
    ls.set_setpoint(200)
    sim.clock.sleep(180)
    assert not twin.safe_state_reached()                   # ramping
    ls.safe_state()
    assert twin.safe_state_reached()
    held = ls.temperature_setpoint
    assert held == pytest.approx(280)
    sim.clock.sleep(600)
    assert ls.temperature_setpoint == held and ls.temperature == pytest.approx(held, abs=0.05)
    assert ls.heater_output > 0

    ls.loop.mode = (3, 1, 0)                               # open loop, 60 % manual output
    ls.loop.mout = 60
    assert not twin.safe_state_reached()
    ls.safe_state()
    assert twin.safe_state_reached() and ls.loop.mode == (1, 1, 0)


def test_check_fault_reports_a_broken_sensor():
    sim, twin = ls336(regulating=True)
    ls = LakeShore336(GPIB, visa_library=sim.library)
    ls.check_fault()
    twin.break_sensor()
    with pytest.raises(DeviceError, match="input A: invalid reading"):
        ls.check_fault()
    assert ls.heater_output == 0                           # no control sensor: heater off


def test_default_bench_cryostats_hold_room_temperature_and_set_the_sample_temperature():
    with Bench.open(time_scale=0, slots=["TemperatureController",
                                         "TemperatureController.ls335"]) as bench:
        cryostat = bench.role("TemperatureController")
        serial = bench.role("TemperatureController", "ls335")
        assert serial.identity.startswith("LSCI,MODEL335,")
        assert serial.temperature == pytest.approx(295, abs=0.01)
        with pytest.raises(SafetyError):
            cryostat.set_setpoint(400)                     # beyond the bench's 350 K
        cryostat.set_setpoint(250)
        cryostat.wait_until_stable(0.05, 60, 3600)
        assert bench.sim.optics.environment().temperature == pytest.approx(250, abs=0.05)
