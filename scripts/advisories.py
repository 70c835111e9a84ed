#!/usr/bin/env python3
"""Check Cargo.lock against a local copy of the RustSec advisory database, offline.

    scripts/advisories.py [ADVISORY_DB]      (default: ../shared/advisory-db)

For every package in Cargo.lock that has advisories in ADVISORY_DB/crates/<name>/, a version is
vulnerable unless it matches one of the advisory's `patched` or `unaffected` requirements.
Withdrawn advisories are skipped; `informational` ones (unmaintained, unsound) are reported as
warnings, not failures. Exit status 1 when a vulnerability is found, 0 otherwise, 2 when the
database is missing. Uses only the Python standard library (tomllib, Python >= 3.11).

`cargo deny check advisories` does the same with more care; this script exists because it runs
with nothing to install, against the snapshot this project is given.
"""
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def parse_version(v):
    core = re.split(r"[-+]", v.strip())[0]
    parts = [int(p) for p in core.split(".")]
    while len(parts) < 3:
        parts.append(0)
    pre = "-" in v.split("+")[0]
    return tuple(parts[:3]), pre


def matches(req, version):
    """One comma-separated semver requirement, e.g. '>= 2.3.10, < 3' or '^0.9.1'."""
    ver, _ = parse_version(version)
    for clause in req.split(","):
        clause = clause.strip()
        if not clause:
            continue
        m = re.match(r"^(>=|<=|>|<|=|\^|~)?\s*([0-9][0-9A-Za-z.\-+]*)$", clause)
        if not m:
            return False
        op, target = m.group(1) or "^", m.group(2)
        tgt, _ = parse_version(target)
        nparts = len(target.split("-")[0].split("."))
        if op == ">=" and not ver >= tgt:
            return False
        if op == ">" and not ver > tgt:
            return False
        if op == "<=" and not ver <= tgt:
            return False
        if op == "<" and not ver < tgt:
            return False
        if op == "=" and not ver == tgt:
            return False
        if op == "^":
            if ver < tgt:
                return False
            if tgt[0] > 0:
                upper = (tgt[0] + 1, 0, 0)
            elif tgt[1] > 0 or nparts < 3:
                upper = (0, tgt[1] + 1, 0)
            else:
                upper = (0, 0, tgt[2] + 1)
            if not ver < upper:
                return False
        if op == "~":
            upper = (tgt[0], tgt[1] + 1, 0) if nparts >= 2 else (tgt[0] + 1, 0, 0)
            if not (tgt <= ver < upper):
                return False
    return True


def advisories(db, name):
    folder = db / "crates" / name
    if not folder.is_dir():
        return []
    out = []
    for f in sorted(folder.glob("*.md")):
        text = f.read_text(encoding="utf-8")
        m = re.search(r"```toml\n(.*?)\n```", text, re.S)
        if m:
            out.append(tomllib.loads(m.group(1)))
    return out


def main():
    db = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "advisory-db"
    if not (db / "crates").is_dir():
        print(f"advisories: no advisory database at {db}", file=sys.stderr)
        return 2
    lock = tomllib.loads((ROOT / "Cargo.lock").read_text(encoding="utf-8"))
    vulnerable, warnings, checked = [], [], 0
    for pkg in lock.get("package", []):
        if pkg.get("source", "").startswith("registry+") is False:
            continue
        checked += 1
        for adv in advisories(db, pkg["name"]):
            a = adv.get("advisory", {})
            if a.get("withdrawn"):
                continue
            vers = adv.get("versions", {})
            safe = vers.get("patched", []) + vers.get("unaffected", [])
            if any(matches(r, pkg["version"]) for r in safe):
                continue
            line = f"{pkg['name']} {pkg['version']}: {a.get('id')} {a.get('title', '')}".strip()
            if a.get("informational"):
                warnings.append(f"{line} ({a['informational']})")
            else:
                vulnerable.append(line)
    snapshot = (db / "SNAPSHOT").read_text().strip() if (db / "SNAPSHOT").exists() else str(db)
    for w in warnings:
        print(f"warning: {w}")
    for v in vulnerable:
        print(f"VULNERABLE: {v}")
    print(f"advisories: {checked} packages checked against {snapshot}: "
          f"{len(vulnerable)} vulnerable, {len(warnings)} warnings")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
