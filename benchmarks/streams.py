"""The two streams of the streaming benchmark, as procedures (a module of its own so
that the live-analysis worker can unpickle them).

``ImageStream`` replays full-size streak images (1344 × 1016, 16-bit) taken from the
streak camera twin beforehand: the twin needs ~0.25 s of CPU for one such image (exact
photon statistics over 1.37 Mpx, see ``sim_throughput.py``), more than a 10 Hz stream
leaves, so the stream measures what follows the camera -- records, run file, GUI, live
analysis. ``SpectrumStream`` takes its spectra from the USB2000+ twin itself. Both pace
their steps on a fixed schedule (a trigger at ``rate``) and record how late each step
started: a step that starts a whole period late has missed a trigger.
"""

import numpy as np

from labctl.procedure import PlannedStep, Procedure
from labctl.records import ArraySpec, Column


class _Paced(Procedure):
    """Steps on a fixed schedule: step k at k / rate s after the first."""

    rate = 10.0
    count = 100

    def plan(self):
        return [PlannedStep(f"frame {k}", (), 1 / self.rate, {"k": k}) for k in range(self.count)]

    def _pace(self, run, step) -> float:
        """Wait for the step's trigger; return how late (s) the step starts."""
        if step.values["k"] == 0:
            self.t0 = run.now()
        due = self.t0 + step.values["k"] / self.rate
        late = run.now() - due
        if late < 0:
            run.sleep(-late, interval=0.05)
        return max(late, 0.0)

    def analyze(self, scalars):
        if not len(scalars):
            return {}
        late = scalars["late"]
        return {"frames": int(len(scalars)), "missed": int((late >= 1 / self.rate).sum()),
                "late_max_ms": float(late.max() * 1e3), "signal_mean": float(scalars["signal"].mean()),
                "signal_trend": float(np.polyfit(np.arange(len(scalars)), scalars["signal"], 1)[0])
                if len(scalars) > 2 else 0.0}


class ImageStream(_Paced):
    name = "image-stream"
    title = "Streak images replayed at a fixed rate"
    columns = (Column("late", "s", "start after the trigger"), Column("signal", "counts", "image sum"),
               Column("pedestal", "counts"), Column("long_delay", "s"))
    arrays = (ArraySpec("streak_long", "counts", ("time_long", "wavelength"), "image + pedestal", dtype="u2"),)
    views = (("streak", {"name": "long"}),)
    frames: list = []              # uint16 images (set by the benchmark)
    axes: dict = {}

    def __init__(self, count=100, rate=10.0):
        super().__init__()
        self.count, self.rate = count, rate

    def setup(self, run):
        for name, (values, unit) in self.axes.items():
            run.set_axis(name, values, unit)

    def measure(self, run, step):
        late = self._pace(run, step)
        image = self.frames[step.values["k"] % len(self.frames)]
        return {"late": late, "signal": float(image.sum(dtype=np.int64)), "pedestal": 100.0,
                "long_delay": 0.0, "streak_long": image}


class SpectrumStream(_Paced):
    name = "spectrum-stream"
    title = "Spectra from the USB2000+ twin at a fixed rate"
    roles = ("PumpLaser", "Spectrometer")
    columns = (Column("late", "s", "start after the trigger"), Column("signal", "counts", "spectrum sum"),
               Column("peak_wavelength", "nm"))
    arrays = (ArraySpec("spectrum", "counts", ("wavelength",)),)
    views = ("spectrum",)

    def __init__(self, count=100, rate=20.0, integration=0.01):
        super().__init__()
        self.count, self.rate, self.integration = count, rate, integration

    def setup(self, run):
        spectrometer = run.role("Spectrometer")
        spectrometer.set_integration_time(self.integration)
        self.wl = spectrometer.wavelengths
        run.set_axis("wavelength", self.wl, "nm")
        run.open_beam()

    def measure(self, run, step):
        late = self._pace(run, step)
        counts = run.role("Spectrometer").acquire()
        return {"late": late, "signal": float(counts.sum()), "peak_wavelength": float(self.wl[np.argmax(counts)]),
                "spectrum": counts.astype(np.float32)}

    def teardown(self, run):
        run.close_beam()
