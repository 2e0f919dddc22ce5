/*-------------------------------------------------------------------------
 *
 * test_mem_files.c
 *	  Unit tests of the memory files' readers: statm, meminfo, memory.stat,
 *	  limits of v1 and v2, the memory line of /proc/<pid>/cgroup.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/mem_files.c src/cgroup_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "mem_files.h"

#include "unit.h"

int
main(void)
{
	uint64		v = 0;
	char		buf[256];
	bool		v2 = false;

	/* statm: size resident shared ... in pages */
	ok(pgb_statm_private_bytes("52000 30000 1000 200 0 40000 0\n", 4096, &v),
	   "statm parses");
	is_int((long) (v / 4096), 29000, "private = resident - shared");
	ok(pgb_statm_private_bytes("10 5 9 1 0 4 0", 4096, &v) && v == 0,
	   "shared above resident: 0, never negative");
	ok(!pgb_statm_private_bytes("", 4096, &v), "empty statm refused");
	ok(!pgb_statm_private_bytes("12 x", 4096, &v), "garbage refused");
	ok(!pgb_statm_private_bytes("1 2 3", 0, &v), "a page size of 0 refused");

	/* meminfo and memory.stat */
	ok(pgb_mem_keyed_value("MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n",
						   "MemAvailable", &v) && v == 20000000,
	   "meminfo's MemAvailable");
	ok(pgb_mem_keyed_value("MemTotal:       24576000 kB\n", "MemTotal", &v) && v == 24576000,
	   "meminfo's MemTotal");
	ok(!pgb_mem_keyed_value("MemTotalX: 1 kB\n", "MemTotal", &v),
	   "a key is matched whole");
	ok(pgb_mem_keyed_value("cache 10\nrss 20\ninactive_file 4096\ntotal_inactive_file 8192\n",
						   "total_inactive_file", &v) && v == 8192,
	   "v1 memory.stat's total_inactive_file");
	ok(pgb_mem_keyed_value("anon 1\nfile 2\ninactive_file 4096\n", "inactive_file", &v) && v == 4096,
	   "v2 memory.stat's inactive_file");
	ok(pgb_mem_keyed_value("hierarchical_memory_limit 734003200\n", "hierarchical_memory_limit", &v) &&
	   v == UINT64CONST(734003200), "v1's hierarchical limit");
	ok(!pgb_mem_keyed_value("rss 20\n", "cache", &v), "a missing key");

	/* limits */
	ok(pgb_mem_limit_value("734003200\n", &v) && v == UINT64CONST(734003200), "a limit in bytes");
	ok(pgb_mem_limit_value("max\n", &v) && v == PGB_MEM_UNLIMITED, "v2's max: none");
	ok(pgb_mem_limit_value("9223372036854771712\n", &v) && v == PGB_MEM_UNLIMITED,
	   "v1's page-rounded LONG_MAX: none");
	ok(!pgb_mem_limit_value("12abc\n", &v), "garbage refused");
	ok(!pgb_mem_limit_value("", &v), "empty refused");

	/* /proc/<pid>/cgroup */
	ok(pgb_cgroup_memory_path("12:cpu,cpuacct:/a\n11:memory:/pg/srv\n0::/user.slice\n",
							  buf, sizeof(buf), &v2) && !v2,
	   "v1's memory line is preferred");
	is_str(buf, "/pg/srv", "... its path");
	ok(pgb_cgroup_memory_path("0::/system.slice/postgresql@15-main.service\n",
							  buf, sizeof(buf), &v2) && v2,
	   "v2's line");
	is_str(buf, "/system.slice/postgresql@15-main.service", "... its path");
	ok(pgb_cgroup_memory_path("5:blkio,memory:/x", buf, sizeof(buf), &v2) && !v2 &&
	   strcmp(buf, "/x") == 0, "memory among several controllers, no newline at the end");
	ok(!pgb_cgroup_memory_path("4:cpu:/a\n3:memoryx:/b\n", buf, sizeof(buf), &v2),
	   "no memory line, no v2 line: none");
	ok(!pgb_cgroup_memory_path("0::/a/very/long/path", buf, 5, &v2),
	   "a path longer than the buffer is refused");

	/* the working set */
	ok(pgb_mem_working_set(1000, 300) == 700, "usage less inactive file");
	ok(pgb_mem_working_set(100, 300) == 0, "never below 0");

	return done_testing();
}
