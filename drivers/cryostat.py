"""What every cryostat temperature controller driver shares: waiting for the temperature
to settle, polled through ``drivers.base.poll`` so that it runs on the simulated clock."""

import math

from .base import DeviceError, poll


class Settling:
    """``wait_until_stable`` for a ``TemperatureController`` driver.

    The driver provides ``temperature``, ``temperature_setpoint``, ``heater_output`` and,
    if its setpoint can ramp, ``setpoint_ramping`` (stability is only judged once the
    ramp has reached its target).
    """

    @property
    def setpoint_ramping(self) -> bool:
        """Whether the setpoint is still ramping towards its target."""
        return False

    def wait_until_stable(self, tolerance: float, duration: float, timeout: float,
                          interval: float = 1.0) -> None:
        """Block until the temperature stays within ±``tolerance`` K of the setpoint for
        ``duration`` s (polling every ``interval`` s); raise ``DeviceError`` after
        ``timeout`` s."""
        if tolerance <= 0 or duration < 0 or timeout <= 0 or interval <= 0:
            raise ValueError(f"tolerance ({tolerance:g} K), timeout ({timeout:g} s) and "
                             f"interval ({interval:g} s) must be positive, duration "
                             f"({duration:g} s) not negative")
        elapsed, stable_for = -interval, None

        def settled() -> bool:
            nonlocal elapsed, stable_for
            elapsed += interval
            temperature, setpoint = self.temperature, self.temperature_setpoint
            if abs(temperature - setpoint) <= tolerance and not self.setpoint_ramping:
                stable_for = 0.0 if stable_for is None else stable_for + interval
                if stable_for >= duration:
                    return True
            else:
                stable_for = None
            if elapsed >= timeout:
                raise DeviceError(self._not_settled(tolerance, duration, timeout,
                                                    temperature, setpoint))
            return False

        poll(self, settled, math.inf, interval, what="temperature settling")

    def _not_settled(self, tolerance, duration, timeout, temperature, setpoint) -> str:
        heater = self.heater_output
        hint = ""
        if heater >= 99.5:
            hint = " (heater at full output: the setpoint is out of reach in this heater range)"
        elif heater <= 0.0 and temperature < setpoint - tolerance:
            hint = " (the heater is off)"
        return (f"temperature did not settle within {timeout:g} s: it did not stay within "
                f"±{tolerance:g} K of {setpoint:g} K for {duration:g} s; last reading "
                f"{temperature:.3f} K, heater at {heater:.0f} %{hint}")
