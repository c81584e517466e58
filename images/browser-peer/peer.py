"""Browser peer of the peer contract (docs/contract.md): a wrapper around a headless browser.

The WebRTC logic runs in page/*.js, a real page using the standard RTCPeerConnection
API. This wrapper serves that page on 127.0.0.1, starts the browser on it with a fresh
profile, and relays between the page (a WebSocket on localhost) and the outside world,
which the page cannot reach itself: peer servers send no CORS headers, and a page
cannot listen on a port. No WebDriver is involved.

  peer.py server        browser ready -> listen on 0.0.0.0:8080; /offer and /session/*
                        -> page (server.py)
  peer.py client URL    the page runs $TEST_CASE; its HTTP requests are made here

Client exit codes: 0 only when the page observed the test's condition, 1 on any failure
(including a browser that crashes or never loads the page, and the time budget running
out), 127 for a test case this peer cannot run. The server exits non-zero if the
browser dies.
"""

# ruff: noqa: E402 (the clock starts before the slow imports)
import time

STARTED = time.monotonic()  # the client's time budget counts from here, before the imports

import asyncio
import logging
import os
import signal
import sys

import aiohttp
import environment
from aiohttp import web
from pagelink import PageGone, TestFailed, first_of, start_browser
from server import SessionServer

EXIT_PASSED, EXIT_FAILED, EXIT_UNSUPPORTED = 0, 1, 127
PORT = 8080
TESTS = (
    "peerconnection",
    "datachannel",
    "audio",
    "video",
    "datachannel-large",
    "datachannel-binary",
    "datachannel-unordered",
    "datachannel-negotiated",
    "datachannel-many",
    "datachannel-server-open",
    "datachannel-bulk",
    "trickle",
    "ice-restart",
    "renegotiation",
    "bundle-av-data",
    "reconnect",
)
POST_RETRY_S = 10.0  # clients retry the offer while the server container starts
SERVER_READY_TIMEOUT_S = 60.0  # browser start-up, server role (nobody waits on us yet)

log = logging.getLogger("peer")


def setup_logging() -> None:
    level = logging.DEBUG if os.environ.get("PEER_DEBUG") else logging.INFO
    logging.basicConfig(
        stream=sys.stdout, level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def stop_signal() -> asyncio.Future[None]:
    """Resolves on SIGTERM/SIGINT (as PID 1 in a container, Python ignores SIGTERM otherwise)."""
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    return stop


# ---------------------------------------------------------------------------
# Server role


async def run_server(cell: environment.Environment) -> int:
    stop = stop_signal()
    try:
        page, process = await start_browser(cell, SERVER_READY_TIMEOUT_S)
    except TestFailed as problem:
        log.error("cannot start: %s", problem)
        return EXIT_FAILED
    app = web.Application(client_max_size=1024 * 1024)
    SessionServer(page).routes(app)
    runner = web.AppRunner(app, access_log=None)
    try:
        # Listening only now makes "accepts TCP on 8080" mean "the browser is ready".
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", PORT).start()
        log.info("listening on %d", PORT)
        first = await first_of(None, stop=stop, exited=process.exited, gone=page.gone)
        if first == "stop":
            log.info("stopping")
            return EXIT_PASSED
        # The page's socket usually closes just before the browser's exit is seen.
        if first == "exited" or await first_of(1.0, exited=process.exited):
            log.error("%s; the server cannot go on", process.describe_exit())
        else:
            log.error(
                "the page disconnected (renderer crash?) while %s kept running; "
                "the server cannot go on",
                process.browser.name,
            )
        return EXIT_FAILED
    finally:
        stopping = time.monotonic()
        await process.stop()
        await runner.cleanup()
        await page.stop()
        log.info("shut down in %.1f s", time.monotonic() - stopping)


# ---------------------------------------------------------------------------
# Client role


class HttpForPage:
    """Performs the page's HTTP requests (it cannot: no CORS on peer servers)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline  # loop time
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    async def __call__(self, message: dict) -> dict:
        loop = asyncio.get_running_loop()
        method, url = str(message.get("method")), str(message.get("url"))
        give_up = min(loop.time() + POST_RETRY_S, self.deadline) if message.get("retry") else 0
        log.info("%s %s", method, url)
        while True:
            timeout = aiohttp.ClientTimeout(total=max(1.0, self.deadline - loop.time()))
            try:
                async with self.session.request(
                    method,
                    url,
                    headers=message.get("headers") or {},
                    data=message.get("body"),
                    timeout=timeout,
                ) as response:
                    body = await response.text()
                    headers = {name.lower(): value for name, value in response.headers.items()}
                    log.info("%s %s -> HTTP %d (%d bytes)", method, url, response.status, len(body))
                    log.debug("reply body:\n%s", body)
                    return {"status": response.status, "headers": headers, "body": body}
            except aiohttp.ClientConnectionError as problem:
                if loop.time() > give_up:
                    return {"error": f"cannot reach {url}: {problem}"}
                await asyncio.sleep(0.25)
            except (aiohttp.ClientError, TimeoutError, ValueError) as problem:
                return {"error": f"{method} {url} failed: {type(problem).__name__} {problem}"}


async def client_session(
    cell: environment.Environment, budget: float
) -> tuple[str, str, list[str]]:
    """Run one test case in the page; (verdict PASS/FAIL/UNSUPPORTED, detail, report lines)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget - (time.monotonic() - STARTED)
    stop = stop_signal()
    page, process = await start_browser(cell, max(0.0, deadline - loop.time()))
    http = HttpForPage(deadline)
    page.on_http = http
    try:
        await page.send({"op": "start"})
        first = await first_of(
            max(0.0, deadline - loop.time()),
            result=page.result,
            exited=process.exited,
            gone=page.gone,
            stop=stop,
        )
        if first is None:
            return "FAIL", f"no result within {budget:.0f} s ({page.status})", page.lines
        if first == "exited":
            return "FAIL", f"{process.describe_exit()} during the test", page.lines
        if first == "gone":
            if await first_of(1.0, exited=process.exited):
                return "FAIL", f"{process.describe_exit()} during the test", page.lines
            return "FAIL", f"the page disconnected during the test ({page.status})", page.lines
        if first == "stop":
            return "FAIL", "terminated by a signal", page.lines
        result = page.result.result()
        verdict = (
            "PASS" if result.get("ok") else ("UNSUPPORTED" if result.get("unsupported") else "FAIL")
        )
        return verdict, str(result.get("detail")), page.lines
    except (TestFailed, PageGone) as problem:
        return "FAIL", str(problem), page.lines
    finally:
        await http.close()
        await process.stop()  # also prints the key log's last lines
        await page.stop()


async def run_client(cell: environment.Environment, budget: float) -> int:
    try:
        verdict, detail, lines = await client_session(cell, budget)
    except TestFailed as problem:  # the browser never got ready
        verdict, detail, lines = "FAIL", str(problem), []
    log.info("finished in %.1f s", time.monotonic() - STARTED)
    for line in lines:
        print(line, flush=True)
    detail = " ".join(detail.split())  # the verdict must be one line, the last one
    print(f"{verdict}: {cell.test}: {detail}", flush=True)
    return {"PASS": EXIT_PASSED, "UNSUPPORTED": EXIT_UNSUPPORTED}.get(verdict, EXIT_FAILED)


def main() -> int:
    setup_logging()
    role = sys.argv[1] if len(sys.argv) > 1 else "server"
    if not ((role == "server" and len(sys.argv) == 2) or (role == "client" and len(sys.argv) == 3)):
        print("usage: peer.py server | peer.py client <server offer URL>", file=sys.stderr)
        return EXIT_FAILED
    try:
        cell = environment.read(role, sys.argv[2] if role == "client" else "")
    except environment.BadEnvironment as problem:
        print(f"{'FAIL: ' if role == 'client' else ''}bad environment: {problem}", flush=True)
        return EXIT_FAILED
    if role == "server":
        return asyncio.run(run_server(cell))
    if cell.test not in TESTS:
        print(f"UNSUPPORTED: test case {cell.test!r} (known: {', '.join(TESTS)})", flush=True)
        return EXIT_UNSUPPORTED
    # Finish, with a verdict, well before the orchestrator's own kill deadline.
    budget = 0.8 * float(os.environ.get("TEST_TIMEOUT", "25"))
    return asyncio.run(run_client(cell, budget))


if __name__ == "__main__":
    sys.exit(main())
