"""The sample stage of a closed-cycle cryostat and the control loops of its temperature
controller: the physics shared by the Lake Shore 335/336 and Mercury iTC twins.

The sample sits on a copper stage linked to the cold plate of a cryocooler that is always
running, so the cold plate stays at its base temperature ``T_base`` (~3.5 K)::

    C dT/dt = P − G (T − T_base)

with a constant heat capacity ``C`` and link conductance ``G`` (the stage alone relaxes
with C/G ~ 10 min: a cool-down from room temperature takes about an hour). The heater
power ``P`` comes from the controller's loops:

* closed loop: a well-tuned PID, modelled by the power that makes the stage follow its
  (possibly ramping) setpoint S as a first-order lag of time constant ``τ`` (tens of
  seconds), ``P = C (S − T)/τ + G (T − T_base)``, limited to 0 … the power of the heater
  range -- an exponential, overshoot-free approach, no integrator wind-up. When the heater
  saturates the stage moves at the rate its full power (or the cold plate) allows, and a
  setpoint beyond ``T_base + P_max/G`` is never reached;
* open loop: a fixed fraction of the range's power;
* heater off (range 0, output off, loop disabled) or no valid control sensor: no power,
  the stage relaxes to the cold plate's base temperature.

Everything evolves with the simulated clock (``advance()`` integrates up to ``clock.now()``
in steps of at most one second, exactly for a constant power), not with the queries.
"""

import math

from .twin import Twin

STEP = 1.0        # s, longest integration step
RESOLUTION = 1e-3  # K, setpoint steps below this are not ramped (the replies' resolution)


class Loop:
    """One control loop: its setpoint ramp, mode and heater power.

    ``sensor`` is where the control input is: ``"stage"`` (on the sample stage),
    ``"plate"`` (on the cold plate) or None (no input). ``max_power`` is the power of the
    present heater range in W (0 when the range is off or no heater is wired).
    """

    def __init__(self, setpoint: float):
        self.target = self.setpoint = float(setpoint)
        self.ramp_enabled = False
        self.rate = 0.0             # K/min
        self.mode = "closed"        # "closed", "open" or "off"
        self.sensor = "stage"
        self.max_power = 0.0        # W
        self.manual = 0.0           # open-loop output, fraction of max_power
        self.power = 0.0            # W delivered now

    @property
    def ramping(self) -> bool:
        """Whether the setpoint is still moving towards its target."""
        return self.setpoint != self.target

    @property
    def output(self) -> float:
        """Heater power as a fraction of the present range's power."""
        return self.power / self.max_power if self.max_power > 0 else 0.0

    def set_target(self, kelvin: float) -> None:
        """New setpoint: ramp to it from the present setpoint, or jump."""
        self.target = float(kelvin)
        if not self._ramps() or abs(self.target - self.setpoint) < RESOLUTION:
            self.setpoint = self.target

    def set_ramp(self, enabled: bool, rate: float) -> None:
        """Ramp settings (K/min); switching the ramp off ends a ramp at its target."""
        self.ramp_enabled, self.rate = bool(enabled), float(rate)
        if not self._ramps():
            self.setpoint = self.target

    def _ramps(self) -> bool:
        return self.ramp_enabled and self.rate > 0

    def move_setpoint(self, dt: float) -> None:
        if self.ramping:
            step = self.rate / 60.0 * dt
            gap = self.target - self.setpoint
            if abs(gap) < step + RESOLUTION:
                self.setpoint = self.target
            else:
                self.setpoint += math.copysign(step, gap)


class Stage:
    """The sample stage, its sensor and every loop of the controller (only loops with a
    heater wired to the stage have ``max_power`` > 0)."""

    def __init__(self, clock, *, base=3.5, temperature=295.0, conductance=0.15,
                 heat_capacity=90.0, time_constant=30.0):
        if time_constant < 2 * STEP:
            raise ValueError(f"loop time constant {time_constant:g} s is shorter than "
                             f"{2 * STEP:g} s")
        self.clock = clock
        self.base = float(base)
        self.temperature = float(temperature)
        self.conductance = float(conductance)
        self.heat_capacity = float(heat_capacity)
        self.time_constant = float(time_constant)
        self.sensor_ok = True
        self.loops: list[Loop] = []
        self._t = clock.now()

    def reading(self, sensor) -> float | None:
        """True temperature at a sensor location (None: no valid reading)."""
        if sensor == "stage":
            return self.temperature if self.sensor_ok else None
        if sensor == "plate":
            return self.base
        return None

    def advance(self) -> None:
        """Evolve setpoints, heater powers and temperature up to the clock's now."""
        now = self.clock.now()
        while self._t < now:
            dt = min(STEP, now - self._t)
            for loop in self.loops:
                loop.move_setpoint(dt)
                loop.power = self._demand(loop)
            power = sum(loop.power for loop in self.loops)
            equilibrium = self.base + power / self.conductance
            decay = math.exp(-dt * self.conductance / self.heat_capacity)
            self.temperature = equilibrium + (self.temperature - equilibrium) * decay
            self._t += dt
        for loop in self.loops:        # what the heaters deliver from now on
            loop.power = self._demand(loop)

    def _demand(self, loop: Loop) -> float:
        if loop.mode == "off" or loop.max_power <= 0:
            return 0.0
        if loop.mode == "open":
            return loop.manual * loop.max_power
        control = self.reading(loop.sensor)
        if control is None:            # the controller switches the heater off
            return 0.0
        if loop.sensor == "stage":
            t = self.temperature
            need = (self.heat_capacity * (loop.setpoint - t) / self.time_constant
                    + self.conductance * (t - self.base))
        else:                          # a sensor the heater cannot warm: saturates
            need = loop.max_power if loop.setpoint > control else 0.0
        return min(max(need, 0.0), loop.max_power)


class CryostatTwin(Twin):
    """Base of the temperature-controller twins: the stage, noisy sensor readings and the
    part the optics read (``sample_temperature``).

    Options: ``base_temperature`` (K, cold plate, 3.5), ``initial_temperature`` (K, 295:
    the cryostat was just switched on), ``conductance`` (W/K, stage to cold plate, 0.15),
    ``heat_capacity`` (J/K, 90), ``time_constant`` (s, closed-loop approach, 30), ``noise``
    (K rms of a reading, 0.002), ``setpoint`` (K, default the initial temperature),
    ``ramp_rate`` (K/min, 0: no ramp) and ``regulating`` (true: the heater regulates at the
    setpoint from the start; default false: the heater is off, as after power-up, and the
    stage cools to base).
    """

    def attach(self, name, device):
        super().attach(name, device)
        o = self.options
        self.stage = Stage(self.clock, base=float(o.get("base_temperature", 3.5)),
                           temperature=float(o.get("initial_temperature", 295.0)),
                           conductance=float(o.get("conductance", 0.15)),
                           heat_capacity=float(o.get("heat_capacity", 90.0)),
                           time_constant=float(o.get("time_constant", 30.0)))
        self.noise = float(o.get("noise", 0.002))

    @property
    def initial_setpoint(self) -> float:
        return float(self.options.get("setpoint", self.stage.temperature))

    @property
    def heater_loop(self) -> Loop:
        """The loop whose heater warms the stage."""
        raise NotImplementedError

    def sample_temperature(self) -> float:
        """True temperature of the sample (no sensor noise), K."""
        self.stage.advance()
        return self.stage.temperature

    def measured(self, sensor) -> float | None:
        """What a sensor reads now (None: no valid reading)."""
        self.stage.advance()
        value = self.stage.reading(sensor)
        return None if value is None else value + self.noise * self.rng.standard_normal()

    def settle_at(self, kelvin: float) -> None:
        """The stage was brought to ``kelvin`` and regulates there (a sample mounted on a
        cryostat that was cooled or warmed beforehand)."""
        self.stage.advance()
        self.stage.temperature = float(kelvin)
        loop = self.heater_loop
        loop.target = loop.setpoint = float(kelvin)

    def break_sensor(self) -> None:
        """The stage sensor's leads come off (fault injection for tests)."""
        self.stage.advance()
        self.stage.sensor_ok = False

    def safe_state_reached(self) -> bool:
        """Holding: the setpoint stands still and no open-loop output drives the heater."""
        self.stage.advance()
        return self.heater_loop.mode != "open" and not self.heater_loop.ramping
