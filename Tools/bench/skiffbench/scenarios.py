"""Scenarios: what is measured. Each is a small class registered by name.

A scenario declares
  name, title, description   for `bench list`, --only and the report;
  requires                   scenarios that must have run first (for the same tool): `--only X`
                             runs them too, marked as prerequisites;
  tools                      None for every selected tool, or a tuple of names (("skiff",) for a
                             Skiff-only feature);
  baselines                  extra non-backup participants (("cp",) for the restore floor);
  columns                    the figures shown in its Markdown table (any key of a result's
                             "metrics"), with `ratio=True` for lower-is-better figures that get
                             a peer ÷ Skiff ratio and `summary="..."` to appear in the summary table;
  uses_main_dataset          False for a scenario that brings its own dataset (ctx.ensure_dataset):
                             `--only` it and the main dataset is neither generated nor checked;
  needs_skiff_site           True when it runs skiff-site servers (ctx.skiff_site is then set);
and implements
  participants(ctx)  who takes part (default: the selected tools it names, then its baselines; a
                     scenario may return variants of a tool instead, as `sites` does);
  setup(ctx)         once, before the participants (returns a dict kept in the JSON as "info");
  run_tool(ctx, t)   once per participant, in alternation; returns a result from ctx.result(...)
                     with extra metrics added;
  conclude(ctx, rs)  optionally, once after them, with their results by name: returns
                     {"lines": [...], "targets": [{"text", "value", "limit", "met"}], ...}, kept in
                     the JSON as "conclusion" and rendered under the scenario's table (targets also
                     at the top of the report);
  teardown(ctx)      once, after them.

To add one: subclass Scenario, decorate with @register, and give it a place in ORDER
(registration order is run order, so prerequisites come first).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, asdict, replace

from . import freshfs
from . import realtime, sites, tools as toolsmod, treecheck
from .measure import process_cpu_seconds, process_peak_rss_kib, run_quiet, stop, tree_usage

MiB = 1 << 20


@dataclass
class Column:
    key: str
    label: str
    unit: str                  # s, %, kib, bytes, mib_s, count, text
    ratio: bool = False        # lower is better: the report shows peer ÷ Skiff
    summary: str | None = None  # label of this figure in the summary table

    def to_json(self):
        return asdict(self)


REGISTRY: dict[str, "Scenario"] = {}


def register(cls):
    REGISTRY[cls.name] = cls()
    return cls


def closure(names: list[str]) -> list[str]:
    """The named scenarios plus everything they require, in registration order."""
    wanted = set()

    def add(n):
        if n not in REGISTRY:
            raise RuntimeError(f"unknown scenario {n!r} (see `bench list`)")
        if n in wanted:
            return
        wanted.add(n)
        for r in REGISTRY[n].requires:
            add(r)

    for n in names:
        add(n)
    return [n for n in REGISTRY if n in wanted]


TIME = Column("wall_s", "wall", "s", ratio=True, summary="wall time")
CPU = Column("cpu_s", "user+sys", "s", ratio=True, summary="CPU time (user+sys)")
USER = Column("user_s", "user", "s")
SYS = Column("sys_s", "sys", "s")
CPU_PCT = Column("cpu_pct", "CPU %", "%")
RSS = Column("max_rss_kib", "peak RSS", "kib", ratio=True, summary="peak RSS")
RATE = Column("throughput_mib_s", "MiB/s", "mib_s")
STANDARD = [TIME, USER, SYS, CPU, CPU_PCT, RSS]
# Skiff only: the same step with the restore key wrapped at a low scrypt cost (`_measure_low_kdf_rss`).
LOW_KDF_RSS = Column("low_kdf_peak_rss_kib", f"peak RSS, KDF log-n {toolsmod.Skiff.LOW_KDF_LOG_N}", "kib")


class Scenario:
    name = ""
    title = ""
    description = ""
    requires: tuple = ()
    tools: tuple | None = None
    baselines: tuple = ()
    columns: list = STANDARD
    uses_main_dataset = True
    needs_skiff_site = False

    def participants(self, ctx) -> list:
        chosen = [t for n, t in ctx.tools.items() if self.tools is None or n in self.tools]
        return chosen + [ctx.baseline(b) for b in self.baselines]

    def setup(self, ctx) -> dict:
        return {}

    def run_tool(self, ctx, tool) -> dict:
        raise NotImplementedError

    def conclude(self, ctx, results: dict) -> dict | None:
        return None

    def teardown(self, ctx) -> None:
        pass


def _rate(nbytes: int, seconds: float) -> float:
    return round(nbytes / MiB / seconds, 1) if seconds > 0 else 0.0


def _fleet_for(ctx, run):
    """Fresh keys and site folders for `run`, and the fleet that will serve them."""
    run.reset()
    return sites.Fleet(run, ctx.logs_dir / ctx.scenario, log=ctx.log)


def _back_up_to(ctx, run, fleet, step: str):
    """Starts the sites and backs the main dataset up to them (untimed). Returns the backup's
    measurement, and a failed result when it failed (else None). The caller stops the fleet,
    whatever happens."""
    fleet.create()
    fleet.start()
    b = ctx.measure(run, "backup", run.backup_command(ctx.data_dir, step), companions=fleet.pids)
    if b.exit_code == 0:
        return b, None
    r = ctx.result(run, step, b)
    r["status"] = "failed"
    r["notes"].append(f"the untimed backup to the site exited with {b.exit_code}:\n{b.stderr_tail()}")
    return b, r


@register
class BackupInitial(Scenario):
    name = "backup-initial"
    title = "Initial backup"
    description = ("Back up the pristine dataset into a fresh repository (created by the tool's init, "
                   "timed separately as init_s). Stored = the whole repository afterwards.")
    columns = STANDARD + [
        RATE,
        Column("stored_apparent_bytes", "stored (apparent)", "bytes", ratio=True),
        Column("stored_disk_bytes", "stored (disk)", "bytes", ratio=True, summary="repository size (disk)"),
        Column("cache_disk_bytes", "local cache", "bytes"),
    ]

    def setup(self, ctx):
        ctx.ensure_pristine()
        return {"dataset_bytes": ctx.dataset_bytes(), "dataset_files": ctx.dataset_files()}

    def run_tool(self, ctx, tool):
        tool.reset()
        init = ctx.measure(tool, "init", tool.init_command())
        if tool.status("init", init.exit_code) == "failed":
            return ctx.result(tool, "init", init)
        cache = ctx.prepare_caches([ctx.data_dir])
        m = ctx.measure(tool, "backup", tool.backup_command(ctx.data_dir, "initial"))
        r = ctx.result(tool, "backup", m, cache=cache)
        if r["status"] != "failed":
            tool.record_backup("initial")
        repo, local = tree_usage(tool.repo), tree_usage(*tool.cache_dirs())
        r["metrics"].update(
            init_s=round(init.wall_s, 3),
            throughput_mib_s=_rate(ctx.dataset_bytes(), m.wall_s),
            stored_apparent_bytes=repo.apparent_bytes, stored_disk_bytes=repo.disk_bytes,
            repository_files=repo.files, cache_disk_bytes=local.disk_bytes)
        ctx.check_files_reported(tool, r)
        return r


@register
class BackupIncremental(Scenario):
    name = "backup-incremental"
    title = "Incremental backup"
    description = ("Apply the seeded mutation (1% of the source files, log append, 1000 SQLite rows, "
                   "4 KiB in a large binary), then back up again into the same repository with the "
                   "local cache kept. Added = growth of the repository.")
    requires = ("backup-initial",)
    columns = STANDARD + [
        Column("added_apparent_bytes", "added (apparent)", "bytes", ratio=True),
        Column("added_disk_bytes", "added (disk)", "bytes", ratio=True, summary="bytes added (disk)"),
        Column("stored_disk_bytes", "stored total (disk)", "bytes"),
    ]

    def setup(self, ctx):
        return {"mutation": ctx.ensure_mutated()}

    def run_tool(self, ctx, tool):
        before = tree_usage(tool.repo)
        cache = ctx.prepare_caches([ctx.data_dir])
        m = ctx.measure(tool, "backup", tool.backup_command(ctx.data_dir, "incremental"))
        r = ctx.result(tool, "backup", m, cache=cache)
        if r["status"] != "failed":
            tool.record_backup("incremental")
        after = tree_usage(tool.repo)
        added = after.minus(before)
        r["metrics"].update(
            added_apparent_bytes=added.apparent_bytes, added_disk_bytes=added.disk_bytes,
            stored_apparent_bytes=after.apparent_bytes, stored_disk_bytes=after.disk_bytes,
            cache_disk_bytes=tree_usage(*tool.cache_dirs()).disk_bytes)
        ctx.check_files_reported(tool, r)
        return r


@register
class Restore(Scenario):
    name = "restore"
    title = "Full restore"
    description = ("Restore the latest snapshot into an empty folder on the same disk, then compare "
                   "the restored tree with the source (SHA-256 of every file, types, link targets; "
                   "modes, mtimes and owners reported separately). `cp -a` of the source is the floor. "
                   "\"Skiff ← 1 site\" restores the same dataset from a local skiff-site server over HTTPS "
                   "on loopback (backed up to it first, untimed); the server's CPU is measured beside it. "
                   "After each Skiff restore, `skiff diff` proves the restored tree against the snapshot "
                   "(from the same repository or site, page cache as the restore left it) and must find it identical.")
    requires = ("backup-initial",)
    baselines = ("cp",)
    needs_skiff_site = True
    SITE_PARTICIPANT = "skiff-site-restore"
    TARGET_VS_RESTIC = 1.6  # at least this many times restic's restore throughput
    TARGET_VS_CP = 1.3      # at most this many times the `cp -a` time
    columns = STANDARD + [LOW_KDF_RSS, RATE, Column("site_cpu_s", "site server user+sys", "s"), Column("tree_check", "restored tree", "text"),
                          Column("proof_wall_s", "proof: skiff diff wall", "s"), Column("proof_cpu_s", "proof user+sys (+ site)", "text")]

    def participants(self, ctx):
        chosen = super().participants(ctx)
        skiff = ctx.tools.get("skiff")
        if skiff is not None and ctx.skiff_site:
            site = toolsmod.SkiffSites(skiff, 1, ctx.skiff_site, ctx.workdir / "restore-site",
                                       name=self.SITE_PARTICIPANT, label="Skiff ← 1 site")
            site.role = "self-contained"  # backs up to its own site first: needs no prerequisite run
            chosen.insert(chosen.index(skiff) + 1, site)
        return chosen

    def setup(self, ctx):
        self.source = ctx.source_manifest()
        # Each participant restores onto a fresh filesystem (see freshfs.py): creating files on
        # one that just saw many deletions can cost half again as much. Without one, restored
        # trees and the site's data are at least removed only after every participant ran.
        self.leftovers = []
        self.filesystems = []
        self.unavailable = "--restore-on-workdir" if ctx.restore_on_workdir else freshfs.available()
        # A kept filesystem is unmounted (with its image) before folders are removed, so that
        # removing its mountpoint never deletes inside a mounted filesystem.
        for image in ctx.scratch_dir.glob("restore-*.img"):
            freshfs.FreshFilesystem(image, image.with_suffix("")).remove()
        for old in ctx.scratch_dir.glob("restore-*"):
            shutil.rmtree(old, ignore_errors=True)
        where = ("a fresh ext4 filesystem per participant (image on the workdir's disk, loop device, direct I/O), "
                 "page cache dropped before each"
                 if self.unavailable is None else f"the workdir's filesystem ({self.unavailable})")
        ctx.log(f"[restore] restore targets: {where}")
        return {"dataset_digest": treecheck.digest(self.source), "dataset_bytes": ctx.dataset_bytes(), "restore_target": where}

    def teardown(self, ctx):
        for path in self.leftovers:
            shutil.rmtree(path, ignore_errors=True)
        for fs in self.filesystems:
            if ctx.keep_restores:
                ctx.log(f"[restore] kept {fs.mountpoint} mounted (image {fs.image}, device {fs.device})")
            else:
                fs.remove()

    def _target(self, ctx, tool) -> Path:
        """An empty folder to restore into, on a fresh filesystem when one can be made."""
        name = f"restore-{tool.name}"
        if self.unavailable is None:
            fs = freshfs.FreshFilesystem(ctx.scratch_dir / f"{name}.img", ctx.scratch_dir / name)
            fs.make(size_bytes=2 * ctx.dataset_bytes() + (1 << 30))
            self.filesystems.append(fs)
            target = fs.mountpoint / "restore"
        else:
            target = ctx.scratch_dir / name
            if not ctx.keep_restores:
                self.leftovers.append(target)
        target.mkdir(parents=True)
        return target

    def _settle(self):
        """Same memory state for every participant (see freshfs.settle_memory); needs root too."""
        if self.unavailable is None:
            freshfs.settle_memory()

    def run_tool(self, ctx, tool):
        target = self._target(ctx, tool)
        if isinstance(tool, toolsmod.SkiffSites):
            return self._run_from_site(ctx, tool, target)
        # Warm (or drop) what the restore reads: the repository, or the source for cp.
        self._settle()
        cache = ctx.prepare_caches([ctx.data_dir] if tool.role == "baseline" else [tool.repo] + tool.cache_dirs())
        command, cwd = tool.restore_command(ctx.data_dir, target)
        m = ctx.measure(tool, "restore", command, cwd=cwd)
        r = ctx.result(tool, "restore", m, cache=cache)
        self._check(ctx, tool, r, m, target)
        if isinstance(tool, toolsmod.Skiff):
            self._prove(ctx, tool, r, tool.diff_command(target), cwd)
            _measure_low_kdf_rss(ctx, tool, r, "restore", lambda t: tool.low_kdf_restore_command(t))
        return r

    def _prove(self, ctx, tool, r, command, cwd, companions=()):
        """Times `skiff diff` of the restored tree against the snapshot (the proof a restore
        offers, `restore --verify`), after a successful restore; it must find no difference."""
        if r["status"] not in ("ok", "warning"):
            return
        d = ctx.measure(tool, "diff", command, cwd=cwd, companions=companions)
        site = sum(d.companion_cpu_s)
        r["metrics"].update(proof_wall_s=round(d.wall_s, 2),
                            proof_cpu_s=f"{d.cpu_s:.2f} s" + (f" (+ site {site:.2f} s)" if companions else ""))
        r["proof"] = {"exit_code": d.exit_code, "wall_s": round(d.wall_s, 3), "cpu_s": round(d.cpu_s, 2),
                      "site_cpu_s": round(site, 2), "peak_rss_kib": d.max_rss_kib}
        if d.exit_code != 0:
            r["status"] = "failed"
            r["notes"].append(f"skiff diff of the restored tree exited {d.exit_code} (0: identical); see its log")

    def _run_from_site(self, ctx, run, target):
        """Backs the dataset up to one fresh local site (untimed), then times the restore from it."""
        fleet = _fleet_for(ctx, run)
        try:
            b, failed = _back_up_to(ctx, run, fleet, "restore")
            if failed:
                return failed
            self._settle()
            cache = ctx.prepare_caches([fleet.servers[0].data])
            command, cwd = run.restore_command(ctx.data_dir, target)
            m = ctx.measure(run, "restore", command, cwd=cwd, companions=fleet.pids)
            r = ctx.result(run, "restore", m, cache=cache)
            r["metrics"]["site_cpu_s"] = round(sum(m.companion_cpu_s), 2)
            r["metrics"]["site_peak_rss_kib"] = max(fleet.peak_rss_kib(), default=0)
            r["backup_to_site"] = {"wall_s": round(b.wall_s, 3), "exit_code": b.exit_code}
            self._check(ctx, run, r, m, target)
            self._prove(ctx, run, r, run.diff_command(target), cwd, companions=fleet.pids)
            return r
        finally:
            fleet.stop()
            self.leftovers.append(run.root)

    def _check(self, ctx, tool, r, m, target):
        """Compares the restored tree with the source and adds the figures to `r`."""
        root = tool.restored_root(ctx.data_dir, target)
        check = treecheck.compare(self.source, root)
        r["tree_check"] = check
        r["metrics"].update(throughput_mib_s=_rate(ctx.dataset_bytes(), m.wall_s),
                            tree_check=treecheck.describe(check),
                            restored_apparent_bytes=tree_usage(root).apparent_bytes if root.exists() else 0)
        if not check["ok"]:
            r["status"] = "failed"
            r["notes"].append(f"RESTORED TREE DIFFERS FROM THE SOURCE: {treecheck.describe(check)}; "
                              f"examples: {check.get('examples')}")
            ctx.log(f"!!! {tool.label}: restored tree differs from the source: {treecheck.describe(check)}")
        elif any(check[k] for k in treecheck.METADATA):
            r["notes"].append(f"metadata differences (not counted as failure): {treecheck.describe(check)}; "
                              f"examples: {check.get('examples')}")

    def conclude(self, ctx, results):
        """The restore targets, for the local repository and for the site: throughput against
        restic's, time against `cp -a`'s, both from this run."""
        def ok(name):
            x = results.get(name)
            return x["metrics"]["wall_s"] if x and x.get("status") in ("ok", "warning") else None
        restic, cp = ok("restic"), ok("cp")
        lines, targets = [], []
        for name, label in (("skiff", "Skiff (local repository)"), (self.SITE_PARTICIPANT, "Skiff ← 1 site")):
            if name not in results:
                continue
            t = ok(name)
            for peer, wall, limit, text in (
                    ("restic", restic, self.TARGET_VS_RESTIC,
                     f"{label}: at least {self.TARGET_VS_RESTIC:.1f}× restic's restore throughput"),
                    ("cp", cp, self.TARGET_VS_CP, f"{label}: at most {self.TARGET_VS_CP:.1f}× the time of `cp -a`")):
                target = {"text": text, "limit": limit, "value": None, "met": None}
                if t is None or wall is None:
                    target["reason"] = f"{label} or {peer} did not succeed or did not run"
                elif peer == "restic":
                    target.update(value=_times(wall, t), met=wall / t >= limit)
                else:
                    target.update(value=_times(t, wall), met=t / wall <= limit)
                targets.append(target)
            if t is not None and restic is not None and cp is not None:
                lines.append(f"{label}: {t:.2f} s; restic ÷ it {restic / t:.2f}×; it ÷ cp -a {t / cp:.2f}×")
        return {"lines": lines, "targets": targets}


def _measure_low_kdf_rss(ctx, tool, r, step: str, command):
    """Runs the step again with the restore key wrapped at a low scrypt cost (untimed, into a
    scratch folder that is removed after) and records its peak RSS: the issue asks for RSS both
    with the default KDF (128 MiB of scrypt) and without it, so that what the work itself holds is
    visible."""
    target = ctx.scratch_dir / f"{tool.name}-{step}-low-kdf"
    try:
        m = ctx.measure(tool, f"{step}-low-kdf", command(target))
        if m.exit_code == 0:
            r["metrics"]["low_kdf_peak_rss_kib"] = m.max_rss_kib
        else:
            r.setdefault("notes", []).append(f"{step} with a low-KDF key exited {m.exit_code}")
    finally:
        shutil.rmtree(target, ignore_errors=True)


@register
class Verify(Scenario):
    name = "verify"
    title = "Full verification (with data)"
    description = ("Read and check every object of the repository: `skiff verify`, "
                   "`restic check --read-data`, `borg check --verify-data`. MiB/s is repository bytes per second.")
    requires = ("backup-initial",)
    columns = STANDARD + [LOW_KDF_RSS, RATE, Column("repository_bytes", "repository", "bytes")]

    def run_tool(self, ctx, tool):
        cache = ctx.prepare_caches([tool.repo] + tool.cache_dirs())
        repo = tree_usage(tool.repo)
        m = ctx.measure(tool, "verify", tool.verify_command())
        r = ctx.result(tool, "verify", m, cache=cache)
        r["metrics"].update(repository_bytes=repo.apparent_bytes, throughput_mib_s=_rate(repo.apparent_bytes, m.wall_s))
        if isinstance(tool, toolsmod.Skiff):
            _measure_low_kdf_rss(ctx, tool, r, "verify", lambda _: tool.low_kdf_verify_command())
        return r


def _times(a, b) -> float | None:
    """a ÷ b, rounded; None when either is missing or b is zero."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or b <= 0:
        return None
    return round(a / b, 3)


@register
class Sites(Scenario):
    name = "sites"
    title = "Shipping to sites"
    description = ("Skiff only: one `skiff backup --config` of the medium dataset (~1 GiB; small with --small) to 1 "
                   "local skiff-site server, then to 3, over HTTPS on loopback, each from a fresh host state and fresh "
                   "sites, quorum = every site (the command returns once all accepted the seal). Site servers run on "
                   "the same machine and compete with the agent for CPU: their own CPU during the backup is shown "
                   "beside the agent's. Afterwards every site must report an empty backlog, and the latest snapshot "
                   "restored from the last site must equal the dataset.")
    tools = ("skiff",)
    uses_main_dataset = False
    needs_skiff_site = True
    SITE_COUNTS = (1, 3)
    TARGET = 1.3  # shipping to 3 sites takes at most 1.3x the time of shipping to 1 (one pass, not three)
    PROFILE = {"small": "small"}  # the run's profile -> this scenario's; anything else: medium
    columns = [
        Column("sites", "sites", "count"),
        replace(TIME, summary=None),
        RATE,
        Column("sealed_s", "sealed in outbox after", "s"),
        Column("delivery_wait_s", "then waiting for sites", "s"),
        replace(CPU, label="agent user+sys", summary=None),
        CPU_PCT,
        replace(RSS, label="agent peak RSS", summary=None),
        Column("sites_cpu_s", "site servers user+sys", "s", ratio=True),
        Column("total_cpu_s", "agent + sites user+sys", "s", ratio=True),
        Column("site_max_rss_kib", "site peak RSS (max)", "kib"),
        Column("site_stored_disk_bytes", "stored per site (disk)", "bytes"),
        Column("site_files_per_gib", "files or keys per GiB at a site", "count"),
        Column("host_state_disk_bytes", "host state (disk)", "bytes"),
        Column("backlog_entries", "backlog after", "count"),
        Column("restore_wall_s", "restore from last site", "s"),
        Column("tree_check", "restored tree", "text"),
    ]

    def participants(self, ctx):
        skiff = ctx.tools.get("skiff")
        if skiff is None:
            return []
        return [toolsmod.SkiffSites(skiff, n, ctx.skiff_site, ctx.workdir / "sites" / f"{n}-site{'s' if n != 1 else ''}")
                for n in self.SITE_COUNTS]

    def setup(self, ctx):
        if "skiff" not in ctx.tools:
            return {"skipped": "skiff is not among the selected tools"}
        if (ctx.workdir / "sites").exists():  # left over from an interrupted run
            shutil.rmtree(ctx.workdir / "sites")
        self.profile = self.PROFILE.get(ctx.profile.name, "medium")
        self.data_dir, marker, self.source = ctx.ensure_dataset(self.profile)  # the manifest: for the restore checks
        self.summary = marker["summary"]
        self.digest = marker["digest"]
        return {"dataset": {"dir": str(self.data_dir), "profile": self.profile, "seed": ctx.seed,
                            "summary": self.summary, "digest": self.digest},
                "site_counts": list(self.SITE_COUNTS), "quorum": "every site",
                "quorum_timeout_s": toolsmod.SkiffSites.QUORUM_TIMEOUT_S, "target_ratio": self.TARGET,
                "skiff_site": ctx.skiff_site}

    def run_tool(self, ctx, run):
        run.reset()  # fresh keys, sites, host state
        fleet = sites.Fleet(run, ctx.logs_dir / ctx.scenario, log=ctx.log)
        r = None
        try:
            t = time.monotonic()
            fleet.create()
            fleet.start()
            setup_s = time.monotonic() - t
            nbytes = self.summary["bytes"]

            cache = ctx.prepare_caches([self.data_dir])
            requests_before = _s3_requests(run)
            m = ctx.measure(run, "backup", run.backup_command(self.data_dir, "sites"), companions=fleet.pids)
            r = ctx.result(run, "backup", m, cache=cache)
            site_cpu = m.companion_cpu_s
            site_usage = [tree_usage(s.data) for s in fleet.servers]
            # Counted before the bucket is listed below, which moto logs too.
            requests_backup = _s3_requests(run)
            # What the site stores, as files of its tenants' folders or keys in its bucket.
            stored = _site_storage(run, fleet)
            if stored:
                r["metrics"].update(stored)
            if requests_backup is not None and stored.get("site_stored_gib"):
                r["metrics"].update(s3_requests_backup=requests_backup - requests_before,
                                    s3_requests_per_gib_uploaded=round((requests_backup - requests_before) / stored["site_stored_gib"], 1))
            r["metrics"].update(
                sites=run.sites, throughput_mib_s=_rate(nbytes, m.wall_s),
                sites_cpu_s=round(sum(site_cpu), 2), site_cpu_s=site_cpu,
                total_cpu_s=round(m.cpu_s + sum(site_cpu), 2),
                site_peak_rss_kib=fleet.peak_rss_kib(), site_max_rss_kib=max(fleet.peak_rss_kib(), default=0),
                site_stored_disk_bytes=max(u.disk_bytes for u in site_usage),
                site_stored_apparent_bytes=[u.apparent_bytes for u in site_usage],
                site_stored_disk_bytes_each=[u.disk_bytes for u in site_usage],
                host_state_disk_bytes=tree_usage(run.state_dir).disk_bytes,
                setup_s=round(setup_s, 2))
            # skiff's own "seconds": reading, chunking, encrypting until the snapshot is sealed into the host's
            # outbox (delivery runs meanwhile); the rest of the wall time it waits for the quorum of sites.
            sealed = (r.get("tool_report") or {}).get("seconds")
            if isinstance(sealed, (int, float)):
                r["metrics"].update(sealed_s=round(sealed, 3), delivery_wait_s=round(max(0.0, m.wall_s - sealed), 3))
            files = run.files_reported(r.get("tool_report"))
            if files is not None:
                r["metrics"]["files_reported"] = files
                if files != self.summary["files"]:
                    r["notes"].append(f"{run.label} reports {files} files; the dataset has {self.summary['files']} regular files")
            for problem in fleet.dead():
                self._fail(ctx, run, r, f"a site server died during the backup: {problem}")
            if r["status"] == "failed":
                return r

            # Every site has everything: the host's view of each site.
            listing, raw = fleet.status()
            r["site_status"] = listing if listing is not None else raw
            if listing is None:
                self._fail(ctx, run, r, f"`skiff status --config host.yaml --json` gave no site list: {raw}")
            else:
                by_site = {e.get("site"): e for e in listing}
                backlog = 0
                for n in range(1, run.sites + 1):
                    e = by_site.get(run.site_name(n))
                    if e is None or not e.get("reachable") or not isinstance(e.get("backlogEntries"), int):
                        self._fail(ctx, run, r, f"site {run.site_name(n)} is missing or unreachable in `skiff status`: {e}")
                        continue
                    backlog += e["backlogEntries"]
                    if e["backlogEntries"] != 0:
                        self._fail(ctx, run, r, f"site {run.site_name(n)} still has a backlog after the backup "
                                                f"returned: {e['backlogEntries']} entries, {e.get('backlogBytes')} bytes")
                r["metrics"]["backlog_entries"] = backlog

            # The latest snapshot, restored from the last site, is the dataset.
            target = ctx.scratch_dir / f"sites-{run.name}"
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            ctx.prepare_caches([fleet.servers[-1].data])
            command, cwd = run.restore_command(self.data_dir, target)
            requests_before_restore = _s3_requests(run)
            rm = ctx.measure(run, "restore", command, cwd=cwd, companions=fleet.pids)
            r["restore"] = {"exit_code": rm.exit_code, "command": rm.command, "site": run.site_name(run.sites),
                            "metrics": rm.metrics(), "site_cpu_s": rm.companion_cpu_s}
            requests_after_restore = _s3_requests(run)
            if requests_after_restore is not None and stored.get("site_stored_gib"):
                restored = requests_after_restore - requests_before_restore
                r["metrics"].update(s3_requests_restore=restored,
                                    s3_requests_per_gib_restored=round(restored / stored["site_stored_gib"], 1))
            r["metrics"].update(restore_wall_s=round(rm.wall_s, 3), restore_cpu_s=round(rm.cpu_s, 3),
                                restore_throughput_mib_s=_rate(nbytes, rm.wall_s))
            if run.status("restore", rm.exit_code) == "failed":
                self._fail(ctx, run, r, f"restore from {run.site_name(run.sites)} exited with {rm.exit_code}; "
                                        f"stderr ends with:\n{rm.stderr_tail()}")
            check = treecheck.compare(self.source, run.restored_root(self.data_dir, target))
            r["tree_check"] = check
            r["metrics"]["tree_check"] = treecheck.describe(check)
            if not check["ok"]:
                self._fail(ctx, run, r, f"RESTORED TREE DIFFERS FROM THE SOURCE: {treecheck.describe(check)}; "
                                        f"examples: {check.get('examples')}")
            elif any(check[k] for k in treecheck.METADATA):
                r["notes"].append(f"metadata differences (not counted as failure): {treecheck.describe(check)}; "
                                  f"examples: {check.get('examples')}")
            if not ctx.keep_restores:
                shutil.rmtree(target, ignore_errors=True)
            return r
        finally:
            stop = fleet.stop()
            if r is not None:
                r["site_shutdown"] = stop
                if stop["killed"] or stop["left_running"]:
                    r["notes"].append(f"site servers did not stop on SIGTERM within {sites.STOP_TIMEOUT_S} s "
                                      f"(killed: {stop['killed']}, left running: {stop['left_running']})")
                bad = [c for c in stop["exit_codes"] if c not in (0, None, -15)]
                if bad:
                    r["notes"].append(f"site servers exited with {stop['exit_codes']} after SIGTERM")
            if stop["left_running"]:
                ctx.log(f"!!! site servers still running after SIGKILL: pids {stop['left_running']}")
            shutil.rmtree(run.root, ignore_errors=True)

    @staticmethod
    def _fail(ctx, run, r, note):
        r["status"] = "failed"
        r["notes"].append(note)
        ctx.log(f"!!! {run.label}: {note}")

    def conclude(self, ctx, results):
        if "skiff" not in ctx.tools:
            return None
        lines = [f"dataset: {self.profile} profile, seed {ctx.seed}: {self.summary['files']:,} files, "
                 f"{self.summary['bytes'] / MiB:,.1f} MiB ({self.data_dir})"]
        one, many = (results.get(f"skiff-{n}-site{'s' if n != 1 else ''}") for n in self.SITE_COUNTS)
        n = self.SITE_COUNTS[-1]
        target = {"text": f"shipping to {n} sites takes no more than {self.TARGET:.2f}× the time of shipping to 1 "
                          "(one pass, not three)", "limit": self.TARGET, "value": None, "met": None}
        if not (one and many and one.get("status") in ("ok", "warning") and many.get("status") in ("ok", "warning")):
            target["reason"] = "a run did not succeed"
            return {"lines": lines, "targets": [target], "ratios": {}}
        a, b = one["metrics"], many["metrics"]
        ratios = {k: _times(b.get(k), a.get(k)) for k in
                  ("wall_s", "sealed_s", "delivery_wait_s", "cpu_s", "sites_cpu_s", "total_cpu_s", "max_rss_kib",
                   "site_max_rss_kib")}
        target.update(value=ratios["wall_s"], met=ratios["wall_s"] is not None and ratios["wall_s"] <= self.TARGET)

        def x(k):
            return f"{ratios[k]:.2f}×" if ratios[k] is not None else "–"
        lines.append(f"1 site: {a['wall_s']:.2f} s, {a['throughput_mib_s']:.1f} MiB/s; {n} sites: {b['wall_s']:.2f} s, "
                     f"{b['throughput_mib_s']:.1f} MiB/s")
        lines.append(f"{n} sites ÷ 1 site: wall {x('wall_s')} (sealed in outbox {x('sealed_s')}, waiting for sites "
                     f"{x('delivery_wait_s')}), agent user+sys {x('cpu_s')}, "
                     f"site servers user+sys {x('sites_cpu_s')}, agent + sites user+sys {x('total_cpu_s')}, "
                     f"agent peak RSS {x('max_rss_kib')}")
        return {"lines": lines, "targets": [target], "ratios": ratios}

    def teardown(self, ctx):
        shutil.rmtree(ctx.workdir / "sites", ignore_errors=True)


@register
class Audit(Scenario):
    name = "audit"
    title = "Keyless audit of a site"
    description = ("Skiff only: the dataset backed up (untimed) to a fresh local skiff-site; then `skiff audit --deep` "
                   "with an auditor token and the tenant's public key only (every seal, every object read and hashed "
                   "through the clear DAG links), then a second, incremental `skiff audit` (objects verified before are "
                   "only checked for presence), then `skiff verify` of the same site with the restore key (decrypts "
                   "everything) for comparison. MiB/s is the site's stored bytes per second.")
    tools = ("skiff",)
    needs_skiff_site = True
    columns = [
        replace(TIME, label="deep audit wall", summary=None),
        RATE,
        replace(CPU, label="auditor user+sys", summary=None),
        replace(RSS, label="auditor peak RSS", summary=None),
        Column("site_cpu_s", "site server user+sys", "s"),
        Column("incremental_wall_s", "incremental audit wall", "s"),
        Column("verify_wall_s", "verify with key wall", "s"),
        Column("site_stored_bytes", "stored at site", "bytes"),
    ]

    def participants(self, ctx):
        skiff = ctx.tools.get("skiff")
        if skiff is None or not ctx.skiff_site:
            return []
        return [toolsmod.SkiffSites(skiff, 1, ctx.skiff_site, ctx.workdir / "audit-site", name="skiff-audit", label="Skiff audit (1 site)")]

    def run_tool(self, ctx, run):
        fleet = _fleet_for(ctx, run)
        try:
            _, failed = _back_up_to(ctx, run, fleet, "audit")
            if failed:
                return failed
            stored = tree_usage(fleet.servers[0].data).apparent_bytes
            cache = ctx.prepare_caches([fleet.servers[0].data])
            m = ctx.measure(run, "audit-deep", run.audit_command(deep=True), companions=fleet.pids)
            r = ctx.result(run, "audit", m, cache=cache)
            incremental = ctx.measure(run, "audit-incremental", run.audit_command(deep=False), companions=fleet.pids)
            verify = ctx.measure(run, "verify", run.verify_site_command(), companions=fleet.pids)
            r["metrics"].update(throughput_mib_s=_rate(stored, m.wall_s), site_cpu_s=round(sum(m.companion_cpu_s), 2),
                                incremental_wall_s=round(incremental.wall_s, 3), verify_wall_s=round(verify.wall_s, 3),
                                site_stored_bytes=stored)
            for step, x in (("deep audit", m), ("incremental audit", incremental), ("verify", verify)):
                if x.exit_code != 0:
                    r["status"] = "failed"
                    r["notes"].append(f"{step} exited with {x.exit_code} on an intact site:\n{x.stderr_tail()}")
            return r
        finally:
            fleet.stop()
            shutil.rmtree(run.root, ignore_errors=True)


@register
class Agent(Scenario):
    name = "agent"
    title = "Agent: write to every site"
    description = ("Skiff only: `skiff agent` protecting a generated tree of 100,000 small files (1,000 directories; "
                   "10,000 with --small), shipping to 2 local skiff-site servers, with its shipped timing defaults. After "
                   "its first snapshot reached both sites: 200 changes, one every 250 ms (append to a file, or create or "
                   "delete one), each timed from the write to the moment both sites accepted the first seal taken after "
                   "it (sites' own seal counters, polled every 50 ms). Also the agent's peak RSS and its CPU while busy "
                   "and over 10 idle seconds.")
    tools = ("skiff",)
    uses_main_dataset = False
    needs_skiff_site = True
    CHANGES = 200
    INTERVAL_S = 0.25
    TARGETS = {"p99_s": 2.0, "idle_cpu_pct": 1.0, "rss_mib": 150}
    columns = [
        Column("files", "files", "count"),
        Column("first_snapshot_s", "first snapshot at both sites", "s"),
        Column("lag_p50_s", "write → both sites p50", "s"),
        Column("lag_p99_s", "write → both sites p99", "s"),
        Column("lag_max_s", "max", "s"),
        Column("busy_cpu_s", "agent CPU during changes", "s"),
        Column("idle_cpu_pct", "agent CPU idle (% of a core)", "%"),
        Column("agent_rss_kib", "agent peak RSS", "kib"),
        Column("site_cpu_s", "site servers user+sys", "s"),
    ]

    def participants(self, ctx):
        skiff = ctx.tools.get("skiff")
        if skiff is None or not ctx.skiff_site:
            return []
        return [toolsmod.SkiffSites(skiff, 2, ctx.skiff_site, ctx.workdir / "agent-sites", name="skiff-agent", label="Skiff agent → 2 sites")]

    def setup(self, ctx):
        self.directories = 100 if ctx.profile.name == "small" else 1000
        return {"files": self.directories * 100, "changes": self.CHANGES, "interval_s": self.INTERVAL_S, "targets": self.TARGETS}

    def run_tool(self, ctx, run):
        import random
        import subprocess
        run.reset()
        data = run.root / "data"
        files = realtime.generate_tree(data, self.directories)
        fleet = sites.Fleet(run, ctx.logs_dir / ctx.scenario, log=ctx.log)
        agent = poller = None
        r = {"status": "ok", "metrics": {"files": files}, "notes": []}
        try:
            fleet.create()
            fleet.start()
            poller = realtime.AcceptancePoller([srv.port for srv in fleet.servers]).start()
            arrivals = poller.arrivals
            agent_config = run.root / "agent.yaml"
            agent_config.write_text(run.host_config.read_text() + f"agent:\n  paths: [{data}]\n  rescan_interval: 0\n")
            site_cpu_before = sum(process_cpu_seconds(p) for p in fleet.pids)
            log = open(ctx.logs_dir / ctx.scenario / f"{run.name}-agent.stderr", "w")
            started = time.monotonic()
            agent = subprocess.Popen([str(run.executable), "agent", "--config", str(agent_config)], env=run.env(), cwd=run.root,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            while not all(1 in a for a in arrivals):
                if time.monotonic() - started > 900 or agent.poll() is not None:
                    r["status"] = "failed"
                    r["notes"].append("the agent's first snapshot did not reach both sites (900 s, or the agent exited)")
                    return r
                time.sleep(0.1)
            r["metrics"]["first_snapshot_s"] = round(time.monotonic() - started, 2)
            time.sleep(2)
            cpu_before = process_cpu_seconds(agent.pid)
            rnd = random.Random(2)
            existing = sorted(data.rglob("*.txt"))
            writes = []
            for k in range(self.CHANGES):
                kind = k % 10
                if kind == 9:
                    target = existing.pop(rnd.randrange(len(existing)))
                    target.unlink()
                elif kind == 8:
                    target = existing[rnd.randrange(len(existing))].with_name(f"new-{k}.txt")
                    target.write_bytes(rnd.randbytes(500))
                    existing.append(target)
                else:
                    with open(existing[rnd.randrange(len(existing))], "ab") as f:
                        f.write(b"log line %d\n" % k)
                writes.append(time.time())
                time.sleep(self.INTERVAL_S)
            # Wait for the last change to reach both sites.
            deadline = time.monotonic() + 60
            seals = []
            while time.monotonic() < deadline:
                seals = realtime.seal_times(run)
                if seals and seals[-1][1] >= writes[-1] and all(seals[-1][0] in a for a in arrivals):
                    break
                time.sleep(0.5)
            busy = process_cpu_seconds(agent.pid) - cpu_before
            lags = []
            for w in writes:
                after = [(seq, t) for seq, t in seals if t >= w]
                if not after or not all(after[0][0] in a for a in arrivals):
                    r["status"] = "failed"
                    r["notes"].append("a change never reached both sites")
                    break
                lags.append(max(a[after[0][0]] for a in arrivals) - w)
            cpu_idle_start = process_cpu_seconds(agent.pid)
            time.sleep(10)
            idle = process_cpu_seconds(agent.pid) - cpu_idle_start
            lags.sort()
            pick = lambda q: round(lags[min(len(lags) - 1, int(q * len(lags)))], 3) if lags else None  # noqa: E731
            r["metrics"].update(lag_p50_s=pick(0.5), lag_p99_s=pick(0.99), lag_max_s=round(lags[-1], 3) if lags else None,
                                busy_cpu_s=round(busy, 2), idle_cpu_pct=round(idle / 10 * 100, 2),
                                agent_rss_kib=process_peak_rss_kib(agent.pid),
                                site_cpu_s=round(sum(process_cpu_seconds(p) for p in fleet.pids) - site_cpu_before, 2),
                                seals=len(seals))
            ctx.log(f"[agent] {files} files: first snapshot {r['metrics']['first_snapshot_s']} s; lag p50 {pick(0.5)} s, "
                    f"p99 {pick(0.99)} s; busy CPU {busy:.2f} s; idle {idle / 10 * 100:.2f}%; RSS {r['metrics']['agent_rss_kib'] // 1024} MiB")
            return r
        finally:
            if poller is not None:
                poller.stop()
            if agent is not None:
                agent.terminate()
                try:
                    code = agent.wait(timeout=90)
                    if code != 0:
                        r["notes"].append(f"the agent exited with {code} after SIGTERM")
                except subprocess.TimeoutExpired:
                    agent.kill()
                    r["status"] = "failed"
                    r["notes"].append("the agent did not stop within 90 s of SIGTERM")
            fleet.stop()
            shutil.rmtree(run.root, ignore_errors=True)

    def conclude(self, ctx, results):
        r = results.get("skiff-agent")
        if not r or r.get("status") != "ok":
            return None
        m = r["metrics"]
        targets = [
            {"text": "write → both sites p99 under 2 s", "limit": 2.0, "value": m.get("lag_p99_s"), "unit": "s",
             "met": m.get("lag_p99_s") is not None and m["lag_p99_s"] < 2.0},
            {"text": "idle CPU under 1% of a core", "limit": 1.0, "value": m.get("idle_cpu_pct"), "unit": "%", "met": m.get("idle_cpu_pct", 100) < 1.0},
            {"text": "agent peak RSS under 150 MiB", "limit": 150, "value": m.get("agent_rss_kib", 0) / 1024, "unit": "MiB",
             "met": m.get("agent_rss_kib", 1 << 30) < 150 * 1024},
        ]
        return {"lines": [f"{m['files']:,} files, {self.CHANGES} changes every {self.INTERVAL_S} s, {m.get('seals')} seals"], "targets": targets}


@register
class SiteStorage(Sites):
    name = "site-storage"
    title = "Shipping to a site on its disk vs on S3"
    description = ("Skiff only: one `skiff backup --config` of the medium dataset (small with --small) to 1 local "
                   "skiff-site keeping objects in its data folder, then to 1 keeping them in a bucket of moto's S3 "
                   "server (`moto_server`, on loopback, started for the run), each from fresh keys, sites and host "
                   "state; then the latest snapshot is restored from each and compared with the dataset. moto is a "
                   "Python test server: the S3 figure is a floor for Ceph RGW or MinIO, not their speed.")
    SITE_COUNTS = ()
    columns = [c for c in Sites.columns if c.key != "sites"] + [
        Column("s3_requests_per_gib_uploaded", "S3 requests per GiB uploaded", "count"),
        Column("s3_requests_per_gib_restored", "S3 requests per GiB restored", "count"),
    ]

    def participants(self, ctx):
        skiff = ctx.tools.get("skiff")
        if skiff is None:
            return []
        root = ctx.workdir / "sites"
        return [toolsmod.SkiffSites(skiff, 1, ctx.skiff_site, root / "disk", name="skiff-site-disk", label="Skiff → site on disk"),
                toolsmod.SkiffSites(skiff, 1, ctx.skiff_site, root / "s3", name="skiff-site-s3", label="Skiff → site on S3 (moto)", s3=True)]

    def setup(self, ctx):
        info = super().setup(ctx)
        info.pop("site_counts", None)
        info.pop("target_ratio", None)
        return info

    def run_tool(self, ctx, run):
        import socket
        import subprocess
        moto = None
        if run.s3:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            log = open(ctx.logs_dir / f"{run.name}-moto.log", "wb")
            moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if moto.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("moto_server did not start (pip install 'moto[server]': Tools/setup.sh does it)")
                    time.sleep(0.2)
            run.s3_endpoint = f"http://127.0.0.1:{port}"
            run.moto_log = ctx.logs_dir / f"{run.name}-moto.log"
        try:
            return super().run_tool(ctx, run)
        finally:
            if moto is not None:
                stop(moto)

    def conclude(self, ctx, results):
        if "skiff" not in ctx.tools:
            return None
        disk, s3 = results.get("skiff-site-disk"), results.get("skiff-site-s3")
        lines = [f"dataset: {self.profile} profile, seed {ctx.seed}: {self.summary['files']:,} files, "
                 f"{self.summary['bytes'] / MiB:,.1f} MiB ({self.data_dir})"]
        targets = []
        for label, r in (("site on disk", disk), ("site on S3 (moto)", s3)):
            if r and r.get("status") in ("ok", "warning"):
                m = r["metrics"]
                lines.append(f"{label}: backup {m['wall_s']:.2f} s, {m['throughput_mib_s']:.1f} MiB/s, site servers "
                             f"{m.get('sites_cpu_s', 0):.1f} s CPU; restore {m.get('restore_wall_s', 0):.2f} s; "
                             f"{m.get('site_files', 0):,} files or keys for {m.get('site_stored_gib', 0):.2f} GiB")
                for key, text, limit in (("site_files_per_gib", f"{label}: at most 64 files or keys per GiB stored", 64),
                                         ("s3_requests_per_gib_uploaded", "S3: at most 70 requests per GiB uploaded", 70),
                                         ("s3_requests_per_gib_restored", "S3: at most 100 requests per GiB restored", 100)):
                    if key in m:
                        targets.append({"text": text, "limit": limit, "value": m[key], "unit": "per GiB", "met": m[key] <= limit})
            else:
                lines.append(f"{label}: did not succeed")
        ratios = {}
        if disk and s3 and all(r.get("status") in ("ok", "warning") for r in (disk, s3)):
            ratios = {k: _times(s3["metrics"].get(k), disk["metrics"].get(k)) for k in ("wall_s", "restore_wall_s", "sites_cpu_s")}
        return {"lines": lines, "targets": [], "ratios": ratios}


def _s3_requests(run):
    """Requests moto has answered so far (its log has one line per request), or None without S3."""
    log = getattr(run, "moto_log", None)
    if log is None:
        return None
    with open(log, "rb") as f:
        return sum(1 for line in f if b'"GET ' in line or b'"PUT ' in line or b'"HEAD ' in line
                   or b'"POST ' in line or b'"DELETE ' in line)


def _site_storage(run, fleet) -> dict:
    """Files (disk) or keys (bucket) the last site keeps for its tenants, its stored bytes, and
    both per GiB stored."""
    if getattr(run, "s3", False) and run.s3_endpoint:
        import boto3
        client = boto3.client("s3", endpoint_url=run.s3_endpoint, aws_access_key_id="bench", aws_secret_access_key="bench",
                              region_name="us-east-1")
        keys, size = 0, 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=run.S3_BUCKET, Prefix=f"site-{run.sites}/"):
            for item in page.get("Contents", []):
                keys += 1
                size += item["Size"]
        stored_files, stored_bytes = keys, size
    else:
        usage = tree_usage(fleet.servers[-1].data / "tenants")
        stored_files, stored_bytes = usage.files, usage.apparent_bytes
    if stored_bytes <= 0:
        return {}
    gib = stored_bytes / (1 << 30)
    return {"site_files": stored_files, "site_stored_gib": round(gib, 3), "site_files_per_gib": round(stored_files / gib, 1)}


@register
class Collect(Scenario):
    name = "gc"
    title = "Garbage collection of a site"
    description = ("Skiff only: `skiff-gc-fixture` (untimed) builds a site data folder holding 1,000,000 objects "
                   "(100,000 with --small) in 40 snapshots of one host, real encrypted objects in trees of 1,000 "
                   "children, with the older 20 snapshots retired and no grace period; then `skiff-site gc` is timed: "
                   "it marks from the 20 retained seals through the clear header links, deletes the other half from the "
                   "pack index and rewrites the packs that became garbage.")
    tools = ("skiff",)
    uses_main_dataset = False
    needs_skiff_site = True
    TARGETS = {"wall_s": 30.0, "rss_mib": 256}
    columns = [
        Column("objects", "objects at the site", "count"),
        replace(TIME, label="gc wall", summary=None),
        replace(CPU, label="gc user+sys", summary=None),
        replace(RSS, label="gc peak RSS", summary=None),
        Column("deleted_objects", "deleted", "count"),
        Column("reachable_objects", "reachable", "count"),
        Column("packs_rewritten", "packs rewritten", "count"),
        Column("bytes_reclaimed", "space reclaimed", "bytes"),
        Column("site_files", "files at the site after", "count"),
    ]

    def participants(self, ctx):
        skiff = ctx.tools.get("skiff")
        return [skiff] if skiff is not None and ctx.skiff_site else []

    def setup(self, ctx):
        self.objects = 100_000 if ctx.profile.name == "small" else 1_000_000
        return {"objects": self.objects, "targets": self.TARGETS}

    def run_tool(self, ctx, tool):
        import json
        import os
        import subprocess
        fixture = os.path.join(os.path.dirname(ctx.skiff_site), "skiff-gc-fixture")
        data = ctx.workdir / "gc-site"
        shutil.rmtree(data, ignore_errors=True)
        try:
            ctx.log(f"[gc] building a site with {self.objects:,} objects (untimed)")
            subprocess.run([fixture, "--data", str(data), "--objects", str(self.objects), "--seals", "40"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            run_quiet(["sync"])
            m = ctx.measure(tool, "gc", [ctx.skiff_site, "gc", "--data", str(data), "--tenant", "bench", "--json"])
            r = ctx.result(tool, "gc", m)
            if m.exit_code == 0:
                report = json.loads(m.stdout())
                compaction = report.get("compaction", {})
                r["metrics"].update(objects=report["examined"], deleted_objects=report["deletedObjects"],
                                    reachable_objects=report["reachable"], packs_rewritten=compaction.get("packsRewritten"),
                                    bytes_reclaimed=compaction.get("bytesReclaimed"), garbage_left=compaction.get("garbageLeft"),
                                    site_files=tree_usage(data / "tenants").files)
                if report["deletedObjects"] + report["reachable"] != report["examined"]:
                    r["status"] = "failed"
                    r["notes"].append(f"deleted + reachable != examined: {report}")
            else:
                r["status"] = "failed"
                r["notes"].append(f"skiff-site gc exited with {m.exit_code}:\n{m.stderr_tail()}")
            return r
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def conclude(self, ctx, results):
        r = results.get("skiff")
        if not r or r.get("status") != "ok":
            return None
        m = r["metrics"]
        rss = m.get("max_rss_kib", 0) / 1024
        return {"lines": [f"{m['objects']:,} objects, {m['deleted_objects']:,} deleted"], "targets": [
            {"text": "gc of the site under 30 s", "limit": 30.0, "value": m.get("wall_s"), "unit": "s", "met": m.get("wall_s", 1e9) < 30.0},
            {"text": "gc peak RSS under 256 MiB", "limit": 256, "value": rss, "unit": "MiB", "met": rss < 256},
        ]}


def describe_all() -> str:
    lines = []
    for s in REGISTRY.values():
        req = f" (requires: {', '.join(s.requires)})" if s.requires else ""
        who = "all tools" if s.tools is None else ", ".join(s.tools)
        if s.baselines:
            who += " + " + ", ".join(s.baselines)
        lines.append(f"{s.name:20} {s.title} [{who}]{req}\n{'':20} {s.description}")
    return "\n".join(lines)

