#!/usr/bin/python3
"""Report of the bad-day benchmark: raw CSVs -> badday.md and PNG plots.

Usage: report.py OUT [--note TEXT] [--pg-budget-conf TEXT]

OUT holds `setups` (lines "n|name|label") and one directory per setup
name with the driver's meta.json, web.csv, fleet.csv, activity.csv (and,
for pg_budget setups, history.csv and pg_budget.txt, diagnostics only).
Writes OUT/badday.md, OUT/badday-web-latency.png, OUT/badday-connections.png.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import sys
from collections import Counter, defaultdict

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt		# noqa: E402

COLORS = {"stock": "tab:red", "connlimit": "tab:orange", "pgbouncer": "tab:purple",
		  "pg_budget": "tab:green", "pgbouncer+pg_budget": "tab:blue"}
BASELINES = ("stock", "connlimit", "pgbouncer")
BUDGETED = ("pg_budget", "pgbouncer+pg_budget")


def pct(values, p):
	"""Nearest-rank percentile; None for no values."""
	if not values:
		return None
	v = sorted(values)
	k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
	return v[k]


def ms(x):
	return "–" if x is None else ("%.0f" % (x * 1000) if x >= 0.01 else "%.1f" % (x * 1000))


def read_csv(path):
	if not os.path.exists(path):
		return []
	with open(path, newline="") as f:
		return list(csv.DictReader(f))


class Setup:
	def __init__(self, out, n, name, label):
		self.n, self.name, self.label = int(n), name, label
		d = os.path.join(out, name)
		self.dir = d
		with open(os.path.join(d, "meta.json")) as f:
			self.meta = json.load(f)
		m = self.meta
		self.b, self.d, self.a = m["before"], m["during"], m["after"]
		self.end = self.b + self.d + self.a
		self.web = [r for r in read_csv(os.path.join(d, "web.csv")) if float(r["t"]) < self.end]
		for r in self.web:
			r["t"], r["latency"] = float(r["t"]), float(r["latency"])
		self.fleet = read_csv(os.path.join(d, "fleet.csv"))
		for r in self.fleet:
			r["t"] = float(r["t"])
		self.activity = read_csv(os.path.join(d, "activity.csv"))
		self.history = []
		hp = os.path.join(d, "history.csv")
		if os.path.exists(hp):
			with open(hp) as f:
				for line in f:
					p = line.strip().split(",")
					if len(p) == 9:
						self.history.append(dict(t=float(p[0]) - m["t0"], cls=p[1],
												 connected=float(p[2]), limit=p[8]))

	def phase(self, t):
		return "before" if t < self.b else ("during" if t < self.b + self.d else "after")

	def stats(self):
		s = {}
		ok = defaultdict(list)
		for r in self.web:
			if r["status"] == "ok":
				ok[self.phase(r["t"])].append(r["latency"])
		for ph in ("before", "during", "after"):
			s[ph] = (pct(ok[ph], 50), pct(ok[ph], 99), len(ok[ph]))
		s["web_total"] = len(self.web)
		s["web_refused"] = sum(1 for r in self.web if r["status"] == "refused")
		s["web_errors"] = sum(1 for r in self.web if r["status"] == "error")
		s["refused_kinds"] = Counter(r["error"].split(":")[0] for r in self.web if r["status"] == "refused")
		s["error_kinds"] = Counter(r["error"][:80] for r in self.web if r["status"] == "error")
		dur_upd = [r["latency"] for r in self.web if r["status"] == "ok" and r["op"] == "update"
				   and self.phase(r["t"]) == "during"]
		s["upd_during"] = len(dur_upd)
		s["upd_slow"] = sum(1 for x in dur_upd if x > 0.1)
		s["upd_p99"] = pct(dur_upd, 99)
		done = [r for r in self.fleet if r["event"] == "done" and r["t"] <= self.end]
		s["jobs"] = len(done)
		s["aborted"] = sum(1 for r in self.fleet if r["event"] == "aborted" and r["t"] <= self.end)
		s["abort_kinds"] = Counter(r["detail"].split(":")[0] for r in self.fleet
								   if r["event"] == "aborted" and r["t"] <= self.end)
		s["worker_refused"] = sum(1 for r in self.fleet if r["event"] == "refused" and r["t"] <= self.end)
		s["worker_refused_kinds"] = Counter(r["detail"].split(":")[0] for r in self.fleet
											if r["event"] == "refused" and r["t"] <= self.end)
		s["empty"] = sum(1 for r in self.fleet if r["event"] == "empty")
		per_t = defaultdict(dict)
		for r in self.activity:
			if r["kind"] != "error":
				per_t[r["t"]][r["kind"]] = int(r["total"])
		s["peak_total"] = max((sum(v.values()) for v in per_t.values()), default=0)
		s["peak_ai"] = max((v.get("ai", 0) for v in per_t.values()), default=0)
		s["samples"] = len(per_t)
		return s


def table(setups, stats):
	lines = [
		"| setup | web requests | web refused | web errors | web p50 / p99 before (ms) | "
		"web p50 / p99 during (ms) | web p50 / p99 after (ms) | jobs completed | jobs aborted | "
		"worker refusals |",
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
	for su in setups:
		s = stats[su.name]
		lines.append("| %s | %d | %d | %d | %s / %s | %s / %s | %s / %s | %d | %d | %d |" % (
			su.label, s["web_total"], s["web_refused"], s["web_errors"],
			ms(s["before"][0]), ms(s["before"][1]), ms(s["during"][0]), ms(s["during"][1]),
			ms(s["after"][0]), ms(s["after"][1]), s["jobs"], s["aborted"], s["worker_refused"]))
	return lines


def goals(setups, stats):
	base = [su for su in setups if su.name in BASELINES and stats[su.name]["during"][1] is not None]
	out = ["## Goals", ""]
	if not base:
		return out + ["No baseline setup (1-3) in this run: goals not judged.", ""]
	best = min(base, key=lambda su: stats[su.name]["during"][1])
	bp99, bjobs = stats[best.name]["during"][1], stats[best.name]["jobs"]
	out.append("Best of setups 1-3 by web p99 during the burst: **%s**, p99 %s ms, %d jobs completed. "
			   "Goal for pg_budget: web refused 0, web p99 during <= %s ms (half), jobs >= %d (90%%)." % (
				   best.label, ms(bp99), bjobs, ms(bp99 / 2), int(-(-0.9 * bjobs // 1))))
	out.append("")
	out.append("| setup | web refused = 0 | p99 during / best | jobs / best's jobs | all three |")
	out.append("|---|---|---|---|---|")
	for su in setups:
		if su.name not in BUDGETED:
			continue
		s = stats[su.name]
		p99 = s["during"][1]
		r1 = s["web_refused"] == 0
		ratio = (p99 / bp99) if (p99 is not None and bp99) else None
		r2 = ratio is not None and ratio <= 0.5
		jr = s["jobs"] / bjobs if bjobs else None
		r3 = jr is not None and jr >= 0.9
		out.append("| %s | %s (%d) | %s %s | %s %s | %s |" % (
			su.label, "met" if r1 else "MISSED", s["web_refused"],
			"–" if ratio is None else "%.2f" % ratio, "met" if r2 else "MISSED",
			"–" if jr is None else "%.2f" % jr, "met" if r3 else "MISSED",
			"**met**" if (r1 and r2 and r3) else "**missed**"))
	out.append("")
	return out


def details(setups, stats):
	out = ["## Details", "",
		   "| setup | web updates during | of them > 100 ms (lock waits) | update p99 during (ms) | "
		   "peak client backends | peak ai backends | web refused by | worker refused by | jobs aborted by |",
		   "|---|---:|---:|---:|---:|---:|---|---|---|"]

	def kinds(c):
		return ", ".join("%s %d" % (k, v) for k, v in c.most_common()) or "–"
	for su in setups:
		s = stats[su.name]
		out.append("| %s | %d | %d | %s | %d | %d | %s | %s | %s |" % (
			su.label, s["upd_during"], s["upd_slow"], ms(s["upd_p99"]), s["peak_total"], s["peak_ai"],
			kinds(s["refused_kinds"]), kinds(s["worker_refused_kinds"]), kinds(s["abort_kinds"])))
	out.append("")
	for su in setups:
		s = stats[su.name]
		if s["error_kinds"]:
			out.append("Web errors after login in %s: %s" % (su.label, kinds(s["error_kinds"])))
			out.append("")
		if s["empty"]:
			out.append("%s: workers found no pending job %d times (the queue ran dry)." % (su.label, s["empty"]))
			out.append("")
	for su in setups:
		p = os.path.join(su.dir, "pg_budget.txt")
		if os.path.exists(p):
			with open(p) as f:
				txt = f.read().strip()
			out += ["### What pg_budget saw and did in %s" % su.label, "",
					"(pg_budget_status, pg_budget_lock_stats, pg_budget_events by action, "
					"the limit changes, the top wait events; diagnostics only, the tables above "
					"do not use pg_budget's views)", "", "```", txt, "```", ""]
	return out


def bucketed(su, width):
	"""Per bucket of `width` seconds: (t mid, p50, p99, refused)."""
	ok = defaultdict(list)
	refused = Counter()
	for r in su.web:
		k = int(r["t"] // width)
		if r["status"] == "ok":
			ok[k].append(r["latency"])
		elif r["status"] == "refused":
			refused[k] += 1
	ks = range(0, int(su.end // width) + 1)
	return ([(k + 0.5) * width for k in ks], [pct(ok[k], 50) for k in ks],
			[pct(ok[k], 99) for k in ks], [refused[k] / width for k in ks])


def shade(ax, su):
	ax.axvspan(su.b, su.b + su.d, color="0.92", zorder=0)


def plot_latency(setups, path):
	width = 2.0
	fig, axes = plt.subplots(3, 1, figsize=(11, 10), sharex=True,
							 gridspec_kw=dict(height_ratios=[3, 3, 2]))
	for su in setups:
		t, p50, p99, ref = bucketed(su, width)
		c = COLORS.get(su.name)
		axes[0].plot(t, [None if x is None else x * 1000 for x in p99], color=c, label=su.label, lw=1.5)
		axes[1].plot(t, [None if x is None else x * 1000 for x in p50], color=c, label=su.label, lw=1.5)
		axes[2].plot(t, ref, color=c, label=su.label, lw=1.5)
	shade(axes[0], setups[0])
	shade(axes[1], setups[0])
	shade(axes[2], setups[0])
	axes[0].set_yscale("log")
	axes[1].set_yscale("log")
	axes[0].set_ylabel("p99 latency (ms)")
	axes[1].set_ylabel("p50 latency (ms)")
	axes[2].set_ylabel("refused / s")
	axes[2].set_xlabel("seconds (grey: the AI fleet's burst)")
	axes[0].set_title("Web requests (connect + query + disconnect), %g s buckets" % width)
	for ax in axes:
		ax.grid(True, which="both", alpha=0.3)
	axes[0].legend(fontsize=8, loc="upper left")
	fig.tight_layout()
	fig.savefig(path, dpi=90)
	plt.close(fig)


def plot_connections(setups, path):
	fig, axes = plt.subplots(len(setups), 1, figsize=(11, 2.4 * len(setups) + 0.6), sharex=True,
							 squeeze=False)
	for ax, su in zip(axes[:, 0], setups):
		per_t = defaultdict(dict)
		for r in su.activity:
			if r["kind"] != "error":
				per_t[float(r["t"])][r["kind"]] = r
		ts = sorted(per_t)

		def series(kind, col="total"):
			return [int(per_t[t][kind][col]) if kind in per_t[t] else 0 for t in ts]
		total = [sum(int(v["total"]) for v in per_t[t].values()) for t in ts]
		shade(ax, su)
		ax.plot(ts, total, color="black", lw=1.2, label="all client backends")
		ax.plot(ts, series("ai"), color="tab:red", lw=1.2, label="ai roles")
		ax.plot(ts, series("ai", "idle_in_tx"), color="tab:red", lw=0.8, ls=":",
				label="ai idle in transaction")
		ax.plot(ts, series("web"), color="tab:green", lw=1.2, label="web")
		ax.plot(ts, series("web", "lock_waiting"), color="tab:green", lw=0.8, ls=":",
				label="web waiting on a lock")
		ax.plot(ts, series("starting"), color="0.5", lw=0.8, label="logging in")
		lim = [(h["t"], float(h["limit"])) for h in su.history if h["cls"] == "ai" and h["limit"]]
		if lim:
			ax.step([x for x, _ in lim], [y for _, y in lim], where="post", color="tab:red",
					lw=0.8, ls="--", label="ai admission limit (pg_budget)")
		ax.axhline(97, color="0.4", lw=0.6, ls="--")
		ax.set_ylim(0, 102)
		ax.set_ylabel("backends")
		ax.set_title(su.label, fontsize=9, loc="left")
		ax.grid(True, alpha=0.3)
	axes[0, 0].legend(fontsize=7, loc="upper right", ncol=2)
	axes[-1, 0].set_xlabel("seconds (grey: the AI fleet's burst; dashed: 97 usable connections); "
						   "sampled from pg_stat_activity once a second")
	fig.tight_layout()
	fig.savefig(path, dpi=80)
	plt.close(fig)


def loadavg(out):
	p = os.path.join(out, "loadavg")
	if not os.path.exists(p):
		return "not recorded"
	with open(p) as f:
		parts = [line.split() for line in f if line.strip()]
	return "; ".join("%s %s" % (x[0], "/".join(x[1:])) for x in parts)


def machine(setups):
	"""The machine line: cores, and what a process start and a login cost
	before each setup's run (machine.json, written by machine.py)."""
	got = []
	for su in setups:
		p = os.path.join(su.dir, "machine.json")
		if os.path.exists(p):
			with open(p) as f:
				got.append((su, json.load(f)))
	if not got:
		return "Machine: %d cores; the cost of a login not measured." % (os.cpu_count() or 0)
	first = got[0][1]
	starts = sorted(m["process_start_ms"][0] for _, m in got)
	return ("Machine: %d cores; measured before each setup's run (%d of each): a process start "
			"(fork + exec of /bin/true) %.1f-%.1f ms p50; a login (psycopg2 connect + disconnect, "
			"straight to the server) p50 / p90 %s ms." % (
				first["cores"], first["n"], starts[0], starts[-1],
				", ".join("%s %.0f / %.0f" % (su.name, m["login_ms"][0], m["login_ms"][1])
						  for su, m in got)))


def main():
	p = argparse.ArgumentParser()
	p.add_argument("out")
	p.add_argument("--note", default="")
	p.add_argument("--pg-budget-conf", default="")
	p.add_argument("--analysis", help="a markdown file appended as the analysis")
	args = p.parse_args()
	setups = []
	with open(os.path.join(args.out, "setups")) as f:
		for line in f:
			if line.strip():
				n, name, label = line.rstrip("\n").split("|", 2)
				setups.append(Setup(args.out, n, name, label))
	if not setups:
		print("report: no setups", file=sys.stderr)
		return 1
	stats = {su.name: su.stats() for su in setups}
	m = setups[0].meta
	md = ["# Bad day: web traffic and a bursting AI-worker fleet", ""]
	if args.note:
		md += [args.note, ""]
	md += [
		"Run of %s UTC on %s (%d CPUs, %s); one run per setup, setups run one after "
		"the other on the same machine, each on a fresh cluster (max_connections = 100, "
		"superuser_reserved_connections = 3; PostgreSQL %s). Load average after each setup: %s." % (
			datetime.datetime.utcfromtimestamp(m["t0"]).strftime("%Y-%m-%d %H:%M"),
			platform.node() or "?", os.cpu_count() or 0, platform.platform(terse=True),
			m.get("server_version", "15"), loadavg(args.out)),
		"",
		"Workload: %d web clients, each %g requests/s, a new connection per request "
		"(%d%% a read by key, %d%% an UPDATE of one of the next %d jobs in the queue, "
		"where the jobs in progress are); an AI fleet of %d roles x %d workers bursting in over "
		"%g s, each job a new connection that claims a job with FOR UPDATE SKIP LOCKED, holds it "
		"idle in transaction for %g-%g s (the model call), marks it done and commits; refused "
		"workers wait the HINT's retry-after, else back off exponentially with full jitter "
		"(base %g s, cap %g s). Phases: before %g s (web only), during %g s (burst), after %g s "
		"(no new jobs, jobs in progress finish)." % (
			m["web_clients"], m["web_rate"], round((1 - m["update_share"]) * 100),
			round(m["update_share"] * 100), m["hot_jobs"], m["ai_roles"], m["ai_workers"], m["ramp"],
			m["job_min"], m["job_max"], m["backoff_base"], m["backoff_cap"],
			m["before"], m["during"], m["after"]),
		"",
		"Latency = connect + query + disconnect of requests that succeeded (ms, nearest rank); "
		"refused = the connection failed; errors = the login succeeded but the statement failed; "
		"jobs completed = committed inside the %g s window; jobs aborted = a job in progress "
		"that failed (e.g. its session was terminated); worker refusals = worker logins refused." % setups[0].end,
		""]
	if args.pg_budget_conf and any(su.name in BUDGETED for su in setups):
		md += ["pg_budget (setups 4, 5): %s." % args.pg_budget_conf, ""]
	md += [machine(setups), ""]
	md += ["## Results", ""] + table(setups, stats) + [""]
	md += goals(setups, stats)
	md += ["![web latency](badday-web-latency.png)", "", "![connections](badday-connections.png)", ""]
	md += details(setups, stats)
	if args.analysis:
		with open(args.analysis) as f:
			md += ["## Analysis", "", f.read().strip(), ""]
	with open(os.path.join(args.out, "badday.md"), "w") as f:
		f.write("\n".join(md) + "\n")
	plot_latency(setups, os.path.join(args.out, "badday-web-latency.png"))
	plot_connections(setups, os.path.join(args.out, "badday-connections.png"))
	print(machine(setups))
	print("\n".join(table(setups, stats)))
	return 0


if __name__ == "__main__":
	sys.exit(main())
