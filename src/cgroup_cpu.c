/*-------------------------------------------------------------------------
 *
 * cgroup_cpu.c
 *	  What is in force of the CPU weights, as the worker sees it each tick,
 *	  and the CPU time and run delay of each class: from the class's
 *	  cgroup where the hierarchy keeps it, else from /proc/<pid>/stat, and
 *	  /proc/<pid>/schedstat, read once a second under no lock and added to
 *	  the class entries in one exclusive hold of the main lock (cgroup.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "miscadmin.h"

#include "boost_math.h"
#include "cgroup.h"
#include "cgroup_fs.h"
#include "cgroup_math.h"
#include "compat.h"
#include "events.h"
#include "guc.h"
#include "shmem.h"

bool
pgb_cgroup_configured(void)
{
	return pgb_cgroup != NULL && pgb_cgroup[0] != '\0';
}

/* Has name its weight in force in state? */
bool
pgb_cpu_state_has(const PgbCpuState *state, const char *name)
{
	int			i;

	if (state->version == PGB_CGROUP_NONE)
		return false;
	for (i = 0; i < state->nclasses; i++)
		if (strcmp(state->classes[i].name, name) == 0)
			return true;
	return false;
}

/* Where the worker reads cpu_ms from, as of this tick (worker-local) */
static PgbCpuSource cpu_source = PGB_CPU_SOURCE_PROC;

/*
 * Each tick, in the worker: which class entries have their weight in
 * force, for the boosts and the CPU time, and where CPU time comes from
 * (one shared hold, names compared).
 */
void
pgb_cgroup_tick(PgbSnapshot *snap)
{
	int			e;

	memset(snap->cpu_in_force, 0, sizeof(snap->cpu_in_force));
	cpu_source = PGB_CPU_SOURCE_PROC;
	if (!pgb_cgroup_configured())
		return;
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
		snap->cpu_in_force[e] = pgb_shared->classes[e].name[0] != '\0' &&
			pgb_cpu_state_has(&pgb_shared->cpu, pgb_shared->classes[e].name);
	if (pgb_shared->cpu.version != PGB_CGROUP_NONE)
		cpu_source = (PgbCpuSource) pgb_shared->cpu.cpu_source;
	LWLockRelease(pgb_shared->lock);
}

/* CPU time and run delay, read once a second (worker-local) */
#define CPU_SAMPLE_MS	1000
static PgbCpuTrack *cpu_tracks = NULL;
static int	cpu_ntracks = 0;
static int64 cpu_sampled_ms = 0;
static bool cpu_primed = false;

/* Read a /proc/<pid>/<file> of a session into buf; false if it is gone. */
static bool
read_proc(int pid, const char *file, char *buf, size_t buflen)
{
	char		path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return pgb_cgroup_read(path, buf, buflen);
}

/* The cgroup accounting of each class entry at the last reading */
static uint64 usage_prev[PGB_MAX_SHARED_CLASSES];
static char usage_name[PGB_MAX_SHARED_CLASSES][NAMEDATALEN];

/*
 * The CPU time (ms) class entry e's cgroup used since the last reading,
 * into *ms; false when its cgroup is not read (not in force, the source
 * is /proc, or the file is unreadable).  A first reading, a class entry
 * named anew, or a counter that went back (a directory made again) counts
 * nothing and starts from there.
 */
static bool
cgroup_cpu_ms(const PgbSnapshot *snap, int e, double *ms)
{
	char		dir[PGB_CGROUP_PATH_LEN];
	const char *name = pgb_group_name(e);
	uint64		ns;
	bool		fresh;

	*ms = 0;
	if (cpu_source == PGB_CPU_SOURCE_PROC || !snap->cpu_in_force[e] ||
		!pgb_cgroup_join(pgb_cgroup, name, dir, sizeof(dir)) ||
		!pgb_cgroup_read_usage(dir, cpu_source, &ns))
	{
		usage_name[e][0] = '\0';
		return false;
	}
	fresh = strcmp(usage_name[e], name) != 0 || ns < usage_prev[e];
	if (!fresh)
		*ms = (double) (ns - usage_prev[e]) / 1e6;
	usage_prev[e] = ns;
	strlcpy(usage_name[e], name, NAMEDATALEN);
	return true;
}

/*
 * Once a second, in the worker: the CPU time and run delay
 * (/proc/<pid>/schedstat) each counted session added since the last
 * reading, summed by class entry.  CPU time is the cgroup's own
 * accounting for a class whose cgroup has its weight in force where the
 * hierarchy keeps one (cpu_source: the CPU time spent in the class's
 * cgroup, that of a boosted holder included, of sessions that exited
 * too), else /proc/<pid>/stat's utime + stime of its sessions (what a
 * session used in the second before it exited is not counted).  The
 * files are read under no lock; the sums are added in one exclusive hold
 * (shmem.h).
 */
void
pgb_cpu_sample(PgbSnapshot *snap)
{
	static double clk_tck = 0;
	double		cpu_ms[PGB_MAX_SHARED_CLASSES];
	double		delay_ms[PGB_MAX_SHARED_CLASSES];
	int			moved[PGB_MAX_SHARED_CLASSES];
	bool		from_cgroup[PGB_MAX_SHARED_CLASSES];
	bool		any = false;
	int			i;

	if (cpu_sampled_ms != 0 && snap->now_ms - cpu_sampled_ms < CPU_SAMPLE_MS)
		return;
	cpu_sampled_ms = snap->now_ms;
	if (cpu_tracks == NULL)
	{
		cpu_ntracks = snap->nrows;
		cpu_tracks = MemoryContextAllocZero(TopMemoryContext,
											sizeof(PgbCpuTrack) * cpu_ntracks);
		clk_tck = (double) sysconf(_SC_CLK_TCK);
		if (clk_tck <= 0)
			clk_tck = 100;
	}
	memset(cpu_ms, 0, sizeof(cpu_ms));
	memset(delay_ms, 0, sizeof(delay_ms));
	memset(moved, 0, sizeof(moved));
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		from_cgroup[i] = cgroup_cpu_ms(snap, i, &cpu_ms[i]);
		if (cpu_ms[i] > 0)
			any = true;
	}
	for (i = 0; i < snap->nrows && i < cpu_ntracks; i++)
	{
		const PgbSessionRow *r = &snap->rows[i];
		char		buf[1024];
		uint64		ticks = 0;
		uint64		delay = 0;
		uint64		dticks;
		uint64		ddelay;

		if (r->pid == 0 || !r->judged || r->entry >= PGB_MAX_SHARED_CLASSES)
			continue;
		if (!read_proc(r->pid, "stat", buf, sizeof(buf)) ||
			!pgb_proc_stat_cpu_ticks(buf, &ticks))
			continue;
		/* kernels without schedstats: CPU time alone */
		if (read_proc(r->pid, "schedstat", buf, sizeof(buf)))
			(void) pgb_proc_schedstat_delay_ns(buf, &delay);
		pgb_cpu_track(&cpu_tracks[i], r->pid, ticks, delay, !cpu_primed,
					  &dticks, &ddelay);
		if (dticks == 0 && ddelay == 0)
			continue;
		if (!from_cgroup[r->entry])
			cpu_ms[r->entry] += (double) dticks * 1000.0 / clk_tck;
		delay_ms[r->entry] += (double) ddelay / 1e6;
		moved[r->entry]++;
		any = true;
	}
	cpu_primed = true;

	/* what the plan judges run-delay pressure from (snapshot.h) */
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		snap->entries[i].run_delay_ms += delay_ms[i];
		snap->entries[i].run_delay_sessions = moved[i];
		snap->entries[i].run_delay_at_ms = snap->now_ms;
	}
	if (!any)
		return;
	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		pgb_shared->classes[i].cpu_ms += cpu_ms[i];
		pgb_shared->classes[i].run_delay_ms += delay_ms[i];
	}
	LWLockRelease(pgb_shared->lock);
}
