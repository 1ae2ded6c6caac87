import math

import pytest

from labctl import units
from labctl.errors import ParameterError
from labctl.parameters import Bool, Choice, Float, FloatList, Int, Text


@pytest.mark.parametrize("text, unit, expected", [
    ("57 uJ/cm2", "uJ/cm^2", 57.0), ("57 µJ/cm²", "uJ/cm^2", 57.0),
    ("0.057 mJ/cm^2", "uJ/cm^2", 57.0), ("3", "uJ/cm^2", 3.0), (2.5, "mm", 2.5),
    ("250 um", "mm", 0.25), ("10 K/min", "K/min", 10.0), ("2 mA", "A", 0.002),
])
def test_parse_converts_to_declared_unit(text, unit, expected):
    assert units.parse(text, unit) == pytest.approx(expected)


def test_parse_refuses_wrong_dimension_naming_both_units():
    with pytest.raises(units.UnitError, match=r"'300 K' has units of K.*µJ/cm²"):
        units.parse("300 K", "uJ/cm^2")


def test_pretty_units():
    assert units.pretty("uJ/cm^2") == "µJ/cm²"
    assert units.pretty("counts") == "counts"


class Holder:
    def __init__(self):
        self._values = {}


def _param(p, name="x"):
    p.__set_name__(Holder, name)
    return p


@pytest.mark.parametrize("raw, message", [
    ("-1", "below the minimum 0.01 µJ/cm²"),
    ("2e6", "above the maximum 10000 µJ/cm²"),
    ("nan", "finite"), ("inf", "finite"),
    ("3 K", "units of K"),
    ("many", "cannot read"),
])
def test_float_refusals_name_parameter_value_and_limit(raw, message):
    p = _param(Float(1.0, unit="uJ/cm^2", minimum=0.01, maximum=1e4), "fluence_stop")
    with pytest.raises(ParameterError) as info:
        p.convert(raw)
    assert "fluence_stop" in str(info.value) and repr(raw) in str(info.value)
    assert message in str(info.value)


def test_int_choice_bool_text_lists():
    assert _param(Int(3, minimum=2, maximum=10)).convert("4") == 4
    with pytest.raises(ParameterError, match="whole number"):
        _param(Int(3, minimum=2, maximum=10)).convert("4.5")
    assert _param(Choice("log", ("log", "linear"))).convert("linear") == "linear"
    with pytest.raises(ParameterError, match="one of log, linear"):
        _param(Choice("log", ("log", "linear"))).convert("cubic")
    assert _param(Bool(True)).convert("off") is False
    with pytest.raises(ParameterError):
        _param(Bool(True)).convert("maybe")
    assert _param(FloatList([1], unit="uJ/cm^2", minimum=0)).convert("20, 40 uJ/cm2, 0.057 mJ/cm2") == \
        pytest.approx([20, 40, 57])
    with pytest.raises(ParameterError, match="longer than"):
        _param(Text("", max_length=5)).convert("x" * 6)
    assert math.isclose(_param(Float(1.0, unit="s")).convert("250 ms"), 0.25)
