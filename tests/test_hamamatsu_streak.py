"""Hamamatsu HPD-TA streak camera (RemoteEx): exact bytes on both ports, the twin through
plain pyvisa, and streak images that show the sample's exciton and Auger dynamics."""

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import pyvisa
from pymeasure.adapters import ProtocolAdapter
from pymeasure.test import expected_protocol

from drivers.base import DeviceError
from drivers.hamamatsu_streak import HPDTA

from .simbench import generic_client, sim_of

CMD = "TCPIP0::10.0.0.30::1001::SOCKET"
DATA = "TCPIP0::10.0.0.30::1002::SOCKET"
YAML = Path(__file__).parents[1] / "sim_instruments" / "models" / "hamamatsu_streak.yaml"
INIT = [(None, "RemoteEx Ready"), ("AppStart()", "0,AppStart"),
        ("DevParamInfoEx(TD,Time Range)",
         "0,DevParamInfoEx,-1,-1,Time Range,5 ns,2,6,0.5 ns,1 ns,2 ns,5 ns,10 ns,20 ns")]


@contextmanager
def streak(comm_pairs, data_blocks=(), data_banner=b"RemoteEx Data Ready\r"):
    """The driver on scripted command and data ports; every pair must be used."""
    data = ProtocolAdapter([(None, data_banner)] + [(None, block) for block in data_blocks])
    with expected_protocol(HPDTA, INIT + comm_pairs, data_resource=data) as cam:
        yield cam
    assert data._index == len(data.comm_pairs), "data blocks left unread"


def exposure_of(image_reply):
    """One Acquire-mode exposure: start, poll until done, fetch the image."""
    return [("CamParamGet(Acquire,Exposure)", "0,CamParamGet,1 s"),
            ("AcqStart(Acquire)", "0,AcqStart"),
            ("AsyncCommandStatus()", "0,AsyncCommandStatus,1,0,1,AcqStart"),
            ("AsyncCommandStatus()", "0,AsyncCommandStatus,0,0,0"),
            ("ImgDataGet(current,Data)", image_reply)]


def test_protocol_connection_reads_banners_and_the_time_ranges():
    with streak([]) as cam:
        assert cam.time_ranges == [5e-10, 1e-9, 2e-9, 5e-9, 1e-8, 2e-8]
    with pytest.raises(DeviceError, match="data port greeted"):
        with streak([], data_banner=b"RemoteEx Busy......\r"):
            pass


def test_protocol_settings_are_remoteex_unit_strings():
    with streak([
        ("DevParamSet(TD,Time Range,20 ns)", "0,DevParamSet"),
        ("DevParamSet(TD,Time Range,0.5 ns)", "0,DevParamSet"),
        ("DevParamGet(TD,Time Range)", "0,DevParamGet,1 ns"),
        ("DevParamSet(TD,MCP Gain,42)", "0,DevParamSet"),
        ("DevParamSet(Delaybox,Delay A,0.0000000015)", "0,DevParamSet"),
        ("CamParamSet(Acquire,Exposure,250 ms)", "0,CamParamSet"),
        ("CamParamSet(Acquire,Exposure,2 s)", "0,CamParamSet"),
        ("CamParamGet(Acquire,Exposure)", "0,CamParamGet,100 ms"),
        ("DevParamSet(TD,Shutter,Open)", "0,DevParamSet"),
        ("DevParamSet(TD,Shutter,Closed)", "0,DevParamSet"),
    ]) as cam:
        cam.set_time_range(2e-8)
        cam.set_time_range(0.5e-9)
        assert cam.time_range == 1e-9
        cam.set_mcp_gain(42)
        cam.set_delay(1.5e-9)
        cam.set_exposure(0.25)
        cam.set_exposure(2)
        assert cam.exposure == pytest.approx(0.1)
        cam.open_shutter()
        cam.close_shutter()


def test_protocol_bad_values_are_refused_before_any_byte():
    with streak([]) as cam:
        with pytest.raises(ValueError, match=r"3e-09 s is not one of .*\(0.5 ns, 1 ns"):
            cam.set_time_range(3e-9)
        with pytest.raises(ValueError, match="64"):
            cam.set_mcp_gain(64)
        with pytest.raises(ValueError, match="20"):
            cam.set_exposure(20.0)
        with pytest.raises(ValueError, match="-1"):
            cam.set_delay(-1e-9)


def test_protocol_error_codes_and_runtime_messages():
    with streak([
        ("DevParamSet(TD,MCP Gain,10)", "7,DevParamSet"),
        ("DevParamGet(TD,Mode)", "2,DevParamGet"),
        ("DevParamGet(TD,Mode)", "0,AcqStatus,idle"),
        ("AcqStatus()", "4,Livemonitor,12"), (None, "0,AcqStatus,idle"),
    ]) as cam:
        with pytest.raises(DeviceError, match=r"error 7 \(command cannot be executed"):
            cam.set_mcp_gain(10)
        with pytest.raises(DeviceError, match="error 2 .*unknown"):
            cam.mode
        with pytest.raises(DeviceError, match="unexpected reply"):
            cam.mode
        cam.check_fault()                                  # the runtime message is skipped


def test_protocol_acquire_removes_the_dark_level_and_reads_the_axes():
    dark = np.full((3, 4), 100, dtype="<u2")
    raw = dark + np.array([[0, 0, 0, 0], [0, 900, 65435, 0], [0, 400, 0, 0]], dtype="<u2")
    image = "0,ImgDataGet,4,3,2,Data"
    with streak([
        ("DevParamGet(TD,Mode)", "0,DevParamGet,Focus"),
        ("DevParamSet(TD,Mode,Operate)", "0,DevParamSet"),
        ("CamParamGet(Acquire,Exposure)", "0,CamParamGet,1 s"),
        ("CamParamGet(Setup,Binning)", "0,CamParamGet,2 x 2"),
        ("DevParamGet(TD,MCP Gain)", "0,DevParamGet,40"),
        ("DevParamGet(TD,Shutter)", "0,DevParamGet,Open"),         # dark: shutter closed
        ("DevParamSet(TD,Shutter,Closed)", "0,DevParamSet"),
        *exposure_of(image),
        ("DevParamSet(TD,Shutter,Open)", "0,DevParamSet"),
        *exposure_of(image),
        ("ImgDataGet(current,ScalingTable,Vertical)", "0,ImgDataGet,3,ScalingTable"),
        ("DevParamGet(TD,Time Range)", "0,DevParamGet,5 ns"),
        ("DevParamGet(Delaybox,Delay A)", "0,DevParamGet,2e-09"),
        ("ImgDataGet(current,ScalingTable,Horizontal)", "0,ImgDataGet,4,ScalingTable"),
    ], data_blocks=[dark.tobytes(), raw.tobytes(),
                    np.array([0.0, 1.5, 3.0], "<f4").tobytes(),
                    np.array([500, 510, 520, 530], "<f4").tobytes()]) as cam:
        counts = cam.acquire()
        assert counts.shape == (3, 4) and counts[1, 1] == 900 and counts[0, 0] == 0
        assert cam.saturated
        assert cam.time_axis == pytest.approx([2e-9, 3.5e-9, 5e-9])
        assert cam.wavelength_axis == pytest.approx([500, 510, 520, 530])


def test_protocol_safe_state_stops_then_closes_and_zeroes_the_gain():
    with streak([("AcqStop(1000)", "0,AcqStop"),
                 ("DevParamSet(TD,Shutter,Closed)", "0,DevParamSet"),
                 ("DevParamSet(TD,MCP Gain,0)", "0,DevParamSet")]) as cam:
        cam.safe_state()


def test_twin_speaks_remoteex_on_both_ports_to_plain_pyvisa():
    sim = sim_of(("StreakCamera", "hamamatsu-hpdta", CMD, {"data_resource": DATA}))
    cmd = generic_client(sim, CMD, read_termination="\r", write_termination="\r")
    assert cmd.read() == "RemoteEx Ready"
    assert cmd.query("ImgDataGet(current,Data)") == "9,ImgDataGet"     # no data connection
    data = generic_client(sim, DATA)
    assert data.read_bytes(20) == b"RemoteEx Data Ready\r"
    assert cmd.query("devparamget(Streak,Time Range)") == "0,DevParamGet,5 ns"
    assert cmd.query("DevParamSet(TD,Time Range,3 ns)") == "10,DevParamSet"
    assert cmd.query("DevParamSet(TD,Time Range,20 ns)") == "0,DevParamSet"
    assert cmd.query("DevParamInfoEx(TD,Time Range)").startswith(
        "0,DevParamInfoEx,-1,-1,Time Range,20 ns,2,20,0.5 ns,1 ns,2 ns,5 ns,10 ns,")
    assert cmd.query("DevParamInfoEx(TD,MCP Gain)") == "0,DevParamInfoEx,-1,-1,MCP Gain,0,1,0,63"
    assert cmd.query("DevParamSet(TD,MCP Gain,64)") == "10,DevParamSet"
    assert cmd.query("DevParamGet(TD,Colour)") == "2,DevParamGet"
    assert cmd.query("DevParamGet(TD)") == "6,DevParamGet"
    assert cmd.query("Bogus()") == "2,Bogus"
    assert cmd.query("AcqStart") == "1,AcqStart"
    assert cmd.query("CamParamSet(Acquire,Exposure,20 s)") == "10,CamParamSet"
    assert cmd.query("CamParamSet(Acquire,Exposure,0.5s)") == "0,CamParamSet"
    assert cmd.query("CamParamGet(Acquire,Exposure)") == "0,CamParamGet,500 ms"
    assert cmd.query("ImgDataGet(current,Data)") == "7,ImgDataGet"     # no image yet


def test_twin_acquisition_runs_on_the_clock_and_refuses_changes_meanwhile():
    sim = sim_of(("StreakCamera", "hamamatsu-hpdta", CMD, {"data_resource": DATA}))
    cmd = generic_client(sim, CMD, read_termination="\r", write_termination="\r")
    data = generic_client(sim, DATA)
    assert cmd.read() == "RemoteEx Ready" and data.read_bytes(20) == b"RemoteEx Data Ready\r"
    assert cmd.query("AcqStart(Acquire)") == "0,AcqStart"
    assert cmd.query("AcqStart(Acquire)") == "7,AcqStart"
    assert cmd.query("DevParamSet(TD,MCP Gain,10)") == "7,DevParamSet"
    assert cmd.query("AsyncCommandStatus()") == "0,AsyncCommandStatus,1,0,1,AcqStart"
    assert cmd.query("AcqStatus()") == "0,AcqStatus,busy,Acquire"
    assert cmd.query("ImgDataGet(current,Data)") == "7,ImgDataGet"
    sim.clock.sleep(0.2)                                   # 100 ms exposure + readout
    assert cmd.query("AsyncCommandStatus()") == "0,AsyncCommandStatus,0,0,0"
    assert cmd.query("ImgDataGet(current,Data)") == "0,ImgDataGet,672,508,2,Data"
    pixels = np.frombuffer(data.read_bytes(672 * 508 * 2), "<u2")
    assert abs(pixels.mean() - 100) < 2                    # shutter closed: offset only
    assert cmd.query("ImgDataGet(current,ScalingTable,V)") == "0,ImgDataGet,508,ScalingTable"
    times = np.frombuffer(data.read_bytes(508 * 4), "<f4")                # ns
    assert np.all(np.diff(times) > 0) and 0 < times[0] < 0.05 and 4.9 < times[-1] < 5
    assert cmd.query("ImgDataGet(current,ScalingTable,Horizontal)") == \
        "0,ImgDataGet,672,ScalingTable"
    wavelengths = np.frombuffer(data.read_bytes(672 * 4), "<f4")
    assert wavelengths[0] < 515 < wavelengths[-1]
    assert cmd.query("CamParamSet(Setup,Binning,1 x 1)") == "0,CamParamSet"
    assert cmd.query("AcqStart(Live)") == "0,AcqStart"
    assert cmd.query("ImgDataGet(current,Data)") == "0,ImgDataGet,1344,1016,2,Data"
    assert len(data.read_bytes(1344 * 1016 * 2)) == 1344 * 1016 * 2
    assert cmd.query("AcqStop(1000)") == "0,AcqStop"
    assert cmd.query("AcqStatus()") == "0,AcqStatus,idle"


def test_stock_pyvisa_sim_loads_the_yaml():
    rm = pyvisa.ResourceManager(f"{YAML}@sim")
    cmd = rm.open_resource(CMD, read_termination="\r", write_termination="\r")
    assert cmd.query("DevParamGet(TD,Time Range)") == "0,DevParamGet,5 ns"
    assert cmd.query("DevParamSet(TD,Time Range,3 ns)") == "10,DevParamSet"
    assert cmd.query("AppInfo(Title)") == "0,AppInfo,HPD-TA"


# -- the driver against its twin ------------------------------------------------------

def streak_bench(energy, **options):
    """Astrella (shutter open) -> 1e-3 line transmission -> sample -> streak camera."""
    sim = sim_of(("PumpLaser", "coherent-astrella", "ASRL1::INSTR", {"pulse_energy": energy}),
                 ("StreakCamera", "hamamatsu-hpdta", CMD, {"data_resource": DATA, **options}),
                 optics={"beam_lines": {"": {"line_transmission": 1e-3}}})
    sim.twins["PumpLaser"].put("shutter", 1)
    return sim, HPDTA(CMD, visa_library=sim.library, data_resource=DATA)


def decay(energy, gain, wavelength=510.0):
    """Streak image (5 ns, 1 s, shutter open): the time after the peak (s), the decay
    averaged over 11 columns at ``wavelength`` and the camera."""
    sim, cam = streak_bench(energy)
    cam.set_time_range(5e-9)
    cam.set_exposure(1.0)
    cam.set_mcp_gain(gain)
    cam.open_shutter()
    image = cam.acquire()
    column = int(np.argmin(abs(cam.wavelength_axis - wavelength)))
    profile = image[:, column - 5:column + 6].mean(axis=1)
    peak = int(np.argmax(profile))
    return cam.time_axis - cam.time_axis[peak], profile, sim, cam


def early_to_late(energy, gain):
    t, profile, _, cam = decay(energy, gain, 505.0)
    assert not cam.saturated
    early = profile[(t >= 0) & (t < 0.2e-9)].mean()
    late = profile[(t > 2.5e-9) & (t < 3.5e-9)].mean()
    return early / late


def test_exciton_lifetime_from_a_low_fluence_streak_image():
    t, profile, sim, cam = decay(2e-6, 45)
    assert 0.9e-9 < cam.time_axis[np.argmax(profile)] < 1.2e-9     # pulse arrives at 1 ns
    window = (t > 0.5e-9) & (t < 3.5e-9)
    tau = -1 / np.polyfit(t[window], np.log(profile[window]), 1)[0]
    assert tau == pytest.approx(sim.sample.p.dynamics.tau_exciton * 1e-9, rel=0.2)


def test_auger_component_appears_only_at_high_fluence():
    # ⟨N⟩ ≈ 0.03, 0.3 and 1.7 at 400 nm on the default stripe
    low, mid, high = early_to_late(2e-6, 45), early_to_late(2e-5, 35), early_to_late(1e-4, 3)
    assert low < 4                           # single-exciton decay: e^(2.9 ns / 3.1 ns) ≈ 2.5
    assert low < mid < high and high > 2 * low


def test_saturation_is_flagged_and_zero_gain_gives_only_dark():
    sim, cam = streak_bench(2e-3)
    cam.set_exposure(1.0)
    cam.open_shutter()
    cam.set_mcp_gain(63)
    cam.acquire()
    assert cam.saturated
    cam.set_mcp_gain(0)
    image = cam.acquire()
    assert not cam.saturated and abs(image.mean()) < 1


def test_driver_refused_while_acquiring_and_safe_state():
    sim, cam = streak_bench(2e-6)
    twin = sim.twins["StreakCamera"]
    assert cam.identity == "Hamamatsu,HPD-TA 9.5.0 pf0,C7700,DG645,Kymera 328i"
    assert cam.settings()["trigger_rate_Hz"] == 1000
    cam.set_mcp_gain(30)
    cam.open_shutter()
    cam.start_acquisition("Live")
    with pytest.raises(DeviceError, match="error 7"):
        cam.set_time_range(1e-9)
    assert not twin.safe_state_reached()
    cam.safe_state()
    assert twin.safe_state_reached()
    assert cam.settings()["mcp_gain"] == 0 and not cam.settings()["shutter_open"]


def test_check_fault_when_hpdta_is_not_running():
    sim, cam = streak_bench(2e-6, app_running=False)        # driver's AppStart starts it
    cam.check_fault()
    sim.twins["StreakCamera"].running = False               # HPD-TA closed on the streak PC
    with pytest.raises(DeviceError, match="error 3"):
        cam.check_fault()
