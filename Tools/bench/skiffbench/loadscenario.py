"""The `agent-load` scenario: the recovery point of `skiff agent` at its shipped defaults, for
isolated writes, under sustained load at rising rates, and with one site slow and far."""
from __future__ import annotations

import base64
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from . import realtime, sites, tools as toolsmod, treecheck
from .measure import process_cpu_seconds, process_peak_rss_kib, process_status_kib, run_quiet
from .scenarios import Column, Scenario, register

MB = 1_000_000


def _reset_peak_rss(pid: int) -> bool:
    """Restarts a process's VmHWM at its current RSS (proc(5), clear_refs "5"): the peak then
    covers what follows only. False when the kernel or permissions do not allow it."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LoadWriter:
    """Writes into the watched tree at steady rates from a thread, in 10 ms ticks: `rate` file
    changes per second (half appends of a line to an existing file, a quarter rewrites, an eighth
    creations and an eighth deletions of files it created), `append_rate` bytes per second
    appended to `app.log` (base64 of random bytes, in 76-character lines; renamed to `app.log.1`
    when it passes `rotate_bytes`, as size-based log rotation does), and `transactions` SQLite
    transactions per second on `app.db` (WAL mode, one row each). After each tick it records the
    time: every write of the tick happened before it."""

    def __init__(self, root: Path, files: list[Path], seed: int):
        self.root = root
        self.files = files
        self.created: list[Path] = []
        self.rnd = random.Random(seed)
        self.log_path = root / "app.log"
        self.db_path = root / "app.db"
        self.db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, t REAL NOT NULL, payload TEXT NOT NULL)")
        self.rows = 0
        self.serial = 0

    def run(self, seconds: float, rate: float, append_rate: float, transactions: float, rotate_bytes: int) -> dict:
        """Writes for `seconds`; returns the tick times and what was written."""
        ticks, changes, appended, txns = [], 0, 0, 0
        log = open(self.log_path, "ab")
        started = time.monotonic()
        next_tick = started
        try:
            while True:
                now = time.monotonic()
                elapsed = now - started
                if elapsed >= seconds:
                    break
                while changes < rate * elapsed:
                    self._change()
                    changes += 1
                want = int(append_rate * elapsed) - appended
                if want > 0:
                    log.write(base64.encodebytes(os.urandom(want * 3 // 4 + 3))[:want])
                    log.flush()
                    appended += want
                    if log.tell() > rotate_bytes:
                        log.close()
                        os.replace(self.log_path, self.root / "app.log.1")
                        log = open(self.log_path, "ab")
                while txns < transactions * elapsed:
                    self.db.execute("INSERT INTO events (t, payload) VALUES (?, ?)", (time.time(), "x" * 200))
                    self.rows += 1
                    txns += 1
                ticks.append(time.time())
                next_tick += 0.01
                pause = next_tick - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        finally:
            log.close()
        wall = time.monotonic() - started
        return {"ticks": ticks, "changes": changes, "appended": appended, "transactions": txns, "wall_s": wall}

    def _change(self) -> None:
        self.serial += 1
        kind = self.serial % 8
        if kind == 6:
            path = self.files[self.rnd.randrange(len(self.files))].with_name(f"new-{self.serial}.txt")
            path.write_bytes(self.rnd.randbytes(self.rnd.randint(200, 2000)))
            self.created.append(path)
        elif kind == 7 and self.created:
            self.created.pop(self.rnd.randrange(len(self.created))).unlink()
        elif kind in (4, 5):
            self.files[self.rnd.randrange(len(self.files))].write_bytes(self.rnd.randbytes(self.rnd.randint(200, 2000)))
        else:
            with open(self.files[self.rnd.randrange(len(self.files))], "ab") as f:
                f.write(b"line %d\n" % self.serial)

    def close(self) -> None:
        self.db.close()


@register
class AgentLoad(Scenario):
    name = "agent-load"
    title = "Agent: recovery point under load"
    description = (
        "Skiff only: `skiff agent` with its shipped timing defaults (settle 50 ms, min interval 500 ms) over a tree "
        "of 20,000 small files (5,000 with --small) plus a log and a SQLite database, shipping to 2 local skiff-site "
        "servers (quorum 2). Recovery point = from a write until a site accepted the first seal whose time is at or "
        "after it (sites' seal counters polled every 50 ms). Phases: isolated writes (one file append, then 1.5 s "
        "quiet); sustained load at rising rates of file changes per second, each with 20 MB/s appended to a log "
        "rotated at 128 MB and 50 SQLite transactions/s, per rate RPO p50/p99 at each site, agent CPU and RSS; then "
        "site 2 behind a proxy adding 100 ms each way (200 ms round trip) and capped at 10 MB/s each way, at 1,000 "
        "changes/s: site 1's RPO against the same rate without the proxy, site 2's RPO and backlog, the agent's RSS; "
        "finally site 2 catches up and its latest snapshot is restored and compared with the tree.")
    tools = ("skiff",)
    uses_main_dataset = False
    needs_skiff_site = True
    ISOLATED_WRITES = 30
    RATES = (100, 300, 1000, 2000, 4000)
    PHASE_S = 20.0
    APPEND_RATE = 20 * MB
    TRANSACTIONS = 50.0
    ROTATE_BYTES = 128 * MB
    SLOW_RATE = 1000
    SLOW_DELAY_MS = 100
    SLOW_CAP_MB = 10
    TARGETS = {"isolated_p99_s": 1.0, "sustained_p99_s": 2.0, "rss_mib": 150}
    columns = [
        Column("files", "files", "count"),
        Column("isolated_p99_s", "isolated writes: RPO p99 (both sites)", "s"),
        Column("highest_rate", "highest rate with RPO p99 < 2 s at both sites", "count"),
        Column("slow_other_p99_s", "slow site 2: site 1 RPO p99", "s"),
        Column("slow_site_p99_s", "slow site 2: its RPO p99", "s"),
        Column("agent_rss_kib", "agent peak RSS under load", "kib"),
        Column("first_snapshot_rss_kib", "agent peak RSS, first snapshot", "kib"),
    ]

    def participants(self, ctx):
        skiff = ctx.tools.get("skiff")
        if skiff is None or not ctx.skiff_site:
            return []
        return [toolsmod.SkiffSites(skiff, 2, ctx.skiff_site, ctx.workdir / "agent-load-sites", name="skiff-agent-load",
                                    label="Skiff agent → 2 sites, under load")]

    def setup(self, ctx):
        small = ctx.profile.name == "small"
        self.directories = 50 if small else 200
        self.rates = self.RATES[:3] if small else self.RATES
        self.phase_s = 10.0 if small else self.PHASE_S
        self.isolated = 15 if small else self.ISOLATED_WRITES
        return {"files": self.directories * 100, "rates": list(self.rates), "phase_s": self.phase_s,
                "append_bytes_per_s": self.APPEND_RATE, "transactions_per_s": self.TRANSACTIONS, "targets": self.TARGETS}

    # -- the agent
    def _start_agent(self, ctx, run, data: Path, metrics_port: int, site_ports: list[int] | None, label: str):
        config = run.root / f"agent-{label}.yaml"
        text = run.host_config.read_text()
        if site_ports is not None:  # point the host at other ports (the proxy) for its sites
            for n, port in enumerate(site_ports, start=1):
                start = text.index(f"  - name: {run.site_name(n)}")
                url = text.index("url: https://127.0.0.1:", start)
                end = text.index("\n", url)
                text = text[:url] + f"url: https://127.0.0.1:{port}" + text[end:]
        config.write_text(text + f"agent:\n  paths: [{data}]\n  metrics_listen: 127.0.0.1:{metrics_port}\n")
        log = open(ctx.logs_dir / ctx.scenario / f"{run.name}-agent-{label}.stderr", "w")
        return subprocess.Popen([str(run.executable), "agent", "--config", str(config)], env=run.env(), cwd=run.root,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log), config

    @staticmethod
    def _stop_agent(agent, notes: list) -> None:
        agent.terminate()
        try:
            code = agent.wait(timeout=120)
            if code != 0:
                notes.append(f"the agent exited with {code} after SIGTERM")
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
            notes.append("the agent did not stop within 120 s of SIGTERM")

    @staticmethod
    def _wait_for(poller, run, after: float, sites_: list[int], timeout: float) -> tuple[list, float | None]:
        """Waits until each site in `sites_` (0-based) holds a seal whose time is at or after `after`.
        Returns the seals listed last and the seconds it took (None when `timeout` passed)."""
        started = time.monotonic()
        while True:
            seals = realtime.seal_times(run)
            answering = [seq for seq, t in seals if t >= after]
            if answering and all(answering[0] in poller.arrivals[i] for i in sites_):
                return seals, time.monotonic() - started
            if time.monotonic() - started > timeout:
                return seals, None
            time.sleep(0.5)

    def run_tool(self, ctx, run):
        run.reset()
        data = run.root / "data"
        files_count = realtime.generate_tree(data, self.directories)
        files = sorted(data.rglob("*.txt"))
        fleet = sites.Fleet(run, ctx.logs_dir / ctx.scenario, log=ctx.log)
        r = {"status": "ok", "metrics": {"files": files_count}, "notes": [], "phases": []}
        agent = proxy = poller = writer = None
        peak_rss = 0
        try:
            fleet.create()
            fleet.start()
            ports = [srv.port for srv in fleet.servers]
            poller = realtime.AcceptancePoller(ports).start()
            metrics_port = _free_port()
            writer = LoadWriter(data, files, seed=ctx.seed)
            agent, _ = self._start_agent(ctx, run, data, metrics_port, None, "direct")
            started = time.monotonic()
            while not all(poller.held(i) >= 1 for i in range(2)):
                if time.monotonic() - started > 600 or agent.poll() is not None:
                    r["status"] = "failed"
                    r["notes"].append("the agent's first snapshot did not reach both sites (600 s, or the agent exited)")
                    return r
                time.sleep(0.1)
            r["metrics"]["first_snapshot_s"] = round(time.monotonic() - started, 2)
            time.sleep(2)

            # Isolated writes: one append, then quiet until both sites hold it (at least 1.5 s).
            rnd = random.Random(ctx.seed + 1)
            writes = []
            for k in range(self.isolated):
                with open(files[rnd.randrange(len(files))], "ab") as f:
                    f.write(b"isolated %d\n" % k)
                writes.append(time.time())
                time.sleep(1.5)
            seals, _ = self._wait_for(poller, run, writes[-1], [0, 1], 60)
            isolated = [realtime.lags(writes, seals, poller.arrivals[i]) for i in range(2)]
            both = [max(a, b) for a, b in zip(isolated[0][0], isolated[1][0])]
            r["metrics"].update(isolated_p50_s=realtime.percentile(both, 0.5), isolated_p99_s=realtime.percentile(both, 0.99),
                                isolated_max_s=realtime.percentile(both, 1.0))
            ctx.log(f"[agent-load] isolated writes: RPO at both sites p50 {r['metrics']['isolated_p50_s']} s, "
                    f"p99 {r['metrics']['isolated_p99_s']} s, max {r['metrics']['isolated_max_s']} s")

            # Sustained load at rising rates. The peak RSS reported is that of the sustained and
            # slow-site phases; the first snapshot's (a whole walk of the tree) is reported apart.
            r["metrics"]["first_snapshot_rss_kib"] = process_peak_rss_kib(agent.pid)
            if not _reset_peak_rss(agent.pid):
                r["notes"].append("could not reset the agent's peak RSS (/proc/PID/clear_refs): the peak includes its first snapshot")
            for rate in self.rates:
                phase = self._load_phase(ctx, run, fleet, poller, agent, writer, rate, metrics_port, f"{rate}/s")
                r["phases"].append(phase)
                peak_rss = max(peak_rss, process_peak_rss_kib(agent.pid))
                if phase.get("drain_s") is None:
                    r["notes"].append(f"at {rate} changes/s the sites did not catch up within 300 s; higher rates skipped")
                    break
            sustained = [p for p in r["phases"] if all((p.get(f"site{i}_p99_s") or 99) < self.TARGETS["sustained_p99_s"] for i in (1, 2))
                         and not p.get("unanswered")]
            r["metrics"]["highest_rate"] = max((p["achieved_rate"] for p in sustained), default=0)
            peak_rss = max(peak_rss, process_peak_rss_kib(agent.pid))
            self._stop_agent(agent, r["notes"])
            agent = None

            # One site slow and far: the same load with site 2 behind the proxy.
            proxy_log = open(ctx.logs_dir / ctx.scenario / f"{run.name}-proxy.log", "w")
            proxy = subprocess.Popen([sys.executable, str(Path(__file__).with_name("delayproxy.py")), "--target", f"127.0.0.1:{ports[1]}",
                                      "--delay-ms", str(self.SLOW_DELAY_MS), "--rate-mbytes", str(self.SLOW_CAP_MB)],
                                     stdout=subprocess.PIPE, stderr=proxy_log, text=True)
            proxy_port = int(proxy.stdout.readline().strip().rsplit(":", 1)[1])
            agent, _ = self._start_agent(ctx, run, data, metrics_port, [ports[0], proxy_port], "slow")
            time.sleep(3)
            slow = self._load_phase(ctx, run, fleet, poller, agent, writer, self.SLOW_RATE, metrics_port, "slow site 2",
                                    seconds=self.phase_s * 1.5, drain_timeout=900, status=True)
            r["phases"].append(slow)
            peak_rss = max(peak_rss, process_peak_rss_kib(agent.pid))
            baseline = next((p for p in r["phases"] if p["label"] == f"{self.SLOW_RATE}/s"), None)
            r["metrics"].update(slow_other_p99_s=slow.get("site1_p99_s"), slow_site_p99_s=slow.get("site2_p99_s"),
                                baseline_other_p99_s=baseline.get("site1_p99_s") if baseline else None)
            self._stop_agent(agent, r["notes"])
            agent = None
            writer.close()
            r["metrics"]["agent_rss_kib"] = peak_rss
            self._check_restore(ctx, run, data, writer.rows, r)
            return r
        finally:
            if poller is not None:
                poller.stop()
            if agent is not None:
                agent.kill()
                agent.wait()
            if proxy is not None:
                proxy.send_signal(signal.SIGTERM)
                try:
                    proxy.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proxy.kill()
            fleet.stop()
            shutil.rmtree(run.root, ignore_errors=True)

    def _load_phase(self, ctx, run, fleet, poller, agent, writer, rate, metrics_port, label, seconds=None, drain_timeout=300,
                    status=False) -> dict:
        seconds = seconds or self.phase_s
        before = realtime.agent_metrics(metrics_port)
        cpu, site_cpu = process_cpu_seconds(agent.pid), sum(process_cpu_seconds(p) for p in fleet.pids)
        first_seal = max(poller.held(0), poller.held(1)) + 1
        done = writer.run(seconds, rate, self.APPEND_RATE, self.TRANSACTIONS, self.ROTATE_BYTES)
        phase = {"label": label, "rate": rate, "achieved_rate": round(done["changes"] / done["wall_s"]),
                 "appended_mb_s": round(done["appended"] / done["wall_s"] / MB, 1),
                 "agent_cpu_pct": round((process_cpu_seconds(agent.pid) - cpu) / done["wall_s"] * 100, 1),
                 "agent_rss_kib": process_status_kib(agent.pid, "VmRSS"),
                 "sites_cpu_pct": round((sum(process_cpu_seconds(p) for p in fleet.pids) - site_cpu) / done["wall_s"] * 100, 1)}
        if status:
            listing, raw = fleet.status()
            phase["backlog_at_end"] = {s["site"]: {"entries": s["backlogEntries"], "bytes": s["backlogBytes"], "rpo_now_s": round(s.get("rpoSeconds", 0), 2)}
                                       for s in listing or []}
        seals, drain = self._wait_for(poller, run, done["ticks"][-1], [0, 1], drain_timeout)
        phase["drain_s"] = round(drain, 2) if drain is not None else None
        phase["seals"] = len([s for s, _ in seals if s >= first_seal])
        unanswered = 0
        for i in range(2):
            values, missing = realtime.lags(done["ticks"], seals, poller.arrivals[i])
            unanswered += missing
            phase[f"site{i + 1}_p50_s"] = realtime.percentile(values, 0.5)
            phase[f"site{i + 1}_p99_s"] = realtime.percentile(values, 0.99)
            phase[f"site{i + 1}_max_s"] = realtime.percentile(values, 1.0)
        phase["unanswered"] = unanswered
        after = realtime.agent_metrics(metrics_port)
        count = after.get("skiff_agent_quorum_rpo_seconds_count", 0) - before.get("skiff_agent_quorum_rpo_seconds_count", 0)
        total = after.get("skiff_agent_quorum_rpo_seconds_sum", 0) - before.get("skiff_agent_quorum_rpo_seconds_sum", 0)
        phase["agent_quorum_rpo_mean_s"] = round(total / count, 3) if count else None
        ctx.log(f"[agent-load] {label}: {phase['achieved_rate']} changes/s + {phase['appended_mb_s']} MB/s; RPO p50/p99 "
                f"site 1 {phase['site1_p50_s']}/{phase['site1_p99_s']} s, site 2 {phase['site2_p50_s']}/{phase['site2_p99_s']} s; "
                f"{phase['seals']} seals; agent {phase['agent_cpu_pct']}% CPU, {phase['agent_rss_kib'] // 1024} MiB; "
                f"drained in {phase['drain_s']} s")
        return phase

    def _check_restore(self, ctx, run, data: Path, rows: int, r: dict) -> None:
        """Restores the latest snapshot from site 2 and compares it with the tree (the database by rows)."""
        source = {k: v for k, v in treecheck.manifest(data).items() if not k.startswith("app.db")}
        target = run.root / "restored"
        command, _ = run.restore_command(data, target, site=2)
        done = run_quiet(command, env=run.env(), cwd=run.root)
        if done.returncode != 0:
            r["status"] = "failed"
            r["notes"].append(f"restore from site 2 exited with {done.returncode}: {done.stderr.strip()[-500:]}")
            return
        root = run.restored_root(data, target)
        restored_db = root / "app.db"
        for extra in ("app.db", "app.db-wal", "app.db-shm"):  # compared by rows, below
            if (root / extra).exists():
                (root / extra).rename(run.root / f"restored-{extra}")
        check = treecheck.compare(source, root)
        restored_rows = None
        db_copy = run.root / "restored-app.db"
        if db_copy.exists():
            with sqlite3.connect(db_copy) as db:
                restored_rows = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        r["metrics"].update(restore_check=treecheck.describe(check), restored_rows=restored_rows, written_rows=rows)
        if not check["ok"] or restored_rows != rows:
            r["status"] = "failed"
            r["notes"].append(f"site 2's latest snapshot differs from the tree: {treecheck.describe(check)}; "
                              f"database rows {restored_rows} of {rows} ({restored_db})")
        ctx.log(f"[agent-load] restored from site 2: {treecheck.describe(check)} {check.get('examples') or ''}, "
                f"database {restored_rows} of {rows} rows")

    def conclude(self, ctx, results):
        r = results.get("skiff-agent-load")
        if not r or r.get("status") != "ok":
            return None
        m = r["metrics"]
        lines = [f"{m['files']:,} files + app.log ({self.APPEND_RATE // MB} MB/s, rotated at {self.ROTATE_BYTES // MB} MB) + "
                 f"app.db ({self.TRANSACTIONS:.0f} transactions/s); agent at its defaults (settle 50 ms, min interval 500 ms)",
                 "| phase | changes/s | MB/s appended | site 1 RPO p50 / p99 / max | site 2 RPO p50 / p99 / max | seals | agent CPU | agent RSS | sites CPU |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for p in r.get("phases", []):
            lines.append(f"| {p['label']} | {p['achieved_rate']} | {p['appended_mb_s']} | {p['site1_p50_s']} / {p['site1_p99_s']} / "
                         f"{p['site1_max_s']} s | {p['site2_p50_s']} / {p['site2_p99_s']} / {p['site2_max_s']} s | {p['seals']} | "
                         f"{p['agent_cpu_pct']}% | {p['agent_rss_kib'] // 1024} MiB | {p['sites_cpu_pct']}% |")
        slow = next((p for p in r.get("phases", []) if p["label"] == "slow site 2"), {})
        if slow:
            lines.append(f"slow site 2: backlog at the end of writing {slow.get('backlog_at_end')}; caught up {slow.get('drain_s')} s "
                         f"after writing stopped; restore from it: {m.get('restore_check')}, {m.get('restored_rows')} of "
                         f"{m.get('written_rows')} rows")
        other, baseline = m.get("slow_other_p99_s"), m.get("baseline_other_p99_s")
        at_target = next((p for p in r["phases"] if p["label"] == f"{self.SLOW_RATE}/s"), None)
        worst_at_target = max(at_target.get("site1_p99_s") or 99, at_target.get("site2_p99_s") or 99) if at_target else None
        targets = [
            {"text": "isolated writes: RPO p99 under 1 s at both sites", "limit": 1.0, "value": m.get("isolated_p99_s"), "unit": "s",
             "met": m.get("isolated_p99_s") is not None and m["isolated_p99_s"] < 1.0},
            {"text": "1,000 changes/s + 20 MB/s: RPO p99 under 2 s at both sites", "limit": 2.0, "value": worst_at_target, "unit": "s",
             "met": worst_at_target is not None and worst_at_target < 2.0 and not at_target.get("unanswered")},
            {"text": "slow site 2: site 1's RPO p99 unchanged (within 0.25 s of the run without the proxy)", "limit": baseline,
             "value": other, "unit": "s", "met": other is not None and baseline is not None and other <= baseline + 0.25},
            {"text": "agent peak RSS under 150 MiB", "limit": 150, "value": m.get("agent_rss_kib", 0) / 1024, "unit": "MiB",
             "met": m.get("agent_rss_kib", 1 << 30) < 150 * 1024},
        ]
        return {"lines": lines, "targets": targets}
