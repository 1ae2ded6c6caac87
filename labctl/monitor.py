"""Live readings of idle instruments, polled in a background thread.

Front ends show instrument readings without doing instrument I/O themselves: the
monitor reads the roles that no run holds, through the same role views as everything
else, and hands the readings to its subscribers. An instrument in use by a run is
skipped (its values arrive on the run's record stream).
"""

import logging
import threading

from drivers.roles import ROLES

from .bench import MANUAL

log = logging.getLogger(__name__)

#: What to read per role: (label, function of the role view, unit of the value).
READINGS = {
    "PumpLaser": [("shutter", lambda r: "open" if r.shutter_open else "closed", ""),
                  ("interlock", lambda r: "closed" if r.interlock_ok else "OPEN", ""),
                  ("wavelength", lambda r: r.wavelength, "nm")],
    "Shutter": [("shutter", lambda r: "open" if r.is_open else "closed", "")],
    "Attenuator": [("transmission", lambda r: r.transmission, "")],
    "PowerMeter": [("pulse energy", lambda r: r.pulse_energy(1000.0) * 1e6, "uJ")],
    "Spectrometer": [("integration", lambda r: r.integration_time, "s")],
    "SourceMeter": [("output", lambda r: "on" if r.output_enabled else "off", ""),
                    ("voltage", lambda r: r.measure()[0] if r.output_enabled else 0.0, "V"),
                    ("current", lambda r: r.measure()[1] if r.output_enabled else 0.0, "A")],
    "PulseGenerator": [("output", lambda r: "on" if r.output_enabled else "off", "")],
    "TemperatureController": [("temperature", lambda r: r.temperature, "K"),
                              ("setpoint", lambda r: r.temperature_setpoint, "K"),
                              ("heater", lambda r: r.heater_output, "%")],
    "RotationStage": [("angle", lambda r: r.angle, "deg")],
    "LinearStage": [("position", lambda r: r.position, "mm")],
}


def readings_for(driver) -> list:
    """The READINGS entries that apply to a driver (by the roles it fulfils)."""
    return [entry for role, entries in READINGS.items()
            if isinstance(driver, ROLES[role]) for entry in entries]


class Monitor:
    """Polls idle instruments every ``interval`` s; subscribers get
    ``{slot: {label: (value, unit) or (error text, "")}}``."""

    def __init__(self, bench, interval: float = 1.0):
        self.bench, self.interval = bench, interval
        self.subscribers = []
        self._stop = threading.Event()
        self._thread = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="labctl-monitor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def poll(self) -> dict:
        """Read every idle instrument once."""
        values = {}
        for slot, driver in self.bench.drivers.items():
            if self.bench.claimed_by(slot) is not None:
                continue
            role = self.bench.config.instruments[slot].role
            beam = slot.partition(".")[2]
            view = self.bench.role(role, beam, owner=MANUAL)
            entry = {}
            for label, read, unit in readings_for(driver):
                try:
                    entry[label] = (read(view), unit)
                except Exception as exc:          # show it, keep polling the others
                    entry[label] = (f"error: {exc}", "")
            values[slot] = entry
        return values

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                values = self.poll()
            except Exception:
                log.exception("instrument monitor failed")
                continue
            for callback in list(self.subscribers):
                callback(values)
