"""The many-files tree of the `many-files` scenario (manyfiles.py): N files sized and laid out
like a file server's, seeded; and its mutation, journaled so that it can be undone.

Same seed and N: the same names, bytes, modes and mtimes (files and directories). The tree:
  folders  leaf folders of 10 to 400 files (log-normal, median 80, about 100 on average), grouped
           8 to 60 to a parent folder, and those again, until the top holds at most 60: for
           1,000,000 files about 10,000 leaf folders three levels down, 10,400 folders in all;
  sizes    2% empty; 0.5% "large" (log-normal, median 64 KiB, up to 1 MiB); the rest log-normal
           with a median of 2.5 KiB (σ = 1: a tenth under 700 B, a hundredth over 26 KiB); about
           4.6 KiB on average, 4.6 GB for 1,000,000 files;
  contents 70% of the files text (source code, prose, logs and configuration from dataset.py's
           generators; compresses ~3×), 30% random bytes; each file starts with its own number
           (`#` and 7 hex digits), then a slice at a random offset of a 32 MiB text pool or a
           64 MiB random pool, so no two non-empty files are equal. Files of 64 KiB or more, which
           a content-defined chunker could cut into pieces that other slices share, get bytes of
           their own instead (fresh random bytes, or the text slice with its letters permuted).
Written with os.open/os.writev/os.utime on descriptors relative to the folder's, each folder's
mtime set once its contents are in. A marker next to the tree (dataset.marker_path: never part of
a backup) records the seed, N, the generator version, the state and the digest, so a later run
reuses the tree once it hashes to that digest.

The mutation (`Mutation.plan` then `apply`) changes 0.01% of the files (at least 4): 40%
rewritten (same size, new bytes), 40% appended to, 10% created beside existing ones, 10%
deleted, seeded; each written file and each folder that gained or lost a file gets a fixed mtime,
so the mutated tree is the same bytes and times every time. Before it changes anything it writes a
journal next to the tree (NAME.undo/: the original bytes of rewritten and deleted files, sizes,
modes and mtimes of every touched file and folder), and `undo` puts all of it back: the tree is
pristine again, touched entries checked against the pristine manifest. An interrupted run leaves
the journal behind; the next `ensure` undoes it before hashing. The agent's burst of changes is
a Mutation too (appends only, real times).
"""
from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from pathlib import Path

from . import dataset, treecheck
from .dataset import EPOCH_SPAN, EPOCH_START, MiB, log

GENERATOR = "many-files"
GENERATOR_VERSION = 1
KiB = 1 << 10

LEAF_MEDIAN, LEAF_SIGMA, LEAF_MIN, LEAF_MAX = 80, 0.7, 10, 400  # files per leaf folder
GROUP_MIN, GROUP_MAX, TOP_MAX = 8, 60, 60                       # folders per parent folder
EMPTY_FRACTION = 0.02
LARGE_FRACTION, LARGE_MEDIAN, MAX_SIZE = 0.005, 64 * KiB, MiB
SMALL_MEDIAN, SIZE_SIGMA = 2560, 1.0
TEXT_FRACTION = 0.7
TEXT_POOL, RANDOM_POOL = 32 * MiB, 64 * MiB
OWN_BYTES_FROM = 64 * KiB  # files this large get bytes no other file shares
TEXT_EXT = (".txt", ".md", ".csv", ".log", ".json", ".html", ".py", ".c", ".xml", ".yaml")
BINARY_EXT = (".jpg", ".png", ".pdf", ".zip", ".gz", ".bin", ".docx", ".xlsx")
LETTERS = bytes(range(ord("a"), ord("z") + 1))

MUTATION_FRACTION = 0.0001
MUTATION_TIME = EPOCH_START + EPOCH_SPAN + 7 * 86400  # mtimes of what the mutation writes, after every pristine one


def _rng(seed: int, part: str) -> random.Random:
    return random.Random(f"skiff-bench:{GENERATOR}:{GENERATOR_VERSION}:{seed}:{part}")


def journal_path(root: Path) -> Path:
    root = Path(os.path.abspath(root))
    return root.with_name(root.name + ".undo")


# --------------------------------------------------------------------------------------
# Generation


class Pools:
    """The bytes files are sliced from: text (code, prose, logs, configuration) and random."""

    def __init__(self, seed: int):
        rng = _rng(seed, "pools")
        vocab = dataset.Vocabulary(random.Random(rng.getrandbits(64)))
        langs = dataset.make_languages(random.Random(rng.getrandbits(64)), vocab)
        parts, size = [], 0
        while size < TEXT_POOL:
            r = rng.random()
            if r < 0.4:
                text = dataset.code_text(rng, rng.choice(langs), rng.randint(4 * KiB, 64 * KiB)).encode()
            elif r < 0.65:
                text = dataset.prose_text(rng, vocab, rng.randint(2 * KiB, 32 * KiB)).encode()
            elif r < 0.85:
                text = b"".join(dataset.log_lines(rng, vocab, (EPOCH_START + rng.randint(0, EPOCH_SPAN)) * 1000,
                                                  rng.randint(8 * KiB, 128 * KiB)))
            else:
                text = dataset.config_text(rng, vocab, rng.randint(1 * KiB, 16 * KiB), rng.choice(("json", "yaml"))).encode()
            parts.append(text)
            size += len(text)
        self.text = b"".join(parts)[:TEXT_POOL]
        self.random = rng.randbytes(RANDOM_POOL)
        self.text_view, self.random_view = memoryview(self.text), memoryview(self.random)
        self.words = vocab.words


def _layout(rng: random.Random, files: int) -> list:
    """The folder tree: a leaf is its file count (int), a folder of folders a list."""
    leaves, left = [], files
    while left > 0:
        n = min(left, max(LEAF_MIN, min(LEAF_MAX, round(rng.lognormvariate(math.log(LEAF_MEDIAN), LEAF_SIGMA)))))
        leaves.append(n)
        left -= n
    level = leaves
    while len(level) > TOP_MAX:
        groups, i = [], 0
        while i < len(level):
            k = rng.randint(GROUP_MIN, GROUP_MAX)
            groups.append(level[i:i + k])
            i += k
        level = groups
    return level


def _size(rng: random.Random) -> int:
    r = rng.random()
    if r < EMPTY_FRACTION:
        return 0
    median = LARGE_MEDIAN if r < EMPTY_FRACTION + LARGE_FRACTION else SMALL_MEDIAN
    return max(1, min(MAX_SIZE, int(rng.lognormvariate(math.log(median), SIZE_SIGMA))))


def _write_all(fd: int, parts: list) -> None:
    want = sum(len(p) for p in parts)
    done = os.writev(fd, parts)
    if done != want:  # a short write (not seen on regular files): finish it plainly
        os.write(fd, b"".join(bytes(p) for p in parts)[done:])


class _Writer:
    """Writes the files of one tree; counts what it wrote."""

    def __init__(self, rng: random.Random, pools: Pools):
        self.rng, self.pools = rng, pools
        self.index = 0
        self.sizes: list[int] = []
        self.text_files = 0
        self.entries_per_folder: list[int] = []

    def contents(self, size: int) -> tuple[list, bool]:
        """The buffers to write for the next file of `size` bytes, and whether it is text."""
        rng, pools = self.rng, self.pools
        tag = b"#%07x\n" % self.index
        if size <= len(tag):
            return [tag[:size]] if size else [], True
        n = size - len(tag)
        if rng.random() < TEXT_FRACTION:
            self.text_files += 1
            off = rng.randrange(TEXT_POOL - n + 1)
            if size < OWN_BYTES_FROM:
                return [tag, pools.text_view[off:off + n]], True
            shuffled = bytearray(LETTERS)
            rng.shuffle(shuffled)
            return [tag, pools.text[off:off + n].translate(bytes.maketrans(LETTERS, bytes(shuffled)))], True
        if size < OWN_BYTES_FROM:
            off = rng.randrange(RANDOM_POOL - n + 1)
            return [tag, pools.random_view[off:off + n]], False
        return [tag, rng.randbytes(n)], False

    def leaf(self, path: str, count: int) -> None:
        rng, words = self.rng, self.pools.words
        os.mkdir(path, 0o755)
        dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for j in range(count):
                size = _size(rng)
                parts, text = self.contents(size)
                ext = rng.choice(TEXT_EXT if text else BINARY_EXT)
                name = f"{rng.choice(words)}_{j:04d}{ext}"
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dfd)
                try:
                    if parts:
                        _write_all(fd, parts)
                    t = (EPOCH_START + rng.randint(0, EPOCH_SPAN)) * 1_000_000_000
                    os.utime(fd, ns=(t, t))
                finally:
                    os.close(fd)
                self.sizes.append(size)
                self.index += 1
            self.folder_time(dfd)
        finally:
            os.close(dfd)
        self.entries_per_folder.append(count)

    def folder_time(self, target) -> None:
        t = (EPOCH_START + EPOCH_SPAN + self.rng.randint(0, 86400)) * 1_000_000_000
        os.utime(target, ns=(t, t))

    def folder(self, path: str, children: list) -> None:
        """A folder of folders, depth first; its mtime set once its children are in."""
        os.mkdir(path, 0o755)
        for k, child in enumerate(children):
            sub = os.path.join(path, f"{self.rng.choice(self.pools.words)}-{k:02d}")
            if isinstance(child, list):
                self.folder(sub, child)
            else:
                self.leaf(sub, child)
        self.entries_per_folder.append(len(children))
        self.folder_time(path)


def generate(root: Path, files: int, seed: int) -> dict:
    """Writes the tree of `files` files into `root` (which must not exist) and its marker."""
    root = Path(os.path.abspath(root))
    if root.exists():
        raise FileExistsError(f"{root} exists")
    marker = {"generator": GENERATOR, "generator_version": GENERATOR_VERSION, "seed": seed, "files": files,
              "state": "incomplete"}
    root.parent.mkdir(parents=True, exist_ok=True)
    dataset.write_marker(root, marker)
    started = time.monotonic()
    log(f"generating the many-files tree: {files:,} files, seed {seed}, in {root}")
    pools = Pools(seed)
    rng = _rng(seed, f"tree-{files}")
    layout = _layout(rng, files)
    writer = _Writer(rng, pools)
    old_umask = os.umask(0o022)
    try:
        writer.folder(str(root), layout)
    finally:
        os.umask(old_umask)
    written_s = time.monotonic() - started
    log(f"  {files:,} files written in {written_s:.1f} s; hashing them for the marker")
    manifest = treecheck.manifest(root)
    sizes = sorted(writer.sizes)
    entries = sorted(writer.entries_per_folder)
    depth = 0
    level = layout
    while isinstance(level, list):
        depth += 1
        level = level[0]
    marker.update(state="pristine", digest=treecheck.digest(manifest), written_seconds=round(written_s, 1),
                  generated_seconds=round(time.monotonic() - started, 1),
                  summary={"files": len(sizes), "directories": sum(1 for e in manifest.values() if e.kind == "d"),
                           "bytes": sum(sizes), "empty_files": sizes.count(0), "text_files": writer.text_files,
                           "median_bytes": sizes[len(sizes) // 2], "p99_bytes": sizes[int(len(sizes) * 0.99)],
                           "largest_bytes": sizes[-1], "depth": depth,
                           "entries_per_directory": {"min": entries[0], "median": entries[len(entries) // 2],
                                                     "max": entries[-1]}})
    dataset.write_marker(root, marker)
    s = marker["summary"]
    log(f"many-files tree ready: {s['files']:,} files in {s['directories']:,} folders, {s['bytes'] / MiB:,.1f} MiB, "
        f"in {marker['generated_seconds']} s")
    return marker


def ensure(root: Path, files: int, seed: int) -> tuple[dict, dict]:
    """(marker, manifest with hashes) of the pristine tree in `root`: reused when its marker
    matches and it hashes to the recorded digest (a mutation left by an interrupted run is undone
    first), else (re)generated."""
    root = Path(os.path.abspath(root))
    marker = dataset.read_marker(root)
    if root.exists() and marker is None and any(root.iterdir()):
        raise RuntimeError(f"{root} is not empty and was not generated by this harness")
    reason = "no tree yet"
    if marker is not None and root.exists():
        wanted = (GENERATOR, GENERATOR_VERSION, seed, files)
        if (marker.get("generator"), marker.get("generator_version"), marker.get("seed"), marker.get("files")) != wanted:
            reason = f"existing tree is {marker.get('files')} files, seed {marker.get('seed')}, v{marker.get('generator_version')}"
        else:
            if journal_path(root).exists():
                log(f"undoing the mutation an earlier run left in {root}")
                Mutation.undo(root)
                marker = dataset.read_marker(root)
            if marker.get("state") == "pristine":
                log(f"hashing the many-files tree in {root} (checked against its marker; this also warms the page cache)")
                manifest = treecheck.manifest(root)
                if treecheck.digest(manifest) == marker.get("digest"):
                    log(f"reusing the many-files tree ({files:,} files, seed {seed}) in {root}")
                    return marker, manifest
                reason = "existing tree no longer matches its digest"
            else:
                reason = f"existing tree is {marker.get('state')}"
    log(f"(re)generating the many-files tree: {reason}")
    if journal_path(root).exists():
        shutil.rmtree(journal_path(root))
    if root.exists() or dataset.marker_path(root).exists():
        if root.exists() and marker is None:
            root.rmdir()  # empty
        else:
            dataset.remove_dataset(root)
    marker = generate(root, files, seed)
    return marker, treecheck.manifest(root)


# --------------------------------------------------------------------------------------
# Mutation


class Mutation:
    """Seeded changes to the tree, journaled before they are made (see the module's docstring)."""

    def __init__(self, root: Path, label: str, changes: list[dict], fixed_times: bool):
        self.root = Path(os.path.abspath(root))
        self.label = label
        self.changes = changes
        self.fixed_times = fixed_times

    @classmethod
    def plan(cls, root: Path, manifest: dict, seed: int, label: str, count: int | None = None,
             kinds: tuple = ("rewrite", "append", "create", "delete"), fixed_times: bool = True) -> "Mutation":
        """`count` changes (default 0.01% of the files, at least 4) of the given kinds, in the
        proportions of the module's docstring (with only appends: every one an append)."""
        rng = _rng(seed, f"{label}-{len(manifest)}")
        files = sorted(rel for rel, e in manifest.items() if e.kind == "f" and e.size > 0)
        if count is None:
            count = max(4, round(sum(1 for e in manifest.values() if e.kind == "f") * MUTATION_FRACTION))
        count = min(count, len(files))
        if kinds == ("append",):
            plan = ["append"] * count
        else:
            few = max(1, count // 10)
            plan = ["create"] * few + ["delete"] * few
            plan += ["append"] * ((count - len(plan)) // 2)
            plan += ["rewrite"] * (count - len(plan))
            rng.shuffle(plan)
        picked = rng.sample(files, count)
        changes = []
        for k, (kind, rel) in enumerate(zip(plan, picked)):
            if kind == "create":
                rel = f"{os.path.dirname(rel)}/new-{label}-{k:04d}.txt"
            changes.append({"k": k, "kind": kind, "path": rel, "seed": rng.getrandbits(32)})
        return cls(root, label, changes, fixed_times)

    def summary(self) -> dict:
        kinds = {}
        for c in self.changes:
            kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
        return {"label": self.label, "changes": len(self.changes), **kinds}

    def touched_files(self) -> int:
        """Files of the tree before the mutation that it changed or removed."""
        return sum(1 for c in self.changes if c["kind"] != "create")

    def _folders(self) -> list[str]:
        return sorted({os.path.dirname(c["path"]) or "." for c in self.changes if c["kind"] in ("create", "delete")})

    def apply(self, pace_s: float | None = None) -> list[float]:
        """Journals, then makes the changes (spread evenly over `pace_s` seconds when given);
        returns the time.time() after each write."""
        journal = journal_path(self.root)
        if journal.exists():
            raise RuntimeError(f"{journal} exists: the tree already carries a mutation")
        (journal / "originals").mkdir(parents=True)
        for c in self.changes:
            p = self.root / c["path"]
            if c["kind"] == "create":
                continue
            st = os.lstat(p)
            c.update(size=st.st_size, mode=st.st_mode & 0o7777, mtime_ns=st.st_mtime_ns)
            if c["kind"] in ("rewrite", "delete"):
                shutil.copyfile(p, journal / "originals" / str(c["k"]))
        folders = {d: os.lstat(self.root / d).st_mtime_ns for d in self._folders()}
        with open(journal / "journal.json", "w") as f:
            json.dump({"label": self.label, "changes": self.changes, "folders": folders}, f)
        marker = dataset.read_marker(self.root) or {}
        marker.update(state="mutated", mutation=self.summary())
        dataset.write_marker(self.root, marker)

        times = []
        started = time.monotonic()
        for i, c in enumerate(self.changes):
            if pace_s:
                pause = started + pace_s * i / len(self.changes) - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            self._change(c)
            times.append(time.time())
        if self.fixed_times:
            for j, d in enumerate(sorted(folders)):
                t = (MUTATION_TIME + 100_000 + j) * 1_000_000_000
                os.utime(self.root / d, ns=(t, t))
        return times

    def _change(self, c: dict) -> None:
        p = self.root / c["path"]
        rng = random.Random(c["seed"])
        kind = c["kind"]
        if kind == "delete":
            os.unlink(p)
            return
        if kind == "rewrite":
            data = p.read_bytes()
            r = rng.randrange(len(data))
            data = ((b"rewritten %d\n" % c["k"]) + data[r:] + data[:r])[:len(data)]
            flags = os.O_WRONLY | os.O_TRUNC
        elif kind == "append":
            data = b"".join(b"appended %d.%d %016x\n" % (c["k"], i, rng.getrandbits(64)) for i in range(rng.randint(1, 40)))
            flags = os.O_WRONLY | os.O_APPEND
        else:  # create
            data = (b"created %d\n" % c["k"]) + rng.randbytes(rng.randint(100, 8000))
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        fd = os.open(p, flags, 0o644)
        try:
            _write_all(fd, [data])
            if self.fixed_times:
                t = (MUTATION_TIME + c["k"]) * 1_000_000_000
                os.utime(fd, ns=(t, t))
        finally:
            os.close(fd)

    def manifest_after(self, pristine: dict) -> dict:
        """The manifest of the mutated tree: the pristine one with the touched entries read again."""
        result = dict(pristine)
        for rel in [c["path"] for c in self.changes] + self._folders():
            p = os.path.join(self.root, rel)
            if os.path.lexists(p):
                result[rel] = treecheck._entry(p, os.lstat(p), True)
            else:
                result.pop(rel, None)
        return result

    @staticmethod
    def undo(root: Path) -> list[str]:
        """Puts back what the journal recorded; returns the touched paths (files, then folders)."""
        root = Path(os.path.abspath(root))
        journal = journal_path(root)
        with open(journal / "journal.json") as f:
            j = json.load(f)
        for c in reversed(j["changes"]):
            p = root / c["path"]
            if c["kind"] == "create":
                p.unlink(missing_ok=True)
                continue
            if "mtime_ns" not in c:
                continue  # journaled but never reached (the original was not recorded either)
            if c["kind"] in ("rewrite", "delete"):
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, c["mode"])
                try:
                    _write_all(fd, [(journal / "originals" / str(c["k"])).read_bytes()])
                finally:
                    os.close(fd)
            else:
                os.truncate(p, c["size"])
            os.chmod(p, c["mode"])
            os.utime(p, ns=(c["mtime_ns"], c["mtime_ns"]))
        for d, ns in j["folders"].items():
            os.utime(root / d, ns=(ns, ns))
        shutil.rmtree(journal)
        marker = dataset.read_marker(root) or {}
        marker.pop("mutation", None)
        marker["state"] = "pristine"
        dataset.write_marker(root, marker)
        return [c["path"] for c in j["changes"]] + list(j["folders"])


def check_undone(root: Path, touched: list[str], pristine: dict) -> list[str]:
    """The touched paths that differ from the pristine manifest after an undo (contents, mode,
    size or mtime); empty when the tree is pristine again."""
    wrong = []
    for rel in touched:
        p = os.path.join(root, rel)
        was = pristine.get(rel)
        now = treecheck._entry(p, os.lstat(p), True) if os.path.lexists(p) else None
        if was is None and now is None:
            continue
        if was is None or now is None or now[:5] != was[:5]:
            wrong.append(rel)
    return wrong
