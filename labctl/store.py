"""Run files: one HDF5 file per run, written step by step, readable while written.

Layout (``labctl_format = 1``)::

    /               attrs: labctl_format, uid, procedure, sample, started, status
    /start          JSON (uint8) of the start record: parameters, bench snapshot, sample...
    /scalars        compound dataset, one row per step; attrs "units" (JSON)
    /arrays/<name>  (steps, *shape) chunked; attrs unit, axes (JSON list of axis names)
    /axes/<name>    1-D; attrs unit
    /log            JSON lines (uint8): events and live-analysis updates
    /stop           JSON (uint8) of the stop record (empty until the run ends)

The file is created when the instruments are set up (the descriptor record), switched to
HDF5's single-writer/multiple-reader mode and flushed after every step: a reader may
open it at any time, and a crash (even SIGKILL) loses at most the step in flight. The
catalog (``catalog.sqlite`` in the same directory) indexes every run.

A full disk stops the run instead of corrupting its file: before each step the store
checks that the data disk keeps its reserve free. A write that fails anyway (quota, file
size limit) stops the run too; the file is left as its last flush wrote it, with every
step before, and the catalog records why.
"""

import ctypes
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from h5py import h5f, h5s

from .catalog import Catalog
from .errors import RunFileError, StorageError, UsageError
from .records import Analysis, Descriptor, Event, Start, Step, Stop, jsonable

FORMAT = 1
SCALAR_CHUNK = 64             # rows per chunk of /scalars
CHUNK_BYTES = 64 * 1024       # a chunk of an array dataset holds up to this many bytes of rows
RESERVE = 50 * 2**20          # bytes the data disk keeps free; a run stops before using them
_SAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def safe_name(text: str, limit: int = 40) -> str:
    """A file-name fragment: no path separators, no dots at the start."""
    return _SAFE.sub("-", str(text)).strip("-.")[:limit] or "unnamed"


def _json_bytes(value) -> np.ndarray:
    return np.frombuffer(json.dumps(jsonable(value)).encode(), dtype="u1")


def _line(entry: dict) -> bytes:
    """A log entry as a JSON line."""
    return (json.dumps(jsonable(entry)) + "\n").encode()


def _append_bytes(dataset, data: np.ndarray) -> None:
    _write_rows(dataset.id, dataset.id.shape[0], data)


def _write_rows(dsid, index: int, rows: np.ndarray) -> None:
    """Write ``rows`` (first axis: rows) at row ``index``, growing the dataset, through
    h5py's low-level API (dataset id ``dsid``): the high-level ``resize`` and
    ``dataset[i] = ...`` cost ~0.1 ms a call in selection machinery."""
    shape = rows.shape
    dsid.set_extent((index + shape[0], *shape[1:]))
    space = dsid.get_space()
    space.select_hyperslab((index,) + (0,) * (len(shape) - 1), shape)
    dsid.write(h5s.create_simple(shape), space, rows)


class _ScalarRows:
    """The compound ``/scalars`` dataset, appended one row per step by writing its current
    chunk whole (``write_direct_chunk``): converting even one row of a compound type
    costs HDF5 ~5 µs per column, this costs the copy of a few kB."""

    def __init__(self, dataset, chunk: int):
        self.dsid, self.chunk = dataset.id, chunk
        self.buffer = np.zeros(chunk, dataset.dtype)

    def append(self, index: int, scalars: dict) -> None:
        offset = index % self.chunk
        if offset == 0:
            self.buffer[:] = 0
        row = self.buffer[offset]
        for name, value in scalars.items():
            row[name] = value
        self.dsid.set_extent((index + 1,))
        self.dsid.write_direct_chunk((index - offset,), self.buffer)


class _OpenRun:
    """Writer state of one run being stored."""

    def __init__(self, start: Start, path: Path):
        self.start, self.path = start, path
        self.file = None
        self.scalars = None
        self.rows = None                # _ScalarRows of /scalars
        self.arrays = {}
        self.layout = {}                # array name -> (dataset id, dtype, row shape)
        self.log_id = None
        self.steps = 0                  # rows written
        self.broken = None              # why the file can no longer be written
        self.pending = []               # log entries from before the file exists (setup)

    def abandon(self, exc, what) -> str:
        """Stop writing after a failed write; the file keeps what its last flush wrote.
        Closing it, or letting Python free its handles, makes HDF5 retry the failed write
        and crash: the handles are kept (leaked) until the process ends, and this process
        does not reopen the file."""
        match = re.search(r"error message = '([^']+)'", str(exc))
        reason = match.group(1) if match else getattr(exc, "strerror", None) or str(exc)
        self.broken = f"run file {self.path}: cannot write {what} ({reason})"
        for obj in (self.file, self.scalars, *self.arrays.values(), self.log_id,
                    *(dsid for dsid, _, _ in self.layout.values())):
            if obj is not None:
                ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
        self.file, self.scalars, self.arrays, self.layout, self.log_id, self.rows = \
            None, None, {}, {}, None, None
        return self.broken

    def create(self, descriptor: Descriptor) -> None:
        start = self.start
        # locking=False: readers in this process (the GUI) must use the same flag; one run
        # file has one writer by construction (its name carries the run's uid).
        f = h5py.File(self.path, "w", libver="latest", locking=False)
        f.attrs.update({"labctl_format": FORMAT, "uid": start.uid, "procedure": start.procedure,
                        "sample": str(start.sample.get("name", "")), "started": start.time,
                        "status": "running"})
        f.create_dataset("start", data=_json_bytes({k: v for k, v in vars(start).items()
                                                    if k not in ("columns", "arrays")}))
        names = [c.name for c in start.columns] or ["_"]
        dtype = np.dtype([(n, "f8") for n in names])
        self.scalars = f.create_dataset("scalars", shape=(0,), maxshape=(None,), dtype=dtype,
                                        chunks=(SCALAR_CHUNK,))
        self.scalars.attrs["units"] = json.dumps({c.name: c.unit for c in start.columns})
        self.rows = _ScalarRows(self.scalars, SCALAR_CHUNK)
        axes = f.create_group("axes")
        for name, (values, unit) in descriptor.axes.items():
            axes.create_dataset(name, data=np.asarray(values)).attrs["unit"] = unit
        group = f.create_group("arrays")
        for spec in start.arrays:
            shape = descriptor.shape(spec)
            size = max(1, int(np.prod(shape)) * np.dtype(spec.dtype).itemsize)
            per_chunk = max(1, min(64, (CHUNK_BYTES // size)))
            ds = group.create_dataset(spec.name, shape=(0, *shape), maxshape=(None, *shape),
                                      dtype=spec.dtype, chunks=(per_chunk, *shape))
            ds.attrs["unit"] = spec.unit
            ds.attrs["axes"] = json.dumps(list(spec.axes))
            self.arrays[spec.name] = ds
            self.layout[spec.name] = (ds.id, ds.dtype, tuple(shape))
        self.log_id = f.create_dataset("log", shape=(0,), maxshape=(None,), dtype="u1", chunks=(4096,)).id
        f.create_dataset("stop", shape=(0,), maxshape=(None,), dtype="u1", chunks=(1024,))
        f.swmr_mode = True
        self.file = f
        for entry in self.pending:
            self.log(entry)
        self.pending = []
        f.flush()

    def step(self, step: Step) -> None:
        n = self.steps
        for name, (dsid, dtype, shape) in self.layout.items():
            row = np.asarray(step.arrays[name], dtype=dtype)
            if row.shape != shape:
                row = np.broadcast_to(row, shape)
            _write_rows(dsid, n, np.ascontiguousarray(row).reshape((1, *shape)))
        self.rows.append(n, step.scalars)
        h5f.flush(self.file.id)
        self.steps = n + 1

    def log(self, entry: dict) -> None:
        if self.file is None:
            self.pending.append(entry)
            return
        _write_rows(self.log_id, self.log_id.shape[0], np.frombuffer(_line(entry), "u1"))
        h5f.flush(self.file.id)

    def finish(self, stop: Stop) -> None:
        if self.file is None:           # ended before its instruments were set up
            with h5py.File(self.path, "w", libver="latest", locking=False) as f:
                f.attrs.update({"labctl_format": FORMAT, "uid": self.start.uid,
                                "procedure": self.start.procedure, "started": self.start.time,
                                "sample": str(self.start.sample.get("name", ""))})
                f.create_dataset("start", data=_json_bytes({k: v for k, v in vars(self.start).items()
                                                            if k not in ("columns", "arrays")}))
                f.create_dataset("log", data=np.frombuffer(b"".join(map(_line, self.pending)), "u1"))
                f.create_dataset("stop", data=_json_bytes(stop))
                f.attrs["status"] = stop.status
            return
        _append_bytes(self.file["stop"], _json_bytes(stop))
        self.file.flush()
        self.file.close()
        with h5py.File(self.path, "r+", locking=False) as f:   # closed cleanly: attributes may change
            f.attrs["status"] = stop.status
            f.attrs["ended"] = stop.time


class RunStore:
    """Record subscriber writing run files and the catalog into ``directory``."""

    def __init__(self, directory, headline=None, reserve: int = RESERVE):
        self.directory = Path(directory)
        self.reserve = reserve
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / ".labctl-write-test"
            try:
                probe.write_bytes(bytes(65536))
            finally:
                probe.unlink(missing_ok=True)
        except OSError as exc:
            raise UsageError(f"data directory {self.directory}: cannot write there "
                             f"({exc.strerror or exc})") from None
        free = self.free()
        if free < reserve:
            raise UsageError(f"data directory {self.directory}: {_mb(free)} free, below the "
                             f"{_mb(reserve)} a run keeps in reserve; free some space first")
        self.catalog = Catalog(self.directory)
        self.catalog.recover()
        self.headline = headline or (lambda procedure, results: "")
        self._runs: dict[str, _OpenRun] = {}
        self.paths: dict[str, Path] = {}
        self.broken: dict[str, str] = {}    # uid -> why its file could not be written

    def free(self) -> int:
        """Bytes free on the data disk."""
        return shutil.disk_usage(self.directory).free

    def path_for(self, start: Start) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(start.time))
        name = f"{stamp}_{safe_name(start.procedure)}_{safe_name(start.sample.get('name', ''))}_{start.uid[:8]}.h5"
        path = (self.directory / name).resolve()
        if path.parent != self.directory.resolve():
            raise ValueError(f"run file {path} would leave the data directory")
        return path

    def __call__(self, record) -> None:
        if isinstance(record, Start):
            path = self.path_for(record)
            self._runs[record.uid] = _OpenRun(record, path)
            self.paths[record.uid] = path
            self.catalog.begin(record, path)
            return
        run = self._runs[record.uid]
        if isinstance(record, Stop):
            del self._runs[record.uid]
            if run.broken is None:
                try:
                    run.finish(record)
                except (OSError, RuntimeError) as exc:
                    self.broken[record.uid] = run.abandon(exc, "the stop record")
            self.catalog.finish(record, self.headline(run.start.procedure, record.results),
                                json.dumps(jsonable(record.results)))
            return
        if run.broken is not None:      # the run is stopping: nothing more goes to the file
            return
        what = f"step {record.index}" if isinstance(record, Step) else "the run's log"
        if isinstance(record, Step) and (free := self.free()) < self.reserve:
            raise StorageError(f"data disk nearly full: {_mb(free)} free in {self.directory}, "
                               f"reserve {_mb(self.reserve)}; run stopped before step "
                               f"{record.index}, the steps before it are in {run.path}")
        try:
            if isinstance(record, Descriptor):
                run.create(record)
            elif isinstance(record, Step):
                run.step(record)
            elif isinstance(record, Event):
                run.log({"event": record.kind, "time": record.time,
                         "message": record.message, "data": record.data})
            elif isinstance(record, Analysis):
                run.log({"analysis": record.index, "results": record.results})
        except (OSError, RuntimeError) as exc:
            self.broken[record.uid] = run.abandon(exc, what)
            raise StorageError(self.broken[record.uid] + "; the steps before it are kept") from None


def _mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


@dataclass
class Array:
    """A recorded array: one row per step, with its axes (name -> (values, unit))."""

    values: np.ndarray
    unit: str
    axes: dict = field(default_factory=dict)


@dataclass
class RunData:
    """A stored run, as ``open_run`` returns it."""

    path: Path
    uid: str
    procedure: str
    status: str
    start: dict
    stop: dict | None
    scalars: pd.DataFrame
    units: dict
    arrays: dict
    events: list
    analysis: list

    @property
    def parameters(self) -> dict:
        return self.start.get("parameters", {})

    @property
    def sample(self) -> dict:
        return self.start.get("sample", {})

    @property
    def results(self) -> dict:
        if self.stop:
            return self.stop.get("results", {})
        return self.analysis[-1]["results"] if self.analysis else {}


def _load_json(ds) -> dict | None:
    """A JSON record; None if empty or cut short by a failed write."""
    raw = bytes(ds[:]) if ds.shape[0] else b""
    try:
        return json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def open_run(path, arrays: bool = True) -> RunData:
    """Open a run file: finished, still being written, or cut off by a crash.

    ``arrays=False`` skips loading the arrays (scalars and metadata only).
    """
    path = Path(path)
    if not path.is_file():
        raise RunFileError(f"{path}: no such run file")
    try:
        f = h5py.File(path, "r", swmr=True, locking=False)
    except OSError:
        try:
            f = h5py.File(path, "r", locking=False)     # written without SWMR (ended in setup)
        except OSError as exc:
            raise RunFileError(f"{path}: not an HDF5 run file ({exc})") from None
    with f:
        if "start" not in f or f.attrs.get("labctl_format") != FORMAT:
            raise RunFileError(f"{path}: an HDF5 file, but not a labctl run file (format {FORMAT})")
        start = _load_json(f["start"])
        if start is None:
            raise RunFileError(f"{path}: its start record is unreadable")
        stop = _load_json(f["stop"])
        steps = f["scalars"].shape[0] if "scalars" in f else 0
        if "arrays" in f:
            steps = min([steps] + [ds.shape[0] for ds in f["arrays"].values()])
        table = pd.DataFrame(f["scalars"][:steps]) if "scalars" in f else pd.DataFrame()
        units = json.loads(f["scalars"].attrs["units"]) if "scalars" in f else {}
        axes = {name: (ds[:], ds.attrs["unit"]) for name, ds in f["axes"].items()} if "axes" in f else {}
        loaded = {}
        if arrays and "arrays" in f:
            for name, ds in f["arrays"].items():
                loaded[name] = Array(ds[:steps], ds.attrs["unit"],
                                     {a: axes[a] for a in json.loads(ds.attrs["axes"])})
        lines = bytes(f["log"][:]).decode().splitlines() if "log" in f else []
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:       # a line cut by a crash
            break
    status = stop["status"] if stop else _unfinished_status(path, start)
    return RunData(path, start["uid"], start["procedure"], status, start, stop, table, units,
                   loaded, [e for e in entries if "event" in e], [e for e in entries if "analysis" in e])


def _unfinished_status(path: Path, start: dict) -> str:
    catalog_file = path.parent / "catalog.sqlite"
    if catalog_file.exists():
        catalog = Catalog(path.parent)
        try:
            status = catalog.status_of(start["uid"])
        finally:
            catalog.close()
        if status:
            return status
    return "incomplete"
