"""Deterministic dataset generation: a realistic server mix, seeded.

The same seed and profile give a byte-identical tree (contents, names, modes, symlink
targets and the mtimes of regular files and directories). Layout under DIR:

  src/      a source-code-like tree of many small text files in nested directories,
            with a few symlinks, empty files and an empty directory
  bin/      several large binary files of structured records (compressible-ish), one of
            them a disk image with zeroed regions
  db/       a SQLite database (page size 4096, journal_mode DELETE: a single file)
  random/   incompressible data from a seeded PRNG
  log/      an application log

A marker file DIR.dataset.json (next to DIR, so it is never part of a backup) records
the seed, profile, generator version, state (pristine or mutated) and a digest of the
tree, so `bench run` can reuse a dataset that is already there.
"""
from __future__ import annotations

import array
import json
import os
import random
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass, asdict
from pathlib import Path

GENERATOR_VERSION = 1
MiB = 1 << 20

# Fixed times so that the tree's mtimes are reproducible too (2024-01-01 .. 2024-06-30).
EPOCH_START = 1704067200
EPOCH_SPAN = 181 * 86400


@dataclass(frozen=True)
class Profile:
    name: str
    source_files: int          # regular files in src/ (about)
    source_mean_bytes: int     # mean size of a source file
    binaries_mib: tuple        # sizes of the files in bin/
    sqlite_mib: int            # target size of db/app.sqlite3
    random_mib: tuple          # sizes of the files in random/
    log_mib: int               # size of log/app.log
    log_append_mib: int        # appended to the log by the mutation

    @property
    def approx_bytes(self) -> int:
        return (self.source_files * self.source_mean_bytes
                + (sum(self.binaries_mib) + self.sqlite_mib + sum(self.random_mib) + self.log_mib) * MiB)


PROFILES = {
    # ~2 GiB: 125 MiB of source, 832 MiB binaries, 384 MiB SQLite, 512 MiB random, 192 MiB log.
    "default": Profile("default", 16000, 8192, (64, 128, 256, 384), 384, (384, 128), 192, 4),
    # ~1 GiB, about half of default with the same mix (the `sites` scenario): 62 MiB of source,
    # 416 MiB binaries, 192 MiB SQLite, 256 MiB random, 96 MiB log.
    "medium": Profile("medium", 8000, 8192, (32, 64, 128, 192), 192, (192, 64), 96, 4),
    # ~150 MB for smoke runs.
    "small": Profile("small", 2000, 8192, (8, 16, 32), 30, (24, 8), 16, 4),
}

BINARY_NAMES = ["vm-disk.img", "metrics.tsdb", "search-index.bin", "object-pack.dat", "ledger.bin", "cache.blob"]
RANDOM_NAMES = ["secrets-vault.gpg", "media-upload.mp4", "keys.enc", "noise.bin"]


def marker_path(data_dir: Path) -> Path:
    data_dir = Path(os.path.abspath(data_dir))
    return data_dir.with_name(data_dir.name + ".dataset.json")


def read_marker(data_dir: Path) -> dict | None:
    try:
        with open(marker_path(data_dir)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_marker(data_dir: Path, marker: dict) -> None:
    path = marker_path(data_dir)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(marker, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Vocabulary: words and identifiers that look like code


BASE_WORDS = """
access account active adapter address alloc append apply archive array async attr
backend batch begin bind block body buffer build bundle byte cache call cancel capacity
chain channel check chunk client close cluster code column commit config connect
context copy count create cursor data decode default delete depth device digest dir
dispatch done driver dump element emit encode entry env error event expire export
field file filter flag flush format frame free handle hash header heap host index
info init inode input insert item iter job journal key kind label latch layer length
level limit link list load local lock log lookup loop manager map mark match max
merge message meta method min mode module mount name node offset open option order
output owner packet page parse partition path payload peer pending pipe pointer pool
port prefix probe process queue range rate read record ref region register release
remote replica request reset resolve result retry ring root route row rule scan
schema scope seal segment send seq server session shard signal size slot snapshot
socket source span stack state status stream string sync table tag task tenant thread
timer token total trace tree type update upload user value version view volume wait
watch window worker write zone
""".split()


class Vocabulary:
    def __init__(self, rng: random.Random):
        syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
        extra = set()
        while len(extra) < 600:
            extra.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))))
        self.words = BASE_WORDS + sorted(extra)
        idents = []
        for _ in range(5000):
            parts = [rng.choice(self.words) for _ in range(rng.choice((1, 2, 2, 2, 3)))]
            if rng.random() < 0.5:
                idents.append("_".join(parts))
            else:
                idents.append(parts[0] + "".join(p.capitalize() for p in parts[1:]))
        self.idents = idents
        self.types = [p.capitalize() + q.capitalize() for p, q in zip(rng.choices(self.words, k=300), rng.choices(self.words, k=300))]

    def ident(self, rng):
        return rng.choice(self.idents)


LICENSE_HEADER = [
    "Copyright (c) 2019-2024 The Example Project Authors.",
    "",
    "Licensed under the Apache License, Version 2.0 (the \"License\");",
    "you may not use this file except in compliance with the License.",
    "You may obtain a copy of the License at",
    "",
    "    http://www.apache.org/licenses/LICENSE-2.0",
    "",
    "Unless required by applicable law or agreed to in writing, software",
    "distributed under the License is distributed on an \"AS IS\" BASIS,",
    "WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.",
]

C_TYPES = ["int", "size_t", "uint8_t", "uint32_t", "uint64_t", "int64_t", "bool", "const char *", "double", "ssize_t"]
CMP = ["==", "!=", "<", ">", "<=", ">="]
OPS = ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"]


class Language:
    """A code flavour: pools of lines built from templates, assembled into files."""

    def __init__(self, name, ext, comment, indent, statements, openers, signatures, imports, closer):
        self.name, self.ext, self.comment, self.indent = name, ext, comment, indent
        self.statements, self.openers, self.signatures, self.imports = statements, openers, signatures, imports
        self.closer = closer


def _fill(rng, vocab, template):
    return template.format(
        a=vocab.ident(rng), b=vocab.ident(rng), c=vocab.ident(rng), f=vocab.ident(rng),
        T=rng.choice(vocab.types), t=rng.choice(C_TYPES), n=rng.choice((0, 1, 2, 8, 16, 64, 255, 1024, 4096)),
        op=rng.choice(OPS), cmp=rng.choice(CMP), w=" ".join(rng.choices(vocab.words, k=rng.randint(3, 9))),
        lvl=rng.choice(("debug", "info", "warn", "error")))


def _pool(rng, vocab, templates, count):
    return [_fill(rng, vocab, rng.choice(templates)) for _ in range(count)]


def make_languages(rng: random.Random, vocab: Vocabulary) -> list[Language]:
    P = lambda templates, n=4000: _pool(rng, vocab, templates, n)  # noqa: E731
    langs = []
    langs.append(Language(
        "c", ".c", "// ", "    ",
        P(["{a} = {f}({b}, {c});", "{t} {a} = {b} {op} {n};", "if ({a} {cmp} {b}) return {c};",
           "{a}->{b} = {c};", "for (size_t i = 0; i < {a}; i++) {b}[i] = {c}[i];", "return {f}({a});",
           "// {w}", "log_{lvl}(\"{w}: %d\", {a});", "memcpy({a}, {b}, sizeof(*{a}) * {n});",
           "{a} += {b}->{c};", "free({a});", "goto out;", "{a}[{n}] = '\\0';", "assert({a} != NULL);"]),
        P(["if ({a} {cmp} {b}) {{", "while ({a}-- > {n}) {{", "for ({t} i = 0; i < {a}; i++) {{",
           "switch ({a}->{b}) {{", "if (!{f}({a}, {b})) {{"], 800),
        P(["static {t} {f}({t} {a}, {t} {b}) {{", "{t} {f}(struct {a} *{b}) {{", "static void {f}(void) {{",
           "int {f}(const char *{a}, size_t {b}) {{"], 1500),
        P(["#include <{a}.h>", "#include \"{a}.h\"", "#define {a} {n}"], 300), "}"))
    langs.append(Language(
        "h", ".h", "// ", "    ",
        P(["{t} {f}({t} {a}, {t} {b});", "#define {a} ({b} {op} {n})", "typedef {t} {a};",
           "extern {t} {a};", "// {w}", "{t} {a};", "struct {a} *{f}(struct {b} *{c});"]),
        P(["struct {a} {{", "typedef struct {a} {{", "enum {a} {{"], 500),
        P(["struct {a} {{", "union {a} {{"], 500),
        P(["#include <{a}.h>", "#ifndef {a}_H", "#pragma once"], 200), "};"))
    langs.append(Language(
        "python", ".py", "# ", "    ",
        P(["{a} = {f}({b}, {c})", "self.{a} = {b}", "return {f}({a})", "# {w}", "{a}.append({b})",
           "log.{lvl}(\"{w} %s\", {a})", "{a} += {n}", "raise {T}Error(\"{w}\")", "{a}, {b} = {c}",
           "yield {a}", "del {a}[{n}]", "{a} = [{b} for {b} in {c} if {b}]", "pass"]),
        P(["if {a} {cmp} {b}:", "for {a} in {b}:", "while {a}:", "with open({a}) as {b}:", "try:",
           "elif not {a}:", "else:"], 800),
        P(["def {f}({a}, {b}):", "def {f}(self, {a}):", "async def {f}(self):", "class {T}:",
           "def {f}(self, {a}, {b}={n}):"], 1500),
        P(["import {a}", "from {a} import {b}", "from .{a} import {T}"], 300), None))
    langs.append(Language(
        "go", ".go", "// ", "\t",
        P(["{a} := {f}({b}, {c})", "if err != nil {{ return nil, err }}", "{a}.{b} = {c}", "return {a}, nil",
           "// {w}", "log.Printf(\"{w}: %v\", {a})", "defer {a}.Close()", "{a} = append({a}, {b})",
           "ctx, cancel := context.WithTimeout(ctx, {n}*time.Second)", "{a}++"]),
        P(["if {a} {cmp} {b} {{", "for _, {a} := range {b} {{", "select {{", "switch {a} {{",
           "if err := {f}({a}); err != nil {{"], 800),
        P(["func {f}({a} {T}, {b} int) ({T}, error) {{", "func ({a} *{T}) {f}() error {{",
           "func {f}(ctx context.Context) {{", "type {T} struct {{"], 1500),
        P(["import \"{a}\"", "import {a} \"github.com/example/{b}\""], 300), "}"))
    langs.append(Language(
        "swift", ".swift", "// ", "    ",
        P(["let {a} = {f}({b})", "var {a}: {T} = .init()", "return {a}", "guard let {a} else {{ return nil }}",
           "// {w}", "self.{a} = {b}", "try await {a}.{f}({b})", "{a}.append(contentsOf: {b})",
           "logger.{lvl}(\"{w} \\({a})\")", "defer {{ {a}.close() }}", "throw {T}Error.{b}"]),
        P(["if {a} {cmp} {b} {{", "for {a} in {b} {{", "switch {a} {{", "guard {a} else {{",
           "while let {a} = {b}.next() {{", "do {{"], 800),
        P(["func {f}(_ {a}: {T}) -> {T} {{", "public func {f}({a}: Int) async throws {{",
           "struct {T}: Sendable {{", "final class {T} {{", "private func {f}() {{"], 1500),
        P(["import {T}", "@testable import {T}"], 200), "}"))
    langs.append(Language(
        "js", ".js", "// ", "  ",
        P(["const {a} = {f}({b}, {c});", "let {a} = {b}.{c};", "return {a};", "// {w}",
           "console.{lvl}(`{w} ${{{a}}}`);", "{a}.push({b});", "await {f}({a});", "throw new Error('{w}');",
           "this.{a} = {b};", "{a} = {b} ?? {n};"]),
        P(["if ({a} {cmp} {b}) {{", "for (const {a} of {b}) {{", "try {{",
           "{a}.forEach(({b}) => {{"], 800),
        P(["function {f}({a}, {b}) {{", "export async function {f}({a}) {{", "class {T} {{",
           "const {f} = ({a}) => {{"], 1500),
        P(["import {{ {a} }} from './{b}.js';", "const {a} = require('{b}');"], 300), "}"))
    return langs


EXT_WEIGHTS = [("c", 20), ("h", 10), ("python", 20), ("go", 15), ("swift", 15), ("js", 10), ("md", 6), ("json", 3), ("yaml", 2)]


def code_text(rng, lang: Language, target: int) -> str:
    out = [lang.comment + line if line else lang.comment.rstrip() for line in LICENSE_HEADER]
    out.append("")
    out.extend(rng.sample(lang.imports, rng.randint(2, 8)))
    out.append("")
    size = sum(len(x) + 1 for x in out)
    ind = lang.indent
    stmts, openers = lang.statements, lang.openers
    choice, rand, randint = rng.choice, rng.random, rng.randint
    while size < target:
        fn = [choice(lang.signatures)]
        for _ in range(randint(2, 24)):
            if rand() < 0.18:
                fn.append(ind + choice(openers))
                for _ in range(randint(1, 6)):
                    fn.append(ind + ind + choice(stmts))
                if lang.closer:
                    fn.append(ind + lang.closer)
            else:
                fn.append(ind + choice(stmts))
        if lang.closer:
            fn.append(lang.closer)
        fn.append("")
        out.extend(fn)
        size += sum(len(x) + 1 for x in fn)
    return "\n".join(out) + "\n"


def prose_text(rng, vocab: Vocabulary, target: int) -> str:
    words = vocab.words
    out = [f"# {' '.join(rng.choices(words, k=3)).title()}", ""]
    size = 0
    while size < target:
        r = rng.random()
        if r < 0.15:
            block = ["", f"## {' '.join(rng.choices(words, k=rng.randint(2, 5))).capitalize()}", ""]
        elif r < 0.25:
            block = ["```sh", f"$ {vocab.ident(rng)} --{vocab.ident(rng)} {rng.randint(1, 999)}", "```", ""]
        elif r < 0.4:
            block = [f"- {' '.join(rng.choices(words, k=rng.randint(4, 12)))}" for _ in range(rng.randint(2, 6))]
        else:
            sentences = [" ".join(rng.choices(words, k=rng.randint(6, 16))).capitalize() + "." for _ in range(rng.randint(2, 6))]
            block = [" ".join(sentences), ""]
        out.extend(block)
        size += sum(len(x) + 1 for x in block)
    return "\n".join(out) + "\n"


def config_text(rng, vocab: Vocabulary, target: int, kind: str) -> str:
    out = ["{"] if kind == "json" else [f"# {' '.join(rng.choices(vocab.words, k=6))}"]
    size = 0
    while size < target:
        k, v = vocab.ident(rng), rng.choice([str(rng.randint(0, 99999)), f"\"{vocab.ident(rng)}\"", "true", "false", "null"])
        if kind == "json":
            line = f"  \"{k}\": {v},"
        else:
            line = f"{k}: {v.strip(chr(34))}" if rng.random() < 0.8 else f"  - {vocab.ident(rng)}"
        out.append(line)
        size += len(line) + 1
    if kind == "json":
        out.append("  \"end\": true")
        out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------
# Components


def _write(path: Path, data, mode: int = 0o644) -> None:
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _name(rng, vocab, used: set, ext: str = "") -> str:
    for _ in range(1000):
        base = vocab.ident(rng)
        if rng.random() < 0.2:
            base = base.lower()
        name = base + ext
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("could not find a unique name")


def generate_source(root: Path, rng: random.Random, profile: Profile) -> None:
    vocab = Vocabulary(random.Random(rng.getrandbits(64)))
    langs = {lang.name: lang for lang in make_languages(random.Random(rng.getrandbits(64)), vocab)}
    root.mkdir()
    projects = max(2, profile.source_files // 2000)
    target_dirs = max(projects * 2, profile.source_files // 16)
    dirs: list[Path] = []
    used_top: set = set()
    frontier = []
    for _ in range(projects):
        p = root / _name(rng, vocab, used_top)
        p.mkdir()
        dirs.append(p)
        frontier.append((p, 0))
    # Breadth-first random branching up to depth 5 until there are enough directories.
    children_used: dict[Path, set] = {}
    i = 0
    while len(dirs) < target_dirs:
        parent, depth = frontier[i % len(frontier)]
        i += 1
        if depth >= 5 and i < 10 * target_dirs:
            continue
        used = children_used.setdefault(parent, set())
        for _ in range(rng.randint(1, 4)):
            d = parent / _name(rng, vocab, used)
            d.mkdir()
            dirs.append(d)
            frontier.append((d, depth + 1))
            if len(dirs) >= target_dirs:
                break
    files_used = {d: set(children_used.get(d, ())) for d in dirs}
    lang_names = [n for n, _ in EXT_WEIGHTS]
    lang_weights = [w for _, w in EXT_WEIGHTS]
    mu = __import__("math").log(profile.source_mean_bytes) - 0.5  # lognormal with sigma 1: mean = e^(mu + 1/2)
    # Per project: a LICENSE (identical in every project), README, .gitignore, symlinks, an empty dir.
    license_text = "\n".join(LICENSE_HEADER) + "\n" + prose_text(random.Random(7), vocab, 9000)
    special = 0
    for p in dirs[:projects]:
        _write(p / "LICENSE", license_text.encode())
        _write(p / "README.md", prose_text(rng, vocab, rng.randint(2000, 12000)).encode())
        _write(p / ".gitignore", b"build/\n*.o\n__pycache__/\n.DS_Store\n")
        _write(p / ".keep", b"")
        (p / "build").mkdir()
        first_child = sorted(children_used.get(p, {"."}))[0]
        os.symlink(first_child, p / "current")
        os.symlink("LICENSE", p / "COPYING")
        files_used[p].update({"LICENSE", "README.md", ".gitignore", ".keep", "build", "current", "COPYING"})
        special += 4
    for _ in range(profile.source_files - special):
        d = rng.choice(dirs)
        lang = rng.choices(lang_names, lang_weights)[0]
        target = min(256 * 1024, max(64, int(rng.lognormvariate(mu, 1.0))))
        if lang == "md":
            name, text = _name(rng, vocab, files_used[d], ".md"), prose_text(rng, vocab, target)
        elif lang in ("json", "yaml"):
            name, text = _name(rng, vocab, files_used[d], "." + lang), config_text(rng, vocab, target, lang)
        else:
            L = langs[lang]
            name = _name(rng, vocab, files_used[d], L.ext)
            if lang == "python" and rng.random() < 0.03:
                name, text = "__init__.py", ""
                if name in files_used[d]:
                    name, text = _name(rng, vocab, files_used[d], L.ext), code_text(rng, L, target)
                files_used[d].add(name)
            else:
                text = code_text(rng, L, target)
        mode = 0o755 if lang == "python" and rng.random() < 0.05 else 0o644
        _write(d / name, text.encode(), mode)


def binary_file(path: Path, rng: random.Random, size: int, zero_regions: bool) -> None:
    """Structured 64-byte records: counters, timestamps, low-entropy fields, some random bytes."""
    n = 65536  # records per 4 MiB block
    t4 = bytes(rng.sample(range(256), 4) * 64)
    t16 = bytes(rng.sample(range(32, 127), 16) * 16)
    kinds = [rng.getrandbits(64) for _ in range(4)]
    ts0 = EPOCH_START * 1000 + rng.randint(0, 10**6)
    step = rng.randint(1, 50)
    seq = rng.randint(0, 1 << 32)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            block_len = min(64 * n, size - written)
            if zero_regions and rng.random() < 0.2:
                f.write(bytes(block_len))
                written += block_len
                continue
            buf = bytearray(64 * n)
            q = memoryview(buf).cast("Q")
            q[0::8] = array.array("Q", range(seq, seq + n))
            q[1::8] = array.array("Q", range(ts0 + seq * step, ts0 + (seq + n) * step, step))
            q[2::8] = memoryview(rng.randbytes(8 * n)).cast("Q")
            q[3::8] = memoryview(rng.randbytes(8 * n).translate(t4)).cast("Q")
            q[4::8] = memoryview(rng.randbytes(8 * n).translate(t16)).cast("Q")
            q[5::8] = array.array("Q", [rng.choice(kinds)]) * n
            q[7::8] = memoryview(rng.randbytes(8 * n).translate(t4)).cast("Q")
            q.release()
            seq += n
            f.write(memoryview(buf)[:block_len])
            written += block_len
    os.chmod(path, 0o644)


def random_file(path: Path, rng: random.Random, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left > 0:
            piece = b"".join(rng.randbytes(MiB) for _ in range(min(8, (left + MiB - 1) // MiB)))
            f.write(piece[:left])
            left -= min(len(piece), left)
    os.chmod(path, 0o600)


LOG_HOSTS = ["web-01", "web-02", "api-01", "db-01", "worker-03"]
LOG_PROCS = ["nginx", "api", "worker", "scheduler", "postgres", "sshd", "cron"]
LOG_LEVELS = ["INFO"] * 12 + ["DEBUG"] * 6 + ["WARN"] * 2 + ["ERROR"]


def log_lines(rng: random.Random, vocab: Vocabulary, t_ms: int, size: int):
    """Yields chunks of log text totalling `size` bytes or a bit more; returns through StopIteration."""
    messages = [" ".join(rng.choices(vocab.words, k=rng.randint(2, 7))) for _ in range(800)]
    paths = ["/" + "/".join(rng.choices(vocab.words, k=rng.randint(1, 4))) for _ in range(300)]
    pids = {p: rng.randint(100, 65000) for p in LOG_PROCS}
    produced = 0
    sec, prefix = -1, ""
    while produced < size:
        chunk = []
        csize = 0
        while csize < 4 * MiB and produced + csize < size:
            t_ms += rng.randint(0, 40)
            s = t_ms // 1000
            if s != sec:
                sec = s
                prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
            proc = rng.choice(LOG_PROCS)
            if proc in ("nginx", "api") and rng.random() < 0.7:
                msg = (f"{rng.choice(('GET', 'GET', 'POST', 'PUT', 'DELETE'))} {rng.choice(paths)} "
                       f"status={rng.choice((200, 200, 200, 201, 204, 304, 404, 500))} bytes={rng.randint(0, 90000)} "
                       f"duration_ms={rng.randint(0, 900)} request_id={rng.getrandbits(64):016x}")
            else:
                msg = f"{rng.choice(messages)} {vocab.ident(rng)}={rng.randint(0, 10000)}"
            line = f"{prefix}.{t_ms % 1000:03d}Z {rng.choice(LOG_HOSTS)} {proc}[{pids[proc]}]: {rng.choice(LOG_LEVELS)} {msg}\n"
            chunk.append(line)
            csize += len(line)
        produced += csize
        yield "".join(chunk).encode()
    return t_ms


def log_file(path: Path, rng: random.Random, size: int) -> None:
    vocab = Vocabulary(random.Random(rng.getrandbits(64)))
    with open(path, "wb") as f:
        for chunk in log_lines(rng, vocab, EPOCH_START * 1000, size):
            f.write(chunk)
    os.chmod(path, 0o640)


DB_SCHEMA = """
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    status TEXT NOT NULL,
    body TEXT,
    payload BLOB,
    updated INTEGER NOT NULL
)"""
DB_STATUSES = ["active", "active", "active", "pending", "suspended", "closed"]
DB_DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.example"]


def db_body(rng, vocab) -> str:
    return " ".join(rng.choices(vocab.words, k=rng.randint(40, 140)))


def sqlite_file(path: Path, rng: random.Random, size: int) -> None:
    vocab = Vocabulary(random.Random(rng.getrandbits(64)))
    con = sqlite3.connect(str(path), isolation_level=None)
    try:
        con.execute("PRAGMA page_size = 4096")
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -65536")
        con.execute(DB_SCHEMA)
        next_id = 1
        while True:
            pages = con.execute("PRAGMA page_count").fetchone()[0]
            if pages * 4096 >= size * 0.97:  # the index adds the last few percent
                break
            rows = []
            for _ in range(5000):
                name = vocab.ident(rng)
                rows.append((next_id, name, f"{name.lower()}@{rng.choice(DB_DOMAINS)}", rng.choice(DB_STATUSES),
                             db_body(rng, vocab), rng.randbytes(rng.randint(16, 200)),
                             EPOCH_START + rng.randint(0, EPOCH_SPAN)))
                next_id += 1
            con.execute("BEGIN")
            con.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            con.execute("COMMIT")
        con.execute("CREATE INDEX records_name ON records(name)")
    finally:
        con.close()
    os.chmod(path, 0o640)


# --------------------------------------------------------------------------------------


def _fix_mtimes(root: Path, rng: random.Random) -> None:
    """Deterministic mtimes for everything (files first, then directories bottom-up)."""
    for dirpath, dirnames, filenames in sorted(os.walk(root, topdown=False)):
        for name in sorted(filenames) + sorted(dirnames):
            p = os.path.join(dirpath, name)
            if os.path.islink(p) or os.path.isfile(p):
                t = EPOCH_START + rng.randint(0, EPOCH_SPAN)
                os.utime(p, (t, t), follow_symlinks=False)
    # (setting a directory's mtime does not touch its parent's, so the order only fixes which draw goes where)
    for dirpath in sorted(d for d, _, _ in os.walk(root)):
        t = EPOCH_START + EPOCH_SPAN + rng.randint(0, 86400)
        os.utime(dirpath, (t, t))


def generate(data_dir: Path, profile: Profile, seed: int) -> dict:
    """Generates the dataset into data_dir (which must not exist) and writes the marker."""
    from . import treecheck

    data_dir = Path(os.path.abspath(data_dir))
    if data_dir.exists():
        raise FileExistsError(f"{data_dir} exists")
    marker = {"generator_version": GENERATOR_VERSION, "seed": seed, "profile": profile.name,
              "profile_parameters": asdict(profile), "state": "incomplete"}
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    write_marker(data_dir, marker)
    started = time.monotonic()
    data_dir.mkdir(parents=True)
    os.chmod(data_dir, 0o755)
    root_rng = lambda part: random.Random(f"skiff-bench:{GENERATOR_VERSION}:{seed}:{part}")  # noqa: E731

    log(f"generating {profile.name} dataset (~{profile.approx_bytes / MiB:.0f} MiB, seed {seed}) in {data_dir}")
    generate_source(data_dir / "src", root_rng("src"), profile)
    log(f"  src/ done ({time.monotonic() - started:.1f} s)")
    (data_dir / "bin").mkdir()
    for i, mib in enumerate(profile.binaries_mib):
        binary_file(data_dir / "bin" / BINARY_NAMES[i % len(BINARY_NAMES)], root_rng(f"bin{i}"), mib * MiB, zero_regions=(i == 0))
    log(f"  bin/ done ({time.monotonic() - started:.1f} s)")
    (data_dir / "db").mkdir()
    sqlite_file(data_dir / "db" / "app.sqlite3", root_rng("db"), profile.sqlite_mib * MiB)
    log(f"  db/ done ({time.monotonic() - started:.1f} s)")
    (data_dir / "random").mkdir()
    for i, mib in enumerate(profile.random_mib):
        random_file(data_dir / "random" / RANDOM_NAMES[i % len(RANDOM_NAMES)], root_rng(f"random{i}"), mib * MiB)
    (data_dir / "log").mkdir()
    log_file(data_dir / "log" / "app.log", root_rng("log"), profile.log_mib * MiB)
    (data_dir / "spool").mkdir()  # an empty directory
    log(f"  random/, log/ done ({time.monotonic() - started:.1f} s)")
    _fix_mtimes(data_dir, root_rng("mtimes"))
    manifest = treecheck.manifest(data_dir)
    marker.update(state="pristine", summary=summarize(data_dir, manifest), digest=treecheck.digest(manifest),
                  generated_seconds=round(time.monotonic() - started, 1))
    write_marker(data_dir, marker)
    s = marker["summary"]
    log(f"dataset ready: {s['files']} files, {s['bytes'] / MiB:.1f} MiB in {marker['generated_seconds']} s, digest {marker['digest'][:16]}")
    return marker


def summarize(data_dir: Path, manifest: dict) -> dict:
    files = [e for e in manifest.values() if e[0] == "f"]
    parts = {}
    for rel, e in manifest.items():
        if e[0] == "f":
            top = rel.split("/", 1)[0]
            p = parts.setdefault(top, {"files": 0, "bytes": 0})
            p["files"] += 1
            p["bytes"] += e[2]
    return {
        "files": len(files),
        "directories": sum(1 for e in manifest.values() if e[0] == "d"),
        "symlinks": sum(1 for e in manifest.values() if e[0] == "l"),
        "bytes": sum(e[2] for e in files),
        "components": parts,
    }


def remove_dataset(data_dir: Path) -> None:
    """Removes a dataset that this harness generated (refuses anything without a marker)."""
    data_dir = Path(os.path.abspath(data_dir))
    if data_dir.exists():
        if read_marker(data_dir) is None:
            raise RuntimeError(f"{data_dir} exists but has no marker {marker_path(data_dir)}: not removing it")
        shutil.rmtree(data_dir)
    try:
        marker_path(data_dir).unlink()
    except FileNotFoundError:
        pass


def ensure_pristine(data_dir: Path, profile: Profile, seed: int, check_digest: bool = True) -> dict:
    """Reuses data_dir when its marker matches (and its digest still does), else regenerates it."""
    from . import treecheck

    marker = read_marker(data_dir)
    if data_dir.exists() and marker is None and any(data_dir.iterdir()):
        raise RuntimeError(f"{data_dir} is not empty and was not generated by this harness (no {marker_path(data_dir).name})")
    reason = None
    if marker is None or not data_dir.exists():
        reason = "no dataset yet"
    elif (marker.get("generator_version"), marker.get("seed"), marker.get("profile")) != (GENERATOR_VERSION, seed, profile.name):
        reason = f"existing dataset is {marker.get('profile')}/seed {marker.get('seed')}/v{marker.get('generator_version')}"
    elif marker.get("state") != "pristine":
        reason = f"existing dataset is {marker.get('state')}"
    elif check_digest:
        log(f"checking the existing dataset in {data_dir} (hashing it; this also warms the page cache)")
        if treecheck.digest(treecheck.manifest(data_dir)) != marker.get("digest"):
            reason = "existing dataset no longer matches its digest"
    if reason is None:
        log(f"reusing the {profile.name} dataset (seed {seed}) in {data_dir}")
        return marker
    log(f"(re)generating the dataset: {reason}")
    if data_dir.exists() or marker_path(data_dir).exists():
        if data_dir.exists() and marker is None:
            data_dir.rmdir()  # empty
        else:
            remove_dataset(data_dir)
    return generate(data_dir, profile, seed)
