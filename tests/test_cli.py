"""The labctl command line: results as JSON, exit status 2 for bad input with a message
naming the parameter, the value and its limits, and nothing sent to an instrument."""

import json

import pandas as pd
import pytest

from labctl.analysis.models import s_curve
from labctl.cli import main


def run_cli(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_run_json_reports_threshold_and_files(capsys, tmp_path):
    status, out, _ = run_cli(capsys, "run", "fluence-sweep", "--sim", "--time-scale", "0",
                             "--set", "points=20", "--json", "--out", str(tmp_path))
    assert status == 0
    result = json.loads(out)
    assert result["status"] == "finished" and result["steps"] == 20
    threshold = result["results"]["threshold"]
    assert set(threshold) >= {"value", "unit", "low", "high", "found", "method"}
    assert threshold["unit"] == "uJ/cm^2" and threshold["found"]
    assert threshold["value"] == pytest.approx(22, rel=0.15)
    assert result["run_file"].endswith(".h5")
    assert [f.rsplit("_", 1)[1] for f in result["figures"]] == ["LL.png", "spectra.png"]

    status, out, _ = run_cli(capsys, "analyze", result["run_file"], "--json")
    reanalyzed = json.loads(out)
    assert status == 0 and reanalyzed["results"]["threshold"]["value"] == pytest.approx(threshold["value"])


@pytest.mark.parametrize("args, message", [
    (["--set", "points=1"], "parameter points='1': below the minimum 2"),
    (["--set", "fluence_stop=2e6"], "parameter fluence_stop='2e6': above the maximum 100000 µJ/cm²"),
    (["--set", "fluence_start=3 K"], "units of K"),
    (["--set", "spacing=cubic"], "must be one of log, linear"),
    (["--set", "bogus=1"], "unknown parameter of fluence-sweep"),
    (["--set", "points"], "expected NAME=VALUE"),
    (["--set", "fluence_stop=2000"], "outside the safety envelope"),
    (["--sample", "no_such_sample"], "unknown sample preset"),
])
def test_bad_arguments_exit_2_before_any_instrument(capsys, tmp_path, args, message):
    status, out, err = run_cli(capsys, "run", "fluence-sweep", "--sim", "--time-scale", "0",
                               "--out", str(tmp_path), *args)
    assert status == 2
    assert message in err or message in out
    assert not list(tmp_path.glob("*.h5"))


def test_unknown_procedure_and_no_bench(capsys, monkeypatch):
    monkeypatch.delenv("LABCTL_CONFIG", raising=False)
    status, _, err = run_cli(capsys, "run", "fluence-swep", "--sim")
    assert status == 2 and "unknown procedure 'fluence-swep'" in err
    status, _, err = run_cli(capsys, "run", "fluence-sweep")
    assert status == 2 and "--sim for the simulated bench" in err


def test_dry_run_checks_every_setpoint(capsys):
    status, out, _ = run_cli(capsys, "run", "fluence-sweep", "--sim", "--dry-run", "--json",
                             "--set", "points=12")
    preview = json.loads(out)
    assert status == 0 and preview["steps"] == 12 and preview["setpoints_checked"] == 24
    assert preview["inside_envelope"]


def test_list_shows_procedures_units_presets_and_roles(capsys):
    status, out, _ = run_cli(capsys, "list", "--sim", "--json")
    listing = json.loads(out)
    assert status == 0
    params = {p["name"]: p for p in listing["procedures"]["fluence-sweep"]["parameters"]}
    assert params["fluence_stop"]["unit"] == "uJ/cm^2" and params["points"]["minimum"] == 2
    assert "cspbbr3_film_fs" in listing["samples"]
    assert listing["bench"]["roles"]["Spectrometer"]["model"] == "ocean-usb2000plus"


def test_analyze_threshold_table(capsys, tmp_path):
    fluence = [2 * 1.15 ** i for i in range(30)]
    table = pd.DataFrame({"F": fluence, "I": 1e4 * s_curve(pd.Series(fluence), 22.0, 0.01)})
    path = tmp_path / "ll.csv"
    table.to_csv(path, index=False)
    status, out, _ = run_cli(capsys, "analyze", "threshold", str(path), "--x", "F", "--y", "I", "--json")
    result = json.loads(out)
    assert status == 0 and result["found"] and result["threshold"] == pytest.approx(22, rel=0.02)
    status, _, err = run_cli(capsys, "analyze", "threshold", str(path), "--x", "F", "--y", "J")
    assert status == 2 and "--y 'J': no such column" in err


def test_instruments_lists_every_role_and_names_the_silent_one(capsys, tmp_path):
    status, out, _ = run_cli(capsys, "instruments", "--sim", "--json")
    listing = json.loads(out)["instruments"]
    assert status == 0
    roles = {slot.partition(".")[0] for slot in listing}
    assert roles >= {"PumpLaser", "Attenuator", "PowerMeter", "Spectrometer", "StreakCamera",
                     "SourceMeter", "PulsedSourceMeter", "PulseGenerator", "Oscilloscope",
                     "TemperatureController", "LinearStage", "RotationStage", "Shutter"}
    assert all("identity" in entry for entry in listing.values())
    assert listing["StreakCamera"]["identity"].startswith("Hamamatsu")

    import yaml
    from labctl.config import DEFAULT_SIM
    config = yaml.safe_load(DEFAULT_SIM.read_text())
    config["roles"]["LinearStage"]["connection"]["write_termination"] = "\n"   # SMC100 needs CR LF
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    status, out, _ = run_cli(capsys, "instruments", "--config", str(path))
    assert status == 1
    assert "25 of 26 instruments answer" in out
    assert "NOT ANSWERING: LinearStage at ASRL9::INSTR" in out
    assert "Timeout" in out or "timeout" in out
