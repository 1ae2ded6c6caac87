"""Bench configs: the built-in one loads; every malformed one fails before any
instrument is opened, naming the file, the key and the problem."""

import pytest

from labctl import config
from labctl.errors import ConfigError

PM = {"model": "thorlabs-pm100d", "resource": "USB0::0x1313::0x8078::P1::INSTR"}


def test_builtin_sim_bench():
    c = config.load()
    assert c.backend == "sim"
    assert {"PumpLaser", "Attenuator", "PowerMeter", "Spectrometer"} <= set(c.instruments)
    assert c.envelope.limit("fluence").high == 1000
    assert c.instruments["Attenuator"].connection["baud_rate"] == 57600


@pytest.mark.parametrize("data, key, problem", [
    ({"roles": {"Spectrometr": PM}}, "roles.Spectrometr", "unknown role 'Spectrometr'"),
    ({"roles": {"PowerMeter": dict(PM, model="nope")}}, "roles.PowerMeter.model", "unknown model 'nope'"),
    ({"roles": {"Spectrometer": PM}}, "roles.Spectrometer.model", "cannot fill the Spectrometer role"),
    ({"roles": {"PowerMeter": dict(PM, resource="USBX::bad")}}, "roles.PowerMeter.resource", "bad VISA resource"),
    ({"roles": {"PowerMeter": dict(PM, connection={"baud_rate": 9600})}},
     "roles.PowerMeter.connection.baud_rate", "only serial"),
    ({"roles": {"PowerMeter": dict(PM, connection={"speed": 3})}}, "connection.speed", "unknown connection option"),
    ({"roles": {"PowerMeter": PM}, "safety": {"max_fluence": "5 K"}}, "safety.max_fluence", "units of K"),
    ({"roles": {"PowerMeter": PM}, "safety": {"max_fluence": 5}}, "safety.max_fluence", "needs a unit"),
    ({"roles": {"PowerMeter": PM}, "safety": {"max_speed": "5 m/s"}}, "safety.max_speed", "unknown limit"),
    ({"roles": {"PowerMeter": PM}, "safety": {"temperature_range": ["300 K", "4 K"]}},
     "safety.temperature_range", "not below max"),
    ({"roles": {"PowerMeter": PM}, "backend": "magic"}, "backend", "must be 'visa' or 'sim'"),
    ({"roles": {"PowerMeter": dict(PM, colour="red")}}, "roles.PowerMeter.colour", "unknown key"),
    ({"roles": {}}, "roles", "must map role names"),
    ({"roles": {"PowerMeter": PM}, "sim": {"time_scale": -1}}, "sim.time_scale", ">= 0"),
])
def test_malformed_config_names_file_key_and_problem(data, key, problem):
    with pytest.raises(ConfigError) as info:
        config.parse(data, "lab.yaml")
    message = str(info.value)
    assert message.startswith("lab.yaml")
    assert key in message and problem in message


def test_files_unreadable_or_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no such bench config"):
        config.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(bad)
    evil = tmp_path / "evil.yaml"
    evil.write_text("roles: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(evil)


def test_missing_role_for_procedure_names_it():
    c = config.parse({"roles": {"PowerMeter": PM}}, "lab.yaml")
    with pytest.raises(ConfigError, match=r"missing role\(s\) PumpLaser, Spectrometer needed by fluence-sweep"):
        c.require(["PumpLaser", "PowerMeter", "Spectrometer"], who="fluence-sweep")


def test_example_real_bench_has_every_role_of_the_simulated_one():
    """examples/bench.yaml (shown in the README) is a valid VISA bench with every slot."""
    from pathlib import Path
    example = config.load(Path(__file__).parents[1] / "examples" / "bench.yaml")
    sim = config.load()
    assert example.backend == "visa" and example.visa_library == "@ivi"
    assert {s: i.model for s, i in example.instruments.items()} == \
        {s: i.model for s, i in sim.instruments.items()}
    assert all(not i.sim for i in example.instruments.values())
    assert example.envelope.describe() == sim.envelope.describe()
