"""The live views of a TRPL run (pytest-qt, offscreen), fed with the records of a run on
the simulated bench."""

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labctl.bench import Bench  # noqa: E402
from labctl.gui.views import make_views  # noqa: E402
from labctl.gui.views.trpl import LongDelayView, StreakView  # noqa: E402
from labctl.records import Analysis, Descriptor, Start, Step  # noqa: E402
from labctl.runner import Runner  # noqa: E402
from procedures.trpl import TRPL  # noqa: E402


@pytest.fixture(scope="module")
def records():
    found = []
    with Bench.open(time_scale=0, seed=41) as bench:
        Runner(bench, subscribers=[found.append]).run(TRPL(fluences=[5, 40, 150]))
    start = next(r for r in found if isinstance(r, Start))
    axes = next(r for r in found if isinstance(r, Descriptor)).axes
    steps = [r for r in found if isinstance(r, Step)]
    results = [r for r in found if isinstance(r, Analysis)][-1].results
    return start, axes, steps, results


def feed(view, records):
    start, axes, steps, results = records
    view.reset(start)
    view.set_axes(axes)
    view.add_steps(steps[:1])
    view.add_steps(steps[1:])
    view.set_results(results)
    return view


def fitted(qtbot, view):
    """The view once its fitter has drawn the fit of the newest decay."""
    qtbot.waitUntil(lambda: not view.fitter.busy, timeout=20_000)
    return view


def test_procedure_asks_for_its_views(qtbot):
    views = make_views(TRPL)
    for view in views:
        qtbot.addWidget(view)
    assert [v.title for v in views] == ["Streak (long range)", "Streak (short range)",
                                        "Long-delay PL", "Scalars"]


def test_streak_view_shows_the_image_and_fits_the_region(qtbot, records):
    view = feed(StreakView("long"), records)
    qtbot.addWidget(view)
    fitted(qtbot, view)
    assert view.image.image.shape == (672, 508)                    # wavelength × time
    assert view.image_plot.getAxis("bottom").labelText == "wavelength (nm)"
    assert "time" in view.image_plot.getAxis("left").labelText
    (w0, w1), (t0, t1) = view.region()
    assert (w0, w1) == pytest.approx((500, 512)) and t1 - t0 == pytest.approx(19.0, rel=0.02)
    fast, slow = view.lifetimes                                    # the newest image: Auger and τ_X
    assert slow == pytest.approx(3.1, rel=0.05)                    # (its quick fit scatters ±2.5 %)
    assert fast == pytest.approx(0.105, rel=0.3)
    assert f"τ₂ = {slow:.3g} ns" in view.decay_plot.plotItem.titleLabel.text
    x, y = view.fit.getData()
    assert x.size > 400 and np.all(y > 0)

    view.roi.setPos((515, t0 + 2.0))                               # after the fast part only
    view.roi.setSize((10, 10.0))
    assert view.region()[1] == pytest.approx((t0 + 2.0, t0 + 12.0))
    assert view.data.getData()[0].min() >= t0 + 2.0
    fitted(qtbot, view)
    assert len(view.lifetimes) == 1                                # no fast part: one exponential
    assert view.lifetimes[0] == pytest.approx(3.1, rel=0.05)


def test_short_range_view_resolves_the_auger_component(qtbot, records):
    view = fitted(qtbot, feed(StreakView("short"), records))
    qtbot.addWidget(view)
    assert view.result["tau1"] == pytest.approx(0.105, rel=0.1)
    view.roi.setSize((0.5, 0.01))                                  # too small a region
    assert view.result is None and "too small" in view.decay_plot.plotItem.titleLabel.text


def test_streak_view_fits_off_the_gui_thread(qtbot, records):
    start, axes, steps, _ = records
    view = StreakView("long")
    qtbot.addWidget(view)
    view.reset(start)
    view.set_axes(axes)
    view.add_steps(steps[-1:])
    assert view.data.getData()[0].size > 400                       # the decay is drawn at once,
    assert view.result is None and view.fitter.busy                # its fit is still to come
    qtbot.waitUntil(lambda: view.result is not None, timeout=20_000)
    assert view.lifetimes[-1] == pytest.approx(3.1, rel=0.05)
    assert view.fit.getData()[0].size > 400
    view.reset(start)                                              # a new run: no stale fit
    assert view.result is None and not view.fitter.busy


def test_long_delay_view_draws_the_cross_section_fit(qtbot, records):
    view = feed(LongDelayView(), records)
    qtbot.addWidget(view)
    j, pl = view.points.getData()
    assert j.size == 3 and np.all(np.diff(pl) > 0)
    x, y = view.curve.getData()
    assert x.size == 200 and y[-1] > pl.max() * 0.9
    assert view.sigma == pytest.approx(2.5e-14, rel=0.1) and "σ = " in view.plot.plotItem.titleLabel.text
    view.reset(records[0])
    assert view.points.getData()[0] is None and view.sigma is None
