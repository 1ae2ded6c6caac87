"""pymeasure validators whose refusals name the quantity, the value, the limits and the unit."""


def within(quantity: str, unit: str):
    """A range validator: ``within("slit width", "µm")`` refuses 5 with
    ``slit width 5 µm is outside [10, 3000] µm`` (before any byte is sent)."""
    def check(value, limits):
        low, high = limits
        if not low <= value <= high:
            raise ValueError(f"{quantity} {value:g} {unit} is outside [{low:g}, {high:g}] {unit}")
        return value
    return check
