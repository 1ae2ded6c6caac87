"""Polarization-resolved micro-PL: Malus's law per emission line, degree of linear
polarization and the fine-structure splitting.

The analyzer (a linear polarizer on the ``RotationStage`` before the spectrograph) is put
in the detection path by hand (``bench.set_analyzer``); the pump stays at one wavelength
(off-resonant 495 nm or on resonance, 531 nm) and fluence while a spectrum is taken at
every analyzer angle.

The lines overlap: at 4 K the two bright-triplet sublevels lie ~0.5 nm apart and the
stimulated line sits a few tenths of a nm to the red. Setup therefore surveys the
emission at four analyzer angles (0, 45, 90, 135°: a line polarized along any axis
stands out in one of them), finds the narrow lines and fits their shapes once
(``procedures.linefit``); every step then records each line's area by linear least
squares with those shapes, so that no line leaks into another's intensity. The two
bluest lines are the fine-structure sublevels (``upper``: higher energy, ``lower``);
the brightest narrow line to their red is the stimulated emission (Stokes-shifted);
what the lines leave of the whole spectrum is the broad spontaneous ``background``.

After the angle scan two more steps are taken along each sublevel's dipole (θ0 of the
live Malus fits): the two orthogonally polarized spectra, each showing one sublevel at
its brightest and the other at its weakest. One fit of every line to both gives the
sublevels' energies and the fine-structure splitting. (``labctl.analysis.polarization.
fine_structure_splitting`` locates each spectrum's strongest peak on its own, weighted by
that spectrum's shot noise: on resonance the stimulated line, ~100× brighter and 0.6 nm
away, biases it by more than its error.)
"""

import math

import numpy as np

from labctl.analysis import polarization, spectra
from labctl.analysis.polarization import HC_EV_NM
from labctl.errors import LabctlError, ParameterError
from labctl.parameters import Float, FloatList
from labctl.records import ArraySpec, Column

from . import linefit
from .micro_pl import MicroPL

SURVEY_ANGLES = (0.0, 45.0, 90.0, 135.0)
SURVEY_AVERAGES = 4            # × averages for the survey and the steps along the dipoles
ROTATION_SPEED = 20.0          # deg/s, for the duration estimate
LINES = ("upper", "lower", "stimulated")
COMPONENTS = LINES + ("background",)
ORTHOGONAL = {1: "lower", 2: "upper"}        # extra step -> sublevel whose dipole it follows


class Polarization(MicroPL):
    name = "polarization"
    title = "Polarization-resolved micro-PL: Malus's law per line, DOLP, fine-structure splitting"
    roles = MicroPL.roles + ("RotationStage",)

    wavelength = Float(495.0, unit="nm", minimum=405, maximum=845,
                       doc="pump wavelength (495 nm off-resonant, 531 nm on resonance)")
    fluence = Float(60.0, unit="mJ/cm^2", minimum=1e-3, maximum=1e4, doc="pump fluence")
    angle_start = Float(0.0, unit="deg", minimum=-170, maximum=370, doc="first analyzer angle")
    angle_stop = Float(360.0, unit="deg", minimum=-170, maximum=370, doc="last analyzer angle")
    angle_step = Float(10.0, unit="deg", minimum=0.5, maximum=90, doc="analyzer angle step")
    peaks = FloatList([], unit="nm", minimum=200, maximum=1400, min_length=0, max_length=6,
                      doc="approximate wavelengths of the lines (empty: found in the survey)")

    columns = (
        Column("angle", "deg", "analyzer angle set"),
        Column("angle_measured", "deg", "analyzer angle read back"),
        Column("fluence", "mJ/cm^2", "measured pump fluence"),
        Column("pulse_energy", "pJ", "measured pulse energy at the sample"),
        Column("power", "uW", "measured average pump power"),
        Column("integration_time", "s", "integration time used"),
        Column("saturated", "", "1 if the spectrum is clipped"),
        *(Column(f"intensity_{c}", "counts*nm/s", f"area of the {c} line" if c in LINES else
                 "whole spectrum minus the lines") for c in COMPONENTS),
        *(Column(f"error_{c}", "counts*nm/s", f"standard error of the {c} line's area") for c in LINES),
        *(Column(f"center_{c}", "nm", f"wavelength of the {c} line (survey fit)") for c in LINES),
        Column("orthogonal", "", "0: angle scan; 1, 2: along the lower / upper sublevel's dipole"),
        Column("splitting", "meV", "fine-structure splitting E_upper − E_lower (last step)"),
        Column("splitting_error", "meV", "its standard error"),
    )
    arrays = (ArraySpec("spectrum", "counts/s", ("wavelength",), "dark-corrected spectrum"),)
    views = ("polarization", "spectrum", "waterfall")
    key_results = tuple((f"dolp_{c}", ("lines", c, "dolp"), "") for c in COMPONENTS) + (
        ("splitting", ("splitting", "value"), "meV"),)

    def check(self):
        if self.angle_stop <= self.angle_start:
            raise ParameterError("angle_stop", self.angle_stop,
                                 f"must be above angle_start ({self.angle_start:g}°)")
        if len(self.angles()) < 4:
            raise ParameterError("angle_step", self.angle_step, "leaves fewer than 4 angles "
                                 "(Malus's law has 3 parameters)")

    # -- plan ---------------------------------------------------------------------
    def angles(self) -> np.ndarray:
        return np.arange(self.angle_start, self.angle_stop + self.angle_step / 2, self.angle_step)

    def _step(self, angle, orthogonal=0, move=None):
        label = f"analyzer {angle:.4g}°" + (f" (along the {ORTHOGONAL[orthogonal]} sublevel)"
                                            if orthogonal else "")
        moving = (self.angle_step if move is None else move) / ROTATION_SPEED
        return self.pump_step(label, self.fluence, {"angle": float(angle), "orthogonal": orthogonal},
                              moving)

    def plan(self):
        return [self._step(a) for a in self.angles()]

    def more_steps(self, run, results):
        """The two steps along the sublevels' dipoles, once, after the angle scan."""
        lines = results.get("lines", {})
        if self.orthogonal or not all(k in lines for k in ("lower", "upper")):
            return []
        return [self._step(lines[ORTHOGONAL[k]]["theta0"], k, 180.0) for k in ORTHOGONAL]

    # -- run ----------------------------------------------------------------------
    def setup(self, run):
        self.setup_spectrograph(run)
        self.tune(run, self.wavelength)
        self.start_pump(run)
        self.set_fluence(run, self.fluence)
        run.bench.set_analyzer(True)
        self.orthogonal = {}
        self._survey(run)

    def _survey(self, run):
        """Find the lines in spectra at four analyzer angles, fit their shapes, name them."""
        wl = run.axes["wavelength"][0]
        survey = []
        for angle in SURVEY_ANGLES:
            self._orient(run, angle)
            survey.append(self.acquire(run, SURVEY_AVERAGES * self.averages)[0])
        step = float(np.median(np.abs(np.diff(wl))))
        try:
            self.lines, found = linefit.survey(wl, survey, [(p, 3 * step) for p in self.peaks])
        except ValueError:
            angles = ", ".join(f"{a:g}°" for a in SURVEY_ANGLES)
            raise LabctlError(f"no emission lines found in the survey spectra at analyzer angles {angles} "
                              f"(is the emission within the spectrograph's range around "
                              f"{self.center_wavelength:g} nm?)") from None
        sublevels = 2 if len(self.lines) >= 2 else 1
        self.index = dict(zip(("upper", "lower") if sublevels == 2 else ("lower",), range(sublevels)))
        red = range(sublevels, len(self.lines))
        if red:
            self.index["stimulated"] = max(red, key=lambda i: found[:, i].sum())
        self.announce = "lines at " + ", ".join(f"{name} {self.lines.centers[i]:.3f} nm"
                                                for name, i in self.index.items())

    @staticmethod
    def _orient(run, angle) -> float:
        """Turn the analyzer to ``angle``: a polarizer at θ ± 180° is the same as at θ, so
        the stage goes to the equivalent position in [−10°, 170°) (inside the travel of any
        rotation stage). Returns the angle read back, on the same turn as ``angle``."""
        stage = run.role("RotationStage")
        position = (angle + 10.0) % 180.0 - 10.0
        stage.move_to(position)
        return stage.angle + (angle - position)

    def measure(self, run, step):
        if self.announce:                # the run file takes events once setup is over
            run.event("lines", self.announce, lines=self.lines.describe())
            self.announce = ""
        angle = self._orient(run, step.values["angle"])
        pumped = self.set_fluence(run, self.fluence)
        kind = step.values["orthogonal"]
        counts, t, saturated = self.acquire(run, (SURVEY_AVERAGES if kind else 1) * self.averages)
        wl = run.axes["wavelength"][0]
        areas, errors = linefit.areas(wl, counts, self.lines)
        total = spectra.integrate(wl, counts)
        row = {"angle": step.values["angle"], "angle_measured": angle,
               "fluence": pumped["fluence"], "pulse_energy": pumped["pulse_energy"],
               "power": pumped["power"], "integration_time": t, "saturated": float(saturated),
               "intensity_background": total - float(np.sum(areas)),
               "orthogonal": float(kind), "spectrum": counts.astype(np.float32)}
        for name, i in self.index.items():
            row |= {f"intensity_{name}": areas[i], f"error_{name}": errors[i],
                    f"center_{name}": self.lines.centers[i]}
        if kind:
            self.orthogonal[kind] = (counts, areas)
            if len(self.orthogonal) == len(ORTHOGONAL):
                row |= self._splitting(wl)
        return row

    def _splitting(self, wl) -> dict:
        """E_upper − E_lower from one fit of every line to the two spectra along the
        dipoles (each sublevel at its brightest there, the other at its weakest)."""
        spectra_ = [self.orthogonal[k][0] for k in sorted(self.orthogonal)]
        guesses = list(zip(self.lines.centers, self.lines.fwhms))
        lines, _, _ = linefit.fit(wl, spectra_, guesses, self.lines.window)
        up, low = self.index["upper"], self.index["lower"]
        energy = [HC_EV_NM / lines.centers[i] for i in (up, low)]
        error = [HC_EV_NM * lines.center_errors[i] / lines.centers[i] ** 2 for i in (up, low)]
        return {"splitting": 1e3 * (energy[0] - energy[1]), "splitting_error": 1e3 * math.hypot(*error)}

    def teardown(self, run):
        super().teardown(run)
        run.bench.set_analyzer(False)

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars):
        out = {"lines": {}, "points": int(len(scalars))}
        angle = scalars["angle_measured"].to_numpy() if len(scalars) else np.array([])
        for name in COMPONENTS:
            column = f"intensity_{name}"
            if column not in scalars:
                continue
            intensity = scalars[column].to_numpy()
            ok = np.isfinite(intensity) & np.isfinite(angle)
            if ok.sum() < 4:
                continue
            fit = polarization.malus(angle[ok], intensity[ok])
            entry = {k: fit[k] for k in ("i_min", "i_max", "theta0", "dolp")}
            entry |= {f"{k}_error": fit.error(k) for k in ("i_min", "i_max", "theta0", "dolp")}
            center = scalars.get(f"center_{name}")
            if center is not None and np.isfinite(center.iloc[0]):
                entry["wavelength"] = float(center.iloc[0])
                entry["energy_ev"] = HC_EV_NM / entry["wavelength"]
            out["lines"][name] = entry
        found = scalars["splitting"].dropna() if "splitting" in scalars else []
        if len(found):
            error = scalars["splitting_error"].dropna()
            out["splitting"] = {"value": float(found.iloc[-1]), "unit": "meV",
                                "error": float(error.iloc[-1]) if len(error) else math.nan}
        return out

    @classmethod
    def headline(cls, results):
        lines = results.get("lines", {})
        parts = [f"DOLP {name} {lines[name]['dolp']:.2f}" for name in LINES if name in lines]
        if "splitting" in results:
            parts.append(f"splitting {results['splitting']['value']:.2f} meV")
        return ", ".join(parts)

    @classmethod
    def report(cls, results):
        out = []
        for name, entry in results.get("lines", {}).items():
            where = f" at {entry['wavelength']:.3f} nm" if "wavelength" in entry else ""
            out.append((f"{name}{where}",
                        f"DOLP {entry['dolp']:.3f} ± {entry['dolp_error']:.3f}, θ0 {entry['theta0']:.1f}° "
                        f"± {entry['theta0_error']:.1f}°, I_min {entry['i_min']:.4g}, "
                        f"I_max {entry['i_max']:.4g}"))
        if "splitting" in results:
            s = results["splitting"]
            out.append(("fine-structure splitting", f"{s['value']:.3f} ± {s['error']:.3f} meV"))
        return out

    @classmethod
    def figures(cls, run):
        return {"polarization": polarization_figure(run)}


def polarization_figure(run):
    """Polar plot of every line's intensity against the analyzer angle with its Malus
    fit (each normalized to its fitted maximum), and the spectra along the two dipoles."""
    from labctl.plots import plt

    s, results = run.scalars, run.results.get("lines", {})
    fig = plt.figure(figsize=(12, 5.4), dpi=110)
    polar = fig.add_subplot(1, 2, 1, projection="polar")
    theta = np.radians(s["angle_measured"].to_numpy())
    curve = np.radians(np.linspace(0, 360, 361))
    colors = {"upper": "tab:blue", "lower": "tab:orange", "stimulated": "tab:red", "background": "tab:gray"}
    for name, entry in results.items():
        top = entry["i_min"] + entry["i_max"]
        fit = entry["i_min"] + entry["i_max"] * np.cos(curve - np.radians(entry["theta0"])) ** 2
        where = f" {entry['wavelength']:.2f} nm" if "wavelength" in entry else ""
        label = (f"{name}{where}: DOLP {entry['dolp']:.3f} ± {entry['dolp_error']:.3f}, "
                 f"θ0 {entry['theta0']:.0f}°")
        polar.plot(theta, s[f"intensity_{name}"] / top, "o", ms=3.5, color=colors[name], label=label)
        polar.plot(curve, fit / top, "-", lw=1.2, color=colors[name])
    polar.set_rlim(0, 1.1)
    polar.set_title("intensity / fitted maximum vs analyzer angle (lines: Malus fits)", fontsize=9)
    polar.legend(loc="upper left", bbox_to_anchor=(-0.12, -0.05), fontsize=7.5, ncol=2)

    right = fig.add_subplot(1, 2, 2)
    spectra_ = run.arrays["spectrum"]
    wl, unit = spectra_.axes["wavelength"]
    centers = [results[n]["wavelength"] for n in results if "wavelength" in results[n]]
    zoom = (wl > min(centers) - 1.2) & (wl < max(centers) + 1.2) if centers else slice(None)
    along = {kind: np.flatnonzero(s["orthogonal"].to_numpy() == kind) for kind in (1, 2)}
    shown = [spectra_.values[rows[-1]][zoom] for rows in along.values() if rows.size]
    floor = 0.3 * min((np.median(v) for v in shown), default=1.0)       # below the background
    for kind, name, color in ((1, "lower", "tab:orange"), (2, "upper", "tab:blue")):
        rows = along[kind]
        if rows.size:
            angle = s["angle_measured"].iloc[rows[-1]]
            right.semilogy(wl[zoom], np.clip(spectra_.values[rows[-1]][zoom], floor, None), color=color,
                           lw=1.2, label=f"analyzer {angle % 180:.0f}° (along the {name} sublevel)")
    for name, entry in results.items():
        if "wavelength" in entry:
            right.axvline(entry["wavelength"], color=colors[name], ls=":", lw=1)
    splitting = run.results.get("splitting")
    if splitting:
        right.set_title(f"fine-structure splitting {splitting['value']:.3f} ± {splitting['error']:.3f} meV",
                        fontsize=9)
    right.set_xlabel(f"wavelength ({unit})")
    right.set_ylabel("intensity (counts/s)")
    right.legend(fontsize=8, loc="upper left")
    right.grid(True, which="both", alpha=0.25)
    pump = run.parameters
    fig.suptitle(f"Polarization — {run.sample.get('name', '')}, pump {pump.get('wavelength', 0):g} nm, "
                 f"{pump.get('fluence', 0):g} mJ/cm² ({run.uid[:8]}, {run.status})", fontsize=10)
    fig.tight_layout()
    return fig
