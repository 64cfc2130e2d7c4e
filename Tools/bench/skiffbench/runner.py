"""The `run` subcommand: prepares the workdir and the dataset, runs the scenarios with the
tools in alternation, and writes the report after every scenario.

Workdir layout (default /var/tmp/skiff-bench):
  .skiff-bench-workdir   marks the folder as the harness's (it refuses other non-empty folders)
  data/                  the dataset (what every tool backs up)
  data.dataset.json      its marker (seed, size, state, digest)
  data-PROFILE/          the dataset of a scenario that brings its own (`sites`: medium, small with --small), kept
  sites/                 the `sites` scenario's site data folders, keys and host state (removed after each run)
  many-files-N/          the `many-files` scenario's trees (N and N/10 files), with markers, kept for reuse
  tools/many-files/      its repositories, one per tool and size (removed after the scenario)
  tools/NAME/            each tool's repository, local cache and keys (reset by backup-initial)
  scratch/               restore targets (removed once every tool restored, unless --keep-restores)
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path

from . import dataset, mutate, report, scenarios, tools as toolsmod, treecheck
from .measure import CachePolicy, Measurement, gnu_time, run as run_measured

WORKDIR_MARKER = ".skiff-bench-workdir"


def log(msg: str) -> None:
    dataset.log(msg)


class Context:
    """What scenarios see: the dataset, the tools, measurement and cache helpers."""

    def __init__(self, *, workdir: Path, out_dir: Path, profile, seed: int, mutation_seed: int,
                 tools: dict, cache: CachePolicy, keep_restores: bool, skiff_site: str | None = None,
                 restore_on_workdir: bool = False, files: int | None = None):
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.tools_dir = workdir / "tools"
        self.scratch_dir = workdir / "scratch"
        self.out_dir = out_dir
        self.logs_dir = out_dir / "logs"
        self.profile = profile
        self.seed = seed
        self.mutation_seed = mutation_seed
        self.tools = tools
        self.cache = cache
        self.keep_restores = keep_restores
        self.restore_on_workdir = restore_on_workdir  # restore scenario: no fresh filesystem per participant
        self.skiff_site = skiff_site  # the site server binary (the `sites` scenario)
        self.files = files  # many-files scenario: files in its large tree (--files; None: its default)
        self.marker: dict = {}
        self.scenario = ""
        self.tool_status: dict[tuple[str, str], str] = {}
        self._baselines: dict = {}
        self._manifest = None
        self.notes: list[str] = []
        self.busy: list[tuple[float, str]] = []  # (other CPU / wall, which command) when the host was not idle

    def log(self, msg):
        log(msg)

    # -- dataset
    def ensure_pristine(self, check_digest: bool = False) -> dict:
        if self.marker.get("state") != "pristine" or check_digest:
            self.marker = dataset.ensure_pristine(self.data_dir, self.profile, self.seed, check_digest=check_digest)
            self._manifest = None
        return self.marker

    def ensure_mutated(self) -> dict:
        if self.marker.get("state") != "mutated":
            self.ensure_pristine()
            mutate.mutate(self.data_dir, self.mutation_seed)
            self.marker = dataset.read_marker(self.data_dir)
            self._manifest = None
        return self.marker.get("mutation", {})

    def ensure_dataset(self, profile_name: str) -> tuple[Path, dict, dict]:
        """(folder, marker, manifest with hashes) of a pristine dataset in WORKDIR/data-PROFILE, for a scenario
        that brings its own (`sites`). Kept for reuse like the main one (hashed once: the manifest is checked
        against the marker's digest, regenerated on mismatch), and separate from it so that such a scenario
        neither regenerates nor mutates the main dataset."""
        d = self.workdir / f"data-{profile_name}"
        profile = dataset.PROFILES[profile_name]
        marker = dataset.ensure_pristine(d, profile, self.seed, check_digest=False)
        log(f"hashing the {profile_name} dataset in {d} (checked against its marker; this also warms the page cache)")
        man = treecheck.manifest(d)
        if treecheck.digest(man) != marker.get("digest"):
            log("(re)generating the dataset: existing dataset no longer matches its digest")
            dataset.remove_dataset(d)
            marker = dataset.generate(d, profile, self.seed)
            man = treecheck.manifest(d)
        return d, marker, man

    def dataset_bytes(self) -> int:
        return self.marker["summary"]["bytes"]

    def dataset_files(self) -> int:
        return self.marker["summary"]["files"]

    def source_manifest(self) -> dict:
        """Manifest (with hashes) of the dataset as it is now; checked against the marker's digest."""
        if self._manifest is None:
            log("hashing the source tree for the restore checks")
            self._manifest = treecheck.manifest(self.data_dir)
            d = treecheck.digest(self._manifest)
            if d != self.marker.get("digest"):
                note = (f"the dataset changed during the run (digest {d[:16]} != {self.marker.get('digest', '')[:16]}): "
                        "did a tool modify its source?")
                log("!!! " + note)
                self.notes.append(note)
        return self._manifest

    # -- participants
    def baseline(self, name: str):
        if name not in self._baselines:
            self._baselines[name] = toolsmod.make_baseline(name, self.tools_dir)
        return self._baselines[name]

    # -- measuring
    def prepare_caches(self, inputs: list[Path]) -> dict:
        return self.cache.prepare([p for p in inputs if p.exists()])

    def measure(self, tool, step: str, command: list, cwd: Path | None = None, companions: list[int] = ()) -> Measurement:
        """Runs and measures one command; `companions` are pids of processes that serve it (local site
        servers): their CPU is measured too (m.companion_cpu_s) and not counted as the host being busy."""
        stem = self.logs_dir / self.scenario / f"{tool.name}-{step}"
        log(f"[{self.scenario}] {tool.label}: {step}")
        m = run_measured(command, env=tool.env(), cwd=cwd, log_stem=stem, companions=companions)
        if m.other_cpu_s > max(0.5, 0.1 * m.wall_s):
            log(f"warning: other processes used {m.other_cpu_s:.1f} s of CPU while {tool.label} {step} ran "
                f"({m.wall_s:.1f} s wall): the host is not idle")
            self.busy.append((m.other_cpu_s / m.wall_s if m.wall_s > 0 else 0.0, f"{self.scenario} {tool.label} {step}"))
        log(f"[{self.scenario}] {tool.label}: {step} exit {m.exit_code}, {m.wall_s:.2f} s wall, "
            f"{m.cpu_s:.2f} s CPU ({m.cpu_pct:.0f}%), peak RSS {m.max_rss_kib / 1024:.0f} MiB")
        return m

    def result(self, tool, step: str, m: Measurement, **extra) -> dict:
        """The standard result of one measured step; scenarios add metrics to r["metrics"]."""
        status = tool.status(step, m.exit_code)
        r = {
            "status": status,
            "step": step,
            "exit_code": m.exit_code,
            "metrics": m.metrics(),
            "command": m.command,
            "cwd": m.cwd,
            "logs": {"stdout": os.path.relpath(m.stdout_path, self.out_dir),
                     "stderr": os.path.relpath(m.stderr_path, self.out_dir)},
            "notes": [],
        }
        r.update(extra)
        rep = tool.parse_report(step, m.stdout())
        if rep is not None:
            r["tool_report"] = rep
        if status != "ok":
            tail = m.stderr_tail()
            r["notes"].append(f"{step} exited with {m.exit_code} ({status}); stderr ends with:\n{tail}")
            log(f"!!! {tool.label} {step} exited with {m.exit_code} ({status}):\n{tail}")
        return r

    def check_files_reported(self, tool, r: dict) -> None:
        n = tool.files_reported(r.get("tool_report"))
        if n is not None:
            r["metrics"]["files_reported"] = n
            if n != self.dataset_files():
                r["notes"].append(f"{tool.label} reports {n} files; the dataset has {self.dataset_files()} regular files")


def host_info(workdir: Path) -> dict:
    info = {"hostname": platform.node(), "kernel": platform.release(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory_bytes"] = int(line.split()[1]) * 1024
                break
        best = ""
        for line in open("/proc/mounts"):
            dev, mnt, fstype = line.split()[:3]
            if (str(workdir) + "/").startswith(mnt.rstrip("/") + "/") and len(mnt) >= len(best):
                best, info["workdir_filesystem"], info["workdir_device"] = mnt, fstype, dev
    except OSError:
        pass
    return info


def prepare_workdir(workdir: Path) -> None:
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / WORKDIR_MARKER).exists():
        raise RuntimeError(f"{workdir} is not empty and is not a skiff-bench workdir (no {WORKDIR_MARKER}); "
                           "choose another --workdir")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / WORKDIR_MARKER).write_text("skiff benchmark harness workdir (Tools/bench/bench)\n")
    scratch = workdir / "scratch"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()


def run(args, repo_root: Path) -> int:
    started = dt.datetime.now().astimezone()
    profile = dataset.PROFILES["small" if args.small else "default"]
    workdir = Path(os.path.abspath(args.workdir))
    out_dir = Path(os.path.abspath(args.out)) if args.out else repo_root / "bench-results" / started.strftime("%Y%m%d-%H%M%S")

    # Scenarios to run.
    requested = [n.strip() for n in (args.only.split(",") if args.only else scenarios.REGISTRY) if n.strip()]
    order = scenarios.closure(requested)

    # Tools.
    notes = []
    tool_names = [n.strip() for n in args.tools.split(",") if n.strip()]
    for n in tool_names:
        if toolsmod.ADAPTERS.get(n) is None or toolsmod.ADAPTERS[n].role != "backup" or tool_names.count(n) > 1:
            raise RuntimeError(f"bad --tools entry {n!r}: give each of skiff, restic, borg at most once")
    if not tool_names:
        raise RuntimeError("--tools is empty")
    skiff_path = args.skiff
    if "skiff" in tool_names and not skiff_path:
        skiff_path, warning = toolsmod.default_skiff(repo_root)
        if warning:
            log(("warning: " if skiff_path else "error: ") + warning)
            if skiff_path is None:
                return 2
            notes.append(warning)
    if skiff_path:
        skiff_path = os.path.abspath(skiff_path)
        if not os.access(skiff_path, os.X_OK):
            raise RuntimeError(f"skiff binary {skiff_path} does not exist or is not executable")
        if "/debug/" in os.path.realpath(skiff_path) and not notes:
            notes.append(f"{skiff_path} is a DEBUG build: its timings are not representative "
                         "(build with `swift build -c release`)")
    skiff_site = None
    if "skiff" in tool_names and any(scenarios.REGISTRY[s].needs_skiff_site for s in order):
        skiff_site = os.path.abspath(args.skiff_site or os.path.join(os.path.dirname(skiff_path), "skiff-site"))
        if not os.access(skiff_site, os.X_OK):
            raise RuntimeError(f"skiff-site binary {skiff_site} does not exist or is not executable "
                               "(build it with `swift build -c release --product skiff-site` or give --skiff-site PATH)")
        if "/debug/" in os.path.realpath(skiff_site):
            notes.append(f"{skiff_site} is a DEBUG build: the sites figures are not representative")
    toolsmod.ensure_installed(tool_names, log)
    if args.drop_caches and not CachePolicy.drop_available():
        log("warning: /proc/sys/vm/drop_caches is not writable: caches will not be dropped")
        notes.append("--drop-caches asked for, but /proc/sys/vm/drop_caches is not writable")
    if gnu_time() is None:
        log("warning: GNU time (/usr/bin/time, package `time`) not found: peak RSS falls back to wait4")
        notes.append("GNU time not found: peak RSS comes from wait4 and includes the harness's own resident size "
                     "(install the `time` package)")
    cache = CachePolicy("drop" if args.drop_caches else ("none" if args.no_warm else "warm"))

    prepare_workdir(workdir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tools = toolsmod.make_tools(tool_names, workdir / "tools", skiff_path)
    ctx = Context(workdir=workdir, out_dir=out_dir, profile=profile, seed=args.seed,
                  mutation_seed=args.seed if args.mutation_seed is None else args.mutation_seed,
                  tools=tools, cache=cache, keep_restores=args.keep_restores, skiff_site=skiff_site,
                  restore_on_workdir=args.restore_on_workdir, files=args.files)
    ctx.notes.extend(notes)

    free = shutil.disk_usage(workdir).free
    need = profile.approx_bytes * (len(tools) + 3)
    if free < need:
        log(f"warning: {free / 2**30:.1f} GiB free in {workdir}; this run may need about {need / 2**30:.1f} GiB")

    doc = {
        "schema": 1,
        "harness": "Tools/bench/bench",
        "started": started.isoformat(timespec="seconds"),
        "finished": None,
        "host": host_info(workdir),
        "options": {"profile": profile.name, "seed": args.seed, "mutation_seed": ctx.mutation_seed,
                    "tools": tool_names, "only": requested if args.only else None, "cache_mode": cache.mode,
                    "workdir": str(workdir), "keep_restores": args.keep_restores, "skiff_site": skiff_site,
                    "restore_on_workdir": args.restore_on_workdir, "files": args.files},
        "tools": {},
        "dataset": {},
        "scenarios": [],
        "notes": ctx.notes,
    }
    for t in list(tools.values()) + [ctx.baseline(b) for s in order for b in scenarios.REGISTRY[s].baselines]:
        doc["tools"][t.name] = t.describe()
    if skiff_site:
        doc["tools"]["skiff-site"] = toolsmod.describe_skiff_site(skiff_site)

    log(f"results go to {out_dir}")
    if any(scenarios.REGISTRY[s].uses_main_dataset for s in order):
        ctx.ensure_pristine(check_digest=True)
        doc["dataset"] = {"dir": str(ctx.data_dir), "profile": profile.name, "seed": args.seed,
                          "pristine": ctx.marker.get("summary"), "pristine_digest": ctx.marker.get("digest"),
                          "generator_version": dataset.GENERATOR_VERSION}
    else:  # e.g. --only sites, which brings its own dataset (see the scenario's info)
        doc["dataset"] = {"dir": None, "profile": profile.name, "seed": args.seed, "pristine": None,
                          "generator_version": dataset.GENERATOR_VERSION}

    failures = 0
    for name in order:
        sc = scenarios.REGISTRY[name]
        ctx.scenario = name
        prerequisite = name not in requested
        log(f"=== scenario {name}{' (prerequisite)' if prerequisite else ''}: {sc.title}")
        entry = {"name": name, "title": sc.title, "description": sc.description, "prerequisite": prerequisite,
                 "columns": [c.to_json() for c in sc.columns], "order": [], "results": {}, "info": {}}
        scenario_started = time.monotonic()
        try:
            entry["info"] = sc.setup(ctx) or {}
        except Exception as e:  # a broken setup fails every participant
            traceback.print_exc()
            entry["info"] = {"error": f"{type(e).__name__}: {e}"}
        for tool in sc.participants(ctx):
            entry["order"].append(tool.name)
            missing = [r for r in sc.requires if tool.role == "backup" and ctx.tool_status.get((tool.name, r)) not in ("ok", "warning")]
            if "error" in entry["info"]:
                r = {"status": "error", "metrics": {}, "notes": [f"scenario setup failed: {entry['info']['error']}"]}
            elif missing:
                r = {"status": "skipped", "metrics": {}, "notes": [f"needs {', '.join(missing)}, which did not succeed"]}
            else:
                try:
                    r = sc.run_tool(ctx, tool)
                except Exception as e:
                    traceback.print_exc()
                    r = {"status": "error", "metrics": {}, "notes": [f"harness error: {type(e).__name__}: {e}"]}
            r["label"] = tool.label
            r["role"] = tool.role
            ctx.tool_status[(tool.name, name)] = r["status"]
            entry["results"][tool.name] = r
            if r["status"] not in ("ok", "warning"):
                failures += 1
        try:
            conclusion = sc.conclude(ctx, entry["results"])
            if conclusion:
                entry["conclusion"] = conclusion
        except Exception as e:
            traceback.print_exc()
            entry["conclusion"] = {"lines": [f"harness error while concluding: {type(e).__name__}: {e}"]}
        try:
            sc.teardown(ctx)
        except Exception:
            traceback.print_exc()
        entry["seconds"] = round(time.monotonic() - scenario_started, 1)
        doc["scenarios"].append(entry)
        doc["dataset"]["final"] = ctx.marker.get("summary")
        doc["dataset"]["final_digest"] = ctx.marker.get("digest")
        doc["dataset"]["state"] = ctx.marker.get("state")
        report.write(doc, out_dir)

    doc["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    doc["notes"].extend(n for n in cache.notes if n not in doc["notes"])
    if ctx.busy:
        worst = max(ctx.busy)
        doc["notes"].append(
            f"THE HOST WAS NOT IDLE: other processes used significant CPU during {len(ctx.busy)} measured command(s) "
            f"(up to {worst[0]:.1f} CPU-seconds per second, during {worst[1]}); see other_cpu_s in results.json. "
            "Timings are skewed; rerun on an idle machine.")
    report.write(doc, out_dir)
    sys.stdout.write(report.render(doc))
    sys.stdout.flush()
    log(f"wrote {out_dir / 'results.md'} and {out_dir / 'results.json'} (command logs in {out_dir / 'logs'})")
    if failures:
        log(f"!!! {failures} result(s) failed: see the notes in the report")
        return 1
    return 0


def load(path: Path) -> dict:
    if path.is_dir():
        path = path / "results.json"
    with open(path) as f:
        return json.load(f)
