"""Property: whatever the procedure parameters and the bench's envelope, nothing outside
the envelope reaches the sample or an instrument. The simulated optics record the highest
fluence and pulse energy that physically reached the sample; the twins record the extreme
setpoints they received."""

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labctl import config as config_module
from labctl.bench import Bench
from labctl.errors import LabctlError, ParameterError
from labctl.procedure import PlannedStep, Procedure, Setpoint
from labctl.parameters import FloatList
from labctl.records import Column
from labctl.runner import Runner
from procedures.fluence_sweep import FluenceSweep

SWEEP_SLOTS = ("PumpLaser", "Attenuator", "PowerMeter", "Spectrometer")


def bench_with(safety, slots):
    data = yaml.safe_load(config_module.DEFAULT_SIM.read_text())
    data["safety"] = safety
    return Bench.open(config_module.parse(data, "property.yaml"), time_scale=0, slots=slots)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(max_fluence=st.floats(20, 900), max_energy=st.floats(0.02, 5),
       start=st.floats(0.5, 400), ratio=st.floats(1.1, 40), points=st.integers(2, 6),
       geometry=st.sampled_from(["stripe", "spot"]), size=st.floats(0.02, 1.0))
def test_fluence_sweep_never_sends_more_than_the_envelope(max_fluence, max_energy, start, ratio,
                                                          points, geometry, size):
    try:
        sweep = FluenceSweep(fluence_start=start, fluence_stop=start * ratio, points=points,
                             geometry=geometry, stripe_width=size, spot_diameter=size, shots=1)
    except ParameterError:
        return
    safety = {"max_fluence": f"{max_fluence} uJ/cm^2", "max_pulse_energy": f"{max_energy} uJ"}
    with bench_with(safety, SWEEP_SLOTS) as bench:
        try:
            Runner(bench).run(sweep)
        except LabctlError:
            pass                                        # refused by the dry run: fine
        delivered = bench.sim.optics.delivered
        # within the power meter's correction tolerance (the sweep corrects to +-5 %)
        assert delivered["pulse_energy"] <= max_energy * (1 + sweep.energy_tolerance)
        assert delivered["fluence"] <= max_fluence * (1 + sweep.energy_tolerance)


class Bias(Procedure):
    name = "bias-probe"
    roles = ("SourceMeter",)
    voltages = FloatList([1.0], unit="V", minimum=-200, maximum=200)
    columns = (Column("current", "A"),)

    def plan(self):
        return [PlannedStep(f"{v} V", (Setpoint("source_voltage", v, "V"),), 0, {"v": v})
                for v in self.voltages]

    def measure(self, run, step):
        source = run.role("SourceMeter")
        source.set_voltage(step.values["v"])
        return {"current": 0.0}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(limit=st.floats(0.5, 30), voltages=st.lists(st.floats(-60, 60), min_size=1, max_size=5))
def test_bias_never_exceeds_the_source_limit(limit, voltages):
    with bench_with({"max_source_voltage": f"{limit} V"}, ("SourceMeter",)) as bench:
        try:
            Runner(bench).run(Bias(voltages=voltages))
        except LabctlError:
            pass
        received = bench.sim.twins["SourceMeter"].extremes.get("source_voltage")
        if received is not None:      # commands carry 6 significant digits (%g): 1e-5 resolution
            assert max(abs(v) for v in received) <= limit * (1 + 1e-5)
