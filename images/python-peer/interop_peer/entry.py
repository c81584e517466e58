"""One `main()` for every Python peer: the role from argv or ROLE, the environment read
once, the stack's own set-up, then the server or the client's test case."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import replace

from interop_peer.client import exit_with, run_client
from interop_peer.contract import EXIT_FAILED, Env, setup_logging, verdict
from interop_peer.keylog import follow_keylog
from interop_peer.peer import Peer
from interop_peer.server import serve


def run_peer(
    new_peer: Callable[[str, Env], Peer],
    unsupported: dict[str, str],
    prepare: Callable[[Env], None] = lambda env: None,
) -> int:
    """`argv`: [role [server_url]]. The server runs until killed; the client exits with
    its verdict's code (docs/contract.md)."""
    setup_logging()
    role = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ROLE", "client")
    try:
        env = Env.from_environ()
    except ValueError as problem:
        verdict("FAIL", f"bad environment: {problem}")
        return EXIT_FAILED
    env = replace(env, role=role, server_url=sys.argv[2] if len(sys.argv) > 2 else env.server_url)
    prepare(env)
    follow_keylog()

    def factory(name: str) -> Peer:
        return new_peer(name, env)

    if role == "server":
        serve(env, factory)
        return 0
    exit_with(asyncio.run(run_client(env, factory, unsupported)))
    return EXIT_FAILED  # not reached
