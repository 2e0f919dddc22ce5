/*-------------------------------------------------------------------------
 *
 * runaway.c
 *	  The CPU time of each statement of a class with switch_time: the
 *	  session's time on CPU (/proc/<pid>/schedstat, nanoseconds; stat's
 *	  clock ticks where schedstat is missing) now, less what it was when
 *	  the worker first saw the statement.  A new statement is a new
 *	  active spell, or a new count of the slot's statements (shmem.h:
 *	  its backend counts each new statement start as its parse analysis
 *	  or its executor begins): a statement sent at once after another,
 *	  with no idle spell the worker saw between, starts from zero too.
 *	  A statement that waits on a lock, sleeps or reads from its client
 *	  gains nothing.  Read every PGB_RUNAWAY_READ_MS for the active
 *	  sessions of those classes only, under no lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "utils/memutils.h"

#include "cgroup_fs.h"
#include "cgroup_math.h"
#include "runaway.h"
#include "shmem.h"

/* The worker's readings, by procno. */
typedef struct RunawayRow
{
	int			pid;
	int64		spell;			/* the active spell (its start) read in */
	uint32		statements;		/* the slot's statements counter then */
	uint64		base_ns;		/* its CPU time when first seen in it */
	uint64		last_ns;		/* at the last reading */
	int64		read_ms;		/* when */
} RunawayRow;

static RunawayRow *rows = NULL;
static int	nrows = 0;
static double ns_per_tick = 0;

/* The session's CPU time in ns; false if it is gone. */
static bool
cpu_ns(int pid, uint64 *ns)
{
	char		path[64];
	char		buf[1024];
	uint64		ticks;
	uint64		delay;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	if (pgb_cgroup_read(path, buf, sizeof(buf)) &&
		pgb_proc_schedstat(buf, ns, &delay))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!pgb_cgroup_read(path, buf, sizeof(buf)) ||
		!pgb_proc_stat_cpu_ticks(buf, &ticks))
		return false;
	if (ns_per_tick == 0)
	{
		long		hz = sysconf(_SC_CLK_TCK);

		ns_per_tick = 1e9 / (hz > 0 ? (double) hz : 100.0);
	}
	*ns = (uint64) ((double) ticks * ns_per_tick);
	return true;
}

void
pgb_runaway_sample(PgbSnapshot *snap, const PgbClassTable *table)
{
	int			s;
	bool		limited[PGB_MAX_SHARED_CLASSES];
	bool		any = false;
	int			i;

	memset(limited, 0, sizeof(limited));
	for (i = 0; i < table->nclasses; i++)
	{
		int			e = snap->map[i];

		if (e >= 0 && e < PGB_MAX_SHARED_CLASSES &&
			table->classes[i].switch_time > 0)
			limited[e] = any = true;
	}
	if (rows == NULL || nrows != snap->nrows)
	{
		rows = MemoryContextAllocZero(TopMemoryContext, sizeof(RunawayRow) * snap->nrows);
		nrows = snap->nrows;
	}

	for (s = 0; s < pgb_snap_nscan(snap); s++)
	{
		PgbSessionRow *r;
		RunawayRow *w;
		uint64		ns;
		uint32		statements = 0;
		PgbBackendSlot *slot;
		bool		same_spell;

		i = pgb_snap_scan(snap, s);
		r = &snap->rows[i];
		w = &rows[i];

		r->stmt_cpu_ms = -1;
		if (!any || r->pid == 0 || !r->judged || r->exempt ||
			r->state != PGB_STATE_ACTIVE ||
			r->entry < 0 || r->entry >= PGB_MAX_SHARED_CLASSES ||
			!limited[r->entry])
			continue;
		/* the slot's counter, read without the lock: the pid around it */
		if (i < pgb_shared->nslots)
		{
			slot = &pgb_shared->slots[i];
			if (slot->pid != r->pid)
				continue;
			pg_read_barrier();
			statements = pg_atomic_read_u32(&slot->statements);
			pg_read_barrier();
			if (slot->pid != r->pid)
				continue;
		}
		same_spell = w->pid == r->pid && w->spell == r->state_since_ms;
		r->statements = statements;
		if (!same_spell || w->statements != statements)
		{
			/*
			 * A statement sent at once after another, in a spell already
			 * seen: a cancel of the one before does not cover it
			 * (snapshot.h).
			 */
			if (same_spell)
				r->cancelled = false;
			/* a new statement: its baseline */
			if (!cpu_ns(r->pid, &ns))
				continue;
			w->pid = r->pid;
			w->spell = r->state_since_ms;
			w->statements = statements;
			w->base_ns = w->last_ns = ns;
			w->read_ms = snap->now_ms;
		}
		else if (snap->now_ms - w->read_ms >= PGB_RUNAWAY_READ_MS)
		{
			if (!cpu_ns(r->pid, &ns))
				continue;
			w->last_ns = ns;
			w->read_ms = snap->now_ms;
		}
		r->stmt_cpu_ms = (int64) ((w->last_ns - Min(w->base_ns, w->last_ns)) / 1000000);
	}
}
