"""Run files and the catalog: round trip, reading while written, and a real SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from labctl.catalog import Catalog
from labctl.records import Step, jsonable
from labctl.store import RunStore, open_run, safe_name
from procedures.fluence_sweep import FluenceSweep


def test_round_trip_of_run_file_and_catalog(bench, runner):
    procedure = FluenceSweep(points=6, fluence_stop=80.0, spacing="linear")
    run = runner.run(procedure, notes="round trip")
    data = open_run(runner.store.paths[run.uid])
    assert data.uid == run.uid and data.procedure == "fluence-sweep" and data.status == "finished"
    assert data.parameters == procedure.values()
    assert data.start["units"]["fluence_start"] == "uJ/cm^2"
    assert data.start["notes"] == "round trip"
    assert data.sample["name"] == "cspbbr3_film_fs" and data.sample["simulated"] is True
    assert set(data.start["bench"]) == set(bench.drivers)
    assert data.start["bench"]["PumpLaser"]["identity"] == "Coherent,Astrella,AST-SIM-0001,3.2.1"
    assert data.start["software"]["pyvisa-sim"] == "0.7.1"
    assert list(data.scalars["fluence_target"]) == pytest.approx(np.linspace(2, 80, 6))
    assert data.units["fluence"] == "uJ/cm^2"
    spectrum = data.arrays["spectrum"]
    wavelength, unit = spectrum.axes["wavelength"]
    assert spectrum.values.shape == (6, 2048) and unit == "nm" and wavelength.shape == (2048,)
    assert spectrum.unit == "counts/s"
    # live analyses as often as they keep up (here at least the first and the final one)
    assert [a["analysis"] for a in data.analysis][-1] == 6 and len(data.analysis) >= 2
    assert data.results == jsonable(run.stop.results)
    row = runner.store.catalog.get(run.uid)
    assert row["status"] == "finished" and row["sample"] == "cspbbr3_film_fs"
    assert json.loads(row["results"])["points"] == 6
    assert json.loads(row["parameters"])["points"] == 6


def test_readable_while_written(runner):
    seen = []

    def peek(record):
        if isinstance(record, Step) and record.index in (1, 3):
            data = open_run(runner.store.paths[record.uid])
            seen.append((len(data.scalars), data.arrays["spectrum"].values.shape[0], data.status))
    runner.subscribe(peek)
    runner.run(FluenceSweep(points=5))
    assert seen == [(2, 2, "running"), (4, 4, "running")]


def test_file_names_cannot_leave_the_data_directory(tmp_path):
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("sample/with\\slashes and spaces") == "sample-with-slashes-and-spaces"
    assert "/" not in safe_name("a/b") and not safe_name("..hidden").startswith(".")


CRASHING_RUN = textwrap.dedent("""
    import os, signal, sys
    from labctl.bench import Bench
    from labctl.records import Step, jsonable
    from labctl.runner import Runner
    from labctl.store import RunStore
    from procedures.fluence_sweep import FluenceSweep

    bench = Bench.open(time_scale=0)
    store = RunStore(sys.argv[1])
    runner = Runner(bench)
    runner.subscribe(store, critical=True)

    def crash(record):
        if isinstance(record, Step) and record.index == 6:
            print(store.paths[record.uid], flush=True)
            os.kill(os.getpid(), signal.SIGKILL)     # no cleanup of any kind
    runner.subscribe(crash)
    runner.run(FluenceSweep(points=20))
""")


def test_sigkill_loses_no_completed_step_and_next_start_marks_interrupted(tmp_path):
    directory = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-c", CRASHING_RUN, str(directory)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    path = proc.stdout.strip().splitlines()[-1]
    data = open_run(path)
    assert len(data.scalars) == 7                                 # steps 0..6 all on disk
    assert data.arrays["spectrum"].values.shape == (7, 2048)
    assert data.stop is None and data.status == "interrupted"
    catalog = Catalog(directory)
    assert catalog.get(data.uid)["status"] == "running"           # as the dead process left it
    assert RunStore(directory).catalog.get(data.uid)["status"] == "interrupted"   # next start
    assert data.uid in json.dumps(catalog.runs())


def test_unfinished_status_without_catalog(tmp_path, runner):
    run = runner.run(FluenceSweep(points=3))
    path = runner.store.paths[run.uid]
    copy = tmp_path / "elsewhere" / path.name
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    assert open_run(copy).status == "finished"
    assert os.path.exists(copy)


class NoteInSetup(FluenceSweep):
    """Emits an event while it sets up (before the run file exists), then may fail."""
    name = "note-in-setup"
    fail = False

    def setup(self, run):
        run.event("note", "measured the pump spot before the first step")
        if self.fail:
            raise RuntimeError("the spot is off the sample")
        super().setup(run)


@pytest.mark.parametrize("fail", [False, True])
def test_events_from_setup_reach_the_run_file(runner, fail):
    procedure = NoteInSetup(points=3)
    procedure.fail = fail
    run = runner.run(procedure)
    data = open_run(runner.store.paths[run.uid])
    assert data.status == ("failed" if fail else "finished")
    assert [e["message"] for e in data.events if e["event"] == "note"] == \
        ["measured the pump spot before the first step"]
