"""Steps that several procedures share: the pump pulse energy set and checked with the
power meter, and a spectrum whose integration time is shortened while the detector
saturates."""

from dataclasses import dataclass

import numpy as np


def set_pulse_energy(run, target: float, rep_rate: float, readings: int, tolerance: float,
                     approach: float = 1.0) -> float:
    """Set the attenuator of the procedure's beam line so that ``target`` J reach the
    sample, measure with the power meter (``readings`` averaged) and correct the
    attenuator once if the measurement is off by more than ``tolerance`` (relative).
    ``approach`` < 1 sets that fraction of the target first, so that a calibration error
    cannot overshoot. Returns the measured pulse energy in J."""
    attenuator, meter = run.role("Attenuator"), run.role("PowerMeter")
    first = max(approach * target, attenuator.min_pulse_energy) if approach < 1 else target
    attenuator.set_pulse_energy(first)
    measured = meter.pulse_energy(rep_rate, readings)
    if measured > 0 and abs(measured / target - 1) > tolerance:
        corrected = first * target / measured
        if corrected <= attenuator.max_pulse_energy:
            attenuator.set_pulse_energy(corrected)
            measured = meter.pulse_energy(rep_rate, readings)
    return measured


@dataclass
class Exposure:
    """An averaged spectrum and how it was taken."""

    counts: np.ndarray          # counts/s per pixel, mean of the frames
    frames: np.ndarray          # the individual spectra in counts/s, shape (averages, pixels)
    integration_time: float     # s, of the frames kept
    saturated: bool             # a kept frame reached full scale
    exposed: float              # s of detector integration spent, discarded frames included


def spectrum(spectrometer, longest: float, averages: int = 1, start: float | None = None,
             auto: bool = True, more=None, most: int = 1) -> Exposure:
    """``averages`` spectra at integration time ``start`` (default ``longest``); while a
    frame saturates and ``auto`` is set, the integration time is cut threefold (down to the
    detector's shortest) and the frames are taken again. Then, while ``more(frames)``
    (frames in counts/s) is true, ``averages`` frames more are taken, up to ``most`` in all."""
    shortest = spectrometer.integration_limits[0]
    t = min(start or longest, longest)
    spectrometer.set_integration_time(t)
    exposed = 0.0

    def take(count):
        frames, saturated = [], False
        for _ in range(count):
            frames.append(spectrometer.acquire() / t)
            saturated |= spectrometer.saturated
        return frames, saturated

    while True:
        frames, saturated = take(averages)
        exposed += averages * t
        if not (saturated and auto and t > shortest):
            break
        t = max(shortest, t / 3)
        spectrometer.set_integration_time(t)
    while more is not None and len(frames) < most and more(np.asarray(frames)):
        extra, clipped = take(min(averages, most - len(frames)))
        frames, saturated, exposed = frames + extra, saturated or clipped, exposed + len(extra) * t
    frames = np.asarray(frames, float)
    return Exposure(frames.mean(axis=0), frames, t, saturated, exposed)
