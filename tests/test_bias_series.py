"""Bias series on the simulated bench: dry run and envelope (breakdown-range voltages
refused before any write), the threshold against the bias recovered for ito_device_bias
(68 -> 32 µJ/cm² from 0 to 20 V), no effect through an insulating layer, another device
written here, and the live views.

Tolerances (docs/analysis.md): each threshold within 10 % (threshold table, stimulated
output, β = 0.01, 3 % noise, 15-30 points); the fitted change over the bias range within
10 % of the true ratio (a weighted line through thresholds that are each within a few %)."""

import os

import pytest
import yaml

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labctl.bench import Bench  # noqa: E402
from labctl.errors import PlanRefused  # noqa: E402
from labctl.runner import Runner  # noqa: E402
from labctl.store import RunStore, open_run  # noqa: E402
from procedures.bias_series import BiasSeries  # noqa: E402
from sim_instruments.sample import PRESETS_DIR, Environment  # noqa: E402

from .conftest import received  # noqa: E402

INNER = "fluence_start=8, fluence_stop=250, points=18"


def run_on(sample, procedure, seed=4, store=None, records=None):
    with Bench.open(time_scale=0, seed=seed, sample=sample) as bench:
        runner = Runner(bench)
        if store is not None:
            runner.subscribe(store, critical=True)
        if records is not None:
            runner.subscribe(records.append)
        run = runner.run(procedure)
        return run, bench.sim.sample, bench.sim.twins["SourceMeter"].safe_state_reached()


def true_threshold(sample, charge):
    sample.charge = charge
    return sample.threshold_fluence(400.0, Environment())


def test_dry_run_covers_outer_and_inner_setpoints(bench):
    series = BiasSeries(voltages="0, 10, 20", inner_settings="points=10")
    preview = series.preview(bench.envelope)
    assert preview.ok and preview.steps == 3
    assert preview.setpoints == 3 * (2 + 10 * 2)          # bias and compliance, then the sweep's
    assert [sp.value for sp in series.plan()[2].setpoints[:2]] == [20, 1e-5]
    assert set(series.required()) == {"SourceMeter", "PumpLaser", "Attenuator", "PowerMeter", "Spectrometer"}


@pytest.mark.parametrize("settings, limit", [
    ({"voltages": "0, 10, 20, 25"}, "max_source_voltage"),     # breakdown above ≈ 20 V
    ({"voltages": "-25, 0"}, "max_source_voltage"),
    ({"compliance": 0.5}, "max_source_current"),
    ({"inner_settings": "fluence_stop=5000"}, "max_fluence"),
])
def test_out_of_envelope_refused_before_any_write(bench, settings, limit):
    before = received(bench)
    with pytest.raises(PlanRefused, match=limit):
        Runner(bench).submit(BiasSeries(**settings))
    assert received(bench) == before


def test_preset_threshold_falls_with_bias(tmp_path):
    store = RunStore(tmp_path)
    run, sample, safe = run_on("ito_device_bias", BiasSeries(voltages="0, 10, 20", inner_settings=INNER),
                               store=store)
    results = run.stop.results
    assert run.stop.status == "finished" and results["found"] == 3
    assert true_threshold(sample, 0.0) == pytest.approx(68)
    assert true_threshold(sample, 1.0) == pytest.approx(32, rel=0.01)
    assert results["first"]["threshold"] == pytest.approx(68, rel=0.10)
    assert results["last"]["threshold"] == pytest.approx(32, rel=0.10)
    assert results["trend"]["change"] == pytest.approx(32 / 68, rel=0.10) and results["bias_effect"]
    assert results["max_current"] == pytest.approx(20 / 1e9, rel=0.05)    # leakage through 1 GΩ
    assert safe and not sample.broken
    data = open_run(store.paths[run.uid])
    assert list(data.scalars["bias"]) == [0, 10, 20]
    assert data.scalars["voltage"].tolist() == pytest.approx([0, 10, 20], abs=0.01)
    children = [row for row in store.catalog.runs() if row["parent"] == run.uid]
    assert len(children) == 3 and all(row["procedure"] == "fluence-sweep" for row in children)
    assert set(BiasSeries.figures(data)) == {"threshold"}


def test_insulating_layer_no_bias_effect(tmp_path):
    device = yaml.safe_load((PRESETS_DIR / "ito_device_bias.yaml").read_text())
    device["charging"]["insulating"] = 1
    path = tmp_path / "insulated.yaml"
    path.write_text(yaml.safe_dump(device))
    run, _, _ = run_on(str(path), BiasSeries(voltages="0, 10, 20", inner_settings=INNER))
    results = run.stop.results
    assert results["found"] == 3 and not results["bias_effect"]
    assert results["trend"]["change"] == pytest.approx(1.0, abs=0.08)
    assert results["last"]["threshold"] == pytest.approx(68, rel=0.10)


def test_other_device_written_by_the_test(tmp_path):
    device = yaml.safe_load((PRESETS_DIR / "ito_device_bias.yaml").read_text())
    device["name"] = "other_device"
    device["stimulated"].update(threshold="90 uJ/cm^2", center="532 nm")
    device["charging"].update(saturation_voltage="10 V", threshold_ratio=0.6, breakdown_voltage="12 V")
    path = tmp_path / "other_device.yaml"
    path.write_text(yaml.safe_dump(device))
    series = BiasSeries(voltages="0, 5, 10", inner_settings="fluence_start=10, fluence_stop=300, points=18")
    run, sample, _ = run_on(str(path), series, seed=6)
    results = run.stop.results
    assert results["first"]["threshold"] == pytest.approx(90, rel=0.10)
    assert results["last"]["threshold"] == pytest.approx(54, rel=0.10)
    assert results["trend"]["change"] == pytest.approx(0.6, rel=0.10)
    assert not sample.broken                              # 10 V stays below its 12 V breakdown


def test_live_views_show_threshold_and_current(qtbot):
    from labctl.gui.views import VIEWS
    from labctl.records import Start, Step

    records = []
    run, _, _ = run_on("ito_device_bias", BiasSeries(voltages="0, 10, 20", inner_settings="points=14"),
                       records=records)
    start = next(r for r in records if isinstance(r, Start) and r.uid == run.uid)
    steps = [r for r in records if isinstance(r, Step) and r.uid == run.uid]
    threshold, current = VIEWS["threshold-vs-bias"](), VIEWS["bias-current"]()
    for view in (threshold, current):
        qtbot.addWidget(view)
        view.reset(start)
        view.add_steps(steps)
        view.set_results(run.stop.results)
    x, y = threshold.points.getData()
    assert list(x) == [0, 10, 20] and y[0] > y[-1]
    trend = run.stop.results["trend"]
    ends = [trend["intercept"], trend["intercept"] + 20 * trend["slope"]]
    assert threshold.trend.getData()[1] == pytest.approx(ends)
    assert "bias" in threshold.plot.getPlotItem().getAxis("bottom").labelText
    assert current.curve.getData()[1][-1] == pytest.approx(2e-8, rel=0.05)
