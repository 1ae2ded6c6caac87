"""Procedures and driver models, found through entry points.

A lab adds its own procedures and drivers in a separate package that declares them in
the ``labctl.procedures`` and ``labctl.drivers`` entry-point groups; the built-in ones
register exactly the same way (see pyproject.toml).
"""

import logging
from functools import lru_cache
from importlib.metadata import entry_points

from .errors import UsageError

log = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def _group(group: str) -> dict:
    return {ep.name: ep for ep in entry_points(group=group)}


@lru_cache(maxsize=None)
def _loadable(group: str) -> tuple:
    """Names whose entry point imports; a broken plugin is skipped with a warning
    instead of taking labctl down."""
    names = []
    for name, ep in sorted(_group(group).items()):
        try:
            ep.load()
        except Exception as exc:
            log.warning("skipping %s %r: %s: %s", group, name, type(exc).__name__, exc)
            continue
        names.append(name)
    return tuple(names)


def procedure_names() -> list[str]:
    return list(_loadable("labctl.procedures"))


def model_names() -> list[str]:
    return sorted(_group("labctl.drivers"))


def procedure_class(name: str) -> type:
    """The procedure class registered under ``name``."""
    try:
        return _group("labctl.procedures")[name].load()
    except KeyError:
        raise UsageError(f"unknown procedure {name!r} (procedures: {', '.join(procedure_names())})") from None


def driver_class(model: str) -> type:
    """The driver class registered for a model name (``KeyError`` if there is none)."""
    return _group("labctl.drivers")[model].load()
