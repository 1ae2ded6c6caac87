"""The temperature series' live views (pytest-qt, offscreen), fed the records of a
simulated run: the temperature trace, thresholds and PL against temperature with the fits."""

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labctl.bench import Bench  # noqa: E402
from labctl.gui.views import VIEWS, make_views  # noqa: E402
from labctl.records import Analysis, Descriptor, Start, Step  # noqa: E402
from labctl.runner import Runner  # noqa: E402
from procedures.temperature_series import TemperatureSeries  # noqa: E402

from .test_temperature_series import LASING  # noqa: E402


@pytest.fixture(scope="module")
def records():
    """Records of a 4-point series on the superlattice (the series' own, not its inner runs')."""
    with Bench.open(time_scale=0, seed=5, sample="superlattice_ns") as bench:
        runner, out = Runner(bench), []
        runner.subscribe(out.append)
        run = runner.run(TemperatureSeries(temperatures=[80, 160, 240, 320], stable_time=10,
                                           inner_settings=LASING.format(stop=110).replace("points=14", "points=10")))
    assert run.stop.status == "finished"
    return [r for r in out if getattr(r, "uid", None) == run.uid]


def feed(view, records):
    start = next(r for r in records if isinstance(r, Start))
    view.reset(start)
    view.set_axes(next(r for r in records if isinstance(r, Descriptor)).axes)
    view.add_steps([r for r in records if isinstance(r, Step)])
    view.set_results([r for r in records if isinstance(r, Analysis)][-1].results)
    return [r for r in records if isinstance(r, Step)]


def test_the_series_asks_for_its_views(qtbot):
    views = make_views(TemperatureSeries)
    for view in views:
        qtbot.addWidget(view)
    names = [type(v).__name__ for v in views]
    assert names == ["TemperatureTraceView", "TemperatureDependenceView", "ScalarsView"]


def test_trace_shows_every_reading_and_the_setpoints(qtbot, records):
    view = VIEWS["temperature-trace"]()
    qtbot.addWidget(view)
    steps = feed(view, records)
    x, y = view.trace.getData()
    readings = sum(int(np.isfinite(s.arrays["trace_temperature"]).sum()) for s in steps)
    assert np.isfinite(y).sum() == readings and np.isnan(y).sum() == len(steps)   # a gap per point
    assert y[0] == pytest.approx(295, abs=1) and np.nanmin(y) < 81                   # cooled from room temperature
    assert np.nanmax(y) == pytest.approx(320, abs=1)
    assert np.all(np.diff(x[np.isfinite(x)]) >= 0)                                    # minutes, in order
    _, setpoints = view.setpoints.getData()
    assert sorted(set(setpoints[np.isfinite(setpoints)])) == [80, 160, 240, 320]
    assert "temperature (K)" in view.plot.getPlotItem().getAxis("left").labelText
    assert "min" in view.plot.getPlotItem().getAxis("bottom").labelText


def test_thresholds_and_pl_against_temperature_with_their_fits(qtbot, records):
    view = VIEWS["temperature-dependence"]()
    qtbot.addWidget(view)
    steps = feed(view, records)
    t, threshold = view.thresholds.getData()
    assert list(t) == [80, 160, 240, 320]
    assert list(threshold) == [s.scalars["threshold"] for s in steps]
    assert np.all(np.diff(threshold) > 0)                       # thresholds rise with T
    t_pl, pl = view.pl.getData()
    assert list(pl) == [s.scalars["pl_yield"] for s in steps] and pl[0] > 2 * pl[-1]   # quenched
    grid, curve = view.quenching_curve.getData()
    assert grid[0] == 80 and grid[-1] == 320 and curve[0] > curve[-1]
    assert curve == pytest.approx(np.interp(grid, t_pl, pl), rel=0.15)                  # the fit on the data
    assert "E_b" in view.pl_plot.titleLabel.text and "T0" in view.threshold_plot.titleLabel.text
    assert "threshold (µJ/cm²)" in view.threshold_plot.getAxis("left").labelText


def test_views_start_afresh_and_keep_bounded_buffers(qtbot, records):
    view = VIEWS["temperature-dependence"]()
    qtbot.addWidget(view)
    feed(view, records)
    feed(view, records)                                          # a second run: reset clears
    assert len(view.thresholds.getData()[0]) == 4
    assert all(buffer.maxlen == view.points for buffer in view.data.values())
    trace = VIEWS["temperature-trace"]()
    qtbot.addWidget(trace)
    assert trace.times.maxlen == trace.readings
