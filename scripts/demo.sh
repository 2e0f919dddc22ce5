#!/usr/bin/env bash
# The demo: a throwaway cluster with two classes, web (high priority, a
# reservation) and ai (low priority, a cap).  A burst of ai-worker logins
# comes in while web requests keep opening connections; it runs once with
# enforcement off and once with it on, and prints pg_budget_status and a
# side-by-side table.  Works on a fresh Debian machine as root.
set -euo pipefail
PGB_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$PGB_TOP/scripts/common.sh"

pgb_install_deps
pgb_build_install
work=$(pgb_user_copy)
trap 'rm -rf "$work"' EXIT
pgb_as_user bash "$work/scripts/demo-run.sh" "$work/demo"

# the picture of the run, drawn from pg_budget_history
out=${DEMO_OUT:-$PGB_TOP/demo-output}
mkdir -p "$out"
cp "$work/demo/history.png" "$out/history.png"
echo "== pg_budget_history of the run, plotted: $out/history.png"
