/*-------------------------------------------------------------------------
 *
 * test_cgroup_fs.c
 *	  The file protocol of CPU weights (src/cgroup_fs.c) against a plain
 *	  directory tree laid out like cgroupfs, v2 and v1: which files are
 *	  written with what content.  mkdir and rmdir are replaced by ones that
 *	  do what the kernel does (a new cgroup comes with its control files;
 *	  one with processes can not be removed).  No server, no cgroupfs.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/cgroup_fs.c src/cgroup_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "cgroup_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static PgbCgroupVersion fake_version;
static char root[256];
static char reported[1024];

static const char *const v2_files[] = {
	"cgroup.procs", "cgroup.controllers", "cgroup.subtree_control",
	"cpu.weight", "cpu.idle", NULL
};
static const char *const v1_files[] = {
	"cgroup.procs", "tasks", "cpu.shares", "cpu.idle", "notify_on_release", NULL
};

static void
put(const char *dir, const char *file, const char *content)
{
	char		path[PGB_CGROUP_PATH_LEN];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (f == NULL)
	{
		perror(path);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
}

/* Content of dir/file, or "(missing)". */
static const char *
got(const char *dir, const char *file)
{
	static char buf[4][512];
	static int	n = 0;
	char		path[PGB_CGROUP_PATH_LEN];
	char	   *b = buf[n++ % 4];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!pgb_cgroup_read(path, b, 512))
		return "(missing)";
	return b;
}

static const char *const *
files_of(PgbCgroupVersion v)
{
	return v == PGB_CGROUP_V2 ? v2_files : v1_files;
}

/* mkdir as cgroupfs does it: the new cgroup has its control files. */
static int
fake_mkdir(const char *path, mode_t mode)
{
	const char *const *f;

	if (mkdir(path, mode) != 0)
		return -1;
	for (f = files_of(fake_version); *f; f++)
		put(path, *f, strcmp(*f, "cgroup.controllers") == 0 ? "cpu io memory\n" : "");
	return 0;
}

/* rmdir as cgroupfs does it: EBUSY while it has processes. */
static int
fake_rmdir(const char *path)
{
	const char *const *f;
	char		p[PGB_CGROUP_PATH_LEN];

	if (strcmp(got(path, "cgroup.procs"), "") != 0)
	{
		errno = EBUSY;
		return -1;
	}
	for (f = files_of(fake_version); *f; f++)
	{
		snprintf(p, sizeof(p), "%s/%s", path, *f);
		unlink(p);
	}
	return rmdir(path);
}

static void
report(void *arg, const char *msg)
{
	(void) arg;
	strncat(reported, msg, sizeof(reported) - strlen(reported) - 2);
	strcat(reported, "\n");
}

/* A fresh base cgroup under root, with the files of version v. */
static void
make_base(const char *name, PgbCgroupVersion v, char *base)
{
	fake_version = v;
	snprintf(base, PGB_CGROUP_PATH_LEN, "%s/%s", root, name);
	if (fake_mkdir(base, 0755) != 0)
	{
		perror(base);
		exit(2);
	}
}

static void
test_v2(void)
{
	char		base[PGB_CGROUP_PATH_LEN];
	char		dir[PGB_CGROUP_PATH_LEN];
	char		err[512];
	char		expect[64];
	PgbClassTable t;
	int			self = (int) getpid();
	int			i;

	make_base("v2", PGB_CGROUP_V2, base);
	snprintf(expect, sizeof(expect), "%d\n77777\n", self);
	put(base, "cgroup.procs", expect);

	is_int(pgb_cgroup_detect(base, err, sizeof(err)), PGB_CGROUP_V2, "v2: detected by cgroup.controllers");
	ok(pgb_cgroup_setup_server(base, PGB_CGROUP_V2, self, err, sizeof(err)), "v2: server leaf set up");
	snprintf(dir, sizeof(dir), "%s/" PGB_CGROUP_SERVER_LEAF, base);
	is_str(got(dir, "cgroup.procs"), expect,
		   "v2: the postmaster, then every other process of the base, moved into the leaf");
	is_str(got(base, "cgroup.subtree_control"), "+cpu", "v2: +cpu in the base's subtree_control");

	ok(pgb_parse_classes("web(cpu=200), ai(cpu=1), bulk(cpu=idle), d()", &t, err, sizeof(err)),
	   "v2: table parses");
	for (i = 0; i < t.nclasses; i++)
		ok(pgb_cgroup_setup_class(base, PGB_CGROUP_V2, &t.classes[i], err, sizeof(err)),
		   t.classes[i].name);
	snprintf(dir, sizeof(dir), "%s/web", base);
	is_str(got(dir, "cpu.weight"), "200", "v2: web/cpu.weight = 200");
	is_str(got(dir, "cpu.idle"), "0", "v2: web/cpu.idle = 0");
	snprintf(dir, sizeof(dir), "%s/ai", base);
	is_str(got(dir, "cpu.weight"), "1", "v2: ai/cpu.weight = 1");
	snprintf(dir, sizeof(dir), "%s/bulk", base);
	is_str(got(dir, "cpu.idle"), "1", "v2: bulk/cpu.idle = 1");
	is_str(got(dir, "cpu.weight"), "", "v2: an idle class's weight is not written");
	snprintf(dir, sizeof(dir), "%s/d", base);
	is_str(got(dir, "cpu.weight"), "100", "v2: no cpu key: weight 100");

	/* reload: reweighted, idle no more, a directory reused */
	ok(pgb_parse_classes("web(cpu=5), bulk(cpu=30)", &t, err, sizeof(err)), "v2: new table parses");
	ok(pgb_cgroup_setup_class(base, PGB_CGROUP_V2, &t.classes[0], err, sizeof(err)) &&
	   pgb_cgroup_setup_class(base, PGB_CGROUP_V2, &t.classes[1], err, sizeof(err)),
	   "v2: existing directories reused");
	snprintf(dir, sizeof(dir), "%s/web", base);
	is_str(got(dir, "cpu.weight"), "5", "v2: reweighted 200 -> 5 (the file is rewritten whole)");
	snprintf(dir, sizeof(dir), "%s/bulk", base);
	is_str(got(dir, "cpu.idle"), "0", "v2: idle -> weight: cpu.idle = 0");
	is_str(got(dir, "cpu.weight"), "30", "v2: idle -> weight: cpu.weight = 30");

	/* removed classes: ai is empty, d has a session */
	snprintf(dir, sizeof(dir), "%s/d", base);
	ok(pgb_cgroup_move(dir, 4242, err, sizeof(err)), "v2: a process moved into d");
	is_str(got(dir, "cgroup.procs"), "4242\n", "v2: its pid written to d/cgroup.procs");
	snprintf(dir, sizeof(dir), "%s/Mine", base);
	mkdir(dir, 0755);
	reported[0] = '\0';
	is_int(pgb_cgroup_remove_stale(base, &t, report, NULL), 1, "v2: one removed class's directory removed");
	snprintf(dir, sizeof(dir), "%s/ai", base);
	ok(access(dir, F_OK) != 0, "v2: ai (empty) removed");
	snprintf(dir, sizeof(dir), "%s/d", base);
	ok(access(dir, F_OK) == 0, "v2: d (has a session) left");
	like(reported, "/d\" of a removed class is left in place: its sessions are still in it",
		 "v2: and it is said so, naming the path");
	snprintf(dir, sizeof(dir), "%s/Mine", base);
	ok(access(dir, F_OK) == 0, "v2: a directory that is no class name is not touched");
	snprintf(dir, sizeof(dir), "%s/" PGB_CGROUP_SERVER_LEAF, base);
	ok(access(dir, F_OK) == 0, "v2: the server's leaf is not touched");

	/* v2 without the cpu controller */
	make_base("v2nocpu", PGB_CGROUP_V2, base);
	put(base, "cgroup.controllers", "io memory pids\n");
	is_int(pgb_cgroup_detect(base, err, sizeof(err)), PGB_CGROUP_NONE, "v2 without cpu: refused");
	like(err, "the cpu controller is not available in \"", "v2 without cpu: says so");
	like(err, "v2nocpu\" (its cgroup.controllers lists \"io memory pids\")", "v2 without cpu: names path and list");

	/* +cpu refused by the kernel (processes left in the base): the write fails */
	make_base("v2busy", PGB_CGROUP_V2, base);
	snprintf(dir, sizeof(dir), "%s/cgroup.subtree_control", base);
	unlink(dir);
	ok(!pgb_cgroup_setup_server(base, PGB_CGROUP_V2, self, err, sizeof(err)),
	   "v2: a subtree_control that can not be written fails the setup");
	like(err, "cgroup.subtree_control\": No such file", "v2: naming the file and the reason");
}

static void
test_v1(void)
{
	char		base[PGB_CGROUP_PATH_LEN];
	char		dir[PGB_CGROUP_PATH_LEN];
	char		err[512];
	char		expect[32];
	PgbClassTable t;
	int			self = (int) getpid();

	make_base("v1", PGB_CGROUP_V1, base);
	put(base, "cpu.shares", "1024\n");
	is_int(pgb_cgroup_detect(base, err, sizeof(err)), PGB_CGROUP_V1, "v1: detected by cpu.shares");
	ok(pgb_cgroup_setup_server(base, PGB_CGROUP_V1, self, err, sizeof(err)), "v1: server leaf set up");
	snprintf(dir, sizeof(dir), "%s/" PGB_CGROUP_SERVER_LEAF, base);
	snprintf(expect, sizeof(expect), "%d\n", self);
	is_str(got(dir, "cgroup.procs"), expect, "v1: the postmaster moved into the leaf");
	ok(access(dir, F_OK) == 0, "v1: leaf made");
	snprintf(dir, sizeof(dir), "%s/cgroup.subtree_control", base);
	ok(access(dir, F_OK) != 0, "v1: no subtree_control written");

	ok(pgb_parse_classes("web(cpu=100), ai(cpu=1), bulk(cpu=idle), tasks()", &t, err, sizeof(err)),
	   "v1: table parses");
	ok(pgb_cgroup_setup_class(base, PGB_CGROUP_V1, &t.classes[0], err, sizeof(err)) &&
	   pgb_cgroup_setup_class(base, PGB_CGROUP_V1, &t.classes[1], err, sizeof(err)) &&
	   pgb_cgroup_setup_class(base, PGB_CGROUP_V1, &t.classes[2], err, sizeof(err)),
	   "v1: classes set up");
	snprintf(dir, sizeof(dir), "%s/web", base);
	is_str(got(dir, "cpu.shares"), "1024", "v1: web/cpu.shares = 1024");
	snprintf(dir, sizeof(dir), "%s/ai", base);
	is_str(got(dir, "cpu.shares"), "10", "v1: ai/cpu.shares = 10");
	snprintf(dir, sizeof(dir), "%s/bulk", base);
	is_str(got(dir, "cpu.idle"), "1", "v1: bulk/cpu.idle = 1");
	ok(!pgb_cgroup_setup_class(base, PGB_CGROUP_V1, &t.classes[3], err, sizeof(err)),
	   "v1: a class called like a control file (tasks) fails");
	like(err, "/tasks\" exists and is not a directory", "v1: naming the path");

	/* a kernel without cpu.idle: a weight still works, idle does not */
	snprintf(dir, sizeof(dir), "%s/web/cpu.idle", base);
	unlink(dir);
	ok(pgb_cgroup_setup_class(base, PGB_CGROUP_V1, &t.classes[0], err, sizeof(err)),
	   "v1 without cpu.idle: a weight is set");
	snprintf(dir, sizeof(dir), "%s/bulk/cpu.idle", base);
	unlink(dir);
	ok(!pgb_cgroup_setup_class(base, PGB_CGROUP_V1, &t.classes[2], err, sizeof(err)),
	   "v1 without cpu.idle: cpu=idle fails");
	like(err, "bulk/cpu.idle\": No such file", "v1 without cpu.idle: naming the file");
}

static void
test_detect_failures(void)
{
	char		base[PGB_CGROUP_PATH_LEN];
	char		err[512];

	snprintf(base, sizeof(base), "%s/missing", root);
	is_int(pgb_cgroup_detect(base, err, sizeof(err)), PGB_CGROUP_NONE, "missing: refused");
	like(err, "missing\": No such file or directory", "missing: path and reason");

	snprintf(base, sizeof(base), "%s/plain", root);
	mkdir(base, 0755);
	is_int(pgb_cgroup_detect(base, err, sizeof(err)), PGB_CGROUP_NONE, "plain directory: refused");
	like(err, "plain\" is not a cgroup with a cpu controller", "plain directory: says so");

	put(root, "file", "x");
	snprintf(base, sizeof(base), "%s/file", root);
	is_int(pgb_cgroup_detect(base, err, sizeof(err)), PGB_CGROUP_NONE, "a file: refused");
	like(err, "file\" is not a directory", "a file: says so");

	make_base("ro", PGB_CGROUP_V1, base);
	chmod(base, 0555);
	if (geteuid() == 0)
	{
		skip("unwritable: root may write anywhere");
		skip("unwritable: message");
	}
	else
	{
		is_int(pgb_cgroup_detect(base, err, sizeof(err)), PGB_CGROUP_NONE, "unwritable: refused");
		like(err, "ro\" is not writable by the server: Permission denied", "unwritable: says so");
	}
	chmod(base, 0755);
}

/* Where CPU time comes from, and reading it, on each layout. */
static void
test_usage(void)
{
	char		base[PGB_CGROUP_PATH_LEN];
	char		dir[PGB_CGROUP_PATH_LEN];
	uint64		ns = 0;

	make_base("usage2", PGB_CGROUP_V2, base);
	is_int(pgb_cgroup_cpu_source(base, PGB_CGROUP_V2), PGB_CPU_SOURCE_PROC,
		   "v2 without cpu.stat: /proc");
	put(base, "cpu.stat", "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n");
	is_int(pgb_cgroup_cpu_source(base, PGB_CGROUP_V2), PGB_CPU_SOURCE_CPU_STAT,
		   "v2 with cpu.stat: cpu.stat");
	snprintf(dir, sizeof(dir), "%s/web", base);
	ok(fake_mkdir(dir, 0755) == 0, "v2: a class directory");
	ok(!pgb_cgroup_read_usage(dir, PGB_CPU_SOURCE_CPU_STAT, &ns),
	   "v2: a class without cpu.stat is not read");
	put(dir, "cpu.stat", "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\nnr_periods 0\n");
	ok(pgb_cgroup_read_usage(dir, PGB_CPU_SOURCE_CPU_STAT, &ns) && ns == 5000000,
	   "v2: the class's usage_usec, in ns");
	ok(!pgb_cgroup_read_usage(dir, PGB_CPU_SOURCE_PROC, &ns), "the /proc source reads no file");

	make_base("usage1", PGB_CGROUP_V1, base);
	is_int(pgb_cgroup_cpu_source(base, PGB_CGROUP_V1), PGB_CPU_SOURCE_PROC,
		   "v1 without cpuacct (mounted apart, as here): /proc");
	put(base, "cpuacct.usage", "987654321\n");
	is_int(pgb_cgroup_cpu_source(base, PGB_CGROUP_V1), PGB_CPU_SOURCE_CPUACCT,
		   "v1 with cpuacct.usage (cpu,cpuacct): cpuacct.usage");
	ok(pgb_cgroup_read_usage(base, PGB_CPU_SOURCE_CPUACCT, &ns) && ns == 987654321,
	   "v1: cpuacct.usage in ns");
	is_int(pgb_cgroup_cpu_source(base, PGB_CGROUP_NONE), PGB_CPU_SOURCE_PROC,
		   "no cgroup: /proc");
}

int
main(void)
{
	char		cmd[512];

	snprintf(root, sizeof(root), "%s/pgb_cgroup_fs_XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(root) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	pgb_cgroup_mkdir = fake_mkdir;
	pgb_cgroup_rmdir = fake_rmdir;
	test_v2();
	test_v1();
	test_usage();
	test_detect_failures();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("could not remove the fake tree");
	return done_testing();
}
