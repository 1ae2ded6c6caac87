"""Acton SpectraPro + CCD: the echoing ASCII protocol byte for byte, the twin through plain
pyvisa and stock pyvisa-sim, and spectra of a narrow line through the simulated CCD."""

import sys

import numpy as np
import pyvisa
import pytest
import yaml
from pymeasure.test import expected_protocol

from drivers.acton_spectrapro import SpectraPro, SpectraProCCD, open_picam, pixel_wavelengths
from drivers.base import DeviceError
from sim_instruments.library import SimBench
from sim_instruments.sample import PRESETS_DIR, Sample
from sim_instruments.twin import MODELS_DIR

from .simbench import generic_client, sim_of

RESOURCE = "ASRL7::INSTR"
CONNECTION = {"baud_rate": 9600, "read_termination": "\r\n", "write_termination": "\r",
              "timeout": 5000}
GRATINGS = [("?GRATINGS", "?GRATINGS"), (None, "\x1a1  300 g/mm BLZ=  500NM "),
            (None, " 2  1200 g/mm BLZ=  500NM "), (None, " 3  Not Installed     "), (None, " ok")]
INIT = GRATINGS + [("?GRATING", "?GRATING 1 ok")]


class StubCamera:
    """Three CCD columns; frames handed out in order; shutter settings recorded."""

    def __init__(self, *frames):
        self.frames, self.shutter = list(frames), []

    def get_detector_size(self):
        return 3, 100

    def get_pixel_size(self):
        return 20e-6, 20e-6

    def set_roi(self, hstart=0, hend=None, vstart=0, vend=None, hbin=1, vbin=1):
        self.roi = (hstart, hend, vstart, vend, hbin, vbin)

    def get_exposure(self):
        return 0.1

    def set_attribute_value(self, name, value):
        self.shutter.append(value)

    def snap(self, timeout=5.0):
        return np.array([self.frames.pop(0)], dtype=np.uint16)


def test_protocol_echo_ok_and_moves():
    with expected_protocol(SpectraPro, INIT + [
        ("546.070 GOTO", "546.070 GOTO ok"), ("?NM", "?NM 546.070 nm ok"),
        ("SIDE-ENT-SLIT 50 MICRONS", "SIDE-ENT-SLIT 50 MICRONS ok"),
        ("MONO-?DONE", "MONO-?DONE 1 ok"),
    ]) as mono:
        assert mono.installed == {1: "300 g/mm BLZ=500NM", 2: "1200 g/mm BLZ=500NM"}
        mono.wavelength = 546.07
        assert mono.wavelength == pytest.approx(546.07)
        mono.slit_width = 50.2
        assert mono.move_done is True


def test_protocol_without_echo_on_the_usb_port():
    with expected_protocol(SpectraPro, [
        ("?GRATINGS", ""), (None, "\x1a1  1200 g/mm BLZ=  500NM "), (None, " ok"),
        ("?GRATING", " 1 ok"), ("?NM", " 700.000 nm ok"),
    ], echo=False) as mono:
        assert mono.wavelength == pytest.approx(700.0)


def test_protocol_refusals():
    with expected_protocol(SpectraPro, INIT + [
        ("2 GRATING", "2 GRATING ?"), ("?NM", "NM 1.0 nm ok"),
    ]) as mono:
        with pytest.raises(ValueError, match=r"wavelength 6000 nm is outside \[0, 5600\] nm"):
            mono.wavelength = 6000                    # 300 g/mm: 1400 nm x 1200/300
        with pytest.raises(ValueError, match=r"grating 3 is not installed \(installed: 1, 2\)"):
            mono.grating = 3
        with pytest.raises(ValueError, match=r"slit width 5 µm is outside \[10, 3000\] µm"):
            mono.slit_width = 5
        with pytest.raises(DeviceError, match="cannot execute '2 GRATING'"):
            mono.grating = 2                          # the spectrograph answers "?"
        with pytest.raises(DeviceError, match="echoed 'NM 1.0 nm ok' for '\\?NM'"):
            mono.wavelength


def test_protocol_acquire_subtracts_the_dark_and_flags_saturation():
    camera = StubCamera([600, 601, 600], [600, 700, 65535], [600, 650, 800])
    with expected_protocol(SpectraProCCD, INIT, camera=camera) as spec:
        assert camera.roi == (0, 3, 0, 100, 1, 100)           # full vertical binning
        assert spec.acquire() == pytest.approx([0, 99, 64935])
        assert spec.saturated and camera.shutter == ["Always Closed", "Normal"]
        assert spec.acquire() == pytest.approx([0, 49, 200])  # same exposure: same dark
        assert not spec.saturated
        with pytest.raises(ValueError, match=r"integration time 0.0001 s is outside"):
            spec.set_integration_time(1e-4)


def test_grating_equation_gives_the_spectrographs_dispersion():
    wl = pixel_wavelengths(435.8, 1200, 1340, 20.0, focal_length=300, included_angle=30)
    assert wl[669:671].mean() == pytest.approx(435.8, abs=1e-6)
    assert np.diff(wl).mean() / 0.020 == pytest.approx(2.7, rel=0.05)    # nm/mm, SP-2300i
    wl300 = pixel_wavelengths(435.8, 300, 1340, 20.0)
    assert np.ptp(wl300) == pytest.approx(4 * np.ptp(wl), rel=0.05)


def test_camera_sdk_is_not_a_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "pylablib", None)
    with pytest.raises(ImportError, match="pip install pylablib"):
        open_picam()


def test_twin_speaks_spectrapro_to_a_plain_pyvisa_client():
    sim = sim_of(("Spectrometer.hr", "acton-spectrapro", RESOURCE, {"initial_grating": 2}))
    acton = generic_client(sim, RESOURCE, read_termination="\r\n", write_termination="\r")
    assert acton.query("MODEL") == "MODEL SP-2-300i ok"             # echo, data, " ok"
    assert acton.query("?NM") == "?NM 0.000 nm ok"                  # power-up position
    assert acton.query("FOO") == "FOO ?"
    acton.write("?GRATINGS")
    lines = [acton.read() for _ in range(11)]
    assert lines[:3] == ["?GRATINGS", " 1  300 g/mm BLZ=  500NM ", "\x1a2  1200 g/mm BLZ=  500NM "]
    assert lines[4].strip() == "4  Not Installed" and lines[10] == " ok"
    assert acton.query("500 GOTO") == "500 GOTO ok"                 # answered when arrived
    assert sim.clock.now() == pytest.approx(2.0)                    # 500 nm at 250 nm/s
    assert acton.query("1500 GOTO") == "1500 GOTO ?"                # beyond 1400 nm at 1200 g/mm
    assert acton.query("600 >NM") == "600 >NM ok"                   # 100 nm/min scan, returns
    assert acton.query("MONO-?DONE") == "MONO-?DONE 0 ok"
    sim.clock.sleep(30.0)
    assert acton.query("?NM") == "?NM 550.000 nm ok"
    assert acton.query("1 GRATING") == "1 GRATING ?"                # not while scanning
    sim.clock.sleep(60.0)
    assert acton.query("MONO-?DONE") == "MONO-?DONE 1 ok"
    assert acton.query("700 GOTO") == "700 GOTO ?"                  # until MONO-STOP
    assert acton.query("MONO-STOP") == "MONO-STOP ok"
    assert acton.query("MONO-?DONE") == "MONO-?DONE 1 ok"
    before = sim.clock.now()
    assert acton.query("1 GRATING") == "1 GRATING ok"
    assert 10 <= sim.clock.now() - before <= 20                     # a turret turn
    assert acton.query("4 GRATING") == "4 GRATING ?"
    assert acton.query("SIDE-ENT-SLIT 5 MICRONS") == "SIDE-ENT-SLIT 5 MICRONS ?"
    assert acton.query("SIDE-ENT-SLIT 20 MICRONS") == "SIDE-ENT-SLIT 20 MICRONS ok"
    assert acton.query("SIDE-ENT-SLIT ?MICRONS") == "SIDE-ENT-SLIT ?MICRONS 20 um ok"


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{MODELS_DIR / 'acton_spectrapro.yaml'}@sim")
    acton = rm.open_resource(RESOURCE, read_termination="\r\n", write_termination="\r")
    assert acton.query("MODEL") == "SP-2-300i ok"                   # USB dialect: no echo
    assert acton.query("?NM") == "0.000 nm ok"
    assert acton.query("FOO") == "?"
    acton.close()


def narrow_line_bench(seed=1):
    """A sample whose stimulated emission is one 0.4 nm line at 524.5 nm, pumped above
    threshold, and the spectrograph set to it."""
    data = yaml.safe_load((PRESETS_DIR / "cspbbr3_film_fs.yaml").read_text())
    data["stimulated"]["fwhm"] = "0.4 nm"
    sim = SimBench([{"slot": "PumpLaser", "model": "coherent-astrella", "resource": "ASRL1::INSTR"},
                    {"slot": "Spectrometer.hr", "model": "acton-spectrapro", "resource": RESOURCE,
                     "options": {"initial_wavelength": 524.5}}],
                   sample=Sample(data), time_scale=0, seed=seed,
                   optics={"beam_lines": {"": {"line_transmission": 2.5e-4}}})
    sim.twins["PumpLaser"].put("shutter", 1)
    spec = SpectraProCCD.open(RESOURCE, visa_library=sim.library, connection=CONNECTION, options={})
    spec.set_slit_width(20)
    spec.set_integration_time(1e-3)
    return sim, spec


def fwhm(wavelengths, counts):
    """Full width at half maximum of the highest peak (linear interpolation), nm."""
    y = counts - np.median(counts)
    top = int(np.argmax(y))
    half = y[top] / 2
    left = top - np.argmax(y[top::-1] < half)
    right = top + np.argmax(y[top:] < half)
    return (np.interp(half, y[right - 1:right + 1][::-1], wavelengths[right - 1:right + 1][::-1])
            - np.interp(half, y[left:left + 2], wavelengths[left:left + 2]))


def test_narrow_line_resolved_with_1200_but_not_with_300_grooves_per_mm():
    sim, spec = narrow_line_bench()
    spec.set_grating(2)                                             # 1200 g/mm
    counts, wl = spec.acquire(), spec.wavelengths
    assert not spec.saturated
    assert wl[np.argmax(counts)] == pytest.approx(524.5, abs=0.06)
    assert fwhm(wl, counts) == pytest.approx(0.4, rel=0.2)
    spec.set_grating(1)                                             # 300 g/mm
    counts, wl = spec.acquire(), spec.wavelengths
    assert not spec.saturated
    assert fwhm(wl, counts) > 1.2 * 0.4


def test_moves_take_simulated_time_and_saturation_is_detected():
    sim, spec = narrow_line_bench()
    spec.set_grating(2)
    start = sim.clock.now()
    spec.set_center_wavelength(624.5)
    assert sim.clock.now() - start == pytest.approx(100 / 250)     # GOTO at 250 nm/s
    assert spec.center_wavelength == pytest.approx(624.5)
    assert spec.wavelengths.min() > 580                             # the line is off the chip
    assert not spec.saturated
    spec.set_center_wavelength(524.5)
    with pytest.raises(ValueError, match=r"outside \[0, 1400\] nm"):
        spec.set_center_wavelength(1500)
    spec.set_integration_time(0.1)
    spec.acquire()
    assert spec.saturated


def test_snapshot_fault_check_and_safe_state():
    sim, spec = narrow_line_bench()
    assert spec.identity == "Princeton Instruments,SP-2-300i,23001234,CCD PIXIS: 100BR 2800000001"
    assert spec.gratings == ["300 g/mm BLZ=500NM", "1200 g/mm BLZ=500NM", "1800 g/mm BLZ=500NM"]
    assert spec.settings() == {"center_wavelength_nm": 524.5, "grating": "300 g/mm BLZ=500NM",
                               "slit_width_um": 20, "integration_time_s": 1e-3,
                               "ccd_temperature_K": pytest.approx(198.15), "ccd_cooler": "Locked"}
    spec.check_fault()
    spec.write("560 >NM")                                           # a slow scan under way
    spec.read()
    twin = sim.twins["Spectrometer.hr"]
    assert not twin.safe_state_reached()
    spec.safe_state()
    assert twin.safe_state_reached()
