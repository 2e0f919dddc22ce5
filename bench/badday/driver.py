#!/usr/bin/python3
"""Load generator of the bad-day benchmark (see bench/badday.sh).

Three processes share one clock (t0, seconds since the epoch):

- web: WEB_CLIENTS loops, each paced at WEB_RATE requests a second; a
  request is connect + one statement + disconnect: a read by key of
  `items` (most of them), or an UPDATE of a job near the head of the queue
  (a status page touching the jobs being processed now, so it sometimes
  waits on a row a worker holds);
- fleet: AI_ROLES x AI_WORKERS workers that burst in at the start of the
  "during" phase; a job is connect, BEGIN, claim the next pending job with
  SELECT ... FOR UPDATE SKIP LOCKED, hold it idle in transaction while
  "calling the model" (client-side sleep), mark it done, COMMIT,
  disconnect.  Refused workers wait for the HINT's "Retry after N ms" if
  there is one, else back off exponentially with full jitter.  No new
  job starts after the "during" phase; jobs in progress finish;
- sampler: one superuser connection straight to the server, once a
  second: pg_stat_activity's client backends grouped by role kind.

Each process keeps its rows in memory and writes its CSV when its time is
up (a hard deadline: whatever is still blocked is abandoned), so the run
takes before + during + after + GRACE seconds whatever the server does.
"""
import argparse
import csv
import json
import multiprocessing as mp
import os
import random
import re
import sys
import threading
import time

import psycopg2

RETRY_RE = re.compile(r"Retry after (\d+) ms")
GRACE = 2.0			# seconds after the window before a process gives up


def first_line(msg):
	msg = (msg or "").strip()
	return msg.splitlines()[0][:200] if msg else ""


def one_line(msg):
	"""The whole message (DETAIL and HINT too) on one line."""
	return " / ".join(l.strip() for l in (msg or "").strip().splitlines() if l.strip())[:400]


def refusal_kind(msg):
	"""Who refused a login, from the error text."""
	if "pg_budget:" in msg:
		m = re.search(r'pg_budget: class "[^"]*" (is at its admission limit|is at its cap|'
					  r'would take a slot reserved|is paused|is over its login rate)', msg)
		return "pg_budget " + {
			"is at its admission limit": "limit", "is at its cap": "cap",
			"would take a slot reserved": "reserve", "is paused": "paused",
			"is over its login rate": "rate"}.get(m.group(1) if m else "", "other")
	if "too many connections for role" in msg:
		return "role connection limit"
	if "too many clients" in msg or "remaining connection slots are reserved" in msg:
		return "max_connections"
	if "pgbouncer" in msg or "no more connections allowed" in msg or "server login" in msg:
		return "pgbouncer"
	if "timeout" in msg:
		return "timeout"
	return "other"


def abort_kind(msg):
	"""Why a job in progress failed."""
	if "pg_budget terminated" in msg:
		return "pg_budget terminate"
	if "pg_budget cancelled" in msg:
		return "pg_budget cancel"
	if "terminating connection" in msg:
		return "terminated"
	if "canceling statement" in msg:
		return "cancelled"
	if "server closed the connection" in msg or "server conn crashed" in msg or \
			"connection already closed" in msg:
		return "connection lost"
	return "other"


def dsn(args, user):
	return "host=%s port=%d dbname=%s user=%s connect_timeout=10 application_name=badday-%s" % (
		args.host, args.port, args.dbname, user, user)


def sleep_until(t):
	d = t - time.time()
	if d > 0:
		time.sleep(d)


def write_csv(path, header, rows):
	tmp = path + ".tmp"
	with open(tmp, "w", newline="") as f:
		w = csv.writer(f)
		w.writerow(header)
		w.writerows(rows)
	os.replace(tmp, path)


def finish(args, t0, path, header, rows, lock):
	"""Wait for the end of the window (+ grace), write, and leave at once."""
	sleep_until(t0 + args.before + args.during + args.after + GRACE)
	with lock:
		snapshot = list(rows)
	write_csv(path, header, snapshot)
	sys.stdout.flush()
	os._exit(0)		# abandon threads still blocked in the server


# ---------------------------------------------------------------- web

def web_process(args, t0):
	rows = []
	lock = threading.Lock()
	end = t0 + args.before + args.during + args.after
	period = 1.0 / args.web_rate
	read_sql = "SELECT body FROM items WHERE id = %s"
	# the user's job is one of the next WEB_HOT_JOBS in the queue: the ones
	# in progress sit at its head (workers claim in id order)
	update_sql = ("UPDATE jobs SET polls = polls + 1, last_polled_at = now() "
				  "WHERE id = (SELECT min(id) FROM jobs WHERE status = 'pending') + %s")

	def loop(i):
		rnd = random.Random(args.seed * 1000 + i)
		next_t = t0 + rnd.uniform(0, period)
		while next_t < end:
			sleep_until(next_t)
			op = "update" if rnd.random() < args.update_share else "read"
			status, err = "ok", ""
			start = time.time()
			try:
				conn = psycopg2.connect(dsn(args, args.web_role))
			except psycopg2.Error as e:
				status, err = "refused", refusal_kind(str(e)) + ": " + first_line(str(e))
			else:
				try:
					conn.autocommit = True
					cur = conn.cursor()
					if op == "read":
						cur.execute(read_sql, (rnd.randint(1, args.items),))
					else:
						cur.execute(update_sql, (rnd.randrange(args.hot_jobs),))
				except psycopg2.Error as e:
					status, err = "error", first_line(str(e))
				finally:
					try:
						conn.close()
					except psycopg2.Error:
						pass
			done = time.time()
			with lock:
				rows.append((round(start - t0, 4), round(done - start, 5), i, op, status, err))
			# paced; a late request is followed at once, without catching up
			next_t = max(next_t + period, done - period)

	for i in range(args.web_clients):
		threading.Thread(target=loop, args=(i,), daemon=True).start()
	finish(args, t0, os.path.join(args.out, "web.csv"),
		   ("t", "latency", "client", "op", "status", "error"), rows, lock)


# ---------------------------------------------------------------- fleet

def fleet_process(args, t0):
	rows = []			# (t, event, role, worker, job, value, detail)
	lock = threading.Lock()
	burst = t0 + args.before
	stop_new = burst + args.during
	claim_sql = ("SELECT id FROM jobs WHERE status = 'pending' "
				 "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
	done_sql = ("UPDATE jobs SET status = 'done', done_at = now(), done_by = current_user, "
				"result = %s WHERE id = %s")

	def record(*row):
		with lock:
			rows.append((round(time.time() - t0, 4),) + row)

	def worker(role, w):
		rnd = random.Random(args.seed * 100000 + int(role[2:]) * 1000 + w)
		sleep_until(burst + rnd.uniform(0, args.ramp))
		attempt = 0

		def backoff(msg):
			nonlocal attempt
			m = RETRY_RE.search(msg or "")
			if m:
				delay = int(m.group(1)) / 1000.0
			else:
				delay = rnd.uniform(0, min(args.backoff_cap, args.backoff_base * 2 ** attempt))
			attempt += 1
			time.sleep(max(0.0, min(delay, stop_new - time.time())))

		while time.time() < stop_new:
			t_start = time.time()
			try:
				conn = psycopg2.connect(dsn(args, role))
			except psycopg2.Error as e:
				msg = str(e)
				record("refused", role, w, "", round(time.time() - t_start, 5),
					   refusal_kind(msg) + ": " + first_line(msg))
				backoff(msg)
				continue
			job = None
			try:
				cur = conn.cursor()
				cur.execute(claim_sql)
				r = cur.fetchone()
				if r is None:
					conn.rollback()
					record("empty", role, w, "", 0, "")
					time.sleep(0.5)
					continue
				job = r[0]
				t_claim = time.time()
				if t_claim >= stop_new:
					# waited (in a pooler's queue) past the burst: the fleet is
					# scaled down, so the job is left for later, not started
					conn.rollback()
					record("not started", role, w, job, round(t_claim - t_start, 5), "")
					break
				# the model call: the row stays locked, the session idle in transaction
				time.sleep(rnd.uniform(args.job_min, args.job_max))
				cur.execute(done_sql, ("summary of job %d by %s" % (job, role), job))
				conn.commit()
				record("done", role, w, job, round(time.time() - t_start, 5),
					   round(time.time() - t_claim, 5))
				attempt = 0
			except psycopg2.Error as e:
				msg = str(e)
				record("aborted", role, w, job if job is not None else "",
					   round(time.time() - t_start, 5), abort_kind(msg) + ": " + one_line(msg))
				backoff(None)
			finally:
				try:
					conn.close()
				except psycopg2.Error:
					pass

	for r in range(1, args.ai_roles + 1):
		for w in range(args.ai_workers):
			threading.Thread(target=worker, args=("ai%d" % r, w), daemon=True).start()
	finish(args, t0, os.path.join(args.out, "fleet.csv"),
		   ("t", "event", "role", "worker", "job", "seconds", "detail"), rows, lock)


# ---------------------------------------------------------------- sampler

SAMPLE_SQL = """
SELECT CASE WHEN usename IS NULL THEN 'starting'
			WHEN usename = %(web)s THEN 'web'
			WHEN usename ~ '^ai[0-9]+$' THEN 'ai'
			ELSE 'other' END AS kind,
	   count(*),
	   count(*) FILTER (WHERE state = 'active'),
	   count(*) FILTER (WHERE state = 'idle'),
	   count(*) FILTER (WHERE state LIKE 'idle in transaction%%'),
	   count(*) FILTER (WHERE wait_event_type = 'Lock')
  FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
 GROUP BY 1
"""


def sampler_process(args, t0):
	rows = []
	lock = threading.Lock()
	end = t0 + args.before + args.during + args.after

	def loop():
		conn = None
		t = t0
		while t < end + 1:
			sleep_until(t)
			try:
				if conn is None:
					conn = psycopg2.connect(dsn(args, args.admin_role).replace(
						"port=%d" % args.port, "port=%d" % args.admin_port))
					conn.autocommit = True
				cur = conn.cursor()
				cur.execute(SAMPLE_SQL, {"web": args.web_role})
				now = round(time.time() - t0, 3)
				got = {r[0]: r for r in cur.fetchall()}
				with lock:
					for kind in ("web", "ai", "starting", "other"):
						r = got.get(kind, (kind, 0, 0, 0, 0, 0))
						rows.append((now, kind) + tuple(r[1:]))
			except psycopg2.Error as e:
				with lock:
					rows.append((round(time.time() - t0, 3), "error", 0, 0, 0, 0, 0))
				print("sampler: %s" % first_line(str(e)), file=sys.stderr)
				conn = None
			t += 1.0

	threading.Thread(target=loop, daemon=True).start()
	finish(args, t0, os.path.join(args.out, "activity.csv"),
		   ("t", "kind", "total", "active", "idle", "idle_in_tx", "lock_waiting"), rows, lock)


# ---------------------------------------------------------------- main

def main():
	p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	p.add_argument("--setup", required=True, help="label of the setup")
	p.add_argument("--out", required=True, help="directory for the CSV files")
	p.add_argument("--host", required=True, help="socket directory")
	p.add_argument("--port", type=int, required=True, help="port clients connect to")
	p.add_argument("--admin-port", type=int, required=True, help="the server's own port (sampler)")
	p.add_argument("--dbname", default="bench")
	p.add_argument("--admin-role", default="postgres")
	p.add_argument("--web-role", default="web")
	p.add_argument("--before", type=float, default=15)
	p.add_argument("--during", type=float, default=60)
	p.add_argument("--after", type=float, default=15)
	p.add_argument("--web-clients", type=int, default=8)
	p.add_argument("--web-rate", type=float, default=10, help="requests a second per web client")
	p.add_argument("--update-share", type=float, default=0.2)
	p.add_argument("--hot-jobs", type=int, default=300)
	p.add_argument("--items", type=int, default=10000)
	p.add_argument("--ai-roles", type=int, default=4)
	p.add_argument("--ai-workers", type=int, default=30, help="workers per role")
	p.add_argument("--job-min", type=float, default=1.0)
	p.add_argument("--job-max", type=float, default=2.0)
	p.add_argument("--ramp", type=float, default=1.0, help="seconds over which the fleet bursts in")
	p.add_argument("--backoff-base", type=float, default=0.1)
	p.add_argument("--backoff-cap", type=float, default=5.0)
	p.add_argument("--seed", type=int, default=1)
	p.add_argument("--server-version", default="", help="for the report")
	args = p.parse_args()

	os.makedirs(args.out, exist_ok=True)
	t0 = time.time() + 1.0			# every process starts on the same clock
	meta = dict(vars(args), t0=t0, grace=GRACE)
	with open(os.path.join(args.out, "meta.json"), "w") as f:
		json.dump(meta, f, indent=1)

	procs = [mp.Process(target=fn, args=(args, t0), name=fn.__name__)
			 for fn in (web_process, fleet_process, sampler_process)]
	for pr in procs:
		pr.start()
	deadline = t0 + args.before + args.during + args.after + GRACE + 10
	for pr in procs:
		pr.join(max(0.1, deadline - time.time()))
		if pr.is_alive():
			print("driver: %s did not finish, killing it" % pr.name, file=sys.stderr)
			pr.kill()
			pr.join(5)
	bad = [pr.name for pr in procs if pr.exitcode != 0]
	if bad:
		print("driver: failed: %s" % ", ".join(bad), file=sys.stderr)
		return 1
	return 0


if __name__ == "__main__":
	sys.exit(main())
