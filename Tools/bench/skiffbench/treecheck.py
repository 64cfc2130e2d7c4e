"""Manifests of directory trees and the comparison of a restored tree with its source.

A manifest maps each relative path ("." for the root) to an Entry. Regular files carry
the SHA-256 of their contents, symlinks their target. The tree digest covers names,
types, permission bits, sizes, contents and link targets, not times or owners.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import NamedTuple


class Entry(NamedTuple):
    kind: str        # f (regular file), d (directory), l (symlink), o (other)
    mode: int        # permission bits (mode & 0o7777)
    size: int        # bytes for regular files, 0 otherwise
    content: str     # sha256 hex for files, link target for symlinks, "" otherwise
    mtime_ns: int
    uid: int
    gid: int


_BUF = 1 << 20


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    buf = bytearray(_BUF)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


def _entry(path: str, st: os.stat_result, hash_files: bool) -> Entry:
    m = st.st_mode
    if stat.S_ISREG(m):
        kind, size, content = "f", st.st_size, file_sha256(path) if hash_files else ""
    elif stat.S_ISDIR(m):
        kind, size, content = "d", 0, ""
    elif stat.S_ISLNK(m):
        kind, size, content = "l", 0, os.readlink(path)
    else:
        kind, size, content = "o", 0, ""
    return Entry(kind, stat.S_IMODE(m), size, content, st.st_mtime_ns, st.st_uid, st.st_gid)


def manifest(root: Path, hash_files: bool = True) -> dict[str, Entry]:
    root = str(root)
    result = {".": _entry(root, os.lstat(root), hash_files)}
    stack = [(root, "")]
    while stack:
        path, rel = stack.pop()
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            r = rel + e.name
            st = e.stat(follow_symlinks=False)
            result[r] = _entry(e.path, st, hash_files)
            if stat.S_ISDIR(st.st_mode):
                stack.append((e.path, r + "/"))
    return result


def digest(man: dict[str, Entry]) -> str:
    h = hashlib.sha256()
    for rel in sorted(man):
        e = man[rel]
        h.update(f"{rel}\0{e.kind}\0{e.mode:o}\0{e.size}\0{e.content}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


# Differences that make a restore wrong, and differences in metadata only (reported, not fatal).
FATAL = ("missing", "extra", "type", "content", "symlink")
METADATA = ("mode", "mtime", "owner")


def compare(source: dict[str, Entry], restored_root: Path, examples: int = 10) -> dict:
    """Compares the tree at restored_root with the source manifest."""
    result = {k: 0 for k in FATAL + METADATA}
    samples: dict[str, list] = {k: [] for k in FATAL + METADATA}

    def note(kind, rel):
        result[kind] += 1
        if len(samples[kind]) < examples:
            samples[kind].append(rel)

    if not os.path.isdir(restored_root):
        return {"ok": False, "error": f"restored tree {restored_root} does not exist", **result,
                "missing": len(source), "examples": {"missing": ["."]}}
    restored = manifest(restored_root, hash_files=False)
    for rel, s in source.items():
        r = restored.get(rel)
        if r is None:
            note("missing", rel)
            continue
        if r.kind != s.kind:
            note("type", rel)
            continue
        if s.kind == "f":
            if r.size != s.size or file_sha256(os.path.join(restored_root, rel)) != s.content:
                note("content", rel)
        elif s.kind == "l" and r.content != s.content:
            note("symlink", rel)
        if s.kind != "l" and r.mode != s.mode:
            note("mode", rel)
        if s.kind in ("f", "d") and r.mtime_ns != s.mtime_ns:
            note("mtime", rel)
        if (r.uid, r.gid) != (s.uid, s.gid):
            note("owner", rel)
    for rel in restored:
        if rel not in source:
            note("extra", rel)
    ok = not any(result[k] for k in FATAL)
    return {"ok": ok, **result, "checked": len(source),
            "examples": {k: v for k, v in samples.items() if v}}


def describe(cmp: dict) -> str:
    parts = [f"{cmp[k]} {k}" for k in FATAL + METADATA if cmp.get(k)]
    if cmp.get("error"):
        parts.insert(0, cmp["error"])
    return ", ".join(parts) if parts else "identical"
