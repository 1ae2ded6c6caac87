"""Malformed input through the CLI, config files and the Python API: each is refused
with a message naming what is wrong (exit status 2 from the CLI, a ``UsageError`` from
Python), before any instrument is touched."""

import pytest
import yaml

from labctl.cli import main
from labctl.config import DEFAULT_SIM

from .conftest import received

SIM = ["run", "fluence-sweep", "--sim", "--time-scale", "0", "--quiet"]


def bench_file(tmp_path, edit):
    config = yaml.safe_load(DEFAULT_SIM.read_text())
    edit(config)
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def sample_file(tmp_path, text):
    path = tmp_path / "sample.yaml"
    path.write_text(text)
    return str(path)


PRESET = (DEFAULT_SIM.parent.parent.parent / "sim_instruments/presets/cspbbr3_film_fs.yaml")

# (extra CLI arguments or a function of tmp_path returning them, message fragment)
CASES = [
    (["--set", "points=1"], "points='1': below the minimum 2"),
    (["--set", "points=abc"], "points='abc': cannot read"),
    (["--set", "points=2.5"], "must be a whole number"),
    (["--set", "fluence_stop=nan"], "must be a finite number"),
    (["--set", "fluence_stop=inf"], "must be a finite number"),
    (["--set", "fluence_stop=-5"], "below the minimum 0.001"),
    (["--set", "fluence_stop=1e9"], "above the maximum 100000 µJ/cm²"),
    (["--set", "fluence_start=5 K"], "units of K"),
    (["--set", "fluence_start=5 m/s"], "cannot be converted to µJ/cm²"),
    (["--set", "fluence_start="], "fluence_start=''"),
    (["--set", "spacing=cubic"], "must be one of log, linear"),
    (["--set", "geometry=circle"], "must be one of stripe, spot"),
    (["--set", "auto_integration=maybe"], "must be true or false"),
    (["--set", "cross_section=0"], "below the minimum 1e-18"),
    (["--set", "integration_time=0.5 ms"], "below the minimum 0.001"),
    (["--set", "integration_time=10 min"], "above the maximum 60 s"),
    (["--set", "bogus=1"], "unknown parameter of fluence-sweep"),
    (["--set", "points"], "expected NAME=VALUE"),
    (["--set", "=5"], "expected NAME=VALUE"),
    (["--set", "fluence_start=100", "--set", "fluence_stop=50"], "must be above fluence_start"),
    (["--set", "window_start=540", "--set", "window_stop=530"], "must be above window_start"),
    (["--set", "fluence_stop=2000"], "outside the safety envelope"),
    (["--set", "stripe_width=2", "--set", "fluence_stop=900"], "max_pulse_energy = 5 µJ"),
    (["--set", "line=uv"], "missing role(s) PumpLaser.uv"),
    (["--set", "detector=ir"], "missing role(s) Spectrometer.ir"),
    (["--set", "line=" + "x" * 30], "longer than 20 characters"),
    (["--sample", "no_such_sample"], "unknown sample preset"),
    (lambda t: ["--sample", str(t / "missing.yaml")], "no such sample file"),
    (lambda t: ["--sample", sample_file(t, "name: [unclosed")], "not valid YAML"),
    (lambda t: ["--sample", sample_file(t, PRESET.read_text() + "colour: red\n")], "colour: unknown key"),
    (lambda t: ["--sample", sample_file(t, PRESET.read_text().replace("22 uJ/cm^2", "22 K"))],
     "stimulated.threshold: '22 K' has units of K"),
    (lambda t: ["--sample", sample_file(t, PRESET.read_text().replace("cross_section:", "area:"))],
     "unknown key"),
    (lambda t: ["--sample", sample_file(t, "- a list\n")], "a sample file must be a mapping"),
    (["--time-scale", "-1"], "time scale -1.0: must be a finite number >= 0"),
    (["--fault", "Spectrometer:explode"], "KIND one of timeout"),
    (["--fault", "Spectrometer:timeout@step=x"], "bad step value 'x'"),
    (["--fault", "Spectrometer:timeout@p=2"], "bad p value '2'"),
    (["--fault", "Laser:timeout"], "fault for Laser: no such instrument"),
    (["--fault", "Spectrometer:slow@step=2"], "slow needs a delay"),
    (["--out", "/proc/labctl-cannot-write"], "cannot write there"),
]


@pytest.mark.parametrize("extra, message", CASES)
def test_cli_run_refuses(capsys, tmp_path, extra, message):
    extra = extra(tmp_path) if callable(extra) else extra
    out = tmp_path / "runs"
    args = SIM + (["--out", str(out)] if "--out" not in extra else []) + extra
    status = main(args)
    err = capsys.readouterr().err
    assert status == 2, err
    assert message in err
    assert not list(tmp_path.rglob("*.h5"))


CONFIG_CASES = [
    (lambda c: c["roles"].update(Laser=c["roles"]["PumpLaser"]), "roles.Laser: unknown role 'Laser'"),
    (lambda c: c["roles"]["PowerMeter"].update(model="pm9000"), "unknown model 'pm9000'"),
    (lambda c: c["roles"]["PowerMeter"].update(resource="COM3"), "bad VISA resource name 'COM3'"),
    (lambda c: c["safety"].update(max_fluence="5 K"), "safety.max_fluence: '5 K' has units of K"),
    (lambda c: c["safety"].update(max_fluence=500), "needs a unit"),
    (lambda c: c["safety"].update(max_fluence="-5 uJ/cm^2"), "must be positive"),
    (lambda c: c["roles"]["PowerMeter"].update(retries=-1), "retries: must be a whole number"),
    (lambda c: c["roles"]["PowerMeter"]["connection"].update(timeout=-5), "must be a positive number of ms"),
    (lambda c: c["roles"]["Attenuator"]["connection"].update(parity="sometimes"), "parity: invalid value"),
    (lambda c: c.update(backend="network"), "backend: must be 'visa' or 'sim'"),
    (lambda c: c["sim"].update(time_scale="fast"), "time_scale must be a number"),
    (lambda c: c["roles"].pop("Spectrometer"), "missing role(s) Spectrometer needed by fluence-sweep"),
]


@pytest.mark.parametrize("edit, message", CONFIG_CASES)
def test_config_files_refused(capsys, tmp_path, edit, message):
    path = bench_file(tmp_path, edit)
    status = main(["run", "fluence-sweep", "--config", path, "--time-scale", "0", "--quiet",
                   "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert status == 2 and path in err and message in err


@pytest.mark.parametrize("text, message", [
    ("roles: [unclosed\n", "not valid YAML"),
    ("roles: !!python/object/apply:os.system ['echo owned']\n", "not valid YAML"),
    ("- just\n- a list\n", "a bench config must be a mapping"),
    ("", "a bench config must be a mapping"),
])
def test_unparsable_config_files(capsys, tmp_path, text, message):
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    assert main(["list", "--config", str(path)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["run", "fluence-swep", "--sim"], "unknown procedure 'fluence-swep'"),
    (["run", "fluence-sweep", "--config", "/no/such/bench.yaml"], "no such bench config file"),
    (["analyze", "/no/such/run.h5"], "no such run file"),
    (["analyze", "threshold", "/no/such.csv", "--x", "a", "--y", "b"], "no such file"),
    (["analyze", "threshold"], "usage: labctl analyze threshold"),
])
def test_other_commands_refuse(capsys, args, message):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_not_a_run_file(capsys, tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not HDF5 at all")
    assert main(["analyze", str(text)]) == 2
    assert "not an HDF5 run file" in capsys.readouterr().err
    import h5py
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    assert main(["analyze", str(tmp_path / "other.h5")]) == 2
    assert "not a labctl run file" in capsys.readouterr().err


def test_csv_column_and_content_errors(capsys, tmp_path):
    csv = tmp_path / "ll.csv"
    csv.write_text("F,I\n1,2\n2,4\n")
    assert main(["analyze", "threshold", str(csv), "--x", "F", "--y", "J"]) == 2
    assert "--y 'J': no such column" in capsys.readouterr().err
    binary = tmp_path / "ll2.csv"
    binary.write_bytes(b"\x00\xff\xfe" * 50)
    assert main(["analyze", "threshold", str(binary), "--x", "F", "--y", "I"]) == 2


def test_python_api_raises_documented_errors(bench):
    from labctl.errors import ParameterError, SafetyError, UsageError
    from procedures.fluence_sweep import FluenceSweep

    before = received(bench)
    with pytest.raises(ParameterError, match="points='many'"):
        FluenceSweep(points="many")
    with pytest.raises(UsageError, match="unknown role 'Laser'"):
        bench.role("Laser")
    with pytest.raises(SafetyError, match="not a finite number"):
        bench.role("Attenuator").set_pulse_energy(float("nan"))
    with pytest.raises(SafetyError, match="max_pulse_energy"):
        bench.role("Attenuator").set_pulse_energy(1.0)
    with pytest.raises(UsageError, match="no such run file"):
        from labctl.store import open_run
        open_run("/no/such/run.h5")
    assert received(bench) == before                    # nothing reached any instrument
