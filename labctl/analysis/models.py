"""Model functions shared by the analysis (and by the simulated sample, which must obey
the same physics the analysis recovers)."""

import numpy as np


def s_curve(x, x_th, beta):
    """Stimulated output of the laser rate equation, u² − (x − x_th)·u − β·x_th·x = 0.

    Slope β below threshold, slope 1 above it; the above-threshold asymptote minus the
    spontaneous part βx reaches zero at x_th -- the threshold as the papers define it.
    """
    d = np.asarray(x, float) - x_th
    return 0.5 * (d + np.sqrt(d * d + 4.0 * beta * x_th * np.asarray(x, float)))
