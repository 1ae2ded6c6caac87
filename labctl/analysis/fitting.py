"""The result every fit in the analysis returns, and a thin lmfit wrapper that makes one.

Uncertainties are 1σ standard errors. When the caller gives per-point ``sigma`` they are
taken as true; otherwise the covariance is scaled by the reduced χ² (the noise level is
estimated from the scatter about the fit), and intervals use Student quantiles.
"""

import math
from dataclasses import asdict, dataclass, field

import lmfit
import numpy as np
from scipy import stats


@dataclass
class Fit:
    """Best values and standard errors by name, and the quality of the fit."""

    values: dict
    errors: dict
    chi2: float = math.nan
    dof: int = 0
    points: int = 0
    excluded: list = field(default_factory=list)     # indices of points left out
    warnings: list = field(default_factory=list)

    def __getitem__(self, name):
        return self.values[name]

    def error(self, name) -> float:
        return self.errors.get(name, math.nan)

    def interval(self, name, confidence=0.95) -> tuple[float, float]:
        """Two-sided interval of ``name`` from its standard error (Student t)."""
        half = stats.t.ppf(0.5 + confidence / 2, max(self.dof, 1)) * self.error(name)
        return self.values[name] - half, self.values[name] + half

    def as_dict(self) -> dict:
        return asdict(self)


def parameters(spec: dict) -> lmfit.Parameters:
    """lmfit parameters from ``{name: value | (value, min, max) | (value, None)}``;
    ``(value, None)`` fixes the parameter."""
    params = lmfit.Parameters()
    for name, value in spec.items():
        if isinstance(value, tuple) and len(value) == 2 and value[1] is None:
            params.add(name, value=value[0], vary=False)
        elif isinstance(value, tuple):
            params.add(name, value=value[0], min=value[1], max=value[2])
        else:
            params.add(name, value=value)
    return params


def _result(result, points: int) -> Fit:
    """A ``Fit`` from an lmfit ModelResult or MinimizerResult."""
    values = {name: float(p.value) for name, p in result.params.items()}
    errors = {name: float(p.stderr) if p.stderr is not None else (0.0 if not p.vary else math.nan)
              for name, p in result.params.items()}
    warnings = [] if result.errorbars else ["uncertainties could not be estimated (singular covariance)"]
    return Fit(values, errors, float(result.chisqr), int(result.nfree), points, warnings=warnings)


def fit_model(function, x, y, spec: dict, sigma=None, **independent):
    """Least-squares fit of ``function(x, **params, **independent)`` to ``y``; ``spec`` as
    for ``parameters``. Returns the lmfit result and a ``Fit``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    model = lmfit.Model(function, independent_vars=["x", *independent])
    weights = None if sigma is None else 1 / np.broadcast_to(np.asarray(sigma, float), y.shape)
    result = model.fit(y, parameters(spec), x=x, weights=weights, scale_covar=sigma is None,
                       nan_policy="raise", **independent)
    return result, _result(result, y.size)


def fit_residual(residual, spec: dict, points: int, sigma_known=False):
    """Least-squares fit of a residual function ``residual(values: dict) -> array``
    (already divided by σ). Returns the lmfit result and a ``Fit``."""
    result = lmfit.minimize(lambda p: residual(p.valuesdict()), parameters(spec), scale_covar=not sigma_known)
    return result, _result(result, points)
