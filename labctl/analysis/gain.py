"""Net modal gain from variable-stripe-length (VSL) data.

Edge emission of a stripe of length L: I(L) = (A/g)(e^{gL} − 1). At long stripes the
amplified spontaneous emission depletes the gain and I(L) grows more slowly than the
exponential: those lengths are detected and left out. The fit is done on ln I, i.e.
with noise relative to the intensity.
"""

import math

import numpy as np

from . import models
from .fitting import Fit, fit_model

MM_PER_CM = 10.0


def _log_vsl(x, gain, log_amplitude):
    return np.log(np.maximum(models.vsl(x, gain, math.exp(log_amplitude)), 1e-300))


def _fit(length_cm, intensity):
    """Fit of ln I(L); starting gain from the growth over the last half of the lengths."""
    half = length_cm.size // 2
    slope = np.polyfit(length_cm[half:], np.log(intensity[half:]), 1)[0]
    start = max(slope, 1.0)
    amplitude = intensity[0] / float(models.vsl(length_cm[0], start, 1.0))
    return fit_model(_log_vsl, length_cm, np.log(intensity),
                     {"gain": (start, -1e4, 1e5), "log_amplitude": math.log(amplitude)})


def vsl_gain(length, intensity, saturation_sigma=3.0, min_points=5) -> Fit:
    """Net modal gain g (cm⁻¹) from stripe lengths ``length`` (mm) and edge intensities.

    Gain saturation: starting from the shortest third of the lengths (at least
    ``min_points``), the next lengths are compared with the fit to the shorter ones; the
    first at which the mean deviation of up to three next points lies ``saturation_sigma``
    standard errors below the prediction starts the saturated part, which is excluded. The scatter of ln I comes
    from second differences of all points, which a smooth curve -- saturated or not --
    does not affect. Values: ``gain`` (cm⁻¹), ``amplitude`` (per cm), and
    ``saturation_length`` (mm; nan if none was found).
    """
    length = np.asarray(length, float)
    intensity = np.asarray(intensity, float)
    order = np.argsort(length)
    usable = order[(intensity[order] > 0) & (length[order] > 0)]
    if usable.size < 3:
        raise ValueError(f"VSL fit needs at least 3 positive lengths and intensities, got {usable.size}")
    x, y = length[usable] / MM_PER_CM, intensity[usable]
    log_y = np.log(y)
    bends = log_y[:-2] - 2 * log_y[1:-1] + log_y[2:]
    scatter = math.sqrt(float(np.mean(bends ** 2)) / 6) if bends.size >= 3 else 0.0
    kept = min(max(min_points, 3, x.size // 3), x.size)
    while kept < x.size:
        result, _ = _fit(x[:kept], y[:kept])
        ahead = slice(kept, min(kept + 3, x.size))
        predicted = result.eval(x=x[ahead])
        spread = result.eval_uncertainty(x=x[ahead], sigma=1) if result.covar is not None else 0.0
        # The points ahead share the error of the prediction, not their own scatter.
        deviation = float(np.mean(log_y[ahead] - predicted))
        error = math.sqrt(scatter ** 2 / predicted.size + float(np.mean(spread)) ** 2)
        if deviation < -saturation_sigma * error:
            # Keep the leading points of the block that are on the curve by themselves.
            for value, centre, width in zip(log_y[ahead], predicted, np.broadcast_to(spread, predicted.shape)):
                if value < centre - 2 * math.hypot(scatter, width):
                    break
                kept += 1
            break
        kept += 1
    result, fit = _fit(x[:kept], y[:kept])
    fit.values["amplitude"] = math.exp(fit.values.pop("log_amplitude"))
    fit.errors["amplitude"] = fit.values["amplitude"] * fit.errors.pop("log_amplitude")
    fit.excluded = sorted(int(i) for i in usable[kept:])
    fit.values["saturation_length"] = float(length[usable[kept]]) if kept < x.size else math.nan
    if fit.excluded:
        fit.warnings.append(f"gain saturation: {len(fit.excluded)} length(s) from "
                            f"{fit.values['saturation_length']:.3g} mm excluded")
    return fit
