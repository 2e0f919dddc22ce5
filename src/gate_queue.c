/*-------------------------------------------------------------------------
 *
 * gate_queue.c
 *	  The gate's queue: a transaction over its class's active limit waits
 *	  at its start, first come first served, up to queue_timeout, and is
 *	  refused (53400) after it; the places handed on in order, by a leaver
 *	  or by the worker after it moves a limit; a queued session that blocks
 *	  others let through.  Under the gate lock (gate.h); the list itself is
 *	  queue_math.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "events.h"
#include "gate.h"
#include "gate_place.h"
#include "guc.h"
#include "shmem.h"
#include "walbudget.h"

/* A waiting session looks at its client's socket this often (ms). */
#define GATE_CLIENT_CHECK_MS	1000

static uint32 queue_wait_event = 0;

void
pgb_gate_refuse(const PgbClass *c, int limit, int waited_ms, int in_progress,
				int queued, int timeout_ms)
{
	int			retry_ms = pgb_gate_retry_after_ms(pgb_retry_after, pgb_random_unit());
	char		reason[PGB_REASON_LEN];
	char		conf[64];

	if (c->active != PGB_UNLIMITED && c->active == limit)
		snprintf(conf, sizeof(conf), "active=%d", c->active);
	else if (c->active != PGB_UNLIMITED)
		snprintf(conf, sizeof(conf), "active=%d, lowered to %d by pg_budget under pressure",
				 c->active, limit);
	else
		snprintf(conf, sizeof(conf), "no active limit configured, %d set by pg_budget under pressure",
				 limit);

	snprintf(reason, sizeof(reason), "queue timeout after %d ms: %d in progress, %d queued, limit %d",
			 waited_ms, in_progress, queued, limit);
	pgb_refusal(c->name, MyProcPid, pgb_my_slot() ? pgb_my_slot()->rolename : NULL,
				"queue timeout", "gate", reason);

	if (timeout_ms == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("pg_budget: class \"%s\" is at its limit of %d active transactions",
						c->name, limit),
				 errdetail("Class \"%s\" has %d transactions in progress (%s) and queue_timeout=0 refuses at once.",
						   c->name, in_progress, conf),
				 errhint("Retry after %d ms.", retry_ms)));
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("pg_budget: class \"%s\" is at its limit of %d active transactions",
					c->name, limit),
			 errdetail("The transaction waited %d ms (queue_timeout) for its turn; class \"%s\" has %d transactions in progress and %d queued (%s).",
					   waited_ms, c->name, in_progress, queued, conf),
			 errhint("Retry after %d ms.", retry_ms)));
}

/* The queue wait itself; the caller cleans up if it throws. */
static void
queue_wait_loop(const PgbClass *c, int entry, int procno, int limit,
				int timeout_ms)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	PgbGateSlot *slot = &pgb_gate->slots[procno];
	int64		start_ms = pgb_monotonic_ms();

	for (;;)
	{
		int64		waited = pgb_monotonic_ms() - start_ms;
		long		sleep_ms = GATE_CLIENT_CHECK_MS;

		if (*((volatile PgbGateState *) &slot->state) == PGB_GATE_GRANTED)
			break;
		if (timeout_ms >= 0)
		{
			if (waited >= timeout_ms)
			{
				int			in_progress;
				int			queued;
				bool		granted;

				LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
				granted = slot->state == PGB_GATE_GRANTED;
				if (!granted)
				{
					pgb_gate_unqueue_locked(gc, procno, false, GetCurrentTimestamp());
					gc->timeouts++;
					pgb_gate_slot_out(slot);
				}
				in_progress = (int) pg_atomic_read_u32(&gc->in_progress);
				queued = gc->queue.count;
				LWLockRelease(pgb_gate->lock);
				if (granted)
					break;
				pgb_gate_refuse(c, limit, (int) waited, in_progress, queued, timeout_ms);
			}
			sleep_ms = Min(sleep_ms, (long) (timeout_ms - waited));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(1L, sleep_ms), queue_wait_event);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		pgb_gate_check_client();
	}
}

typedef struct QueueWait
{
	const PgbClass *c;
	int			entry;
	int			procno;
	int			limit;
	int			timeout_ms;
} QueueWait;

static void
queue_wait_run(void *arg)
{
	QueueWait  *w = (QueueWait *) arg;

	queue_wait_loop(w->c, w->entry, w->procno, w->limit, w->timeout_ms);
}

/*
 * Wait in the queue until a place is handed over; may throw (cancel,
 * statement_timeout, the queue timeout, terminate), leaving the queue
 * first (pgb_gate_run_wait).
 */
void
pgb_gate_wait_for_turn(const PgbClass *c, int entry, int procno, int limit,
					   int timeout_ms)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	PgbGateSlot *slot = &pgb_gate->slots[procno];
	QueueWait	w = {c, entry, procno, limit, timeout_ms};

	pgb_gate_register_exit();
	if (queue_wait_event == 0)
		queue_wait_event = pgb_wait_event("PgBudgetQueue");

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	pgb_gate_slot_wait_locked(slot, entry, PGB_GATE_QUEUED);
	(void) pgb_queue_push(&gc->queue, pgb_gate->links, procno);
	gc->waited++;
	/* queued mirrors queue.count; a full barrier before in_progress is read */
	pg_atomic_fetch_add_u32(&gc->queued, 1);
	(void) pgb_gate_grant_locked(entry, limit);
	LWLockRelease(pgb_gate->lock);

	/* still queued: a worker stretched by calm looks now (shmem.h) */
	if (*((volatile PgbGateState *) &slot->state) != PGB_GATE_GRANTED)
		pgb_wake_worker();

	pgb_gate_run_wait(queue_wait_run, &w);

	/* granted: the granter counted us in in_progress */
	pgb_gate_slot_out(slot);
	pgb_gate_held_entry = entry;
	slot->holding = true;
	pgb_wal_xact_gated = true;
}

/* Hand free places to waiters: after a limit moved, and each tick. */
int
pgb_gate_grant(int entry, int configured)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	int			woken;

	if (pg_atomic_read_u32(&gc->queued) == 0)
		return 0;
	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	woken = pgb_gate_grant_locked(entry, pgb_gate_limit(configured, gc->effective));
	LWLockRelease(pgb_gate->lock);
	return woken;
}

/*
 * Let a queued session through at once, past its class's limit: it holds
 * a lock someone else waits for.  False if it was no longer queued.
 */
bool
pgb_gate_let_through(int procno, int pid, int waiter_pid)
{
	PgbGateSlot *slot = &pgb_gate->slots[procno];
	bool		done = false;

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	if (slot->state == PGB_GATE_QUEUED && slot->pid == pid)
	{
		PgbGateClass *gc = &pgb_gate->classes[slot->entry];

		pgb_gate_unqueue_locked(gc, procno, false, GetCurrentTimestamp());
		pgb_gate_counted_in(gc, pg_atomic_add_fetch_u32(&gc->in_progress, 1));
		gc->let_through++;
		slot->let_through = true;
		slot->borrowed_for = waiter_pid;
		slot->state = PGB_GATE_GRANTED;
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
		done = true;
	}
	else if (slot->state == PGB_GATE_THROTTLED && slot->pid == pid &&
			 !slot->let_through)
	{
		/* no place is taken while WAL-throttled: only wake it */
		pgb_gate->classes[slot->entry].let_through++;
		slot->let_through = true;
		slot->borrowed_for = waiter_pid;
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
		done = true;
	}
	LWLockRelease(pgb_gate->lock);
	return done;
}

/*
 * Release an entry's queue and its WAL waiters at once, past any limit:
 * its class was removed from the table, or pg_budget.enabled was turned
 * off.  The effective limit is forgotten too.  Takes the gate lock; the
 * worker calls it, and only when someone waits (a lock-free hint).
 * Returns how many sessions were woken.
 */
int
pgb_gate_release(int entry)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	int			woken = 0;
	int			procno;

	if (pg_atomic_read_u32(&gc->queued) == 0 &&
		*((volatile int *) &gc->throttled) == 0 &&
		*((volatile int *) &gc->effective) == PGB_UNLIMITED)
		return 0;
	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	gc->effective = PGB_UNLIMITED;
	woken = pgb_gate_grant_locked(entry, PGB_UNLIMITED);
	if (gc->throttled > 0)
		for (procno = 0; procno < pgb_gate->nslots; procno++)
		{
			PgbGateSlot *slot = &pgb_gate->slots[procno];

			if (slot->state == PGB_GATE_THROTTLED && slot->entry == entry &&
				!slot->let_through)
			{
				slot->let_through = true;
				SetLatch(&ProcGlobal->allProcs[procno].procLatch);
				woken++;
			}
		}
	LWLockRelease(pgb_gate->lock);
	return woken;
}
