"""The wrapper's side of the page: the local site that serves it, the WebSocket it talks
over, and the headless browser (with a fresh profile) that runs it.

Messages are JSON objects with an `op`; a request carries an `id` and is answered by
`{op: "reply", id, ...}`, in both directions (see page/peer.js for the list).
"""

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import browsers
from aiohttp import web
from environment import Environment
from keylog import KeyLogTail

PAGE_DIR = Path(__file__).resolve().parent / "page"
BROWSER_OUTPUT_LINES = 15  # how much of the browser's own output a failure quotes

log = logging.getLogger("peer")
page_log = logging.getLogger("page")


class TestFailed(Exception):
    pass


class PageGone(Exception):
    pass


async def first_of(timeout: float | None, **waitables: asyncio.Future) -> str | None:
    """Name of the first of the futures to finish, or None when the timeout ran out."""
    done, _ = await asyncio.wait(
        waitables.values(), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    return next((name for name, future in waitables.items() if future in done), None)


class Page:
    """The local site that serves the page, and the page's end of the WebSocket."""

    def __init__(self, env: Environment) -> None:
        loop = asyncio.get_running_loop()
        self.env = env
        self.ready: asyncio.Future[dict] = loop.create_future()  # loaded, WebRTC works
        self.gone: asyncio.Future[None] = loop.create_future()  # socket closed again
        self.result: asyncio.Future[dict] = loop.create_future()  # client verdict
        self.status = "the page reported nothing yet"
        self.lines: list[str] = []  # NEGOTIATED:/RECEIVED:/... lines, as last reported
        # Client role: performs the page's HTTP requests; returns the reply's fields.
        self.on_http: Callable[[dict], Awaitable[dict]] | None = None
        self._socket: web.WebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Serve the page on 127.0.0.1 (a free port); return the URL the browser opens."""
        app = web.Application()
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/config", self._config)
        app.router.add_static("/page/", PAGE_DIR)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/page/index.html?role={self.env.role}"

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
        """Send a request (an id is added) and wait for the page's reply to it."""
        request_id = next(self._ids)
        reply = asyncio.get_running_loop().create_future()
        self._replies[request_id] = reply
        try:
            await self.send({**message, "id": request_id})
            return await reply
        finally:
            self._replies.pop(request_id, None)

    async def _config(self, request: web.Request) -> web.Response:
        return web.json_response(self.env.for_page())

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=64 * 1024 * 1024)
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
        elif op == "reply":
            reply = self._replies.get(message.get("id"))
            if reply is not None and not reply.done():
                reply.set_result(message)
        elif op == "status":
            self.status = message.get("text", self.status)
            self.lines = message.get("lines", self.lines)
        elif op == "result" and not self.result.done():
            self.lines = message.get("lines", self.lines)
            self.result.set_result(message)
        elif op == "http" and self.on_http is not None:
            self._spawn(self._answer_http(message))
        else:
            log.warning("unexpected message from the page: %.200s", message)

    def _spawn(self, coroutine: Awaitable) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_http(self, message: dict) -> None:
        assert self.on_http is not None
        reply = await self.on_http(message)
        with contextlib.suppress(PageGone, ConnectionError):  # the test is over anyway
            await self.send({"op": "reply", "id": message.get("id"), **reply})


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
        self.keylog: KeyLogTail | None = None
        self.started_at = self.started_wall = 0.0

    async def _spawn(
        self, name: str, command: list[str], env: dict[str, str], keep_output: bool
    ) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self._processes.append(process)
        self._readers.append(asyncio.ensure_future(self._read_output(name, process, keep_output)))
        return process

    async def _start_sidecars(self, env: dict[str, str]) -> None:
        for sidecar in self.browser.sidecars(self._root):
            started = time.monotonic()
            process = await self._spawn(sidecar.name, sidecar.command, env, keep_output=False)
            while not sidecar.ready_path.exists():
                if process.returncode is not None or time.monotonic() - started > 5:
                    log.warning(
                        "%s did not start (exit code %s); going on without it",
                        sidecar.name,
                        process.returncode,
                    )
                    break
                await asyncio.sleep(0.02)
            else:
                log.info("%s ready in %.2f s", sidecar.name, time.monotonic() - started)

    async def start(self, url: str, cell: Environment) -> None:
        profile, home = self._root / "profile", self._root / "home"
        home.mkdir()
        self.browser.prepare_profile(profile)
        if cell.ice_ca_pem:
            log.info(
                "trusting ICE_CA_PEM: %s",
                self.browser.trust_ca(cell.ice_ca_pem, profile, home, self._root),
            )
        env = {**os.environ, **self.browser.env, "HOME": str(home)}
        env.pop("SSLKEYLOGFILE", None)
        if self.browser.keylog:
            path = self._root / "keylog.txt"
            env["SSLKEYLOGFILE"] = str(path)
            self.keylog = KeyLogTail(path)
            self.keylog.start()
        await self._start_sidecars(env)
        env.update(self.browser.sidecar_env(self._root))
        command = self.browser.command(url, profile)
        log.info("starting %s: %s", self.browser.name, " ".join(command))
        self.started_at, self.started_wall = time.monotonic(), time.time()
        await self._spawn(self.browser.name, command, env, keep_output=True)

    async def _read_output(
        self, name: str, process: asyncio.subprocess.Process, keep_output: bool
    ) -> None:
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
            with contextlib.suppress(ProcessLookupError):  # the profile is thrown away anyway
                os.killpg(process.pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                log.warning("process %d did not exit after SIGKILL", process.pid)
        if self.keylog is not None:
            self.keylog.stop()
        shutil.rmtree(self._root, ignore_errors=True)


async def start_browser(cell: Environment, timeout: float) -> tuple[Page, BrowserProcess]:
    """Serve the page, start the browser on it, wait until the page says it is ready."""
    browser = browsers.current()
    page = Page(cell)
    process = BrowserProcess(browser)
    try:
        try:
            await process.start(await page.start(), cell)
        except (OSError, RuntimeError) as error:  # e.g. a missing binary, certutil failing
            raise TestFailed(f"cannot start {browser.name}: {error}") from error
        first = await first_of(timeout, ready=page.ready, exited=process.exited)
        if first is None:
            last = " | ".join(list(process.output)[-5:]) or "no output"
            raise TestFailed(
                f"{browser.name} did not load the page within {timeout:.1f} s (last output: {last})"
            )
        if first == "exited":
            raise TestFailed(f"{process.describe_exit()} before the page was ready")
        ready = page.ready.result()  # raises TestFailed for a fatal page error
    except BaseException:
        await process.stop()
        await page.stop()
        raise
    # Where start-up time goes: the browser until it requests the page, then the page
    # (load, scripts, the self-test's ICE gathering).
    navigation = float(ready.get("navigationStart") or 0) / 1000 - process.started_wall
    log.info(
        "%s ready in %.1f s (page requested after %.1f s, self-test %.2f s): %s",
        browser.name,
        time.monotonic() - process.started_at,
        navigation,
        float(ready.get("selfTestMs") or 0) / 1000,
        ready.get("userAgent"),
    )
    log.info("page self-test gathered: %s", ready.get("gathered"))
    return page, process
