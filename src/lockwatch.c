/*-------------------------------------------------------------------------
 *
 * lockwatch.c
 *	  Who blocks whom, by class: the sample side's bounded blocker lookups,
 *	  into the tick's snapshot (the plan judges inversions from them).
 *
 * Finding blockers takes ProcArrayLock and every lock-partition lock, so
 * it is done only for sessions that have waited longer than
 * pg_budget.lock_stats_threshold, within a bucket of lookups (below).
 * Its statistics (waits, longest wait) go to the lock matrix in shared
 * memory under the pg_budget lock; act.c counts the inversions acted on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/procarray.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "events.h"
#include "lockwatch.h"
#include "prepwatch.h"
#include "sampler.h"

/*
 * Bounds on blocker lookups: for the statistics, the longest waiter first,
 * at most one lookup every LOOKUP_GAP_MS, and the same waiter at most every
 * PGB_REEXAMINE_MS; besides, each wait once when it crosses
 * lock_wait_threshold, at most max_actions a tick.  All of them together draw on one bucket of
 * LOOKUPS_PER_SECOND (burst LOOKUP_BURST), so that a lock storm costs at
 * most that many ProcArrayLock-plus-partition-lock acquisitions a second;
 * a crossing that finds the bucket empty is looked up on a later tick.
 * Waiters of one tick that wait on the same lock in the same mode share
 * one lookup (the cache below).
 */
#define LOOKUP_GAP_MS			25
#define LOOKUPS_PER_SECOND		40.0
#define LOOKUP_BURST			10.0
#define LOOKUP_CACHE_SIZE		16

/* Lookups of this tick, by the lock waited on (worker-local). */
typedef struct LookupCache
{
	const void *lock;			/* PGPROC.waitLock, as a key only */
	int			mode;			/* PGPROC.waitLockMode */
	int			n;
	int32	   *pids;			/* in the tick's memory context */
} LookupCache;

static LookupCache cache[LOOKUP_CACHE_SIZE];
static int	ncached = 0;
static int64 cache_tick_ms = -1;
static double lookup_tokens = LOOKUP_BURST;
static int64 tokens_at_ms = 0;

/* Take a lookup token, refilling the bucket first. */
static bool
take_lookup_token(int64 now_ms)
{
	if (tokens_at_ms != 0 && now_ms > tokens_at_ms)
		lookup_tokens = Min(LOOKUP_BURST,
							lookup_tokens + (now_ms - tokens_at_ms) * LOOKUPS_PER_SECOND / 1000.0);
	tokens_at_ms = now_ms;
	if (lookup_tokens < 1.0)
		return false;
	lookup_tokens -= 1.0;
	return true;
}

/*
 * The blockers of a waiter: from this tick's cache when another waiter on
 * the same lock was looked up, else from pg_blocking_pids if a token is
 * left.  Returns false when the lookup had to be put off.
 */
static bool
blockers_of(PgbTick *tick, int procno, int pid, int32 **pids, int *n)
{
	PGPROC	   *proc = &ProcGlobal->allProcs[procno];
	const void *lock = (const void *) proc->waitLock;
	int			mode = (int) proc->waitLockMode;
	ArrayType  *arr;
	int			i;

	if (cache_tick_ms != tick->snap.now_ms)
	{
		cache_tick_ms = tick->snap.now_ms;
		ncached = 0;
	}
	for (i = 0; lock != NULL && i < ncached; i++)
		if (cache[i].lock == lock && cache[i].mode == mode)
		{
			*pids = cache[i].pids;
			*n = cache[i].n;
			return true;
		}
	if (!take_lookup_token(tick->snap.now_ms))
		return false;
	arr = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids,
												 Int32GetDatum(pid)));
	*n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	*pids = (int32 *) ARR_DATA_PTR(arr);
	if (lock != NULL && ncached < LOOKUP_CACHE_SIZE)
	{
		cache[ncached].lock = lock;
		cache[ncached].mode = mode;
		cache[ncached].n = *n;
		cache[ncached].pids = *pids;
		ncached++;
	}
	return true;
}

typedef struct Waiter
{
	int			procno;
	int64		wait_us;
} Waiter;

/* procno of a live pid, or -1 */
static int
procno_of(PgbTick *tick, int pid)
{
	PGPROC	   *proc = BackendPidGetProc(pid);
	int			procno;

	if (proc == NULL)
		return -1;
	procno = PGB_PROCNO(proc);
	if (procno < 0 || procno >= tick->snap.nrows ||
		tick->snap.rows[procno].pid != pid)
		return -1;
	return procno;
}

/*
 * A prepared transaction blocks the waiter (core's pid 0): count the wait
 * under its class, looked up once a wait, and record an event naming it.
 * Unknown (prepared before a restart, or by an unjudged session): counted
 * under "(system)".
 */
static void
count_prepared(PgbTick *tick, Waiter *w, bool new_wait)
{
	PgbSessionRow *waiter = &tick->snap.rows[w->procno];
	PgbProcTrack *track = &tick->procs[w->procno];
	PgbLockStat *ls;
	PgbPrepared p;
	bool		known = false;

	if (new_wait || track->prepared_group < 0)
	{
		known = pgb_prepwatch_blocker(w->procno, &p);
		track->prepared_group = known ? p.entry : PGB_GROUP_SYSTEM;
	}
	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	ls = &pgb_shared->locks[waiter->entry][track->prepared_group];
	if (new_wait)
		ls->waits++;
	if (waiter->blocked_us > ls->longest_us)
		ls->longest_us = waiter->blocked_us;
	LWLockRelease(pgb_shared->lock);
	if (known && new_wait)
	{
		char		reason[PGB_REASON_LEN];

		snprintf(reason, sizeof(reason),
				 "prepared transaction %u of role \"%s\", prepared %.0f s ago, blocks pid %d of class \"%s\" on a lock",
				 p.xid, p.role, (tick->now - p.prepared_at) / 1e6,
				 waiter->pid, pgb_group_name(waiter->entry));
		ereport(LOG, (errmsg("pg_budget: class \"%s\": %s",
							 pgb_group_name(p.entry), reason)));
		pgb_event(pgb_group_name(p.entry), 0, p.role, "prepared blocker", "lock",
				  reason);
	}
}

/*
 * Look up the blockers of one waiter, count the wait in the lock matrix
 * and add the lookup to the snapshot.  Returns false when the lookup had
 * to be put off (no token).
 */
static bool
examine(PgbTick *tick, Waiter *w)
{
	PgbSessionRow *waiter = &tick->snap.rows[w->procno];
	PgbProcTrack *track = &tick->procs[w->procno];
	PgbLookup  *look;
	int		   *blockers;
	int32	   *pids;
	int			n,
				nb = 0,
				i;
	bool		new_wait;
	TimestampTz wait_start = tick->now - track->lock_wait_us;

	if (!blockers_of(tick, w->procno, waiter->pid, &pids, &n))
		return false;
	track->examined_ms = tick->snap.now_ms;
	track->examined_wait_us = w->wait_us;

	/* a wait counts once, however often it is looked at */
	new_wait = track->counted_wait == 0 ||
		(track->counted_wait > wait_start + 1000 ||
		 wait_start > track->counted_wait + 1000);
	if (new_wait)
		track->counted_wait = wait_start;

	blockers = palloc(sizeof(int) * Max(n, 1));
	if (new_wait)
		track->prepared_group = -1;
	for (i = 0; i < n; i++)
	{
		int			bno;
		PgbSessionRow *blocker;
		PgbLockStat *ls;

		if (pids[i] == 0)
		{
			count_prepared(tick, w, new_wait);
			continue;
		}
		bno = procno_of(tick, pids[i]);
		if (bno < 0)
			continue;
		blocker = &tick->snap.rows[bno];

		LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
		ls = &pgb_shared->locks[waiter->entry][blocker->entry];
		if (new_wait)
			ls->waits++;
		/* the statement's whole blocked time, the one the worker acts on */
		if (waiter->blocked_us > ls->longest_us)
			ls->longest_us = waiter->blocked_us;
		LWLockRelease(pgb_shared->lock);
		blockers[nb++] = bno;
	}

	if (tick->snap.nlookups < tick->snap.nrows)
	{
		look = &tick->snap.lookups[tick->snap.nlookups++];
		look->waiter = w->procno;
		look->wait_us = w->wait_us;
		look->nblockers = nb;
		look->blockers = blockers;
	}
	return true;
}

void
pgb_lookup_blockers(PgbTick *tick)
{
	int			s;
	static int64 last_lookup_ms = 0;
	int64		now_ms = tick->snap.now_ms;
	Waiter		best = {-1, 0};
	int			procno;
	int			due = 0;
	int64		action_us = (int64) pgb_lock_wait_threshold * 1000;
	int64		threshold_us = Min((int64) pgb_lock_stats_threshold * 1000, action_us);

	/*
	 * Priority inheritance at the gate: while sessions are queued there
	 * (holding the locks their parse analysis took), every lock wait is
	 * looked up at once, whatever its length, and again every
	 * PGB_REEXAMINE_MS, so that a queued blocker is let through within a
	 * tick or two.  These lookups draw on the same bucket.
	 */
	if (tick->snap.nqueued > 0)
		for (s = 0; s < pgb_snap_nscan(&tick->snap); s++)
		{
			PgbSessionRow *r;
			PgbProcTrack *t;
			Waiter		w;

			procno = pgb_snap_scan(&tick->snap, s);
			r = &tick->snap.rows[procno];
			t = &tick->procs[procno];
			if (r->pid == 0 || t->lock_wait_us == 0 || r->queued ||
				(t->examined_ms != 0 && now_ms - t->examined_ms < PGB_REEXAMINE_MS))
				continue;
			w.procno = procno;
			w.wait_us = r->blocked_us;
			if (!examine(tick, &w))
				break;			/* no token left: next tick */
		}

	for (s = 0; s < pgb_snap_nscan(&tick->snap); s++)
	{
		PgbSessionRow *r;
		PgbProcTrack *t;
		Waiter		w;

		procno = pgb_snap_scan(&tick->snap, s);
		r = &tick->snap.rows[procno];
		t = &tick->procs[procno];
		if (r->pid == 0 || t->lock_wait_us == 0 || r->blocked_us < threshold_us)
			continue;
		w.procno = procno;
		w.wait_us = r->blocked_us;

		/*
		 * A wait that just crossed the action threshold is looked up at
		 * once, whatever the gap, so that shedding keeps up with a burst of
		 * inversions; each wait crosses once, and at most max_actions of
		 * them a tick.
		 */
		if (r->blocked_us >= action_us && t->examined_wait_us < action_us &&
			due < pgb_max_actions)
		{
			/* without a lookup token it is put off to a later tick */
			if (examine(tick, &w))
				due++;
			continue;
		}
		if (now_ms - t->examined_ms < PGB_REEXAMINE_MS)
			continue;
		if (best.procno < 0 || w.wait_us > best.wait_us)
			best = w;
	}

	/* the statistics: the longest waiter, one lookup per gap at most */
	if (best.procno < 0 || now_ms - last_lookup_ms < LOOKUP_GAP_MS)
		return;
	if (examine(tick, &best))
		last_lookup_ms = now_ms;
}
