"""Measurement: run one command and measure it; sizes of trees; the page-cache policy.

`run` starts the command with its output going to log files and collects it with
os.wait4: wall time around it, user and system CPU (and block I/O) of that process and
any children it waited for, never the harness's own.

Peak RSS needs care: Linux keeps a process's ru_maxrss across execve, and a child
forked (or vforked) from the harness starts with the harness's resident set, so
wait4's ru_maxrss of a directly spawned tool is at least the harness's own size (tens
of MiB after hashing a tree). The command therefore runs under GNU time
(/usr/bin/time, Debian package "time"), which forks the tool from its own ~1 MiB
process and reports the tool's maximum RSS. Without GNU time the harness falls back to
wait4's figure and says so (rss_source: "wait4").

Companions are processes that work for the measured command without being its children
(the local skiff-site servers a backup ships to): their CPU time during the command is
read from /proc/PID/stat before and after it, reported as companion_cpu_s, and left out
of other_cpu_s (it is part of the job, not a disturbance).
"""
from __future__ import annotations

import os
import shlex
import subprocess
import time
from dataclasses import dataclass, asdict, field
from pathlib import Path


@dataclass
class Measurement:
    command: list
    exit_code: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kib: int
    read_blocks: int      # ru_inblock: 512-byte blocks read from storage (not from the page cache)
    write_blocks: int     # ru_oublock: 512-byte blocks written
    sync_s: float         # time of a `sync` right after the command (dirty data it left behind)
    stdout_path: str = ""
    stderr_path: str = ""
    cwd: str = ""
    rss_source: str = "gnu-time"  # or "wait4" (may include the harness's footprint)
    other_cpu_s: float = 0.0      # CPU used on the host by everything else meanwhile (/proc/stat)
    companion_cpu_s: list = field(default_factory=list)  # CPU of each companion process meanwhile

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def metrics(self) -> dict:
        """The standard metrics every scenario reports."""
        return {
            "wall_s": round(self.wall_s, 3),
            "user_s": round(self.user_s, 3),
            "sys_s": round(self.sys_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "cpu_pct": round(self.cpu_pct, 1),
            "max_rss_kib": self.max_rss_kib,
            "read_bytes": self.read_blocks * 512,
            "write_bytes": self.write_blocks * 512,
            "sync_s": round(self.sync_s, 3),
            "rss_source": self.rss_source,
            "other_cpu_s": round(self.other_cpu_s, 2),
        }

    def to_json(self) -> dict:
        d = asdict(self)
        d["cpu_s"] = round(self.cpu_s, 3)
        d["cpu_pct"] = round(self.cpu_pct, 1)
        return d

    def stdout(self) -> str:
        return _read(self.stdout_path)

    def stderr(self) -> str:
        return _read(self.stderr_path)

    def stderr_tail(self, lines: int = 15) -> str:
        text = self.stderr().splitlines()[2:]  # skip the two "# command / # cwd" lines run() writes first
        return "\n".join(text[-lines:]) if text else "(nothing on stderr)"


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


_GNU_TIME: str | None | bool = False


def gnu_time() -> str | None:
    """Path of GNU time if it is installed (it must understand -o and -f)."""
    global _GNU_TIME
    if _GNU_TIME is False:
        _GNU_TIME = None
        for path in ("/usr/bin/time",):
            try:
                r = subprocess.run([path, "--version"], capture_output=True, text=True)
            except OSError:
                continue
            if "GNU" in (r.stdout + r.stderr):
                _GNU_TIME = path
                break
    return _GNU_TIME


def run(command: list, *, env: dict | None = None, cwd: Path | None = None, log_stem: Path,
        sync_after: bool = True, companions: list[int] = ()) -> Measurement:
    """Runs `command` (stdin from /dev/null, stdout and stderr into log_stem.stdout/.stderr).

    companions: pids of processes serving the command (see the module's docstring)."""
    log_stem.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path, rusage_path = f"{log_stem}.stdout", f"{log_stem}.stderr", f"{log_stem}.rusage"
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    command = [str(c) for c in command]
    timer = gnu_time()
    argv = [timer, "-q", "-o", rusage_path, "-f", "maxrss_kib=%M exit=%x", "--"] + command if timer else command
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        err.write(f"# {shlex.join(command)}\n# cwd: {cwd or os.getcwd()}\n".encode())
        err.flush()
        companions_before = [process_cpu_seconds(pid) for pid in companions]
        busy_before = host_busy_seconds()
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=full_env, cwd=str(cwd) if cwd else None)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        busy = host_busy_seconds() - busy_before
        companion_cpu = [round(process_cpu_seconds(pid) - before, 2) for pid, before in zip(companions, companions_before)]
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    max_rss, source = usage.ru_maxrss, "wait4"
    if timer:
        fields = dict(kv.split("=", 1) for kv in _read(rusage_path).split() if "=" in kv)
        try:
            max_rss, source = int(fields["maxrss_kib"]), "gnu-time"
        except (KeyError, ValueError):
            pass
    sync_s = 0.0
    if sync_after:
        t = time.perf_counter()
        os.sync()
        sync_s = time.perf_counter() - t
    return Measurement(
        command=command, exit_code=code, wall_s=wall,
        user_s=usage.ru_utime, sys_s=usage.ru_stime, max_rss_kib=max_rss,
        read_blocks=usage.ru_inblock, write_blocks=usage.ru_oublock, sync_s=sync_s,
        stdout_path=out_path, stderr_path=err_path, cwd=str(cwd or os.getcwd()), rss_source=source,
        other_cpu_s=max(0.0, busy - usage.ru_utime - usage.ru_stime - sum(companion_cpu)),
        companion_cpu_s=companion_cpu)


def host_busy_seconds() -> float:
    """CPU seconds spent by the whole host so far (all CPUs, not idle or waiting for I/O)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    steal_guest = sum(fields[7:]) if len(fields) > 7 else 0  # steal, guest (already in user), guest_nice
    return (sum(fields) - idle - steal_guest) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a running process so far (all its threads, and the children it
    waited for), from /proc/PID/stat; 0.0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may contain spaces: skip past it
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])  # fields 14-17 of proc(5)
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def process_status_kib(pid: int, field: str) -> int:
    """A KiB figure of a running process's /proc/PID/status (VmHWM, VmRSS, ...); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def process_peak_rss_kib(pid: int) -> int:
    """Peak resident set (VmHWM) of a running process, in KiB; 0 when it is gone."""
    return process_status_kib(pid, "VmHWM")


def stop(proc: subprocess.Popen, timeout: float = 10) -> int | None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds: a helper process the
    harness started (a proxy, an sshd, moto). Returns its exit code, or None when it was killed."""
    proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def run_quiet(command: list, *, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs an unmeasured helper command and captures its output."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([str(c) for c in command], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=full_env, cwd=str(cwd) if cwd else None)


@dataclass
class Usage:
    apparent_bytes: int = 0   # sum of st_size (du -sb)
    disk_bytes: int = 0       # sum of st_blocks * 512 (du -sB1)
    files: int = 0
    directories: int = 0

    def minus(self, other: "Usage") -> "Usage":
        return Usage(self.apparent_bytes - other.apparent_bytes, self.disk_bytes - other.disk_bytes,
                     self.files - other.files, self.directories - other.directories)

    def to_json(self) -> dict:
        return asdict(self)


def tree_usage(*roots: Path) -> Usage:
    """Like `du -sb` and `du -sB1` together (each inode counted once, directories included)."""
    u = Usage()
    seen = set()
    for root in roots:
        if not os.path.lexists(root):
            continue
        stack = [str(root)]
        while stack:
            path = stack.pop()
            st = os.lstat(path)
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            u.apparent_bytes += st.st_size
            u.disk_bytes += st.st_blocks * 512
            if os.path.isdir(path) and not os.path.islink(path):
                u.directories += 1
                with os.scandir(path) as it:
                    stack.extend(e.path for e in it)
            else:
                u.files += 1
    return u


@dataclass
class CachePolicy:
    """How the page cache is treated before each measured command (the same for every tool).

    warm: sync, then read every file of the inputs (the dataset before a backup, the
          repository before a restore or verification) so they come from memory;
    drop: sync, then `echo 3 > /proc/sys/vm/drop_caches` so everything comes from disk;
    none: only sync.
    """
    mode: str = "warm"
    notes: list = field(default_factory=list)

    DROP = "/proc/sys/vm/drop_caches"

    @classmethod
    def drop_available(cls) -> bool:
        return os.access(cls.DROP, os.W_OK)

    def prepare(self, inputs: list[Path]) -> dict:
        started = time.perf_counter()
        os.sync()
        done = {"mode": self.mode}
        if self.mode == "warm":
            done["warmed_bytes"] = sum(warm(p) for p in inputs)
        elif self.mode == "drop":
            try:
                with open(self.DROP, "w") as f:
                    f.write("3\n")
                done["dropped"] = True
            except OSError as e:
                done["dropped"] = False
                note = f"could not drop caches: {e}"
                if note not in self.notes:
                    self.notes.append(note)
        done["seconds"] = round(time.perf_counter() - started, 2)
        return done


def warm(root: Path) -> int:
    """Reads every regular file under root (like `cat` to /dev/null); returns the bytes read."""
    total = 0
    buf = bytearray(1 << 20)
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                continue
            try:
                with open(p, "rb", buffering=0) as f:
                    while True:
                        n = f.readinto(buf)
                        if not n:
                            break
                        total += n
            except OSError:
                pass
    return total
