"""Live views of runs. ``base`` holds the view protocol and the generic views; every
other module of this package may declare procedure-specific views in a ``VIEWS`` dict
(name -> class), found automatically."""

import importlib
import pkgutil

from .base import PALETTE, ScalarsView, View, VIEWS as _GENERIC

VIEWS = dict(_GENERIC)
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        VIEWS.update(getattr(importlib.import_module(f"{__name__}.{_module.name}"), "VIEWS", {}))


def make_views(procedure_cls) -> list[View]:
    """The views a procedure asks for (``views`` attribute), then the scalars view."""
    views = []
    for entry in getattr(procedure_cls, "views", ()):
        name, options = (entry, {}) if isinstance(entry, str) else entry
        views.append(VIEWS[name](**options))
    views.append(ScalarsView())
    return views


__all__ = ["VIEWS", "View", "PALETTE", "make_views"]
