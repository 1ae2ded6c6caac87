"""Beam geometry at the sample: a stripe (cylindrical lens) or a round spot.

Set by hand at a real bench (a lens swap) and so a procedure parameter; the simulated
bench reads it as the truth of its optics. A leaf module: every layer may import it.
"""

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Beam:
    shape: str = "stripe"     # "stripe" or "spot"
    width: float = 0.1        # mm, stripe width
    length: float = 3.0       # mm, stripe length with the knife edge fully open
    diameter: float = 0.2     # mm, spot diameter (top-hat equivalent)

    def __post_init__(self):
        if self.shape not in ("stripe", "spot"):
            raise ValueError(f"beam shape must be 'stripe' or 'spot', not {self.shape!r}")

    @property
    def area(self) -> float:
        """Illuminated area in cm²."""
        if self.shape == "stripe":
            return self.width * self.length * 1e-2
        return math.pi * (self.diameter / 2) ** 2 * 1e-2

    def describe(self) -> dict:
        return asdict(self) | {"area_cm2": self.area}
