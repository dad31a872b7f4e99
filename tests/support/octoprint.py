"""A real OctoPrint 1.11 with its virtual printer for tests: installed once, started per test, always stopped.

OctoPrint is installed from PyPI into a virtualenv of its own under the project's git-ignored build dir
(its pinned dependencies are many and not ours) and reused by later runs. A template base dir (config that
skips the wizard and connects the virtual printer, an admin user with a known API key) is made once next to
it and copied for every server, so a start costs only OctoPrint's own boot. If the install fails (no
network), `require()` skips the test with the reason. Facts this relies on: shared/OCTOPRINT.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.cluster import HOST, REPO, Response, free_ports, http, wait_for

PIN = "octoprint>=1.11,<1.12"
BUILD = Path(os.environ.get("PRINTFARM_BUILD_DIR", REPO / "build"))
VENV = BUILD / "octoprint-venv"
TEMPLATE = BUILD / "octoprint-template"
STAMP = VENV / ".printfarm-installed"
API_KEY = "printfarm-test-key-0123456789abcdef"
PASSWORD = "printfarm-test-password"
INSTALL_TIMEOUT = 900.0

CONFIG_YAML = """\
accessControl: {autologinLocal: false}
server: {firstRun: false, onlineCheck: {enabled: false}, pluginBlacklist: {enabled: false},
  seenWizards: {corewizard: 4}}
devel: {virtualPrinter: {enabled: true}}
plugins: {virtual_printer: {enabled: true}, softwareupdate: {enabled: false}, tracking: {enabled: false},
  announcements: {enabled: false}, errortracking: {enabled: false}}
serial: {autoconnect: true, port: VIRTUAL, baudrate: 250000}
"""


class OctoPrintUnavailable(RuntimeError):
    """OctoPrint could not be installed or prepared here (the message says why)."""


def _octoprint_bin() -> Path:
    return VENV / "bin" / "octoprint"


def _run(argv: list[str], timeout: float, what: str) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OctoPrintUnavailable(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-8:]
        raise OctoPrintUnavailable(f"{what} failed (exit {done.returncode}): " + " | ".join(tail))


def _install() -> None:
    if VENV.exists():
        shutil.rmtree(VENV)
    _run([sys.executable, "-m", "venv", str(VENV)], 120, "creating the OctoPrint virtualenv")
    python = str(VENV / "bin" / "python")
    _run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PIN],
        INSTALL_TIMEOUT,
        f"pip install '{PIN}'",
    )


def _make_template() -> None:
    """A base dir with the config and an admin user whose API key is API_KEY (users.yaml edited before any
    server start: `user add` leaves `apikey: null`; /api/login needs a CSRF token, so the key is the way)."""
    staging = TEMPLATE.with_name(TEMPLATE.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "config.yaml").write_text(CONFIG_YAML)
    _run(
        [str(_octoprint_bin()), "--basedir", str(staging), "user", "add", "--password", PASSWORD, "--admin",
         "admin"],
        300,
        "octoprint user add",
    )
    users = staging / "users.yaml"
    text = users.read_text()
    if "apikey: null" not in text:
        raise OctoPrintUnavailable(f"unexpected users.yaml from `octoprint user add`: {text[:200]!r}")
    users.write_text(text.replace("apikey: null", f"apikey: {API_KEY}", 1))
    shutil.rmtree(TEMPLATE, ignore_errors=True)
    staging.rename(TEMPLATE)


_failure: str | None = None


def ensure_installed() -> Path:
    """OctoPrint's executable, installing it (once per build dir, serialized across processes) if needed.
    Raises OctoPrintUnavailable; a failure is remembered for the rest of this process (no retry storm)."""
    global _failure
    if _failure is not None:
        raise OctoPrintUnavailable(_failure)
    if STAMP.exists() and (TEMPLATE / "users.yaml").exists():
        return _octoprint_bin()
    BUILD.mkdir(parents=True, exist_ok=True)
    try:
        with (BUILD / "octoprint.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest process may be installing it right now
            if not STAMP.exists():
                _install()
                STAMP.write_text(PIN + "\n")
            if not (TEMPLATE / "users.yaml").exists():
                _make_template()
    except OctoPrintUnavailable as exc:
        _failure = str(exc)
        raise
    return _octoprint_bin()


def require() -> Path:
    """ensure_installed() for a test: skip it, with the reason, when OctoPrint cannot be had here."""
    import pytest

    try:
        return ensure_installed()
    except OctoPrintUnavailable as exc:
        pytest.skip(f"no OctoPrint for this test: {exc}")


def make_gcode(
    layers: int = 10, extrude_per_move: float = 1.5, dwell_ms: int = 0, feedrate: int = 6000
) -> bytes:
    """A short G-code file: `layers` layers of 4 extruding moves of 20 mm at `feedrate` mm/min (absolute E
    from a G92 E0 start). OctoPrint's analysis reports layers * 4 * extrude_per_move mm of filament; the
    virtual printer takes about as long as the moves would. `dwell_ms` adds a G4 pause per layer."""
    lines = ["; printfarm test print", "G21", "G90", "M82", "G28", "G92 E0"]
    extruded = 0.0
    corners = ((10, 10), (30, 10), (30, 30), (10, 30))
    for layer in range(layers):
        lines.append(f"G1 Z{0.2 * (layer + 1):.2f} F600")
        for x, y in corners:
            extruded += extrude_per_move
            lines.append(f"G1 X{x} Y{y} E{extruded:.3f} F{feedrate}")
        if dwell_ms:
            lines.append(f"G4 P{dwell_ms}")
    lines += ["M84", ""]
    return "\n".join(lines).encode()


def _multipart(field_name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "printfarm" + os.urandom(8).hex()
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class OctoPrint:
    """One `octoprint serve` on 127.0.0.1 with its own copy of the template base dir."""

    basedir: Path
    port: int = 0
    api_key: str = API_KEY
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.basedir.with_name(self.basedir.name + ".log")
        if not self.port:
            self.port = free_ports(1)[0]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        executable = ensure_installed()
        if not self.basedir.exists():
            shutil.copytree(TEMPLATE, self.basedir)
        log = self.log_path.open("ab")
        argv = [str(executable), "serve", "--iknowwhatimdoing", "--basedir", str(self.basedir),
                "--host", HOST, "--port", str(self.port)]
        log.write(f"\n===== {' '.join(argv)}\n".encode())
        log.flush()
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_operational(self, timeout: float = 90.0) -> None:
        """Until /api/connection says the virtual printer is Operational (OctoPrint boots in ~5-20 s)."""

        def operational() -> bool:
            if not self.alive():
                raise OctoPrintUnavailable(f"octoprint exited early; log:\n{self.log_tail()}")
            reply = self.get("/api/connection", timeout=3)
            return reply.status == 200 and reply.json()["current"]["state"] == "Operational"

        try:
            wait_for(operational, timeout, interval=0.25, what="OctoPrint to be Operational")
        except OctoPrintUnavailable:
            raise
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from exc

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (OctoPrint shuts down cleanly), SIGKILL after `timeout`."""
        if self.process is None:
            return
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process.wait(timeout=10)

    def kill(self) -> None:
        if self.process is not None and self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # --- its REST API ----------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Response:
        headers = {"X-Api-Key": self.api_key, **kwargs.pop("headers", {})}
        return http(method, self.url + path, body, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, body, **kwargs)

    def upload(self, name: str, content: bytes, wait_analysed: bool = True) -> dict[str, Any]:
        """Upload `content` as local file `name`; with `wait_analysed`, wait until OctoPrint's analysis has
        put the filament length on it (what a connection turns into grams)."""
        body, content_type = _multipart("file", name, content)
        reply = self.request("POST", "/api/files/local", body, headers={"Content-Type": content_type})
        assert reply.status == 201, (reply.status, reply.body)
        if wait_analysed:
            wait_for(lambda: self.filament_length(name) is not None, 30, 0.1, f"analysis of {name}")
        return reply.json()

    def file_info(self, name: str) -> dict[str, Any] | None:
        reply = self.get(f"/api/files/local/{name}")
        return reply.json() if reply.status == 200 else None

    def filament_length(self, name: str) -> float | None:
        info = self.file_info(name) or {}
        tool0 = info.get("gcodeAnalysis", {}).get("filament", {}).get("tool0") or {}
        return tool0.get("length")

    def prints(self, name: str) -> dict[str, int]:
        """How often OctoPrint has finished printing `name`: {"success": N, "failure": M}."""
        prints = (self.file_info(name) or {}).get("prints") or {}
        return {"success": prints.get("success", 0), "failure": prints.get("failure", 0)}

    def print_file(self, name: str) -> Response:
        return self.post(f"/api/files/local/{name}", {"command": "select", "print": True})

    def job(self) -> dict[str, Any]:
        reply = self.get("/api/job")
        assert reply.status == 200, (reply.status, reply.body)
        return reply.json()

    def state(self) -> str:
        return self.job()["state"]

    def pause(self, action: str = "pause") -> Response:
        return self.post("/api/job", {"command": "pause", "action": action})

    def cancel(self) -> Response:
        return self.post("/api/job", {"command": "cancel"})


@contextlib.contextmanager
def running_octoprint(directory: Path, name: str = "octoprint") -> Iterator[OctoPrint]:
    """An Operational OctoPrint under `directory`, stopped however the block ends."""
    server = OctoPrint(directory / name)
    try:
        server.start()
        server.wait_operational()
        yield server
    finally:
        server.stop()


def wait_state(server: OctoPrint, states: set[str], timeout: float = 30.0) -> str:
    def reached() -> str | None:
        state = server.state()
        return state if state in states else None

    return wait_for(reached, timeout, 0.1, f"OctoPrint state in {states}")


def monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


if __name__ == "__main__":  # `make octoprint`: install before the tests run (no test's timeout pays for it)
    try:
        print(f"OctoPrint for the tests: {ensure_installed()}")
    except OctoPrintUnavailable as exc:
        print(f"OctoPrint tests will be skipped: {exc}", file=sys.stderr)
