"""Environment parsing (contract section 2) and the output line format."""

import pytest
from interop_peer.contract import Env, IceServer, parse_ice_servers, parse_payload, verdict

PAYLOAD = b"!" * 600


def test_defaults_make_up_a_payload_by_the_rule():
    env = Env.from_environ({})
    assert not env.payload_given
    assert 600 <= len(env.payload) <= 1000
    assert all(0x21 <= b <= 0x7E for b in env.payload)
    assert (env.ice_servers, env.ice_transport_policy, env.min_echoes) == ((), "all", 100)


def test_reads_every_variable():
    env = Env.from_environ(
        {
            "ROLE": "server",
            "TEST_CASE": "audio",
            "TEST_TIMEOUT": "40",
            "TEST_PAYLOAD": PAYLOAD.hex(),
            "ICE_TRANSPORT_POLICY": "relay",
            "ICE_SERVERS": '[{"urls": "turn:10.0.0.1?transport=tcp", "username": "u", '
            '"credential": "c"}]',
            "MIN_ECHOES": "50",
            "MEDIA_DURATION": "12.5",
            "ICE_CA_PEM": "PEM",
        }
    )
    assert env.payload == PAYLOAD
    assert env.payload_given
    assert env.text == "!" * 600
    assert env.ice_servers == (IceServer(("turn:10.0.0.1?transport=tcp",), "u", "c"),)
    assert (env.min_echoes, env.media_duration_s, env.ice_ca_pem) == (50, 12.5, "PEM")
    assert env.budget_s == pytest.approx(32.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TEST_PAYLOAD", "zz"),
        ("TEST_PAYLOAD", "41" * 10),
        ("TEST_PAYLOAD", "20" * 700),
        ("ICE_TRANSPORT_POLICY", "none"),
        ("ICE_SERVERS", "{}"),
        ("ICE_SERVERS", "[{}]"),
        ("TEST_TIMEOUT", "soon"),
    ],
)
def test_refuses_malformed_values(name, value):
    with pytest.raises(ValueError, match=name):
        Env.from_environ({name: value})


def test_a_payload_error_names_its_source():
    assert parse_payload(PAYLOAD.hex(), "payload") == PAYLOAD
    with pytest.raises(ValueError, match=r"^payload is not hex"):
        parse_payload("zz", "payload")


def test_ice_server_urls_may_be_a_list():
    servers = parse_ice_servers('[{"urls": ["stun:a", "stun:b"]}]')
    assert servers == (IceServer(("stun:a", "stun:b")),)


def test_verdict_is_one_line(capsys):
    verdict("FAIL", "two\nlines  here")
    assert capsys.readouterr().out == "FAIL: two lines here\n"


def test_verdict_is_one_write(monkeypatch):
    """A log line from another thread must not land between a line and its newline."""
    writes = []

    class Stdout:
        def write(self, text):
            writes.append(text)

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", Stdout())
    verdict("KEYLOG", "CLIENT_RANDOM 00 11")
    assert writes == ["KEYLOG: CLIENT_RANDOM 00 11\n"]
