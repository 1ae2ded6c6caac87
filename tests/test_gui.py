"""The GUI driven on the simulated bench (pytest-qt, offscreen)."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt5 import QtWidgets  # noqa: E402

from labctl.bench import Bench  # noqa: E402
from labctl.gui.window import LabWindow  # noqa: E402
from labctl.runner import RunState  # noqa: E402

from .conftest import twin  # noqa: E402


@pytest.fixture
def slow_bench():
    """Simulated bench whose waits take 3 % of real time: runs last a few seconds."""
    with Bench.open(time_scale=0.03, seed=4) as bench:
        yield bench


def make_window(qtbot, bench, tmp_path):
    window = LabWindow(bench, tmp_path / "runs", settings_path=tmp_path / "gui.ini", monitor_interval=0.2)
    window.procedure_box.setCurrentText("fluence-sweep")     # other procedures sort before it

    def stop_run(w):                      # no "abort the run?" dialog at teardown
        if w.active:
            w.current.abort("test teardown")
            w.current.wait(60)
    qtbot.addWidget(window, before_close_func=stop_run)
    window.show()
    return window


def finish(qtbot, window, timeout=120_000):
    qtbot.waitUntil(lambda: window.current is not None and window.current.state.done, timeout=timeout)
    qtbot.wait(200)                      # let the bridge hand over the last records


def test_fluence_sweep_shows_its_threshold(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    window.form.set_values({"points": 20})
    qtbot.mouseClick(window.buttons["Start"], 1)
    finish(qtbot, window)
    assert window.current.state == RunState.FINISHED
    light = window.views[0]
    assert light.title == "Light-in / light-out"
    assert light.threshold["found"] and light.threshold["value"] == pytest.approx(22, rel=0.15)
    assert light.line.isVisible() and "threshold" in light.line.label.format
    assert window.browser.table.rowCount() == 1
    assert "threshold" in window.browser.table.item(0, 4).text()
    assert window.status["progress"].text() == "step 20 of 20"


def test_pause_resume_abort_leave_bench_safe(qtbot, slow_bench, tmp_path):
    window = make_window(qtbot, slow_bench, tmp_path)
    window.form.set_values({"points": 30})
    window.start()
    qtbot.waitUntil(lambda: window.current.steps_done >= 2, timeout=60_000)
    qtbot.mouseClick(window.buttons["Pause"], 1)
    qtbot.waitUntil(lambda: window.current.state == RunState.PAUSED, timeout=60_000)
    assert twin(slow_bench, "PumpLaser").get("shutter") == 0        # paused = beam blocked
    qtbot.waitUntil(lambda: window.buttons["Resume"].isEnabled(), timeout=5_000)   # UI refresh
    assert not window.buttons["Pause"].isEnabled()
    qtbot.mouseClick(window.buttons["Resume"], 1)
    qtbot.waitUntil(lambda: window.current.state == RunState.RUNNING, timeout=60_000)
    qtbot.mouseClick(window.buttons["Abort"], 1)
    finish(qtbot, window)
    assert window.current.state == RunState.ABORTED
    assert all(t.safe_state_reached() for slot, t in slow_bench.sim.twins.items()
               if slot in ("PumpLaser", "Attenuator"))


def test_invalid_parameter_is_refused_with_its_reason(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    window.form.editors["points"].setText("1")
    assert not window.buttons["Start"].isEnabled()
    assert "below the minimum 2" in window.preview.text()
    assert "below the minimum 2" in window.form.editors["points"].toolTip()
    window.form.editors["points"].setText("10")
    window.form.editors["fluence_stop"].setText("5000")               # outside the envelope
    assert "OUTSIDE the safety envelope" in window.preview.text()
    assert not window.buttons["Start"].isEnabled()
    window.start()
    assert window.current is None


def test_queue_survives_a_restart(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    for points in (5, 6):
        window.form.set_values({"points": points})
        window.enqueue()
    window.form.editors["fluence_stop"].setText("5000")
    window.enqueue()                                                   # refused: outside envelope
    assert [item["parameters"]["points"] for item in window.queue.items] == ["5", "6"]
    window.close()
    again = make_window(qtbot, bench, tmp_path)
    assert again.queue_panel.list.count() == 2
    again.run_queue()
    qtbot.waitUntil(lambda: again.queue.items == [] and not again.active, timeout=120_000)
    qtbot.wait(300)
    assert again.browser.table.rowCount() == 2


def test_browser_opens_and_reanalyzes_a_stored_run(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    window.form.set_values({"points": 15})
    window.start()
    finish(qtbot, window)
    window.tabs.clear()
    window.browser.table.selectRow(0)
    window.browser.reanalyze()
    light = window.views[0]
    assert light.threshold["found"] and len(light.data["fluence"]) == 15
    assert "re-analyzed" in window.statusBar().currentMessage()
    window.browser.export()
    assert list((tmp_path / "runs").glob("*.csv")) and list((tmp_path / "runs").glob("*_LL.png"))


def test_manual_control_obeys_the_envelope(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    position = twin(bench, "Attenuator").position()
    edit = window.instruments.inputs[("Attenuator", "set_pulse_energy")]
    edit.setText("6 uJ")
    with qtbot.waitSignal(window.commander.done, timeout=10_000) as signal:
        window.instruments._set("Attenuator", "set_pulse_energy", edit, "uJ", "J")
    ok, text = signal.args
    assert not ok and "max_pulse_energy = 5 µJ" in text
    assert twin(bench, "Attenuator").position() == position
    with qtbot.waitSignal(window.commander.done, timeout=10_000) as signal:
        window.commander.send("PumpLaser", "open_shutter")
    assert signal.args[0] and twin(bench, "PumpLaser").get("shutter") == 1


def test_closing_during_a_run_asks_then_aborts_to_safe_state(qtbot, slow_bench, tmp_path, monkeypatch):
    window = make_window(qtbot, slow_bench, tmp_path)
    window.start()
    qtbot.waitUntil(lambda: window.current.steps_done >= 1, timeout=60_000)
    asked = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                        lambda *a, **k: asked.append(a) or QtWidgets.QMessageBox.Yes)
    window.close()
    assert asked and window.current.state == RunState.ABORTED
    assert twin(slow_bench, "PumpLaser").safe_state_reached()


def test_failed_run_shows_the_instrument_and_the_failure(qtbot, bench, tmp_path):
    from sim_instruments.faults import Fault
    window = make_window(qtbot, bench, tmp_path)
    bench.sim.faults.append(Fault.parse("Spectrometer:disconnect@step=2"))   # cable pulled
    window.start()
    finish(qtbot, window)
    assert window.current.state == RunState.FAILED
    assert window.banner.isVisible()
    text = window.banner.text()
    assert "step 2: Spectrometer at USB0::0x2457::0x101E::USB2+H01234::0::RAW" in text
    assert "connection" in text
