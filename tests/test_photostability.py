"""Photostability on the simulated bench: the dry run, the retained output of the
published preset and of a sample written here, the shot bookkeeping, a long run's memory
and run file, and the live views.

The sample's output falls as exp(−k·dose), dose = shots·(F/F_ref)², so the expected
retained fraction at the measured fluence F is retained^((F/F_ref)²); the measured fluence
itself is good to about 0.5 % (power-meter noise), i.e. ±0.1 % in the retained fraction,
and the fit of ln(output) against shots (``series.trend``) to about 0.1 % (its reported
error): hence the tolerance of 1 % (absolute) on the retained fraction.
"""

import gc
import os
import sys
import tracemalloc

import h5py
import numpy as np
import pytest
import yaml

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labctl.bench import Bench  # noqa: E402
from labctl.errors import ParameterError, PlanRefused  # noqa: E402
from labctl.records import Analysis, Descriptor, Start, Step  # noqa: E402
from labctl.runner import Runner  # noqa: E402
from labctl.store import RunStore, open_run  # noqa: E402
from procedures.photostability import Photostability  # noqa: E402
from sim_instruments.sample import PRESETS_DIR  # noqa: E402

from .conftest import received, twin  # noqa: E402


class Records(list):
    def __call__(self, record):
        self.append(record)

    def of(self, kind):
        return [r for r in self if isinstance(r, kind)]


def test_dry_run_plans_the_template_and_a_spectrum_every_interval(bench):
    procedure = Photostability(duration="1 h", interval="1 min")
    steps = procedure.plan()
    assert len(steps) == 1 + 61 and steps[0].values["index"] == -1
    assert [(sp.quantity, round(sp.value, 6)) for s in steps for sp in s.setpoints] == [
        ("fluence", 5), ("pulse_energy", 0.015), ("fluence", 57), ("pulse_energy", 0.171)]
    preview = procedure.preview(bench.envelope)
    assert preview.ok and preview.setpoints == 4
    assert preview.duration == pytest.approx(3600, rel=0.01)
    assert steps[-1].label == "t = 1 h"


def test_a_month_long_plan_makes_its_steps_when_asked():
    tracemalloc.start()
    steps = Photostability(duration="30 d", interval=1).plan()
    assert len(steps) == 2 + 30 * 86400 and steps[-1].label == "t = 720 h" and steps[-1].values["index"] == 30 * 86400
    assert [s.values["index"] for s in steps[:3]] == [-1, 0, 1] and steps[1].setpoints and not steps[2].setpoints
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert held < 1_000_000                   # 2.6 million planned steps would be hundreds of MB
    with pytest.raises(IndexError):
        steps[len(steps)]


def test_out_of_envelope_fluence_refused_before_any_instrument(bench):
    before = received(bench)
    with pytest.raises(PlanRefused, match="max_fluence = 1000 µJ/cm²"):
        Runner(bench).submit(Photostability(fluence=1200))
    assert received(bench) == before


@pytest.mark.parametrize("values, message", [
    ({"interval": 0.1, "integration_time": 0.1}, "must exceed averages × integration_time"),
    ({"interval": 100, "duration": 50}, "must not exceed the duration"),
    ({"template_fluence": 60}, "must be below the fluence"),
    ({"duration": "2 K"}, "units of K"),
])
def test_inconsistent_parameters_refused(values, message):
    with pytest.raises(ParameterError, match=message):
        Photostability(**values)


def expected_retained(sample, fluence, shots):
    d = sample.p.degradation
    return d.retained ** (shots / d.after_shots * (fluence / d.at_fluence) ** 2)


def test_preset_keeps_90_percent_after_1_6e7_shots_and_counts_its_shots():
    with Bench.open(time_scale=0, seed=31) as bench:
        run = Runner(bench).run(Photostability(interval=60))
        sample = bench.sim.sample
        shots_on_sample = sample.shots
        assert twin(bench, "PumpLaser").get("shutter") == 0 and not twin(bench, "Shutter").is_open()
    results = run.stop.results
    assert run.stop.status == "finished" and results["points"] == 301
    assert results["shots"] == pytest.approx(5 * 3600 * 1e3, rel=1e-3)      # 5 h at 1 kHz
    # the bookkeeping misses only the template and the power-meter readings
    assert 0 < shots_on_sample - results["shots"] < 2e-3 * shots_on_sample
    ase = results["stimulated"]
    assert not ase["extrapolated"] and ase["report_shots"] == 1.6e7
    assert ase["retained_at"] == pytest.approx(0.90, abs=0.01)                          # published
    assert ase["retained_at"] == pytest.approx(expected_retained(sample, results["fluence"], 1.6e7), abs=0.01)
    assert 0 < ase["retained_at_error"] < 0.005
    assert results["total"]["retained_at"] == pytest.approx(ase["retained_at"], abs=0.01)
    assert ase["retained_end_measured"] == pytest.approx(ase["retained_end"], abs=0.01)


def test_sample_written_by_the_test_recovers_its_degradation(tmp_path):
    sample = yaml.safe_load((PRESETS_DIR / "cspbbr3_film_fs.yaml").read_text())
    sample["name"] = "fragile_film"
    sample["degradation"].update(retained=0.75, after_shots=4.0e6, at_fluence="40 uJ/cm^2")
    path = tmp_path / "fragile_film.yaml"
    path.write_text(yaml.safe_dump(sample))
    with Bench.open(time_scale=0, seed=32, sample=str(path)) as bench:
        run = Runner(bench).run(Photostability(fluence=40, duration="1.5 h", interval=20, report_shots=4e6))
        specimen = bench.sim.sample
    results = run.stop.results
    ase = results["stimulated"]
    assert ase["retained_at"] == pytest.approx(0.75, abs=0.01)
    assert ase["retained_at"] == pytest.approx(expected_retained(specimen, results["fluence"], 4e6), abs=0.01)
    assert ase["retained_end"] == pytest.approx(expected_retained(specimen, results["fluence"], results["shots"]),
                                                abs=0.01)
    assert ase["shots_per_efold"] == pytest.approx(4e6 / -np.log(0.75), rel=0.05)


LONG_RUN = 6000      # spectra; benchmarks/long_run.py runs 100 000 the same way


def resident() -> int | None:
    """Resident memory of this process in bytes (None without /proc)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def test_long_run_keeps_memory_bounded_and_its_file_growing_linearly(tmp_path):
    """A spectrum every 0.5 s for 50 min (6000 steps at time scale 0, the lightest
    settings, every 100th spectrum stored). After a warm-up of 1200 steps: no Python
    object is kept per step (allocated blocks; one per step would be 4800), and the
    resident memory grows by less than 1 KiB per step -- the runner's table of scalars
    (8 bytes × 12 columns), its transient copies in the live analysis and HDF5's metadata
    cache (it fills up to ~16 MB, then stays) take ~0.5 KiB; one retained spectrum
    would be 8 KiB. The run file grows at every step by the same amount (a 2048-pixel
    float32 row, NaN when not stored, a scalar row and now and then a live-analysis log
    line; HDF5 allocates the spectra 32 rows, 256 kB, at a time): bytes per step at
    N/2 and N agree within 3 %, and so does the growth per step in the two halves after
    the warm-up."""
    store = RunStore(tmp_path / "runs")
    warm, half, end = LONG_RUN // 5, LONG_RUN // 2, LONG_RUN     # step k = the k-th spectrum
    sizes, memory = np.zeros(LONG_RUN + 1, np.int64), {}          # no object per step here either

    def watch(record):
        if not isinstance(record, Step):
            return
        sizes[record.index] = os.path.getsize(store.paths[record.uid])
        if record.index in (warm, half, end):
            gc.collect()
            memory[record.index] = (sys.getallocatedblocks(), resident())

    with Bench.open(time_scale=0, seed=33) as bench:
        runner = Runner(bench)
        runner.subscribe(store, critical=True)
        runner.subscribe(watch)
        procedure = Photostability(duration=(LONG_RUN - 1) * 0.5, interval=0.5, integration_time=1e-3,
                                   auto_integration=False, spectrum_every=100)
        run = runner.run(procedure)
    assert run.stop.status == "finished" and run.steps_done == LONG_RUN + 1
    blocks = {k: b for k, (b, _) in memory.items()}
    # one block per step would be 4800; the run alone keeps ~250, after the rest of the
    # suite up to ~650 (it varies with what ran before in the process)
    assert blocks[end] - blocks[warm] < (end - warm) / 4, f"{blocks[end] - blocks[warm]} objects kept"
    if memory[warm][1] is not None:
        rss = {k: r for k, (_, r) in memory.items()}
        for first, last in ((warm, end), (half, end)):
            per_step = (rss[last] - rss[first]) / (last - first)
            assert per_step < 1024, f"{per_step:.0f} bytes of resident memory per step"
    assert np.all(np.diff(sizes) >= 0)                                  # only ever grows
    per_step = {k: sizes[k] / (k + 1) for k in (half, end)}
    assert per_step[end] == pytest.approx(per_step[half], rel=0.03)
    growth = [(sizes[b] - sizes[a]) / (b - a) for a, b in ((warm, half), (half, end))]
    assert growth[1] == pytest.approx(growth[0], rel=0.03)
    assert 8192 < per_step[end] < 9000                                  # one spectrum row and a little
    with h5py.File(store.paths[run.uid], "r", locking=False) as f:
        assert f["arrays/spectrum"].shape == (LONG_RUN + 1, 2048)
        stored = np.isfinite(f["arrays/spectrum"][:, 0])
    data = open_run(store.paths[run.uid], arrays=False)
    assert stored.sum() == 1 + LONG_RUN // 100 and np.array_equal(stored, data.scalars["stored"].to_numpy() > 0)
    assert len(data.scalars) == LONG_RUN + 1 and np.isfinite(data.scalars["intensity_stimulated"]).all()
    ase = run.stop.results["stimulated"]                               # 4e6 shots, extrapolated to 1.6e7
    assert ase["extrapolated"] and ase["retained_at"] == pytest.approx(0.90, abs=0.02)


def test_live_views_show_the_decay_and_only_stored_spectra(qtbot):
    from labctl.gui.views import make_views

    records = Records()
    with Bench.open(time_scale=0, seed=34) as bench:
        run = Runner(bench, [records]).run(Photostability(duration="1 h", interval=30, spectrum_every=4))
    decay, spectrum, _ = views = make_views(Photostability)
    for view in views:
        qtbot.addWidget(view)
        view.reset(records.of(Start)[0])
        view.set_axes(records.of(Descriptor)[0].axes)
        view.add_steps(records.of(Step))
        view.set_results(records.of(Analysis)[-1].results)
    x, y = decay.curves["stimulated"][0].getData()
    assert len(x) == 121 and x.max() == pytest.approx(run.stop.results["shots"])
    assert y[0] == pytest.approx(1, abs=0.03) and y[-1] < y[0]
    fit_x, fit_y = decay.curves["stimulated"][1].getData()
    assert fit_y[-1] == pytest.approx(run.stop.results["stimulated"]["retained_end"], rel=1e-6)
    assert "ASE retained" in decay.label.text() and "extrapolated" in decay.label.text()
    decay.xbox.setCurrentText("time")
    assert decay.curves["stimulated"][0].getData()[0].max() == pytest.approx(1.0, rel=0.01)   # hours
    assert decay.plot.getPlotItem().getAxis("bottom").labelText == "beam-on time (h)"
    assert len(spectrum.history) == spectrum.keep
    assert all(np.isfinite(row).all() for row in spectrum.history)
