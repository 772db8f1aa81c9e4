#!/usr/bin/env bash
# CI entry for the Python tools: venv (no-op when ready), then the converter and catalogue checks.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/tools/setup-python.sh" || exit 1
rc=0
for t in test_converters.py test_catalogue.py; do
  "$root/.venv/bin/python" "$root/tools/tests/$t" || rc=1
done
exit $rc
