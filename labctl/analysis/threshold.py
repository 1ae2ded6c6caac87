"""Lasing / ASE threshold from light-in/light-out data.

The threshold is defined as in the papers: the onset of stimulated output, i.e. the pump
at which the linear extrapolation of the above-threshold *stimulated* output (spontaneous
background removed) reaches zero. Three estimators, combined into a consensus:

``s-curve``      fit of the laser rate-equation S-curve ``η·s_curve(x, x_th, β)`` plus a
                 background (none, an offset, or an offset plus a saturating spontaneous
                 band ``A(1 − e^(−x/x_s))``, chosen by BIC); gives β as well. Its
                 interval comes from the profile χ²(x_th).
``two-segment``  two straight lines joined at a knee on linear axes, fitted to the output
                 with the S-curve's background removed; the knee is where the upper line
                 meets the extrapolated lower (spontaneous) line, i.e. where the
                 stimulated output extrapolates to zero.
``linewidth``    midpoint of the collapse of the emission linewidth (when given): a
                 different observable, reported and compared but not averaged.

For fixed nonlinear parameters every model here is linear in its amplitudes, which are
solved exactly ("variable projection", ``_lsq``): a coarse grid over (x_th, β, x_s) gives
the starting point, Levenberg–Marquardt refines it, and the profile χ²(x_th) -- β and
x_s re-optimized at each x_th -- gives the confidence interval.

Noise model: σᵢ² = σ₀² + r²·mᵢ² -- an absolute floor (read noise, the error of the
spontaneous subtraction near zero, where the output may be negative) plus a part
relative to the model mᵢ (pump and shot-to-shot fluctuations of stimulated output).
σ₀ and r are estimated by maximum likelihood unless ``sigma`` is given; intervals use
Student quantiles for the estimated scale.

``find_threshold`` reports "no threshold" (``found=False`` with a ``reason``) instead of
inventing one when a curve without a kink (power law, exciton plus multi-exciton
emission, linear plus saturating emission) explains the data about as well, when every
point is above threshold, or when the kink is not pinned down inside the measured range.
"""

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ._lsq import (delta_chi2, fit_curves, grid_min, interp, jacobian, linear_solve, minimize, noise_fit,
                   noise_model, parabolic_min, profile_interval)
from .models import s_curve

MIN_BELOW, MIN_ABOVE = 2, 3    # points required below and above a threshold
MAX_BETA = 0.3          # above this the "jump" (≈1/β) is too small to call a threshold
MIN_DELTA_BIC = 10.0    # evidence the S-curve needs over the best curve without a kink
MIN_POINTS = 6
MIN_DELTA_BIC_BACKGROUND = 6.0   # evidence a more complex background needs
BETA_RANGE = (1e-6, 1.0)
ONSET_METHODS = ("s-curve", "two-segment")     # estimators of the onset, combined


@dataclass
class MethodResult:
    name: str
    ok: bool
    threshold: float = math.nan
    low: float = math.nan
    high: float = math.nan
    reason: str = ""
    detail: dict = field(default_factory=dict)

    @property
    def log_sigma(self) -> float:
        """Standard error of ln(threshold) from the 95 % interval (inf if unknown)."""
        if not (self.ok and self.high > self.low > 0):
            return math.inf
        return math.log(self.high / self.low) / (2 * 1.959964)


@dataclass
class ThresholdResult:
    found: bool
    threshold: float
    low: float
    high: float
    method: str
    unit: str = ""
    reason: str = ""
    beta: float = math.nan
    slope_below: float = math.nan      # on linear axes, output per pump unit
    slope_above: float = math.nan
    agree: list = field(default_factory=list)
    methods: dict = field(default_factory=dict)
    excluded: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    points: int = 0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["methods"] = {k: asdict(v) if isinstance(v, MethodResult) else v for k, v in self.methods.items()}
        return out


# -- the S-curve ----------------------------------------------------------------------

PARAMETERS = {"none": 3, "offset": 4, "saturating": 6}     # η, x_th, β + background


def _bases(x, kind, lxs):
    """Background columns of a kind, (n, k) or None; ``lxs`` = ln x_s (saturating)."""
    if kind == "none":
        return None
    if kind == "offset":
        return np.ones((x.size, 1))
    return np.stack([np.ones_like(x), -np.expm1(-x / math.exp(lxs))], -1)


def _coarse(x, y, weight, kinds):
    """χ² on a coarse grid of (ln x_th, ln β, background), the grid, and the kind of each
    background entry (the saturating kind has one entry per ln x_s)."""
    lxth = np.linspace(math.log(x[0] / 8), math.log(x[-1] * 4), 32)
    lbeta = np.linspace(*np.log(BETA_RANGE), 13)
    backgrounds = [(k, math.nan) for k in kinds if k != "saturating"]
    if "saturating" in kinds:
        backgrounds += [("saturating", v) for v in np.linspace(math.log(x[0] / 2), math.log(x[-1] * 2), 6)]
    curves = s_curve(x, np.exp(lxth)[:, None, None], np.exp(lbeta)[None, :, None])
    chi2 = fit_curves(curves, [_bases(x, *b) for b in backgrounds], y, weight)
    return chi2, lxth, lbeta, backgrounds


def _design(x, theta, kind):
    """Columns (K, n, k) of K S-curve models s_curve(x; x_th, β) [, 1 [, 1 − e^(−x/x_s)]]
    for θ = (ln x_th, ln β [, ln x_s]) per row."""
    columns = [s_curve(x, np.exp(theta[:, :1]), np.exp(theta[:, 1:2]))]
    if kind != "none":
        columns.append(np.ones_like(columns[0]))
    if kind == "saturating":
        columns.append(-np.expm1(-x / np.exp(theta[:, 2:3])))
    return np.stack(columns, -1)


def _residuals(x, yw, root, theta, kind):
    """Weighted residuals (K, n) of K models with their best amplitudes."""
    a = _design(x, theta, kind) * root[:, None]
    at = a.transpose(0, 2, 1)
    normal = at @ a
    ridge = 1e-12 * np.eye(a.shape[-1]) * normal.max(axis=(1, 2))[:, None, None]
    coef = np.linalg.solve(normal + ridge, (at @ yw)[..., None])
    return yw - (a @ coef)[..., 0]


class _SCurveProblem:
    """Weighted S-curve fits of one background kind: best fit and profile over x_th."""

    def __init__(self, x, y, weight, kind):
        self.x, self.kind = x, kind
        self.root = np.sqrt(weight)
        self.yw = y * self.root
        p = 2 + (kind == "saturating")
        self.lower = np.array([math.log(x[0] / 8), math.log(BETA_RANGE[0]), math.log(x[0] / 10)])[:p]
        self.upper = np.array([math.log(x[-1] * 4), math.log(BETA_RANGE[1]), math.log(x[-1] * 10)])[:p]

    def residuals(self, theta):
        return _residuals(self.x, self.yw, self.root, theta, self.kind)

    def best(self, start, tolerance=1e-2):
        """Best θ from ``start``, its χ², and the standard error of ln x_th."""
        theta, chi2, res = minimize(self.residuals, start[None], self.lower, self.upper, tolerance, 15)
        jac = jacobian(self.residuals, theta, res)[0]
        try:
            sigma = math.sqrt(max(np.linalg.inv(jac.T @ jac)[0, 0], 0.0))
        except np.linalg.LinAlgError:
            sigma = math.inf
        return theta[0], float(chi2[0]), sigma

    def profile(self, best, sigma, delta, points=13):
        """Profile χ²(ln x_th) (other parameters minimized) on a grid around the best fit
        spanning ±4 standard errors, extended while the Δχ² = ``delta`` crossing is not
        bracketed. Returns (grid, χ², θ per grid point)."""
        lo, hi = self.lower[0], self.upper[0]
        half = min(max(4 * sigma, 0.01), hi - lo)

        def run(grid, start):
            theta = np.column_stack([grid, np.repeat(start[None, 1:], grid.size, axis=0)])
            fixed = grid[:, None]

            def residuals(phi):
                return self.residuals(np.column_stack([np.resize(fixed, (phi.shape[0], 1)), phi]))
            phi, chi2, _ = minimize(residuals, theta[:, 1:], self.lower[1:], self.upper[1:], 1e-3 * delta)
            return np.column_stack([grid, phi]), chi2

        grid = np.linspace(max(best[0] - half, lo), min(best[0] + half, hi), points)
        thetas, chi2 = run(grid, best)
        for _ in range(3):
            excess = chi2 - chi2.min()
            ends = []
            if excess[0] < delta and thetas[0, 0] > lo + 1e-9:
                ends.append((np.linspace(max(thetas[0, 0] - 2 * half, lo), thetas[0, 0], 7)[:-1], thetas[0]))
            if excess[-1] < delta and thetas[-1, 0] < hi - 1e-9:
                ends.append((np.linspace(thetas[-1, 0], min(thetas[-1, 0] + 2 * half, hi), 7)[1:], thetas[-1]))
            if not ends:
                break
            for extra, start in ends:
                more, values = run(extra, start)
                thetas, chi2 = np.concatenate([thetas, more]), np.concatenate([chi2, values])
            order = np.argsort(thetas[:, 0])
            thetas, chi2 = thetas[order], chi2[order]
            half *= 2
        return thetas, chi2


def _choose(chi2, n):
    """Background kind by BIC; a more complex kind must improve it by more than
    ``MIN_DELTA_BIC_BACKGROUND`` (a saturating background can partly mimic an S-curve)."""
    chosen, best = None, math.inf
    for kind in ("none", "offset", "saturating"):
        if kind in chi2:
            bic = chi2[kind] + PARAMETERS[kind] * math.log(n)
            if chosen is None or bic < best - MIN_DELTA_BIC_BACKGROUND:
                chosen, best = kind, bic
    return chosen


def _fit_scurve(x, y, kinds, sigma, confidence):
    """The S-curve fit. A coarse grid (with a rough noise model) gives the starting point
    of each background kind; the best fit of the most likely kind gives the noise model;
    with it every kind is fitted, one is chosen by BIC, and its profile χ²(x_th) gives the
    interval."""
    floor = 0.03 * np.max(np.abs(y))
    weight = 1 / (floor ** 2 + y ** 2) if sigma is None else 1 / sigma ** 2
    chi2, lxth, lbeta, backgrounds = _coarse(x, y, weight, kinds)
    starts, minima = {}, {}
    for kind in kinds:
        sel = [i for i, b in enumerate(backgrounds) if b[0] == kind]
        i, j, k = np.unravel_index(np.argmin(chi2[..., sel]), chi2[..., sel].shape)
        starts[kind] = np.array([lxth[i], lbeta[j], backgrounds[sel[k]][1]])[:2 + (kind == "saturating")]
        minima[kind] = float(chi2[i, j, sel[k]])

    # The rough noise model is right only up to a scale: normalize by the best reduced χ².
    scale = min(minima[k] / max(x.size - PARAMETERS[k], 1) for k in kinds) or 1.0
    kind = _choose({k: v / scale for k, v in minima.items()}, x.size)
    problem = _SCurveProblem(x, y, weight, kind)
    starts[kind], _, _ = problem.best(starts[kind])
    model = _design(x, starts[kind][None], kind)[0]
    model = model @ linear_solve(model, y, weight)
    noise, r, floor = noise_model(y - model, model, PARAMETERS[kind] + 2, sigma)
    weight = 1 / noise ** 2

    problems = {k: _SCurveProblem(x, y, weight, k) for k in kinds}
    fits = {k: problems[k].best(starts[k]) for k in kinds}
    kind = _choose({k: f[1] for k, f in fits.items()}, x.size)
    dof = x.size - PARAMETERS[kind]
    delta = delta_chi2(dof, confidence)
    thetas, profile = problems[kind].profile(fits[kind][0], fits[kind][2], delta)
    lxth, low, high, open_low, open_high = profile_interval(thetas[:, 0], profile, delta)
    _, index = parabolic_min(profile)
    theta = np.array([interp(thetas[:, j], index) for j in range(thetas.shape[1])])
    design = _design(x, theta[None], kind)[0]
    coef = linear_solve(design, y, weight)
    return {"xth": math.exp(theta[0]), "beta": math.exp(theta[1]), "low": math.exp(low),
            "high": math.exp(high), "open": open_low or open_high, "kind": kind, "coef": coef,
            "design": design, "weight": weight, "relative_noise": r, "noise_floor": floor}


# -- curves without a threshold --------------------------------------------------------

def _fit_null(x, y, weight):
    """Fitted values of the best curves without a kink, each with its number of
    parameters: a power law A·x^p + c; one-exciton plus multi-exciton emission
    a·x + b·x^q + c (1 < q ≤ 3, q = 2 for biexcitons); linear plus saturating emission
    b·x + A(1 − e^(−x/x_s)) + c. Also the exponent p."""
    ones, linear = np.ones((x.size, 1)), np.stack([np.ones_like(x), x], -1)
    _, p = grid_min(lambda p: x ** p, np.linspace(0.05, 4.0, 80), ones, y, weight)
    _, q = grid_min(lambda q: x ** q, np.linspace(1.2, 3.0, 19), linear, y, weight)
    _, lxs = grid_min(lambda ls: -np.expm1(-x / np.exp(ls)),
                       np.linspace(math.log(x[0] / 10), math.log(x[-1] * 10), 40), linear, y, weight)
    fits = []
    for columns, k in ((np.column_stack([x ** p, ones]), 3), (np.column_stack([linear, x ** q]), 4),
                       (np.column_stack([linear, -np.expm1(-x / math.exp(lxs))]), 4)):
        fits.append((columns @ linear_solve(columns, y, weight), k))
    return fits, p


def _evidence(y, fitted, k, nulls, sigma):
    """BIC of the best curve without a kink minus the S-curve's (``fitted``, ``k``
    parameters). Each comparison uses one noise floor for both curves, the larger of
    their maximum-likelihood floors, and a scale per curve: an S-curve that happens to
    fit the noisiest points better is then not rewarded twice."""
    def bic(deviance, parameters):
        return deviance + parameters * math.log(y.size)

    if sigma is not None:
        chi2 = min(bic(float(np.sum(((y - m) / sigma) ** 2)), j) for m, j in nulls)
        return chi2 - bic(float(np.sum(((y - fitted) / sigma) ** 2)), k)
    own = noise_fit(y - fitted, fitted)[3]
    evidence = math.inf
    for m, j in nulls:
        floor = max(own, noise_fit(y - m, m)[3])
        evidence = min(evidence, bic(noise_fit(y - m, m, floor)[0], j)
                       - bic(noise_fit(y - fitted, fitted, floor)[0], k))
    return evidence


# -- two segments ------------------------------------------------------------------------

def _two_segment(x, y, weight, confidence):
    """Two lines joined at a knee, a + s₁·x + d·max(x − k, 0) with d > 0; the knee is
    where the stimulated output (above the extrapolated lower line) starts."""
    n = x.size
    if n < MIN_BELOW + MIN_ABOVE:
        return MethodResult("two-segment", False, reason="too few points")
    basis = np.stack([np.ones_like(x), x], -1)
    grid = np.linspace(math.log(x[MIN_BELOW - 1]), math.log(x[n - MIN_ABOVE]), 120)
    dof = n - 4
    for stage in range(2):
        chi2 = fit_curves(np.clip(x[None, :] - np.exp(grid)[:, None], 0, None), [basis], y, weight)[:, 0]
        scale = max(1.0, float(chi2.min()) / max(dof, 1))     # honest if two lines misfit
        delta = delta_chi2(dof, confidence) * scale
        inside = np.flatnonzero(chi2 - chi2.min() <= 4 * delta)
        lo, hi = max(inside[0] - 1, 0), min(inside[-1] + 1, grid.size - 1)
        if stage == 0:
            grid = np.linspace(grid[lo], grid[hi], 61)
    lk, low, high, _, _ = profile_interval(grid, chi2, delta)
    knee = math.exp(lk)
    a, s1, d = linear_solve(np.column_stack([basis, np.clip(x - knee, 0, None)]), y, weight)
    detail = {"slope_below": s1, "slope_above": s1 + d}
    if d <= 0:
        return MethodResult("two-segment", False, reason="no superlinear kink", detail=detail)
    return MethodResult("two-segment", True, knee, math.exp(low), math.exp(high), detail=detail)


# -- linewidth collapse -------------------------------------------------------------------

def _linewidth(x, w, confidence):
    """Midpoint of w = w_above + (w_below − w_above)/(1 + (x/x_mid)^m)."""
    ok = np.isfinite(w) & (w > 0)
    x, w = x[ok], w[ok]
    if x.size < MIN_BELOW + MIN_ABOVE:
        return MethodResult("linewidth", False, reason="too few linewidths")
    quarter = max(2, x.size // 4)
    w_below, w_above = np.median(w[:quarter]), np.median(w[-quarter:])
    if w_below < 1.3 * w_above:
        return MethodResult("linewidth", False, reason="no linewidth collapse")
    weight = np.ones_like(w)
    ones = np.ones((x.size, 1))
    mids = np.linspace(math.log(x[0]), math.log(x[-1]), 30)
    steep = np.linspace(math.log(0.5), math.log(200), 12)
    dof = x.size - 4
    for stage in range(2):
        power = np.exp(steep)[None, :, None] * (np.log(x)[None, None, :] - mids[:, None, None])
        curves = 1 / (1 + np.exp(np.clip(power, -700, 700)))
        chi2 = fit_curves(curves, [ones], w, weight)[..., 0]
        delta = delta_chi2(dof, confidence) * float(chi2.min()) / max(dof, 1)
        profile, _ = parabolic_min(chi2, axis=1)
        if stage == 0:
            inside = np.flatnonzero(profile - profile.min() <= 4 * max(delta, 1e-12))
            lo, hi = max(inside[0] - 1, 0), min(inside[-1] + 1, mids.size - 1)
            mids = np.linspace(mids[lo], mids[hi], 25)
    mid, low, high, _, _ = profile_interval(mids, profile, max(delta, 1e-12))
    return MethodResult("linewidth", True, math.exp(mid), math.exp(low), math.exp(high),
                        detail={"width_below": float(w_below), "width_above": float(w_above)})


def _no_narrowing(x, w, x_th) -> bool:
    """True when the spectra above ``x_th`` are no narrower than those below it."""
    ok = np.isfinite(w) & (w > 0)
    below, above = w[ok & (x < x_th)], w[ok & (x > x_th)]
    return below.size > 0 and above.size > 0 and np.median(above) >= np.median(below)


# -- exclusions -------------------------------------------------------------------------

def _damage(y, damage_drop):
    """Indices (in pump order) of the last points if they all fall below the output
    before them by more than ``damage_drop`` and by more than the scatter, and do not
    recover: sample damage. A spike followed by rising output is not damage (it is left
    to the outlier test)."""
    if y.size < 2:
        return []
    highest_before = np.maximum.accumulate(y)[:-1]            # max of y[:start], start = 1...
    highest_after = np.maximum.accumulate(y[::-1])[::-1][1:]  # max of y[start:]
    for start in np.flatnonzero(highest_after < (1 - damage_drop) * highest_before) + 1:
        before, tail = y[max(0, start - 7):start], y[start:]
        bends = before[:-2] - 2 * before[1:-1] + before[2:] if before.size > 2 else np.zeros(1)
        scatter = 1.4826 * float(np.median(np.abs(bends))) / math.sqrt(6)
        top = float(np.max(y[:start]))
        if np.all(tail < top - max(damage_drop * top, 3 * scatter)) and tail[-1] <= tail[0] + 3 * scatter:
            return list(range(start, y.size))
    return []


def _spikes(y):
    """Indices (in pump order) of isolated spikes and dips: a point at least twice as
    high as both neighbours, or at most half as high, and off them by more than 5 % of
    the largest output and by more than five times the point-to-point scatter (output
    still in the noise has no spikes) -- the output of a sample must rise with the pump."""
    a, mid, b = y[:-2], y[1:-1], y[2:]
    bends = a - 2 * mid + b
    scatter = 1.4826 * float(np.median(np.abs(bends))) / math.sqrt(6) if bends.size else 0.0
    margin = max(0.05 * np.max(np.abs(y)), 5 * scatter)
    high = (mid > 2 * np.maximum(a, b)) & (mid - np.maximum(a, b) > margin)
    low = (mid < 0.5 * np.minimum(a, b)) & (np.minimum(a, b) - mid > margin)
    return list(np.flatnonzero(high | low) + 1)


def _exclusions(x, y, saturated, damage_drop):
    """{index: reason} for points to exclude: invalid, saturated detector, sample damage."""
    excluded = {}
    for i in np.flatnonzero(~(np.isfinite(x) & np.isfinite(y) & (x > 0))):
        excluded[int(i)] = "not a finite positive pump / finite output"
    if saturated is not None:
        for i in np.flatnonzero(np.asarray(saturated, bool)):
            excluded.setdefault(int(i), "saturated detector")
    order = [int(i) for i in np.argsort(x, kind="stable") if int(i) not in excluded]
    for j in _spikes(y[order]):
        excluded[order[j]] = "outlier"
    order = [i for i in order if i not in excluded]
    for j in _damage(y[order], damage_drop):
        excluded[order[j]] = "output falls at higher pump (sample damage?)"
    return excluded


def _outlier(y, fitted, parameters, sigma, limit):
    """Index of the point farthest off the fit if it lies more than ``limit`` σ away on
    the noise model of the other points (so that it cannot hide by inflating it)."""
    residual = y - fitted
    noise = sigma if sigma is not None else noise_model(residual, fitted, parameters)[0]
    i = int(np.argmax(np.abs(residual) / noise))
    if sigma is None:
        others = np.arange(y.size) != i
        _, r, floor = noise_model(residual[others], fitted[others], parameters)
        noise = np.full(y.size, math.hypot(r * fitted[i], floor))
    return i if abs(residual[i]) > limit * noise[i] else None


def _warnings(excluded):
    reasons = list(excluded.values())
    return [f"excluded {reasons.count(r)} point(s): {r}" for r in dict.fromkeys(reasons)]


# -- entry point ------------------------------------------------------------------------

def find_threshold(pump, output, linewidth=None, *, unit: str = "", saturated=None,
                   background: str = "auto", sigma=None, confidence: float = 0.95,
                   damage_drop: float = 0.15, outlier_sigma: float = 5.0) -> ThresholdResult:
    """Find the lasing/ASE threshold in light-in (``pump``) / light-out (``output``) data.

    ``linewidth`` (same length) adds the linewidth-collapse estimate; ``saturated`` (bool
    per point) excludes clipped spectra; ``background`` is ``none``, ``offset``,
    ``saturating`` or ``auto`` (chosen by BIC) for the spontaneous part of ``output``;
    ``sigma`` gives known per-point uncertainties of ``output`` (else they are estimated).
    The pump may be in any unit (``unit`` is only carried into the result).
    """
    x_all = np.asarray(pump, float)
    y_all = np.asarray(output, float)
    w_all = None if linewidth is None else np.asarray(linewidth, float)
    s_all = None if sigma is None else np.broadcast_to(np.asarray(sigma, float), x_all.shape)
    excluded = _exclusions(x_all, y_all, saturated, damage_drop)
    keep = np.array([i for i in np.argsort(x_all, kind="stable") if int(i) not in excluded], int)

    def result(found, value=math.nan, low=math.nan, high=math.nan, method="", reason="", **kw):
        return ThresholdResult(found, value, low, high, method, unit, reason, excluded=sorted(excluded),
                               warnings=_warnings(excluded) + kw.pop("notes", []),
                               points=int(keep.size), **kw)

    if keep.size < MIN_POINTS:
        return result(False, reason=f"only {keep.size} usable points; need at least {MIN_POINTS}")

    # Scaled units: pump in units of its median, output in units of its largest value.
    x_scale = float(np.median(x_all[keep]))
    y_scale = float(np.max(np.abs(y_all[keep]))) or 1.0
    # "auto": every background the data can support (at least two points per parameter).
    kinds = (tuple(k for k in PARAMETERS if keep.size >= 2 * PARAMETERS[k]) if background == "auto"
             else (background,))

    def fit(keep):
        xs, ys = x_all[keep] / x_scale, y_all[keep] / y_scale
        return xs, ys, _fit_scurve(xs, ys, kinds, None if s_all is None else s_all[keep] / y_scale,
                                   confidence)

    xs, ys, sc = fit(keep)
    # Outliers, one at a time (at most a tenth of the points), each followed by a refit.
    for _ in range(max(1, keep.size // 10)):
        i = _outlier(ys, sc["design"] @ sc["coef"], PARAMETERS[sc["kind"]],
                     None if s_all is None else s_all[keep] / y_scale, outlier_sigma)
        if i is None or keep.size <= MIN_POINTS:
            break
        excluded[int(keep[i])] = "outlier"
        keep = np.delete(keep, i)
        xs, ys, sc = fit(keep)

    x_th, beta = sc["xth"], sc["beta"]
    weight = sc["weight"]
    # Evidence for the kink.
    sigma_kept = None if s_all is None else s_all[keep] / y_scale
    nulls, exponent = _fit_null(xs, ys, weight)
    fitted = sc["design"] @ sc["coef"]
    delta_bic = _evidence(ys, fitted, PARAMETERS[sc["kind"]], nulls, sigma_kept)
    scurve = MethodResult("s-curve", True, x_th, sc["low"], sc["high"],
                          detail={"beta": beta, "background": sc["kind"], "delta_bic": delta_bic,
                                  "relative_noise": sc["relative_noise"],
                                  "noise_floor": sc["noise_floor"] * y_scale})

    # Background-free output for the straight-line estimator.
    background_part = sc["design"][:, 1:] @ sc["coef"][1:]
    seg = _two_segment(xs, ys - background_part, np.ones_like(xs), confidence)
    lw = _linewidth(xs, w_all[keep], confidence) if w_all is not None else None

    # Is there a threshold at all, inside the range?
    below, above = int(np.sum(xs < x_th)), int(np.sum(xs > x_th))
    reason = ""
    if delta_bic < MIN_DELTA_BIC or beta > MAX_BETA:
        kind = "linear" if abs(exponent - 1) < 0.15 else "sublinear" if exponent < 1 else "superlinear"
        reason = f"no kink: the output follows a curve without threshold (power-law slope {exponent:.2f}, {kind})"
        line = np.column_stack([np.ones_like(xs), xs])
        intercept, slope = linear_solve(line, ys, weight)
        onset = -intercept / slope if slope > 0 else math.nan
        if kind == "linear" and 0.2 * xs[0] < onset <= xs[0]:
            reason = (f"all points look above threshold: the output rises linearly from zero at "
                      f"{onset * x_scale:.3g} {unit}, at or below the first point").replace(" ,", ",")
    elif below < MIN_BELOW:
        reason = (f"all points look above threshold: the stimulated output extrapolates to zero "
                  f"at {x_th * x_scale:.3g} {unit}, at or below the first points").replace(" ,", ",")
    elif above < MIN_ABOVE:
        reason = f"the threshold lies above the measured range (last pump {xs[-1] * x_scale:.3g} {unit})"
    elif lw is not None and not lw.ok and _no_narrowing(xs, w_all[keep], x_th):
        reason = ("no threshold: the output bends up but the linewidth does not narrow "
                  "(a superlinear band, not stimulated emission)")
    elif not xs[0] < sc["low"] <= sc["high"] < xs[-1]:
        reason = (f"no threshold pinned down inside the measured range: the S-curve's interval "
                  f"{sc['low'] * x_scale:.3g}-{sc['high'] * x_scale:.3g} {unit} reaches beyond it").rstrip()
    if reason:
        scurve.ok, scurve.reason = False, reason

    methods = {m.name: m for m in (scurve, seg, lw) if m is not None}
    for m in methods.values():      # back to the caller's units
        m.threshold, m.low, m.high = (v * x_scale for v in (m.threshold, m.low, m.high))
    slopes = {"slope_below": seg.detail.get("slope_below", math.nan) * y_scale / x_scale,
              "slope_above": seg.detail.get("slope_above", math.nan) * y_scale / x_scale}
    if reason:
        return result(False, method="s-curve", reason=reason, beta=beta, methods=methods, **slopes)

    notes = []
    if sc["open"]:
        notes.append("the S-curve interval reaches the edge of the searched range")
    agree = [m.name for m in methods.values() if m.ok and _agrees(m, scurve)]
    for m in methods.values():
        expected = m.name == "linewidth" and scurve.threshold <= m.threshold <= 1.5 * scurve.threshold
        if m.ok and m.name not in agree and not expected:
            notes.append(f"{m.name} gives {m.threshold:.3g} {unit}, which disagrees with the "
                         f"S-curve".replace(" ,", ","))
    # The linewidth midpoint is a different observable (where the narrow band takes over
    # the spectrum, 10-20 % above the onset for small β): reported and compared, not averaged.
    combined = [n for n in agree if n in ONSET_METHODS]
    value, low, high = _combine([methods[n] for n in combined])
    method = "consensus of " + ", ".join(combined) if len(combined) > 1 else "s-curve"
    return result(True, value, low, high, method, beta=beta, agree=agree, methods=methods,
                  notes=notes, **slopes)


def _agrees(m, reference, z=1.959964):
    """Two estimates agree when their difference is within the combined uncertainty."""
    sigma = math.hypot(m.log_sigma, reference.log_sigma)
    return abs(math.log(m.threshold / reference.threshold)) <= z * sigma


def _combine(methods):
    """Consensus of agreeing methods: the mean of ln(threshold) weighted by 1/σ²; they use
    the same data, so the interval is the same average of their intervals, not narrower."""
    methods = [m for m in methods if math.isfinite(m.log_sigma) and m.log_sigma > 0] or methods[:1]
    if len(methods) == 1:
        m = methods[0]
        return m.threshold, m.low, m.high
    weights = np.array([1 / m.log_sigma ** 2 for m in methods])
    weights /= weights.sum()

    def mean(values):
        return float(np.exp(np.sum(weights * np.log(values))))
    centre = mean([m.threshold for m in methods])
    return centre, min(mean([m.low for m in methods]), centre), max(mean([m.high for m in methods]), centre)
