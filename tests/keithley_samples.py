"""Samples for the source-meter tests: the CsPbBr3 film preset made into a device."""

from pathlib import Path

from sim_instruments.sample import PRESETS_DIR

#: A 1 mm² diode: 50 Ω series resistance, 1 pA saturation current, ideality 2.
DEVICE = "device: {area: 1 mm^2, series_resistance: 50 ohm, saturation_current: 1e-12 A, ideality: 2.0}\n"


def diode_sample(directory: Path) -> str:
    """Write the film preset with a ``device:`` section to ``directory``; its path."""
    path = directory / "cspbbr3_diode.yaml"
    text = (PRESETS_DIR / "cspbbr3_film_fs.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("name: cspbbr3_film_fs", "name: cspbbr3_diode") + DEVICE,
                    encoding="utf-8")
    return str(path)
