"""Newport SMC100: exact bytes, the twin's state machine through plain pyvisa, and the
driver against its twin."""

import pytest
from pymeasure.test import expected_protocol

from drivers.base import DeviceError, ReplyError
from drivers.newport_smc100 import SMC100Linear, SMC100Rotation

from .simbench import generic_client, sim_of

RESOURCE = "ASRL8::INSTR"


def test_protocol_move_checks_errors_and_polls_state():
    with expected_protocol(SMC100Rotation, [
        ("1TP", "1TP0.000000"), ("1PA45.000000", None), ("1TE", "1TE@"),
        ("1VA?", "1VA20.000000"),         # the move's expected duration (velocity asked once)
        ("1TS", "1TS000028"), ("1TS", "1TS000033"),
        ("1PA40.000000", None), ("1TE", "1TE@"), ("1TS", "1TS000033"),   # from 45°, where it stopped
    ]) as stage:
        stage.move_to(45.0)
        stage.move_to(40.0)


def test_protocol_homes_when_not_referenced():
    with expected_protocol(SMC100Rotation, [
        ("1TP", "1TP3.000000"), ("1PA10.000000", None), ("1TE", "1TEH"),   # NOT REFERENCED
        ("1OR", None), ("1TE", "1TE@"), ("1TS", "1TS000032"),
        ("1TP", "1TP0.000000"), ("1PA10.000000", None), ("1TE", "1TE@"),
        ("1VA?", "1VA20.000000"), ("1TS", "1TS000033"),
    ]) as stage:
        stage.move_to(10.0)


def test_protocol_reports_controller_error():
    with expected_protocol(SMC100Rotation, [("1PA20.000000", None), ("1TE", "1TEH")]) as stage:
        with pytest.raises(DeviceError, match="not allowed in NOT REFERENCED state"):
            stage.target_position = 20.0


@pytest.mark.parametrize("reply", ["1TE", "NaNTE@", "zg#k", "1TE@@"])
def test_garbled_error_code_is_a_reply_error(reply):
    """Retried by the bench, not taken for a refusal of the controller."""
    with expected_protocol(SMC100Rotation, [("1PA20.000000", None), ("1TE", reply)]) as stage:
        with pytest.raises(ReplyError, match="unexpected reply to 1TE"):
            stage.target_position = 20.0


def test_protocol_move_sent_again_while_the_first_one_runs_waits_for_it():
    """A move retried after its reply was lost: MOVING refuses PA (TE M); the driver waits
    for the stage to stop, then sends the move again."""
    with expected_protocol(SMC100Rotation, [
        ("1TP", "1TP10.000000"), ("1PA30.000000", None), ("1TE", "1TEM"),
        ("1TS", "1TS000028"), ("1TS", "1TS000033"),
        ("1TP", "1TP30.000000"), ("1PA30.000000", None), ("1TE", "1TE@"),
        ("1VA?", "1VA20.000000"), ("1TS", "1TS000033"),
    ]) as stage:
        stage.move_to(30.0)


def test_travel_limits_refused_before_any_byte():
    with expected_protocol(SMC100Linear, [], limits=(0, 25)) as stage:
        with pytest.raises(ValueError, match=r"outside the stage travel \[0, 25\] mm"):
            stage.move_to(30.0)


def test_twin_state_machine_through_plain_pyvisa():
    sim = sim_of(("RotationStage", "newport-smc100-rotation", RESOURCE, {"initial_position": 90.0}))
    smc = generic_client(sim, RESOURCE, read_termination="\r\n", write_termination="\r\n")
    assert smc.query("1TS") == "1TS00000A"                 # NOT REFERENCED after power-up
    smc.write("1PA10")
    assert smc.query("1TE") == "1TEH"                      # not allowed before homing
    smc.write("1OR")
    assert smc.query("1TS") == "1TS00001E"                 # homing from 90° takes 4.5 s
    sim.clock.sleep(5.0)
    assert smc.query("1TS") == "1TS000032"
    smc.write("1PA40")
    assert smc.query("1TS") == "1TS000028"                 # moving for 2 s at 20°/s
    sim.clock.sleep(1.0)
    assert float(smc.query("1TP")[3:]) == pytest.approx(20.0)
    sim.clock.sleep(1.5)
    assert smc.query("1TS") == "1TS000033" and float(smc.query("1TP")[3:]) == pytest.approx(40.0)
    smc.write("1PA400")
    assert smc.query("1TE") == "1TEC"                      # out of range
    smc.write("1XY")
    assert smc.query("1TE") == "1TEA"                      # unknown command
    assert smc.query("1TE") == "1TE@"                      # TE clears the error


def test_driver_against_twin_and_safe_state():
    sim = sim_of(("LinearStage", "newport-smc100-linear", RESOURCE, {"limits": [0, 25], "velocity": 5}))
    stage = SMC100Linear(RESOURCE, visa_library=sim.library, limits=(0, 25))
    assert stage.identity.startswith("Newport,SMC_CC")
    stage.move_to(12.5)
    assert stage.position == pytest.approx(12.5)
    stage.move_to(20.0, wait=False)
    assert sim.twins["LinearStage"].moving()
    stage.safe_state()                                     # stop the motion
    assert sim.twins["LinearStage"].safe_state_reached()
    assert stage.position < 20.0
