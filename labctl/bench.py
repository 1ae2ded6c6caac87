"""The bench: config -> roles -> driver instances, behind the safety envelope.

``Bench.open(config)`` opens every configured instrument (through the real VISA library
or the simulated bench) and hands out *role views*: objects that expose only the members
of the role interface (``drivers.roles``), check every declared setpoint against the
envelope before the driver sees it, serialize calls from different threads, refuse
callers that do not own a role claimed by a run, and turn any driver failure into an
``InstrumentError`` naming the role, the resource and what failed.
"""

import functools
import inspect
import logging
import math
import struct
import threading
import time
import typing
from contextlib import contextmanager, nullcontext

import numpy as np
import pyvisa

from drivers.base import ReplyError
from drivers.roles import ROLES, setpoint_values

from . import config as config_module
from . import registry
from .beam import Beam
from .errors import InstrumentError, LabctlError, RoleBusy, UsageError
from .locks import ResourceLock, lock_all

MANUAL = "manual"        # owner of views used by the GUI's manual controls and scripts
log = logging.getLogger(__name__)


class RoleView:
    """A role as procedures and front ends see it."""

    __slots__ = ("_bench", "_slot", "_driver", "_owner", "_interface", "_methods")

    def __init__(self, bench, slot, driver, owner, interface):
        for name, value in (("_bench", bench), ("_slot", slot), ("_driver", driver),
                            ("_owner", owner), ("_interface", interface), ("_methods", {})):
            object.__setattr__(self, name, value)

    def __repr__(self):
        return f"<{self._slot}: {type(self._driver).__name__}>"

    def __dir__(self):
        return sorted(self._interface)

    def __setattr__(self, name, value):
        raise AttributeError(f"{self._slot}: set values through the role's methods, "
                             f"not by assigning {name!r}")

    def __getattr__(self, name):
        call = self._methods.get(name)
        if call is not None:
            return call
        driver = self._driver
        if name not in self._interface:
            raise AttributeError(f"{self._slot} role has no member {name!r} "
                                 f"(members: {', '.join(sorted(self._interface))})")
        method, setpoints = _member(type(driver), name)
        if method is None:
            return self._bench._call(self, name, lambda: getattr(driver, name))

        def call(*args, **kwargs):
            if setpoints:
                for quantity, value, unit in setpoint_values(method, args, kwargs):
                    self._bench.check_setpoint(quantity, value, unit, line=self._slot.partition(".")[2])
            return self._bench._call(self, name, lambda: getattr(driver, name)(*args, **kwargs),
                                     command=lambda: _shown(name, args, kwargs))
        call.__name__ = name
        call.__doc__ = getattr(type(driver), name).__doc__
        self._methods[name] = call
        return call


class Bench:
    """Open instruments filling the configured roles."""

    def __init__(self, config, drivers, sim=None):
        self.config = config
        self.envelope = config.envelope
        self.drivers = drivers            # slot -> driver instance
        self.sim = sim                    # SimBench on the simulated backend
        self.beam = Beam()
        self.analyzer_in_path = False
        self.sample = {"name": "unnamed"}
        self._locks = {slot: threading.RLock() for slot in drivers}
        self._claims: dict[str, object] = {}
        self._claim_lock = threading.Lock()
        self._open = True
        self.resource_locks = []  # held on a real bench: no other process talks to it
        self.runner = None        # the one runner that drives this bench
        self.on_retry = None     # callable(slot, message): a run's record of its retries

    # -- opening ------------------------------------------------------------------
    @classmethod
    def open(cls, config=None, *, sample=None, time_scale=None, seed=None, slots=None, faults=()):
        """Open the instruments of a bench config (a ``BenchConfig``, a path, or None
        for the built-in simulated bench). ``slots`` limits which are opened; the
        simulated backend accepts a ``sample`` preset or file, ``time_scale``, ``seed``
        and ``faults`` to inject (``sim_instruments.faults``)."""
        if not isinstance(config, config_module.BenchConfig):
            config = config_module.load(config)
        wanted = [s for s in config.instruments if slots is None or s in slots]
        sim, library, sample_info = None, config.visa_library, None
        if faults and config.backend != "sim":
            raise UsageError("faults can only be injected into the simulated bench")
        if time_scale is not None and not (math.isfinite(time_scale) and time_scale >= 0):
            raise UsageError(f"time scale {time_scale!r}: must be a finite number >= 0")
        locks = []
        if config.backend == "sim":
            sim, sample_info = _open_sim(config, wanted, sample, time_scale, seed, faults)
            library = sim.library
        else:
            locks = lock_all({s: config.instruments[s].resource for s in wanted})
        drivers = {}
        try:
            for slot in wanted:
                spec = config.instruments[slot]
                drivers[slot] = _open_driver(spec, library)
        except BaseException:
            for driver in drivers.values():
                _quietly(driver.close)
            for lock in locks:
                lock.release()
            raise
        bench = cls(config, drivers, sim)
        bench.resource_locks = locks
        if sample_info is not None:
            bench.sample = sample_info
        return bench

    @staticmethod
    def probe(config=None) -> dict:
        """Open each configured instrument on its own and ask for its identity and key
        settings: {slot: {"model", "resource", "identity", "settings"} or
        {"model", "resource", "error"}}. One that does not answer does not stop the rest."""
        if not isinstance(config, config_module.BenchConfig):
            config = config_module.load(config)
        library = config.visa_library
        if config.backend == "sim":
            library = _open_sim(config, list(config.instruments), None, 0.0, None)[0].library
        found = {}
        for slot, spec in config.instruments.items():
            entry = {"model": spec.model, "resource": spec.resource}
            try:
                with nullcontext() if config.backend == "sim" else ResourceLock(slot, spec.resource):
                    driver = _open_driver(spec, library)
                    try:
                        entry |= {"identity": driver.identity, "settings": driver.settings()}
                    except Exception as exc:
                        entry["error"] = (f"{slot} at {spec.resource}: does not answer: "
                                          f"{type(exc).__name__}: {exc}")
                    finally:
                        _quietly(driver.close)
            except (InstrumentError, RoleBusy) as exc:
                entry["error"] = str(exc)
            found[slot] = entry
        return found

    def close(self) -> None:
        """Safe state, then close every connection."""
        if not self._open:
            return
        self.safe_state()
        for driver in self.drivers.values():
            _quietly(driver.close)
        for lock in self.resource_locks:
            lock.release()
        self._open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- roles --------------------------------------------------------------------
    def slot(self, role: str, beam: str = "") -> str:
        return self.config.slot(role, beam)

    def has(self, role: str, beam: str = "") -> bool:
        return self.slot(role, beam) in self.drivers

    def role(self, role: str, beam: str = "", owner=MANUAL) -> RoleView:
        """The view of a role (``beam`` selects a qualified slot: ``PumpLaser.ns``). A
        specialised role (``Spectrograph``, ``TunablePumpLaser``) is found in the slot of
        the role it specialises. The view exposes only the asked role's interface."""
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        wanted = ROLES[role]
        slot = self.config.resolve(role, beam)
        if slot is None:
            self.config.require({role: beam})
        if slot not in self.drivers:
            raise LabctlError(f"{slot} is configured but was not opened")
        driver = self.drivers[slot]
        if not isinstance(driver, wanted):
            raise LabctlError(f"{slot} is a {driver.role}, not a {role}")
        return RoleView(self, slot, driver, owner, wanted.interface)

    @contextmanager
    def claimed(self, slots, owner):
        """Reserve instruments for ``owner`` (a run): others get ``RoleBusy``. Claims
        are re-entrant for the same owner (inner runs of a series)."""
        with self._claim_lock:
            busy = [s for s in slots if self._claims.get(s, (owner, 0))[0] is not owner]
            if busy:
                raise RoleBusy(f"{', '.join(busy)} in use by another run")
            for slot in slots:
                self._claims[slot] = (owner, self._claims.get(slot, (owner, 0))[1] + 1)
        try:
            yield
        finally:
            with self._claim_lock:
                for slot in slots:
                    holder, count = self._claims[slot]
                    if count > 1:
                        self._claims[slot] = (holder, count - 1)
                    else:
                        del self._claims[slot]

    def claimed_by(self, slot):
        """The owner (a run) holding ``slot``, or None."""
        return self._claims.get(slot, (None, 0))[0]

    def _call(self, view, name, action, command=None):
        """Run a role member: serialized, its reply checked against the role's declared
        type, transient faults retried with a doubling back-off, every other failure
        turned into an InstrumentError naming role, resource and command."""
        slot = view._slot
        owner = self.claimed_by(slot)
        if owner is not None and owner is not view._owner:
            raise RoleBusy(f"{slot} is in use by a run; {name} refused")
        spec = self.config.instruments[slot]
        expected = declared_return(type(view._driver), name)
        with self._locks[slot]:
            for attempt in range(spec.retries + 1):
                try:
                    value = action()
                    check_reply(value, expected, name)
                    return value
                except LabctlError:
                    raise
                except Exception as exc:
                    text = f"{name}: {type(exc).__name__}: {exc}"
                    if not transient(exc) or attempt == spec.retries:
                        tries = f" (after {attempt + 1} attempts)" if attempt else ""
                        raise InstrumentError(slot, spec.resource, text + tries,
                                              command=(command() if callable(command) else command)
                                              or name,
                                              silent=isinstance(exc, pyvisa.errors.VisaIOError)) from exc
                    log.warning("%s: transient fault, retrying: %s", slot, text)
                    if self.on_retry is not None:
                        self.on_retry(slot, f"{slot} at {spec.resource}: {text}; retried")
                    view._driver.discard_replies()
                    self.sleep(spec.retry_backoff * 2 ** attempt)

    def check_faults(self, slots, owner=MANUAL) -> None:
        """Ask each instrument in ``slots`` for the errors and faults it reports (error
        queue, status word); the first that reports one raises InstrumentError."""
        for check in self.fault_checks(slots, owner):
            check()

    def fault_checks(self, slots, owner=MANUAL) -> list:
        """The ``check_fault`` of each instrument in ``slots`` through ``owner``'s view
        (what ``check_faults`` calls; a run keeps them for all its steps)."""
        checks = []
        for slot in slots:
            role, _, qualifier = slot.partition(".")
            checks.append(self.role(role, qualifier, owner=owner).check_fault)
        return checks

    # -- safety -------------------------------------------------------------------
    def check_setpoint(self, quantity: str, value: float, unit: str | None = None,
                       line: str = "") -> float:
        """Check a setpoint against the envelope (a beam line's own limits if it has
        some); a pulse energy is also checked as a fluence over the current beam area."""
        return self.envelope.check(quantity, value, unit, area=self.beam.area, line=line)

    def mount_sample(self, sample: str) -> None:
        """Record which sample is on the bench; the simulated bench also mounts its
        physics (a preset name or a sample YAML file)."""
        if self.sim is None:
            self.sample = {"name": sample}
            return
        from sim_instruments.sample import Sample

        specimen = Sample.load(sample)
        self.sim.mount(specimen)
        self.sample = _sample_info(specimen)

    def set_step(self, index) -> None:
        """The run step in progress (the simulated bench's faults can be tied to it)."""
        if self.sim is not None:
            self.sim.step = index

    def set_analyzer(self, in_path: bool) -> None:
        """Record whether the analyzer polarizer is in the detection path (inserted by
        hand, or by a flip mount outside labctl's control)."""
        self.analyzer_in_path = bool(in_path)
        if self.sim is not None:
            self.sim.optics.analyzer_in_path = self.analyzer_in_path

    def set_beam(self, beam: Beam) -> None:
        """Record the beam geometry (a lens swap at a real bench)."""
        self.beam = beam
        if self.sim is not None:
            self.sim.optics.beam = beam

    def safe_state(self) -> dict:
        """Put every instrument in its safe state: beams first (lasers, shutters), then
        electrical outputs, then the rest (an attenuator may pass its clear end while it
        homes). Each is tried even if others fail; returns {slot: error message} for
        those that could not be made safe."""
        failures = {}
        first = ("PumpLaser", "Shutter", "SourceMeter", "PulsedSourceMeter", "PulseGenerator")
        order = sorted(self.drivers, key=lambda slot: next(
            (i for i, role in enumerate(first) if isinstance(self.drivers[slot], ROLES[role])), len(first)))
        for slot in order:
            driver = self.drivers[slot]
            with self._locks[slot]:
                try:
                    driver.safe_state()
                except Exception as exc:     # a dead instrument must not stop the others
                    failures[slot] = f"{type(exc).__name__}: {exc}"
        return failures

    # -- information --------------------------------------------------------------
    def snapshot(self) -> dict:
        """Identity and key settings of every instrument (stored with each run)."""
        snap = {}
        for slot, driver in self.drivers.items():
            spec = self.config.instruments[slot]
            with self._locks[slot]:
                try:
                    info = {"identity": driver.identity, "settings": driver.settings()}
                except Exception as exc:
                    raise InstrumentError(slot, spec.resource, f"does not answer: {exc}") from exc
            snap[slot] = {"model": spec.model, "resource": spec.resource} | info
        return snap

    # -- time ---------------------------------------------------------------------
    def now(self) -> float:
        """Seconds on the bench's clock (simulated on the simulated bench, monotonic
        otherwise): for durations, not for dates."""
        return self.sim.clock.now() if self.sim is not None else time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait; on the simulated bench the wait runs on its clock."""
        if self.sim is not None:
            self.sim.clock.sleep(seconds)
        else:
            time.sleep(seconds)


@functools.lru_cache(maxsize=None)
def declared_return(cls, name):
    """The return type a role interface declares for a member (property or method)."""
    for klass in cls.__mro__:
        if klass.__dict__.get("role") and name in vars(klass):
            member = vars(klass)[name]
            function = member.fget if isinstance(member, property) else member
            return getattr(function, "__annotations__", {}).get("return")
    return None


def check_reply(value, expected, name) -> None:
    """Raise ReplyError if a value does not look like what the role declares: a finite
    number for ``float``, a finite array for ``np.ndarray``, the right tuple."""
    def bad(what):
        raise ReplyError(f"{name} returned {value!r:.60} instead of {what}")
    if expected is None:
        return
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            bad("a number")
        if not math.isfinite(value):
            bad("a finite number")
    elif expected is bool and not isinstance(value, (bool, np.bool_)):
        bad("true or false")
    elif expected is np.ndarray:
        if not isinstance(value, np.ndarray):
            bad("an array")
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            bad("finite values")
    elif typing.get_origin(expected) is tuple:
        if not isinstance(value, tuple) or len(value) != len(typing.get_args(expected)):
            bad(f"a tuple of {len(typing.get_args(expected))}")
        for item, kind in zip(value, typing.get_args(expected)):
            check_reply(item, kind, name)


def transient(exc) -> bool:
    """Faults worth another try: a timeout, a garbled or mistyped reply."""
    if isinstance(exc, pyvisa.errors.VisaIOError):
        return exc.error_code == pyvisa.constants.StatusCode.error_timeout
    if isinstance(exc, KeyError) and "not found in mapped values" in str(exc):
        return True     # pymeasure's map_values met a reply outside its table: garbled
    return isinstance(exc, (ReplyError, UnicodeDecodeError, struct.error))


@functools.lru_cache(maxsize=None)
def _member(cls, name):
    """How a role view calls a driver member: (None, False) for a property or a plain
    attribute (read it); else (its declaration, whether it sends setpoints)."""
    member = inspect.getattr_static(cls, name, None)
    if isinstance(member, property) or not callable(getattr(cls, name, None)):
        return None, False
    method = _declared(cls, name)
    return method, bool(getattr(method, "_setpoints", ()))


def _shown(name, args, kwargs) -> str:
    """A call as the error message shows it: ``set_pulse_energy(1e-06)``."""
    return f"{name}({', '.join([repr(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"


def _declared(cls, name):
    """The role interface's declaration of a method (it carries the @setpoint marks,
    which a driver's override does not repeat)."""
    for klass in cls.__mro__:
        member = vars(klass).get(name)
        if member is not None and getattr(member, "_setpoints", None):
            return member
    return getattr(cls, name)


def _open_sim(config, slots, sample, time_scale, seed, faults=()):
    from sim_instruments.library import SimBench
    from sim_instruments.sample import Sample

    sim_cfg = config.sim
    specimen = Sample.load(sample or sim_cfg["sample"])
    instruments = [{"slot": s, "model": config.instruments[s].model,
                    "resource": config.instruments[s].resource,
                    "options": config.instruments[s].sim} for s in slots]
    sim = SimBench(instruments, sample=specimen,
                   time_scale=sim_cfg["time_scale"] if time_scale is None else time_scale,
                   seed=sim_cfg["seed"] if seed is None else seed,
                   optics={"beam_lines": sim_cfg["beam_lines"]}, faults=faults)
    unknown = {f.slot for f in sim.faults} - set(slots)
    if unknown:
        raise UsageError(f"fault for {', '.join(sorted(unknown))}: no such instrument on the bench "
                         f"(instruments: {', '.join(slots)})")
    return sim, _sample_info(specimen)


def _sample_info(specimen) -> dict:
    return {"name": specimen.name, "title": specimen.p.title, "simulated": True,
            "parameters": specimen.describe()}


def _open_driver(spec, library):
    cls = registry.driver_class(spec.model)
    try:
        return cls.open(spec.resource, visa_library=library, connection=dict(spec.connection),
                        options=dict(spec.options))
    except Exception as exc:
        raise InstrumentError(spec.slot, spec.resource, f"cannot open {spec.model}: {exc}") from exc


def _quietly(action):
    try:
        action()
    except Exception:
        pass

