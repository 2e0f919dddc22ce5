/*-------------------------------------------------------------------------
 *
 * snapshot.h
 *	  What one tick of the worker saw, as plain numbers: a row per backend
 *	  and the blockers the lock watcher looked up.  The sampler and the
 *	  lock watcher fill it; the plan (plan.c) decides from it alone.
 *
 * Pure (c.h only), so that plans are unit-tested without a server.  It
 * lives in the worker's private memory; nothing here is in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_SNAPSHOT_H
#define PGB_SNAPSHOT_H

#include "policy_math.h"

/* Waiters a boosted holder remembers (boost_math.h); more are not needed. */
#define PGB_BOOST_WAITERS		4

/*
 * One backend as the worker sees it.  Rows are indexed by procno and kept
 * from tick to tick: the sampler restarts a row when its pid changes, the
 * worker writes action_ms and cancelled after acting, and the plan sets
 * inverted, which the sampler clears when the lock wait ends.
 */
typedef struct PgbSessionRow
{
	int			procno;
	int			pid;			/* 0: no backend */
	int			entry;			/* class entry, or pseudo-class (>=
								 * PGB_MAX_SHARED_CLASSES) */
	PgbSessionState state;
	/*
	 * Idle outside a transaction at the last tick, with nothing on the
	 * row: the sampler counts it and reads nothing more (sampler.c).  A
	 * pass that puts a mark on a row (pgb_row_busy) clears it.
	 */
	bool		idle_settled;
	int64		state_since_ms; /* when it entered its state */
	int64		blocked_us;		/* time blocked on locks in this active
								 * spell, or 0 */
	int64		action_ms;		/* when the worker last signalled it */
	bool		judged;			/* a session admitted by pg_budget */
	bool		exempt;			/* superuser exempt from shedding */
	bool		superuser;		/* a judged session of a superuser */
	bool		walsender;		/* never shed by the worker */
	bool		may_signal;		/* pause: the caller may signal it */
	bool		cancelled;		/* cancelled during this active spell (for
								 * a class with switch_time: this
								 * statement, runaway.c) */
	bool		inverted;		/* its blockers include a lower class */
	bool		queued;			/* waiting at the transaction gate */
	int			borrowed_for;	/* let through for this waiter's pid, or 0 */
	bool		holding;		/* holds a place at the gate */
	int64		hold_noted_ms;	/* when its idle hold was last noted */
	bool		running;		/* active with no wait event: on CPU */
	int64		ran_ms;			/* the last tick that saw it running, 0:
								 * none: whose /proc files may have moved
								 * (cgroup_cpu.c, memory.c) */
	/* OS-level priority inheritance (boost_math.h), kept by the worker */
	bool		boosted;		/* runs in boost_entry's cgroup, not its own */
	int			boost_entry;	/* the class entry it was boosted into */
	int			boost_pid;		/* its pid then (the row's is 0 once it exits) */
	int			nboost_for;
	int			boost_for[PGB_BOOST_WAITERS];	/* procnos of its waiters */
	int			boost_for_pid[PGB_BOOST_WAITERS];
	/* runaways (runaway.c reads, plan_runaway.c judges) */
	int64		stmt_cpu_ms;	/* CPU time of this active spell, -1: not
								 * read (its class has no switch_time) */
	/*
	 * Runaway switches (plan_runaway.c decides, runaway_switch.c carries
	 * out): while switched, entry is the class switched to, which the
	 * sampler keeps, so that every count and decision of the tick takes
	 * the session as that class's until its statement ends.
	 */
	bool		switched;		/* its statement runs as class entry */
	bool		switch_moved;	/* and was moved into that class's cgroup */
	bool		switch_cleared; /* its backend cleared the mark: a new
								 * statement began (runaway_switch.c) */
	int			switch_home;	/* its own class entry */
	int64		switch_spell;	/* the active spell (its start) it was
								 * switched in */
	uint32		statements;		/* its slot's statements counter, as the
								 * runaway reading last saw it (runaway.c) */
	uint32		switch_noted_stmt;	/* and the statement of switch_noted */
	int64		switch_noted;	/* dry run: the spell a would-be switch was
								 * noted in */
	/* idle blockers (plan_runaway.c, from this and earlier lookups) */
	int64		blocking_spell; /* the idle-in-transaction spell (its start)
								 * it was seen blocking in, or 0 */
	int64		blocking_since_ms;	/* since when it blocks (the later of
									 * its idle spell's and the wait's
									 * start) */
	int			blocking_waiter;	/* procno of the waiter seen, and pid */
	int			blocking_waiter_pid;
} PgbSessionRow;

/*
 * The same waiter is looked up at most this often for the statistics, and
 * a blocker is signalled at most this often.
 */
#define PGB_REEXAMINE_MS		250

/* One blocker lookup of this tick: who blocks the waiter. */
typedef struct PgbLookup
{
	int			waiter;			/* procno */
	int64		wait_us;		/* its blocked time when looked up */
	int			nblockers;
	const int  *blockers;		/* procnos of live blockers, in core's order */
} PgbLookup;

/* Counts of a class entry in this tick, for the pressure judgement. */
typedef struct PgbEntrySample
{
	int			sessions;		/* processes of the entry, exempt or not */
	int			active;
	double		active_avg;		/* moving averages, as published */
	double		wal_share_avg;
	int			running;		/* sessions on CPU this tick, past their
								 * login (sampler.c) */
	int			in_progress;	/* transactions past the gate */
	int			queued;			/* transactions waiting at the gate */
	uint64		wal_bytes;		/* WAL written since reset (a counter) */
	uint64		transactions;	/* passed the gate since reset (a counter) */
	uint64		commits;		/* writing commits timed (a counter) */
	uint64		commit_us;		/* their time in commit (a counter) */
	uint64		commits_slow;	/* slower than the target (a counter) */
	uint64		commits_tail;	/* PGB_TAIL_COMMIT_FACTOR times it (a counter) */
	/* run delay of its sessions, read once a second (cgroup.c) */
	double		run_delay_ms;	/* since the worker started (a counter) */
	int			run_delay_sessions; /* sessions that ran or waited to run
									 * since the reading before */
	int64		run_delay_at_ms;	/* when it was read; 0: not yet */
} PgbEntrySample;

typedef struct PgbSnapshot
{
	int64		now_ms;			/* monotonic clock: every *_ms above */
	int			usable;			/* max_connections - superuser reserve */
	int			ncores;			/* CPUs online */
	int			running;		/* processes on CPU this tick, any kind
								 * but a client still logging in */
	int			nqueued;		/* sessions waiting at the gate */
	int			recovery_waiter;	/* pid of the startup process of a hot
									 * standby while it waits for a lock, or 0 */
	int			nrows;
	PgbSessionRow *rows;		/* nrows, indexed by procno */
	PgbEntrySample entries[PGB_MAX_SHARED_CLASSES];
	/* the class table of this tick, by table index */
	int			map[PGB_MAX_CLASSES + 1];	/* class entry, or -1 */
	int			connected[PGB_MAX_CLASSES + 1]; /* sessions counted */
	/*
	 * The rows the passes after the sampler look at (pgb_snap_nscan): in
	 * procno order, each live session that is not idle, and any row that
	 * carries a mark from an earlier tick (pgb_row_busy).  With thousands
	 * of idle sessions a pass walks the few that can matter, not every
	 * PGPROC slot.  Built by the sampler each tick; NULL (every row) where
	 * a snapshot is made by hand, as in the unit tests.
	 */
	int			nbusy;
	int		   *busy;			/* room for nrows, or NULL */
	/*
	 * Rows a pass put a mark on while they were idle_settled
	 * (pgb_row_unsettle): the sampler's next light tick reads them again
	 * (sampler.c).  NULL where a snapshot is made by hand.
	 */
	int			nwoken;
	int		   *woken;			/* room for nrows, or NULL */
	int			nlookups;
	PgbLookup  *lookups;		/* room for nrows */
	bool		cpu_in_force[PGB_MAX_SHARED_CLASSES];	/* by entry: its
														 * cgroup has its
														 * weight */
	bool		mem_pressure;	/* the server's memory is past its mark */
	bool		mem_full_walk;	/* past it or on course to it: the next
								 * ticks read every row (memory.c) */
	bool		full_walk;		/* this tick read every row (sampler.c) */
} PgbSnapshot;

/*
 * Does a pass after the sampler need this row?  A live session that is
 * active or idle in a transaction (it may wait, block, run, hold a place
 * at the gate); and, live or gone, one with a mark a pass clears: a
 * switch, a boost (as holder or as waiter), an idle-blocker spell, an
 * inversion.  A session idle outside a transaction has none of these
 * unless a mark is left over, and nothing but the victim rounds of a
 * class over its limit (which walk every row) acts on it.
 */
static inline bool
pgb_row_marked(const PgbSessionRow *r)
{
	return r->switched || r->boosted || r->nboost_for > 0 ||
		r->blocking_spell != 0 || r->inverted;
}

static inline bool
pgb_row_busy(const PgbSessionRow *r)
{
	return (r->pid != 0 && r->state != PGB_STATE_IDLE) || pgb_row_marked(r);
}

/*
 * A pass that puts a mark on a row clears its idle_settled, and has it
 * read again from the next tick on, light ticks included (sampler.c).
 */
static inline void
pgb_row_unsettle(PgbSnapshot *snap, PgbSessionRow *r)
{
	if (r->idle_settled && snap->woken != NULL)
		snap->woken[snap->nwoken++] = (int) (r - snap->rows);
	r->idle_settled = false;
}

/* The number of rows a pass walks, and the procno of the k-th. */
static inline int
pgb_snap_nscan(const PgbSnapshot *snap)
{
	return snap->busy != NULL ? snap->nbusy : snap->nrows;
}

static inline int
pgb_snap_scan(const PgbSnapshot *snap, int k)
{
	return snap->busy != NULL ? snap->busy[k] : k;
}

#endif							/* PGB_SNAPSHOT_H */
