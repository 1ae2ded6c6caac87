"""Time of the analysis functions on typical synthetic data.

    python benchmarks/analysis_speed.py [--repeats N]

Prints the median and fastest time of each call (target: find_threshold on 200 points
under 20 ms). Timings depend on the machine and its load; run it on an idle machine.
"""

import argparse
import platform
import statistics
import time

import numpy as np

from labctl.analysis import decays, gain, polarization, powerlaw, pump, series, spectra, synthetic, temperature
from labctl.analysis import models
from labctl.analysis.threshold import find_threshold


def cases(rng):
    """(name, callable) pairs, each on fresh synthetic data."""
    def light_curve(points, beta=1e-2, **kw):
        return synthetic.light_curve(rng, threshold=22.0, beta=beta, pump=synthetic.pumps(2, 150, points),
                                     noise=0.03, **kw)

    curves = {beta: light_curve(200, beta) for beta in (1e-4, 1e-2, 0.1)}
    total = light_curve(200, spontaneous=1.0)
    few = light_curve(8)
    lengths, intensity = synthetic.vsl_curve(rng, saturation_length=0.6)
    angles, malus = synthetic.malus_curve(rng)
    t, counts = synthetic.decay_curve(rng)
    irf = synthetic.gaussian_irf(t, 0.2, 0.03)
    wl, two = synthetic.spectrum_two_bands(rng)
    wl_modes, modes = synthetic.lasing_modes(rng)
    j = np.geomspace(1e12, 4e14, 25)
    saturation = models.saturation(j, 250.0, 2.5e-14) * (1 + 0.02 * rng.standard_normal(j.size))
    temps = np.linspace(10, 350, 25)
    quench = models.thermal_quenching(temps, 1e3, 500.0, 0.116) * (1 + 0.02 * rng.standard_normal(temps.size))
    runs = [(c.pump[::10], c.output[::10]) for c in curves.values()]
    return [
        *((f"find_threshold, 200 points, β = {b:g}", lambda c=c: find_threshold(c.pump, c.output))
          for b, c in curves.items()),
        ("find_threshold, 200 points + linewidths",
         lambda c=curves[1e-2]: find_threshold(c.pump, c.output, c.linewidth)),
        ("find_threshold, 200 points, total emission", lambda: find_threshold(total.pump, total.output)),
        ("find_threshold, 8 points", lambda: find_threshold(few.pump, few.output)),
        ("spectra.two_bands (Gaussian, 1000 px)", lambda: spectra.two_bands(wl, two)),
        ("spectra.q_factor (5 modes, 750 px)", lambda: spectra.q_factor(wl_modes, modes)),
        ("spectra.mode_spacing", lambda: spectra.mode_spacing(wl_modes, modes)),
        ("gain.vsl_gain (20 lengths, saturated)", lambda: gain.vsl_gain(lengths, intensity)),
        ("polarization.malus (36 angles)", lambda: polarization.malus(angles, malus)),
        ("decays.fit_decay, 2 exp, Gaussian IRF (1500 bins)", lambda: decays.fit_decay(t, counts, 2)),
        ("decays.fit_decay, 2 exp, measured IRF (1500 bins)", lambda: decays.fit_decay(t, counts, 2, irf=irf)),
        ("pump.fit_cross_section (25 points)", lambda: pump.fit_cross_section(j, saturation)),
        ("powerlaw.power_law (25 points)", lambda: powerlaw.power_law(j, saturation)),
        ("temperature.thermal_quenching (25 points)", lambda: temperature.thermal_quenching(temps, quench)),
        ("series.threshold_series (3 runs × 20 points)",
         lambda: series.threshold_series([0, 1, 2], runs)),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}; {args.repeats} repeats\n")
    print("| call | median (ms) | fastest (ms) |\n|---|---|---|")
    for name, call in cases(np.random.default_rng(1)):
        call()                                   # warm up (imports, caches)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            call()
            times.append(1e3 * (time.perf_counter() - start))
        print(f"| {name} | {statistics.median(times):.1f} | {min(times):.1f} |")


if __name__ == "__main__":
    main()
