#!/usr/bin/python3
"""What the machine costs, measured before a setup's run (see bench/badday.sh).

A process start: fork and exec of /bin/true; a login: psycopg2 connect +
disconnect to the server as ROLE (a new backend: fork, authentication,
catalog caches).  On a slow machine both are tens of ms, and every web
request and every job of the bad day pays a login.  Writes OUT (JSON):
cores, load average, and the p50 and p90 of each, in ms.
"""
import argparse
import json
import os
import subprocess
import time

import psycopg2


def pct(values, p):
	v = sorted(values)
	return v[max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))]


def main():
	p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	p.add_argument("--host", required=True)
	p.add_argument("--port", type=int, required=True)
	p.add_argument("--dbname", default="bench")
	p.add_argument("--role", default="web")
	p.add_argument("--n", type=int, default=30)
	p.add_argument("--out", required=True)
	args = p.parse_args()

	starts = []
	for _ in range(args.n):
		t = time.time()
		subprocess.run(["/bin/true"], check=True)
		starts.append((time.time() - t) * 1000)
	logins = []
	dsn = "host=%s port=%d dbname=%s user=%s application_name=badday-probe" % (
		args.host, args.port, args.dbname, args.role)
	for _ in range(args.n):
		t = time.time()
		psycopg2.connect(dsn).close()
		logins.append((time.time() - t) * 1000)
	res = {
		"cores": os.cpu_count() or 0,
		"loadavg": open("/proc/loadavg").read().split()[:3],
		"n": args.n,
		"process_start_ms": [round(pct(starts, 50), 1), round(pct(starts, 90), 1)],
		"login_ms": [round(pct(logins, 50), 1), round(pct(logins, 90), 1)],
	}
	with open(args.out, "w") as f:
		json.dump(res, f)
	print("machine: %d cores, a process start %.1f ms p50 (%.1f p90), a login %.1f ms p50 (%.1f p90)" % (
		res["cores"], res["process_start_ms"][0], res["process_start_ms"][1],
		res["login_ms"][0], res["login_ms"][1]))
	return 0


if __name__ == "__main__":
	raise SystemExit(main())
