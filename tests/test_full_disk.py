"""A full disk: refused before any instrument is touched, or -- filling up during a run --
the run stops failed, the bench is made safe and every completed step stays readable."""

import json
import subprocess
import sys
import textwrap

from labctl.catalog import Catalog
from procedures.fluence_sweep import FluenceSweep
from labctl.runner import Runner
from labctl.store import RunStore, open_run
from tests.conftest import twin


def labctl_with_file_size_limit(limit, *args):
    """The labctl CLI in a process whose files cannot grow beyond ``limit`` bytes: the
    kernel answers writes past it as it answers a full disk (an error, not a signal)."""
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        from labctl.cli import main
        sys.exit(main({list(args)!r}))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_no_room_for_a_run_file_is_refused_before_the_bench_opens(tmp_path):
    done = labctl_with_file_size_limit(1000, "run", "fluence-sweep", "--sim", "--time-scale", "0",
                                       "--out", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert f"data directory {tmp_path / 'runs'}: cannot write there (File too large)" in done.stderr
    assert not list((tmp_path / "runs").glob("*.h5"))


def test_the_disk_filling_up_stops_the_run_before_its_file_is_harmed(bench, tmp_path):
    store = RunStore(tmp_path / "runs")
    store.reserve = store.free() - 600_000          # about 70 spectra from "full"
    runner = Runner(bench)
    runner.subscribe(store, critical=True)
    run = runner.run(FluenceSweep(points=200))
    assert run.stop.status == "failed"
    assert "data disk nearly full" in run.stop.reason and f"before step {run.steps_done}" in run.stop.reason
    assert 0 < run.steps_done < 200
    data = open_run(store.paths[run.uid])
    assert data.status == "failed" and data.stop["reason"] == run.stop.reason
    assert len(data.scalars) == run.steps_done == len(data.arrays["spectrum"].values)
    assert twin(bench, "PumpLaser").get("shutter") == 0


def test_a_write_failing_mid_run_keeps_every_completed_step(tmp_path):
    out = tmp_path / "runs"
    done = labctl_with_file_size_limit(400_000, "run", "fluence-sweep", "--sim", "--time-scale",
                                       "0", "--set", "points=100", "--out", str(out), "--json")
    assert done.returncode == 1, done.stderr          # failed, not crashed
    report = json.loads(done.stdout)
    assert report["status"] == "failed"
    assert f"cannot write step {report['steps']} (File too large)" in report["reason"]
    assert "NOT SAFE" not in report["reason"]         # every instrument reached its safe state
    data = open_run(report["run_file"])
    assert len(data.scalars) >= report["steps"] > 10
    assert data.scalars["fluence_target"].iloc[:report["steps"]].is_monotonic_increasing
    catalog = Catalog(out)
    try:
        assert catalog.status_of(report["uid"]) == "failed"
    finally:
        catalog.close()
