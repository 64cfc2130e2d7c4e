"""Real time: how long a change takes to be durable at every site while the agent runs.

Shared by the `agent` and `agent-load` scenarios:
  AcceptancePoller  polls each site's `skiff_site_seals_accepted_total` every 50 ms in a thread
                    and records when each seal number arrived (only the bench host writes to
                    these sites, and its seals are numbered 1, 2, 3, ...);
  seal_times        the seals' numbers and times from `skiff snapshots --json` at one site;
  lags              for each write time, how long until each site held the first seal whose time
                    is at or after it. The agent seals a change set with the time it handed the
                    set out, so every write the agent saw before a seal's time is in that seal;
  generate_tree     the seeded tree of small text files both scenarios watch.
"""
from __future__ import annotations

import bisect
import datetime
import http.client
import json
import random
import ssl
import threading
import time
import urllib.request
from pathlib import Path

from .measure import run_quiet


def generate_tree(root: Path, directories: int, files_per_directory: int = 100, seed: int = 1) -> int:
    """`directories` folders (in groups of 100) of `files_per_directory` files of 200-2000 random bytes."""
    rnd = random.Random(seed)
    count = 0
    for d in range(directories):
        folder = root / f"d{d // 100:02d}" / f"d{d:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(files_per_directory):
            (folder / f"f{f:03d}.txt").write_bytes(rnd.randbytes(rnd.randint(200, 2000)))
            count += 1
    return count


class SiteCounter:
    """A site-wide counter from a site's /metrics, over one kept-alive HTTPS connection (a new TLS
    handshake every 50 ms would cost the site and the harness CPU the agent competes for)."""

    def __init__(self, port: int, name: str = "skiff_site_seals_accepted_total"):
        self.port = port
        self.name = name
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE
        self.connection = None

    def read(self) -> int:
        """The counter's value (0 when the site does not answer)."""
        for _ in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=2)
                self.connection.request("GET", "/metrics")
                body = self.connection.getresponse().read().decode()
                for line in body.splitlines():
                    if line.startswith(self.name + " "):
                        return int(float(line.rsplit(" ", 1)[1]))
                return 0
            except (OSError, http.client.HTTPException):
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
        return 0


def agent_metrics(port: int) -> dict[str, float]:
    """Every sample of the agent's plain-HTTP /metrics, by series (empty when it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            try:
                values[series] = float(value)
            except ValueError:
                pass
    return values


class AcceptancePoller:
    """When each site accepted each of the host's seals (seal number -> Unix time), polled every 50 ms."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self.arrivals: list[dict[int, float]] = [dict() for _ in ports]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> "AcceptancePoller":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def held(self, site: int) -> int:
        """The highest seal number site `site` (0-based) accepted so far."""
        return max(self.arrivals[site], default=0)

    def _poll(self) -> None:
        seen = [0 for _ in self.ports]
        counters = [SiteCounter(port) for port in self.ports]
        while not self._stop.is_set():
            for i, counter in enumerate(counters):
                n = counter.read()
                now = time.time()
                for k in range(seen[i] + 1, n + 1):
                    self.arrivals[i][k] = now
                seen[i] = max(seen[i], n)
            time.sleep(0.05)


def seal_times(run, site: int = 1) -> list[tuple[int, float]]:
    """(sequence, Unix time) of every seal at site `site` (1-based), in order."""
    listing = run_quiet([run.executable, "snapshots", "--config", str(run.admin_config), "--site", run.site_name(site), "--json"],
                        env=run.env(), cwd=run.root)
    try:
        parsed = json.loads(listing.stdout or "[]")
    except ValueError:
        return []
    return sorted((s["sequence"], datetime.datetime.fromisoformat(s["time"].replace("Z", "+00:00")).timestamp()) for s in parsed)


def lags(writes: list[float], seals: list[tuple[int, float]], arrivals: dict[int, float]) -> tuple[list[float], int]:
    """Seconds from each write until the site held the first seal at or after it; and how many
    writes no seal held by the site answers yet."""
    times = [t for _, t in seals]
    result, unanswered = [], 0
    for w in writes:
        k = bisect.bisect_left(times, w)
        if k == len(seals) or seals[k][0] not in arrivals:
            unanswered += 1
            continue
        result.append(max(0.0, arrivals[seals[k][0]] - w))
    return result, unanswered


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, rounded to milliseconds (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))], 3)
