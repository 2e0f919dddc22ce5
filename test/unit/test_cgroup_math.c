/*-------------------------------------------------------------------------
 *
 * test_cgroup_math.c
 *	  Unit tests for the weight arithmetic, versions, paths and the cpu
 *	  line of /proc/<pid>/cgroup (src/cgroup_math.c).  No server needed.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/cgroup_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "cgroup_math.h"

#include <string.h>

#include "unit.h"

static void
test_weights(void)
{
	is_int(pgb_cpu_shares(100), 1024, "weight 100: shares 1024 (v1's default)");
	is_int(pgb_cpu_shares(1), 10, "weight 1: shares 10");
	is_int(pgb_cpu_shares(10000), 102400, "weight 10000: shares 102400");
	is_int(pgb_cpu_shares(50), 512, "weight 50: shares 512");
	is_int(pgb_cpu_shares(3), 30, "weight 3: shares 30 (rounded down)");
	is_int(pgb_cpu_shares(0), 2, "shares never below 2, the kernel's least");
	is_int(pgb_cpu_weight_v2(1), 1, "v2 weight 1");
	is_int(pgb_cpu_weight_v2(100), 100, "v2 weight 100 is cpu.weight's default");
	is_int(pgb_cpu_weight_v2(10000), 10000, "v2 weight 10000");
}

static void
test_versions(void)
{
	is_int(pgb_cgroup_version(true, false), PGB_CGROUP_V2, "cgroup.controllers: v2");
	is_int(pgb_cgroup_version(true, true), PGB_CGROUP_V2, "both: v2 first");
	is_int(pgb_cgroup_version(false, true), PGB_CGROUP_V1, "cpu.shares: v1");
	is_int(pgb_cgroup_version(false, false), PGB_CGROUP_NONE, "neither: none");
	is_str(pgb_cgroup_version_name(PGB_CGROUP_V1), "v1", "name v1");
	is_str(pgb_cgroup_version_name(PGB_CGROUP_V2), "v2", "name v2");
	ok(pgb_cgroup_word_listed("cpuset cpu io memory pids\n", "cpu"), "cpu listed");
	ok(!pgb_cgroup_word_listed("cpuset io memory\n", "cpu"), "cpuset is not cpu");
	ok(!pgb_cgroup_word_listed("", "cpu"), "empty list");
	ok(pgb_cgroup_word_listed("cpu", "cpu"), "cpu alone");
}

static void
test_writes(void)
{
	PgbClassTable t;
	char		err[256];
	PgbCgroupWrite w[PGB_CGROUP_MAX_WRITES];
	int			n;

	ok(pgb_parse_classes("web(cpu=100), ai(cpu=1), bulk(cpu=idle)", &t, err, sizeof(err)),
	   "table parses");
	n = pgb_cgroup_class_writes(PGB_CGROUP_V2, &t.classes[0], w);
	is_int(n, 2, "v2 weight: two writes");
	is_str(w[0].file, "cpu.idle", "v2 weight: cpu.idle first");
	is_str(w[0].value, "0", "v2 weight: cpu.idle = 0");
	ok(w[0].optional, "v2 weight: cpu.idle optional (kernels before 5.15)");
	is_str(w[1].file, "cpu.weight", "v2 weight: cpu.weight");
	is_str(w[1].value, "100", "v2 weight: 100");
	ok(!w[1].optional, "v2 weight: cpu.weight required");
	n = pgb_cgroup_class_writes(PGB_CGROUP_V1, &t.classes[1], w);
	is_int(n, 2, "v1 weight: two writes");
	is_str(w[1].file, "cpu.shares", "v1 weight: cpu.shares");
	is_str(w[1].value, "10", "v1 cpu=1: shares 10");
	n = pgb_cgroup_class_writes(PGB_CGROUP_V1, &t.classes[2], w);
	is_int(n, 1, "idle: one write");
	is_str(w[0].file, "cpu.idle", "idle: cpu.idle");
	is_str(w[0].value, "1", "idle: cpu.idle = 1");
	ok(!w[0].optional, "idle: cpu.idle required");
	is_int(pgb_cgroup_class_writes(PGB_CGROUP_NONE, &t.classes[0], w), 0, "none: nothing");

	ok(pgb_cgroup_stale("old", &t), "a class name not in the table is stale");
	ok(!pgb_cgroup_stale("web", &t), "a class of the table is not");
	ok(!pgb_cgroup_stale(PGB_CGROUP_SERVER_LEAF, &t), "the server's leaf is not");
	ok(!pgb_cgroup_stale("cgroup.procs", &t), "a control file name is not");
	ok(!pgb_cgroup_stale("Mine", &t), "a directory that is no class name is not");
	ok(!pgb_valid_class_name(PGB_CGROUP_SERVER_LEAF), "no class can be called like the leaf");

	/* warn mode: the class's directory at the default weight, never idle */
	ok(pgb_parse_classes("ai(cpu=1, enforce=warn), bulk(cpu=idle, enforce=warn)", &t, err, sizeof(err)),
	   "warn table parses");
	n = pgb_cgroup_class_writes(PGB_CGROUP_V1, &t.classes[0], w);
	is_int(n, 2, "warn, cpu=1: two writes");
	is_str(w[1].file, "cpu.shares", "warn, cpu=1: cpu.shares");
	is_str(w[1].value, "1024", "warn, cpu=1: the default shares, not 10");
	n = pgb_cgroup_class_writes(PGB_CGROUP_V2, &t.classes[1], w);
	is_int(n, 2, "warn, cpu=idle: two writes");
	is_str(w[0].value, "0", "warn, cpu=idle: cpu.idle = 0");
	is_str(w[1].value, "100", "warn, cpu=idle: cpu.weight 100");
	ok(pgb_parse_classes("ai(cpu=1, enforce=on)", &t, err, sizeof(err)), "enforce=on parses");
	n = pgb_cgroup_class_writes(PGB_CGROUP_V1, &t.classes[0], w);
	is_str(w[1].value, "10", "enforce=on, cpu=1: shares 10");
}

static void
test_paths(void)
{
	char		buf[64];
	char		small[8];

	ok(pgb_cgroup_join("/sys/fs/cgroup/cpu/pg", "web", buf, sizeof(buf)) &&
	   strcmp(buf, "/sys/fs/cgroup/cpu/pg/web") == 0, "join");
	ok(pgb_cgroup_join("/sys/fs/cgroup/cpu/pg//", "web", buf, sizeof(buf)) &&
	   strcmp(buf, "/sys/fs/cgroup/cpu/pg/web") == 0, "join: trailing slashes dropped");
	ok(pgb_cgroup_join("/", "web", buf, sizeof(buf)) && strcmp(buf, "/web") == 0,
	   "join: the root");
	ok(!pgb_cgroup_join("", "web", buf, sizeof(buf)), "join: empty dir refused");
	ok(!pgb_cgroup_join("/abcdef", "web", small, sizeof(small)), "join: too long refused");
}

static void
test_proc_cgroup(void)
{
	char		buf[128];
	char		small[6];
	const char *v1 =
		"12:pids:/system.slice/x.service\n"
		"5:cpuset:/\n"
		"4:cpu,cpuacct:/pgb_test/web\n"
		"1:name=systemd:/system.slice/x.service\n"
		"0::/system.slice/x.service\n";

	ok(pgb_cgroup_cpu_path(v1, buf, sizeof(buf)) && strcmp(buf, "/pgb_test/web") == 0,
	   "v1: the cpu,cpuacct line, not cpuset's or v2's");
	ok(pgb_cgroup_cpu_path("3:cpuacct,cpu:/a\n", buf, sizeof(buf)) && strcmp(buf, "/a") == 0,
	   "v1: cpu listed second");
	ok(pgb_cgroup_cpu_path("0::/system.slice/pg.service/web\n", buf, sizeof(buf)) &&
	   strcmp(buf, "/system.slice/pg.service/web") == 0, "v2: the 0:: line");
	ok(pgb_cgroup_cpu_path("0::/x", buf, sizeof(buf)) && strcmp(buf, "/x") == 0,
	   "v2: no final newline");
	ok(!pgb_cgroup_cpu_path("5:cpuset:/\n", buf, sizeof(buf)), "no cpu line: false");
	ok(!pgb_cgroup_cpu_path("", buf, sizeof(buf)), "empty: false");
	ok(!pgb_cgroup_cpu_path("garbage", buf, sizeof(buf)), "garbage: false");
	ok(pgb_cgroup_cpu_path("0::/abcdefgh", small, sizeof(small)) && strcmp(small, "/abcd") == 0,
	   "cut to fit");
}

static void
test_cgroup_members(void)
{
	char		buf[64];
	char		small[4];
	int			pids[4];

	ok(pgb_cgroup_parent_of("/pgb/budget/pg_budget.server", "pg_budget.server", buf, sizeof(buf)) &&
	   strcmp(buf, "/pgb/budget") == 0, "parent of the server's leaf");
	ok(pgb_cgroup_parent_of("/pg_budget.server", "pg_budget.server", buf, sizeof(buf)) &&
	   strcmp(buf, "/") == 0, "parent at the top: /");
	ok(!pgb_cgroup_parent_of("/pgb/budget/web", "pg_budget.server", buf, sizeof(buf)),
	   "another leaf: false");
	ok(!pgb_cgroup_parent_of("/pgb/x.pg_budget.server", "pg_budget.server", buf, sizeof(buf)),
	   "a leaf that only ends with it: false");
	ok(!pgb_cgroup_parent_of("/abcdef/pg_budget.server", "pg_budget.server", small, sizeof(small)),
	   "does not fit: false");
	ok(pgb_cgroup_parse_pids("12\n345\n6\n", pids, 4) == 3 &&
	   pids[0] == 12 && pids[1] == 345 && pids[2] == 6, "cgroup.procs: one pid a line");
	ok(pgb_cgroup_parse_pids("7\nx\n\n-3\n99999999999\n8", pids, 4) == 2 &&
	   pids[0] == 7 && pids[1] == 8, "cgroup.procs: lines that are no pid are skipped");
	ok(pgb_cgroup_parse_pids("1\n2\n3\n4\n5\n", pids, 4) == 4 && pids[3] == 4,
	   "cgroup.procs: at most max");
	ok(pgb_cgroup_parse_pids("", pids, 4) == 0, "cgroup.procs: empty");
}

static void
test_proc_cpu(void)
{
	uint64		ticks = 0;
	uint64		ns = 0;
	uint64		cpu = 0;
	uint64		dt;
	uint64		dd;
	PgbCpuTrack t = {0, 0, 0};

	ok(pgb_proc_stat_cpu_ticks("4025 (postgres) R 4022 4022 11644 0 -1 4194304 124 0 0 0 37 5 0 0 20 0 1 0 337461\n", &ticks) &&
	   ticks == 42, "stat: utime 37 + stime 5 = 42 ticks");
	ok(pgb_proc_stat_cpu_ticks("7 (a) b) c) S 1 1 1 0 -1 0 0 0 0 0 1000 2 0 0 20 0 1 0 5", &ticks) &&
	   ticks == 1002, "stat: a command name with \")\" and blanks");
	ok(!pgb_proc_stat_cpu_ticks("7 (short) S 1 1", &ticks), "stat: too few fields");
	ok(!pgb_proc_stat_cpu_ticks("no parenthesis", &ticks), "stat: malformed");
	ok(!pgb_proc_stat_cpu_ticks("7 (x) S 1 1 1 0 -1 0 0 0 0 0 x 2", &ticks), "stat: not a number");
	ok(pgb_proc_schedstat("184327467 7814933 374\n", &cpu, &ns) && ns == 7814933,
	   "schedstat: the second field is the run delay");
	ok(cpu == 184327467, "schedstat: the first field is the CPU time");
	ok(!pgb_proc_schedstat("184327467\n", &cpu, &ns), "schedstat: one field only");
	ok(!pgb_proc_schedstat("", &cpu, &ns), "schedstat: empty");

	pgb_cpu_track(&t, 100, 50, 7000, false, &dt, &dd);
	ok(dt == 50 && dd == 7000, "a new session counts all it has");
	pgb_cpu_track(&t, 100, 80, 9000, false, &dt, &dd);
	ok(dt == 30 && dd == 2000, "then what it added");
	pgb_cpu_track(&t, 100, 70, 8000, false, &dt, &dd);
	ok(dt == 0 && dd == 0, "a reading below the last counts nothing");
	pgb_cpu_track(&t, 100, 85, 9500, false, &dt, &dd);
	ok(dt == 5 && dd == 500, "and the next counts from the highest seen");
	pgb_cpu_track(&t, 200, 10, 100, false, &dt, &dd);
	ok(dt == 10 && dd == 100, "another pid in the same place is a new session");
	pgb_cpu_track(&t, 300, 1000, 5000, true, &dt, &dd);
	ok(dt == 0 && dd == 0, "priming: a session seen first counts from now");
	pgb_cpu_track(&t, 300, 1010, 5100, false, &dt, &dd);
	ok(dt == 10 && dd == 100, "priming: then what it adds");
}

static void
test_usage_text(void)
{
	uint64		ns = 0;

	ok(pgb_cgroup_usage_ns(PGB_CPU_SOURCE_CPUACCT, "123456789\n", &ns) && ns == 123456789,
	   "cpuacct.usage: ns");
	ok(!pgb_cgroup_usage_ns(PGB_CPU_SOURCE_CPUACCT, "", &ns), "cpuacct.usage empty: no");
	ok(!pgb_cgroup_usage_ns(PGB_CPU_SOURCE_CPUACCT, "x1", &ns), "cpuacct.usage garbage: no");
	ok(pgb_cgroup_usage_ns(PGB_CPU_SOURCE_CPU_STAT, "usage_usec 42\nuser_usec 40\n", &ns) && ns == 42000,
	   "cpu.stat: usage_usec in ns");
	ok(pgb_cgroup_usage_ns(PGB_CPU_SOURCE_CPU_STAT, "nr_periods 0\nusage_usec 7\n", &ns) && ns == 7000,
	   "cpu.stat: usage_usec on a later line");
	ok(!pgb_cgroup_usage_ns(PGB_CPU_SOURCE_CPU_STAT, "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n", &ns),
	   "v1's cpu.stat (no usage_usec): no");
	ok(!pgb_cgroup_usage_ns(PGB_CPU_SOURCE_CPU_STAT, "xusage_usec 7\n", &ns), "a longer key is not it");
	ok(!pgb_cgroup_usage_ns(PGB_CPU_SOURCE_PROC, "1", &ns), "the /proc source parses no file");
	ok(!pgb_cgroup_usage_ns(PGB_CPU_SOURCE_CPU_STAT, NULL, &ns), "NULL: no");
	is_str(pgb_cpu_source_file(PGB_CPU_SOURCE_CPUACCT), "cpuacct.usage", "v1's file");
	is_str(pgb_cpu_source_file(PGB_CPU_SOURCE_CPU_STAT), "cpu.stat", "v2's file");
	ok(pgb_cpu_source_file(PGB_CPU_SOURCE_PROC) == NULL, "no file for /proc");
}

int
main(void)
{
	test_usage_text();
	test_cgroup_members();
	test_proc_cpu();
	test_weights();
	test_versions();
	test_writes();
	test_paths();
	test_proc_cgroup();
	return done_testing();
}
