"""Keysight InfiniiVision (pymeasure's DSOX1102G subclassed): exact bytes and the binary
block, the twin through plain pyvisa, and the current pulse of a diode sample driven by
the 33500B (or the BNC 575) seen through the sense resistor."""

from pathlib import Path

import numpy as np
import pytest
import pyvisa
import yaml
from pymeasure.test import expected_protocol
from scipy import optimize

from drivers.base import DeviceError
from drivers.bnc_575 import BNC575
from drivers.keysight_33500b import Keysight33500B
from drivers.keysight_dsox import InfiniiVision
from sim_instruments.sample import Environment, Sample

from .simbench import generic_client, sim_of

SCOPE = "USB0::0x2A8D::0x1766::MY59000001::INSTR"
GENERATOR = "USB0::0x0957::0x2807::MY57000001::INSTR"
YAML = Path(__file__).parents[1] / "sim_instruments" / "models" / "keysight_dsox.yaml"
PRESET = Path(__file__).parents[1] / "sim_instruments" / "presets" / "cspbbr3_film_fs.yaml"
NO_ERROR = ("SYST:ERR?", '+0,"No error"')
SETUP = [(":DIGitize CHAN1", None), (":waveform:source CHAN1", None),
         (":waveform:format WORD", None), (":WAVeform:BYTeorder MSBF", None),
         (":WAVeform:UNSigned 1", None), (":waveform:points:mode NORM", None),
         (":waveform:points 100", None)]


@pytest.fixture
def diode_sample(tmp_path):
    """The CsPbBr3 film preset made into a diode between two electrodes."""
    data = yaml.safe_load(PRESET.read_text())
    data["device"] = {"area": "1 mm^2", "series_resistance": "20 ohm",
                      "saturation_current": "1e-12 A", "ideality": 2.0}
    path = tmp_path / "diode.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_protocol_configure_scales_and_triggers():
    with expected_protocol(InfiniiVision, [
        (":channel1:SCALe 0.500000", None), (":channel1:OFFSet 1.500000", None),
        (":TIMebase:SCALe 2.000000e-05", None), (":TRIGger:EDGE:SOURce CHAN1", None),
        (":TRIGger:EDGE:SLOPe POS", None), (":TRIGger:EDGE:LEVel 5.000000e-01", None), NO_ERROR,
    ]) as scope:
        scope.configure(1, 0.5, 20e-6, 0.5)


def test_protocol_refusals_before_any_byte_and_instrument_errors():
    with expected_protocol(InfiniiVision, [
        (":channel2:SCALe 0.010000", None), (":channel2:OFFSet 0.030000", None),
        (":TIMebase:SCALe 1.000000e-03", None), (":TRIGger:EDGE:SOURce CHAN2", None),
        (":TRIGger:EDGE:SLOPe POS", None), (":TRIGger:EDGE:LEVel 0.000000e+00", None),
        ("SYST:ERR?", '-222,"Data out of range"'), NO_ERROR,
    ]) as scope:
        with pytest.raises(ValueError, match=r"vertical scale 20 V/div is outside \[0.0005, 10\]"):
            scope.configure(1, 20.0, 1e-3)
        with pytest.raises(ValueError, match=r"horizontal scale 1e-09 s/div is outside"):
            scope.configure(1, 1.0, 1e-9)
        with pytest.raises(ValueError, match=r"trigger level 10 V is off the screen \[-1, 7\] V"):
            scope.configure(1, 1.0, 1e-3, 10.0)
        with pytest.raises(ValueError, match="channel 3"):
            scope.waveform(3)
        with pytest.raises(DeviceError, match="-222"):
            scope.configure(2, 0.01, 1e-3)


def test_protocol_waveform_reads_the_block_by_length_despite_newlines():
    codes = np.array([0x0A0A, 32768, 0, 0xFFFF], dtype=">u2")    # 0x0A bytes, hole, clipped
    block = b"#8" + f"{codes.nbytes:08d}".encode() + codes.tobytes() + b"\n"
    with expected_protocol(InfiniiVision, SETUP + [
        (":waveform:preamble?", "+1,+0,+4,+1,+1.0E-06,-2.0E-06,+0,+1.0E-03,+5.0E-01,+32768"),
        (":WAVeform:DATA?", block),
    ], points=100) as scope:
        t, v = scope.waveform(1)
    assert t == pytest.approx([-2e-6, -1e-6, 0.0, 1e-6])
    assert v[0] == pytest.approx((0x0A0A - 32768) * 1e-3 + 0.5) and v[1] == pytest.approx(0.5)
    assert np.isnan(v[2]) and scope.clipped


def test_protocol_rejects_a_block_without_definite_length():
    setup = [(":waveform:format BYTE", None) if c == ":waveform:format WORD" else (c, r)
             for c, r in SETUP]
    with expected_protocol(InfiniiVision, setup + [
        (":waveform:preamble?", "+0,+0,+4,+1,+1.0E-06,-2.0E-06,+0,+1.0E-03,+0.0E+00,+128"),
        (":WAVeform:DATA?", b"1,2,3\n"),
    ], points=100, waveform_format="byte") as scope:
        with pytest.raises(DeviceError, match="definite-length block"):
            scope.waveform(1)


def test_twin_blocks_preamble_and_records_through_plain_pyvisa():
    sim = sim_of(("Oscilloscope", "keysight-dsox", SCOPE, {}))
    scope = generic_client(sim, SCOPE, read_termination="\n", write_termination="\n")
    assert scope.query("*IDN?").startswith("KEYSIGHT TECHNOLOGIES,DSOX1102G")
    scope.write(":WAVeform:FORMat WORD")
    scope.write(":WAVeform:POINts 2000")
    scope.write(":TIMebase:REFerence LEFT")
    scope.write(":TIMebase:SCALe 1e-6")
    scope.write(":DIGitize CHANnel1")
    preamble = scope.query(":WAV:PRE?").split(",")
    assert len(preamble) == 10 and preamble[:4] == ["1", "0", "2000", "1"]
    assert float(preamble[4]) == pytest.approx(5e-9) and float(preamble[5]) == pytest.approx(-1e-6)
    scope.write(":WAV:DATA?")
    raw = scope.read_bytes(2 + 8 + 4000 + 1)
    assert raw[:10] == b"#800004000" and raw[-1:] == b"\n" and b"\n" in raw[10:-1]
    first = scope.query_binary_values(":WAV:DATA?", datatype="H", is_big_endian=True,
                                      container=np.array)
    again = scope.query_binary_values(":WAV:DATA?", datatype="H", is_big_endian=True,
                                      container=np.array)
    assert first.size == 2000 and np.array_equal(first, again)      # stopped: one record
    assert abs(first.mean() - 32768) < 50                            # no signal: noise at 0 V
    scope.write(":RUN")
    running = scope.query_binary_values(":WAV:DATA?", datatype="H", is_big_endian=True,
                                        container=np.array)
    assert not np.array_equal(first, running)                        # a new acquisition
    scope.write(":TRIG:SWEep NORMal")
    assert scope.query(":TRIG:SWE?") == "NORM"
    scope.write(":CHANnel1:SCALe 50")
    scope.write(":TIM:SCAL abc")
    scope.write(":WAV:SOUR CHAN3")
    scope.write(":DIG CHAN4")
    scope.write(":TRIGger:LEVel 0.2")                                # the EDGE node is optional
    assert float(scope.query(":TRIG:EDGE:LEV?")) == pytest.approx(0.2)
    assert [scope.query(":SYST:ERR?") for _ in range(5)] == [
        '-222,"Data out of range"', '-104,"Data type error"', '-224,"Illegal parameter value"',
        '-224,"Illegal parameter value"', '+0,"No error"']


def test_twin_normal_sweep_without_trigger_takes_no_record():
    sim = sim_of(("Oscilloscope", "keysight-dsox", SCOPE, {}))
    scope = generic_client(sim, SCOPE, read_termination="\n", write_termination="\n")
    scope.write(":TRIG:SWE NORM")
    scope.write(":SING")
    assert scope.query(":WAV:DATA?") == "#800000000"


def test_yaml_loads_in_stock_pyvisa_sim():
    rm = pyvisa.ResourceManager(f"{YAML}@sim")
    scope = rm.open_resource(SCOPE, read_termination="\n", write_termination="\n")
    assert scope.query("*IDN?").startswith("KEYSIGHT TECHNOLOGIES,DSOX1102G")
    scope.write("CHAN1:SCAL 0.2")
    assert float(scope.query("CHAN1:SCAL?")) == pytest.approx(0.2)
    scope.close()


def expected_current(sample_path, amplitude, sense):
    """Current of the diode sample in series with the sense resistor, solved here."""
    sample, env = Sample.load(sample_path), Environment()
    v = optimize.brentq(lambda v: v + sense * sample.current(v, env) - amplitude, 0, amplitude)
    return sample.current(v, env)


def crossings(t, v, level):
    """Interpolated times where ``v`` rises / falls through ``level``."""
    above = v > level
    up, down = np.flatnonzero(~above[:-1] & above[1:]), np.flatnonzero(above[:-1] & ~above[1:])

    def at(i):
        return t[i] + (level - v[i]) * (t[i + 1] - t[i]) / (v[i + 1] - v[i])
    return at(up), at(down)


def test_scope_sees_the_current_pulse_through_the_sense_resistor(diode_sample):
    sim = sim_of(("PulseGenerator", "keysight-33500b", GENERATOR, {}),
                 ("Oscilloscope", "keysight-dsox", SCOPE, {"sense_resistance": 10.0}),
                 sample=diode_sample)
    generator = Keysight33500B(GENERATOR, visa_library=sim.library)
    scope = InfiniiVision(SCOPE, visa_library=sim.library, points=2000)
    assert scope.identity.startswith("KEYSIGHT TECHNOLOGIES,DSOX1102G,MY59000001")
    generator.set_pulse(5.0, 10e-6, 100e-6)
    scope.configure(1, 0.2, 40e-6, 0.3)
    t, v = scope.waveform(1)
    assert np.nanmax(np.abs(v)) < 0.05                              # output off: no current
    generator.enable_output()
    t, v = scope.waveform(1)
    top = 10.0 * expected_current(diode_sample, 5.0, 10.0)
    assert 0.5 < top < 1.3                                           # on screen, diode limited
    assert np.median(v[v > top / 2]) == pytest.approx(top, rel=0.02)
    rises, falls = crossings(t, v, top / 2)            # sampled every 0.2 µs
    assert len(rises) >= 3 and not scope.clipped
    assert rises[np.argmin(np.abs(rises))] == pytest.approx(0.0, abs=0.2e-6)   # triggered
    assert np.diff(rises) == pytest.approx(100e-6, abs=0.2e-6)
    widths = np.array([falls[falls > rise][0] - rise for rise in rises if np.any(falls > rise)])
    assert widths == pytest.approx(10e-6, abs=0.2e-6)
    scope.configure(2, 1.0, 40e-6, 2.5)
    _, drive = scope.waveform(2)
    assert np.median(drive[drive > 2.5]) == pytest.approx(5.0, rel=0.02)
    scope.safe_state()
    assert sim.twins["Oscilloscope"].safe_state_reached()


def test_scope_follows_the_bnc_when_it_drives(diode_sample):
    sim = sim_of(("PulseGenerator.bnc", "bnc-575", "ASRL11::INSTR", {}),
                 ("Oscilloscope", "keysight-dsox", SCOPE, {"generator": "PulseGenerator.bnc"}),
                 sample=diode_sample)
    bnc = BNC575("ASRL11::INSTR", visa_library=sim.library)
    scope = InfiniiVision(SCOPE, visa_library=sim.library, waveform_format="byte")
    bnc.set_pulse(2.0, 2e-6, 20e-6)
    bnc.enable_output()
    scope.configure(1, 0.05, 5e-6, 0.02)
    t, v = scope.waveform(1)
    top = 10.0 * expected_current(diode_sample, 2.0, 10.0)
    rises, falls = crossings(t, v, top / 2)            # sampled every 50 ns
    assert np.median(v[v > top / 2]) == pytest.approx(top, rel=0.05)
    assert np.diff(rises) == pytest.approx(20e-6, abs=0.1e-6)
    assert falls[falls > rises[0]][0] - rises[0] == pytest.approx(2e-6, abs=0.1e-6)
