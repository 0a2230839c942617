"""`pip install .` gives a working `ofsted-homes`, away from the checkout: the
wheel is built from a copy of the sources, installed into a fresh virtual
environment (dependencies from pip's cache or the package index), and its
`ofsted-homes` loads a file and serves it, pages, templates and static files
included. Without the `demo` extra, `demo` and `sample-site` say what to
install."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from net_support import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (
    "pyproject.toml",
    "README.md",
    "metadata.yml",
    "datasette",
    "registry",
    "extract",
    "crawler",
    "sample_site",
)
PROVIDERS = (
    ROOT / "tests" / "fixtures" / "spreadsheets" / "providers-at-2025-03-31-layout.csv"
)


def _run(
    *command: object, cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the project's wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(
                origin,
                source / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            shutil.copy2(origin, source / name)
    built = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        work / "dist",
        source,
        cwd=work,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("ofsted_homes-*.whl")
    venv = work / "venv"
    made = _run(sys.executable, "-m", "venv", venv, cwd=work)
    assert made.returncode == 0, made.stderr
    bin_dir = venv / "bin"
    install = _run(bin_dir / "python", "-m", "pip", "install", "-q", wheel, cwd=work)
    assert install.returncode == 0, install.stderr
    return bin_dir


def test_the_installed_package_is_not_the_checkout(installed: Path) -> None:
    where = _run(
        installed / "python",
        "-c",
        "import registry, registry.publish.serve as s; print(registry.__file__); print(s.METADATA_PATH)",
        cwd=installed,
    )
    assert where.returncode == 0, where.stderr
    package, metadata = where.stdout.split()
    venv = installed.parent
    assert Path(package).is_relative_to(venv)
    assert Path(metadata).is_relative_to(venv) and Path(metadata).is_file()
    assert not Path(metadata).is_symlink()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_installed_command_loads_and_serves(installed: Path, tmp_path: Path) -> None:
    command = installed / "ofsted-homes"
    loaded = _run(command, "load", "registry.db", PROVIDERS, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    port = free_port()
    server = subprocess.Popen(
        [str(command), "serve", "registry.db", "--port", str(port), "--silent"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"serve exited: {server.stderr.read().decode()}")
            try:
                status, _ = _get(base + "/-/databases.json")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "serve did not answer in 60 s"
                time.sleep(0.2)
        assert status == 200
        # a page of the pages plugin, rendered with the packaged templates
        status, body = _get(base + "/home/SC064050")
        assert status == 200, body[:500]
        assert b"SC064050" in body and b"/assets/" in body
        # the packaged static files
        status, body = _get(base + "/assets/charts.js")
        assert status == 200 and len(body) > 100
        # the packaged metadata: canned queries
        status, body = _get(base + "/registry/market_snapshot.json?_shape=array")
        assert status == 200, body[:500]
        assert json.loads(body)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("name", ["demo", "sample-site"])
def test_without_the_demo_extra_the_demo_says_what_to_install(
    installed: Path, tmp_path: Path, name: str
) -> None:
    result = _run(
        installed / "ofsted-homes", name, "--silent", cwd=tmp_path, timeout=60
    )
    assert result.returncode != 0
    assert "pip install 'ofsted-homes[demo]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "demo").exists()
