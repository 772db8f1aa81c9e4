#!/usr/bin/env python3
"""catalogue/models.json must be what tools/make_catalogue.py generates from the hash lists, the
converters and the reference manifests, and every file it names must be listed with the same sha256.
Prints 'N passed, N failed'."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def hashes(name):
    rows = [l.split() for l in (ROOT / "tools" / name).read_text().splitlines() if l.strip() and l[0] != "#"]
    return {r[1]: r[0] for r in rows}


def run():
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(("ok   " if ok else "FAIL ") + what, flush=True)

    gen = subprocess.run([sys.executable, str(ROOT / "tools" / "make_catalogue.py"), "--check"],
                         capture_output=True, text=True)
    check(gen.returncode == 0, "catalogue matches make_catalogue.py: " + (gen.stdout + gen.stderr).strip())
    cat = json.loads((ROOT / "catalogue" / "models.json").read_text())
    known = {**hashes("models.sha256"), **hashes("converted.sha256")}
    ids = [m["id"] for m in cat["models"]]
    check(len(set(ids)) == len(ids) == 10 and cat["default"] in ids, f"10 unique ids, default {cat['default']}")
    for m in cat["models"]:
        check(known.get(m["file"]) == m["sha256"] and known.get(m["source"]["file"]) == m["source"]["sha256"],
              f"{m['id']}: sha256 of {m['file']} and of its source agree with the hash lists")
        check(all(type(m.get(k)) is int and m[k] > 0 for k in ("macs", "params")),
              f"{m['id']}: {m.get('macs')} MACs, {m.get('params')} params")
    labels = (ROOT / cat["labels"]["file"]).read_text().splitlines()
    check(len(labels) == 1000 and all(len(l.split("\t")) == 2 for l in labels), "labels: 1000 'wnid<TAB>names' lines")
    print(f"{passed} passed, {failed} failed")
    return failed


def test_catalogue():
    assert run() == 0


if __name__ == "__main__":
    sys.exit(1 if run() else 0)
