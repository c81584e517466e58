"""The per-test messages of contract section 8."""

from interop_peer import messages as m

P = bytes(range(0x21, 0x7F)) * 8  # 752 printable bytes


def test_repeat_cuts_to_exact_size():
    assert m.repeat(b"abc", 7) == b"abcabca"
    assert len(m.repeat(P, 65536)) == 65536
    assert m.repeat(P, 65536).startswith(P)


def test_binary_messages():
    assert m.binary_messages(P) == [P, b"", bytes(range(256))]


def test_unordered_messages():
    sent = m.unordered_messages(P)
    assert len(sent) == 100
    assert len(set(sent)) == 100
    assert sent[7] == "007:" + P.decode()


def test_many():
    labels = m.many_labels()
    assert labels[0] == "interop-0"
    assert labels[-1] == "interop-31"
    assert m.many_message("interop-5", P) == "interop-5:" + P.decode()


def test_bulk_message():
    message = m.bulk_message(258, P)
    assert len(message) == 16384
    assert message[:4] == b"\x00\x00\x01\x02"
    assert message[4:] == m.repeat(P, 16380)


def test_confirmation():
    assert m.confirmation(P, P) == "CONFIRMED:" + m.sha256hex(P)
    assert m.confirmation(b"x", P) == "MISMATCH:" + m.sha256hex(b"x")


def test_prefixed():
    assert m.prefixed("restart:", P) == "restart:" + P.decode()


def test_make_payload_follows_the_rule():
    for _ in range(20):
        payload = m.make_payload()
        assert 600 <= len(payload) <= 1000
        assert set(payload) <= set(m.PRINTABLE)
