"""Names of a cell's Docker resources and folders: unique for any legal names.

Implementation, test and scenario names are `[a-z0-9-]` only (config/fields.py), so
joining them with `.` and `__`, which no name contains, can be split back apart:
(server `a-b`, client `c`) and (server `a`, client `b-c`) never share a name.
"""

from __future__ import annotations

import hashlib

from orchestrator.model import Cell

PREFIX = "wi"


def cell_prefix(run_id: str, cell: Cell, attempt: int = 1) -> str:
    """The common start of every resource name of one attempt at one cell."""
    name = f"{PREFIX}-{run_id}.{cell.test}.{cell.server}__{cell.client}.{cell.scenario}"
    return name if attempt == 1 else f"{name}.a{attempt}"


def bridge_name(prefix: str) -> str:
    """A Linux interface name (at most 15 characters) for the cell network's bridge."""
    return PREFIX + hashlib.sha256(prefix.encode()).hexdigest()[:13]


def log_folder(cell: Cell, attempt: int = 1) -> str:
    """The attempt's folder under the run folder."""
    folder = f"logs/{cell.slug}"
    return folder if attempt == 1 else f"{folder}/attempt-{attempt}"
