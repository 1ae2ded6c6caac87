"""The GUI driven on the simulated bench (pytest-qt, offscreen)."""

import os

import numpy as np
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
    qtbot.waitUntil(lambda: window.bridge.pending == 0, timeout=10_000)   # the last records shown


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
    qtbot.waitUntil(lambda: window.status["progress"].text() == "step 20 of 20", timeout=5_000)  # on a timer


def test_pause_resume_abort_leave_bench_safe(qtbot, slow_bench, tmp_path):
    window = make_window(qtbot, slow_bench, tmp_path)
    window.form.set_values({"points": 30})
    window.start()
    qtbot.waitUntil(lambda: window.current.steps_done >= 2, timeout=60_000)
    qtbot.mouseClick(window.buttons["Pause"], 1)
    qtbot.waitUntil(lambda: window.current.state == RunState.PAUSED, timeout=60_000)
    assert twin(slow_bench, "PumpLaser").get("shutter") == 0        # paused = beam blocked
    qtbot.waitUntil(lambda: window.buttons["Resume"].isEnabled()                  # UI refresh
                    and not window.buttons["Pause"].isEnabled(), timeout=5_000)
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
    qtbot.waitUntil(lambda: again.bridge.pending == 0, timeout=10_000)
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


# -- status bar, log, persistence ----------------------------------------------------------

def shown(window, name):
    """The value the status bar shows for ``name`` (None while it shows none)."""
    words = window.status["values"].text().split()
    return float(words[words.index(name) + 1]) if name in words else None


def test_status_bar_shows_the_newest_values_with_units_for_any_procedure(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    window.procedure_box.setCurrentText("trpl")          # its views have no fluence buffers
    window.form.set_values({"fluences": "10, 20"})
    window.start()
    finish(qtbot, window)
    assert window.current.state == RunState.FINISHED
    # the status bar refreshes on a timer: wait for the newest step's fluence
    qtbot.waitUntil(lambda: (shown(window, "fluence") or 0) == pytest.approx(20, rel=0.1), timeout=5_000)
    assert window.status["values"].text().endswith("µJ/cm²")
    assert f"run {window.current.uid[:8]}: trpl on cspbbr3_film_fs (fluences=10, 20)" in \
        window.log_pane.toPlainText()


def test_status_bar_shows_the_inner_runs_values(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    window.procedure_box.setCurrentText("temperature-series")
    window.form.set_values({"temperatures": "80, 140", "stable_time": 0,
                            "inner_settings": "points=4, fluence_stop=40"})
    window.start()
    finish(qtbot, window)
    assert window.current.state == RunState.FINISHED
    qtbot.waitUntil(lambda: shown(window, "temperature") == 140, timeout=5_000)
    fluence, _, temperature = window.status["values"].text().partition("   ")
    assert fluence.startswith("fluence ") and fluence.endswith(" µJ/cm²")
    assert float(fluence.split()[1]) == pytest.approx(40, rel=0.1)       # the inner sweep's last
    assert temperature == "temperature 140 K"


def test_eta_reads_as_minutes_and_hours():
    from labctl.gui.window import duration
    assert [duration(s) for s in (4.4, 200, 7500)] == ["4 s", "3 min 20 s", "2 h 05 min"]


def test_queue_items_list_only_the_parameters_changed(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    assert window._item()["changed"] == {}                # "2" in the form is the default 2.0
    window.form.set_values({"points": 12})
    assert window._item()["changed"] == {"points": "12"}


def test_last_parameters_and_layout_survive_a_restart(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    window.procedure_box.setCurrentText("trpl")
    window.form.set_values({"fluences": "10, 20"})
    window.start()
    finish(qtbot, window)
    window.findChild(QtWidgets.QDockWidget, "Queue").hide()
    window.close()
    again = LabWindow(bench, tmp_path / "runs", settings_path=tmp_path / "gui.ini")
    qtbot.addWidget(again)
    again.show()
    assert again.procedure_box.currentText() == "trpl"
    assert again.form.raw()["fluences"] == "10, 20"
    assert not again.findChild(QtWidgets.QDockWidget, "Queue").isVisible()
    assert again.findChild(QtWidgets.QDockWidget, "Runs").isVisible()


# -- instrument panel ------------------------------------------------------------------------

def test_instrument_panel_locks_what_the_run_holds(qtbot, slow_bench, tmp_path):
    window = make_window(qtbot, slow_bench, tmp_path)
    panel = window.instruments
    window.start()
    qtbot.waitUntil(lambda: window.current.steps_done >= 1, timeout=60_000)
    qtbot.waitUntil(lambda: not panel.boxes["Attenuator"].isEnabled(), timeout=5_000)
    assert panel.boxes["PumpLaser"].title() == "PumpLaser — in use by the run"
    assert not panel.inputs[("Attenuator", "set_pulse_energy")].isEnabled()
    assert panel.boxes["TemperatureController"].isEnabled()         # not used by a fluence sweep
    window.abort()
    finish(qtbot, window)
    qtbot.waitUntil(lambda: panel.boxes["Attenuator"].isEnabled(), timeout=5_000)
    assert panel.boxes["PumpLaser"].title() == "PumpLaser"


def test_a_long_instrument_error_wraps_inside_the_panel(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    panel = window.instruments
    error = "error: PowerMeter.ns at ASRL6::INSTR: pulse_energy: DeviceError: " + "no pulse " * 30
    panel.update_readings({"PowerMeter.ns": {"pulse energy": (error, "")}})
    label = panel.values["PowerMeter.ns"]["pulse energy"]
    assert label.wordWrap() and "#b00020" in label.styleSheet() and label.toolTip() == error
    assert panel.widget().minimumSizeHint().width() <= panel.viewport().width()
    panel.update_readings({"PowerMeter.ns": {"pulse energy": (1.5, "uJ")}})
    assert label.text() == "1.5 µJ" and label.styleSheet() == ""


# -- run browser -----------------------------------------------------------------------------

def test_browser_searches_overlays_and_labels_the_run_shown(qtbot, bench, tmp_path):
    window = make_window(qtbot, bench, tmp_path)
    for points, notes in ((8, "film A"), (10, "film B")):
        window.form.set_values({"points": points})
        window.notes.setText(notes)
        window.start()
        finish(qtbot, window)
    browser = window.browser
    browser.search.setText("film B")
    assert browser.table.rowCount() == 1 and browser.table.item(0, 5).text() == "film B"
    browser.search.setText("")
    assert browser.table.rowCount() == 2
    browser.table.selectAll()
    browser.overlay()
    plot = browser.overlay_window.getPlotItem()
    assert len(plot.listDataItems()) == 2
    assert plot.getAxis("bottom").labelText == "pump fluence (µJ/cm²)"
    browser.table.clearSelection()
    browser.table.selectRow(1)                               # the older one: 8 points
    browser.open_selected()
    light = window.views[0]
    assert len(light.data["fluence"]) == 8
    assert "threshold" in light.line.label.textItem.toPlainText()  # drawn, not only formatted
    assert window.showing.text().startswith("stored run ")
    assert window.showing.toolTip().startswith("fluence-sweep on cspbbr3_film_fs")


# -- views -----------------------------------------------------------------------------------

def _start(columns=(), arrays=()):
    from types import SimpleNamespace
    from labctl.records import ArraySpec, Column
    return SimpleNamespace(columns=[Column(*c) for c in columns], arrays=[ArraySpec(*a) for a in arrays],
                           parameters={})


def _spectra(wavelength, peaks):
    from labctl.records import Step
    return [Step("u", i, 0.0, {}, {"spectrum": 10 + 1e4 * np.exp(-((wavelength - p) / 2) ** 2)})
            for i, p in enumerate(peaks)]


def test_waterfall_puts_a_line_at_its_wavelength_on_a_non_linear_axis(qtbot):
    from labctl.gui.views.base import WaterfallView
    pixel = np.arange(2048)
    wavelength = 340 + 0.38 * pixel - 1.5e-5 * pixel ** 2           # a spectrometer's calibration
    view = WaterfallView()
    qtbot.addWidget(view)
    view.reset(_start(arrays=[("spectrum", "counts/s", ("wavelength",))]))
    view.set_axes({"wavelength": (wavelength, "nm")})
    view.add_steps(_spectra(wavelength, [524.5, 524.5]))
    image = view.image.image                              # wavelength × step
    rect = view.image.mapRectToParent(view.image.boundingRect())
    column = np.argmax(image[:, 0])
    shown = rect.left() + (column + 0.5) * rect.width() / image.shape[0]
    assert shown == pytest.approx(524.5, abs=1.0)
    assert view.bar.levels()[1] == pytest.approx(image.max())
    low, high = view.plot.getPlotItem().viewRange()[0]
    assert 450 < low < 524.5 < high < 600                # zoomed on the emission


def test_spectrum_view_follows_the_emission_until_the_user_zooms(qtbot):
    from labctl.gui.views.base import SpectrumView
    wavelength = np.linspace(340, 1030, 2048)
    view = SpectrumView()
    qtbot.addWidget(view)
    view.reset(_start(arrays=[("spectrum", "counts/s", ("wavelength",))]))
    view.set_axes({"wavelength": (wavelength, "nm")})
    view.add_steps(_spectra(wavelength, [520]))
    low, high = view.plot.getPlotItem().viewRange()[0]
    assert 440 < low < 520 < high < 600
    assert "newest: step 1" in view.plot.getPlotItem().titleLabel.text
    view.plot.getPlotItem().getViewBox().sigRangeChangedManually.emit([True, False])   # a mouse zoom
    view.plot.setXRange(700, 800, padding=0)
    view.add_steps(_spectra(wavelength, [530]))
    assert view.plot.getPlotItem().viewRange()[0] == pytest.approx([700, 800])


def test_log_axes_read_as_numbers(qtbot):
    from labctl.gui.views.base import LogAxis
    axis = LogAxis("bottom")
    axis.setLogMode(True)
    axis.range = [0.3, 2.2]                              # 2 to 160 µJ/cm²
    values = np.log10([2, 3, 5, 10, 20, 50, 100])
    assert axis.tickStrings(values, 1, 1) == ["2", "", "5", "10", "20", "50", "100"]
    axis.range = [3.5, 7.4]                              # fewer than four decades: 1, 2, 5
    assert axis.tickStrings(np.log10([1e4, 2e4, 3e4, 1e6]), 1, 1) == ["10⁴", "2·10⁴", "", "10⁶"]
    axis.range = [-12, -2]                               # many: decades only
    assert axis.tickStrings(np.log10([1e-10, 2e-10]), 1, 1) == ["10⁻¹⁰", ""]
