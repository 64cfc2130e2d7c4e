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
and implements
  setup(ctx)         once, before the participants (returns a dict kept in the JSON as "info");
  run_tool(ctx, t)   once per participant, in alternation; returns a result from ctx.result(...)
                     with extra metrics added;
  teardown(ctx)      once, after them.

To add one: subclass Scenario, decorate with @register, and give it a place in ORDER
(registration order is run order, so prerequisites come first).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, asdict

from . import treecheck
from .measure import tree_usage

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


class Scenario:
    name = ""
    title = ""
    description = ""
    requires: tuple = ()
    tools: tuple | None = None
    baselines: tuple = ()
    columns: list = STANDARD

    def participants(self, ctx) -> list:
        chosen = [t for n, t in ctx.tools.items() if self.tools is None or n in self.tools]
        return chosen + [ctx.baseline(b) for b in self.baselines]

    def setup(self, ctx) -> dict:
        return {}

    def run_tool(self, ctx, tool) -> dict:
        raise NotImplementedError

    def teardown(self, ctx) -> None:
        pass


def _rate(nbytes: int, seconds: float) -> float:
    return round(nbytes / MiB / seconds, 1) if seconds > 0 else 0.0


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
                   "modes, mtimes and owners reported separately). `cp -a` of the source is the floor.")
    requires = ("backup-initial",)
    baselines = ("cp",)
    columns = STANDARD + [RATE, Column("tree_check", "restored tree", "text")]

    def setup(self, ctx):
        self.source = ctx.source_manifest()
        return {"dataset_digest": treecheck.digest(self.source), "dataset_bytes": ctx.dataset_bytes()}

    def run_tool(self, ctx, tool):
        target = ctx.scratch_dir / f"restore-{tool.name}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        # Warm (or drop) what the restore reads: the repository, or the source for cp.
        cache = ctx.prepare_caches([ctx.data_dir] if tool.role == "baseline" else [tool.repo] + tool.cache_dirs())
        command, cwd = tool.restore_command(ctx.data_dir, target)
        m = ctx.measure(tool, "restore", command, cwd=cwd)
        r = ctx.result(tool, "restore", m, cache=cache)
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
        if not ctx.keep_restores:
            shutil.rmtree(target, ignore_errors=True)
        return r


@register
class Verify(Scenario):
    name = "verify"
    title = "Full verification (with data)"
    description = ("Read and check every object of the repository: `skiff verify`, "
                   "`restic check --read-data`, `borg check --verify-data`. MiB/s is repository bytes per second.")
    requires = ("backup-initial",)
    columns = STANDARD + [RATE, Column("repository_bytes", "repository", "bytes")]

    def run_tool(self, ctx, tool):
        cache = ctx.prepare_caches([tool.repo] + tool.cache_dirs())
        repo = tree_usage(tool.repo)
        m = ctx.measure(tool, "verify", tool.verify_command())
        r = ctx.result(tool, "verify", m, cache=cache)
        r["metrics"].update(repository_bytes=repo.apparent_bytes, throughput_mib_s=_rate(repo.apparent_bytes, m.wall_s))
        return r


def describe_all() -> str:
    lines = []
    for s in REGISTRY.values():
        req = f" (requires: {', '.join(s.requires)})" if s.requires else ""
        who = "all tools" if s.tools is None else ", ".join(s.tools)
        if s.baselines:
            who += " + " + ", ".join(s.baselines)
        lines.append(f"{s.name:20} {s.title} [{who}]{req}\n{'':20} {s.description}")
    return "\n".join(lines)

