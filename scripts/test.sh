#!/usr/bin/env bash
# Every test of the project, in stages; prints each stage's duration and stops at the first failure.
#   setup    scripts/setup.sh (installs what is missing)
#   models   tools/fetch-models.sh (sha256-checked model files into models/)
#   native   cargo test (kernels vs scalar/naive twins, graph, zoo, CLI)
#   wasm     wasm-pack test --headless --chrome --release (the same tests on SIMD128 in Chromium)
#   build    scripts/build-wasm.sh (all four builds, SIMD and relaxed SIMD checks) + scripts/build-package.sh if present
#   python   tools/tests/run.sh (converters, catalogue)
#   node     node --test on tests/scripts, tests/package and tests/e2e (*.test.mjs; real Chromium)
# TEST_STAGES="native wasm" runs only those stages (in the order above).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MOBILECNN_ROOT"

ALL_STAGES=(setup models native wasm build python node)
wanted=" ${TEST_STAGES:-${ALL_STAGES[*]}} "
for s in $wanted; do
  [[ " ${ALL_STAGES[*]} " == *" $s "* ]] || die "unknown stage '$s' in TEST_STAGES (stages: ${ALL_STAGES[*]})"
done

summary=()
# run_stage <name> <description> <function>
run_stage() {
  local name="$1" what="$2"; shift 2
  [[ "$wanted" == *" $name "* ]] || return 0
  echo
  echo "=== stage $name: $what ==="
  local start=$SECONDS
  if ! "$@"; then
    summary+=("$name FAILED after $((SECONDS - start)) s")
    printf '%s\n' "--- summary ---" "${summary[@]}"
    die "stage '$name' failed (rerun it alone: TEST_STAGES=$name npm test)"
  fi
  summary+=("$(printf '%-7s %4d s' "$name" $((SECONDS - start)))")
  echo "=== stage $name passed in $((SECONDS - start)) s ==="
}

stage_setup() { SETUP_MODELS=0 bash scripts/setup.sh; }
stage_models() { bash tools/fetch-models.sh; }
# The threaded plan natively too: a missing meeting point between steps shows as a wrong output.
stage_native() { cargo test --quiet && cargo test --quiet --features threads --test graph_threads; }
stage_wasm() {
  # - WASM_BINDGEN_USE_BROWSER: the tests carry no run_in_browser; this runs them in Chromium, not Node.
  # - Own target dir, and release without LTO: every test binary would otherwise get a fat LTO
  #   pass, and the test build would evict the package build's artefacts (same cdylib file name).
  #   Optimisation level and +simd128 stay those of the release build.
  WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" \
  CARGO_TARGET_DIR="$MOBILECNN_ROOT/target/wasm-test" CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_PANIC=unwind \
    wasm-pack test --headless --chrome --release --mode no-install
}
stage_build() {
  # (set -e does not apply inside run_stage's `if`: every step returns explicitly)
  bash scripts/build-wasm.sh || return 1
  if [[ -f scripts/build-package.sh ]]; then bash scripts/build-package.sh || return 1; fi
}
stage_python() { bash tools/tests/run.sh; }
stage_node() {
  local files=() dir
  for dir in tests/scripts tests/package tests/e2e; do
    [[ -d "$dir" ]] && while IFS= read -r f; do files+=("$f"); done < <(find "$dir" -maxdepth 1 -name '*.test.mjs' | sort)
  done
  if [[ ${#files[@]} == 0 ]]; then echo "no *.test.mjs files"; return 0; fi
  # One file at a time: the browser tests share 2 cores and a fixed amount of memory.
  local f t failed=()
  for f in "${files[@]}"; do
    echo "--- node --test $f"
    t=$SECONDS
    if node --test "$f"; then echo "--- $f passed in $((SECONDS - t)) s"
    else failed+=("$f"); echo "--- $f FAILED after $((SECONDS - t)) s"; fi
  done
  [[ ${#failed[@]} == 0 ]] || { echo "failed: ${failed[*]}" >&2; return 1; }
}

run_stage setup "install what is missing (scripts/setup.sh)" stage_setup
run_stage models "model files with sha256 checks (tools/fetch-models.sh)" stage_models
run_stage native "cargo test" stage_native
run_stage wasm "wasm-bindgen tests in headless Chromium (wasm-pack test --release)" stage_wasm
run_stage build "the four wasm builds with SIMD checks, then the npm package" stage_build
run_stage python "model tool tests (tools/tests/run.sh)" stage_python
run_stage node "node --test: scripts, package, browser end-to-end" stage_node

echo
printf '%s\n' "--- summary (total $SECONDS s) ---" "${summary[@]}"
echo "all stages passed"
