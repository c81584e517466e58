"""Helpers to write small matrix files for config and planner tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

HEADER = """\
settings:
  jobs: 2
  extra_ca_bundle: ""
  capture: false
  screenshot: false
tests:
  peerconnection:
    timeout: 10
  datachannel:
    timeout: 12
"""  # settings and test cases; the implementations follow

VALID = (
    HEADER
    + """\
implementations:
  alpha:
    build: images/alpha
    versions:
      alpha: "1.0"
    roles:
      server: [peerconnection, datachannel]
      client: all
  beta:
    image: example.org/beta:2
    roles:
      client: [datachannel]
    client_command: /run-client {server_url} --test {test}
"""
)

WriteMatrix = Callable[[str], Path]


@pytest.fixture
def write_matrix(tmp_path: Path) -> WriteMatrix:
    """Write `text` as matrix.yaml next to a buildable images/alpha; return its path."""
    for context in ("images/alpha", "images/base"):
        (tmp_path / context).mkdir(parents=True)
        (tmp_path / context / "Dockerfile").write_text("FROM scratch\n")

    def write(text: str) -> Path:
        path = tmp_path / "matrix.yaml"
        path.write_text(text)
        return path

    return write
