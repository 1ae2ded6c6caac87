"""Streaming: streak images at 10 Hz and spectra at 20 Hz through records, run file,
GUI and live analysis.

    python benchmarks/streaming.py [--seconds 60] [--quick] [--json FILE]

Two runs at once, at time scale 1, each on a bench of its own with its own runner, both
stored by one ``RunStore`` and shown in one offscreen Qt GUI (a ``RecordBridge`` feeding
the procedures' live views: the streak view -- log image, decay of its region and its
two-exponential fit -- and the spectrum view):

* ``streams.ImageStream``: 1344 × 1016 16-bit streak images at 10 Hz, replayed from
  frames the streak camera twin took first (see ``streams``);
* ``streams.SpectrumStream``: 2048-pixel spectra from the USB2000+ twin at 20 Hz.

Printed: frames acquired and stored per stream, triggers missed (a step starting a
whole period late), the GUI event loop's latency (a 10 ms timer's lateness, p99), the
resident memory after warm-up (first 20 % of the run) and at the end.
Targets: no stored frame lost (stored = acquired, no trigger missed), event-loop
latency p99 < 50 ms, memory flat after warm-up (growth < 5 %).
"""

import argparse
import os
import statistics
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import add_common, check, finish, info, machine, percentile, rss_mb  # noqa: E402


def streak_frames(count=4):
    """Full-size 16-bit frames from the streak camera twin, and the image axes."""
    import numpy as np

    from labctl.bench import Bench
    with Bench.open(time_scale=0, seed=3, slots=["StreakCamera", "PumpLaser", "Shutter"]) as bench:
        bench.role("PumpLaser").open_shutter()
        bench.role("Shutter").open_shutter()
        camera = bench.drivers["StreakCamera"]
        camera.binning = 1
        camera.set_exposure(0.05)
        camera.set_mcp_gain(50)
        camera.open_shutter()
        frames = [np.clip(np.rint(camera.acquire() + 100.0), 0, 65535).astype(np.uint16)
                  for _ in range(count)]
        axes = {"time_long": (camera.time_axis * 1e9, "ns"), "wavelength": (camera.wavelength_axis, "nm")}
    return frames, axes


class Gui:
    """The offscreen GUI: a bridge, the views of each run, an event-loop latency probe."""

    def __init__(self, classes):
        from PyQt5 import QtCore, QtWidgets

        from labctl.gui.bridge import RecordBridge
        from labctl.gui.views import make_views
        from labctl.records import Analysis, Descriptor, Start, Step

        self.app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
        self.window = QtWidgets.QTabWidget()
        self.window.resize(1600, 1000)
        self.window.show()
        self.bridge = RecordBridge()
        self.bridge.records.connect(self.on_records)
        self.classes, self.make_views = classes, make_views
        self.types = (Start, Descriptor, Step, Analysis)
        self.views = {}                      # uid -> views
        self.shown = {}                      # uid -> steps shown
        self.lateness = []
        self.probe = QtCore.QTimer()
        self.probe.setTimerType(QtCore.Qt.PreciseTimer)
        self.probe.timeout.connect(self.tick)
        self.last = None

    def start_probe(self):
        self.last = time.perf_counter()
        self.probe.start(10)

    def tick(self):
        now = time.perf_counter()
        self.lateness.append(max(0.0, now - self.last - 0.010))
        self.last = now

    def on_records(self, batch):
        Start, Descriptor, Step, Analysis = self.types
        steps = {}
        for record in batch:
            if isinstance(record, Start):
                views = self.views[record.uid] = self.make_views(self.classes[record.procedure])
                for view in views:
                    view.reset(record)
                    self.window.addTab(view, view.title)
            elif isinstance(record, Descriptor):
                for view in self.views.get(record.uid, ()):
                    view.set_axes(record.axes)
            elif isinstance(record, Step):
                steps.setdefault(record.uid, []).append(record)
            elif isinstance(record, Analysis):
                for view in self.views.get(record.uid, ()):
                    view.set_results(record.results)
        for uid, records in steps.items():
            for view in self.views.get(uid, ()):
                view.add_steps(records)
            self.shown[uid] = self.shown.get(uid, 0) + len(records)


def measure(seconds):
    from PyQt5 import QtCore

    import streams
    from labctl.bench import Bench
    from labctl.runner import Runner
    from labctl.store import RunStore, open_run

    streams.ImageStream.frames, streams.ImageStream.axes = streak_frames()
    gui = Gui({"image-stream": streams.ImageStream, "spectrum-stream": streams.SpectrumStream})
    memory, stop = [], threading.Event()

    def sample():
        start = time.perf_counter()
        while not stop.wait(1.0):
            memory.append((time.perf_counter() - start, rss_mb()))
    with tempfile.TemporaryDirectory() as directory, \
            Bench.open(time_scale=1, seed=1, slots=[]) as image_bench, \
            Bench.open(time_scale=1, seed=1, slots=["PumpLaser", "Shutter", "Spectrometer"]) as spectrum_bench:
        store = RunStore(directory)
        runners = [Runner(image_bench), Runner(spectrum_bench)]
        for runner in runners:
            runner.subscribe(store, critical=True)
            runner.subscribe(gui.bridge)
        procedures = [streams.ImageStream(count=int(10 * seconds), rate=10.0),
                      streams.SpectrumStream(count=int(20 * seconds), rate=20.0)]
        sampler = threading.Thread(target=sample, daemon=True)
        gui.start_probe()
        sampler.start()
        runs = [runner.submit(p) for runner, p in zip(runners, procedures)]
        while not all(run.state.done for run in runs):
            gui.app.processEvents(QtCore.QEventLoop.AllEvents, 50)
        for _ in range(5):                                  # the last batch
            gui.app.processEvents(QtCore.QEventLoop.AllEvents, 60)
            time.sleep(0.06)
        gui.probe.stop()
        stop.set()
        sampler.join()
        found = []
        for run in runs:
            assert run.stop.status == "finished", run.stop.reason
            data = open_run(store.paths[run.uid], arrays=False)
            found.append({"name": run.procedure.name, "planned": run.procedure.count,
                          "acquired": run.steps_done, "stored": len(data.scalars),
                          "missed": int((data.scalars["late"] >= 1 / run.procedure.rate).sum()),
                          "late_p99": percentile(list(data.scalars["late"]), 99),
                          "shown": gui.shown.get(run.uid, 0), "size": store.paths[run.uid].stat().st_size})
        store.catalog.close()
    return found, gui.lateness, memory


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    add_common(parser)
    args = parser.parse_args(argv)
    seconds = 8.0 if args.quick else args.seconds
    print(machine())
    found, lateness, memory = measure(seconds)
    item = "4 streaming"
    figures = []
    for s in found:
        figures += [
            info(item, f"{s['name']}: acquired / planned", f"{s['acquired']} / {s['planned']}"),
            check(item, f"{s['name']}: stored frames lost", s["acquired"] - s["stored"], "", "<=", 0, "0"),
            check(item, f"{s['name']}: triggers missed", s["missed"], "", "<=", 0, "0"),
            info(item, f"{s['name']}: start after trigger, p99", 1e3 * s["late_p99"], "ms"),
            info(item, f"{s['name']}: steps drawn by the GUI", s["shown"]),
            info(item, f"{s['name']}: run file", s["size"] / 1e6, "MB"),
        ]
    warm = [m for t, m in memory if t >= 0.2 * seconds]
    growth = 100 * (warm[-1] - warm[0]) / warm[0] if len(warm) > 1 else float("nan")
    figures += [
        check(item, "GUI event-loop latency p99", 1e3 * percentile(lateness, 99), "ms", "<", 50),
        info(item, "GUI event-loop latency median / max",
             f"{1e3 * statistics.median(lateness):.1f} / {1e3 * max(lateness):.1f} ms"),
        info(item, "memory after warm-up → end", f"{warm[0]:.0f} → {warm[-1]:.0f} MB" if warm else "n/a"),
        check(item, "memory growth after warm-up", growth, "%", "<", 5, "5 %"),
    ]
    finish(figures, args, f"4. Streaming ({seconds:g} s: streak images 10 Hz + spectra 20 Hz, time scale 1)")
    return figures


if __name__ == "__main__":
    main()
