"""The `many-files` scenario (issue 26, "A million files: the cost per file as low as the kernel
allows"): every tool's initial backup, incremental backup and restore of a tree of N small files
(filetree.py; N = --files, default 1,000,000, 100,000 with --small), each also at N/10 files for
the growth exponent log(x_N / x_N/10) / log(N / (N/10)) of its time and peak RSS; then `skiff
agent` watching the N-file tree, shipping to one local site.

Rows: one per tool and step (the step measured at N/10, then at N, in separate repositories under
WORKDIR/tools/many-files/), then the agent's. They run in this order: every tool's initial backup,
every tool's incremental, every tool's restore, the agent. The mutated state: every initial
backup reads the pristine trees (cached in WORKDIR/many-files-N, see filetree.ensure); just
before the first incremental the seeded mutation (filetree.Mutation: 0.01% of the files
rewritten, appended to, created, deleted, with fixed mtimes) is applied once to each tree,
journaled, so every tool's incremental reads the same mutated tree and every restore of the
latest snapshot is compared with the same mutated manifest (treecheck, every file hashed). Before
the agent, and at teardown so the cached trees stay pristine for the next run, the mutation is
undone from its journal and the touched files and folders are checked against the pristine
manifest. The agent's burst (1,000 files appended to within a second) is journaled and undone the
same way. Restores go onto a fresh ext4 filesystem each (freshfs, sized for the tree's inodes),
page cache dropped first, as in `restore`.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from . import dataset, filetree, freshfs, realtime, tools as toolsmod, treecheck
from .loadscenario import AgentLoad, _free_port, _reset_peak_rss
from .measure import process_cpu_seconds, process_peak_rss_kib, process_status_kib, tree_usage
from .scenarios import CPU, RSS, SYS, TIME, USER, Column, Scenario, _fleet_for, register

MiB = 1 << 20
STEPS = {"initial": "initial backup", "incremental": "incremental backup", "restore": "restore"}
STATUS_ORDER = ("ok", "warning", "skipped", "failed", "error")
INODE_BYTES = 16384  # mke2fs's default inode_ratio: the restore filesystem is sized for the tree's entries
BURST = 1000
FIRST_SNAPSHOT_TIMEOUT_S = 3600
IDLE_S = 10


class Row:
    """A row of the table: one tool's step, measured at N/10 files, then at N."""
    role = "backup"

    def __init__(self, tool, step: str):
        self.tool, self.step = tool, step
        self.name = f"{tool.name}-{step}"
        self.label = f"{tool.label}: {STEPS[step]}"


class Tree:
    """One cached tree: its folder, marker and pristine manifest, and the mutation applied to it."""

    def __init__(self, root: Path, files: int, seed: int):
        self.root = root
        self.files = files
        self.marker, self.manifest = filetree.ensure(root, files, seed)
        self.mutation: filetree.Mutation | None = None
        self.mutated: dict | None = None  # manifest of the mutated tree

    @property
    def summary(self) -> dict:
        return self.marker["summary"]

    def mutate(self, seed: int) -> dict:
        """Applies the mutation (once); returns the mutated manifest."""
        if self.mutation is None:
            self.pristine()
            self.mutation = filetree.Mutation.plan(self.root, self.manifest, seed, "mutation")
            self.mutation.apply()
            self.mutated = self.mutation.manifest_after(self.manifest)
        return self.mutated

    def pristine(self) -> None:
        """Undoes whatever mutation is journaled (ours or the agent's burst) and checks it is gone."""
        if filetree.journal_path(self.root).exists():
            touched = filetree.Mutation.undo(self.root)
            wrong = filetree.check_undone(self.root, touched, self.manifest)
            if wrong:
                dataset.write_marker(self.root, {**self.marker, "state": "damaged"})  # regenerated next run
                raise RuntimeError(f"undoing the mutation of {self.root} left {len(wrong)} entries unlike the pristine "
                                   f"tree (e.g. {wrong[:3]})")
        self.mutation = self.mutated = None


@register
class ManyFiles(Scenario):
    name = "many-files"
    title = "A million files"
    description = (
        "A seeded tree of N small files like a file server's (N = --files, default 1,000,000, 100,000 with --small; "
        "folders of 10-400 files three levels deep, 2.5 KiB median, 2% empty, a few up to 1 MiB, 70% text, every file "
        "distinct): each tool's initial backup into a fresh repository, incremental backup after 0.01% of the files "
        "changed (rewritten, appended to, created, deleted; the same seeded change for every tool), and restore of the "
        "latest snapshot onto a fresh filesystem, checked file by file against the mutated tree. Each step also runs at "
        "N/10 files: growth exponent = log(x at N ÷ x at N/10) / log 10 for wall time and peak RSS (1.0: linear). CPU per "
        "file divides user+sys by the files (the incremental: by the unchanged files). Then `skiff agent` (its defaults) "
        "watching the N-file tree, shipping to 1 local site: time to its first snapshot at the site, folders (one inotify "
        "watch each) against fs.inotify.max_user_watches, RSS idle 10 s after it, peak RSS while 1,000 files are "
        "appended to within a second and the time until the last of them reached the site.")
    uses_main_dataset = False
    needs_skiff_site = True
    TARGETS = {"incremental_vs_restic": 4.0, "incremental_us_per_unchanged_file": 5.0, "initial_vs_restic": 2.0,
               "restore_vs_restic": 2.0, "rss_restic_over_skiff": 2.0, "agent_rss_mib": 300, "time_exponent": 1.0,
               "rss_exponent": 1.0}
    columns = [
        Column("files", "files", "count"),
        replace(TIME, summary=None), USER, SYS, replace(CPU, summary=None),
        Column("cpu_us_per_file", "CPU per file, µs (incremental: per unchanged file)", "count"),
        replace(RSS, summary=None),
        Column("tenth_wall_s", "wall at N/10", "s"),
        Column("tenth_max_rss_kib", "peak RSS at N/10", "kib"),
        Column("time_exponent", "growth exponent: time", "count"),
        Column("rss_exponent", "growth exponent: RSS", "count"),
        Column("tree_check", "restored tree", "text"),
        Column("first_snapshot_s", "agent: first snapshot at the site", "s"),
        Column("directories", "folders (watches needed)", "count"),
        Column("max_user_watches", "max_user_watches", "count"),
        Column("idle_rss_kib", "agent RSS idle", "kib"),
        Column("burst_rss_kib", "agent peak RSS, burst", "kib"),
        Column("burst_to_site_s", "burst's last change → site", "s"),
    ]

    def participants(self, ctx):
        rows = [Row(tool, step) for step in STEPS for tool in ctx.tools.values()]
        skiff = ctx.tools.get("skiff")
        if skiff is not None and ctx.skiff_site:
            rows.append(toolsmod.SkiffSites(skiff, 1, ctx.skiff_site, ctx.workdir / "many-files-agent",
                                            name="skiff-agent", label="Skiff agent → 1 site"))
        return rows

    def setup(self, ctx):
        n = ctx.files or (100_000 if ctx.profile.name == "small" else 1_000_000)
        if n < 40:
            raise RuntimeError(f"--files {n}: the many-files scenario needs at least 40 files (N/10 ≥ 4)")
        self.sizes = (n // 10, n)
        self.trees = {size: Tree(ctx.workdir / f"many-files-{size}", size, ctx.seed) for size in self.sizes}
        self.repos = ctx.workdir / "tools" / "many-files"
        shutil.rmtree(self.repos, ignore_errors=True)  # left over from an interrupted run
        self.copies = {(name, size): type(tool)(self.repos / f"{name}-{size}", tool.executable)
                       for name, tool in ctx.tools.items() for size in self.sizes}
        self.status: dict[tuple[str, int, str], str] = {}
        self.unavailable = "--restore-on-workdir" if ctx.restore_on_workdir else freshfs.available()
        self.info = {"files": n, "sizes": list(self.sizes), "seed": ctx.seed, "mutation_seed": ctx.mutation_seed,
                     "trees": {str(s): {"dir": str(t.root), "summary": t.summary, "digest": t.marker["digest"]}
                               for s, t in self.trees.items()},
                     "restore_target": "a fresh ext4 filesystem per restore" if self.unavailable is None
                     else f"the workdir's filesystem ({self.unavailable})",
                     "targets": self.TARGETS}
        return self.info

    def teardown(self, ctx):
        for tree in getattr(self, "trees", {}).values():
            tree.pristine()
        shutil.rmtree(getattr(self, "repos", ctx.workdir / "tools" / "many-files"), ignore_errors=True)

    # -- the rows
    def run_tool(self, ctx, row):
        if isinstance(row, toolsmod.SkiffSites):
            return self._agent(ctx, row)
        step = getattr(self, f"_{row.step}")
        small, large = (step(ctx, self.copies[(row.tool.name, size)], self.trees[size]) for size in self.sizes)
        return self._combine(small, large)

    def _skip(self, tool, tree, step: str, needs: str) -> dict | None:
        """A skipped result when `needs` did not succeed for this tool and size, else None."""
        if self.status.get((tool.name, tree.files, needs)) in ("ok", "warning"):
            return None
        self.status[(tool.name, tree.files, step)] = "skipped"
        return {"status": "skipped", "metrics": {}, "notes": [f"{needs} at {tree.files:,} files did not succeed"]}

    def _finish(self, ctx, tool, tree, step: str, r: dict, per_files: int, expected_files: int) -> dict:
        """Adds files and CPU per file, checks the files the tool reports, records the status."""
        m = r["metrics"]
        m.update(files=tree.files, cpu_us_per_file=round(m["cpu_s"] / per_files * 1e6, 2) if per_files else None)
        reported = tool.files_reported(r.get("tool_report"))
        if reported is not None:
            m["files_reported"] = reported
            if reported != expected_files:
                r["notes"].append(f"{tool.label} reports {reported:,} files; the tree has {expected_files:,}")
        self.status[(tool.name, tree.files, step)] = r["status"]
        return r

    def _initial(self, ctx, tool, tree):
        tree.pristine()
        tool.reset()
        init = ctx.measure(tool, f"init-{tree.files}", tool.init_command())
        if tool.status("init", init.exit_code) == "failed":
            self.status[(tool.name, tree.files, "initial")] = "failed"
            return ctx.result(tool, "init", init)
        cache = ctx.prepare_caches([tree.root])
        m = ctx.measure(tool, f"backup-initial-{tree.files}", tool.backup_command(tree.root, "initial"))
        r = ctx.result(tool, "backup", m, cache=cache)
        if r["status"] != "failed":
            tool.record_backup("initial")
        r["metrics"].update(init_s=round(init.wall_s, 3), stored_disk_bytes=tree_usage(tool.repo).disk_bytes)
        return self._finish(ctx, tool, tree, "initial", r, tree.files, tree.summary["files"])

    def _incremental(self, ctx, tool, tree):
        skipped = self._skip(tool, tree, "incremental", "initial")
        if skipped:
            return skipped
        mutated = tree.mutate(ctx.mutation_seed)
        before = tree_usage(tool.repo)
        cache = ctx.prepare_caches([tree.root])
        m = ctx.measure(tool, f"backup-incremental-{tree.files}", tool.backup_command(tree.root, "incremental"))
        r = ctx.result(tool, "backup", m, cache=cache)
        if r["status"] != "failed":
            tool.record_backup("incremental")
        unchanged = tree.files - tree.mutation.touched_files()
        r["metrics"].update(unchanged_files=unchanged, mutation=tree.mutation.summary(),
                            added_disk_bytes=tree_usage(tool.repo).minus(before).disk_bytes)
        return self._finish(ctx, tool, tree, "incremental", r, unchanged, sum(1 for e in mutated.values() if e.kind == "f"))

    def _restore(self, ctx, tool, tree):
        skipped = self._skip(tool, tree, "restore", "incremental")
        if skipped:
            return skipped
        mutated = tree.mutate(ctx.mutation_seed)
        files = sum(1 for e in mutated.values() if e.kind == "f")
        target, fs = self._target(ctx, tool, tree, mutated)
        try:
            if fs is not None:
                freshfs.settle_memory()  # same memory state for every participant, as in `restore`
            cache = ctx.prepare_caches([tool.repo] + tool.cache_dirs())
            command, cwd = tool.restore_command(tree.root, target)
            m = ctx.measure(tool, f"restore-{tree.files}", command, cwd=cwd)
            r = ctx.result(tool, "restore", m, cache=cache)
            ctx.log(f"[{ctx.scenario}] {tool.label}: checking the {files:,} restored files")
            check = treecheck.compare(mutated, tool.restored_root(tree.root, target))
            r["tree_check"] = check
            r["metrics"]["tree_check"] = treecheck.describe(check)
            if not check["ok"]:
                r["status"] = "failed"
                r["notes"].append(f"RESTORED TREE DIFFERS FROM THE SOURCE: {treecheck.describe(check)}; "
                                  f"examples: {check.get('examples')}")
                ctx.log(f"!!! {tool.label}: restored tree differs from the source: {treecheck.describe(check)}")
            elif any(check[k] for k in treecheck.METADATA):
                r["notes"].append(f"metadata differences (not counted as failure): {treecheck.describe(check)}; "
                                  f"examples: {check.get('examples')}")
            return self._finish(ctx, tool, tree, "restore", r, files, files)
        finally:
            if ctx.keep_restores:
                ctx.log(f"[{ctx.scenario}] kept the restored tree in {target}" + (f" (image {fs.image})" if fs else ""))
            elif fs is not None:
                fs.remove()
            else:
                shutil.rmtree(target, ignore_errors=True)

    def _target(self, ctx, tool, tree, mutated: dict):
        """An empty folder to restore into, on a fresh filesystem with inodes for every entry when
        one can be made: (folder, filesystem or None)."""
        name = f"many-files-{tool.name}-{tree.files}"
        fs = None
        if self.unavailable is None:
            fs = freshfs.FreshFilesystem(ctx.scratch_dir / f"{name}.img", ctx.scratch_dir / name)
            fs.make(size_bytes=max(2 * tree.summary["bytes"] + (1 << 30), len(mutated) * INODE_BYTES * 3 // 2))
            target = fs.mountpoint / "restore"
        else:
            target = ctx.scratch_dir / name
            shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        return target, fs

    def _combine(self, small: dict, large: dict) -> dict:
        """The row: the result at N, with the one at N/10 under "tenth" and the growth exponents."""
        r = dict(large)
        r["metrics"] = dict(large.get("metrics", {}))
        r["notes"] = list(large.get("notes", [])) + [f"at N/10 ({self.sizes[0]:,} files): {n}" for n in small.get("notes", [])]
        r["tenth"] = small
        r["status"] = max(small["status"], large["status"], key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 99)
        a, b = small.get("metrics", {}), r["metrics"]
        if a:
            b.update(tenth_files=self.sizes[0], tenth_wall_s=a.get("wall_s"), tenth_cpu_s=a.get("cpu_s"),
                     tenth_max_rss_kib=a.get("max_rss_kib"), tenth_cpu_us_per_file=a.get("cpu_us_per_file"))
        if small["status"] in ("ok", "warning") and large["status"] in ("ok", "warning"):
            scale = math.log(self.sizes[1] / self.sizes[0])
            for key, exponent in (("wall_s", "time_exponent"), ("max_rss_kib", "rss_exponent")):
                if a.get(key) and b.get(key):
                    b[exponent] = round(math.log(b[key] / a[key]) / scale, 2) + 0.0  # no -0.0
        return r

    # -- the agent
    def _agent(self, ctx, run):
        tree = self.trees[self.sizes[1]]
        tree.pristine()
        fleet = _fleet_for(ctx, run)
        watches = int(Path("/proc/sys/fs/inotify/max_user_watches").read_text())
        r = {"status": "ok", "notes": [], "metrics": {"files": tree.files, "directories": tree.summary["directories"],
                                                      "max_user_watches": watches}}
        m = r["metrics"]
        if tree.summary["directories"] > watches:
            r["notes"].append(f"the tree has {tree.summary['directories']:,} folders, more than fs.inotify.max_user_watches "
                              f"({watches:,}): the agent cannot watch them all")
        agent = poller = log = None
        try:
            fleet.create()
            fleet.start()
            poller = realtime.AcceptancePoller([s.port for s in fleet.servers]).start()
            port = _free_port()
            config = run.root / "agent.yaml"
            config.write_text(run.host_config.read_text() + f"agent:\n  paths: [{tree.root}]\n  metrics_listen: 127.0.0.1:{port}\n")
            log = open(ctx.logs_dir / ctx.scenario / f"{run.name}-agent.stderr", "w")
            ctx.log(f"[{ctx.scenario}] {run.label}: agent watching {tree.files:,} files")
            started = time.monotonic()
            agent = subprocess.Popen([str(run.executable), "agent", "--config", str(config)], env={**os.environ, **run.env()},
                                     cwd=run.root, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            while poller.held(0) < 1:
                if time.monotonic() - started > FIRST_SNAPSHOT_TIMEOUT_S or agent.poll() is not None:
                    r["status"] = "failed"
                    r["notes"].append(f"the agent's first snapshot did not reach the site ({FIRST_SNAPSHOT_TIMEOUT_S} s, "
                                      f"or the agent exited: {agent.poll()})")
                    return r
                time.sleep(0.1)
            m.update(first_snapshot_s=round(time.monotonic() - started, 2), first_snapshot_rss_kib=process_peak_rss_kib(agent.pid))

            cpu = process_cpu_seconds(agent.pid)
            time.sleep(IDLE_S)
            m.update(idle_cpu_pct=round((process_cpu_seconds(agent.pid) - cpu) / IDLE_S * 100, 2),
                     idle_rss_kib=process_status_kib(agent.pid, "VmRSS"))
            m["watched_directories_idle"] = realtime.agent_metrics(port).get("skiff_agent_watched_directories")

            if not _reset_peak_rss(agent.pid):
                r["notes"].append("could not reset the agent's peak RSS (/proc/PID/clear_refs): the burst's peak includes "
                                  "the first snapshot's")
            burst = filetree.Mutation.plan(tree.root, tree.manifest, ctx.seed, "burst", count=min(BURST, tree.files // 2),
                                           kinds=("append",), fixed_times=False)
            writes = burst.apply(pace_s=1.0)
            seals, _ = AgentLoad._wait_for(poller, run, writes[-1], [0], 600)
            lags, unanswered = realtime.lags(writes, seals, poller.arrivals[0])
            m.update(burst_files=len(writes), burst_s=round(writes[-1] - writes[0], 3),
                     burst_rss_kib=process_peak_rss_kib(agent.pid))
            if unanswered:
                r["status"] = "failed"
                r["notes"].append(f"{unanswered} of the burst's {len(writes)} changes never reached the site (600 s)")
            else:
                m.update(burst_to_site_s=round(realtime.lags(writes[-1:], seals, poller.arrivals[0])[0][0], 3),
                         burst_lag_p50_s=realtime.percentile(lags, 0.5), burst_lag_max_s=realtime.percentile(lags, 1.0))
            m["agent_peak_rss_kib"] = max(m["first_snapshot_rss_kib"], m["idle_rss_kib"], m["burst_rss_kib"])
            after = realtime.agent_metrics(port)
            m["watched_directories"] = after.get("skiff_agent_watched_directories")  # the agent's gauge, after the burst
            m["rescans"] = sum(v for k, v in after.items() if k.startswith("skiff_agent_rescans_total"))
            m["seals"] = poller.held(0)
            ctx.log(f"[{ctx.scenario}] agent: first snapshot {m['first_snapshot_s']} s, idle RSS {m['idle_rss_kib'] // 1024} MiB, "
                    f"burst peak RSS {m['burst_rss_kib'] // 1024} MiB, last change → site {m.get('burst_to_site_s')} s")
            return r
        finally:
            if poller is not None:
                poller.stop()
            if agent is not None:
                AgentLoad._stop_agent(agent, r["notes"])
            if log is not None:
                log.close()
            fleet.stop()
            tree.pristine()
            shutil.rmtree(run.root, ignore_errors=True)

    # -- conclusion
    def conclude(self, ctx, results):
        if not getattr(self, "trees", None):  # setup failed
            return None
        n = self.sizes[1]
        lines = []
        for size, tree in self.trees.items():
            s = tree.summary
            lines.append(f"{size:,} files in {s['directories']:,} folders (depth {s['depth']}, {s['entries_per_directory']['median']} "
                         f"entries per folder median, {s['entries_per_directory']['max']} max), {s['bytes'] / MiB:,.1f} MiB "
                         f"(median {s['median_bytes']:,} B, {s['empty_files']:,} empty, {s['text_files']:,} text), "
                         f"tree {tree.root}")

        def metrics(name):
            x = results.get(name)
            return x["metrics"] if x and x.get("status") in ("ok", "warning") else None

        for step, text in STEPS.items():
            parts = []
            for name, tool in ctx.tools.items():
                x = metrics(f"{name}-{step}")
                if x:
                    parts.append(f"{tool.label} {x['wall_s']:.2f} s, {x['cpu_us_per_file']} µs CPU per file, "
                                 f"{x['max_rss_kib'] / 1024:.0f} MiB (exponents {x.get('time_exponent')} / {x.get('rss_exponent')})")
            if parts:
                lines.append(f"{text} at {n:,} files (growth exponents time / RSS): " + "; ".join(parts))

        def versus(step, key):
            """restic ÷ Skiff for one step's figure, with why not when it cannot be had."""
            s, p = metrics(f"skiff-{step}"), metrics(f"restic-{step}")
            if not s or not p:
                return None, f"Skiff's or restic's {STEPS[step]} did not succeed or did not run"
            return (round(p[key] / s[key], 2) if s[key] else None), None

        def target(text, value, limit, met, unit="×", reason=None):
            t = {"text": text, "limit": limit, "value": value, "unit": unit, "met": met(value) if value is not None else None}
            if value is None:
                t["reason"] = reason or "no value"
            return t

        T = self.TARGETS
        targets = []
        for step, key in (("incremental", "incremental_vs_restic"), ("initial", "initial_vs_restic"), ("restore", "restore_vs_restic")):
            value, why = versus(step, "wall_s")
            targets.append(target(f"{STEPS[step]} of {n:,} files at least {T[key]:.0f}× faster than restic", value, T[key],
                                  lambda v, k=key: v >= T[k], reason=why))
            if step == "incremental":
                x = metrics("skiff-incremental")
                targets.append(target(f"incremental: at most {T['incremental_us_per_unchanged_file']:.0f} µs of CPU per unchanged file",
                                      x and x.get("cpu_us_per_file"), T["incremental_us_per_unchanged_file"],
                                      lambda v: v <= T["incremental_us_per_unchanged_file"], unit="µs",
                                      reason="Skiff's incremental did not succeed or did not run"))
        for step in STEPS:
            value, why = versus(step, "max_rss_kib")
            targets.append(target(f"{STEPS[step]}: Skiff's peak RSS at most half of restic's (restic ÷ Skiff ≥ 2)", value,
                                  T["rss_restic_over_skiff"], lambda v: v >= T["rss_restic_over_skiff"], reason=why))
        a = metrics("skiff-agent")
        targets.append(target(f"agent watching {n:,} files: peak RSS (first snapshot, idle, burst) under {T['agent_rss_mib']} MiB",
                              round(a["agent_peak_rss_kib"] / 1024, 1) if a else None, T["agent_rss_mib"],
                              lambda v: v < T["agent_rss_mib"], unit="MiB", reason="the agent did not succeed or did not run"))
        for key, what, met in (("time_exponent", "time", lambda v: v <= T["time_exponent"]),
                               ("rss_exponent", "peak RSS", lambda v: v < T["rss_exponent"])):
            values = {step: (metrics(f"skiff-{step}") or {}).get(key) for step in STEPS}
            known = {k: v for k, v in values.items() if v is not None}
            worst = max(known, key=known.get) if known else None
            bound = "at most" if key == "time_exponent" else "below"
            targets.append(target(f"Skiff's growth exponent for {what}, N/10 → N, {bound} {T[key]:.1f} in every step"
                                  + (f" (worst: {STEPS[worst]})" if worst else ""),
                                  known[worst] if worst else None, T[key], met, unit="",
                                  reason="Skiff's steps did not succeed at both sizes"))
        if a:
            lines.append(f"agent: {a['directories']:,} folders to watch (fs.inotify.max_user_watches {a['max_user_watches']:,}; "
                         f"skiff_agent_watched_directories {a.get('watched_directories_idle')} idle, "
                         f"{a.get('watched_directories')} after the burst); first snapshot at the site after "
                         f"{a['first_snapshot_s']} s (peak RSS {a['first_snapshot_rss_kib'] / 1024:.0f} MiB); idle "
                         f"{a['idle_rss_kib'] / 1024:.0f} MiB, {a['idle_cpu_pct']}% of a core; burst of {a['burst_files']:,} "
                         f"appends in {a['burst_s']} s: peak RSS {a['burst_rss_kib'] / 1024:.0f} MiB, last change at the site "
                         f"after {a.get('burst_to_site_s')} s (p50 {a.get('burst_lag_p50_s')} s); {a['seals']} seals, "
                         f"{a['rescans']:.0f} rescans")
        return {"lines": lines, "targets": targets}
