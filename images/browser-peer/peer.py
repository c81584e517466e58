"""Browser peer of the peer contract (docs/contract.md): a wrapper around a headless browser.

The WebRTC logic runs in page/peer.js, a real page using the standard RTCPeerConnection
API. This wrapper serves that page on 127.0.0.1, starts the browser on it with a fresh
profile, and relays between the page (a WebSocket on localhost) and the outside world,
which the page cannot reach itself: peer servers send no CORS headers, and a page
cannot listen on a port. No WebDriver is involved.

  peer.py server        browser ready -> listen on 0.0.0.0:8080; POST /offer -> page -> answer
  peer.py client URL    page offers -> POST to URL -> answer -> page -> verdict -> exit code

Client exit codes: 0 only when the page observed the test's condition, 1 on any failure
(including a browser that crashes or never loads the page, and the time budget running
out), 127 for an unknown test case. The server exits non-zero if the browser dies.
"""

import time

STARTED = time.monotonic()  # the client's time budget counts from here, before the imports

import asyncio  # noqa: E402 (slow imports after the clock starts)
import collections
import itertools
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp
from aiohttp import web

import browsers

EXIT_PASSED, EXIT_FAILED, EXIT_UNSUPPORTED = 0, 1, 127
PORT = 8080
TESTS = ("peerconnection", "datachannel", "audio", "video")
PAGE_DIR = Path(__file__).resolve().parent / "page"
POST_RETRY_S = 10.0  # clients retry the offer while the server container starts
SERVER_READY_TIMEOUT_S = 60.0  # browser start-up, server role (nobody waits on us yet)
ANSWER_TIMEOUT_S = 15.0  # the page's answer to one offer, server role
BROWSER_OUTPUT_LINES = 15  # how much of the browser's own output a failure quotes

log = logging.getLogger("peer")
page_log = logging.getLogger("page")


class TestFailed(Exception):
    pass


class PageGone(Exception):
    pass


def setup_logging() -> None:
    level = logging.DEBUG if os.environ.get("PEER_DEBUG") else logging.INFO
    logging.basicConfig(
        stream=sys.stdout, level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


async def first_of(timeout: float | None, **waitables: asyncio.Future) -> str | None:
    """Name of the first of the futures to finish, or None when the timeout ran out."""
    done, _ = await asyncio.wait(
        waitables.values(), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    return next((name for name, future in waitables.items() if future in done), None)


class Page:
    """The local site that serves the page, and the page's end of the WebSocket."""

    def __init__(self, role: str) -> None:
        loop = asyncio.get_running_loop()
        self.role = role
        self.ready: asyncio.Future[dict] = loop.create_future()  # loaded, WebRTC works
        self.gone: asyncio.Future[None] = loop.create_future()  # socket closed again
        self.result: asyncio.Future[dict] = loop.create_future()  # client verdict
        self.status = "the page reported nothing yet"
        self.lines: list[str] = []  # NEGOTIATED:/RECEIVED: lines, as last reported
        self.on_offer = None  # client role: coroutine function(offer dict)
        self._socket: web.WebSocketResponse | None = None
        self._replies: dict[int, asyncio.Future[dict]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Serve the page on 127.0.0.1 (a free port); return the URL the browser opens."""
        app = web.Application()
        app.router.add_get("/ws", self._websocket)
        app.router.add_static("/page/", PAGE_DIR)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/page/index.html?role={self.role}"

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send(self, message: dict) -> None:
        if self._socket is None or self._socket.closed:
            raise PageGone("the page is not connected")
        await self._socket.send_json(message)

    async def request(self, message: dict) -> dict:
        """Send a message carrying an id and wait for the page's reply with that id."""
        reply = asyncio.get_running_loop().create_future()
        self._replies[message["id"]] = reply
        try:
            await self.send(message)
            return await reply
        finally:
            self._replies.pop(message["id"], None)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await socket.prepare(request)
        if self._socket is not None:  # one page per wrapper: a reload is a broken run
            log.warning("a second page connection was refused")
            await socket.close()
            return socket
        self._socket = socket
        try:
            async for message in socket:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._dispatch(json.loads(message.data))
        finally:
            for reply in self._replies.values():
                if not reply.done():
                    reply.set_exception(PageGone("the page disconnected"))
            if not self.gone.done():
                self.gone.set_result(None)
        return socket

    def _dispatch(self, message: dict) -> None:
        op = message.get("op")
        if op == "log":
            page_log.info("%s", message.get("text"))
        elif op == "ready" and not self.ready.done():
            self.ready.set_result(message)
        elif op == "fatal":
            page_log.error("%s", message.get("reason"))
            if not self.ready.done():
                self.ready.set_exception(TestFailed(message.get("reason", "fatal page error")))
        elif op in ("answer", "reject"):
            reply = self._replies.get(message.get("id"))
            if reply is not None and not reply.done():
                reply.set_result(message)
        elif op == "status":
            self.status = message.get("text", self.status)
            self.lines = message.get("lines", self.lines)
        elif op == "result" and not self.result.done():
            self.lines = message.get("lines", self.lines)
            self.result.set_result(message)
        elif op == "offer" and self.on_offer is not None:
            task = asyncio.ensure_future(self.on_offer(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            log.warning("unexpected message from the page: %.200s", message)


class BrowserProcess:
    """One headless browser (and its sidecars) with a fresh profile.

    Every process runs in its own process group, killed as a whole at the end."""

    def __init__(self, browser: browsers.Browser) -> None:
        self.browser = browser
        self.output: collections.deque[str] = collections.deque(maxlen=BROWSER_OUTPUT_LINES)
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._processes: list[asyncio.subprocess.Process] = []
        self._readers: list[asyncio.Task] = []
        self._root = Path(tempfile.mkdtemp(prefix=f"{browser.name}-"))
        self.started_at = 0.0

    async def _spawn(self, name: str, command: list[str], env: dict[str, str],
                     keep_output: bool) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True,
        )
        self._processes.append(process)
        self._readers.append(asyncio.ensure_future(self._read_output(name, process, keep_output)))
        return process

    async def start(self, url: str) -> None:
        profile, home = self._root / "profile", self._root / "home"
        profile.mkdir()
        home.mkdir()
        self.browser.prepare_profile(profile)
        env = {**os.environ, **self.browser.env, "HOME": str(home)}
        for sidecar in self.browser.sidecars(self._root):
            started = time.monotonic()
            process = await self._spawn(sidecar.name, sidecar.command, env, keep_output=False)
            while not sidecar.ready_path.exists():
                if process.returncode is not None or time.monotonic() - started > 5:
                    log.warning("%s did not start (exit code %s); going on without it",
                                sidecar.name, process.returncode)
                    break
                await asyncio.sleep(0.02)
            else:
                log.info("%s ready in %.2f s", sidecar.name, time.monotonic() - started)
        env.update(self.browser.sidecar_env(self._root))
        command = self.browser.command(url, profile)
        log.info("starting %s: %s", self.browser.name, " ".join(command))
        self.started_at = time.monotonic()
        await self._spawn(self.browser.name, command, env, keep_output=True)

    async def _read_output(self, name: str, process: asyncio.subprocess.Process,
                           keep_output: bool) -> None:
        """Log a process's output (debug level); the browser's last lines and its exit
        code make failure reasons."""
        assert process.stdout is not None
        output_log = logging.getLogger(name)
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line:
                if keep_output:
                    self.output.append(line)
                output_log.debug("%s", line)
        code = await process.wait()
        if keep_output and not self.exited.done():
            self.exited.set_result(code)
        elif not keep_output:
            log.warning("%s exited with code %s", name, code)

    def describe_exit(self) -> str:
        code = self.exited.result() if self.exited.done() else None
        last = " | ".join(list(self.output)[-5:]) or "no output"
        return f"{self.browser.name} exited with code {code} (last output: {last})"

    async def stop(self) -> None:
        for reader in self._readers:
            reader.cancel()  # no "exited" warnings for what we kill on purpose
        for process in reversed(self._processes):  # the browser first, then its sidecars
            if process.returncode is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the profile is thrown away anyway
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                log.warning("process %d did not exit after SIGKILL", process.pid)
        shutil.rmtree(self._root, ignore_errors=True)


def stop_signal() -> asyncio.Future[None]:
    """Resolves on SIGTERM/SIGINT (as PID 1 in a container, Python ignores SIGTERM otherwise)."""
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    return stop


async def start_browser(role: str, timeout: float) -> tuple[Page, BrowserProcess]:
    """Serve the page, start the browser on it, wait until the page says it is ready."""
    browser = browsers.current()
    page = Page(role)
    process = BrowserProcess(browser)
    try:
        try:
            await process.start(await page.start())
        except OSError as error:  # e.g. the binary is missing
            raise TestFailed(f"cannot start {browser.name}: {error}") from error
        first = await first_of(timeout, ready=page.ready, exited=process.exited)
        if first is None:
            last = " | ".join(list(process.output)[-5:]) or "no output"
            raise TestFailed(f"{browser.name} did not load the page within {timeout:.1f} s "
                             f"(last output: {last})")
        if first == "exited":
            raise TestFailed(f"{process.describe_exit()} before the page was ready")
        ready = page.ready.result()  # raises TestFailed for a fatal page error
    except BaseException:
        await process.stop()
        await page.stop()
        raise
    log.info("%s ready in %.1f s: %s", browser.name, time.monotonic() - process.started_at,
             ready.get("userAgent"))
    log.info("page self-test gathered: %s", ready.get("gathered"))
    return page, process


# ---------------------------------------------------------------------------
# Server role


async def run_server() -> int:
    stop = stop_signal()
    try:
        page, process = await start_browser("server", SERVER_READY_TIMEOUT_S)
    except TestFailed as error:
        log.error("cannot start: %s", error)
        return EXIT_FAILED
    ids = itertools.count(1)

    async def offer(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
            kind, sdp = body["type"], body["sdp"]
            if not isinstance(kind, str) or not isinstance(sdp, str):
                raise TypeError("type and sdp must be strings")
        except (ValueError, KeyError, TypeError) as error:
            return web.json_response(
                {"error": f"not an RTCSessionDescriptionInit: {error}"}, status=400)
        if kind != "offer":
            return web.json_response({"error": f"expected type 'offer', got {kind!r}"}, status=400)
        peer_id = next(ids)
        log.info("peer%d: offer from %s (%d bytes of SDP)", peer_id, request.remote, len(sdp))
        log.debug("peer%d: offer SDP:\n%s", peer_id, sdp)
        started = time.monotonic()
        try:
            reply = await asyncio.wait_for(
                page.request({"op": "offer", "id": peer_id, "sdp": sdp}), ANSWER_TIMEOUT_S)
        except TimeoutError:
            log.warning("peer%d: no answer from the page within %.0f s", peer_id, ANSWER_TIMEOUT_S)
            return web.json_response(
                {"error": f"the browser did not answer within {ANSWER_TIMEOUT_S:.0f} s"},
                status=504)
        except PageGone as error:
            return web.json_response({"error": f"the browser is gone: {error}"}, status=503)
        if reply["op"] == "reject":
            log.warning("peer%d: rejected offer: %s", peer_id, reply.get("reason"))
            return web.json_response(
                {"error": f"cannot answer this offer: {reply.get('reason')}"}, status=400)
        log.info("peer%d: answered in %.2f s", peer_id, time.monotonic() - started)
        log.debug("peer%d: answer SDP:\n%s", peer_id, reply["sdp"])
        return web.json_response({"type": "answer", "sdp": reply["sdp"]})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/offer", offer)
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
            log.error("the page disconnected (renderer crash?) while %s kept running; "
                      "the server cannot go on", process.browser.name)
        return EXIT_FAILED
    finally:
        stopping = time.monotonic()
        await process.stop()
        await runner.cleanup()
        await page.stop()
        log.info("shut down in %.1f s", time.monotonic() - stopping)


# ---------------------------------------------------------------------------
# Client role


async def post_offer(url: str, offer: dict, deadline: float) -> dict:
    """POST the offer, retrying while the server is still starting."""
    loop = asyncio.get_running_loop()
    give_up = min(loop.time() + POST_RETRY_S, deadline)
    payload = {"type": offer.get("type", "offer"), "sdp": offer["sdp"]}
    async with aiohttp.ClientSession() as session:
        while True:
            timeout = aiohttp.ClientTimeout(total=max(1.0, deadline - loop.time()))
            try:
                async with session.post(url, json=payload, timeout=timeout) as response:
                    text = await response.text()
                    if response.status != 200:
                        raise TestFailed(f"server answered HTTP {response.status}: {text[:200]}")
                    try:
                        body = json.loads(text)
                        if body["type"] != "answer" or not isinstance(body["sdp"], str):
                            raise ValueError(f"type {body['type']!r}")
                    except (ValueError, KeyError, TypeError) as error:
                        raise TestFailed(f"server's reply is not an answer: {error}: "
                                         f"{text[:200]}") from error
                    return body
            except aiohttp.ClientConnectionError as error:
                if loop.time() > give_up:
                    raise TestFailed(f"cannot reach {url}: {error}") from error
                await asyncio.sleep(0.25)


async def client_session(url: str, test: str, budget: float) -> tuple[bool, str, list[str]]:
    """Run one test case in the page; (passed, detail, NEGOTIATED/RECEIVED lines)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget - (time.monotonic() - STARTED)
    stop = stop_signal()
    page, process = await start_browser("client", max(0.0, deadline - loop.time()))
    try:
        async def forward(offer: dict) -> None:
            log.info("forwarding the page's offer to %s", url)
            log.debug("offer SDP:\n%s", offer.get("sdp"))
            try:
                answer = await post_offer(url, offer, deadline)
            except TestFailed as error:
                if not page.result.done():
                    page.result.set_exception(error)
                return
            log.info("got answer (%d bytes of SDP)", len(answer["sdp"]))
            log.debug("answer SDP:\n%s", answer["sdp"])
            await page.send({"op": "answer", "sdp": answer["sdp"]})

        page.on_offer = forward
        await page.send({"op": "start", "test": test})
        first = await first_of(max(0.0, deadline - loop.time()), result=page.result,
                               exited=process.exited, gone=page.gone, stop=stop)
        if first is None:
            return False, f"no result within {budget:.0f} s ({page.status})", page.lines
        if first == "exited":
            return False, f"{process.describe_exit()} during the test", page.lines
        if first == "gone":
            if await first_of(1.0, exited=process.exited):
                return False, f"{process.describe_exit()} during the test", page.lines
            return False, f"the page disconnected during the test ({page.status})", page.lines
        if first == "stop":
            return False, "terminated by a signal", page.lines
        result = page.result.result()  # raises TestFailed from forward()
        return bool(result.get("ok")), str(result.get("detail")), page.lines
    except TestFailed as error:
        return False, str(error), page.lines
    finally:
        await process.stop()
        await page.stop()


async def run_client(url: str, test: str, budget: float) -> int:
    try:
        passed, detail, lines = await client_session(url, test, budget)
    except TestFailed as error:  # the browser never got ready
        passed, detail, lines = False, str(error), []
    log.info("finished in %.1f s", time.monotonic() - STARTED)
    for line in lines:
        print(line, flush=True)
    detail = " ".join(detail.split())  # the verdict must be one line, the last one
    print(f"{'PASS' if passed else 'FAIL'}: {test}: {detail}", flush=True)
    return EXIT_PASSED if passed else EXIT_FAILED


def main() -> int:
    setup_logging()
    role = sys.argv[1] if len(sys.argv) > 1 else "server"
    if role == "server" and len(sys.argv) <= 2:
        return asyncio.run(run_server())
    if role != "client" or len(sys.argv) != 3:
        print("usage: peer.py server | peer.py client <server offer URL>", file=sys.stderr)
        return EXIT_FAILED
    test = os.environ.get("TEST_CASE", "datachannel")
    if test not in TESTS:
        print(f"UNSUPPORTED: test case {test!r} (known: {', '.join(TESTS)})", flush=True)
        return EXIT_UNSUPPORTED
    # Finish, with a verdict, well before the orchestrator's own kill deadline.
    budget = 0.8 * float(os.environ.get("TEST_TIMEOUT", "25"))
    return asyncio.run(run_client(sys.argv[2], test, budget))


if __name__ == "__main__":
    sys.exit(main())
