"""A small Chrome DevTools Protocol client over `--remote-debugging-pipe`, for headless Chromium.

No websocket, no downloaded browser: Chromium reads NUL-terminated JSON commands on fd 3
and writes responses and events on fd 4. `render_page` opens a local HTML file, records
every console message, uncaught exception, log error and network request, and returns a
PNG screenshot of the whole page, the page printed to PDF (A4) and the page's text.
Host names resolve to nothing (`--host-resolver-rules`), so a page that tries the network
fails loudly rather than quietly depending on it.

    python -m tests.chromium page.html out.png   # the screenshot in docs/
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The Chromium executable, or None when none is installed."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageResult:
    """What the browser saw: the outputs, and everything that went wrong while loading."""

    png: bytes = b""
    pdf: bytes = b""
    text: str = ""
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL requested
    failed: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # what each expression asked for evaluated to

    def foreign_requests(self, page_url: str) -> list[str]:
        """Requests for anything but the page itself (or inline data)."""
        return [u for u in self.requests if u != page_url and not u.startswith("data:")]


class Browser:
    """One headless Chromium process driven over its debugging pipe."""

    def __init__(self, executable: str, timeout: float = 60) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="facturier-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Moved above fd 4, so that placing one on 3 or 4 in the child cannot overwrite the other.
        to_chrome_r, from_chrome_w = (_high(fd) for fd in (to_chrome_r, from_chrome_w))
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
                 "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
                 "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={self.profile}", "about:blank"]
        def as_fds_3_and_4() -> None:  # in the child, before exec: the pipe ends Chromium expects
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        # close_fds=False keeps 3 and 4 (Python opens every other descriptor non-inheritable).
        self.proc = subprocess.Popen([executable, *flags], preexec_fn=as_fds_3_and_4, close_fds=False,  # noqa: PLW1509 (two dup2 calls only)
                                     
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and wait for its answer (events meanwhile are kept in `events`)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        """Wait for an event (or return the one already received)."""
        for ev in self.events:
            if ev["method"] == method:
                return ev
        while True:
            reply = self._receive()
            if "method" in reply:
                self.events.append(reply)
                if reply["method"] == method:
                    return reply

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_chrome], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its debugging pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def close(self) -> None:
        """Close the browser and remove its profile."""
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


def _high(fd: int) -> int:
    """The same pipe end on a descriptor number of 10 or more (the original is closed)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def render_page(executable: str, page: Path, width: int = 900,
                expressions: dict[str, str] | None = None) -> PageResult:
    """Load a local page headless; its screenshot, PDF, text, and every error and request seen;
    `expressions` (name -> JavaScript) are evaluated in the loaded page, their values returned."""
    browser = Browser(executable)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": 1200, "deviceScaleFactor": 1, "mobile": False}, session=session)
        browser.events.clear()
        url = page.resolve().as_uri()
        browser.send("Page.navigate", {"url": url}, session=session)
        browser.wait_for("Page.loadEventFired")
        height = browser.send("Runtime.evaluate", {"expression": "document.documentElement.scrollHeight",
                                                    "returnByValue": True}, session=session)["result"]["value"]
        shot = browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}, session=session)
        pdf = browser.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True,
                                               "paperWidth": 8.27, "paperHeight": 11.69}, session=session)
        text = browser.send("Runtime.evaluate", {"expression": "document.body.innerText", "returnByValue": True},
                            session=session)["result"]["value"]
        result = PageResult(base64.b64decode(shot["data"]), base64.b64decode(pdf["data"]), text)
        for name, expression in (expressions or {}).items():
            result.values[name] = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                               session=session)["result"].get("value")
        _collect(browser.events, result)
        return result
    finally:
        browser.close()


def _collect(events: list[dict[str, Any]], result: PageResult) -> None:
    for ev in events:
        method, params = ev["method"], ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            result.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                  for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            result.console_errors.append(str(params.get("exceptionDetails", {}).get("text", "exception")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            entry = params["entry"]
            result.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            result.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            result.failed.append(f"{params.get('errorText')} ({params.get('blockedReason', '')})")


def main() -> None:
    """python -m tests.chromium PAGE.html OUT.png: the full-page screenshot of a page."""
    executable = find_chromium()
    if executable is None:
        raise SystemExit("Chromium is not installed")
    result = render_page(executable, Path(sys.argv[1]))
    if result.console_errors or result.failed:
        raise SystemExit(f"the page had errors: {result.console_errors + result.failed}")
    Path(sys.argv[2]).write_bytes(result.png)


if __name__ == "__main__":
    main()
