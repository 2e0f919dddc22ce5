#!/usr/bin/env bash
# Login cost of pg_budget: pgbench -C (a new connection per transaction)
# against a server with pg_budget preloaded and classes configured, and an
# identical server without it, in alternating runs; then the time spent
# inside the backend judging each login, from pg_budget_admission_histogram.
#
#   bash bench/login_cost.sh            # as root on a fresh Debian machine
#   PAIRS=3 RUN_SECONDS=2 bash bench/login_cost.sh    # a quick smoke run
#   PGB_EXTRA_CONF="pg_budget.sample_interval = 1000" bash bench/login_cost.sh
#   SELECT_ONLY=1 CLASSES='web(max=80), admin(max=5, reserve=5)' CLIENTS=2 \
#       bash bench/login_cost.sh     # pgbench -C -S, a small class table
#
#   TOGETHER=1 CLIENTS=1 ... bash bench/login_cost.sh   # each pair's runs at the same time
#
# Besides the rate, each run's server CPU per login (user and system, from
# the postmaster's exited children) and the worker's CPU a second.
#
# Prints a markdown report; with OUT=file it is also written there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_prepare
bench_report login_cost PAIRS="${PAIRS:-15}" RUN_SECONDS="${RUN_SECONDS:-10}" \
	CLIENTS="${CLIENTS:-4}" PGB_EXTRA_CONF="${PGB_EXTRA_CONF:-}" \
	SELECT_ONLY="${SELECT_ONLY:-0}" TOGETHER="${TOGETHER:-0}" ${CLASSES:+CLASSES="$CLASSES"}
