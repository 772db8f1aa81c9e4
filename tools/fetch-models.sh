#!/usr/bin/env bash
# Puts the model files listed in tools/models.sha256 into models/ (upstream first, else a local copy),
# verifies every sha256, then converts the checkpoints to ONNX as listed in tools/converted.sha256.
# Idempotent: files already present with the right hash are left alone.
# Environment: MOBILECNN_MODELS_FROM (local copies; default ../shared/models from the repo root),
#              MOBILECNN_OFFLINE=1 (skip the network), MOBILECNN_PYTHON (python with tools/requirements.txt).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/models"
mkdir -p "$dest"

# Local copies: the stated default, and the same path next to the main checkout (git worktrees live elsewhere).
sources=()
if [[ -n "${MOBILECNN_MODELS_FROM:-}" ]]; then
  sources+=("$MOBILECNN_MODELS_FROM")
else
  sources+=("$root/../shared/models")
  common="$(git -C "$root" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)"
  [[ -n "$common" ]] && sources+=("$(dirname "$common")/../shared/models")
fi

online=1
[[ "${MOBILECNN_OFFLINE:-0}" == 1 ]] && online=0
failed=0
sha() { sha256sum "$1" | cut -d' ' -f1; }
err() { echo "fetch-models: ERROR: $*" >&2; failed=1; }

# fetch <sha256> <file> <repo@commit:path>
fetch() {
  local want="$1" file="$2" upstream="$3" target="$dest/$2" tmp="$dest/$2.part" got
  if [[ -f "$target" ]]; then
    got="$(sha "$target")"
    [[ "$got" == "$want" ]] && return 0
    echo "fetch-models: $file in models/ has sha256 $got, expected $want: fetching again" >&2
    rm -f "$target"
  fi
  local repo="${upstream%%@*}" rest="${upstream#*@}"
  local url="https://raw.githubusercontent.com/$repo/${rest%%:*}/${rest#*:}"
  local tried=()
  if [[ $online == 1 ]]; then
    # One short attempt; after the first network failure the rest come from local copies (no retry storm).
    if curl -fsSL --connect-timeout 5 --max-time 300 -o "$tmp" "$url" 2>/dev/null; then
      got="$(sha "$tmp")"
      if [[ "$got" == "$want" ]]; then mv "$tmp" "$target"; echo "fetch-models: $file (upstream)"; return 0; fi
      tried+=("$url gave sha256 $got")
    else
      echo "fetch-models: upstream not reachable ($url); using local copies" >&2
      online=0
    fi
    rm -f "$tmp"
  fi
  local dir
  for dir in "${sources[@]}"; do
    [[ -f "$dir/$file" ]] || continue
    cp "$dir/$file" "$tmp" || { rm -f "$tmp"; continue; }
    got="$(sha "$tmp")"
    if [[ "$got" == "$want" ]]; then mv "$tmp" "$target"; echo "fetch-models: $file (copied from $dir)"; return 0; fi
    rm -f "$tmp"
    tried+=("$dir/$file has sha256 $got")
  done
  err "$file: no source with the expected sha256 $want (${tried[*]:-no upstream access and no local copy in ${sources[*]}})"
}

while read -r want file upstream; do
  [[ -z "$want" || "$want" == \#* ]] && continue
  fetch "$want" "$file" "$upstream"
done < "$root/tools/models.sha256"

# Conversions: skipped when the output already has the recorded sha256.
python=""
while read -r want out converter src; do
  [[ -z "$want" || "$want" == \#* ]] && continue
  if [[ -f "$dest/$out" && "$(sha "$dest/$out")" == "$want" ]]; then continue; fi
  if [[ ! -f "$dest/$src" ]]; then err "$out: source $src is missing, not converted"; continue; fi
  if [[ -z "$python" ]]; then
    if [[ -n "${MOBILECNN_PYTHON:-}" ]]; then python="$MOBILECNN_PYTHON"
    else "$root/tools/setup-python.sh" || { err "python setup failed"; break; }; python="$root/.venv/bin/python"; fi
  fi
  if ! "$python" "$root/tools/$converter" "$dest/$src" "$dest/$out"; then
    rm -f "$dest/$out"; err "$out: $converter failed on $src"; continue
  fi
  got="$(sha "$dest/$out")"
  if [[ "$got" != "$want" ]]; then
    rm -f "$dest/$out"
    err "$out: converted file has sha256 $got, expected $want (deleted; different onnx/numpy versions than tools/requirements.txt?)"
    continue
  fi
  echo "fetch-models: $out (converted from $src)"
done < "$root/tools/converted.sha256"

if [[ $failed != 0 ]]; then echo "fetch-models: FAILED (see errors above)" >&2; exit 1; fi
echo "fetch-models: models/ is complete"
