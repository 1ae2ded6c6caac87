"""Least-squares machinery shared by the threshold estimators.

* ``fit_curves``: for a whole batch of curve shapes at once, the χ² of the best amplitude
  of each curve plus a linear background, solved exactly ("variable projection");
* ``minimize``: Levenberg–Marquardt for many small problems at once (numpy-vectorized);
* ``profile_interval``: a confidence interval from a profile χ²;
* ``noise_fit``/``noise_model``: the noise model σᵢ² = s²(f² + mᵢ²) by maximum likelihood.
"""

import math
from functools import lru_cache

import numpy as np
from scipy import stats


def fit_curves(curves, bases, y, weight):
    """Weighted least squares ``y ≈ a·curve + basis·c`` with ``a ≥ 0``, for every curve
    and every basis (an (n, k) array, or None for no background).

    ``curves`` has shape (..., n). Each basis is orthonormalized and projected out once,
    so a curve costs a few dot products. Returns χ² shaped (..., len(bases)).
    """
    root = np.sqrt(weight)
    yw = y * root
    cw = curves * root
    cc0 = np.einsum("...n,...n->...", cw, cw)
    cy0 = cw @ yw
    qs = [None if b is None else _orthonormal(b * root[:, None]) for b in bases]
    stacked = [q for q in qs if q is not None]
    cq_all = cw @ np.concatenate(stacked, axis=1) if stacked else None
    chi2, start = [], 0
    for q in qs:
        if q is None:
            cc, cy, yy = cc0, cy0, yw @ yw
        else:
            cq = cq_all[..., start:start + q.shape[1]]
            start += q.shape[1]
            yq = q.T @ yw
            cc = cc0 - np.einsum("...k,...k->...", cq, cq)
            cy = cy0 - cq @ yq
            yy = yw @ yw - yq @ yq
        a = np.where((cy > 0) & (cc > 0), cy / np.where(cc > 0, cc, 1.0), 0.0)
        chi2.append(yy - a * cy)
    return np.stack(chi2, -1)


def _orthonormal(columns):
    """Orthonormal basis of the span of a few columns (Gram–Schmidt, twice for accuracy)."""
    q = []
    for c in columns.T:
        for _ in range(2):
            for u in q:
                c = c - (u @ c) * u
        norm = math.sqrt(c @ c)
        if norm > 1e-10 * math.sqrt(columns.size):
            q.append(c / norm)
    return np.stack(q, -1)


def linear_solve(columns, y, weight):
    """Coefficients of the weighted linear fit of y on ``columns`` (n, k)."""
    a = columns * weight[:, None]
    return np.linalg.solve(columns.T @ a + 1e-300 * np.eye(columns.shape[1]), a.T @ y)


def parabolic_min(values, axis=-1):
    """Minimum along ``axis``, refined by a parabola through the lowest grid point and its
    neighbours. Returns (minimum, fractional index)."""
    v = np.moveaxis(values, axis, -1)
    i = np.argmin(v, axis=-1)[..., None]
    j = np.clip(i, 1, v.shape[-1] - 2)
    a, b, c = np.moveaxis(np.take_along_axis(v, j + np.arange(-1, 2), -1), -1, 0)
    curvature = a - 2 * b + c
    ok = curvature > 0
    shift = ok * np.clip(0.5 * (a - c) / np.where(ok, curvature, 1.0), -1, 1)
    best = np.take_along_axis(v, i, -1)[..., 0]
    return np.minimum(b - 0.25 * (a - c) * shift, best), j[..., 0] + shift


def interp(grid, index):
    """Value of a uniform ``grid`` at a fractional ``index``."""
    return float(np.interp(index, np.arange(len(grid)), grid))


def profile_interval(grid, profile, delta):
    """Best value and the interval where ``profile − min ≤ delta`` (linear crossings).
    A side that does not cross inside the grid ends at the grid edge."""
    minimum, index = parabolic_min(profile)
    best = interp(grid, index)
    inside = profile - minimum <= delta
    i0 = int(np.argmin(profile))
    lo, hi = i0, i0
    while lo > 0 and inside[lo - 1]:
        lo -= 1
    while hi < len(grid) - 1 and inside[hi + 1]:
        hi += 1

    def crossing(i, j):          # between grid[i] (inside) and grid[j] (outside)
        fi, fj = profile[i] - minimum - delta, profile[j] - minimum - delta
        return grid[i] + (grid[j] - grid[i]) * fi / (fi - fj) if np.isfinite(fj) else grid[j]

    low = crossing(lo, lo - 1) if lo > 0 else grid[0]
    high = crossing(hi, hi + 1) if hi < len(grid) - 1 else grid[-1]
    return best, min(low, best), max(high, best), lo == 0, hi == len(grid) - 1


def noise_fit(residual, model, floor=None):
    """Maximum-likelihood noise model σᵢ² = s²·(f² + mᵢ²) for the residuals of a model m:
    the floor f on a grid (or as given), the scale s² in closed form.
    Returns (−2 ln L, s², f² + m², f)."""
    n = residual.size
    top = max(float(np.max(np.abs(model))), 1e-300)
    floors = top * np.geomspace(1e-4, 10, 41) if floor is None else np.array([floor])
    variance = floors[:, None] ** 2 + model[None, :] ** 2
    scale2 = np.maximum(np.mean(residual ** 2 / variance, axis=1), 1e-30)
    deviance = n * np.log(scale2) + np.sum(np.log(variance), axis=1) + n
    best = int(np.argmin(deviance))
    return float(deviance[best]), float(scale2[best]), variance[best], floors[best]


def noise_model(residual, model, parameters, sigma=None):
    """Per-point σ = √(σ₀² + r²m²) by maximum likelihood, corrected for the fitted
    parameters (unless the caller gave ``sigma``). Returns (σ, relative part r, floor σ₀)."""
    if sigma is not None:
        return sigma, math.nan, math.nan
    n = residual.size
    _, scale2, variance, floor = noise_fit(residual, model)
    scale2 *= n / max(n - parameters, 1)
    r = math.sqrt(scale2)
    return np.sqrt(scale2 * variance), r, r * floor


@lru_cache(maxsize=512)
def delta_chi2(dof, confidence):
    """Δχ² for a one-parameter profile interval with an estimated noise scale."""
    return float(stats.t.ppf(0.5 + confidence / 2, max(dof, 1)) ** 2)


def jacobian(residuals, theta, res, h=1e-6):
    """Finite-difference Jacobian (K, n, p) of ``residuals`` at θ (K, p)."""
    k, p = theta.shape
    shifted = (theta[None] + h * np.eye(p)[:, None, :]).reshape(-1, p)
    return (residuals(shifted).reshape(p, k, -1) - res[None]).transpose(1, 2, 0) / h


def minimize(residuals, theta, lower, upper, tolerance, iterations=50):
    """Levenberg–Marquardt for K problems at once, until no χ² improves, or is predicted
    to improve, by more than ``tolerance``. Returns (θ, χ², residuals)."""
    theta = np.clip(theta, lower, upper)
    res = residuals(theta)
    chi2 = np.sum(res ** 2, axis=1)
    damping = np.full(theta.shape[0], 1e-3)
    eye = np.eye(theta.shape[1])
    for _ in range(iterations):
        jac = jacobian(residuals, theta, res)
        jt = jac.transpose(0, 2, 1)
        hess, grad = jt @ jac, jt @ res[..., None]
        scale = np.diagonal(hess, axis1=1, axis2=2) + 1e-12
        step = np.linalg.solve(hess + (damping[:, None] * scale)[:, :, None] * eye, grad)
        predicted = (2 * step.transpose(0, 2, 1) @ grad - step.transpose(0, 2, 1) @ hess @ step)[:, 0, 0]
        trial = np.clip(theta - step[..., 0], lower, upper)
        trial_res = residuals(trial)
        trial_chi2 = np.sum(trial_res ** 2, axis=1)
        better = trial_chi2 < chi2
        done = np.where(better, chi2 - trial_chi2, predicted) < tolerance
        theta = np.where(better[:, None], trial, theta)
        res = np.where(better[:, None], trial_res, res)
        chi2 = np.where(better, trial_chi2, chi2)
        damping = np.where(better, np.maximum(damping / 5, 1e-9), damping * 4)
        if np.all(done):
            break
    return theta, chi2, res


def grid_min(curve, grid, basis, y, weight):
    """Smallest χ² of ``y ≈ a·curve(v) + basis·c`` (a ≥ 0) over a 1-D parameter v: on
    ``grid``, then on a finer grid around its best point, refined by a parabola.
    Returns (χ², best v)."""
    for _ in range(2):
        chi2 = fit_curves(curve(grid[:, None]), [basis], y, weight)[:, 0]
        i = int(np.argmin(chi2))
        step = grid[1] - grid[0]
        grid = np.linspace(grid[i] - step, grid[i] + step, 21)
    value, index = parabolic_min(chi2)
    return float(value), interp(grid, index)
