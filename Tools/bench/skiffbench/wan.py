"""The `wan` scenario: restore and audit from a site that is far away.

The dataset is backed up (untimed) to one local skiff-site; then, for each round trip (0, 50 and
150 ms), the site is reached through `delayproxy.py` (the delay added one way is half the round
trip; no rate cap) and Skiff restores the latest snapshot and runs a deep keyless audit through
it. The 0 ms run goes through the proxy too, so every figure carries the proxy's own CPU: compare
within the scenario. Each restore goes onto a fresh filesystem (freshfs), as in `restore`. Targets (issue 30): restore at 50 ms within 1.25x of 0 ms, at 150 ms within
1.5x; deep audit at 50 ms within 1.3x.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import freshfs, tools as toolsmod, treecheck
from .measure import stop, tree_usage
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
        stop(self.proc)
        self.log.close()


class Sshd:
    """An sshd of the bench's own on 127.0.0.1 (a free port), root's login by a key made for it,
    sftp served in-process: what restic's sftp backend talks to (context manager)."""

    def __init__(self, root: Path, log_path: Path):
        self.root = root
        self.log_path = log_path

    @staticmethod
    def available(log=print) -> str | None:
        """Why it cannot run here, or None. As root, installs openssh-server when it is missing
        (as the harness installs restic and borgbackup)."""
        if os.geteuid() != 0:
            return "sshd needs root"
        if not Path("/usr/sbin/sshd").exists() or not shutil.which("ssh-keygen"):
            log("installing openssh-server with apt-get")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(["apt-get", "update"], env=env, stdout=sys.stderr, stderr=sys.stderr)
            subprocess.run(["apt-get", "install", "-y", "openssh-server"], env=env, stdout=sys.stderr, stderr=sys.stderr)
        if not Path("/usr/sbin/sshd").exists():
            return "openssh-server is not installed and could not be"
        return None

    def __enter__(self):
        self.root.mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(exist_ok=True)
        for name in ("host_key", "user_key"):
            if not (self.root / name).exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.root / name)], check=True)
        shutil.copyfile(self.root / "user_key.pub", self.root / "authorized_keys")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = self.root / "sshd_config"
        config.write_text(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.root / 'host_key'}
PidFile {self.root / 'sshd.pid'}
AuthorizedKeysFile {self.root / 'authorized_keys'}
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp internal-sftp
""")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as c:
                if c.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"sshd did not listen on {self.port}: see {self.log_path}")

    def sftp_command(self, port: int) -> str:
        """restic's `-o sftp.command=…` for an sftp session to this sshd through `port`."""
        return (f"ssh -p {port} -i {self.root / 'user_key'} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                f"-o LogLevel=ERROR root@127.0.0.1 -s sftp")

    def __exit__(self, *exc):
        stop(self.proc)
        self.log.close()


class ResticSftp(toolsmod.Restic):
    """restic with its repository behind sftp (the `wan` scenario)."""
    name, label = "restic-sftp", "restic/sftp ← site far away"

    def env(self):
        return {**super().env(), "RESTIC_REPOSITORY": f"sftp:root@127.0.0.1:{self.repo}"}

    def with_sftp(self, command: list, sftp: str) -> list:
        return command[:1] + ["-o", f"sftp.command={sftp}"] + command[1:]


@register
class Wan(Scenario):
    name = "wan"
    title = "Restore and audit from a distant site"
    description = ("The dataset backed up (untimed) to one local skiff-site, and by restic to an sftp repository (its "
                   "own sshd); then, through `delayproxy.py` adding half of each round trip (0, 50, 150 ms) to every byte "
                   "each way, `skiff restore latest` from the site and `restic restore` over sftp (restored trees checked), "
                   "and `skiff audit --deep` (auditor token, no key). The 0 ms runs go through the proxy too: compare "
                   "within the table.")
    tools = ("skiff", "restic")
    needs_skiff_site = True
    columns = [Column(f"{step}_{rtt}ms_s", f"{step} at {rtt} ms", "s") for step in ("restore", "audit") for rtt in ROUND_TRIPS_MS] + [
        Column("site_stored_bytes", "stored at site", "bytes")]

    def participants(self, ctx):
        chosen = []
        skiff, restic = ctx.tools.get("skiff"), ctx.tools.get("restic")
        if skiff is not None and ctx.skiff_site:
            chosen.append(toolsmod.SkiffSites(skiff, 1, ctx.skiff_site, ctx.workdir / "wan-site", name="skiff-wan", label="Skiff ← site far away"))
        if restic is not None:
            why = Sshd.available(ctx.log)
            if why is None:
                chosen.append(ResticSftp(ctx.workdir / "wan-restic", restic.executable))
            else:
                ctx.log(f"[wan] restic over sftp left out: {why}")
        return chosen

    def setup(self, ctx):
        self.source = ctx.source_manifest()
        return {"round_trips_ms": list(ROUND_TRIPS_MS)}

    def _target(self, ctx, name: str):
        """An empty restore target on a fresh filesystem when one can be made: (target, fs or None).
        Creating files where many were just deleted costs more, which would weigh on later runs."""
        if freshfs.available() is None:
            fs = freshfs.FreshFilesystem(ctx.scratch_dir / f"{name}.img", ctx.scratch_dir / name)
            fs.make(size_bytes=2 * ctx.dataset_bytes() + (1 << 30))
            return fs.mountpoint / "restore", fs
        return ctx.scratch_dir / name, None

    def _check(self, ctx, run, r, m, target, fs, rtt):
        check = treecheck.compare(self.source, run.restored_root(ctx.data_dir, target)) if m.exit_code == 0 else None
        if fs is not None:
            fs.remove()
        else:
            shutil.rmtree(target, ignore_errors=True)
        if m.exit_code != 0 or not check["ok"]:
            r["status"] = "failed"
            r["notes"].append(f"restore at {rtt} ms: exit {m.exit_code}; {treecheck.describe(check) if check else m.stderr_tail()}")

    def run_tool(self, ctx, run):
        if isinstance(run, ResticSftp):
            return self._run_restic(ctx, run)
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
                    target, fs = self._target(ctx, f"wan-{rtt}ms")
                    command, _ = run.restore_command(ctx.data_dir, target)
                    m = ctx.measure(run, f"restore-{rtt}ms", command, companions=fleet.pids)
                    if r is None:
                        r = ctx.result(run, "wan", m)
                    r["metrics"][f"restore_{rtt}ms_s"] = round(m.wall_s, 3)
                    self._check(ctx, run, r, m, target, fs, rtt)
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

    def _run_restic(self, ctx, run):
        """restic over sftp: init and backup straight to the sshd (untimed), then restores through
        the proxy at each round trip."""
        run.reset()
        r = None
        with Sshd(run.root / "ssh", ctx.logs_dir / ctx.scenario / "sshd.log") as sshd:
            direct = sshd.sftp_command(sshd.port)
            for step, command in (("init", run.init_command()), ("backup", run.backup_command(ctx.data_dir, "wan"))):
                m = ctx.measure(run, step, run.with_sftp(command, direct))
                if m.exit_code != 0 and not (step == "backup" and m.exit_code == 3):
                    r = ctx.result(run, "wan", m)
                    r["status"] = "failed"
                    r["notes"].append(f"restic {step} over sftp exited {m.exit_code}:\n{m.stderr_tail()}")
                    return r
            for rtt in ROUND_TRIPS_MS:
                with Proxy(sshd.port, rtt, ctx.logs_dir / ctx.scenario / f"proxy-restic-{rtt}ms.log") as proxy:
                    target, fs = self._target(ctx, f"wan-restic-{rtt}ms")
                    command, _ = run.restore_command(ctx.data_dir, target)
                    m = ctx.measure(run, f"restore-{rtt}ms", run.with_sftp(command, sshd.sftp_command(proxy.port)))
                    if r is None:
                        r = ctx.result(run, "wan", m)
                    r["metrics"][f"restore_{rtt}ms_s"] = round(m.wall_s, 3)
                    self._check(ctx, run, r, m, target, fs, rtt)
        shutil.rmtree(run.root, ignore_errors=True)
        return r

    def conclude(self, ctx, results):
        r = results.get("skiff-wan")
        if not r or r.get("status") != "ok":
            return None
        m = r["metrics"]
        lines, targets = [], []
        restic = results.get("restic-sftp")
        if restic and restic.get("status") == "ok":
            rm = restic["metrics"]
            lines.append("restic/sftp restore: " + ", ".join(f"{rtt} ms {rm[f'restore_{rtt}ms_s']:.2f} s" for rtt in ROUND_TRIPS_MS))
            ratio = rm["restore_50ms_s"] / m["restore_50ms_s"]
            targets.append({"text": "Skiff's restore at 50 ms at least 2× restic/sftp's", "limit": 2.0, "value": round(ratio, 2),
                            "unit": "×", "met": ratio >= 2.0})
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
