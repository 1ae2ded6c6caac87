"""Series of runs: a threshold or a gain versus a control variable (bias, temperature,
excitation wavelength...). Takes plain arrays of results or of measured curves, not run
files."""

import math
from dataclasses import dataclass, field

import numpy as np

from .fitting import Fit
from .gain import vsl_gain
from .threshold import find_threshold


def trend(control, value, error=None) -> Fit:
    """Straight line value = intercept + slope·control, weighted by 1/error² if given
    (else the scatter sets the errors). Values: ``slope``, ``intercept``, ``first`` and
    ``last`` (fitted values at the ends of the control range), ``change`` (last/first)."""
    x, y = np.asarray(control, float), np.asarray(value, float)
    use = np.isfinite(x) & np.isfinite(y)
    if error is not None:
        use &= np.isfinite(np.asarray(error, float)) & (np.asarray(error, float) > 0)
    if use.sum() < 2:
        raise ValueError(f"a trend needs at least 2 finite values, got {int(use.sum())}")
    x, y = x[use], y[use]
    weight = np.ones_like(x) if error is None else 1 / np.asarray(error, float)[use] ** 2
    design = np.column_stack([np.ones_like(x), x])
    normal = design.T @ (design * weight[:, None])
    coef = np.linalg.solve(normal, design.T @ (weight * y))
    chi2 = float(np.sum(weight * (y - design @ coef) ** 2))
    dof = x.size - 2
    cov = np.linalg.inv(normal) * (chi2 / dof if error is None and dof > 0 else 1.0)
    ends = np.array([[1, x.min()], [1, x.max()]])
    first, last = ends @ coef
    end_errors = np.sqrt(np.einsum("ij,jk,ik->i", ends, cov, ends))
    change = last / first if first != 0 else math.nan
    change_error = (abs(change) * math.hypot(end_errors[0] / first, end_errors[1] / last)
                    if first and last else math.nan)
    return Fit({"slope": float(coef[1]), "intercept": float(coef[0]), "first": float(first),
                "last": float(last), "change": float(change)},
               {"slope": float(math.sqrt(cov[1, 1])), "intercept": float(math.sqrt(cov[0, 0])),
                "first": float(end_errors[0]), "last": float(end_errors[1]), "change": float(change_error)},
               chi2, dof, int(x.size), excluded=[int(i) for i in np.flatnonzero(~use)])


@dataclass
class Series:
    """One result per run, in control order, and the linear trend of the found ones."""

    control: np.ndarray
    value: np.ndarray
    error: np.ndarray          # 1σ (thresholds: from the 95 % interval, in log space)
    found: np.ndarray
    results: list = field(repr=False)
    trend: Fit | None = None


def threshold_series(control, runs, **options) -> Series:
    """Thresholds of several light-in/light-out runs, one per control value. ``runs`` are
    (pump, output) or (pump, output, linewidth) tuples; ``options`` go to
    ``find_threshold``."""
    control = np.asarray(control, float)
    results = [find_threshold(*run, **options) for run in runs]
    value = np.array([r.threshold for r in results])
    error = np.array([r.threshold * math.log(r.high / r.low) / (2 * 1.959964)
                      if r.found and r.high > r.low > 0 else math.nan for r in results])
    return _series(control, value, error, np.array([r.found for r in results]), results)


def gain_series(control, runs, **options) -> Series:
    """Net modal gains of several VSL runs, (length in mm, intensity) each."""
    control = np.asarray(control, float)
    results = [vsl_gain(*run, **options) for run in runs]
    value = np.array([r["gain"] for r in results])
    error = np.array([r.error("gain") for r in results])
    return _series(control, value, error, np.isfinite(value), results)


def _series(control, value, error, found, results) -> Series:
    order = np.argsort(control, kind="stable")
    control, value, error, found = control[order], value[order], error[order], found[order]
    results = [results[i] for i in order]
    ok = found & np.isfinite(error)
    fitted = trend(control[ok], value[ok], error[ok]) if ok.sum() >= 3 else None
    return Series(control, value, error, found, results, fitted)
