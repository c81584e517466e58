from __future__ import annotations

import pytest

from orchestrator.config import load_matrix
from orchestrator.errors import ConfigError
from orchestrator.model import Cell
from orchestrator.planner import plan
from tests.unit.conftest import VALID, WriteMatrix


def test_every_test_server_client_in_grid_order(write_matrix: WriteMatrix) -> None:
    planned = plan(load_matrix(write_matrix(VALID), environ={}))
    assert [p.cell for p in planned] == [
        Cell("peerconnection", "alpha", "alpha"),
        Cell("peerconnection", "alpha", "beta"),
        Cell("datachannel", "alpha", "alpha"),
        Cell("datachannel", "alpha", "beta"),
    ]
    # beta declares only datachannel as client: its peerconnection cell is N/A, not absent.
    assert [p.declared_unsupported_by for p in planned] == [(), ("beta",), (), ()]


def test_filters_keep_matrix_order(write_matrix: WriteMatrix) -> None:
    matrix = load_matrix(write_matrix(VALID), environ={})
    planned = plan(matrix, clients=("beta", "alpha"), tests=("datachannel",))
    assert [p.cell.client for p in planned] == ["alpha", "beta"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"servers": ("alpah",)},
            r"-s/--server: unknown implementation 'alpah' \(did you mean "
            r"'alpha'\?\)",
        ),
        (
            {"tests": ("datachanel",)},
            r"-t/--test: unknown test case 'datachanel' \(did you mean "
            r"'datachannel'\?\)",
        ),
        ({"servers": ("beta",)}, r"none of beta can act as server"),
    ],
)
def test_bad_filters_are_config_errors(
    write_matrix: WriteMatrix, kwargs: dict[str, tuple[str]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        plan(load_matrix(write_matrix(VALID), environ={}), **kwargs)
