/*-------------------------------------------------------------------------
 *
 * lockwatch.c
 *	  Who blocks whom, by class, and breaking priority inversions.
 *
 * Finding blockers takes ProcArrayLock and every lock-partition lock, so
 * it is done only for sessions that have waited longer than
 * pg_budget.lock_stats_threshold, the few longest first, each at most once
 * a second.  Statistics go to the lock matrix in shared memory under the
 * pg_budget lock; victims are signalled through shed.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/procarray.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "compat.h"
#include "pg_budget.h"
#include "worker.h"

/*
 * Bounds on blocker lookups: for the statistics, the longest waiter first,
 * at most one lookup every LOOKUP_GAP_MS, and the same waiter at most every
 * REEXAMINE_MS; besides, each wait once when it crosses lock_wait_threshold,
 * at most max_actions a tick.  All of them together draw on one bucket of
 * LOOKUPS_PER_SECOND (burst LOOKUP_BURST), so that a lock storm costs at
 * most that many ProcArrayLock-plus-partition-lock acquisitions a second;
 * a crossing that finds the bucket empty is looked up on a later tick.
 * Waiters of one tick that wait on the same lock in the same mode share
 * one lookup (the cache below).  A blocker is signalled at most every
 * REEXAMINE_MS.
 */
#define LOOKUP_GAP_MS			25
#define REEXAMINE_MS			250
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

	if (cache_tick_ms != tick->now_ms)
	{
		cache_tick_ms = tick->now_ms;
		ncached = 0;
	}
	for (i = 0; lock != NULL && i < ncached; i++)
		if (cache[i].lock == lock && cache[i].mode == mode)
		{
			*pids = cache[i].pids;
			*n = cache[i].n;
			return true;
		}
	if (!take_lookup_token(tick->now_ms))
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
	if (procno < 0 || procno >= tick->nprocs || tick->procs[procno].pid != pid)
		return -1;
	return procno;
}

/* Class of a group in the current table, or NULL for pseudo/removed ones. */
static const PgbClass *
class_of(const PgbClassTable *table, int group)
{
	int			i;

	if (group < 0 || group >= PGB_MAX_SHARED_CLASSES)
		return NULL;
	i = pgb_find_class(table, pgb_shared->classes[group].name);
	return i < 0 ? NULL : &table->classes[i];
}

static bool
examine(PgbTick *tick, const PgbClassTable *table, Waiter *w, int *actions_left)
{
	PgbProcTrack *waiter = &tick->procs[w->procno];
	const PgbClass *wclass = class_of(table, waiter->group);
	int32	   *pids;
	int			n,
				i;
	bool		new_wait;
	TimestampTz wait_start = tick->now - waiter->lock_wait_us;

	if (!blockers_of(tick, w->procno, waiter->pid, &pids, &n))
		return false;
	waiter->examined_ms = tick->now_ms;
	waiter->examined_wait_us = w->wait_us;

	/* a wait counts once, however often it is looked at */
	new_wait = waiter->counted_wait == 0 ||
		(waiter->counted_wait > wait_start + 1000 ||
		 wait_start > waiter->counted_wait + 1000);
	if (new_wait)
		waiter->counted_wait = wait_start;

	for (i = 0; i < n; i++)
	{
		int			bno = procno_of(tick, pids[i]);
		PgbProcTrack *blocker;
		const PgbClass *bclass;
		PgbShedAction action;
		PgbVictim	v;
		PgbLockStat *ls;
		char		reason[PGB_REASON_LEN];

		if (bno < 0)
			continue;
		blocker = &tick->procs[bno];

		LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
		ls = &pgb_shared->locks[waiter->group][blocker->group];
		if (new_wait)
			ls->waits++;
		/* the statement's whole blocked time, the one the worker acts on */
		if (waiter->blocked_us > ls->longest_us)
			ls->longest_us = waiter->blocked_us;
		LWLockRelease(pgb_shared->lock);

		/* a priority inversion: a higher class waits on a lower one */
		bclass = class_of(table, blocker->group);
		if (wclass == NULL || bclass == NULL || !blocker->judged ||
			blocker->exempt || bclass->priority >= wclass->priority)
			continue;
		waiter->inverted = true;
		if (w->wait_us < (int64) pgb_lock_wait_threshold * 1000)
			continue;
		if (*actions_left <= 0 ||
			tick->now_ms - blocker->action_ms < REEXAMINE_MS)
			continue;

		v.procno = bno;
		v.pid = blocker->pid;
		v.state = blocker->state;
		v.state_since_ms = blocker->state_since_ms;
		v.cancelled = blocker->cancelled;
		action = pgb_shed_action(bclass->shed, &v);
		if (action == PGB_ACTION_NONE)
			continue;

		snprintf(reason, sizeof(reason),
				 "it blocked pid %d of class \"%s\" (priority %d) for %.1f s on a lock",
				 waiter->pid, wclass->name, wclass->priority,
				 w->wait_us / 1000000.0);
		if (pgb_shed(tick, bno, action, "lock", reason))
		{
			(*actions_left)--;
			if (pgb_shedding == PGB_SHEDDING_ON)
			{
				LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
				pgb_shared->locks[waiter->group][blocker->group].inversions++;
				LWLockRelease(pgb_shared->lock);
			}
		}
	}
	return true;
}

void
pgb_watch_locks(PgbTick *tick, const PgbClassTable *table, int *actions_left)
{
	static int64 last_lookup_ms = 0;
	Waiter		best = {-1, 0};
	int			procno;
	int			due = 0;
	int64		action_us = (int64) pgb_lock_wait_threshold * 1000;
	int64		threshold_us = Min((int64) pgb_lock_stats_threshold * 1000, action_us);

	for (procno = 0; procno < tick->nprocs; procno++)
	{
		PgbProcTrack *t = &tick->procs[procno];
		Waiter		w;

		if (t->pid == 0 || t->lock_wait_us == 0 || t->blocked_us < threshold_us)
			continue;
		w.procno = procno;
		w.wait_us = t->blocked_us;

		/*
		 * A wait that just crossed the action threshold is looked up at
		 * once, whatever the gap, so that shedding keeps up with a burst of
		 * inversions; each wait crosses once, and at most max_actions of
		 * them a tick.
		 */
		if (t->blocked_us >= action_us && t->examined_wait_us < action_us &&
			due < pgb_max_actions)
		{
			/* without a lookup token it is put off to a later tick */
			if (examine(tick, table, &w, actions_left))
				due++;
			continue;
		}
		if (tick->now_ms - t->examined_ms < REEXAMINE_MS)
			continue;
		if (best.procno < 0 || w.wait_us > best.wait_us)
			best = w;
	}

	/* the statistics: the longest waiter, one lookup per gap at most */
	if (best.procno < 0 || tick->now_ms - last_lookup_ms < LOOKUP_GAP_MS)
		return;
	if (examine(tick, table, &best, actions_left))
		last_lookup_ms = tick->now_ms;
}
