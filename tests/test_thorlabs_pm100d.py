"""Thorlabs PM100D (pymeasure driver wrapped): exact bytes, SCPI forms, readings."""

import pytest
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.thorlabs_pm100d import PM100D

from .simbench import generic_client, sim_of

SENSOR = ("SYST:SENSOR:IDN?", "ES111C,SIM12345,01-Jan-2026,3,1,34")
RESOURCE = "USB0::0x1313::0x8078::P0012345::INSTR"


def test_protocol_energy_readings_averaged_by_the_console():
    with expected_protocol(PM100D, [
        SENSOR, ("SENS:AVER:COUN 2", None), ("SYST:ERR?", '0,"No error"'), ("MEAS:ENER?", "2.0E-6"),
        ("MEAS:ENER?", "3.0E-6"),                             # averaging known: not set again
        ("SENS:AVER:COUN?", "5"), ("SENS:AVER:COUN 2", None), ("SYST:ERR?", '0,"No error"'),
        ("MEAS:ENER?", "4.0E-6"),
    ]) as pm:
        assert pm.is_energy_sensor and not pm.is_power_sensor
        assert pm.pulse_energy(1000, readings=2) == pytest.approx(2e-6)
        assert pm.pulse_energy(1000, readings=2) == pytest.approx(3e-6)
        assert pm.averaging == 5                              # changed at the console: read
        assert pm.pulse_energy(1000, readings=2) == pytest.approx(4e-6)


def test_protocol_over_range_raises():
    with expected_protocol(PM100D, [SENSOR, ("SENS:AVER:COUN 1", None), ("SYST:ERR?", '0,"No error"'),
                                    ("MEAS:ENER?", "9.9E37")]) as pm:
        with pytest.raises(DeviceError, match="over range"):
            pm.pulse_energy(1000)


def test_protocol_set_wavelength_checks_error_queue():
    with expected_protocol(PM100D, [
        SENSOR, ("SENS:CORR:WAV? MIN", "185"), ("SENS:CORR:WAV? MAX", "25000"),
        ("SENSE:CORR:WAV 400", None), ("SYST:ERR?", '0,"No error"'),
    ]) as pm:
        pm.set_wavelength(400)


@pytest.mark.parametrize("replies", [["x#9\x07"], ["-222"], ['-2,"Overl",7', '0,"No error"']])
def test_garbled_error_queue_is_a_reply_error(replies):
    from drivers.base import ReplyError
    with expected_protocol(PM100D, [SENSOR] + [("SYST:ERR?", r) for r in replies]) as pm:
        with pytest.raises(ReplyError, match="error queue reply is garbled"):
            pm.check_fault()


def test_twin_accepts_long_and_short_scpi_forms_and_queues_errors():
    sim = sim_of(("PowerMeter", "thorlabs-pm100d", RESOURCE, {}))
    pm = generic_client(sim, RESOURCE, read_termination="\n", write_termination="\n")
    assert pm.query("*IDN?").startswith("Thorlabs,PM100D")
    pm.write("SENSe:CORRection:WAVelength 532")
    assert pm.query("sens:corr:wav?") == "532"
    pm.write("SENS:CORR:WAV 99999")                        # outside the sensor's range
    pm.write("BOGUS:CMD 1")
    assert pm.query("SYST:ERR?") == '-113,"Undefined header"'
    assert pm.query("SYST:ERR?") == '-113,"Undefined header"'
    assert pm.query("SYST:ERR?") == '0,"No error"'


def test_reading_follows_the_pulse_energy_at_the_sample():
    sim = sim_of(("PumpLaser", "coherent-astrella", "ASRL1::INSTR", {}),
                 ("PowerMeter", "thorlabs-pm100d", RESOURCE, {"noise": 0.0, "floor": 0.0}),
                 optics={"beam_lines": {"": {"line_transmission": 1e-3}}})
    pm = PM100D(RESOURCE, visa_library=sim.library)
    assert pm.pulse_energy(1000) == pytest.approx(0.0, abs=1e-12)     # shutter closed
    sim.twins["PumpLaser"].put("shutter", 1)
    assert pm.pulse_energy(1000) == pytest.approx(2e-3 * 1e-3)


def test_a_reading_cut_short_is_refused_not_read_a_million_times_too_large():
    from drivers.base import ReplyError
    with expected_protocol(PM100D, [SENSOR, ("MEAS:ENER?", "1.234560e-06"), ("MEAS:ENER?", "1.2345"),
                                    ("MEAS:ENER?", "NaN")]) as meter:
        assert meter.measure("ENER") == pytest.approx(1.23456e-6)
        for _ in range(2):
            with pytest.raises(ReplyError, match="exponential notation"):
                meter.measure("ENER")
