"""One runner per bench; no two callers command one instrument at the same time --
threads of one process (GUI manual controls and a run), nor two processes (a script
while the GUI holds the bench)."""

import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from labctl.bench import Bench
from labctl.errors import RoleBusy
from labctl.locks import ResourceLock
from labctl.runner import Runner

# a real (VISA backend) bench: the stock pyvisa-sim device stands in for the source-meter
REAL_BENCH = """\
name: lock test
backend: visa
visa_library: "@sim"
roles:
  SourceMeter:
    model: keithley-2400
    resource: GPIB0::8::INSTR
"""


def test_a_bench_has_one_runner(bench):
    first = Runner(bench)
    with pytest.raises(RoleBusy, match="already has a runner"):
        Runner(bench)
    assert bench.runner is first
    first.close()                                  # gives the bench up
    assert Runner(bench).bench is bench


def test_threads_sharing_an_instrument_get_their_own_replies(bench):
    """pyvisa-sim has no locking: unserialized, one thread would read the other's reply."""
    spectrometer = bench.role("Spectrometer")
    spectrometer.set_integration_time(0.02)
    pixels = spectrometer.wavelengths
    errors, times = [], []

    def read_axes():
        try:
            for _ in range(40):
                assert np.array_equal(spectrometer.wavelengths, pixels)
        except Exception as exc:
            errors.append(exc)

    def read_times():
        try:
            for _ in range(200):
                times.append(spectrometer.integration_time)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read_axes), threading.Thread(target=read_times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and times == [0.02] * 200


@pytest.fixture
def real_bench(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCTL_LOCK_DIR", str(tmp_path / "locks"))
    path = tmp_path / "bench.yaml"
    path.write_text(REAL_BENCH)
    return path


def hold(path, env):
    """Another labctl process that opens the bench and keeps it."""
    code = textwrap.dedent(f"""
        import sys, time
        from labctl.bench import Bench
        bench = Bench.open({str(path)!r})
        print("open", flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "open"
    return proc


def test_a_second_process_cannot_open_an_instrument_in_use(real_bench):
    proc = hold(real_bench, dict(os.environ))
    try:
        with pytest.raises(RoleBusy) as busy:
            Bench.open(real_bench)
        assert f"SourceMeter at GPIB0::8::INSTR is in use by pid {proc.pid}" in str(busy.value)
        probed = Bench.probe(real_bench)["SourceMeter"]
        assert f"in use by pid {proc.pid}" in probed["error"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the kernel dropped the killed holder's lock: nothing stale to clean up
    bench = Bench.open(real_bench)
    assert list(bench.drivers) == ["SourceMeter"]
    bench.drivers.clear()                  # the stand-in device does not speak SCPI
    bench.close()


def test_locks_are_all_or_none(real_bench):
    with ResourceLock("Shutter", "ASRL9::INSTR"):
        config = real_bench.read_text() + ("  Shutter:\n    model: thorlabs-sc10\n"
                                           "    resource: ASRL9::INSTR\n")
        real_bench.write_text(config)
        with pytest.raises(RoleBusy, match="Shutter at ASRL9::INSTR"):
            Bench.open(real_bench)
    # the source-meter's lock, taken before the shutter's was refused, was released
    with ResourceLock("SourceMeter", "GPIB0::8::INSTR"):
        pass
