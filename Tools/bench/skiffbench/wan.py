"""The `wan` scenario: restore and audit from a site that is far away.

The dataset is backed up (untimed) to one local skiff-site; then, for each round trip (0, 50 and
150 ms), the site is reached through `delayproxy.py` (the delay added one way is half the round
trip; no rate cap) and Skiff restores the latest snapshot and runs a deep keyless audit through
it. The 0 ms run goes through the proxy too, so every figure carries the proxy's own CPU: compare
within the scenario. Each restore goes onto a fresh filesystem (freshfs), as in `restore`. Targets (issue 30): restore at 50 ms within 1.25x of 0 ms, at 150 ms within
1.5x; deep audit at 50 ms within 1.3x.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from . import freshfs, tools as toolsmod, treecheck
from .measure import tree_usage
from .scenarios import Column, Scenario, _back_up_to, _fleet_for, register

ROUND_TRIPS_MS = (0, 50, 150)
TARGETS = {("restore", 50): 1.25, ("restore", 150): 1.5, ("audit", 50): 1.3}


class Proxy:
    """`delayproxy.py` in front of a site: started, its port read, stopped (context manager)."""

    def __init__(self, target_port: int, round_trip_ms: int, log_path: Path):
        self.args = [sys.executable, str(Path(__file__).with_name("delayproxy.py")), "--target", f"127.0.0.1:{target_port}",
                     "--delay-ms", str(round_trip_ms / 2)]
        self.log_path = log_path

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on"):
            self.proc.kill()
            raise RuntimeError(f"delayproxy did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@register
class Wan(Scenario):
    name = "wan"
    title = "Restore and audit from a distant site"
    description = ("Skiff only: the dataset backed up (untimed) to one local skiff-site; then, through `delayproxy.py` "
                   "adding half of each round trip (0, 50, 150 ms) to every byte each way, `skiff restore latest` from "
                   "the site (restored tree checked) and `skiff audit --deep` (auditor token, no key). The 0 ms run goes "
                   "through the proxy too: compare within the table.")
    tools = ("skiff",)
    needs_skiff_site = True
    columns = [Column(f"{step}_{rtt}ms_s", f"{step} at {rtt} ms", "s") for step in ("restore", "audit") for rtt in ROUND_TRIPS_MS] + [
        Column("site_stored_bytes", "stored at site", "bytes")]

    def participants(self, ctx):
        skiff = ctx.tools.get("skiff")
        if skiff is None or not ctx.skiff_site:
            return []
        return [toolsmod.SkiffSites(skiff, 1, ctx.skiff_site, ctx.workdir / "wan-site", name="skiff-wan", label="Skiff ← site far away")]

    def setup(self, ctx):
        self.source = ctx.source_manifest()
        return {"round_trips_ms": list(ROUND_TRIPS_MS)}

    def run_tool(self, ctx, run):
        fleet = _fleet_for(ctx, run)
        try:
            _, failed = _back_up_to(ctx, run, fleet, "wan")
            if failed:
                return failed
            site = fleet.servers[0]
            stored = tree_usage(site.data).apparent_bytes
            r = None
            for rtt in ROUND_TRIPS_MS:
                with Proxy(site.port, rtt, ctx.logs_dir / ctx.scenario / f"proxy-{rtt}ms.log") as proxy:
                    for role, config in (("reader", run.admin_config), ("auditor", run.auditor_config)):
                        config.write_text(run.config_text(role, [proxy.port], [site.fingerprint]))
                    # A fresh filesystem for each restore, as in `restore`: creating files where
                    # many were just deleted costs more, which would weigh on the later runs.
                    fs = None
                    if freshfs.available() is None:
                        fs = freshfs.FreshFilesystem(ctx.scratch_dir / f"wan-{rtt}ms.img", ctx.scratch_dir / f"wan-{rtt}ms")
                        fs.make(size_bytes=2 * ctx.dataset_bytes() + (1 << 30))
                        target = fs.mountpoint / "restore"
                    else:
                        target = ctx.scratch_dir / f"wan-{rtt}ms"
                    command, _ = run.restore_command(ctx.data_dir, target)
                    m = ctx.measure(run, f"restore-{rtt}ms", command, companions=fleet.pids)
                    if r is None:
                        r = ctx.result(run, "wan", m)
                    r["metrics"][f"restore_{rtt}ms_s"] = round(m.wall_s, 3)
                    check = treecheck.compare(self.source, run.restored_root(ctx.data_dir, target)) if m.exit_code == 0 else None
                    if fs is not None:
                        fs.remove()
                    else:
                        shutil.rmtree(target, ignore_errors=True)
                    if m.exit_code != 0 or not check["ok"]:
                        r["status"] = "failed"
                        r["notes"].append(f"restore at {rtt} ms: exit {m.exit_code}; "
                                          f"{treecheck.describe(check) if check else m.stderr_tail()}")
                    a = ctx.measure(run, f"audit-{rtt}ms", run.audit_command(deep=True), companions=fleet.pids)
                    r["metrics"][f"audit_{rtt}ms_s"] = round(a.wall_s, 3)
                    run.path("audit.sqlite").unlink(missing_ok=True)
                    if a.exit_code != 0:
                        r["status"] = "failed"
                        r["notes"].append(f"deep audit at {rtt} ms exited {a.exit_code}:\n{a.stderr_tail()}")
            r["metrics"]["site_stored_bytes"] = stored
            return r
        finally:
            fleet.stop()
            shutil.rmtree(run.root, ignore_errors=True)

    def conclude(self, ctx, results):
        r = next(iter(results.values()), None)
        if not r or r.get("status") != "ok":
            return None
        m = r["metrics"]
        lines, targets = [], []
        for step in ("restore", "audit"):
            base = m.get(f"{step}_0ms_s")
            lines.append(f"{step}: " + ", ".join(f"{rtt} ms {m[f'{step}_{rtt}ms_s']:.2f} s" for rtt in ROUND_TRIPS_MS))
            for rtt in ROUND_TRIPS_MS[1:]:
                limit = TARGETS.get((step, rtt))
                if limit is None or not base:
                    continue
                ratio = m[f"{step}_{rtt}ms_s"] / base
                targets.append({"text": f"{step} at {rtt} ms within {limit}× of 0 ms", "limit": limit,
                                "value": round(ratio, 2), "unit": "×", "met": ratio <= limit})
        return {"lines": lines, "targets": targets}
