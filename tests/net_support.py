"""Ports for the servers the tests start on 127.0.0.1."""

from __future__ import annotations

import random
import socket
from pathlib import Path

RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_ports() -> tuple[int, int]:
    """The range the kernel picks clients' source ports from."""
    try:
        low, high = (int(n) for n in RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return low, high


def free_port() -> int:
    """A port nothing listens on, below the ephemeral range.

    A port from the ephemeral range (what binding port 0 gives) can be handed
    to a client as its own source port: a test polling the port before the
    server listens then connects to itself (TCP's simultaneous open) and
    reads its own request back as the answer ("BadStatusLine: GET ...").
    Below the range that cannot happen."""
    low, _ = ephemeral_ports()
    start = max(1024, low - 20_000)
    for _ in range(500):
        port = random.randrange(start, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {start} and {low} on 127.0.0.1")
