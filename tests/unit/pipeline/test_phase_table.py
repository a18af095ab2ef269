"""The phase table both drivers walk: its rows follow the phase order, and the phases with no
work are the ones the drivers decide themselves."""

from __future__ import annotations

from mge.models.project import Phase
from mge.pipeline.phase_table import PIPELINE, STEPS, without_work
from mge.pipeline.phases import ORDER, TERMINAL, next_phase


def test_rows_are_the_phase_order_up_to_the_drivers_part() -> None:
    phases = [step.phase for step in PIPELINE]
    assert phases == list(ORDER[: len(phases)])
    assert next_phase(phases[-1]) == Phase.REVIEWING
    assert set(STEPS) == set(phases)


def test_every_computing_row_says_what_it_reads_and_checkpoints() -> None:
    for step in PIPELINE:
        if step.work is not None:
            assert step.reads and step.checkpoints, step.phase


def test_only_executing_and_integrating_run_generated_code() -> None:
    assert {s.phase for s in PIPELINE if s.runs_code} == {Phase.EXECUTING, Phase.INTEGRATING}


def test_waypoints_advance_and_the_drivers_phases_stay() -> None:
    assert without_work(Phase.PENDING) == Phase.DISCOVERING
    for phase in (Phase.REVIEWING, *TERMINAL):
        assert without_work(phase) == phase
    assert all(without_work(s.phase) is None for s in PIPELINE if s.work is not None)
