"""Deterministic mutation of a generated dataset (the change between the initial and the
incremental backup). Applied to the same pristine dataset with the same seed, it gives
the same bytes.

  - about 1% of the files under src/ get some lines rewritten and a few lines inserted;
  - log/app.log gets a few MiB appended;
  - 1000 rows of db/app.sqlite3 (random ids) get a new `body`, in one transaction;
  - 4 KiB are overwritten in the middle of the largest file in bin/.
"""
from __future__ import annotations

import os
import random
import sqlite3
import time
from pathlib import Path

from . import dataset, treecheck
from .dataset import MiB

SMALL_FILE_FRACTION = 0.01
DB_ROWS_UPDATED = 1000
OVERWRITE_BYTES = 4096


def mutate(data_dir: Path, seed: int, force: bool = False) -> dict:
    data_dir = Path(os.path.abspath(data_dir))
    marker = dataset.read_marker(data_dir)
    if marker is None:
        raise RuntimeError(f"{data_dir} has no dataset marker: generate it with `bench generate` first")
    if marker.get("state") != "pristine" and not force:
        raise RuntimeError(f"{data_dir} is {marker.get('state')}, not pristine (use --force to mutate it again)")
    profile = dataset.PROFILES[marker["profile"]]
    rng = random.Random(f"skiff-bench:{dataset.GENERATOR_VERSION}:{seed}:mutate")
    vocab = dataset.Vocabulary(random.Random(rng.getrandbits(64)))
    langs = dataset.make_languages(random.Random(rng.getrandbits(64)), vocab)
    lines_pool = [s for lang in langs for s in lang.statements[:500]]
    started = time.monotonic()
    report = {"seed": seed}

    # 1. About 1% of the small files: rewrite some lines, insert a few.
    src = data_dir / "src"
    files = sorted(str(p.relative_to(data_dir)) for p in src.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_size > 0)
    chosen = sorted(rng.sample(files, max(1, round(len(files) * SMALL_FILE_FRACTION))))
    changed_bytes = 0
    for rel in chosen:
        path = data_dir / rel
        lines = path.read_bytes().decode().split("\n")
        for _ in range(max(1, len(lines) // 20)):
            i = rng.randrange(len(lines))
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines[i] = indent + rng.choice(lines_pool)
        for _ in range(rng.randint(1, 3)):
            lines.insert(rng.randrange(len(lines)), "    " + rng.choice(lines_pool))
        data = "\n".join(lines).encode()
        changed_bytes += len(data)
        with open(path, "r+b") as f:
            f.write(data)
            f.truncate()
    report["small_files_changed"] = len(chosen)
    report["small_files_total"] = len(files)
    report["small_files_bytes"] = changed_bytes

    # 2. Append a few MiB to the log.
    log_path = data_dir / "log" / "app.log"
    before = log_path.stat().st_size
    with open(log_path, "ab") as f:
        for chunk in dataset.log_lines(rng, vocab, (dataset.EPOCH_START + dataset.EPOCH_SPAN) * 1000, profile.log_append_mib * MiB):
            f.write(chunk)
    report["log_appended_bytes"] = log_path.stat().st_size - before

    # 3. Update 1000 random rows in one transaction.
    db_path = data_dir / "db" / "app.sqlite3"
    con = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = DELETE")
        max_id = con.execute("SELECT max(id) FROM records").fetchone()[0]
        ids = rng.sample(range(1, max_id + 1), min(DB_ROWS_UPDATED, max_id))
        rows = [(dataset.db_body(rng, vocab), dataset.EPOCH_START + dataset.EPOCH_SPAN + rng.randint(0, 86400), i) for i in ids]
        con.execute("BEGIN")
        con.executemany("UPDATE records SET body = ?, updated = ? WHERE id = ?", rows)
        con.execute("COMMIT")
    finally:
        con.close()
    report["db_rows_updated"] = len(ids)

    # 4. Overwrite 4 KiB in the middle of the largest binary file.
    binaries = sorted((p.stat().st_size, p.name) for p in (data_dir / "bin").iterdir())
    size, name = binaries[-1]
    offset = (size // 2) // OVERWRITE_BYTES * OVERWRITE_BYTES
    with open(data_dir / "bin" / name, "r+b") as f:
        f.seek(offset)
        f.write(rng.randbytes(OVERWRITE_BYTES))
    report["binary_overwritten"] = {"file": f"bin/{name}", "offset": offset, "bytes": OVERWRITE_BYTES}

    manifest = treecheck.manifest(data_dir)
    marker.update(state="mutated", mutation=report, digest=treecheck.digest(manifest),
                  summary=dataset.summarize(data_dir, manifest))
    dataset.write_marker(data_dir, marker)
    report["seconds"] = round(time.monotonic() - started, 2)
    dataset.log(f"mutated {data_dir}: {len(chosen)} source files, +{report['log_appended_bytes'] / MiB:.1f} MiB log, "
                f"{len(ids)} rows, 4 KiB of bin/{name} (digest {marker['digest'][:16]})")
    return report
