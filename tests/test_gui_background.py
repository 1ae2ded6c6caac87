"""A view's computation off the GUI thread: the newest request only, results on the GUI
thread, cancelled results dropped (pytest-qt, offscreen)."""

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labctl.gui.background import Latest  # noqa: E402


def test_a_request_made_while_one_runs_replaces_the_waiting_one(qtbot):
    calls, results, release = [], [], threading.Event()

    def square(x):
        calls.append(x)
        release.wait(10)
        return x * x
    latest = Latest(square)
    latest.done.connect(lambda tag, result: results.append((tag, result, threading.current_thread())))
    for x in (1, 2, 3):
        latest.request(f"tag {x}", x)
    assert latest.busy
    release.set()
    qtbot.waitUntil(lambda: not latest.busy, timeout=10_000)
    assert calls == [1, 3]                                 # 2 was replaced before it started
    assert [(tag, result) for tag, result, _ in results] == [("tag 1", 1), ("tag 3", 9)]
    assert all(thread is threading.main_thread() for _, _, thread in results)


def test_a_cancelled_result_is_dropped_and_an_error_comes_back_as_the_exception(qtbot):
    results, release = [], threading.Event()

    def invert(x):
        release.wait(10)
        return 1 / x
    latest = Latest(invert)
    latest.done.connect(lambda tag, result: results.append(result))
    latest.request("first", 1)
    latest.cancel()
    release.set()
    qtbot.waitUntil(lambda: not latest.busy, timeout=10_000)
    assert results == []
    latest.request("zero", 0)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=10_000)
    assert isinstance(results[0], ZeroDivisionError)


def test_a_function_that_pickles_runs_in_the_views_worker_process(qtbot):
    results = []
    latest = Latest(os.getpid)                   # pickles: runs in the worker process
    latest.done.connect(lambda tag, result: results.append(result))
    latest.request("pid")
    qtbot.waitUntil(lambda: len(results) == 1, timeout=60_000)
    assert latest.in_process and isinstance(results[0], int) and results[0] != os.getpid()
