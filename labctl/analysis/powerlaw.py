"""Power laws: the slope of log I versus log pump (exciton ≈ 1, biexciton ≈ 2)."""

import math

import numpy as np

from .fitting import Fit


def power_law(pump, intensity, sigma=None, window=None) -> Fit:
    """Slope k and prefactor A of I = A·pump^k from a weighted straight line on log-log
    axes (points with positive pump and intensity, inside ``window`` = (low, high) pump).
    Without ``sigma`` the noise is taken as relative and estimated from the scatter; use
    ``fit.interval("slope")`` for a confidence interval. Values: ``slope``, ``prefactor``.
    """
    x, y = np.asarray(pump, float), np.asarray(intensity, float)
    use = (x > 0) & (y > 0)
    if window is not None:
        use &= (x >= window[0]) & (x <= window[1])
    if use.sum() < 3:
        raise ValueError(f"power-law fit needs at least 3 positive points, got {int(use.sum())}")
    lx, ly = np.log(x[use]), np.log(y[use])
    weight = np.ones_like(lx) if sigma is None else (y[use] / np.broadcast_to(sigma, x.shape)[use]) ** 2
    design = np.column_stack([np.ones_like(lx), lx])
    normal = design.T @ (design * weight[:, None])
    (intercept, slope) = np.linalg.solve(normal, design.T @ (weight * ly))
    chi2 = float(np.sum(weight * (ly - intercept - slope * lx) ** 2))
    dof = int(use.sum()) - 2
    cov = np.linalg.inv(normal) * (chi2 / max(dof, 1) if sigma is None else 1.0)
    prefactor = math.exp(intercept)
    excluded = [int(i) for i in np.flatnonzero(~use)]
    return Fit({"slope": float(slope), "prefactor": prefactor},
               {"slope": float(math.sqrt(cov[1, 1])), "prefactor": prefactor * float(math.sqrt(cov[0, 0]))},
               chi2, dof, int(use.sum()), excluded=excluded)
