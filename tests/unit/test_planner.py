from __future__ import annotations

import pytest

from orchestrator.config import load_matrix
from orchestrator.errors import ConfigError
from orchestrator.model import Cell
from orchestrator.planner import Selection, plan
from tests.unit.conftest import VALID, WriteMatrix

WITH_SCENARIOS = VALID.replace(
    "implementations:\n",
    "scenarios:\n  lossy: {tests: [datachannel]}\n  nat-client: {default: false}\n"
    "implementations:\n",
).replace(
    "      client: all\n",
    "      client: all\n    unsupported_scenarios: {lossy: cannot take loss}\n",
)


def test_every_test_server_client_in_grid_order(write_matrix: WriteMatrix) -> None:
    planned = plan(load_matrix(write_matrix(VALID), environ={}))
    assert [p.cell for p in planned] == [
        Cell("peerconnection", "alpha", "alpha"),
        Cell("peerconnection", "alpha", "beta"),
        Cell("peerconnection", "beta", "alpha"),
        Cell("peerconnection", "beta", "beta"),
        Cell("datachannel", "alpha", "alpha"),
        Cell("datachannel", "alpha", "beta"),
        Cell("datachannel", "beta", "alpha"),
        Cell("datachannel", "beta", "beta"),
    ]
    # beta declares only datachannel as client, and no server role at all: those cells
    # are N/A, not absent.
    assert [p.refusal for p in planned] == [
        None,
        "beta does not declare 'peerconnection' as client",
        "beta has no server role",
        "beta has no server role",
        None,
        None,
        "beta has no server role",
        "beta has no server role",
    ]


def test_filters_keep_matrix_order(write_matrix: WriteMatrix) -> None:
    matrix = load_matrix(write_matrix(VALID), environ={})
    selection = Selection(servers=("alpha",), clients=("beta", "alpha"), tests=("datachannel",))
    assert [p.cell.client for p in plan(matrix, selection)] == ["alpha", "beta"]


def test_scenarios_multiply_their_tests_and_refusals_are_kept(write_matrix: WriteMatrix) -> None:
    matrix = load_matrix(write_matrix(WITH_SCENARIOS), environ={})
    planned = plan(matrix)
    assert {p.cell.scenario for p in planned} == {"direct", "lossy"}  # nat-client: not default
    lossy = [p for p in planned if p.cell.scenario == "lossy" and p.cell.server == "alpha"]
    assert {p.cell.test for p in lossy} == {"datachannel"}
    assert {p.refusal for p in lossy} == {"alpha cannot run in lossy: cannot take loss"}
    everything = plan(matrix, Selection(everything=True))
    assert {p.cell.scenario for p in everything} == {"direct", "lossy", "nat-client"}
    only = plan(matrix, Selection(scenarios=("nat-client",)))
    assert {p.cell.scenario for p in only} == {"nat-client"}


def test_a_scenario_runs_its_default_tests_by_default_and_all_on_request(
    write_matrix: WriteMatrix,
) -> None:
    text = VALID.replace(
        "implementations:\n",
        "scenarios:\n  nat-both: {tests: all, default_tests: [datachannel]}\nimplementations:\n",
    )
    matrix = load_matrix(write_matrix(text), environ={})

    def tests_in(selection: Selection) -> set[str]:
        return {p.cell.test for p in plan(matrix, selection) if p.cell.scenario == "nat-both"}

    assert tests_in(Selection()) == {"datachannel"}
    assert tests_in(Selection(everything=True)) == {"peerconnection", "datachannel"}
    assert tests_in(Selection(tests=("peerconnection",))) == {"peerconnection"}  # asked for
    assert {p.cell.test for p in plan(matrix) if p.cell.scenario == "direct"} == {
        "peerconnection",
        "datachannel",
    }


def test_default_tests_must_be_tests_of_the_scenario(write_matrix: WriteMatrix) -> None:
    text = VALID.replace(
        "implementations:\n",
        "scenarios:\n  nat-both: {tests: [datachannel], default_tests: [peerconnection]}\n"
        "implementations:\n",
    )
    with pytest.raises(ConfigError, match=r"scenarios\.nat-both\.default_tests"):
        load_matrix(write_matrix(text), environ={})


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (
            Selection(servers=("alpah",)),
            r"-s/--server: unknown implementation 'alpah' \(did you mean 'alpha'\?\)",
        ),
        (
            Selection(tests=("datachanel",)),
            r"-t/--test: unknown test case 'datachanel' \(did you mean 'datachannel'\?\)",
        ),
        (Selection(servers=("beta",)), r"none of beta can act as server"),
        (Selection(servers=()), r"-s/--server: empty selection"),
        (Selection(scenarios=("nat-clinet",)), r"did you mean 'nat-client'"),
    ],
)
def test_bad_filters_are_config_errors(
    write_matrix: WriteMatrix, selection: Selection, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        plan(load_matrix(write_matrix(WITH_SCENARIOS), environ={}), selection)
