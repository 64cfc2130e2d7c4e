"""Tool adapters: how to drive skiff, restic, borg (and the cp -a baseline).

Each adapter owns a folder (WORKDIR/tools/NAME) holding its repository, its local
cache and its keys, and turns the harness's verbs (init, backup, restore, verify) into
command lines. It never runs anything itself: scenarios run the commands through
measure.run so that every tool is measured the same way.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .measure import run_quiet

PASSWORD = "skiff-bench-passphrase"


class Tool:
    name = ""
    label = ""
    # "backup" tools take part in every scenario; "baseline" ones only where a scenario asks for them.
    role = "backup"

    def __init__(self, root: Path, executable: str):
        self.root = Path(root)
        self.executable = executable
        self.archives: list[str] = []

    # -- folders
    @property
    def repo(self) -> Path:
        return self.root / "repo"

    def cache_dirs(self) -> list[Path]:
        return []

    def reset(self) -> None:
        """Removes the repository, caches and keys: the next init starts from nothing."""
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        self.archives = []

    # -- identity
    def env(self) -> dict:
        return {}

    def version(self) -> str:
        return ""

    def describe(self) -> dict:
        return {"name": self.name, "label": self.label, "executable": self.executable, "version": self.version()}

    # -- commands
    def init_command(self) -> list:
        raise NotImplementedError

    def backup_command(self, source: Path, label: str) -> list:
        raise NotImplementedError

    def restore_command(self, source: Path, target: Path) -> tuple[list, Path | None]:
        """(command, cwd) restoring the latest snapshot of `source` into `target`."""
        raise NotImplementedError

    def restored_root(self, source: Path, target: Path) -> Path:
        """Where `source` lands under `target` after restore_command."""
        return target / Path(os.path.abspath(source)).relative_to("/")

    def verify_command(self) -> list:
        raise NotImplementedError

    def record_backup(self, label: str) -> None:
        self.archives.append(label)

    # -- results
    def status(self, phase: str, exit_code: int) -> str:
        """ok, warning (finished but reported something skipped) or failed."""
        return "ok" if exit_code == 0 else "failed"

    def parse_report(self, phase: str, stdout: str) -> dict | None:
        """The tool's own machine-readable summary of a run, when it prints one."""
        return None

    def files_reported(self, report: dict | None) -> int | None:
        return None


def _last_json_object(text: str) -> dict | None:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


class Skiff(Tool):
    name, label = "skiff", "Skiff"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def restore_key(self) -> Path:
        return self.root / "keys" / "restore.key"

    @property
    def host_key(self) -> Path:
        return self.root / "keys" / "host.key"

    def cache_dirs(self):
        return [self.cache]

    def env(self):
        return {"SKIFF_PASSPHRASE": PASSWORD}

    def version(self):
        r = run_quiet([self.executable, "--version"])
        v = (r.stdout.strip() or r.stderr.strip()).splitlines()
        text = v[0] if v else "?"
        if "/debug/" in os.path.realpath(self.executable):
            text += " (debug build)"
        return text

    def init_command(self):
        (self.root / "keys").mkdir(parents=True, exist_ok=True)
        return [self.executable, "init", "--repo", self.repo, "--restore-key", self.restore_key,
                "--host-key", self.host_key, "--host", "bench"]

    def backup_command(self, source, label):
        return [self.executable, "backup", source, "--repo", self.repo, "--host-key", self.host_key,
                "--cache-dir", self.cache, "--json"]

    def restore_command(self, source, target):
        return [self.executable, "restore", "latest", "--repo", self.repo, "--restore-key", self.restore_key,
                "--to", target, "--json"], None

    def verify_command(self):
        return [self.executable, "verify", "--repo", self.repo, "--restore-key", self.restore_key, "--json"]

    LOW_KDF_LOG_N = 14

    def low_kdf_key(self) -> Path:
        """A copy of the restore key wrapped at scrypt log2(N) = 14 (16 MiB instead of the default's
        128 MiB), made once with `skiff key passwd --kdf-log-n`: commands run with it show the peak
        RSS of the work itself, without the KDF's."""
        copy = self.root / "keys" / "restore-low-kdf.key"
        if not copy.exists():
            phrase = self.root / "keys" / "passphrase"
            phrase.write_text(PASSWORD + "\n")
            shutil.copyfile(self.restore_key, copy)
            r = run_quiet([self.executable, "key", "passwd", "--restore-key", copy, "--passphrase-file", phrase,
                           "--new-passphrase-file", phrase, "--kdf-log-n", str(self.LOW_KDF_LOG_N)])
            if r.returncode != 0:
                copy.unlink(missing_ok=True)
                raise RuntimeError(f"skiff key passwd --kdf-log-n failed: {r.stderr.strip()}")
        return copy

    def low_kdf_restore_command(self, target):
        return [self.executable, "restore", "latest", "--repo", self.repo, "--restore-key", self.low_kdf_key(),
                "--to", target, "--json"]

    def low_kdf_verify_command(self):
        return [self.executable, "verify", "--repo", self.repo, "--restore-key", self.low_kdf_key(), "--json"]

    def diff_command(self, target):
        """`skiff diff` of a restore target (the --to folder) against the latest snapshot."""
        return [self.executable, "diff", "latest", target, "--repo", self.repo, "--restore-key", self.restore_key, "--json"]

    def status(self, phase, exit_code):
        if exit_code == 0:
            return "ok"
        if exit_code == 3 and phase in ("backup", "restore"):
            return "warning"  # sealed / restored, but something was skipped
        return "failed"

    def parse_report(self, phase, stdout):
        return _last_json_object(stdout)

    def files_reported(self, report):
        try:
            return report["statistics"]["filesSeen"]
        except (TypeError, KeyError):
            return None


class SkiffSites(Tool):
    """Skiff shipping one backup to N local skiff-site servers (the `sites` scenario).

    One adapter per site count, each a participant of its own ("skiff-1-site", "skiff-3-sites"),
    owning a folder (WORKDIR/sites/NAME) that reset() empties before every run: the tenant's
    keys, the host key and certificate, the sites' data folders (site-N/) and tokens, the host's
    configuration (host.yaml, writer tokens, quorum = every site) with its state folder (outbox and
    cache), and a reader's configuration (admin.yaml, reader tokens) for the restore.
    sites.Fleet runs the set-up commands and the servers; measured commands go through measure.run.
    """
    role = "backup"
    TENANT = "acme"
    HOST = "bench"
    QUORUM_TIMEOUT_S = 1800  # the backup waits this long for every site; exit 8 if not in time

    S3_BUCKET = "skiff-bench"
    S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}

    def __init__(self, skiff: Skiff, sites: int, site_executable: str, root: Path,
                 name: str | None = None, label: str | None = None, s3: bool = False):
        super().__init__(root, skiff.executable)
        self.sites = sites
        self.s3 = s3                # sites keep objects and seals in a bucket at s3_endpoint (set before create())
        self.s3_endpoint: str | None = None
        self.site_executable = site_executable
        plural = "s" if sites != 1 else ""
        self.name = name or f"skiff-{sites}-site{plural}"
        self.label = label or f"Skiff → {sites} site{plural}"
        self._skiff = skiff

    # -- files
    def path(self, name: str) -> Path:
        return self.root / name

    def site_dir(self, n: int) -> Path:
        return self.root / f"site-{n}"

    def site_name(self, n: int) -> str:
        return f"s{n}"

    @property
    def host_config(self) -> Path:
        return self.root / "host.yaml"

    @property
    def admin_config(self) -> Path:
        return self.root / "admin.yaml"

    @property
    def auditor_config(self) -> Path:
        return self.root / "auditor.yaml"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def cache_dirs(self):
        return [self.state_dir]

    # -- identity
    def env(self):
        env = self._skiff.env()
        return {**env, **self.S3_CREDENTIALS} if self.s3 else env

    def version(self):
        return self._skiff.version()

    # -- set-up commands, in order (unmeasured): (argv, file that receives stdout or None)
    def key_commands(self) -> list[tuple[list, Path | None]]:
        x = self.executable
        return [
            ([x, "key", "create-tenant", "--out", self.path("tenant.restore-key"),
              "--public-out", self.path("tenant.pub")], None),
            ([x, "key", "create-host", "--restore-key", self.path("tenant.restore-key"), "--host", self.HOST,
              "--out", self.path("host.key")], None),
            ([x, "key", "export", "--host-certificate", "--host-key", self.path("host.key")], self.path("host.cert")),
        ]

    def site_commands(self, n: int) -> list[tuple[list, Path | None]]:
        x, d = self.site_executable, self.site_dir(n)
        bucket = ["--s3-endpoint", self.s3_endpoint, "--s3-bucket", self.S3_BUCKET, "--s3-prefix", f"site-{n}",
                  "--s3-create-bucket", "--s3-store-credentials"] if self.s3 else []
        return [
            ([x, "init", "--data", d, "--name", "127.0.0.1"] + bucket, None),
            ([x, "tenant", "add", self.TENANT, "--data", d, "--key", self.path("tenant.pub")], None),
            ([x, "host", "add", "--data", d, "--certificate", self.path("host.cert")], None),
            ([x, "token", "create", "--data", d, "--role", "writer", "--tenant", self.TENANT, "--host", self.HOST,
              "--out", self.path(f"writer-{n}.token")], None),
            ([x, "token", "create", "--data", d, "--role", "reader", "--tenant", self.TENANT,
              "--out", self.path(f"reader-{n}.token")], None),
            ([x, "token", "create", "--data", d, "--role", "auditor", "--tenant", self.TENANT,
              "--out", self.path(f"auditor-{n}.token")], None),
        ]

    def serve_command(self, n: int) -> list:
        return [self.site_executable, "serve", "--data", self.site_dir(n), "--listen", "127.0.0.1:0",
                "--log-level", "warning"]

    def fingerprint_command(self, n: int) -> list:
        return [self.site_executable, "fingerprint", "--data", self.site_dir(n)]

    def config_text(self, role: str, ports: list[int], fingerprints: list[str]) -> str:
        """The host's configuration (role writer) or the reader's (role reader); paths relative to it."""
        lines = ["host_key: host.key",
                 f"state_dir: {'state' if role == 'writer' else 'admin-state'}",
                 f"quorum: {self.sites}",
                 f"quorum_timeout: {self.QUORUM_TIMEOUT_S}",
                 "sites:"]
        for n, (port, fp) in enumerate(zip(ports, fingerprints), start=1):
            lines += [f"  - name: {self.site_name(n)}",
                      f"    url: https://127.0.0.1:{port}",
                      f"    token_file: {role}-{n}.token",
                      f"    fingerprint: {fp}"]
        return "\n".join(lines) + "\n"

    # -- measured commands
    def backup_command(self, source, label):
        return [self.executable, "backup", source, "--config", self.host_config, "--json"]

    def status_command(self) -> list:
        return [self.executable, "status", "--config", self.host_config, "--json"]

    def restore_command(self, source, target, site: int | None = None):
        """Restores the latest snapshot from site `site` (default: the last one)."""
        site = self.sites if site is None else site
        return [self.executable, "restore", "latest", "--config", self.admin_config, "--site", self.site_name(site),
                "--restore-key", self.path("tenant.restore-key"), "--to", target, "--json"], None

    def diff_command(self, target, site: int | None = None) -> list:
        """`skiff diff` of a restore target against the latest snapshot, read from site `site` (default: the last)."""
        site = self.sites if site is None else site
        return [self.executable, "diff", "latest", target, "--config", self.admin_config, "--site", self.site_name(site),
                "--restore-key", self.path("tenant.restore-key"), "--json"]

    def audit_command(self, deep: bool) -> list:
        """Keyless audit of every site (auditor tokens), with its own fresh state."""
        return [self.executable, "audit", "--config", self.auditor_config, "--tenant-key", self.path("tenant.pub"),
                "--state", self.path("audit.sqlite")] + (["--deep"] if deep else []) + ["--json"]

    def verify_site_command(self) -> list:
        """`skiff verify` (with the restore key) of the last site, for comparison."""
        return [self.executable, "verify", "--config", self.admin_config, "--site", self.site_name(self.sites),
                "--restore-key", self.path("tenant.restore-key"), "--json"]

    def status(self, phase, exit_code):
        if exit_code == 0:
            return "ok"
        if exit_code == 3 and phase in ("backup", "restore"):
            return "warning"  # sealed / restored, but something was skipped
        return "failed"       # backup exit 8: the quorum (every site) did not accept the seal in time

    def parse_report(self, phase, stdout):
        return _last_json_object(stdout)

    def files_reported(self, report):
        return self._skiff.files_reported(report)


def describe_skiff_site(executable: str) -> dict:
    r = run_quiet([executable, "--version"])
    v = (r.stdout.strip() or r.stderr.strip()).splitlines()
    text = v[0] if v else "?"
    if "/debug/" in os.path.realpath(executable):
        text += " (debug build)"
    return {"name": "skiff-site", "label": "skiff-site", "executable": executable, "version": text,
            "role": "site server (sites scenario)"}


class Restic(Tool):
    name, label = "restic", "restic"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def cache_dirs(self):
        return [self.cache]

    def env(self):
        return {"RESTIC_PASSWORD": PASSWORD, "RESTIC_REPOSITORY": str(self.repo),
                "RESTIC_CACHE_DIR": str(self.cache), "RESTIC_PROGRESS_FPS": "0.2"}

    def version(self):
        return run_quiet([self.executable, "version"]).stdout.strip()

    def init_command(self):
        cmd = [self.executable, "init"]
        help_text = run_quiet([self.executable, "init", "--help"]).stdout
        if "--repository-version" in help_text:
            cmd += ["--repository-version", "2"]
        return cmd

    def backup_command(self, source, label):
        return [self.executable, "backup", source, "--host", "bench", "--tag", label, "--json"]

    def restore_command(self, source, target):
        return [self.executable, "restore", "latest", "--host", "bench", "--target", target], None

    def verify_command(self):
        return [self.executable, "check", "--read-data"]

    def status(self, phase, exit_code):
        if exit_code == 0:
            return "ok"
        if exit_code == 3 and phase == "backup":
            return "warning"  # snapshot created, some source files unreadable
        return "failed"

    def parse_report(self, phase, stdout):
        for line in reversed(stdout.splitlines()):
            if '"message_type":"summary"' in line.replace(" ", ""):
                try:
                    return json.loads(line)
                except ValueError:
                    return None
        return None

    def files_reported(self, report):
        return report.get("total_files_processed") if report else None


class Borg(Tool):
    name, label = "borg", "Borg"

    @property
    def base(self) -> Path:
        return self.root / "base"

    def cache_dirs(self):
        return [self.base]

    def env(self):
        return {
            "BORG_PASSPHRASE": PASSWORD,
            "BORG_REPO": str(self.repo),
            "BORG_BASE_DIR": str(self.base),
            "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
            "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
            "BORG_DISPLAY_PASSPHRASE": "no",
            "BORG_CHECK_I_KNOW_WHAT_I_AM_DOING": "NO",
            "BORG_DELETE_I_KNOW_WHAT_I_AM_DOING": "NO",
        }

    def version(self):
        return run_quiet([self.executable, "--version"]).stdout.strip()

    def init_command(self):
        return [self.executable, "init", "--encryption=repokey", self.repo]

    def backup_command(self, source, label):
        return [self.executable, "create", "--compression", "lz4", "--json", f"{self.repo}::{label}", source]

    def latest_archive(self) -> str:
        if self.archives:
            return self.archives[-1]
        r = run_quiet([self.executable, "list", "--short", "--last", "1", self.repo], env=self.env())
        names = r.stdout.split()
        if not names:
            raise RuntimeError(f"no borg archive in {self.repo}: {r.stderr.strip()}")
        return names[-1]

    def restore_command(self, source, target):
        # borg extracts paths relative to the current directory (without the leading slash).
        return [self.executable, "extract", f"{self.repo}::{self.latest_archive()}"], target

    def verify_command(self):
        return [self.executable, "check", "--verify-data", self.repo]

    def status(self, phase, exit_code):
        return {0: "ok", 1: "warning"}.get(exit_code, "failed")

    def parse_report(self, phase, stdout):
        return _last_json_object(stdout)

    def files_reported(self, report):
        try:
            return report["archive"]["stats"]["nfiles"]
        except (TypeError, KeyError):
            return None


class Copy(Tool):
    """`cp -a` of the source onto the same disk: the floor for a restore."""
    name, label, role = "cp", "cp -a", "baseline"

    def version(self):
        out = run_quiet([self.executable, "--version"]).stdout.splitlines()
        return out[0] if out else "?"

    def restore_command(self, source, target):
        return [self.executable, "-a", os.path.abspath(source), target / Path(source).name], None

    def restored_root(self, source, target):
        return target / Path(source).name


ADAPTERS = {cls.name: cls for cls in (Skiff, Restic, Borg, Copy)}
PEERS = ("restic", "borg")
APT_PACKAGES = {"restic": "restic", "borg": "borgbackup"}


def default_skiff(repo_root: Path) -> tuple[str | None, str | None]:
    """The release build when there is one, else the debug build (with a warning)."""
    release = repo_root / ".build" / "release" / "skiff"
    debug = repo_root / ".build" / "debug" / "skiff"
    if release.exists():
        return str(release), None
    if debug.exists():
        return str(debug), f"no release build at {release}: using the DEBUG build {debug} (timings not representative)"
    return None, f"no skiff binary at {release} (build it with `swift build -c release`) or give --skiff PATH"


def ensure_installed(names: list[str], log) -> None:
    """Installs restic / borgbackup from Debian's packages when they are missing."""
    missing = [APT_PACKAGES[n] for n in names if n in APT_PACKAGES and shutil.which(n) is None]
    if not missing:
        return
    if not os.path.exists("/usr/bin/time"):
        missing.append("time")  # GNU time: the tools' own peak RSS (see measure.py)
    if os.geteuid() != 0:
        raise RuntimeError(f"missing {', '.join(missing)}: install with `sudo apt-get install -y {' '.join(missing)}`")
    log(f"installing {' '.join(missing)} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env, stdout=sys.stderr)
    packages = ["restic", "borgbackup"] + (["time"] if "time" in missing else [])
    subprocess.run(["apt-get", "install", "-y"] + packages, check=True, env=env, stdout=sys.stderr)


def make_tools(names: list[str], tools_dir: Path, skiff_path: str) -> dict[str, Tool]:
    tools = {}
    for n in names:
        if n not in ADAPTERS or ADAPTERS[n].role != "backup":
            raise RuntimeError(f"unknown tool {n!r} (choose from skiff, restic, borg)")
        exe = skiff_path if n == "skiff" else shutil.which(n)
        if not exe:
            raise RuntimeError(f"{n} not found")
        tools[n] = ADAPTERS[n](tools_dir / n, exe)
    return tools


def make_baseline(name: str, tools_dir: Path) -> Tool:
    return ADAPTERS[name](tools_dir / name, shutil.which(name) or name)

