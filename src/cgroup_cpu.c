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

/*
 * CPU time and run delay, read over each second (worker-local): a sweep
 * over the sessions' rows that reaches the last of them after
 * CPU_SWEEP_MS, so that no tick reads them all, and adds up what it read
 * by class entry; at CPU_SAMPLE_MS the sums are published and the next
 * sweep starts.
 */
#define CPU_SAMPLE_MS	1000
#define CPU_SWEEP_MS	750

/*
 * A session that the sampler has not seen on CPU since its last reading
 * (idle, or waiting: on a lock, a sleep, its client) is read again only
 * after this long (ms): what it used in between, if anything, is counted
 * then.
 */
#define CPU_IDLE_MS		10000

static PgbCpuTrack *cpu_tracks = NULL;
static int64 *cpu_read_ms = NULL;	/* when each row was last read */
static int	cpu_ntracks = 0;
static bool cpu_primed = false;
static int64 sweep_start_ms = 0;	/* 0: none yet */
static int	sweep_next = 0;			/* the next row of the sweep */
static double sweep_cpu_ms[PGB_MAX_SHARED_CLASSES];
static double sweep_delay_ms[PGB_MAX_SHARED_CLASSES];
static int	sweep_moved[PGB_MAX_SHARED_CLASSES];

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
 * One session's reading, into the sweep's sums: its CPU time and run
 * delay from /proc/<pid>/schedstat (one file), or its CPU time from
 * /proc/<pid>/stat where schedstat is missing or says nothing (kernels
 * without it: no run delay then).  Only a session the sampler saw on CPU
 * since its last reading, a new one, or one read CPU_IDLE_MS ago is read.
 */
static void
sweep_row(const PgbSnapshot *snap, int i, double clk_tck)
{
	const PgbSessionRow *r = &snap->rows[i];
	char		buf[1024];
	uint64		cpu_ns = 0;
	uint64		delay = 0;
	uint64		ticks;
	uint64		dcpu;
	uint64		ddelay;

	if (r->pid == 0 || !r->judged || r->entry >= PGB_MAX_SHARED_CLASSES)
		return;
	if (cpu_tracks[i].pid == r->pid && r->ran_ms <= cpu_read_ms[i] &&
		snap->now_ms - cpu_read_ms[i] < CPU_IDLE_MS)
		return;
	cpu_read_ms[i] = snap->now_ms;
	if (!read_proc(r->pid, "schedstat", buf, sizeof(buf)) ||
		!pgb_proc_schedstat(buf, &cpu_ns, &delay) || cpu_ns == 0)
	{
		if (!read_proc(r->pid, "stat", buf, sizeof(buf)) ||
			!pgb_proc_stat_cpu_ticks(buf, &ticks))
			return;
		cpu_ns = (uint64) ((double) ticks * 1e9 / clk_tck);
	}
	pgb_cpu_track(&cpu_tracks[i], r->pid, cpu_ns, delay, !cpu_primed,
				  &dcpu, &ddelay);
	if (dcpu == 0 && ddelay == 0)
		return;
	sweep_cpu_ms[r->entry] += (double) dcpu / 1e6;
	sweep_delay_ms[r->entry] += (double) ddelay / 1e6;
	sweep_moved[r->entry]++;
}

/*
 * Each tick, in the worker: the next part of the sweep, and once a
 * second the CPU time and run delay each counted session added since its
 * last reading, summed by class entry.  CPU time is the cgroup's own
 * accounting for a class whose cgroup has its weight in force where the
 * hierarchy keeps one (cpu_source: the CPU time spent in the class's
 * cgroup, that of a boosted holder included, of sessions that exited
 * too), else the sessions' own (what a session used since its last
 * reading before it exited is not counted).  The files are read under no
 * lock; the sums are added in one exclusive hold (shmem.h).
 */
void
pgb_cpu_sample(PgbSnapshot *snap)
{
	static double clk_tck = 0;
	double		cpu_ms[PGB_MAX_SHARED_CLASSES];
	bool		any = false;
	int64		elapsed;
	int			upto;
	int			i;

	if (cpu_tracks == NULL)
	{
		cpu_ntracks = snap->nrows;
		cpu_tracks = MemoryContextAllocZero(TopMemoryContext,
											sizeof(PgbCpuTrack) * cpu_ntracks);
		cpu_read_ms = MemoryContextAllocZero(TopMemoryContext,
											 sizeof(int64) * cpu_ntracks);
		clk_tck = (double) sysconf(_SC_CLK_TCK);
		if (clk_tck <= 0)
			clk_tck = 100;
	}
	if (sweep_start_ms == 0)
	{
		sweep_start_ms = snap->now_ms;
		sweep_next = 0;
	}

	/* the rows due by now: all of them once CPU_SWEEP_MS went by */
	elapsed = snap->now_ms - sweep_start_ms;
	upto = Min(snap->nrows, cpu_ntracks);
	if (elapsed < CPU_SWEEP_MS)
		upto = (int) ((int64) upto * Max(elapsed, 0) / CPU_SWEEP_MS);
	for (i = sweep_next; i < upto; i++)
		sweep_row(snap, i, clk_tck);
	sweep_next = Max(sweep_next, upto);
	if (elapsed < CPU_SAMPLE_MS)
		return;

	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		double		from_cgroup;

		cpu_ms[i] = cgroup_cpu_ms(snap, i, &from_cgroup) ? from_cgroup :
			sweep_cpu_ms[i];
		if (cpu_ms[i] > 0 || sweep_delay_ms[i] > 0)
			any = true;
	}
	cpu_primed = true;

	/* what the plan judges run-delay pressure from (snapshot.h) */
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		snap->entries[i].run_delay_ms += sweep_delay_ms[i];
		snap->entries[i].run_delay_sessions = sweep_moved[i];
		snap->entries[i].run_delay_at_ms = snap->now_ms;
	}
	if (any)
	{
		LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
		for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		{
			pgb_shared->classes[i].cpu_ms += cpu_ms[i];
			pgb_shared->classes[i].run_delay_ms += sweep_delay_ms[i];
		}
		LWLockRelease(pgb_shared->lock);
	}

	/* the next sweep */
	memset(sweep_cpu_ms, 0, sizeof(sweep_cpu_ms));
	memset(sweep_delay_ms, 0, sizeof(sweep_delay_ms));
	memset(sweep_moved, 0, sizeof(sweep_moved));
	sweep_start_ms = snap->now_ms;
	sweep_next = 0;
}
