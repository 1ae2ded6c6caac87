"""The record stream: everything a run produces, in order.

One run emits ``Start`` (who, what, with which parameters, on which bench and sample),
``Descriptor`` (the axes of its arrays, once the instruments are set up), one ``Step``
per completed step, any number of ``Event`` (pause, retry, warning) and ``Analysis``
(live results), and finally ``Stop``. Every consumer -- run file, catalog, live
analysis, GUI, progress bar -- subscribes to this one stream.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Column:
    """A scalar recorded at every step."""

    name: str
    unit: str = ""
    doc: str = ""


@dataclass(frozen=True)
class ArraySpec:
    """An array recorded at every step, with the names of its axes."""

    name: str
    unit: str = ""
    axes: tuple = ()
    doc: str = ""
    dtype: str = "f4"


@dataclass(frozen=True)
class Start:
    uid: str
    procedure: str
    title: str
    parameters: dict
    units: dict                 # parameter name -> unit
    plan: dict                  # steps, estimated duration
    bench: dict                 # snapshot: identity and settings per role
    sample: dict
    software: dict
    time: float
    columns: tuple = ()
    arrays: tuple = ()
    envelope: dict = field(default_factory=dict)
    config: str = ""
    parent: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class Descriptor:
    uid: str
    axes: dict                  # axis name -> (values, unit)

    def shape(self, spec: ArraySpec) -> tuple:
        return tuple(len(self.axes[a][0]) for a in spec.axes)


@dataclass(frozen=True)
class Step:
    uid: str
    index: int
    time: float
    scalars: dict               # column name -> float
    arrays: dict                # array name -> np.ndarray


@dataclass(frozen=True)
class Event:
    uid: str
    time: float
    kind: str                   # paused, resumed, warning, retry, excluded...
    message: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Analysis:
    uid: str
    index: int                  # number of steps the analysis has seen
    results: dict


@dataclass(frozen=True)
class Stop:
    uid: str
    status: str                 # finished, aborted, failed
    reason: str
    time: float
    steps: int
    results: dict = field(default_factory=dict)
    traceback: str = ""


def jsonable(value):
    """Plain JSON-serializable data from records' contents (numpy, tuples, dataclasses)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "__dataclass_fields__"):
        return jsonable(vars(value))
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
