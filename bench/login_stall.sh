#!/usr/bin/env bash
# Logins beside monitoring: login p99 while four sessions of a pg_monitor
# member poll a pg_budget view with the events ring full at its maximum
# size (pg_budget.events_size = 1000000; history_size at its maximum of
# 86400 s, which fills only at one frame a second), against the same four
# sessions busy on CPU.  Phases alternate; the report gives each phase's
# p50/p99 of the time to connect and run SELECT 1, and the median ratio.
#
#   bash bench/login_stall.sh                   # as root on a fresh Debian machine
#   ROUNDS=1 PHASE_SECONDS=2 EVENTS=20000 bash bench/login_stall.sh   # smoke run
#
# Prints a markdown report; with OUT=file it is also written there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare python3-psycopg2
bench_report login_stall ROUNDS="${ROUNDS:-6}" PHASE_SECONDS="${PHASE_SECONDS:-10}" \
	EVENTS="${EVENTS:-1000000}" VIEWS="${VIEWS:-pg_budget_events pg_budget_history}"
