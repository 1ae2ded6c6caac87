"""Lasing / ASE threshold from light-in/light-out data.

The threshold is defined as in the papers: the onset of stimulated output, i.e. the pump
at which the linear extrapolation of the above-threshold *stimulated* output (spontaneous
background removed) reaches zero. Three estimators, combined into a consensus:

``s-curve``      fit of the laser rate-equation S-curve (``models.s_curve``) plus an
                 optional offset or saturating spontaneous background; gives β as well.
                 Weighted so that it follows the data on log-log axes.
``two-segment``  two straight lines on linear axes (background removed), threshold at
                 the zero of the upper line.
``linewidth``    midpoint of the collapse of the emission linewidth (when given).

``find_threshold`` reports "no threshold" (``found=False`` with a ``reason``) instead of
inventing one when the data show no kink, when every point is above threshold, or when
the kink lies outside the measured range.
"""

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import optimize, stats

from .models import s_curve

MIN_SIDE = 2            # points required on each side of a threshold
MAX_BETA = 0.3          # above this the "jump" (≈1/β) is too small to call a threshold
MIN_DELTA_BIC = 10.0    # evidence the S-curve needs over a plain power law


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
        """Standard error of ln(threshold), from the interval (inf if unknown)."""
        if not (self.ok and self.threshold > 0 and self.high > self.low > 0):
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


# -- helpers ----------------------------------------------------------------------

def _noise(x, y, relative):
    """Per-point uncertainty: an absolute floor from the scatter of the lowest points
    about a straight line, plus ``relative`` of the value."""
    k = max(3, len(x) // 4)
    xs, ys = x[:k], y[:k]
    coeffs = np.polyfit(xs, ys, 1) if k >= 3 else (0.0, ys.mean())
    floor = np.sqrt(np.mean((ys - np.polyval(coeffs, xs)) ** 2) * k / max(k - 2, 1))
    floor = max(floor, 1e-6 * np.max(np.abs(y)))
    return np.sqrt(floor ** 2 + (relative * np.abs(y)) ** 2)


def _interval(value_log, sigma_log, z):
    """(low, high) of a log-normal interval; an unbounded side becomes 0 or inf."""
    return float(np.exp(min(value_log - z * sigma_log, 700))), float(np.exp(min(value_log + z * sigma_log, 700)))


def _covariance(fit, dof):
    jac = fit.jac
    try:
        cov = np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError:
        return None
    chi2 = float(np.sum(fit.fun ** 2))
    return cov * max(1.0, chi2 / max(dof, 1))


def _bic(chi2, k, n):
    return chi2 + k * math.log(n)


# -- the S-curve --------------------------------------------------------------------

def _beta(q):
    """β in (0, 1) from an unbounded parameter."""
    return 1.0 / (1.0 + math.exp(-q)) if q > -700 else 0.0


def _scurve_model(p, x, background):
    """Parameters: ln η, ln x_th, logit β [, offset [, amplitude, ln x_s]]."""
    m = math.exp(p[0]) * s_curve(x, math.exp(p[1]), _beta(p[2]))
    if background in ("offset", "saturating"):
        m = m + p[3]
    if background == "saturating":
        m = m + p[4] * -np.expm1(-x / math.exp(p[5]))
    return m


def _least_squares(residual, p0):
    try:
        with np.errstate(all="ignore"):
            return optimize.least_squares(residual, p0, method="lm", max_nfev=2000)
    except (ValueError, OverflowError, FloatingPointError):
        return None


def _fit_scurve(x, y, sigma, background, x_guess, slope_guess, beta_guess):
    start = [math.log(slope_guess), math.log(x_guess)]
    extra = {"none": [], "offset": [0.0], "saturating": [0.0, max(y[0], 1e-3), math.log(np.median(x))]}
    best = None
    for beta0 in dict.fromkeys((beta_guess, 1e-3, 1e-1)):
        fit = _least_squares(lambda p: (_scurve_model(p, x, background) - y) / sigma,
                             start + [math.log(beta0 / (1 - beta0))] + extra[background])
        if fit is not None and np.all(np.isfinite(fit.x)) and (best is None or fit.cost < best.cost):
            best = fit
        if best is not None and best.cost < 2 * x.size:      # good enough: skip other starts
            break
    return best


def _linear_grid(columns, y, sigma):
    """Weighted linear least squares for a batch of designs: columns (G, n, k) -> chi²
    (G,) and coefficients (G, k)."""
    a = columns / sigma[None, :, None]
    b = y / sigma
    normal = np.einsum("gnk,gnl->gkl", a, a)
    rhs = np.einsum("gnk,n->gk", a, b)
    coef = np.linalg.solve(normal + 1e-12 * np.eye(normal.shape[-1]), rhs[..., None])[..., 0]
    chi2 = np.sum((np.einsum("gnk,gk->gn", a, coef) - b) ** 2, axis=1)
    return chi2, coef


def _fit_null(x, y, sigma):
    """Best no-threshold model: a power law A·x^p + c, or linear + saturating emission
    b·x + A(1 − e^(−x/x_s)) + c. Each is linear for a fixed p or x_s, so both are
    fitted exactly on a grid of p and x_s. Returns (chi², parameters, power-law slope)."""
    ones = np.ones_like(x)
    exponents = np.linspace(0.1, 4.0, 79)
    power = np.stack([np.stack([x ** p, ones], -1) for p in exponents])
    chi2_p, _ = _linear_grid(power, y, sigma)
    scales = np.geomspace(x[0] / 10, x[-1] * 10, 60)
    saturating = np.stack([np.stack([x, -np.expm1(-x / xs), ones], -1) for xs in scales])
    chi2_s, _ = _linear_grid(saturating, y, sigma)
    best_p = int(np.argmin(chi2_p))
    chi2, k = (chi2_p[best_p], 3) if chi2_p.min() <= chi2_s.min() else (chi2_s.min(), 4)
    return float(chi2), k, float(exponents[best_p])


# -- two segments ------------------------------------------------------------------

def _two_segment(x, y, z):
    """Continuous two-line fit on linear axes; threshold at the upper line's zero."""
    n = len(x)
    if n < 2 * MIN_SIDE + 1:
        return MethodResult("two-segment", False, reason="too few points")
    knees = x[MIN_SIDE - 1:n - MIN_SIDE]
    h = np.clip(x[None, :] - knees[:, None], 0, None)            # (knees, points)
    ones = np.ones_like(h)
    cols = (ones, np.broadcast_to(x, h.shape), h)
    normal = np.stack([np.stack([(a * b).sum(1) for b in cols], -1) for a in cols], -2)
    rhs = np.stack([(c * y).sum(1) for c in cols], -1)
    try:
        coef = np.linalg.solve(normal, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return MethodResult("two-segment", False, reason="degenerate pump values")
    rss = (y * y).sum() - 2 * (coef * rhs).sum(1) + np.einsum("ki,kij,kj->k", coef, normal, coef)
    best = int(np.argmin(rss))
    k0, (a0, s10, d0) = knees[best], coef[best]

    def resid(p):
        a, s1, d, k = p
        return a + s1 * x + d * np.clip(x - k, 0, None) - y

    fit = _least_squares(resid, [a0, s10, d0, k0])
    if fit is None:
        return MethodResult("two-segment", False, reason="fit failed")
    a, s1, d, k = fit.x
    s2 = s1 + d
    if s2 <= 0 or d <= 0:
        return MethodResult("two-segment", False, reason="no superlinear kink")
    x0 = k - (a + s1 * k) / s2
    detail = {"knee": k, "slope_below": s1, "slope_above": s2}
    if not x[0] * 0.5 < x0 < x[-1]:
        return MethodResult("two-segment", False, x0, reason="upper line reaches zero outside the range",
                            detail=detail)
    cov = _covariance(fit, n - 4)
    sigma = math.nan
    if cov is not None:
        # x0 = k - (a + s1·k)/(s1 + d): gradient with respect to (a, s1, d, k)
        c = (a + s1 * k) / s2 ** 2
        g = np.array([-1 / s2, c - k / s2, c, 1 - s1 / s2])
        sigma = float(math.sqrt(max(g @ cov @ g, 0.0)))
    low, high = (x0 - z * sigma, x0 + z * sigma) if math.isfinite(sigma) else (math.nan, math.nan)
    return MethodResult("two-segment", True, x0, max(low, 1e-300), high, detail=detail)


# -- linewidth collapse ---------------------------------------------------------------

def _linewidth(x, w, z):
    ok = np.isfinite(w) & (w > 0)
    x, w = x[ok], w[ok]
    if len(x) < 2 * MIN_SIDE + 1:
        return MethodResult("linewidth", False, reason="too few linewidths")
    w_hi, w_lo = np.median(w[: max(2, len(w) // 4)]), np.median(w[-max(2, len(w) // 4):])
    if w_hi < 1.3 * w_lo:
        return MethodResult("linewidth", False, reason="no linewidth collapse")

    def resid(p):
        lo_, hi_, lxm, ln = p
        return lo_ + (hi_ - lo_) / (1 + (x / math.exp(lxm)) ** math.exp(ln)) - w

    half = (w_hi + w_lo) / 2
    x_mid0 = x[np.argmin(np.abs(w - half))]
    fit = optimize.least_squares(resid, [w_lo, w_hi, math.log(x_mid0), math.log(4.0)],
                                 bounds=([0, 0, math.log(x[0]), math.log(0.5)],
                                         [np.inf, np.inf, math.log(x[-1]), math.log(100)]),
                                 max_nfev=400)
    lxm = fit.x[2]
    cov = _covariance(fit, len(x) - 4)
    s = math.sqrt(max(cov[2, 2], 0.0)) if cov is not None else math.nan
    low, high = _interval(lxm, s, z) if math.isfinite(s) else (math.nan, math.nan)
    return MethodResult("linewidth", True, math.exp(lxm), low, high,
                        detail={"width_below": fit.x[1], "width_above": fit.x[0]})


# -- exclusions -----------------------------------------------------------------------

def _exclusions(x, y, saturated, damage_drop):
    """Indices to exclude with the reason: saturated detector, output falling at the top."""
    excluded, warnings = {}, []
    if saturated is not None:
        for i in np.flatnonzero(np.asarray(saturated, bool)):
            excluded[int(i)] = "saturated detector"
    order = np.argsort(x, kind="stable")
    kept = [i for i in order if i not in excluded]
    if kept:
        ys = y[kept]
        top = int(np.argmax(ys))
        falling = [kept[j] for j in range(top + 1, len(kept)) if ys[j] < (1 - damage_drop) * ys[top]]
        for i in falling:
            excluded[int(i)] = "output falls at higher pump (sample damage?)"
    for reason in sorted(set(excluded.values())):
        count = sum(1 for r in excluded.values() if r == reason)
        warnings.append(f"excluded {count} point(s): {reason}")
    return excluded, warnings


# -- entry point ----------------------------------------------------------------------

def find_threshold(pump, output, linewidth=None, *, unit: str = "", saturated=None,
                   background: str = "auto", relative_noise: float = 0.05,
                   confidence: float = 0.95, damage_drop: float = 0.15,
                   outlier_sigma: float = 5.0) -> ThresholdResult:
    """Find the lasing/ASE threshold in light-in (``pump``) / light-out (``output``) data.

    ``linewidth`` (same length) adds the linewidth-collapse estimate; ``saturated`` (bool
    per point) excludes clipped spectra; ``background`` is ``none``, ``offset``,
    ``saturating`` or ``auto`` (chosen by BIC) for the spontaneous part of ``output``.
    The pump may be in any unit (``unit`` is only carried into the result).
    """
    x = np.asarray(pump, float)
    y = np.asarray(output, float)
    w = None if linewidth is None else np.asarray(linewidth, float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    valid = np.isfinite(x) & np.isfinite(y) & (x > 0)
    excluded, warnings = _exclusions(np.where(valid, x, np.inf), np.where(valid, y, -np.inf),
                                     saturated, damage_drop)
    for i in np.flatnonzero(~valid):
        excluded[int(i)] = "not a finite positive pump / finite output"
    keep = np.array([i for i in np.argsort(x) if i not in excluded and valid[i]], int)

    def result(found, value=math.nan, low=math.nan, high=math.nan, method="", reason="", **kw):
        return ThresholdResult(found, value, low, high, method, unit, reason, excluded=sorted(excluded),
                               warnings=warnings, points=int(keep.size), **kw)

    if keep.size < 2 * MIN_SIDE + 2:
        return result(False, reason=f"only {keep.size} usable points; need at least {2 * MIN_SIDE + 2}")

    # Work in scaled units: pump in units of its median, output in units of its max.
    x_scale = float(np.median(x[keep]))
    y_scale = float(np.max(np.abs(y[keep]))) or 1.0
    xs, ys = x[keep] / x_scale, y[keep] / y_scale
    sigma = _noise(xs, ys, relative_noise)

    seg = _two_segment(xs, ys, z)
    x_guess = seg.threshold if seg.ok else float(np.median(xs))
    slope_guess = max(seg.detail.get("slope_above", ys[-1] / xs[-1]), 1e-9)
    beta_guess = float(np.clip(seg.detail.get("slope_below", 0.0) / slope_guess, 1e-4, 0.5))

    def fit_scurve(mode):
        return _fit_scurve(xs, ys, sigma, mode, x_guess, slope_guess, beta_guess)

    modes = ("offset", "saturating") if background == "auto" else (background,)
    fits = {mode: fit for mode in modes if (fit := fit_scurve(mode)) is not None}
    if not fits:
        return result(False, reason="the S-curve fit failed")
    mode = min(fits, key=lambda m: _bic(2 * fits[m].cost, len(fits[m].x), xs.size))
    fit = fits[mode]

    # Outliers: refit once without points far off the fit.
    scale = 1.4826 * np.median(np.abs(fit.fun)) or 1.0
    bad = np.abs(fit.fun) > max(outlier_sigma * scale, outlier_sigma)
    if 0 < bad.sum() <= max(1, keep.size // 10):
        for i in keep[bad]:
            excluded[int(i)] = "outlier"
        warnings.append(f"excluded {int(bad.sum())} point(s): outlier")
        keep, xs, ys, sigma = keep[~bad], xs[~bad], ys[~bad], sigma[~bad]
        fit = fit_scurve(mode) or fit

    eta, x_th, beta = math.exp(fit.x[0]), math.exp(fit.x[1]), _beta(fit.x[2])
    null_chi2, null_k, slope = _fit_null(xs, ys, sigma)
    delta_bic = _bic(null_chi2, null_k, xs.size) - _bic(2 * fit.cost, len(fit.x), xs.size)
    cov = _covariance(fit, xs.size - len(fit.x))
    s_log = math.sqrt(max(cov[1, 1], 0.0)) if cov is not None else math.nan
    low, high = _interval(math.log(x_th), s_log, z) if math.isfinite(s_log) else (math.nan, math.nan)
    scurve = MethodResult("s-curve", True, x_th, low, high,
                          detail={"beta": beta, "background": mode, "delta_bic": delta_bic})

    # Background-free output for the straight-line estimator.
    bg = _scurve_model(fit.x, xs, mode) - eta * s_curve(xs, x_th, beta)
    seg = _two_segment(xs, ys - bg, z)
    lw = _linewidth(xs, w[keep], z) if w is not None else None

    # Is there a threshold at all?
    below, above = int(np.sum(xs < x_th)), int(np.sum(xs > x_th))
    reason = ""
    if delta_bic < MIN_DELTA_BIC or beta > MAX_BETA:
        kind = "linear" if abs(slope - 1) < 0.2 else "saturating" if slope < 1 else "superlinear"
        reason = f"no kink: the output follows a power law of slope {slope:.2f} ({kind} emission)"
        onset = seg.threshold if seg.ok or math.isfinite(seg.threshold) else math.nan
        if abs(slope - 1) < 0.2 and onset > 0.2 * xs[0]:
            reason = (f"all points look above threshold: the output rises linearly from an onset "
                      f"near {onset * x_scale:.3g} {unit}, at or below the first point".rstrip())
    elif x_th < xs[0] or below < MIN_SIDE:
        reason = (f"all points look above threshold: the stimulated output extrapolates to zero "
                  f"at {x_th * x_scale:.3g} {unit}, at or below the first points".rstrip())
    elif x_th > xs[-1] or above < MIN_SIDE:
        reason = f"the threshold lies above the measured range (last pump {xs[-1] * x_scale:.3g} {unit})"
    if reason:
        scurve.ok = False
        scurve.reason = reason

    methods = {m.name: m for m in (scurve, seg, lw) if m is not None}
    for m in methods.values():      # back to the caller's units
        m.threshold, m.low, m.high = (v * x_scale for v in (m.threshold, m.low, m.high))
        for key in ("knee",):
            if key in m.detail:
                m.detail[key] *= x_scale
    slopes = {"slope_below": seg.detail.get("slope_below", math.nan) * y_scale / x_scale,
              "slope_above": seg.detail.get("slope_above", math.nan) * y_scale / x_scale}
    if reason:
        return result(False, method="s-curve", reason=reason, beta=beta, methods=methods, **slopes)

    reference = scurve
    agree = []
    for m in methods.values():
        if not m.ok:
            continue
        tolerance = max(0.1, 2 * math.hypot(m.log_sigma if math.isfinite(m.log_sigma) else 0.1,
                                            reference.log_sigma))
        if abs(math.log(m.threshold / reference.threshold)) <= tolerance:
            agree.append(m.name)
    logs = np.array([math.log(methods[n].threshold) for n in agree])
    sig = np.array([methods[n].log_sigma if math.isfinite(methods[n].log_sigma) else 1.0 for n in agree])
    weights = 1 / sig ** 2
    centre = float(np.sum(weights * logs) / np.sum(weights))
    spread = float(np.sum(weights * (logs - centre) ** 2) / np.sum(weights)) if len(agree) > 1 else 0.0
    s_comb = math.sqrt(1 / np.sum(weights) + spread)
    low, high = _interval(centre, s_comb, z)
    method = "consensus of " + ", ".join(agree) if len(agree) > 1 else agree[0]
    return result(True, math.exp(centre), low, high, method, beta=beta, agree=agree,
                  methods=methods, **slopes)
