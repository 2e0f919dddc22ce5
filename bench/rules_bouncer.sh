#!/usr/bin/env bash
# pg_budget.rules behind PgBouncer (transaction pooling): which class the
# server gives the pooler's connections when clients name themselves by
# application_name, and how a pool of its own classifies the workers.
# Not a timing: a record of what the server saw, as a markdown report.
#
#   bash bench/rules_bouncer.sh        # as root; with OUT=file also written there
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare pgbouncer
bench_report rules_bouncer
