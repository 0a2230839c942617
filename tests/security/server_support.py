"""Real servers for the security suite: ``ofsted-homes serve`` started as a
subprocess on a free loopback port, talked to over real HTTP (http.client, so
that a test can send any path, Host header or source address an attacker
would), with the database file's SHA-256 taken before and checked after.

The registry is the publishing tests' hand-built one (tests/publish/conftest.py,
``build_registry``), copied per server so that no other test shares the file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from datasette.utils import tilde_encode
from publish.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
# the command installed beside the Python running the tests (any venv)
COMMAND = Path(sys.executable).parent / "ofsted-homes"
PASSWORD = "correct horse battery staple"
PASSWORD_ENV = "OFSTED_HOMES_INSPECTOR_PASSWORD_HASH"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def cookies(self) -> dict[str, str]:
        found = {}
        for line in self.headers.get_all("set-cookie") or []:
            name, _, rest = line.partition("=")
            found[name.strip()] = rest.split(";", 1)[0]
        return found


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    db_path: Path
    sha_before: str
    host: str = "127.0.0.1"
    cookies: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | list | None = None,
        headers: dict | None = None,
        body: bytes | None = None,
        source: str = "127.0.0.1",
        cookies: dict | None = None,
        timeout: float = 60,
    ) -> Reply:
        """One request, sent as written (``path`` is not re-encoded)."""
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=timeout, source_address=(source, 0)
        )
        sent = dict(headers or {})
        jar = {**self.cookies, **(cookies or {})}
        if jar:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def sql(self, sql: str, fmt: str = ".json", cookies=None, **params) -> Reply:
        """Arbitrary SQL against the served database, in format ``fmt``."""
        database = tilde_encode(self.db_path.stem)
        return self.get(
            f"/{database}{fmt}", params={"sql": sql, **params}, cookies=cookies
        )

    def post_form(self, path: str, form: dict, *, source="127.0.0.1", cookies=None):
        """A form POST as a browser sends it: the CSRF token from the page."""
        page = self.get(path, source=source, cookies=cookies)
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)[1]
        jar = {**(cookies or {}), "ds_csrftoken": page.cookies()["ds_csrftoken"]}
        return self.request(
            "POST",
            path,
            body=urlencode({**form, "csrftoken": token}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            source=source,
            cookies=jar,
        )

    def login(self, password: str = PASSWORD, *, source="127.0.0.1", user="inspector"):
        return self.post_form(
            "/-/login", {"username": user, "password": password}, source=source
        )

    def peak_rss_mb(self) -> float:
        """The server process's peak resident memory (VmHWM), in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024

    def unchanged(self) -> bool:
        return sha256(self.db_path) == self.sha_before


def run_serve(db_path: Path, *args: str, env: dict | None = None, timeout=30):
    """``ofsted-homes serve`` run to completion (for the refusals)."""
    return subprocess.run(
        [str(COMMAND), "serve", str(db_path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def start(db_path: Path, *args: str, env: dict | None = None, host="127.0.0.1"):
    port = free_port()
    process = subprocess.Popen(
        [str(COMMAND), "serve", str(db_path), "--port", str(port), "--silent", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    server = Server(process, port, db_path, sha256(db_path))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode())
        try:
            server.get("/robots.txt", timeout=2)
            return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError("ofsted-homes serve did not answer within 30 s")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def copy_registry(source: Path, directory: Path, name: str = "registry.db") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    shutil.copyfile(source, target)
    return target
