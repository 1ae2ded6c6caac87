"""Series: an outer sweep (bias, temperature...) with an inner procedure at each point.

The inner procedure is any registered procedure with its own parameters
(``inner_settings``: ``"points=20, fluence_stop=150"``); each inner run is stored as its
own run file linked to the series (its start record names the series as parent). The
dry run checks the outer setpoints and, at every point, the inner plan's setpoints. Per
point the series records the outer value and the inner run's key results (declared by
the inner procedure's ``key_results``), so that e.g. a bias series of fluence sweeps
gives threshold versus voltage.
"""

from . import registry
from .errors import LabctlError, ParameterError
from .parameters import Text
from .procedure import PlannedStep, Procedure
from .records import Column


def parse_settings(text: str) -> dict:
    """``"points=20, fluence_stop=150 uJ/cm2"`` -> {"points": "20", ...}."""
    values = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise ParameterError("inner_settings", text, f"expected NAME=VALUE pairs, got {item!r}")
        values[name.strip()] = value.strip()
    return values


class Series(Procedure):
    """Base of series procedures. Subclasses declare the outer parameters, ``outer``
    (the Column of the outer quantity), ``points()``, ``outer_setpoints(value)``,
    ``apply(run, value)`` and optionally ``analyze``."""

    inner = Text("fluence-sweep", max_length=60, doc="procedure run at every point")
    inner_settings = Text("", max_length=2000, doc="its parameters: NAME=VALUE, NAME=VALUE")
    outer: Column = Column("point")
    settle = 0.0          # s spent at each point before the inner run (estimate)

    def check(self):
        try:
            cls = registry.procedure_class(self.inner)
        except LabctlError as exc:
            raise ParameterError("inner", self.inner, str(exc)) from None
        if issubclass(cls, Series):
            raise ParameterError("inner", self.inner, "a series cannot run another series")
        self.inner_procedure()            # the inner parameters are checked now

    def inner_procedure(self) -> Procedure:
        """A fresh inner procedure (one per point: it keeps per-run state)."""
        return registry.procedure_class(self.inner)(**parse_settings(self.inner_settings))

    # -- roles and plan -----------------------------------------------------------
    def slots(self):
        return self.inner_procedure().slots() | super().slots()

    def required(self):
        return self.inner_procedure().required() | super().required()

    def beam_line(self):
        return self.inner_procedure().beam_line()

    def beam(self):
        return self.inner_procedure().beam()

    def points(self) -> list[float]:
        raise NotImplementedError

    def outer_setpoints(self, value) -> tuple:
        """Setpoints the outer sweep sends at ``value`` (checked in the dry run)."""
        return ()

    def plan(self):
        inner = self.inner_procedure().plan()
        inner_setpoints = tuple(sp for step in inner for sp in step.setpoints)
        duration = self.settle + sum(step.duration for step in inner)
        unit = f" {self.outer.unit}" if self.outer.unit else ""
        return [PlannedStep(f"{self.outer.name} {value:g}{unit}",
                            self.outer_setpoints(value) + inner_setpoints, duration, {"value": value})
                for value in self.points()]

    def schema(self):
        keys = getattr(registry.procedure_class(self.inner), "key_results", ())
        columns = (self.outer,) + tuple(Column(name, unit) for name, _, unit in keys) + (
            Column("inner_steps", "", "steps of the inner run"),)
        return columns, ()

    # -- run ----------------------------------------------------------------------
    def apply(self, run, value) -> None:
        """Bring the outer quantity to ``value`` (and wait until it is there)."""
        raise NotImplementedError

    def measure(self, run, step):
        value = step.values["value"]
        self.apply(run, value)
        child = run.run_inner(self.inner_procedure(), notes=f"{self.name}: {step.label}")
        self.inner_runs.append(child.uid)
        data = {self.outer.name: value, "inner_steps": child.steps_done}
        for name, path, _ in getattr(registry.procedure_class(self.inner), "key_results", ()):
            found = child.stop.results
            for key in path:
                found = found.get(key, float("nan")) if isinstance(found, dict) else float("nan")
            data[name] = found if isinstance(found, (int, float)) and found is not None else float("nan")
        return data

    def setup(self, run):
        self.inner_runs = []
