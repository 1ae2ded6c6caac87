"""Accuracy of labctl.analysis on synthetic data with known truth.

    python benchmarks/analysis_accuracy.py [--datasets N] [--seed S] [--jobs J]

Prints markdown tables (docs/analysis.md shows the output and the command that made it):

* thresholds from S-curve data across β, noise and number of points (log- and linearly
  spaced pumps alternate), for the stimulated output alone and for the total emission with
  a saturating spontaneous background: how often a threshold is found, how often the
  consensus is within 10 % of the truth, the coverage of its interval, and the
  Cramér–Rao bound of ln x_th (the best scatter any unbiased method can reach);
* bias and scatter of each threshold method;
* datasets without a threshold in the range (false "found" rate);
* datasets with saturated, damaged and outlying points;
* VSL gain, degree of linear polarization and lifetimes: bias, scatter, coverage.
"""

import argparse
import itertools
import math
import multiprocessing
import time

import numpy as np

from labctl.analysis import models, synthetic
from labctl.analysis.threshold import find_threshold

BETAS = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1)
NOISES = (0.01, 0.03, 0.1)
POINTS = (8, 15, 30, 100)
FLOOR = 1e-3            # absolute noise floor, × the largest output
CRB_LIMIT = 0.04        # documented range: Cramér–Rao σ(ln x_th) at most this


# -- threshold datasets ------------------------------------------------------------------

def pump_design(rng, spacing, n, xth):
    """Pumps with the threshold well inside: log-spaced over 10-100× with x_th at 30-70 %
    of the log range, or linearly spaced from 5 % of the top with x_th at 30-60 % of it."""
    if spacing == "log":
        ratio, where = 10 ** rng.uniform(1, 2), rng.uniform(0.3, 0.7)
        low = xth / ratio ** where
        return synthetic.pumps(low, low * ratio, n, "log")
    top = xth / rng.uniform(0.3, 0.6)
    return synthetic.pumps(top / 20, top, n, "linear")


def curve_parameters(rng, data, beta, noise):
    return {"beta": beta, "noise": noise, "floor": FLOOR,
            "spontaneous": 0.0 if data == "stimulated" else rng.uniform(0.25, 1.0),
            "saturation": 10 ** rng.uniform(-0.3, 0.3), "efficiency": 10 ** rng.uniform(-2, 4)}


def cramer_rao(x, xth, p):
    """Cramér–Rao σ(ln x_th) for the true model with its own nuisance parameters."""
    def model(q):
        eta, lx, lb, amp, lxs, c = q
        return eta * models.s_curve(x, math.exp(lx), math.exp(lb)) \
            + amp * -np.expm1(-x / math.exp(lxs)) + c
    q = np.array([p["efficiency"], math.log(xth), math.log(p["beta"]),
                  p["spontaneous"] * p["efficiency"] * xth, math.log(p["saturation"] * xth), 0.0])
    free = [0, 1, 2] + ([3, 4, 5] if p["spontaneous"] > 0 else [])
    m = model(q)
    sigma = np.sqrt((FLOOR * m.max()) ** 2 + (p["noise"] * m) ** 2)
    jac = []
    for i in free:
        h = 1e-6 * max(abs(q[i]), 1e-3 * m.max() if i in (3, 5) else 1e-3)
        dq = np.zeros(6)
        dq[i] = h
        jac.append((model(q + dq) - model(q - dq)) / (2 * h) / sigma)
    jac = np.array(jac).T
    try:
        return math.sqrt(np.linalg.inv(jac.T @ jac)[1, 1])
    except np.linalg.LinAlgError:
        return math.inf


def threshold_cell(task):
    """One (data, β, noise, points) cell: per dataset the truth-normalized results."""
    (data, beta, noise, n), count, seed = task
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(count):
        xth = 10 ** rng.uniform(-1, 2)
        x = pump_design(rng, ("log", "linear")[k % 2], n, xth)
        p = curve_parameters(rng, data, beta, noise)
        lc = synthetic.light_curve(rng, threshold=xth, pump=x, **p)
        r = find_threshold(lc.pump, lc.output, lc.linewidth)
        methods = {name: (m.ok, m.threshold / xth, m.low / xth, m.high / xth) for name, m in r.methods.items()}
        rows.append({"found": r.found, "ratio": r.threshold / xth, "low": r.low / xth,
                     "high": r.high / xth, "methods": methods, "crb": cramer_rao(x, xth, p)})
    return task[0], rows


def no_threshold_cell(task):
    """Datasets without a threshold inside the range: returns how many were 'found'."""
    (kind, noise, n), count, seed = task
    rng = np.random.default_rng(seed)
    found = 0
    for k in range(count):
        scale = 10 ** rng.uniform(-1, 2)
        x = synthetic.pumps(scale, scale * 10 ** rng.uniform(1, 2), n, ("log", "linear")[k % 2])
        mid = math.sqrt(x[0] * x[-1])
        xs = mid * 10 ** rng.uniform(-0.5, 0.5)
        if kind in ("all above", "above range"):
            xth = x[0] / rng.uniform(1.5, 5) if kind == "all above" else x[-1] * rng.uniform(1.5, 5)
            clean = models.s_curve(x, xth, 10 ** rng.uniform(-4, -1))
        else:
            clean = {"linear": x / mid,
                     "saturating": -np.expm1(-x / xs),
                     "linear + saturating": 0.3 * x / mid - np.expm1(-x / xs),
                     "biexciton": x / mid + (x / mid) ** 2}[kind]
        clean = clean * 10 ** rng.uniform(-2, 4)
        y = clean * (1 + noise * rng.standard_normal(n)) + FLOOR * clean.max() * rng.standard_normal(n)
        found += find_threshold(x, y).found
    return task[0], found / count


def exclusion_cell(task):
    """S-curve data (β = 0.01, 3 % noise, 30 points) spoiled at the top or in the middle."""
    kind, count, seed = task
    rng = np.random.default_rng(seed)
    ok = caught = 0
    for k in range(count):
        xth = 10 ** rng.uniform(-1, 2)
        x = pump_design(rng, ("log", "linear")[k % 2], 30, xth)
        lc = synthetic.light_curve(rng, threshold=xth, beta=0.01, pump=x, noise=0.03)
        y, saturated, bad = lc.output.copy(), None, []
        if kind == "saturated detector":
            bad = [27, 28, 29]
            saturated = np.zeros(30, bool)
            saturated[bad] = True
            y[bad] = np.minimum(y[bad], y[26])
        elif kind == "sample damage":
            bad = [28, 29]
            y[bad] *= [0.5, 0.3]
        else:
            bad = [int(rng.integers(5, 25))]
            y[bad] *= 3 if y[bad[0]] > 0.05 * y.max() else 1
            y[bad] += 0.2 * y.max()
        r = find_threshold(x, y, saturated=saturated)
        ok += r.found and abs(r.threshold / xth - 1) < 0.1
        caught += set(bad) <= set(r.excluded)
    return kind, (ok / count, caught / count)


# -- tables ------------------------------------------------------------------------------

def summary(rows):
    found = np.array([r["found"] for r in rows])
    ratio = np.array([r["ratio"] for r in rows])
    within = found & (np.abs(ratio - 1) < 0.1)
    covered = [r["low"] <= 1 <= r["high"] for r in rows if r["found"]]
    return found.mean(), within.mean(), np.mean(covered) if covered else math.nan, \
        float(np.median([r["crb"] for r in rows]))


def threshold_tables(results, count):
    lines = []
    for data in ("stimulated", "total"):
        title = ("stimulated output (spontaneous part removed)" if data == "stimulated" else
                 "total emission (stimulated + saturating spontaneous band)")
        lines += [f"\n#### {title}\n",
                  "Each cell: consensus within 10 % / found / 95 % interval coverage / median "
                  f"Cramér–Rao σ(ln x_th); {count} datasets per cell.\n",
                  "| β | noise | " + " | ".join(f"{n} points" for n in POINTS) + " |",
                  "|---|---|" + "---|" * len(POINTS)]
        for beta, noise in itertools.product(BETAS, NOISES):
            cells = []
            for n in POINTS:
                found, within, cover, crb = summary(results[(data, beta, noise, n)])
                mark = "" if crb <= CRB_LIMIT else " ·"
                cells.append(f"{within:.2f} / {found:.2f} / {cover:.2f} / {crb:.3f}{mark}")
            lines.append(f"| {beta:g} | {noise:.0%} | " + " | ".join(cells) + " |")
    rows = [r for key, rs in results.items() for r in rs]
    inside = [r for r in rows if r["crb"] <= CRB_LIMIT]
    found, within, cover, _ = summary(inside)
    all_found, all_within, all_cover, _ = summary(rows)
    lines += ["",
              f"Documented range (datasets whose Cramér–Rao σ(ln x_th) ≤ {CRB_LIMIT:.0%}; cells "
              "marked · have a median above it): "
              f"{len(inside)} of {len(rows)} datasets; threshold found in {found:.1%}, consensus "
              f"within 10 % of the truth in {within:.1%}, 95 % interval covers the truth in {cover:.1%}.",
              f"All datasets: found {all_found:.1%}, within 10 % {all_within:.1%}, coverage {all_cover:.1%}."]
    return lines


def method_table(results):
    lines = ["\n#### Methods (documented range): bias and scatter of ln(estimate/truth), coverage\n",
             "| β | method | found | median bias | robust scatter | coverage |", "|---|---|---|---|---|---|"]
    for beta in BETAS:
        rows = [r for key, rs in results.items() if key[1] == beta for r in rs if r["crb"] <= CRB_LIMIT]
        for name in ("s-curve", "two-segment", "linewidth"):
            values = [r["methods"][name] for r in rows if name in r["methods"]]
            ok = [v for v in values if v[0]]
            if not ok:
                continue
            logs = np.log([v[1] for v in ok])
            bias = float(np.median(logs))
            scatter = 1.4826 * float(np.median(np.abs(logs - bias)))
            cover = np.mean([v[2] <= 1 <= v[3] for v in ok])
            lines.append(f"| {beta:g} | {name} | {len(ok) / len(values):.2f} | {bias:+.3f} | "
                         f"{scatter:.3f} | {cover:.2f} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100, help="datasets per threshold cell")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args(argv)
    start = time.perf_counter()
    seeds = itertools.count(args.seed * 100_000)

    cells = list(itertools.product(("stimulated", "total"), BETAS, NOISES, POINTS))
    negatives = list(itertools.product(("linear", "saturating", "linear + saturating", "biexciton",
                                        "all above", "above range"), NOISES, (8, 30, 100)))
    spoiled = ("saturated detector", "sample damage", "outlier")
    with multiprocessing.Pool(args.jobs) as pool:
        thresholds = dict(pool.map(threshold_cell, [(c, args.datasets, next(seeds)) for c in cells]))
        false = dict(pool.map(no_threshold_cell, [(c, args.datasets, next(seeds)) for c in negatives]))
        spoilt = dict(pool.map(exclusion_cell, [(c, 2 * args.datasets, next(seeds)) for c in spoiled]))

    lines = ["### Thresholds"]
    lines += threshold_tables(thresholds, args.datasets)
    lines += method_table(thresholds)
    lines += ["\n#### No threshold in the range: fraction wrongly reported as found\n",
              "| data | noise | 8 points | 30 points | 100 points |", "|---|---|---|---|---|"]
    for kind, noise in itertools.product(dict.fromkeys(c[0] for c in negatives), NOISES):
        lines.append(f"| {kind} | {noise:.0%} | " + " | ".join(f"{false[(kind, noise, n)]:.2f}"
                                                             for n in (8, 30, 100)) + " |")
    lines += ["\n#### Spoiled points (β = 0.01, 3 % noise, 30 points)\n",
              "| spoiled by | threshold within 10 % | bad points excluded |", "|---|---|---|"]
    for kind in spoiled:
        ok, caught = spoilt[kind]
        lines.append(f"| {kind} | {ok:.2f} | {caught:.2f} |")
    lines.append(f"\n({time.perf_counter() - start:.0f} s on {args.jobs} processes, seed {args.seed})")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
