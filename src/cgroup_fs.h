/*-------------------------------------------------------------------------
 *
 * cgroup_fs.h
 *	  The file protocol of CPU weights by class: what pg_budget reads and
 *	  writes under pg_budget.cgroup, for cgroup v1 and v2.
 *
 * Plain POSIX calls, no server headers beyond c.h: unit-tested against a
 * directory tree laid out like cgroupfs (test/unit/test_cgroup_fs.c).
 * Every failure is a message naming the path and the reason, written
 * into the caller's buffer; nothing here logs or throws.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_CGROUP_FS_H
#define PGB_CGROUP_FS_H

#include "c.h"

#include <sys/types.h>

#include "cgroup_math.h"
#include "classes.h"

/*
 * mkdir(2) by default.  A test laid out like cgroupfs sets one that also
 * makes the control files the kernel would.
 */
extern int	(*pgb_cgroup_mkdir) (const char *path, mode_t mode);

/* rmdir(2) by default; the test's removes those control files first. */
extern int	(*pgb_cgroup_rmdir) (const char *path);

/*
 * The version of base (cgroup.controllers: v2, whose list must include
 * cpu; cpu.shares: v1's cpu hierarchy), or PGB_CGROUP_NONE with a message
 * when it is missing, not a directory, not writable, or has no cpu
 * controller.
 */
extern PgbCgroupVersion pgb_cgroup_detect(const char *base, char *err,
										  size_t errlen);

/*
 * Make the server's leaf (PGB_CGROUP_SERVER_LEAF) and move self_pid and
 * every process of base into it; on v2 then enable the cpu controller for
 * base's children ("+cpu" into cgroup.subtree_control), which the kernel
 * allows only once base has no processes of its own.
 */
extern bool pgb_cgroup_setup_server(const char *base, PgbCgroupVersion version,
									int self_pid, char *err, size_t errlen);

/* Make base/<class> (or reuse it) and write its weight. */
extern bool pgb_cgroup_setup_class(const char *base, PgbCgroupVersion version,
								   const PgbClass *cls, char *err,
								   size_t errlen);

/*
 * Remove the directories of classes table no longer has (pgb_cgroup_stale);
 * one still holding processes is left as it is, and report is called
 * with a message saying so.  Returns how many were removed.
 */
typedef void (*PgbCgroupReport) (void *arg, const char *msg);
extern int	pgb_cgroup_remove_stale(const char *base, const PgbClassTable *table,
									PgbCgroupReport report, void *arg);

/* Move process pid into the cgroup dir (its cgroup.procs). */
extern bool pgb_cgroup_move(const char *dir, int pid, char *err, size_t errlen);

/*
 * Where the CPU time of base's classes comes from: PGB_CPU_SOURCE_CPU_STAT
 * on v2 when base's cpu.stat has usage_usec, PGB_CPU_SOURCE_CPUACCT on v1
 * when base has cpuacct.usage (cpuacct mounted with cpu), else
 * PGB_CPU_SOURCE_PROC.
 */
extern PgbCpuSource pgb_cgroup_cpu_source(const char *base,
										  PgbCgroupVersion version);

/* The CPU time (ns) of the cgroup dir by source; false if unreadable. */
extern bool pgb_cgroup_read_usage(const char *dir, PgbCpuSource source,
								  uint64 *ns);

/* Read a small file whole (cut to fit, NUL-terminated); false if unreadable. */
extern bool pgb_cgroup_read(const char *path, char *buf, size_t buflen);

#endif							/* PGB_CGROUP_FS_H */
