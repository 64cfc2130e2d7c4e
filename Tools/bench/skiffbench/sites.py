"""Local Skiff sites for the `sites` scenario: set-up, servers on loopback, and their shutdown.

A Fleet takes a tools.SkiffSites adapter (which knows the command lines and the folder
layout) and
  create()   runs the unmeasured set-up: the tenant's keys, the host key and certificate, and
             per site `skiff-site init`, `tenant add`, `host add` and a writer and a reader token;
  start()    starts `skiff-site serve --listen 127.0.0.1:0` per site (output into the run's log
             folder), waits for "listening on HOST:PORT", reads each fingerprint and writes the
             host's configuration (writer tokens) and the reader's (reader tokens);
  stop()     SIGTERM to every server, waits for each (a server lets requests in flight finish, up
             to 30 s), SIGKILL after STOP_TIMEOUT_S; reports how it went. Always call it (the
             fleet is a context manager); servers also get SIGTERM if the harness itself dies
             (PR_SET_PDEATHSIG), so none outlives a run.
The servers' pids are what measure.run samples as companions (CPU used while the agent ships).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .measure import process_peak_rss_kib, run_quiet

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 45
LISTENING = re.compile(r"listening on (\S+):(\d+)")


def _die_with_harness() -> None:
    """In the child before exec: ask for SIGTERM when the harness exits (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; stop() is the real shutdown
        pass


@dataclass
class Server:
    index: int
    data: Path
    out_path: Path
    err_path: Path
    proc: subprocess.Popen | None = None
    port: int = 0
    fingerprint: str = ""
    notes: list = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_tail(self, lines: int = 10) -> str:
        try:
            text = self.err_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no stderr)"
        return "\n".join(text[-lines:]) if text else "(nothing on stderr)"


class Fleet:
    def __init__(self, run, logs_dir: Path, log=print):
        self.run = run          # tools.SkiffSites
        self.logs_dir = logs_dir
        self.log = log
        self.servers = [Server(n, run.site_dir(n), logs_dir / f"{run.name}-site-{n}.stdout",
                               logs_dir / f"{run.name}-site-{n}.stderr") for n in range(1, run.sites + 1)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- set-up
    def _run(self, argv: list, stdout_file: Path | None = None) -> str:
        r = run_quiet(argv, env=self.run.env(), cwd=self.run.root)
        if r.returncode != 0:
            output = (r.stderr.strip() or r.stdout.strip() or "(no output)").splitlines()
            raise RuntimeError(f"set-up command failed with exit {r.returncode}: {' '.join(map(str, argv))}: "
                               + " / ".join(output[-5:]))
        if stdout_file is not None:
            stdout_file.write_text(r.stdout)
        return r.stdout

    def create(self) -> None:
        for argv, out in self.run.key_commands():
            self._run(argv, out)
        for s in self.servers:
            for argv, out in self.run.site_commands(s.index):
                self._run(argv, out)

    def start(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        for s in self.servers:
            argv = [str(a) for a in self.run.serve_command(s.index)]
            with open(s.out_path, "wb") as out, open(s.err_path, "wb") as err:
                err.write(f"# {' '.join(argv)}\n".encode())
                err.flush()
                s.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                          cwd=str(self.run.root), preexec_fn=_die_with_harness)
        deadline = time.monotonic() + START_TIMEOUT_S
        for s in self.servers:
            while True:
                m = LISTENING.search(s.out_path.read_text(errors="replace"))
                if m:
                    s.port = int(m.group(2))
                    break
                if not s.alive():
                    raise RuntimeError(f"site {s.index} exited with {s.proc.returncode} before listening:\n{s.stderr_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"site {s.index} did not print 'listening on' within {START_TIMEOUT_S} s:\n"
                                       f"{s.stderr_tail()}")
                time.sleep(0.05)
            s.fingerprint = self._run(self.run.fingerprint_command(s.index)).strip().split()[-1]
        ports = [s.port for s in self.servers]
        fps = [s.fingerprint for s in self.servers]
        self.run.host_config.write_text(self.run.config_text("writer", ports, fps))
        self.run.admin_config.write_text(self.run.config_text("reader", ports, fps))
        self.run.auditor_config.write_text(self.run.config_text("auditor", ports, fps))
        self.log(f"[sites] {self.run.label}: servers on 127.0.0.1:{', '.join(map(str, ports))} "
                 f"(pids {', '.join(str(s.pid) for s in self.servers)})")

    # -- while running
    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.servers if s.alive()]

    def peak_rss_kib(self) -> list[int]:
        return [process_peak_rss_kib(s.pid) if s.alive() else 0 for s in self.servers]

    def dead(self) -> list[str]:
        """Servers that exited on their own (a crash during the run)."""
        return [f"site {s.index} exited with {s.proc.returncode}:\n{s.stderr_tail()}"
                for s in self.servers if s.proc is not None and not s.alive()]

    def status(self) -> tuple[list | None, str]:
        """`skiff status --config host.yaml --json`: (the list of sites, or None; the raw output)."""
        r = run_quiet(self.run.status_command(), env=self.run.env(), cwd=self.run.root)
        text = r.stdout.strip()
        try:
            parsed = json.loads(text)
        except ValueError:
            return None, f"exit {r.returncode}: {text or r.stderr.strip()}"
        if isinstance(parsed, dict):  # {"sites": [...], "quorum": {...}}
            parsed = parsed.get("sites")
        if r.returncode != 0 or not isinstance(parsed, list):
            return None, f"exit {r.returncode}: {text} {r.stderr.strip()}"
        return parsed, text

    # -- shutdown
    def stop(self) -> dict:
        """Stops every server still running; returns {exit codes, seconds, killed, left running}."""
        running = [s for s in self.servers if s.alive()]
        started = time.monotonic()
        for s in running:
            try:
                s.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        killed = []
        for s in running:
            try:
                s.proc.wait(timeout=max(0.1, STOP_TIMEOUT_S - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                self.log(f"!!! site {s.index} (pid {s.pid}) ignored SIGTERM for {STOP_TIMEOUT_S} s: killing it")
                s.proc.kill()
                s.proc.wait()
                killed.append(s.index)
        left = [s.pid for s in self.servers if s.alive()]
        return {"stopped": len(running), "seconds": round(time.monotonic() - started, 2),
                "exit_codes": [s.proc.returncode if s.proc else None for s in self.servers],
                "killed": killed, "left_running": left}
