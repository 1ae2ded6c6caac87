"""The run catalog: one SQLite file per data directory indexing every run.

It is written by the run store as runs start and stop, read by the GUI's run browser
and by ``open_run`` (to tell a run still being written from one cut off by a crash).
``recover()`` marks runs left "running" by a process that no longer exists as
"interrupted"; every labctl entry point calls it on start.
"""

import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    uid TEXT PRIMARY KEY,
    procedure TEXT NOT NULL,
    sample TEXT,
    started REAL NOT NULL,
    ended REAL,
    status TEXT NOT NULL,
    file TEXT,
    headline TEXT,
    results TEXT,
    parameters TEXT,
    reason TEXT,
    notes TEXT,
    parent TEXT,
    pid INTEGER,
    host TEXT
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started);
"""

FILENAME = "catalog.sqlite"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Catalog:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / FILENAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def begin(self, start, file) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO runs (uid, procedure, sample, started, status, file, parameters,"
                " notes, parent, pid, host) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (start.uid, start.procedure, start.sample.get("name"), start.time, str(file),
                 json.dumps(start.parameters), start.notes, start.parent, os.getpid(),
                 socket.gethostname()))

    def finish(self, stop, headline: str = "", results_json: str = "{}") -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE runs SET status=?, ended=?, reason=?, results=?, headline=? WHERE uid=?",
                (stop.status, stop.time, stop.reason, results_json, headline, stop.uid))

    def recover(self) -> list[str]:
        """Mark runs whose writer died as interrupted; return their uids."""
        host = socket.gethostname()
        with self._lock, self._db:
            rows = self._db.execute("SELECT uid, pid, host FROM runs WHERE status='running'").fetchall()
            dead = [r["uid"] for r in rows if r["host"] == host and not _alive(r["pid"])]
            for uid in dead:
                self._db.execute("UPDATE runs SET status='interrupted', ended=?, reason=? WHERE uid=?",
                                 (time.time(), "the process writing this run ended without stopping it",
                                  uid))
        return dead

    def get(self, uid: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE uid=?", (uid,)).fetchone()
        return dict(row) if row else None

    def runs(self, text: str = "", limit: int = 1000) -> list[dict]:
        """Runs, newest first; ``text`` filters on sample, procedure, notes and headline."""
        query = "SELECT * FROM runs"
        args: tuple = ()
        if text:
            query += " WHERE sample LIKE ? OR procedure LIKE ? OR notes LIKE ? OR headline LIKE ?"
            args = (f"%{text}%",) * 4
        query += " ORDER BY started DESC LIMIT ?"
        with self._lock:
            return [dict(r) for r in self._db.execute(query, args + (limit,)).fetchall()]

    def status_of(self, uid: str) -> str | None:
        row = self.get(uid)
        if row is None:
            return None
        if row["status"] == "running" and row["host"] == socket.gethostname() and not _alive(row["pid"]):
            return "interrupted"
        return row["status"]
