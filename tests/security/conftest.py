"""Fixtures of the server security tests (helpers: server_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasette_auth_passwords.utils import hash_password
from publish.conftest import build_registry
from security.server_support import (
    PASSWORD,
    PASSWORD_ENV,
    copy_registry,
    start,
    stop,
)


@pytest.fixture(scope="session")
def security_registry(tmp_path_factory) -> Path:
    """The publishing tests' registry, built once; copy it before serving."""
    return build_registry(tmp_path_factory.mktemp("security") / "registry.db")


@pytest.fixture(scope="module")
def public_server(security_registry, tmp_path_factory):
    path = copy_registry(security_registry, tmp_path_factory.mktemp("public"))
    server = start(path)
    yield server
    stop(server)


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def inspector_server(security_registry, tmp_path, password_hash):
    """A fresh inspector-mode server (its sessions and throttle start empty)."""
    path = copy_registry(security_registry, tmp_path / "inspector")
    server = start(path, "--inspector", env={PASSWORD_ENV: password_hash})
    yield server
    stop(server)
