#!/usr/bin/env bash
# See login_stall.sh.  Runs as an unprivileged user with the PostgreSQL
# binaries in PATH.  $1: a directory for the throwaway cluster.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init "$1"
port=$base
initdb -D "$dir/data" -A trust -U postgres >/dev/null
bench_conf "$dir/data" "$port" "log_min_messages = warning
shared_preload_libraries = 'pg_budget'
pg_budget.classes = 'web(max=60, priority=100), ai(max=20, priority=10)'
pg_budget.events_size = 1000000
pg_budget.history_size = 86400"
bench_start "$dir/data" "$dir/server.log"
q() { bench_psql "$port" "$@"; }
q -c "CREATE ROLE w LOGIN" -c "CREATE ROLE mon LOGIN IN ROLE pg_monitor"
bench_class_roles "$port" w=web

# fill the events ring of actions (half of events_size): every pause and
# resume is an event of its own
q -c "DO \$\$ BEGIN FOR i IN 1..${EVENTS}/2 LOOP PERFORM pg_budget_pause('ai'); PERFORM pg_budget_resume('ai'); END LOOP; END \$\$"
events=$(q -c "SELECT count(*) FROM pg_budget_events")
frames=$(q -c "SELECT count(DISTINCT at) FROM pg_budget_history")

python3 - "$dir" "$port" "$ROUNDS" "$PHASE_SECONDS" "$events" "$frames" $VIEWS <<'PY'
import sys, time, threading, statistics
import psycopg2

dir_, port, rounds, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
events, frames, views = sys.argv[5], sys.argv[6], sys.argv[7:]

def conn(user):
    return psycopg2.connect(host=dir_, port=port, user=user, dbname="postgres")

def background(sql, stop):
    c = conn("mon")
    c.autocommit = True
    cur = c.cursor()
    n = 0
    while not stop.is_set():
        cur.execute(sql)
        cur.fetchall()
        n += 1
    c.close()
    return n

def phase(sql):
    stop = threading.Event()
    threads = [threading.Thread(target=background, args=(sql, stop)) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    lat = []
    end = time.monotonic() + secs
    while time.monotonic() < end:
        t0 = time.monotonic()
        c = conn("w")
        cur = c.cursor()
        cur.execute("SELECT 1")
        cur.fetchall()
        c.close()
        lat.append((time.monotonic() - t0) * 1000)
    stop.set()
    for t in threads:
        t.join()
    lat.sort()
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], len(lat)

cpu_sql = "SELECT count(*) FROM generate_series(1, 2000000)"
rows = []
for r in range(rounds):
    for view in views:
        order = [("cpu", cpu_sql), (view, "SELECT count(*) FROM %s" % view)]
        if r % 2:
            order.reverse()
        res = {}
        for name, sql in order:
            res[name] = phase(sql)
        rows.append((r + 1, view, res["cpu"], res[view]))

print("# Logins beside view polling (bench/login_stall.sh)\n")
print("Run of %s; events ring: %s events (pg_budget.events_size = 1000000); "
      "history: %s frames (history_size = 86400 s, one frame a second). Four "
      "sessions of a pg_monitor member poll the view, or run `%s`, while one "
      "client connects, runs SELECT 1 and disconnects in a loop for %g s; "
      "milliseconds per login.\n" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                     events, frames, cpu_sql, secs))
print("| round | view | CPU: p50 | CPU: p99 | logins | view: p50 | view: p99 | logins | p99 ratio view/CPU |")
print("|---|---|---|---|---|---|---|---|---|")
for r, view, cpu, v in rows:
    print("| %d | %s | %.2f | %.2f | %d | %.2f | %.2f | %d | %.2f |" % (
        r, view, cpu[0], cpu[1], cpu[2], v[0], v[1], v[2], v[1] / cpu[1]))
print()
for view in views:
    ratios = [v[1] / cpu[1] for r, vw, cpu, v in rows if vw == view]
    print("- %s: median p99 ratio (view polling / CPU load) **%.2f** over %d rounds (goal <= 1.2)" % (
        view, statistics.median(ratios), len(ratios)))
PY
