"""Bench configuration: which driver model fills each role, where it is, and the limits.

A bench config is a YAML file::

    name: Optical-gain bench, room 2.14
    backend: visa                    # or "sim" for the simulated bench
    visa_library: "@ivi"             # VISA implementation (visa backend)
    data_dir: D:/data/runs
    safety:
      max_fluence: 500 uJ/cm^2
      max_pulse_energy: 5 uJ
      ...
    roles:
      PumpLaser:                     # a role name, or Role.beam for a second beam line
        model: coherent-astrella     # a registered driver model (labctl list)
        resource: ASRL3::INSTR       # VISA resource name
        connection: {baud_rate: 19200, read_termination: "\\r\\n", timeout: 2000}
        options: {}                  # the model's own settings (calibrations...)
        sim: {}                      # physics truth of its twin (simulated bench only)
    sim: {time_scale: 1.0, seed: 1, sample: cspbbr3_film_fs, beam_lines: {...}}

Everything is checked when the file is loaded, before any instrument is opened; a
problem raises ``ConfigError`` naming the file, the key and what is wrong.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pyvisa import constants, rname

from drivers.roles import ROLES

from . import registry
from .errors import ConfigError
from .safety import Envelope

BUILTIN_DIR = Path(__file__).parent / "benches"
DEFAULT_SIM = BUILTIN_DIR / "sim.yaml"

_TOP_KEYS = {"name", "backend", "visa_library", "data_dir", "safety", "roles", "sim"}
_ROLE_KEYS = {"model", "resource", "connection", "options", "sim", "retries", "retry_backoff"}
_SIM_KEYS = {"time_scale", "seed", "sample", "beam_lines"}
_SERIAL = {
    "baud_rate": int, "data_bits": int,
    "parity": lambda v: constants.Parity[str(v)],
    "stop_bits": lambda v: {1: constants.StopBits.one, 1.5: constants.StopBits.one_and_a_half,
                            2: constants.StopBits.two}[v],
    "flow_control": lambda v: constants.ControlFlow[str(v)],
}
_GENERAL = {"read_termination": str, "write_termination": str, "timeout": int,
            "query_delay": float, "encoding": str}


@dataclass(frozen=True)
class InstrumentConfig:
    """One instrument: the slot it fills and how to reach it."""

    slot: str               # "PumpLaser" or "PumpLaser.ns"
    role: str               # "PumpLaser"
    model: str
    resource: str
    connection: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    sim: dict = field(default_factory=dict)
    retries: int = 2                # more attempts after a transient fault
    retry_backoff: float = 0.1      # s before the first retry, doubling

    @property
    def interface(self) -> str:
        return rname.parse_resource_name(self.resource).interface_type


@dataclass(frozen=True)
class BenchConfig:
    source: str
    name: str
    backend: str
    visa_library: str
    data_dir: Path
    instruments: dict
    envelope: Envelope
    sim: dict

    def slot(self, role: str, qualifier: str = "") -> str:
        return role + (f".{qualifier.lstrip('.')}" if qualifier else "")

    def resolve(self, role: str, qualifier: str = "") -> str | None:
        """The configured slot filling ``role`` (with its qualifier, e.g. ``ns``): the
        role's own slot or that of a role it specialises (a ``Spectrograph`` in the
        ``Spectrometer.hr`` slot). None if there is none."""
        if role not in ROLES:
            return None
        for klass in ROLES[role].__mro__:
            name = klass.__dict__.get("role")
            if name and self.slot(name, qualifier) in self.instruments:
                return self.slot(name, qualifier)
        return None

    def require(self, needs, who: str = "") -> None:
        """Raise ``ConfigError`` unless every needed role is configured; ``needs`` maps
        roles to qualifiers (or lists roles, unqualified)."""
        needs = needs if isinstance(needs, dict) else dict.fromkeys(needs, "")
        missing = [self.slot(r, q) for r, q in needs.items() if self.resolve(r, q) is None]
        if missing:
            need = f" needed by {who}" if who else ""
            raise ConfigError(self.source, "roles", f"missing role(s) {', '.join(missing)}{need} "
                              f"(configured: {', '.join(self.instruments) or 'none'})")


def load(path=None) -> BenchConfig:
    """Load and check a bench config (the built-in simulated bench if ``path`` is None)."""
    path = Path(path) if path is not None else DEFAULT_SIM
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, None, "no such bench config file") from None
    except OSError as exc:
        raise ConfigError(source, None, f"cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, None, f"not valid YAML: {exc}") from None
    return parse(data, source)


def parse(data, source: str = "<config>") -> BenchConfig:
    if not isinstance(data, dict):
        raise ConfigError(source, None, "a bench config must be a mapping of keys")
    _no_unknown(data, _TOP_KEYS, source, "")
    backend = data.get("backend", "visa")
    if backend not in ("visa", "sim"):
        raise ConfigError(source, "backend", f"must be 'visa' or 'sim', not {backend!r}")
    roles = data.get("roles")
    if not isinstance(roles, dict) or not roles:
        raise ConfigError(source, "roles", "must map role names to instruments")
    instruments = {slot: _instrument(slot, spec, source) for slot, spec in roles.items()}
    return BenchConfig(
        source=source,
        name=str(data.get("name", Path(source).stem)),
        backend=backend,
        visa_library=str(data.get("visa_library", "")),
        data_dir=Path(data.get("data_dir", "runs")),
        instruments=instruments,
        envelope=Envelope.from_config(data.get("safety") or {}, source),
        sim=_sim_section(data.get("sim") or {}, source),
    )


def _no_unknown(mapping, known, source, where):
    for key in mapping:
        if key not in known:
            raise ConfigError(source, f"{where}{key}", f"unknown key (known: {', '.join(sorted(known))})")


def _instrument(slot, spec, source) -> InstrumentConfig:
    where = f"roles.{slot}"
    role = str(slot).partition(".")[0]
    if role not in ROLES:
        raise ConfigError(source, where, f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if not isinstance(spec, dict):
        raise ConfigError(source, where, "must be a mapping with model and resource")
    _no_unknown(spec, _ROLE_KEYS, source, where + ".")
    for key in ("model", "resource"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise ConfigError(source, f"{where}.{key}", "required (a string)")
    model = spec["model"]
    try:
        cls = registry.driver_class(model)
    except KeyError:
        raise ConfigError(source, f"{where}.model", f"unknown model {model!r} "
                          f"(models: {', '.join(registry.model_names())})") from None
    if not issubclass(cls, ROLES[role]):
        raise ConfigError(source, f"{where}.model", f"{model} is a {cls.role}, it cannot fill "
                          f"the {role} role")
    try:
        parsed = rname.parse_resource_name(spec["resource"])
    except rname.InvalidResourceName as exc:
        raise ConfigError(source, f"{where}.resource", f"bad VISA resource name "
                          f"{spec['resource']!r}: {exc}") from None
    for key in ("connection", "options", "sim"):
        if not isinstance(spec.get(key, {}), dict):
            raise ConfigError(source, f"{where}.{key}", "must be a mapping")
    connection = _connection(spec.get("connection", {}), parsed, source, f"{where}.connection")
    retries, backoff = spec.get("retries", 2), spec.get("retry_backoff", 0.1)
    if not (isinstance(retries, int) and 0 <= retries <= 10):
        raise ConfigError(source, f"{where}.retries", f"must be a whole number 0...10, got {retries!r}")
    if not (isinstance(backoff, (int, float)) and 0 <= backoff <= 60):
        raise ConfigError(source, f"{where}.retry_backoff", f"must be 0...60 s, got {backoff!r}")
    return InstrumentConfig(slot, role, model, str(parsed), connection,
                            dict(spec.get("options", {})), dict(spec.get("sim", {})),
                            retries, float(backoff))


def _connection(spec, parsed, source, where) -> dict:
    serial = parsed.interface_type_const == constants.InterfaceType.asrl
    out = {}
    for key, value in spec.items():
        convert = _GENERAL.get(key) or _SERIAL.get(key)
        if convert is None:
            raise ConfigError(source, f"{where}.{key}", "unknown connection option "
                              f"(options: {', '.join(sorted(_GENERAL | _SERIAL))})")
        if key in _SERIAL and not serial:
            raise ConfigError(source, f"{where}.{key}", f"only serial (ASRL) resources have "
                              f"this; {parsed} is a {parsed.interface_type} resource")
        try:
            out[key] = convert(value)
        except (KeyError, TypeError, ValueError):
            raise ConfigError(source, f"{where}.{key}", f"invalid value {value!r}") from None
    if "timeout" in out and out["timeout"] <= 0:
        raise ConfigError(source, f"{where}.timeout", "must be a positive number of ms")
    return out


def _sim_section(spec, source) -> dict:
    if not isinstance(spec, dict):
        raise ConfigError(source, "sim", "must be a mapping")
    _no_unknown(spec, _SIM_KEYS, source, "sim.")
    out = {"time_scale": 1.0, "seed": 0, "sample": "cspbbr3_film_fs", "beam_lines": {}} | spec
    try:
        out["time_scale"] = float(out["time_scale"])
        out["seed"] = int(out["seed"])
    except (TypeError, ValueError):
        raise ConfigError(source, "sim", "time_scale must be a number and seed an integer") from None
    if out["time_scale"] < 0:
        raise ConfigError(source, "sim.time_scale", "must be >= 0")
    return out
