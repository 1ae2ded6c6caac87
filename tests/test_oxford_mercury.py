"""Oxford Instruments Mercury iTC (pymeasure's MercuryiTC wrapped): exact bytes with the
VALID/INVALID replies, the twin through plain pyvisa, and the driver against the cryostat
physics on the simulated clock."""

import re
from pathlib import Path

import pytest
import pyvisa
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.oxford_mercury import MercuryITC

from .simbench import generic_client, sim_of

RESOURCE = "TCPIP0::10.0.0.20::7020::SOCKET"
LF = {"read_termination": "\n", "write_termination": "\n"}
YAML = Path(__file__).parents[1] / "sim_instruments" / "models" / "oxford_mercury.yaml"
LOOP = "DEV:MB1.T1:TEMP:LOOP"


def itc(**options):
    sim = sim_of(("TemperatureController", "oxford-mercury-itc", RESOURCE, options))
    return sim, sim.twins["TemperatureController"], MercuryITC(RESOURCE, visa_library=sim.library)


def reading(noun, value):
    """A READ command and the Mercury's reply."""
    return f"READ:{noun}", f"STAT:{noun}:{value}"


def setting(noun, value, verdict="VALID"):
    """A SET command and the Mercury's echo of it."""
    return f"SET:{noun}:{value}", f"STAT:SET:{noun}:{value}:{verdict}"


# -- exact bytes ------------------------------------------------------------------------
def test_protocol_setpoint_switches_pid_control_on():
    with expected_protocol(MercuryITC, [setting(f"{LOOP}:TSET", 100),
                                        setting(f"{LOOP}:ENAB", "ON")]) as mercury:
        mercury.set_setpoint(100)


def test_protocol_invalid_replies_raise():
    with expected_protocol(MercuryITC, [setting(f"{LOOP}:TSET", 100, "INVALID")]) as mercury:
        with pytest.raises(DeviceError, match="refused: .*TSET:100:INVALID"):
            mercury.set_setpoint(100)
    with expected_protocol(MercuryITC, [
        reading("DEV:MB1.T1:TEMP:SIG:TEMP", "NOT_FOUND"),
    ]) as mercury:
        with pytest.raises(DeviceError, match="refused: .*SIG:TEMP:NOT_FOUND"):
            mercury.temperature


def test_protocol_ramp_and_readings():
    with expected_protocol(MercuryITC, [
        setting(f"{LOOP}:RSET", 2.5), setting(f"{LOOP}:RENA", "ON"),
        setting(f"{LOOP}:RENA", "OFF"),
        reading("DEV:MB1.T1:TEMP:SIG:TEMP", "330.0725K"),
        reading(f"{LOOP}:TSET", "61.0000K"), reading(f"{LOOP}:HSET", "12.5"),
        ("*IDN?", "IDN:OXFORD INSTRUMENTS:MERCURY ITC:232150255:2.6.04.000"),
    ]) as mercury:
        mercury.set_ramp_rate(2.5)
        mercury.set_ramp_rate(0)
        assert mercury.temperature == 330.0725
        assert mercury.temperature_setpoint == 61.0
        assert mercury.heater_output == 12.5
        assert mercury.identity == "OXFORD INSTRUMENTS:MERCURY ITC:232150255:2.6.04.000"


def test_bad_values_refused_before_any_byte():
    with expected_protocol(MercuryITC, []) as mercury:
        with pytest.raises(ValueError, match="setpoint 2500 K is outside .* 0 to 2000 K"):
            mercury.set_setpoint(2500)
        with pytest.raises(ValueError, match="ramp rate -1 K/min is outside 0 to"):
            mercury.set_ramp_rate(-1)
    with pytest.raises(ValueError, match="LF"):
        MercuryITC(RESOURCE, visa_library=sim_of().library, read_termination="\r\n")


def test_protocol_safe_state_holds_a_ramp_at_the_present_temperature():
    with expected_protocol(MercuryITC, [
        reading(f"{LOOP}:ENAB", "ON"), reading(f"{LOOP}:RENA", "ON"),
        reading("DEV:MB1.T1:TEMP:SIG:TEMP", "242.3760K"),
        setting(f"{LOOP}:TSET", 242.376), setting(f"{LOOP}:RENA", "OFF"),
    ]) as mercury:
        mercury.safe_state()
    with expected_protocol(MercuryITC, [
        reading(f"{LOOP}:ENAB", "ON"), reading(f"{LOOP}:RENA", "OFF"),
    ]) as mercury:
        mercury.safe_state()                              # regulating: left alone


def test_protocol_check_fault_reads_the_alarms():
    with expected_protocol(MercuryITC, [reading("SYS:ALRM", "")]) as mercury:
        mercury.check_fault()
    with expected_protocol(MercuryITC, [reading("SYS:ALRM", "MB1.T1\tOpen circuit;")]) as mercury:
        with pytest.raises(DeviceError, match="MB1.T1\tOpen circuit"):
            mercury.check_fault()


# -- the twin on its own ----------------------------------------------------------------
def test_twin_through_plain_pyvisa():
    sim = sim_of(("TemperatureController", "oxford-mercury-itc", RESOURCE, {"regulating": True}))
    itc = generic_client(sim, RESOURCE, **LF)
    assert itc.query("*IDN?").startswith("IDN:OXFORD INSTRUMENTS:MERCURY ITC:")
    line = itc.query("READ:DEV:MB1.T1:TEMP:SIG:TEMP")
    assert re.fullmatch(r"STAT:DEV:MB1\.T1:TEMP:SIG:TEMP:29[45]\.\d{4}K", line)
    assert itc.query("READ:DEV:MB0.H1:HTR:PMAX") == "STAT:DEV:MB0.H1:HTR:PMAX:64.0000"
    # 43.725 W hold 295 K: the heater voltage is sqrt(P R), HSET its share of VLIM (40 V)
    assert itc.query("READ:DEV:MB0.H1:HTR:SIG:POWR") == "STAT:DEV:MB0.H1:HTR:SIG:POWR:43.7250W"
    assert itc.query("READ:DEV:MB0.H1:HTR:SIG:VOLT") == "STAT:DEV:MB0.H1:HTR:SIG:VOLT:33.0624V"
    assert itc.query(f"READ:{LOOP}:HSET") == f"STAT:{LOOP}:HSET:82.6561"

    assert itc.query(f"SET:{LOOP}:TSET:61") == f"STAT:SET:{LOOP}:TSET:61:VALID"
    assert itc.query(f"SET:{LOOP}:TSET:3000") == f"STAT:SET:{LOOP}:TSET:3000:INVALID"
    assert itc.query(f"READ:{LOOP}:TSET") == f"STAT:{LOOP}:TSET:61.0000K"      # unchanged
    assert itc.query(f"SET:{LOOP}:ENAB:MAYBE") == f"STAT:SET:{LOOP}:ENAB:MAYBE:INVALID"
    assert itc.query(f"SET:{LOOP}:FOO:1") == f"STAT:SET:{LOOP}:FOO:INVALID"      # unknown noun
    assert itc.query("SET:DEV:MB0.H1:HTR:PMAX:5") == "STAT:SET:DEV:MB0.H1:HTR:PMAX:5:INVALID"
    assert itc.query("READ:DEV:DB9.T1:TEMP:SIG:TEMP") == "STAT:DEV:DB9.T1:TEMP:SIG:TEMP:NOT_FOUND"
    assert itc.query("FETCH:DEV:MB1.T1:TEMP:SIG:TEMP") == "FETCH:INVALID"

    itc.query(f"SET:{LOOP}:TSET:295")
    assert itc.query(f"SET:{LOOP}:RSET:6") == f"STAT:SET:{LOOP}:RSET:6:VALID"
    itc.query(f"SET:{LOOP}:RENA:ON")
    itc.query(f"SET:{LOOP}:TSET:250")
    sim.clock.sleep(60)
    assert itc.query(f"READ:{LOOP}:TSET") == f"STAT:{LOOP}:TSET:250.0000K"     # the target
    temperature = float(itc.query("READ:DEV:MB1.T1:TEMP:SIG:TEMP").split(":")[-1][:-1])
    assert 289 < temperature < 292                 # 6 K down the ramp, lagging by < 3 K

    itc.query(f"SET:{LOOP}:ENAB:OFF")                     # manual heater, 50 % of 40 V
    itc.query(f"SET:{LOOP}:HSET:50")
    assert itc.query("READ:DEV:MB0.H1:HTR:SIG:POWR") == "STAT:DEV:MB0.H1:HTR:SIG:POWR:16.0000W"
    assert itc.query("READ:SYS:ALRM") == "STAT:SYS:ALRM:"


def test_stock_pyvisa_sim_loads_the_yaml():
    itc = pyvisa.ResourceManager(f"{YAML}@sim").open_resource(RESOURCE, **LF)
    assert itc.query("*IDN?").startswith("IDN:OXFORD INSTRUMENTS:MERCURY ITC:")
    assert itc.query("READ:DEV:MB1.T1:TEMP:SIG:TEMP") == "STAT:DEV:MB1.T1:TEMP:SIG:TEMP:295.0000K"


# -- driver against the twin --------------------------------------------------------------
def test_setpoint_change_settles_in_a_realistic_time():
    sim, twin, mercury = itc(regulating=True)
    start = sim.clock.now()
    mercury.set_setpoint(320)
    mercury.wait_until_stable(tolerance=0.05, duration=60, timeout=3600)
    assert 120 < sim.clock.now() - start < 1200
    assert twin.sample_temperature() == pytest.approx(320, abs=0.05)
    # 0.15 W/K × 316.5 K = 47.5 W of 64 W: the voltage at sqrt(47.5/64) of its limit
    assert mercury.heater_output == pytest.approx(86.1, abs=0.2)


def test_ramp_rate_is_honoured():
    sim, _, mercury = itc(regulating=True)
    mercury.set_ramp_rate(3.0)
    mercury.set_setpoint(265)
    start = sim.clock.now()
    sim.clock.sleep(300)
    # 5 min at 3 K/min, and the loop's 30 s lag behind the ramp: 1.5 K
    assert mercury.temperature == pytest.approx(295 - 3.0 * 5 + 1.5, abs=0.05)
    mercury.wait_until_stable(tolerance=0.05, duration=60, timeout=3600)
    assert sim.clock.now() - start > 30 / 3.0 * 60


def test_wait_until_stable_times_out_when_the_heater_is_too_weak():
    sim, _, mercury = itc(initial_temperature=4.0)
    mercury.HTR_MB.voltage_limit = 5                      # 25 V²/25 Ω = 1 W
    mercury.set_setpoint(100)
    with pytest.raises(DeviceError, match=r"did not settle within 1200 s.*"
                                          r"heater at full output"):
        mercury.wait_until_stable(tolerance=0.1, duration=60, timeout=1200)
    assert sim.clock.now() >= 1200
    assert mercury.temperature < 3.5 + 1.0 / 0.15          # 1 W cannot go beyond 10.2 K


def test_safe_state_keeps_regulating():
    sim, twin, mercury = itc(regulating=True)
    mercury.set_ramp_rate(5)
    mercury.set_setpoint(200)
    sim.clock.sleep(120)
    assert not twin.safe_state_reached()
    mercury.safe_state()
    assert twin.safe_state_reached()
    held = mercury.temperature_setpoint
    # where the stage was: 2 min down the 5 K/min ramp, lagging by about rate × τ = 2.5 K
    assert held == pytest.approx(295 - 10 + 2.5, abs=0.2)
    sim.clock.sleep(600)
    assert mercury.temperature == pytest.approx(held, abs=0.05)
    assert mercury.heater_output > 0

    mercury.TS_MB.control_loop_PID_enabled = False        # manual heater
    assert not twin.safe_state_reached()
    mercury.safe_state()
    assert twin.safe_state_reached()


def test_check_fault_reports_an_open_sensor():
    _, twin, mercury = itc(regulating=True)
    mercury.check_fault()
    twin.break_sensor()
    with pytest.raises(DeviceError, match="Open circuit"):
        mercury.check_fault()
