"""The simulated perovskite quantum-dot sample (physics of docs/physics.md).

A ``Sample`` is described by a YAML file (or a named preset in ``presets/``) whose
values carry units. Given what reaches it -- pump pulses (wavelength, fluence, pulse
width, repetition rate), electrical drive -- and its environment (temperature, bias,
analyzer angle, knife-edge stripe length), it returns its emission as a spectral density
(photons per pulse per nm, or per second for electroluminescence), its time-resolved
emission after a pulse, and its current-voltage characteristic. The detector twins turn
these into counts with their own noise and saturation.

Emission per pulse is a sum of bands:

* exciton (X) spontaneous band ∝ P(N ≥ 1) = 1 − e^−⟨N⟩, times QY(T); optionally split
  into fine-structure lines with orthogonal linear dipoles (``polarization``);
* biexciton (XX) band red-shifted by Δ_XX, ∝ P(N ≥ 2), dissociating thermally;
* stimulated emission on the rate-equation S-curve u² − (N − N_th)u − β N_th N = 0 (in
  units of ⟨N⟩): slope β below threshold, 1 above. Either ASE -- the unamplified part β·N
  is spontaneous emission coupled into the amplified direction and keeps the exciton's
  lines, polarization and decay; what the gain adds (u − β·N) takes the Gaussian ASE band,
  its polarization and lifetime -- or (with a ``mode_spacing``) evenly spaced cavity
  modes, Lorentzian lines of FWHM λ/Q, that take all of u.

⟨N⟩ = σ(λp)·j with j the photon fluence. The threshold is given as a fluence at the
reference pump and converted to ⟨N_th⟩ through σ; it then moves with temperature (a
characteristic temperature) and charging (bias). The modifiers of each experiment:

* ``vsl``: with a knife edge leaving a stripe of length L, spontaneous emission (the ASE
  seed β·N included) scales with L and what gain adds as (e^{gL} − 1)/g with gain
  saturation, the net modal gain g rising with fluence through g_ref at F_ref;
* ``polarization``: through an analyzer at θ each component transmits
  (1 − p)/2 + p·cos²(θ − θ0) (Malus's law for partial polarization p);
* ``resonance``: pumping near a resonance raises σ, boosts stimulated emission, shifts
  it red and polarizes the emission more;
* ``charging``: a bias charges the dots within a response time: the gain threshold falls
  (charged-exciton gain), spontaneous emission dims, decays speed up; above the breakdown
  voltage the device is destroyed;
* ``electroluminescence``: a diode driven with current density J emits EQE(J)·J photons
  with roll-off, plus stimulated EL on an S-curve in J; Joule heating
  ΔT(t) = R_th·I·V·(1 − e^{−t/τ_T}), averaged over the pulse, red-shifts the EL and raises
  the threshold, and destroys a device driven in d.c. above its failure temperature. Pulses
  drive the device through the current-sense resistor in series with it
  (``device.sense_resistance``, the oscilloscope's), so the EL follows the current the
  oscilloscope measures.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import yaml
from scipy import optimize

from labctl import units
from labctl.analysis.models import s_curve, voigt
from labctl.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"
HC_EV_NM = 1239.84193          # h·c in eV·nm
EV_J = 1.602176634e-19         # J per eV
K_B_EV = 8.617333262e-5        # Boltzmann constant in eV/K
URBACH_EV = 0.025              # absorption-tail width
FWHM_TO_SIGMA = 1 / (2 * math.sqrt(2 * math.log(2)))
AUGER_EMISSION = 0.15          # emitted fraction of the extra excitons before Auger
                               # recombination (≈ 4·τ_A/τ_rad: a biexciton radiates 4× faster)

#: Schema of a sample file: section -> key -> (unit, default). ``None`` means required.
SCHEMA = {
    "": {"name": ("", None), "title": ("", ""), "source": ("", ""),
         "reference_pump": ("nm", 400.0), "cross_section": ("cm^2", None),
         "absorption_edge": ("nm", None), "brightness": ("", 4.0e5),
         "fluctuation": ("", 0.02), "temperature": ("K", 295.0)},
    "exciton": {"center": ("nm", None), "fwhm": ("nm", None)},
    "biexciton": {"binding_energy": ("meV", 50.0), "fwhm": ("nm", 25.0), "strength": ("", 0.0),
                  "dissociation": ("", 200.0)},
    "stimulated": {"center": ("nm", None), "fwhm": ("nm", None), "threshold": ("uJ/cm^2", None),
                   "beta": ("", None), "efficiency": ("", 1.0), "modes": ("", 1),
                   "mode_spacing": ("nm", 0.0)},
    "thermal": {"quenching_energy": ("meV", 116.0), "quenching_strength": ("", 0.0),
                "shift": ("meV/K", 0.0), "broadening": ("nm/K", 0.0),
                "characteristic_temperature": ("K", 1.0e9)},
    "dynamics": {"tau_exciton": ("ns", 3.1), "tau_auger": ("ps", 105.0),
                 "tau_stimulated": ("ps", 20.0)},
    "vsl": {"gain": ("1/cm", 0.0), "at_fluence": ("uJ/cm^2", 57.0), "saturation": ("cm", 200.0),
            "loss": ("1/cm", 10.0)},
    "polarization": {"dolp": ("", 0.0), "angle": ("deg", 0.0), "splitting": ("meV", 0.0),
                     "line_fwhm": ("meV", 1.0), "stimulated_dolp": ("", 0.0),
                     "background": ("", 0.0), "background_fwhm": ("nm", 10.0),
                     "background_dolp": ("", 0.0), "off_resonance_dolp": ("", 1.0)},
    "resonance": {"wavelength": ("nm", 0.0), "width": ("nm", 2.0), "absorption": ("", 1.0),
                  "gain": ("", 1.0), "red_shift": ("nm", 0.0)},
    "charging": {"saturation_voltage": ("V", 0.0), "threshold_ratio": ("", 1.0),
                 "brightness_ratio": ("", 1.0), "lifetime_ratio": ("", 1.0),
                 "stimulated_lifetime": ("ps", 0.0), "response_time": ("ms", 30.0),
                 "breakdown_voltage": ("V", 1.0e9), "insulating": ("", 0.0)},
    "device": {"area": ("mm^2", 0.0), "leakage_resistance": ("ohm", 1.0e12),
               "series_resistance": ("ohm", 50.0), "saturation_current": ("A", 1.0e-12),
               "ideality": ("", 2.0), "sense_resistance": ("ohm", 0.0)},
    "electroluminescence": {"eqe": ("", 0.0), "roll_off": ("A/cm^2", 1.0e9),
                            "threshold": ("A/cm^2", 1.0e9), "beta": ("", 0.01),
                            "fwhm": ("meV", 82.0), "stimulated_fwhm": ("meV", 40.0),
                            "stimulated_efficiency": ("", 1.0),
                            "thermal_resistance": ("K/W", 0.0), "thermal_time": ("us", 3.9),
                            "shift": ("meV/K", 0.0), "failure_temperature": ("K", 1.0e9)},
    "degradation": {"retained": ("", 1.0), "after_shots": ("", 1.6e7),
                    "at_fluence": ("uJ/cm^2", 57.0), "damage_fluence": ("uJ/cm^2", 1.0e9),
                    "damage_shots": ("", 2.0e3)},
}
TEXT = {"name", "title", "source"}


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


_BANDS: dict = {}       # (id(axis), center, fwhm) -> (axis, band)
_BANDS_KEPT = 64


def gaussian(wl, center, fwhm):
    """Unit-area Gaussian band (per nm). On a read-only axis (a detector's wavelength
    axis, which cannot change) the band is kept, read-only too: a sweep asks for the same
    few bands at every spectrum."""
    kept = isinstance(wl, np.ndarray) and not wl.flags.writeable
    if kept:
        key = (id(wl), center, fwhm)
        found = _BANDS.get(key)
        if found is not None and found[0] is wl:
            return found[1]
    sigma = fwhm * FWHM_TO_SIGMA
    band = np.exp(-0.5 * ((wl - center) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    if kept:
        if len(_BANDS) >= _BANDS_KEPT:
            _BANDS.pop(next(iter(_BANDS)))
        band.flags.writeable = False
        _BANDS[key] = (wl, band)
    return band


def lorentzian(x, center, fwhm):
    """Peak-normalized Lorentzian (1 at the centre)."""
    return 1.0 / (1.0 + ((x - center) / (fwhm / 2)) ** 2) if fwhm > 0 else 0.0


def nm_width(center_nm, fwhm_mev):
    """A width in meV converted to nm at ``center_nm``."""
    return center_nm ** 2 * fwhm_mev * 1e-3 / HC_EV_NM


def analyzer(angle, dolp, axis):
    """Transmission of partially polarized light (degree ``dolp`` along ``axis``) through
    a linear polarizer at ``angle`` (None: no analyzer, all light passes)."""
    if angle is None:
        return 1.0
    return (1 - dolp) / 2 + dolp * math.cos(math.radians(angle - axis)) ** 2


class Sample:
    """A sample's parameters, state (dose, charge, damage) and emission."""

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
        known = (set(SCHEMA) | set(SCHEMA[""])) - {""}
        for key in data:
            if key not in known:
                raise ConfigError(source, key, f"unknown key (known: {', '.join(sorted(known))})")
        parsed = {}
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
                elif key in TEXT:
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
        """A fresh spot on the sample: no dose, no damage, uncharged, intact device."""
        self.dose = 0.0          # shots weighted by (F/F_ref)²
        self.damage_shots = 0.0  # shots above the damage fluence
        self.shots = 0.0
        self.charge = 0.0        # fraction of charged dots, 0…1
        self.broken = ""         # why the device is destroyed ("" while intact)

    @property
    def electrical(self) -> bool:
        """Whether the state depends on the electrical environment (charging, heating)."""
        return self.p.charging.saturation_voltage > 0 or self.p.device.area > 0

    def advance(self, pumps, env: Environment | None, seconds: float) -> None:
        """Let ``seconds`` pass: photodegradation and damage from the pumps, charging
        following the bias, breakdown and d.c. overheating of a device."""
        d = self.p.degradation
        for pump in pumps:
            shots = pump.rep_rate * seconds
            self.shots += shots
            self.dose += shots * (pump.fluence / d.at_fluence) ** 2
            if pump.fluence > d.damage_fluence:
                self.damage_shots += shots
        if env is None:
            return
        c = self.p.charging
        if c.saturation_voltage > 0 and not c.insulating:
            target = min(abs(env.bias_voltage) / c.saturation_voltage, 1.0)
            self.charge = target + (self.charge - target) * math.exp(-seconds / (c.response_time * 1e-3))
        if not self.broken and abs(env.bias_voltage) > c.breakdown_voltage:
            self.broken = f"dielectric breakdown at {env.bias_voltage:.1f} V"
        if not self.broken and env.bias_voltage > 0 and self.p.device.area > 0:
            rise = self.heating(env.bias_voltage, math.inf)
            if env.temperature + rise > self.p.electroluminescence.failure_temperature:
                self.broken = f"overheated in d.c. operation ({env.temperature + rise:.0f} K)"

    @property
    def retained(self) -> float:
        """Fraction of the fresh output the sample still gives."""
        d = self.p.degradation
        rate = -math.log(d.retained) / d.after_shots
        return math.exp(-rate * self.dose - self.damage_shots / d.damage_shots)

    # -- absorption and thresholds ------------------------------------------------
    def _continuum(self, wavelength: float) -> float:
        """∝ √(hν − E_edge) above the edge with an Urbach tail below (arbitrary scale)."""
        excess = HC_EV_NM / wavelength - HC_EV_NM / self.p.absorption_edge
        return math.sqrt(URBACH_EV * np.logaddexp(0.0, excess / URBACH_EV))

    def resonance(self, wavelength: float) -> float:
        """How close the pump is to the excitonic resonance (1 on it, 0 far off)."""
        r = self.p.resonance
        return lorentzian(wavelength, r.wavelength, r.width) if r.wavelength > 0 else 0.0

    def cross_section(self, wavelength: float) -> float:
        """Absorption cross-section σ(λ) in cm²: continuum scaled to the given σ at the
        reference pump, plus the resonance raising σ to ``resonance.absorption`` × σ_ref."""
        p = self.p
        continuum = p.cross_section * self._continuum(wavelength) / self._continuum(p.reference_pump)
        if p.resonance.wavelength <= 0:
            return continuum
        at_peak = p.cross_section * self._continuum(p.resonance.wavelength) / self._continuum(p.reference_pump)
        extra = max(p.resonance.absorption * p.cross_section - at_peak, 0.0)
        return continuum + extra * self.resonance(wavelength)

    def occupancy(self, pump: Pump) -> float:
        """⟨N⟩ = σ(λp)·j."""
        return self.cross_section(pump.wavelength) * pump.photon_fluence

    def threshold_occupancy(self, env: Environment) -> float:
        """⟨N_th⟩ at the sample's temperature and charge."""
        p = self.p
        reference = Pump(p.reference_pump, p.stimulated.threshold)
        n_th = self.cross_section(p.reference_pump) * reference.photon_fluence
        charged = 1 - (1 - p.charging.threshold_ratio) * self.charge
        return n_th * charged * math.exp((env.temperature - p.temperature) / p.thermal.characteristic_temperature)

    def threshold_fluence(self, pump_wavelength: float, env: Environment) -> float:
        """The true threshold in µJ/cm² for a pump wavelength (what analysis should find)."""
        one = Pump(pump_wavelength, 1.0)
        return self.threshold_occupancy(env) / (self.cross_section(pump_wavelength) * one.photon_fluence)

    def net_gain(self, fluence: float) -> float:
        """Net modal gain g (cm⁻¹) at a fluence: ∝ ln(F/F_th) through ``vsl.gain`` at
        ``vsl.at_fluence``; never below −``vsl.loss``."""
        v, f_th = self.p.vsl, self.p.stimulated.threshold
        if v.gain <= 0 or fluence <= 0:
            return -v.loss
        return max(v.gain * math.log(fluence / f_th) / math.log(v.at_fluence / f_th), -v.loss)

    def quantum_yield(self, temperature: float) -> float:
        th, c = self.p.thermal, self.p.charging
        qy = 1 / (1 + th.quenching_strength * math.exp(-th.quenching_energy * 1e-3 / (K_B_EV * temperature)))
        return qy * (1 - (1 - c.brightness_ratio) * self.charge)

    def exciton_band(self, env: Environment, resolution: float):
        """Centre and FWHM (nm) of the X band at the sample's temperature."""
        x, th = self.p.exciton, self.p.thermal
        energy = HC_EV_NM / x.center + th.shift * 1e-3 * (env.temperature - self.p.temperature)
        fwhm = max(x.fwhm + th.broadening * (env.temperature - self.p.temperature), 0.05)
        return HC_EV_NM / energy, math.hypot(fwhm, resolution)

    # -- emission -----------------------------------------------------------------
    def _length_factors(self, fluence: float, length: float | None, full: float | None):
        """(spontaneous, stimulated) scale factors when a knife edge leaves ``length`` mm
        of a stripe of ``full`` mm: L/L0 and f(L)/f(L0), f(L) = G/(1 + G/S),
        G = (e^{gL} − 1)/g the amplified spontaneous emission, S its saturation."""
        if length is None or not full or self.p.vsl.gain <= 0:
            return 1.0, 1.0
        g = self.net_gain(fluence)

        def grown(length_mm):
            cm = max(length_mm, 0.0) * 0.1
            amplified = cm if abs(g * cm) < 1e-9 else math.expm1(g * cm) / g
            return amplified / (1 + amplified / self.p.vsl.saturation)
        return length / full, grown(length) / grown(full)

    def emission(self, wl, pump: Pump, env: Environment, resolution: float = 0.0,
                 rng=None, pulses: float = 1.0, full_length: float | None = None):
        """Spectral density (photons per pulse per nm) on the wavelength grid ``wl``.

        ``resolution`` is the spectrometer's instrumental FWHM; ``rng`` and ``pulses``
        add the shot-to-shot fluctuation of stimulated emission averaged over ``pulses``;
        ``full_length`` (mm) is the stripe length with the knife edge open (VSL).
        """
        p = self.p
        n = self.occupancy(pump)
        resonant = self.resonance(pump.wavelength)
        scale = p.brightness * self.retained * self.quantum_yield(env.temperature)
        if self.broken:
            scale *= 0.05                  # a burnt film barely emits
        angle = env.analyzer_angle
        pol = p.polarization
        lines_dolp = pol.dolp * (pol.off_resonance_dolp + (1 - pol.off_resonance_dolp) * resonant)
        x_center, x_fwhm = self.exciton_band(env, resolution)
        p1 = -math.expm1(-n)
        spont_length, stim_length = self._length_factors(pump.fluence, env.stripe_length, full_length)
        x_amplitude = (p1 + AUGER_EMISSION * (n - p1)) * spont_length
        st = p.stimulated
        u = float(s_curve(n, self.threshold_occupancy(env), st.beta))
        seed = self.seed(n)
        collected = st.efficiency * stim_length
        gain = 1 + (p.resonance.gain - 1) * resonant
        if rng is not None and p.fluctuation > 0:
            gain *= max(0.0, 1 + p.fluctuation / math.sqrt(max(pulses, 1.0)) * rng.standard_normal())
        seed_light = st.efficiency * seed * spont_length          # spontaneous light: ∝ L under a knife edge
        spectrum = (x_amplitude + seed_light) * self._exciton_lines(wl, angle, lines_dolp, env, resolution)
        if pol.background > 0:
            spectrum = spectrum + pol.background * x_amplitude * analyzer(angle, pol.background_dolp, pol.angle) \
                * gaussian(wl, x_center, math.hypot(pol.background_fwhm, resolution))
        xx = p.biexciton
        if xx.strength > 0:
            xx_center = HC_EV_NM / (HC_EV_NM / x_center - xx.binding_energy * 1e-3)
            p2 = p1 - n * math.exp(-n)
            bound = 1 / (1 + xx.dissociation * math.exp(-xx.binding_energy * 1e-3 / (K_B_EV * env.temperature)))
            spectrum = spectrum + xx.strength * bound * p2 * spont_length * analyzer(angle, 0.0, 0.0) \
                * gaussian(wl, xx_center, math.hypot(xx.fwhm, resolution))
        center = st.center + p.resonance.red_shift * resonant
        if st.mode_spacing > 0:        # cavity modes: Lorentzian lines seen through the resolution
            modes = int(st.modes)
            offsets = (np.arange(modes) - (modes - 1) / 2) * st.mode_spacing
            band = sum(voigt(wl, center + dx, resolution, st.fwhm) for dx in offsets) / modes
        else:
            band = gaussian(wl, center, math.hypot(st.fwhm, resolution))
        stim_axis = pol.angle + 90 if pol.splitting > 0 else pol.angle
        amplified = collected * gain * (u - seed) * analyzer(angle, pol.stimulated_dolp, stim_axis)
        return scale * (spectrum + amplified * band)

    def seed(self, n: float) -> float:
        """The unamplified part β·⟨N⟩ of ASE (spontaneous emission coupled into the amplified
        direction: spontaneous light in every respect but its amount); 0 in a cavity, whose
        modes take all of the S-curve's output."""
        st = self.p.stimulated
        return 0.0 if st.mode_spacing > 0 else st.beta * n

    def _exciton_lines(self, wl, angle, dolp, env: Environment, resolution: float):
        """The X band per unit emitted area as seen through the analyzer at ``angle``: two
        fine-structure lines with orthogonal dipoles, split symmetrically, or one band."""
        pol = self.p.polarization
        x_center, x_fwhm = self.exciton_band(env, resolution)
        if pol.splitting <= 0:
            return analyzer(angle, dolp, pol.angle) * gaussian(wl, x_center, x_fwhm)
        lines = 0.0
        for sign, axis in ((-1, pol.angle), (1, pol.angle + 90)):
            center = HC_EV_NM / (HC_EV_NM / x_center + sign * pol.splitting * 5e-4)
            width = math.hypot(nm_width(center, pol.line_fwhm), resolution)
            lines = lines + 0.5 * analyzer(angle, dolp, axis) * gaussian(wl, center, width)
        return lines

    def dynamics_terms(self, t, wl, pump: Pump, env: Environment, resolution: float = 0.0):
        """Time-resolved emission after one pulse at t = 0 as a sum of bands that each
        decay in their own way: [(decay (1/s, on ``t``), spectrum (photons per pulse per
        nm, on ``wl``)), ...]; the emission I(t, λ) is Σ decay(t)·spectrum(λ). Every excited dot
        ends with one exciton decaying with τ_X; the extra excitons of multiply excited
        dots recombine by Auger with τ_A (emitting a small fraction); what gain adds to
        the spontaneous seed lives for τ_stimulated. Charging shortens the decays."""
        p, d, c = self.p, self.p.dynamics, self.p.charging
        t = np.clip(np.asarray(t, float), 0.0, None)
        n = self.occupancy(pump)
        p1 = -math.expm1(-n)
        shorten = 1 - (1 - c.lifetime_ratio) * self.charge
        tau_x, tau_a = d.tau_exciton * 1e-9 * shorten, d.tau_auger * 1e-12
        tau_se = d.tau_stimulated * 1e-12
        if c.stimulated_lifetime > 0:
            tau_se += (c.stimulated_lifetime * 1e-12 - tau_se) * self.charge
        scale = p.brightness * self.retained * self.quantum_yield(env.temperature)
        x_center, x_fwhm = self.exciton_band(env, resolution)
        st = p.stimulated
        seed = self.seed(n)
        exciton = p1 + st.efficiency * seed
        shape = exciton * np.exp(-t / tau_x) / tau_x + AUGER_EMISSION * (n - p1) * np.exp(-t / tau_a) / tau_a
        u = float(s_curve(n, self.threshold_occupancy(env), st.beta)) - seed
        return [(shape, scale * gaussian(wl, x_center, x_fwhm)),
                (np.exp(-t / tau_se) / tau_se,
                 scale * st.efficiency * u * gaussian(wl, st.center, math.hypot(st.fwhm, resolution)))]

    # -- electrical ---------------------------------------------------------------
    def current(self, voltage: float, env: Environment) -> float:
        """Current (A) through the sample between its electrodes at ``voltage`` V: a diode
        with series resistance and a parallel leakage (a bare film only leaks; a destroyed
        device is open)."""
        dev = self.p.device
        leak = voltage / dev.leakage_resistance
        if dev.area <= 0 or voltage <= 0 or self.broken:
            return leak
        vt = K_B_EV * env.temperature * dev.ideality

        def mismatch(i):
            return dev.saturation_current * math.expm1(min((voltage - i * dev.series_resistance) / vt, 700)) - i
        high = voltage / dev.series_resistance
        return leak + (float(optimize.brentq(mismatch, 0.0, high)) if mismatch(high) < 0 else high)

    def current_density(self, current: float) -> float:
        """A/cm² through the device area."""
        return current / (self.p.device.area * 1e-2) if self.p.device.area > 0 else 0.0

    def drive_point(self, voltage: float, env: Environment, sense: float = 0.0) -> tuple[float, float]:
        """(voltage across the device V, current A) when ``voltage`` drives it through
        ``sense`` Ω in series."""
        if sense <= 0 or voltage <= 0:
            return voltage, self.current(voltage, env)
        device = optimize.brentq(lambda v: v + sense * self.current(v, env) - voltage, 0.0, voltage,
                                 xtol=1e-12)
        return device, self.current(device, env)

    def heating(self, voltage: float, pulse_width: float, sense: float = 0.0,
                mean: bool = False) -> float:
        """Junction temperature rise (K) driven by ``voltage`` through ``sense`` Ω, for
        pulses of ``pulse_width`` s (``math.inf``: d.c.): ΔT(t) = ΔT∞·(1 − e^{−t/τ_T}),
        ΔT∞ = R_th·I·V_device, at the end of a pulse or (``mean``) averaged over it,
        ΔT∞·[1 − (τ_T/τp)(1 − e^{−τp/τ_T})]."""
        el = self.p.electroluminescence
        if el.thermal_resistance <= 0 or voltage <= 0:
            return 0.0
        device, current = self.drive_point(voltage, Environment(), sense)
        steady = el.thermal_resistance * current * device
        if math.isinf(pulse_width):
            return steady
        x = pulse_width / (el.thermal_time * 1e-6)
        end = -math.expm1(-x)
        return steady * (1 - end / x if mean else end)

    def electroluminescence(self, wl, env: Environment, resolution: float = 0.0, rng=None):
        """Time-averaged EL spectral density (photons per second per nm) under the drive:
        pulses from the pulse generator (env.drive) or a d.c. bias (env.bias_voltage)."""
        el, dev = self.p.electroluminescence, self.p.device
        wl = np.asarray(wl, float)
        if el.eqe <= 0 or dev.area <= 0 or self.broken:
            return np.zeros_like(wl)
        if env.drive is not None:
            voltage, width, duty = env.drive.amplitude, env.drive.width, env.drive.width / env.drive.period
            sense = dev.sense_resistance
        elif env.bias_voltage > 0:
            voltage, width, duty, sense = env.bias_voltage, math.inf, 1.0, 0.0
        else:
            return np.zeros_like(wl)
        current = self.drive_point(voltage, env, sense)[1]
        j = self.current_density(current)
        if j <= 0:
            return np.zeros_like(wl)
        hot = env.temperature + self.heating(voltage, width, sense, mean=True)
        quench = self.quantum_yield(hot) / max(self.quantum_yield(env.temperature), 1e-12)
        rate = el.eqe / (1 + j / el.roll_off) * current / EV_J * quench        # photons/s in the pulse
        center = HC_EV_NM / (HC_EV_NM / self.p.exciton.center + el.shift * 1e-3 * (hot - self.p.temperature))
        spont = gaussian(wl, center, math.hypot(nm_width(center, el.fwhm), resolution))
        j_th = el.threshold * math.exp((hot - self.p.temperature) / self.p.thermal.characteristic_temperature)
        u = float(s_curve(j, j_th, el.beta)) / j * el.stimulated_efficiency
        if rng is not None and self.p.fluctuation > 0:
            u *= max(0.0, 1 + self.p.fluctuation * rng.standard_normal())
        stim = gaussian(wl, center + 0.3 * nm_width(center, el.fwhm),
                        math.hypot(nm_width(center, el.stimulated_fwhm), resolution))
        return duty * rate * (spont + u * stim) * self.retained


def presets() -> list[str]:
    return sorted(path.stem for path in PRESETS_DIR.glob("*.yaml"))
