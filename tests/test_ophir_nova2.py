"""Ophir Nova II: the $-command protocol byte for byte, the pyro twin through plain pyvisa
and stock pyvisa-sim, and pulse-energy readings from the simulated optics."""

import pyvisa
import pytest
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.ophir_nova2 import NovaII
from sim_instruments.twin import MODELS_DIR

from .simbench import generic_client, sim_of

RESOURCE = "ASRL6::INSTR"
INIT = [("$AR", "*0 20.0uJ 2.00uJ 200nJ 20.0nJ"),
        ("$AW", "*CONTINUOUS 150 12000 1 355 532 1064 NONE NONE NONE")]
TERMINATIONS = {"read_termination": "\r\n", "write_termination": "\r\n"}


def test_protocol_one_reading_per_pulse_after_the_new_energy_flag():
    with expected_protocol(NovaII, INIT + [
        ("$MM0", "*3"),
        ("$EF", "*0"), ("$EF", "*1"), ("$SE", "*1.000E-6"),
        ("$EF", "*1"), ("$SE", "* 3.000E-6"),
    ]) as meter:
        assert meter.pulse_energy(10, readings=2) == pytest.approx(2e-6)


def test_protocol_switches_to_energy_mode_and_reports_over_range():
    with expected_protocol(NovaII, INIT + [
        ("$MM0", "*2"), ("$MM3", "*"),
        ("$EF", "*1"), ("$SE", "*OVER"), ("$RN", "*1"),
    ]) as meter:
        with pytest.raises(DeviceError, match="over range on the 2.00uJ range"):
            meter.pulse_energy(10)


def test_protocol_error_reply_raises_and_bad_values_send_nothing():
    with expected_protocol(NovaII, INIT + [("$WL 532", "*"), ("$WN3", "?BAD PARAMETER")]) as meter:
        meter.set_wavelength(532.2)
        with pytest.raises(DeviceError, match=r"refused \$WN3: BAD PARAMETER"):
            meter.energy_range = "20.0nJ"
        with pytest.raises(ValueError, match=r"wavelength 100 nm is outside \[150, 12000\] nm"):
            meter.set_wavelength(100)
        with pytest.raises(ValueError, match="AUTO"):
            meter.energy_range = "AUTO"           # pyro energy ranges have no autorange
        with pytest.raises(ValueError, match="readings 0"):
            meter.pulse_energy(10, readings=0)


def test_protocol_ranges_of_a_head_with_autorange():
    with expected_protocol(NovaII, [("$AR", "*0 AUTO 30.0W 3.00W 300mW"), INIT[1],
                                    ("$WN-1", "*"), ("$RN", "*1")]) as meter:
        meter.energy_range = "AUTO"                 # AUTO is range -1, the largest is 0
        assert meter.energy_range == "3.00W"


def test_twin_speaks_ophir_to_a_plain_pyvisa_client():
    sim = sim_of(("PumpLaser", "coherent-astrella", "ASRL1::INSTR", {}),
                 ("PowerMeter.ns", "ophir-nova2", RESOURCE, {}))
    nova = generic_client(sim, RESOURCE, **TERMINATIONS)
    assert nova.query("$HI") == "*PY 654321 PE10BF-C 80000003"
    assert nova.query("$XY") == "?UNKNOWN COMMAND"
    assert nova.query("$WN-1") == "?BAD PARAMETER"         # no AUTO range for a pyro head
    assert nova.query("$WN4") == "?BAD PARAMETER"
    assert nova.query("$WN1") == "*" and nova.query("$AR") == "*1 20.0uJ 2.00uJ 200nJ 20.0nJ"
    assert nova.query("$WL 100") == "?BAD PARAMETER"       # below the head's calibration
    assert nova.query("$WL 400") == "*"
    assert nova.query("$AW") == "*CONTINUOUS 150 12000 1 400 532 1064 NONE NONE NONE"
    assert nova.query("$WI4") == "?BAD PARAMETER"          # empty entry
    sim.clock.sleep(1.0)
    assert nova.query("$EF") == "*0"                       # shutter closed: no pulses
    sim.twins["PumpLaser"].put("shutter", 1)
    assert nova.query("$EF") == "*1"
    assert nova.query("$SE").startswith("*") and nova.query("$EF") == "*0"
    sim.clock.sleep(1e-3)                                  # next pulse of the 1 kHz train
    assert nova.query("$EF") == "*1"


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'ophir_nova2.yaml'}@sim")
    nova = rm.open_resource(RESOURCE, **TERMINATIONS)
    assert nova.query("$II") == "*NOVA2 612345 NOVA2"
    assert nova.query("$MM0") == "*3"
    assert nova.query("$MM1") == "?BAD PARAMETER"
    nova.close()


@pytest.fixture
def bench():
    sim = sim_of(("PumpLaser", "coherent-astrella", "ASRL1::INSTR", {"pulse_energy": 2e-3}),
                 ("PowerMeter.ns", "ophir-nova2", RESOURCE, {"noise": 0.0, "floor": 0.0}),
                 optics={"beam_lines": {"": {"line_transmission": 1e-3}}})
    meter = NovaII.open(RESOURCE, visa_library=sim.library, options={},
                        connection={"baud_rate": 9600, "timeout": 2000, **TERMINATIONS})
    return sim, meter


def test_driver_reads_the_pulse_energy_at_the_sample(bench):
    sim, meter = bench
    assert meter.identity == "Ophir,NOVA2,612345,1.37,head PE10BF-C 654321"
    with pytest.raises(DeviceError, match="no laser pulse reached the Nova II head"):
        meter.pulse_energy(1000)                           # shutter closed
    sim.twins["PumpLaser"].put("shutter", 1)
    start = sim.clock.now()
    assert meter.pulse_energy(1000, readings=20) == pytest.approx(2e-6)
    assert sim.clock.now() - start >= 19e-3                # a fresh pulse for every reading
    meter.energy_range = "2.00uJ"
    sim.optics.lines[""].line_transmission = 1.5e-3                   # 3 µJ on the 2 µJ range
    with pytest.raises(DeviceError, match="over range on the 2.00uJ range"):
        meter.pulse_energy(1000)


def test_settings_and_safe_state(bench):
    sim, meter = bench
    meter.set_wavelength(400)
    assert meter.settings() == {"head": "PE10BF-C", "mode": "energy", "energy_range": "20.0uJ",
                                "wavelength_nm": 400.0}
    meter.check_fault()
    meter.safe_state()
    assert sim.twins["PowerMeter.ns"].safe_state_reached()
