from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.config import CA_BUNDLE_ENV, DEFAULT_CLIENT_COMMAND, load_matrix
from orchestrator.errors import ConfigError
from orchestrator.model import Cell, CellResult, Expectation, Outcome, Role
from tests.unit.conftest import VALID, WriteMatrix


def test_valid_matrix_becomes_frozen_dataclasses(write_matrix: WriteMatrix) -> None:
    matrix = load_matrix(write_matrix(VALID), environ={})
    assert matrix.settings.jobs == 2
    assert matrix.settings.extra_ca_bundle is None
    assert matrix.test_names == ("peerconnection", "datachannel")
    alpha, beta = matrix.implementations
    assert alpha.client_tests == ("peerconnection", "datachannel")  # "all"
    assert alpha.supports(Role.SERVER, "datachannel")
    assert not beta.has_role(Role.SERVER)
    assert alpha.client_command == DEFAULT_CLIENT_COMMAND
    assert beta.client_command == ("/run-client", "{server_url}", "--test", "{test}")
    assert alpha.all_build_args() == {"ALPHA_VERSION": "1.0"}
    assert beta.image_reference("p") == "example.org/beta:2"
    assert alpha.image_reference("p") == "p/alpha:latest"
    with pytest.raises(AttributeError):
        matrix.settings.jobs = 3  # type: ignore[misc]


def replace(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


MALFORMED = [
    # (matrix text, pattern the one-line error must match)
    (
        replace("  jobs: 2", "  jbos: 2"),
        r"matrix.yaml:2: settings.jbos: unknown key \(did you mean 'jobs'\?\)",
    ),
    (replace("  jobs: 2", "  jobs: two"), r"settings.jobs: expected an integer, got a string"),
    (replace("  jobs: 2", "  jobs: 0"), r"settings.jobs: must be at least 1 and at most 64, got 0"),
    (replace("  jobs: 2", "  jobs: yes"), r"settings.jobs: expected an integer, got a boolean"),
    (
        replace("    timeout: 10", "    timeout: -1"),
        r"tests.peerconnection.timeout: must be greater than 0",
    ),
    (
        replace(
            "      server: [peerconnection, datachannel]",
            "      server: [peerconection, datachannel]",
        ),
        r"implementations.alpha.roles.server\[0\]: unknown test case 'peerconection' "
        r"\(did you mean 'peerconnection'\?\)",
    ),
    (
        replace(
            "    roles:\n      client: [datachannel]", "    roels:\n      client: [datachannel]"
        ),
        r"implementations.beta.roels: unknown key \(did you mean 'roles'\?\)",
    ),
    (replace("  beta:\n", "  alpha:\n"), r":\d+: implementations.alpha: duplicate key"),
    (
        replace("    build: images/alpha", "    build: images/alpha\n    image: x:1"),
        r"implementations.alpha: needs exactly one of 'build'",
    ),
    (
        replace("    build: images/alpha", "    build: images/missing"),
        r"implementations.alpha.build: .*images/missing is not a directory",
    ),
    (replace("  alpha:\n", "  Alpha_1:\n"), r"implementation name 'Alpha_1' must be"),
    (
        replace("{server_url} --test", "{server_ulr} --test"),
        r"client_command: unknown placeholder \{server_ulr\} \(did you mean 'server_url'\?\)",
    ),
    (
        replace(
            "      server: [peerconnection, datachannel]",
            "      server: [datachannel, datachannel]",
        ),
        r"roles.server\[1\]: test case 'datachannel' is listed twice",
    ),
    (
        replace("      client: [datachannel]", "      client: datachannel"),
        r"roles.client: expected a list of test cases or 'all', got a string",
    ),
    (
        replace('      alpha: "1.0"', "      alpha: [1]"),
        r"versions.alpha: expected a string, got a list",
    ),
    ("tests: {}\nimplementations: {}\n", r"top level: missing required section 'tests'"),
    ("- just\n- a list\n", r"top level: expected a mapping, got a list"),
    ("tests: [unclosed\n", r"matrix.yaml:2: not valid YAML"),
    (
        replace("    roles:\n      client: [datachannel]", "    roles: {}"),
        r"implementations.beta.roles: declare at least one of 'server' or 'client'",
    ),
    (
        replace("    timeout: 10", "    timeout: 10\n    tiemout: 3"),
        r"tests.peerconnection.tiemout: unknown key \(did you mean 'timeout'\?\)",
    ),
]


@pytest.mark.parametrize(("text", "pattern"), MALFORMED)
def test_malformed_matrix_gives_one_line_error(
    write_matrix: WriteMatrix, text: str, pattern: str
) -> None:
    path = write_matrix(text)
    with pytest.raises(ConfigError) as caught:
        load_matrix(path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert re.search(pattern, message), message
    assert caught.value.exit_code == 2


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such matrix file"):
        load_matrix(tmp_path / "nope.yaml", environ={})


def test_ca_bundle_comes_from_env_then_setting_then_host(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    explicit, setting, host = (tmp_path / n for n in ("explicit.pem", "setting.pem", "host.pem"))
    for bundle in (explicit, setting, host):
        bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    without_setting = write_matrix(replace('  extra_ca_bundle: ""\n', ""))
    assert load_matrix(without_setting, {"PIP_CERT": str(host)}).settings.extra_ca_bundle == host
    assert load_matrix(without_setting, {}).settings.extra_ca_bundle is None
    with_setting = write_matrix(replace('extra_ca_bundle: ""', "extra_ca_bundle: setting.pem"))
    assert (
        load_matrix(with_setting, {"SSL_CERT_FILE": str(host)}).settings.extra_ca_bundle == setting
    )
    assert (
        load_matrix(with_setting, {CA_BUNDLE_ENV: str(explicit)}).settings.extra_ca_bundle
        == explicit
    )
    assert load_matrix(with_setting, {CA_BUNDLE_ENV: ""}).settings.extra_ca_bundle is None


def test_missing_ca_bundle_names_where_it_came_from(write_matrix: WriteMatrix) -> None:
    path = write_matrix(replace('  extra_ca_bundle: ""\n', ""))
    with pytest.raises(ConfigError, match=r"from \$REQUESTS_CA_BUNDLE\) is not a file"):
        load_matrix(path, {"REQUESTS_CA_BUNDLE": "/no/such/bundle.pem"})


def test_dockerfile_must_stay_inside_the_context(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.Dockerfile").write_text("FROM scratch\n")
    inside = write_matrix(
        replace(
            "    build: images/alpha", "    build: images\n    dockerfile: images/alpha/Dockerfile"
        )
    )
    assert load_matrix(inside, {}).implementation("alpha").dockerfile == "alpha/Dockerfile"
    outside = write_matrix(
        replace(
            "    build: images/alpha",
            "    build: images/alpha\n    dockerfile: elsewhere.Dockerfile",
        )
    )
    with pytest.raises(ConfigError, match="outside the build context"):
        load_matrix(outside, {})


def test_the_project_matrix_is_valid() -> None:
    matrix = load_matrix(Path(__file__).parents[2] / "matrix.yaml", environ={})
    assert "aiortc" in matrix.implementation_names
    assert {"peerconnection", "datachannel"} <= set(matrix.test_names)


def test_expectations_attach_to_cells(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    (tmp_path / "expectations.yaml").write_text(
        "datachannel/alpha/beta:\n  outcome: failed\n  reason: SCTP INIT rejected\n"
    )
    matrix = load_matrix(write_matrix(VALID), environ={})
    expected = matrix.expected(Cell("datachannel", "alpha", "beta"))
    assert expected == Expectation(Outcome.FAILED, "SCTP INIT rejected")
    assert matrix.expected(Cell("datachannel", "alpha", "alpha")) is None


def test_wildcards_cover_every_name_and_specific_entries_win(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    (tmp_path / "expectations.yaml").write_text(
        "'*/alpha/beta':\n  outcome: flaky\n  reason: DTLS race\n"
        "datachannel/alpha/beta:\n  outcome: failed\n  reason: SCTP\n"
    )
    matrix = load_matrix(write_matrix(VALID), environ={})
    assert matrix.expected(Cell("peerconnection", "alpha", "beta")) == Expectation(
        Outcome.FLAKY, "DTLS race"
    )
    assert matrix.expected(Cell("datachannel", "alpha", "beta")) == Expectation(
        Outcome.FAILED, "SCTP"
    )
    assert matrix.expected(Cell("datachannel", "alpha", "alpha")) is None


def test_an_entry_for_a_cause_wins_when_the_cell_has_that_cause(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    (tmp_path / "expectations.yaml").write_text(
        "'*/*/beta@*':\n  outcome: build-error\n  when: source-unreachable\n"
        "  reason: not built here\n"
        "datachannel/alpha/beta:\n  outcome: failed\n  reason: SCTP\n"
    )
    matrix = load_matrix(write_matrix(VALID), environ={})
    cell = Cell("datachannel", "alpha", "beta")
    unbuilt = Expectation(Outcome.BUILD_ERROR, "not built here", "source-unreachable")
    assert matrix.expected(cell, "source-unreachable") == unbuilt
    assert matrix.expected(cell) == Expectation(Outcome.FAILED, "SCTP")  # built elsewhere
    assert matrix.expected(Cell("peerconnection", "alpha", "beta")) is None


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "datachannel/alpha:\n  outcome: failed\n  reason: x\n",
            r"expectations.yaml:1: datachannel/alpha: a cell is written test/server/client",
        ),
        (
            "datachanel/alpha/beta:\n  outcome: failed\n  reason: x\n",
            r"unknown test case 'datachanel' \(did you mean 'datachannel'\?\)",
        ),
        (
            "datachannel/alpha/betta:\n  outcome: failed\n  reason: x\n",
            r"unknown implementation 'betta' \(did you mean 'beta'\?\)",
        ),
        (
            "datachannel/alpha/beta:\n  outcome: faild\n  reason: x\n",
            r":2: datachannel/alpha/beta.outcome: 'faild' is not an expected outcome \(did you "
            r"mean 'failed'\?\)",
        ),
        (
            "datachannel/alpha/beta:\n  outcome: passed\n  reason: x\n",
            r"'passed' is not an expected outcome",
        ),
        ("datachannel/alpha/beta:\n  outcome: failed\n  reason: ' '\n", r"reason: say why"),
        (
            "datachannel/alpha/beta:\n  outcome: failed\n  reason: x\n"
            "datachannel/alpha/beta:\n  outcome: timeout\n  reason: y\n",
            r":4: .*duplicate key",
        ),
    ],
)
def test_malformed_expectations(
    write_matrix: WriteMatrix, tmp_path: Path, text: str, pattern: str
) -> None:
    (tmp_path / "expectations.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_matrix(write_matrix(VALID), environ={})
    assert re.search(pattern, str(caught.value)), str(caught.value)


def test_a_cell_that_cannot_run_carries_no_expectation(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    (tmp_path / "expectations.yaml").write_text("'*/alpha/*':\n  outcome: failed\n  reason: x\n")
    matrix = load_matrix(write_matrix(VALID), environ={})
    cell = Cell("datachannel", "alpha", "beta")
    unsupported = matrix.explained(CellResult(cell, Outcome.UNSUPPORTED, "no client role"))
    assert unsupported.expected is None
    assert not unsupported.deviates
    failed = matrix.explained(CellResult(cell, Outcome.FAILED, "SCTP"))
    assert failed.expected == Expectation(Outcome.FAILED, "x")
