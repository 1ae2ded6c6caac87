"""Series composition: inner runs stored as linked runs, key results per point, one dry
run over everything; suspenders pause a run (and its series) and resume it."""

import pytest

from labctl.errors import PlanRefused
from labctl.parameters import FloatList
from labctl.records import Column, Event, Step
from labctl.runner import RunState
from labctl.series import Series
from labctl.store import open_run


class Repeats(Series):
    """A series over a label only: the inner run repeated at each 'point'."""

    name = "repeats"
    labels = FloatList([1, 2, 3], doc="labels")
    outer = Column("label")

    def points(self):
        return self.labels

    def apply(self, run, value):
        run.event("outer", f"label {value}")


def test_inner_runs_are_linked_and_summarized(runner):
    series = Repeats(inner_settings="points=12, fluence_stop=120")
    run = runner.run(series)
    assert run.state == RunState.FINISHED and run.steps_done == 3
    data = open_run(runner.store.paths[run.uid])
    assert list(data.scalars["label"]) == [1, 2, 3]
    assert data.scalars["threshold"].tolist() == pytest.approx([22] * 3, rel=0.15)
    assert list(data.scalars["inner_steps"]) == [12, 12, 12]
    children = [row for row in runner.store.catalog.runs() if row["parent"] == run.uid]
    assert len(children) == 3 and all(row["status"] == "finished" for row in children)
    assert all(open_run(row["file"]).start["parent"] == run.uid for row in children)


def test_dry_run_covers_the_inner_plan(bench):
    ok = Repeats(inner_settings="points=5")
    assert ok.preview(bench.envelope).setpoints == 3 * 5 * 2
    with pytest.raises(PlanRefused, match="max_fluence"):
        from labctl.runner import Runner
        Runner(bench).submit(Repeats(inner_settings="fluence_stop=3000"))


def test_bad_inner_settings_name_the_parameter():
    from labctl.errors import ParameterError
    with pytest.raises(ParameterError, match="points='0': below the minimum 2"):
        Repeats(inner_settings="points=0")
    with pytest.raises(ParameterError, match="inner='no-such'"):
        Repeats(inner="no-such")
    with pytest.raises(ParameterError, match="expected NAME=VALUE"):
        Repeats(inner_settings="points")


def test_suspender_pauses_the_series_and_resumes(bench, runner):
    condition = {"bad_checks": 0, "seen": False}

    def check():                                         # bad for 3 checks, then clears
        if condition["bad_checks"] == 0:
            return None
        condition["bad_checks"] -= 1
        return "temperature 12.0 K outside 10 ± 0.5 K"

    class Watched(Repeats):
        def setup(self, run):
            super().setup(run)
            run.suspend_while(check, interval=2.0)

    states = []

    def watch(record):
        if isinstance(record, Step) and record.index == 2 and not condition["seen"]:
            condition["seen"], condition["bad_checks"] = True, 3
        if isinstance(record, Event) and record.kind == "suspended":
            states.append([r.state for r in runner.current.chain()])
    runner.subscribe(watch)
    run = runner.run(Watched(labels=[1, 2], inner_settings="points=6"))
    assert run.state == RunState.FINISHED
    assert states == [[RunState.PAUSED, RunState.PAUSED]]       # inner run and series both held
    kinds = [e["event"] for e in open_run(runner.store.paths[run.uid]).events]
    assert "outer" in kinds


def test_a_parameter_may_not_hide_a_procedure_method():
    from labctl.parameters import Text
    from labctl.procedure import Procedure
    with pytest.raises(TypeError, match="values would hide Procedure methods"):
        type("Bad", (Procedure,), {"values": Text("")})
