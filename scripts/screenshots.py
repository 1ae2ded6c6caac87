"""Screenshots of the bench window during simulated runs, for the README.

Opens the real ``LabWindow`` on the simulated bench (seeded, with a time scale that
keeps each run in progress for a few seconds), starts each main procedure from the
procedure panel, waits until its live views show what they are for (the threshold of
a fluence sweep, the Malus fits of a polarization run, ...), and grabs the whole
window into ``docs/images/gui-<name>.png``; then the run browser with a stored run
opened, and the instrument panel after a refused manual setpoint, during a run that
holds some of the instruments.

Needs a display: ``make screenshots`` runs it under ``xvfb-run``.

    python scripts/screenshots.py [--out docs/images] [--only trpl polarization]
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from PIL import Image
from PyQt5 import QtCore, QtWidgets

from labctl.bench import Bench
from labctl.gui.window import LabWindow

SIZE = (1600, 1000)
SEED = 1


@dataclass
class Shot:
    """One procedure run shown in the window: ``ready(window)`` says when to grab, ``tabs``
    which views to grab (file name suffix -> tab title)."""

    name: str
    procedure: str
    sample: str
    time_scale: float
    ready: Callable
    tabs: dict
    settings: dict = field(default_factory=dict)


def _done_fraction(window) -> float:
    run = window.current
    return run.steps_done / max(run.steps_planned, 1) if run is not None and run.started else 0.0


def _view(window, title):
    return next((v for v in window.views if v.title == title), None)


def threshold_found(window) -> bool:
    view = _view(window, "Light-in / light-out")
    return view is not None and view.threshold is not None and _done_fraction(window) >= 0.8


def streak_fitted(window) -> bool:
    view = _view(window, "Streak (long range)")
    return view is not None and view.result is not None and window.current.steps_done >= 4


def malus_fitted(window) -> bool:
    view = _view(window, "Polar (Malus)")
    return view is not None and bool(view.maximum) and _done_fraction(window) >= 0.75


def el_threshold_found(window) -> bool:
    view = _view(window, "EL vs J")
    return view is not None and view.threshold is not None and _done_fraction(window) >= 0.75


def temperature_fitted(window) -> bool:
    view = _view(window, "Threshold and PL vs T")
    return view is not None and "quenching" in view.fits and window.current.steps_done >= 4


def switching_measured(window) -> bool:
    view = _view(window, "Gain switching")
    return view is not None and bool(view.summary) and _done_fraction(window) >= 0.8


def gain_fitted(window) -> bool:
    view = _view(window, "VSL gain")
    return view is not None and bool(view.blocks) and _done_fraction(window) >= 0.9


SHOTS = [
    Shot("fluence-sweep", "fluence-sweep", "cspbbr3_film_fs", 0.3, threshold_found,
         {"": "Light-in / light-out", "-spectrum": "Spectrum", "-waterfall": "Waterfall"}),
    Shot("vsl", "vsl", "cspbbr3_film_fs", 0.1, gain_fitted, {"": "VSL gain"}),
    Shot("trpl", "trpl", "cspbbr3_film_fs", 0.1, streak_fitted, {"": "Streak (long range)"}),
    Shot("polarization", "polarization", "triplet_4K", 0.1, malus_fitted, {"": "Polar (Malus)"},
         {"wavelength": 531}),
    Shot("pulsed-el", "pulsed-el", "qd_led_pulsed", 0.1, el_threshold_found, {"": "EL vs J"}),
    Shot("temperature-series", "temperature-series", "superlattice_ns", 0.02, temperature_fitted,
         {"": "Threshold and PL vs T"},
         {"temperatures": "80, 140, 200, 260, 320", "stable_time": 30,
          "inner_settings": "line=ns, detector=hr, center_wavelength=537, geometry=spot, "
                            "spot_diameter=1.5, shots=10, integration_time=1, points=14, "
                            "fluence_start=2, fluence_stop=120, separation=narrow, "
                            "window_start=536, window_stop=541.2, flank_width=3, resolution=0.286"}),
    # a spectrum every 20 ms: the 10 ms default leaves the simulation no time to spare,
    # and the half-cycles would stretch beyond their 0.5 s
    Shot("gain-switching", "gain-switching", "ito_device_bias", 1.0, switching_measured,
         {"": "Gain switching"}, {"cycles": 5, "interval": 0.02}),
]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        QtWidgets.QApplication.processEvents()
        time.sleep(0.02)


def settle(seconds: float = 0.5) -> None:
    """Let the bridge hand over the newest records and the views redraw."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QtWidgets.QApplication.processEvents()
        time.sleep(0.02)


def open_window(bench, data_dir):
    """The window with default layout and parameters (its own settings file)."""
    settings = Path(tempfile.mkdtemp(dir=data_dir.parent)) / "gui.ini"
    window = LabWindow(bench, data_dir, settings_path=settings)
    window.resize(*SIZE)
    window.show()
    settle(0.5)
    return window


def grab(window, path: Path) -> None:
    settle(0.6)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    # 256 colours look the same here and keep the file small (a streak image's noise
    # makes 420 kB in RGB, 160 kB with a palette)
    palette = Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                                       dither=Image.Dither.NONE)
    palette.save(path, optimize=True)
    print(f"  {path} ({path.stat().st_size // 1000} kB)")


def close(window) -> None:
    run = window.current
    if run is not None and not run.state.done:
        run.abort("screenshot taken")
        run.wait(120)
    settle(0.3)
    window.close()


def start(window, procedure: str, settings: dict) -> None:
    window.procedure_box.setCurrentText(procedure)
    window.form.set_values(settings)
    if window.form.errors:
        raise ValueError(f"{procedure}: {window.form.errors}")
    window.start()
    if window.current is None:
        raise RuntimeError(f"{procedure}: the run did not start")


def show_tab(window, title: str) -> None:
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    window.tabs.setCurrentIndex(titles.index(title))


def procedure_shot(shot: Shot, data_dir: Path, out: Path) -> None:
    """A run in progress; it is left to finish for the run browser."""
    print(f"{shot.name}: {shot.procedure} on {shot.sample}, time scale {shot.time_scale}")
    with Bench.open(sample=shot.sample, time_scale=shot.time_scale, seed=SEED) as bench:
        window = open_window(bench, data_dir)
        start(window, shot.procedure, shot.settings)
        wait_until(lambda: shot.ready(window) or window.current.state.done, 900, shot.name)
        if not shot.ready(window):
            raise RuntimeError(f"{shot.name}: the run ended ({window.current.state.value}) "
                               "before its views were ready")
        for suffix, title in shot.tabs.items():
            show_tab(window, title)
            grab(window, out / f"gui-{shot.name}{suffix}.png")
        wait_until(lambda: window.current.state.done, 900, f"{shot.name} to finish")
        close(window)


def browser_shot(data_dir: Path, out: Path) -> None:
    """The catalog of the runs above, the fluence sweep opened from it."""
    print("run browser")
    with Bench.open(time_scale=0, seed=SEED) as bench:
        window = open_window(bench, data_dir)
        runs = window.findChild(QtWidgets.QDockWidget, "Runs")
        window.resizeDocks([runs], [420], QtCore.Qt.Vertical)
        browser = window.browser
        browser.refresh()
        row = next(i for i, r in enumerate(browser.rows)
                   if r["procedure"] == "fluence-sweep" and r["sample"] == "cspbbr3_film_fs")
        browser.table.selectRow(row)
        browser.open_selected()
        grab(window, out / "gui-run-browser.png")
        close(window)


def instruments_shot(data_dir: Path, out: Path) -> None:
    """The instrument panel: a pulse energy above the envelope refused, then a pulsed-EL
    run holding (and greying out) the pulse generator, oscilloscope and spectrometer."""
    print("instrument panel")
    with Bench.open(sample="qd_led_pulsed", time_scale=0.2, seed=SEED) as bench:
        window = open_window(bench, data_dir)
        dock = window.findChild(QtWidgets.QDockWidget, "Instruments")
        window.resizeDocks([dock], [560], QtCore.Qt.Horizontal)
        settle(1.5)                  # identities and a few monitor readings
        edit = window.instruments.inputs[("Attenuator", "set_pulse_energy")]
        edit.setText("6 uJ")
        answers = []
        window.commander.done.connect(lambda ok, text: answers.append(text))
        window.instruments.findChild(QtWidgets.QPushButton, "Attenuator:set_pulse_energy:set").click()
        wait_until(lambda: answers, 30, "the refusal")
        start(window, "pulsed-el", {})
        wait_until(lambda: window.current.steps_done >= 12, 300, "the pulsed-EL run")
        show_tab(window, "J–V")
        grab(window, out / "gui-instruments.png")
        close(window)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--only", nargs="*", help="names of the shots to take")
    args = parser.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("labctl")
    wanted = set(args.only or [s.name for s in SHOTS] + ["run-browser", "instruments"])
    with tempfile.TemporaryDirectory() as temporary:
        data_dir = Path(temporary) / "runs"
        for shot in SHOTS:
            if shot.name in wanted or "run-browser" in wanted and shot.name == "fluence-sweep":
                procedure_shot(shot, data_dir, args.out)
        if "run-browser" in wanted:
            browser_shot(data_dir, args.out)
        if "instruments" in wanted:
            instruments_shot(data_dir, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
