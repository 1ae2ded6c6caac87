"""Instrument locks between processes: one process at a time talks to an instrument.

VISA (and pyvisa-sim) let any number of processes open the same resource and interleave
their commands. A labctl process that opens a real bench takes an exclusive ``flock`` on
one file per resource; a second process (a script while the GUI runs) is refused with the
holder's pid and command line. The kernel drops the lock when its holder exits, however it
exits, so there are no stale locks to clean up. Simulated instruments live inside their
process and need no lock.
"""

import fcntl
import os
import re
import sys
import tempfile
from pathlib import Path

from .errors import RoleBusy


def lock_dir() -> Path:
    """Where the lock files live: ``$LABCTL_LOCK_DIR``, else a per-user temporary folder."""
    default = Path(tempfile.gettempdir()) / f"labctl-locks-{os.getuid()}"
    return Path(os.environ.get("LABCTL_LOCK_DIR", default))


class ResourceLock:
    """An exclusive lock on one instrument resource, held until ``release()``."""

    def __init__(self, slot: str, resource: str):
        self.slot, self.resource = slot, resource
        folder = lock_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", resource) + ".lock")
        self._file = open(self.path, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise RoleBusy(f"{slot} at {resource} is in use by {holder}") from None
        self._file.truncate(0)
        self._file.write(f"pid {os.getpid()} ({' '.join(sys.argv)[:200]})")
        self._file.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def release(self) -> None:
        if not self._file.closed:
            self._file.truncate(0)
            self._file.close()          # closing drops the flock


def lock_all(instruments: dict) -> list[ResourceLock]:
    """Lock every ``{slot: resource}``, or none: a busy one releases those already taken."""
    held = []
    try:
        for slot, resource in instruments.items():
            held.append(ResourceLock(slot, resource))
    except BaseException:
        for lock in held:
            lock.release()
        raise
    return held
