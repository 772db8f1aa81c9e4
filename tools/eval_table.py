#!/usr/bin/env python3
"""Runs `mobilecnn eval --json` for every catalogue model on the dev photos and prints a Markdown table
comparing our top-1/top-5 with the reference's (and how often both pick the same top-1 class).

Usage: python3 tools/eval_table.py [--bin target/release/mobilecnn] [--dev ../shared/images/imagenet-dev]
Standard library only; run `bash tools/fetch-models.sh` and `cargo build --release` first.
"""
import argparse
import json
import pathlib
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent


def shared(rel):
    for base in (root / "../shared", root / "../../shared"):
        if (base / rel).exists():
            return (base / rel).resolve()
    raise SystemExit(f"../shared/{rel} not found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(root / "target/release/mobilecnn"))
    ap.add_argument("--dev", default=None)
    args = ap.parse_args()
    dev = args.dev or str(shared("images/imagenet-dev"))
    catalogue = json.loads((root / "catalogue/models.json").read_text())
    print("| model | top-1 (ours) | top-1 (reference) | Δ top-1 | top-5 (ours) | top-5 (reference) | same top-1 as reference |")
    print("|---|---|---|---|---|---|---|")
    for m in catalogue["models"]:
        out = subprocess.run([args.bin, "eval", m["id"], dev, "--json"], check=True, capture_output=True, text=True, cwd=root)
        ours = json.loads(out.stdout)
        ref = json.loads((shared("reference") / m["id"] / "dev_top5.json").read_text())
        ref_top1 = {i["file"]: i["top5"][0][0] for i in ref["images"]}
        same = sum(1 for i in ours["per_image"] if i["top5"] and i["top5"][0][0] == ref_top1.get(i["file"]))
        d = 100 * (ours["top1"] - ref["top1"])
        print(f"| {m['id']} | {ours['top1']:.3f} | {ref['top1']:.3f} | {d:+.1f} | {ours['top5']:.3f} | {ref['top5']:.3f} "
              f"| {same}/{ours['images']} |", flush=True)


if __name__ == "__main__":
    main()
