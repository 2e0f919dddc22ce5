/*-------------------------------------------------------------------------
 *
 * cgroup_math.h
 *	  What CPU weights by class need decided without the kernel: the
 *	  weight each cgroup version takes, which version a directory is, the
 *	  files written for a class, paths, and the cpu line of
 *	  /proc/<pid>/cgroup.
 *
 * Pure logic: includes nothing from the server beyond c.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_CGROUP_MATH_H
#define PGB_CGROUP_MATH_H

#include "c.h"

#include "classes.h"

typedef enum PgbCgroupVersion
{
	PGB_CGROUP_NONE = 0,		/* neither: no CPU weights */
	PGB_CGROUP_V1,				/* a directory of v1's cpu hierarchy */
	PGB_CGROUP_V2				/* a directory of the unified hierarchy */
} PgbCgroupVersion;

/*
 * The leaf of the server's own processes (postmaster, background workers,
 * autovacuum, walsenders): not a valid class name (it has a dot), so no
 * class can take it.
 */
#define PGB_CGROUP_SERVER_LEAF	"pg_budget.server"

/* Longest path pg_budget writes to (base, class, file). */
#define PGB_CGROUP_PATH_LEN		1024

/* v1's cpu.shares for weight W: W x 1024 / 100, at least 2 (the kernel's least). */
extern int	pgb_cpu_shares(int weight);

/* v2's cpu.weight for weight W: W itself (the key's range is the kernel's). */
extern int	pgb_cpu_weight_v2(int weight);

/*
 * The version of a directory from what it holds: cgroup.controllers is
 * v2's, cpu.shares is v1's cpu controller (v2 is judged first).
 */
extern PgbCgroupVersion pgb_cgroup_version(bool has_controllers,
										   bool has_cpu_shares);

extern const char *pgb_cgroup_version_name(PgbCgroupVersion version);

/*
 * Is name one of the blank-separated words of list (cgroup.controllers,
 * cgroup.subtree_control)?
 */
extern bool pgb_cgroup_word_listed(const char *list, const char *name);

/* One file a class's cgroup gets, in order. */
typedef struct PgbCgroupWrite
{
	const char *file;			/* name in the class's directory */
	char		value[16];
	bool		optional;		/* a kernel without the file is fine */
} PgbCgroupWrite;

#define PGB_CGROUP_MAX_WRITES	2

/*
 * The CPU weight and idle flag a class's cgroup has in force: its cpu key,
 * or the default weight (never idle) for a class in warn mode, whose
 * sessions are measured in its cgroup, not held back.
 */
extern int	pgb_cpu_weight_in_force(const PgbClass *cls);
extern bool pgb_cpu_idle_in_force(const PgbClass *cls);

/*
 * The files to write for cls under version, into out (room for
 * PGB_CGROUP_MAX_WRITES); returns how many.  cpu=idle: cpu.idle = 1.  A
 * weight: cpu.idle = 0 first (optional: kernels before 5.15 lack it), so
 * that a class that was idle is not any more, then cpu.weight (v2) or
 * cpu.shares (v1).  A class in warn mode (enforce=warn) gets the default
 * weight: its sessions are measured in its directory, not held back.
 */
extern int	pgb_cgroup_class_writes(PgbCgroupVersion version,
									const PgbClass *cls, PgbCgroupWrite *out);

/*
 * dir "/" name into buf, without doubling a slash dir ends with; false
 * when it does not fit or dir is empty.
 */
extern bool pgb_cgroup_join(const char *dir, const char *name,
							char *buf, size_t buflen);

/*
 * Is a directory called name under pg_budget.cgroup one pg_budget made
 * for a class that table no longer has (a valid class name, not the
 * table's, not the server's leaf)?
 */
extern bool pgb_cgroup_stale(const char *name, const PgbClassTable *table);

/*
 * From the text of /proc/<pid>/cgroup, the path of the cgroup the process
 * is in for the cpu controller: the v1 line whose controllers include
 * "cpu", else the v2 line ("0::path").  Copies it into buf (cut to fit)
 * and returns true; false when there is neither.
 */
/*
 * The path of a controller's line in /proc/<pid>/cgroup: v1's line that
 * lists controller, else v2's "0::" line; *v2 says which.  Points into
 * proc_cgroup (len bytes, no newline).  False if there is neither.
 */
extern bool pgb_cgroup_line_path(const char *proc_cgroup, const char *controller,
								 const char **path, size_t *len, bool *v2);

extern bool pgb_cgroup_cpu_path(const char *proc_cgroup, char *buf,
								size_t buflen);

/*
 * The parent of the cgroup path (as /proc/<pid>/cgroup gives it) whose
 * last component is leaf, into buf ("/" at the top); false when the last
 * component is not leaf or it does not fit.
 */
extern bool pgb_cgroup_parent_of(const char *path, const char *leaf,
								 char *buf, size_t buflen);

/*
 * The pids of the text of a cgroup.procs file (one a line) into pids,
 * at most max of them; how many.  A line that is not a pid is skipped.
 */
extern int	pgb_cgroup_parse_pids(const char *text, int *pids, int max);

/*
 * utime + stime (fields 14 and 15, clock ticks) of the text of
 * /proc/<pid>/stat; the command name, in parentheses, may hold anything,
 * so fields are counted from its last ")".  False when malformed.
 */
extern bool pgb_proc_stat_cpu_ticks(const char *stat, uint64 *ticks);

/*
 * The CPU time (first field, ns: what utime + stime count, unrounded) and
 * the run delay (second field, ns) of the text of /proc/<pid>/schedstat.
 */
extern bool pgb_proc_schedstat(const char *schedstat, uint64 *cpu_ns,
							   uint64 *delay_ns);


/*
 * Where the CPU time of a class comes from: the cgroup's own accounting
 * where the hierarchy has it (v2: cpu.stat's usage_usec, always there;
 * v1: cpuacct.usage, where cpuacct is mounted with cpu), else the sum of
 * its sessions' /proc/<pid>/stat.
 */
typedef enum PgbCpuSource
{
	PGB_CPU_SOURCE_PROC = 0,
	PGB_CPU_SOURCE_CPUACCT,		/* v1 cpuacct.usage, ns */
	PGB_CPU_SOURCE_CPU_STAT		/* v2 cpu.stat usage_usec */
} PgbCpuSource;

/* The file of a source in a class's directory, NULL for PROC. */
extern const char *pgb_cpu_source_file(PgbCpuSource source);

/* How the start's LOG line names a source. */
extern const char *pgb_cpu_source_name(PgbCpuSource source);

/*
 * The CPU time, in ns, that the text of a source's file says (cpuacct.usage:
 * one number of ns; cpu.stat: the "usage_usec" line).  False when
 * malformed or missing.
 */
extern bool pgb_cgroup_usage_ns(PgbCpuSource source, const char *text,
								uint64 *ns);

/*
 * What the sampler remembers of one process between two readings of its
 * CPU time and run delay.
 */
typedef struct PgbCpuTrack
{
	int			pid;			/* 0: none */
	uint64		cpu_ns;			/* CPU time at the last reading */
	uint64		delay_ns;		/* run delay at the last reading */
} PgbCpuTrack;

/*
 * A new reading (pid, cpu_ns, delay_ns) of the process tracked by t: how
 * much CPU time and run delay to count (*dcpu_ns, *ddelay_ns).  A process
 * seen for the first time counts all it has, unless priming (the first
 * pass of a sampler that starts while sessions run, which counts from
 * now: they may have been counted by the sampler before it).  Counters
 * never go back: a reading below the last counts nothing.
 */
extern void pgb_cpu_track(PgbCpuTrack *t, int pid, uint64 cpu_ns,
						  uint64 delay_ns, bool priming,
						  uint64 *dcpu_ns, uint64 *ddelay_ns);

#endif							/* PGB_CGROUP_MATH_H */
