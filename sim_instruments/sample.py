"""The simulated perovskite quantum-dot sample (physics of docs/physics.md).

A ``Sample`` is described by a YAML file (or a named preset in ``presets/``) whose
values carry units. Given what reaches it -- the pump pulses (wavelength, fluence, pulse
width, repetition rate, beam geometry) and its environment (temperature, bias, analyzer)
-- it returns its emission as a spectral density in photons per pulse per nm, which the
detector twins turn into counts with their own noise and saturation.

Emission per pulse is a sum of bands:

* exciton (X) spontaneous band, amplitude ∝ P(N ≥ 1) = 1 − e^−⟨N⟩, times QY(T);
* biexciton (XX) band red-shifted by Δ_XX, ∝ P(N ≥ 2) = 1 − e^−⟨N⟩(1 + ⟨N⟩);
* stimulated band (ASE or lasing modes) following the laser rate-equation S-curve
  u² − (N − N_th)u − β N_th N = 0 (in units of ⟨N⟩): slope β below threshold, 1 above.

⟨N⟩ = σ(λp)·j with j the photon fluence. The threshold is given as a fluence at the
reference pump wavelength and converted to ⟨N_th⟩ through σ, so that it moves with the
pump wavelength, temperature and charging the way the papers describe.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import yaml
from scipy import optimize

from labctl import units
from labctl.analysis.models import s_curve
from labctl.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"
HC_EV_NM = 1239.84193          # h·c in eV·nm
EV_J = 1.602176634e-19         # J per eV
K_B_EV = 8.617333262e-5        # Boltzmann constant in eV/K
URBACH_EV = 0.025              # absorption-tail width
FWHM_TO_SIGMA = 1 / (2 * math.sqrt(2 * math.log(2)))

#: Schema of a sample file: section -> key -> (unit, default). ``None`` means required.
SCHEMA = {
    "": {"name": ("", None), "title": ("", ""), "source": ("", ""),
         "reference_pump": ("nm", 400.0), "cross_section": ("cm^2", None),
         "absorption_edge": ("nm", None), "brightness": ("", 4.0e5),
         "fluctuation": ("", 0.02), "temperature": ("K", 295.0)},
    "exciton": {"center": ("nm", None), "fwhm": ("nm", None)},
    "biexciton": {"binding_energy": ("meV", 50.0), "fwhm": ("nm", 25.0), "strength": ("", 0.0)},
    "stimulated": {"center": ("nm", None), "fwhm": ("nm", None), "threshold": ("uJ/cm^2", None),
                   "beta": ("", None), "efficiency": ("", 1.0), "modes": ("", 1),
                   "mode_spacing": ("nm", 0.0)},
    "thermal": {"quenching_energy": ("meV", 116.0), "quenching_strength": ("", 0.0),
                "shift": ("meV/K", 0.0), "broadening": ("nm/K", 0.0),
                "characteristic_temperature": ("K", 1.0e9)},
    "dynamics": {"tau_exciton": ("ns", 3.1), "tau_auger": ("ps", 105.0),
                 "tau_stimulated": ("ps", 20.0)},
    "device": {"area": ("mm^2", 0.0), "leakage_resistance": ("ohm", 1.0e12),
               "series_resistance": ("ohm", 50.0), "saturation_current": ("A", 1.0e-12),
               "ideality": ("", 2.0)},
    "degradation": {"retained": ("", 1.0), "after_shots": ("", 1.6e7),
                    "at_fluence": ("uJ/cm^2", 57.0), "damage_fluence": ("uJ/cm^2", 1.0e9),
                    "damage_shots": ("", 2.0e3)},
}


@dataclass(frozen=True)
class Pump:
    """The pump as it reaches the sample: one pulse train."""

    wavelength: float          # nm
    fluence: float             # µJ/cm² per pulse
    pulse_width: float = 100e-15   # s
    rep_rate: float = 1e3          # Hz

    @property
    def photon_energy(self) -> float:
        """hν in J."""
        return HC_EV_NM / self.wavelength * EV_J

    @property
    def photon_fluence(self) -> float:
        """Photons per cm² per pulse."""
        return self.fluence * 1e-6 / self.photon_energy


@dataclass(frozen=True)
class PulseDrive:
    """Electrical square pulses applied to the sample (pulse generator)."""

    amplitude: float               # V
    width: float                   # s
    period: float                  # s


@dataclass(frozen=True)
class Environment:
    """The sample's surroundings, set by the other instruments."""

    temperature: float = 295.0             # K
    bias_voltage: float = 0.0              # V across the sample (source-meter)
    analyzer_angle: float | None = None    # deg, None: no analyzer in the path
    stripe_length: float | None = None     # mm illuminated (knife edge), None: full beam
    drive: PulseDrive | None = None        # pulse generator, None: off


def gaussian(wl, center, fwhm):
    """Unit-area Gaussian band (per nm)."""
    sigma = fwhm * FWHM_TO_SIGMA
    return np.exp(-0.5 * ((wl - center) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


class Sample:
    """A sample's parameters and its emission; ``load`` reads a preset or a YAML file."""

    def __init__(self, data: dict, source: str = "<dict>"):
        self.source = source
        self.p = self._parse(data, source)
        self.name = self.p.name
        self.reset()

    # -- loading ------------------------------------------------------------------
    @classmethod
    def load(cls, preset_or_path) -> "Sample":
        path = Path(preset_or_path)
        if not path.suffix:
            path = PRESETS_DIR / f"{preset_or_path}.yaml"
            if not path.exists():
                raise ConfigError(preset_or_path, None,
                                  f"unknown sample preset (presets: {', '.join(presets())})")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(path, None, "no such sample file") from None
        except yaml.YAMLError as exc:
            raise ConfigError(path, None, f"not valid YAML: {exc}") from None
        return cls(data, str(path))

    @staticmethod
    def _parse(data, source):
        if not isinstance(data, dict):
            raise ConfigError(source, None, "a sample file must be a mapping")
        parsed = {}
        for key in data:
            if key not in SCHEMA and key not in SCHEMA[""]:
                raise ConfigError(source, key, f"unknown key (known: {', '.join(sorted(set(SCHEMA) | set(SCHEMA[''])) - {''})})")
        for section, fields in SCHEMA.items():
            raw = data if section == "" else (data.get(section) or {})
            if not isinstance(raw, dict):
                raise ConfigError(source, section, "must be a mapping")
            for key in raw:
                if key not in fields and section:
                    raise ConfigError(source, f"{section}.{key}", f"unknown key (known: {', '.join(fields)})")
            values = {}
            for key, (unit, default) in fields.items():
                where = f"{section}.{key}" if section else key
                if key not in raw:
                    if default is None:
                        raise ConfigError(source, where, "required")
                    values[key] = default
                elif key in ("name", "title", "source"):
                    values[key] = str(raw[key])
                else:
                    try:
                        values[key] = units.parse(raw[key], unit)
                    except units.UnitError as exc:
                        raise ConfigError(source, where, str(exc)) from None
                    if not math.isfinite(values[key]):
                        raise ConfigError(source, where, f"{raw[key]!r} is not finite")
            parsed[section] = SimpleNamespace(**values)
        p = parsed.pop("")
        for section, namespace in parsed.items():
            setattr(p, section, namespace)
        if not 0 < p.stimulated.beta <= 1:
            raise ConfigError(source, "stimulated.beta", f"must be in (0, 1], got {p.stimulated.beta}")
        if p.cross_section <= 0 or p.stimulated.threshold <= 0:
            raise ConfigError(source, "cross_section/stimulated.threshold", "must be positive")
        return p

    def describe(self) -> dict:
        """Parameters as plain data (stored with every run made on the simulated bench)."""
        return {k: (vars(v) if isinstance(v, SimpleNamespace) else v) for k, v in vars(self.p).items()}

    # -- state --------------------------------------------------------------------
    def reset(self) -> None:
        """A fresh spot on the sample: no dose, no damage."""
        self.dose = 0.0          # shots weighted by (F/F_ref)²
        self.damage_shots = 0.0  # shots above the damage fluence
        self.shots = 0.0

    def expose(self, pump: Pump, seconds: float) -> None:
        """Account for ``seconds`` of pumping (photodegradation and damage)."""
        shots = pump.rep_rate * seconds
        d = self.p.degradation
        self.shots += shots
        self.dose += shots * (pump.fluence / d.at_fluence) ** 2
        if pump.fluence > d.damage_fluence:
            self.damage_shots += shots

    @property
    def retained(self) -> float:
        """Fraction of the fresh output the sample still gives."""
        d = self.p.degradation
        rate = -math.log(d.retained) / d.after_shots
        return math.exp(-rate * self.dose - self.damage_shots / d.damage_shots)

    # -- physics ------------------------------------------------------------------
    def cross_section(self, wavelength: float) -> float:
        """Absorption cross-section σ(λ) in cm²: ∝ √(hν − E_edge) above the absorption
        edge with a 25 meV Urbach tail below it, equal to the given σ at the reference pump."""
        def shape(wl):
            excess = HC_EV_NM / wl - HC_EV_NM / self.p.absorption_edge
            return math.sqrt(URBACH_EV * np.logaddexp(0.0, excess / URBACH_EV))
        return self.p.cross_section * shape(wavelength) / shape(self.p.reference_pump)

    def occupancy(self, pump: Pump) -> float:
        """⟨N⟩ = σ(λp)·j."""
        return self.cross_section(pump.wavelength) * pump.photon_fluence

    def threshold_occupancy(self, env: Environment) -> float:
        """⟨N_th⟩ at the sample's temperature."""
        p = self.p
        reference = Pump(p.reference_pump, p.stimulated.threshold)
        n_th = self.cross_section(p.reference_pump) * reference.photon_fluence
        return n_th * math.exp((env.temperature - p.temperature) / p.thermal.characteristic_temperature)

    def threshold_fluence(self, pump_wavelength: float, env: Environment) -> float:
        """The true threshold in µJ/cm² for a pump wavelength (what analysis should find)."""
        n_th = self.threshold_occupancy(env)
        one = Pump(pump_wavelength, 1.0)
        return n_th / (self.cross_section(pump_wavelength) * one.photon_fluence)

    def quantum_yield(self, temperature: float) -> float:
        th = self.p.thermal
        return 1 / (1 + th.quenching_strength * math.exp(-th.quenching_energy * 1e-3 / (K_B_EV * temperature)))

    def exciton_band(self, env: Environment, resolution: float):
        """Centre and FWHM (nm) of the X band at the sample's temperature."""
        x, th = self.p.exciton, self.p.thermal
        energy = HC_EV_NM / x.center + th.shift * 1e-3 * (env.temperature - self.p.temperature)
        fwhm = max(x.fwhm + th.broadening * (env.temperature - self.p.temperature), 1.0)
        return HC_EV_NM / energy, math.hypot(fwhm, resolution)

    def emission(self, wl, pump: Pump, env: Environment, resolution: float = 0.0,
                 rng=None, pulses: float = 1.0):
        """Spectral density (photons per pulse per nm) on the wavelength grid ``wl``.

        ``resolution`` is the spectrometer's instrumental FWHM; ``rng`` and ``pulses``
        add the shot-to-shot fluctuation of stimulated emission averaged over ``pulses``.
        """
        p = self.p
        n = self.occupancy(pump)
        scale = p.brightness * self.retained * self.quantum_yield(env.temperature)
        x_center, x_fwhm = self.exciton_band(env, resolution)
        spectrum = -math.expm1(-n) * gaussian(wl, x_center, x_fwhm)
        if p.biexciton.strength > 0:
            xx_center = HC_EV_NM / (HC_EV_NM / x_center - p.biexciton.binding_energy * 1e-3)
            p2 = -math.expm1(-n) - n * math.exp(-n)
            spectrum = spectrum + p.biexciton.strength * p2 * gaussian(
                wl, xx_center, math.hypot(p.biexciton.fwhm, resolution))
        st = p.stimulated
        u = float(s_curve(n, self.threshold_occupancy(env), st.beta)) * st.efficiency
        if rng is not None and p.fluctuation > 0:
            u *= max(0.0, 1 + p.fluctuation / math.sqrt(max(pulses, 1.0)) * rng.standard_normal())
        modes = int(st.modes)
        offsets = (np.arange(modes) - (modes - 1) / 2) * st.mode_spacing
        band = sum(gaussian(wl, st.center + dx, math.hypot(st.fwhm, resolution)) for dx in offsets) / modes
        return scale * (spectrum + u * band)


    def dynamics(self, t, wl, pump: Pump, env: Environment, resolution: float = 0.0):
        """Time-resolved emission after one pulse at t = 0: photons per pulse per nm per
        second, shape (len(t), len(wl)). The exciton band decays with τ_X, with an Auger
        (multi-exciton) component of lifetime τ_A that grows with ⟨N⟩; the stimulated
        band lives only for τ_stimulated. Integrated over t it equals ``emission``."""
        p, d = self.p, self.p.dynamics
        t = np.clip(np.asarray(t, float)[:, None], 0.0, None)
        n = self.occupancy(pump)
        tau_x, tau_a, tau_se = d.tau_exciton * 1e-9, d.tau_auger * 1e-12, d.tau_stimulated * 1e-12
        multi = (-math.expm1(-n) - n * math.exp(-n)) / max(-math.expm1(-n), 1e-300)  # P(N>=2)/P(N>=1)
        x_shape = (1 - multi) * np.exp(-t / tau_x) / tau_x + multi * np.exp(-t / tau_a) / tau_a
        scale = p.brightness * self.retained * self.quantum_yield(env.temperature)
        x_center, x_fwhm = self.exciton_band(env, resolution)
        spont = -math.expm1(-n) * gaussian(wl, x_center, x_fwhm)[None, :] * x_shape
        st = p.stimulated
        u = float(s_curve(n, self.threshold_occupancy(env), st.beta)) * st.efficiency
        se = u * gaussian(wl, st.center, math.hypot(st.fwhm, resolution))[None, :] \
            * np.exp(-t / tau_se) / tau_se
        return scale * (spont + se)

    def current(self, voltage: float, env: Environment) -> float:
        """Current (A) through the sample between its electrodes at ``voltage`` V: a diode
        with series resistance and a parallel leakage (a bare film only leaks)."""
        dev = self.p.device
        leak = voltage / dev.leakage_resistance
        if dev.area <= 0 or voltage <= 0:
            return leak
        vt = K_B_EV * env.temperature * dev.ideality

        def mismatch(i):
            return dev.saturation_current * math.expm1((voltage - i * dev.series_resistance) / vt) - i
        high = voltage / dev.series_resistance
        return leak + float(optimize.brentq(mismatch, 0.0, high)) if mismatch(high) < 0 else leak + high


def presets() -> list[str]:
    return sorted(path.stem for path in PRESETS_DIR.glob("*.yaml"))
