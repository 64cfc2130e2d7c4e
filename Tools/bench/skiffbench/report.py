"""Reporting: results.json (everything) and results.md (tables), both in the output folder.

The Markdown is rendered from the JSON document alone (each scenario carries its column
definitions), so `bench report DIR` can re-render an old run and new scenarios need no
change here.

Ratios are "peer ÷ Skiff" for lower-is-better figures (time, CPU, memory, bytes): above
1.00× Skiff is faster / lighter / smaller by that factor; below, the peer is.

A scenario may also carry a "conclusion" ({"lines": [...], "targets": [...]}, e.g. `sites`:
3 sites ÷ 1 site and its target); its lines go under the scenario's table and its targets,
met or not, also to a "Targets" section at the top.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

PEERS = ("restic", "borg")


def write(doc: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "results.json.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, out_dir / "results.json")
    (out_dir / "results.md").write_text(render(doc))


# -- formatting


def fmt(value, unit: str) -> str:
    if value is None:
        return ""
    if unit == "text":
        return str(value)
    if unit == "count":
        return f"{value:,}"
    if unit == "s":
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "kib":
        return fmt_bytes(value * 1024)
    if unit == "bytes":
        return fmt_bytes(value)
    if unit == "mib_s":
        return f"{value:.1f} MiB/s"
    return str(value)


def fmt_bytes(n) -> str:
    neg = n < 0
    n = abs(n)
    if n < 1 << 20:
        s = f"{n / 1024:.1f} KiB"
    elif n < 10 << 30:
        s = f"{n / (1 << 20):.1f} MiB"
    else:
        s = f"{n / (1 << 30):.2f} GiB"
    return ("-" if neg else "") + s


def ratio(peer, skiff) -> str:
    if not isinstance(peer, (int, float)) or not isinstance(skiff, (int, float)) or skiff <= 0 or peer < 0:
        return "–"
    return f"{peer / skiff:.2f}×"


def _cell(result: dict | None, col: dict) -> str:
    if result is None:
        return ""
    if not result.get("metrics"):
        return "–"  # skipped, or failed before anything was measured (see the status column)
    return fmt(result.get("metrics", {}).get(col["key"]), col["unit"])


def _usable(result: dict | None) -> bool:
    return bool(result) and result.get("status") in ("ok", "warning")


def _target_line(t: dict) -> str:
    """'<what the target says>: **met** (1.12×)' (or **NOT MET**, or **not evaluated** and why)."""
    if t.get("met") is None:
        verdict = f"**not evaluated** ({t.get('reason', 'no value')})"
    else:
        unit = t.get("unit", "×")
        value = f"{t['value']:.2f}{'' if unit in ('×', '') else ' '}{unit}" if isinstance(t.get("value"), (int, float)) else "?"
        verdict = f"**met** ({value})" if t["met"] else f"**NOT MET** ({value})"
    return f"{t.get('text', '?')}: {verdict}"


def _table(header: list[str], rows: list[list[str]], align: list[str]) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(("---:" if a == "r" else ":---") for a in align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


# -- rendering


def render(doc: dict) -> str:
    opts = doc.get("options", {})
    host = doc.get("host", {})
    ds = doc.get("dataset", {})
    tools = doc.get("tools", {})
    lines = ["# Skiff benchmark", ""]
    pristine = ds.get("pristine") or {}
    lines.append(f"- run: {doc.get('started')} → {doc.get('finished') or '(in progress)'}")
    lines.append(f"- host: {host.get('cpu_model', '?')}, {host.get('cpus')} CPUs, "
                 f"{fmt_bytes(host.get('memory_bytes', 0))} RAM, kernel {host.get('kernel')}, "
                 f"workdir on {host.get('workdir_filesystem', '?')} ({opts.get('workdir')})")
    if pristine:
        lines.append(f"- dataset: {opts.get('profile')} profile, seed {opts.get('seed')}: "
                     f"{pristine.get('files', 0):,} files, {pristine.get('directories', 0):,} directories, "
                     f"{fmt_bytes(pristine.get('bytes', 0))}")
    lines.append(f"- page cache before each tool: {opts.get('cache_mode')}")
    for t in tools.values():
        lines.append(f"- {t.get('label')}: {t.get('version') or '?'} ({t.get('executable')})")
    for n in doc.get("notes", []):
        lines.append(f"- **note:** {n}")
    lines.append("")

    scen = [s for s in doc.get("scenarios", []) if not s.get("prerequisite")]
    participants = []  # columns of the summary table: who takes part in scenarios with summary figures
    for s in scen:
        if not any(c.get("summary") for c in s.get("columns", [])):
            continue
        for n in s.get("order", []):
            if n not in participants:
                participants.append(n)
    peers = [p for p in PEERS if p in participants]
    # Participants that are no tool of their own (the `sites` scenario's "Skiff → 3 sites") carry their label.
    labels = {n: r["label"] for s in doc.get("scenarios", []) for n, r in s.get("results", {}).items() if r.get("label")}
    label = lambda n: tools.get(n, {}).get("label") or labels.get(n, n)  # noqa: E731

    # Summary: one row per (scenario, summary figure).
    rows = []
    for s in scen:
        for col in s.get("columns", []):
            if not col.get("summary"):
                continue
            res = s.get("results", {})
            row = [s.get("title", s["name"]), col["summary"]]
            row += [_cell(res.get(p), col) if p in res else "" for p in participants]
            if "skiff" in participants:
                for p in peers:
                    ok = col.get("ratio") and _usable(res.get(p)) and _usable(res.get("skiff"))
                    row.append(ratio(res[p]["metrics"].get(col["key"]), res["skiff"]["metrics"].get(col["key"])) if ok else "")
            rows.append(row)
    if rows:
        header = ["scenario", "figure"] + [label(p) for p in participants]
        if "skiff" in participants:
            header += [f"{label(p)} ÷ Skiff" for p in peers]
        lines.append("## Summary")
        lines.append("")
        lines += _table(header, rows, ["l", "l"] + ["r"] * (len(header) - 2))
        lines.append("")
        if "skiff" in participants and peers:
            lines.append("Ratios are peer ÷ Skiff: above 1.00× Skiff is faster, lighter or smaller by that factor; "
                         "below 1.00× the peer is.")
            lines.append("")

    targets = [(s, t) for s in scen for t in (s.get("conclusion") or {}).get("targets", [])]
    if targets:
        lines.append("## Targets")
        lines.append("")
        lines += [f"- {s.get('title', s['name'])} (`{s['name']}`): {_target_line(t)}" for s, t in targets]
        lines.append("")

    # One table per scenario with every column.
    failed = []
    for s in scen:
        res = s.get("results", {})
        lines.append(f"## {s.get('title', s['name'])} (`{s['name']}`)")
        lines.append("")
        lines.append(s.get("description", ""))
        lines.append("")
        cols = s.get("columns", [])
        header = ["tool", "status"] + [c["label"] for c in cols]
        rows = []
        for n in s.get("order", []):
            r = res.get(n, {})
            status = r.get("status", "")
            rows.append([label(n), status if status == "ok" else f"**{status.upper()}**"] + [_cell(r, c) for c in cols])
            if status not in ("ok",):
                failed.append((s["name"], label(n), status))
        lines += _table(header, rows, ["l", "l"] + ["l" if c["unit"] == "text" else "r" for c in cols])
        lines.append("")
        if "skiff" in res and _usable(res.get("skiff")):
            rl = []
            for p in peers:
                if not _usable(res.get(p)):
                    continue
                parts = [f"{c['label']} {ratio(res[p]['metrics'].get(c['key']), res['skiff']['metrics'].get(c['key']))}"
                         for c in cols if c.get("ratio")]
                rl.append(f"- {label(p)} ÷ Skiff: " + ", ".join(parts))
            if rl:
                lines += rl + [""]
        conclusion = s.get("conclusion") or {}
        if conclusion.get("lines") or conclusion.get("targets"):
            lines += [f"- {x}" for x in conclusion.get("lines", [])]
            lines += [f"- **target:** {_target_line(t)}" for t in conclusion.get("targets", [])]
            lines.append("")
        for n in s.get("order", []):
            for note in res.get(n, {}).get("notes", []):
                first, *rest = note.split("\n")
                lines.append(f"- {label(n)}: {first}")
                if rest:
                    lines.append("")
                    lines.append("  ```")
                    lines += ["  " + x for x in rest]
                    lines.append("  ```")
        if any(res.get(n, {}).get("notes") for n in s.get("order", [])):
            lines.append("")

    pre = [s for s in doc.get("scenarios", []) if s.get("prerequisite")]
    if pre:
        lines.append(f"Prerequisites run first (results in results.json only): {', '.join(s['name'] for s in pre)}.")
        lines.append("")
        for s in pre:
            for n in s.get("order", []):
                r = s.get("results", {}).get(n, {})
                if r.get("status") not in ("ok", None):
                    failed.append((s["name"] + " (prerequisite)", label(n),
                                   r.get("status", "") + (": " + r["notes"][0].split("\n")[0] if r.get("notes") else "")))
    if failed:
        lines.append("## FAILURES" if any(not st.startswith("warning") for _, _, st in failed) else "## Warnings")
        lines.append("")
        lines += [f"- {sc}: {who} {st}" for sc, who, st in failed]
        lines.append("")
    return "\n".join(lines)
