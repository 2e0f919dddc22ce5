/*-------------------------------------------------------------------------
 *
 * gate_shmem.c
 *	  The transaction gate's shared state (its rules are in gate.h): the
 *	  part of the shared memory, the steps every path takes under the gate
 *	  lock (count in, unqueue, grant), what the worker sets and what the
 *	  sampler and the views read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "gate.h"
#include "gate_place.h"
#include "guc.h"
#include "shmem.h"

PgbGateShared *pgb_gate = NULL;

static int
gate_nslots(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS;
}

static Size
gate_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(PgbGateShared));

	size = add_size(size, MAXALIGN(mul_size(gate_nslots(), sizeof(PgbGateSlot))));
	size = add_size(size, MAXALIGN(mul_size(gate_nslots(), sizeof(PgbQueueLink))));
	return size;
}

/* Called with AddinShmemInitLock held (shmem.c). */
static void
gate_shmem_startup(bool first pg_attribute_unused())
{
	bool		found;
	char	   *base;
	int			i;

	base = ShmemInitStruct("pg_budget gate", gate_shmem_size(), &found);
	pgb_gate = (PgbGateShared *) base;
	if (found)
		return;
	memset(base, 0, gate_shmem_size());
	pgb_gate->lock = &(GetNamedLWLockTranche("pg_budget gate"))->lock;
	pgb_gate->nslots = gate_nslots();
	pgb_gate->slots = (PgbGateSlot *) (base + MAXALIGN(sizeof(PgbGateShared)));
	pgb_gate->links = (PgbQueueLink *) ((char *) pgb_gate->slots +
										MAXALIGN(mul_size(gate_nslots(), sizeof(PgbGateSlot))));
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		PgbGateClass *gc = &pgb_gate->classes[i];

		pg_atomic_init_u32(&gc->in_progress, 0);
		pg_atomic_init_u32(&gc->queued, 0);
		pg_atomic_init_u32(&gc->peak, 0);
		pg_atomic_init_u64(&gc->entered, 0);
		pg_atomic_init_u64(&gc->wal_debit_bounded, 0);
		pg_atomic_init_u64(&gc->commits, 0);
		pg_atomic_init_u64(&gc->commit_us, 0);
		pg_atomic_init_u64(&gc->commits_slow, 0);
		pg_atomic_init_u64(&gc->commits_tail, 0);
		pg_atomic_init_u64(&gc->wal_debit_deferred, 0);
		gc->effective = PGB_UNLIMITED;
		pgb_queue_init(&gc->queue);
	}
	for (i = 0; i < PGB_HIST_BUCKETS; i++)
		pg_atomic_init_u64(&pgb_gate->hist[i], 0);
	for (i = 0; i < PGB_NUM_GROUPS; i++)
		pg_atomic_init_u64(&pgb_gate->wal_bytes[i], 0);
	for (i = 0; i < pgb_gate->nslots; i++)
		pgb_queue_link_init(&pgb_gate->links[i]);
}

static const PgbShmemPart gate_shmem_part = {
	.size = gate_shmem_size,
	.startup = gate_shmem_startup,
	.tranche = "pg_budget gate",
	.nlocks = 1,
};

int
pgb_gate_my_procno(void)
{
	int			procno;

	if (MyProc == NULL || pgb_gate == NULL)
		return -1;
	procno = PGB_PROCNO(MyProc);
	return procno >= 0 && procno < pgb_gate->nslots ? procno : -1;
}

/* The class of an entry in this backend's table, or NULL. */
const PgbClass *
pgb_gate_class_of(int entry)
{
	const PgbClassTable *table = pgb_current_table(NULL);
	int			i;

	/* our entry's name is stable while we are connected (shmem.h) */
	i = pgb_find_class(table, pgb_shared->classes[entry].name);
	return i < 0 ? NULL : &table->classes[i];
}

static void
gate_note_peak(PgbGateClass *gc, uint32 now_in)
{
	uint32		peak = pg_atomic_read_u32(&gc->peak);

	while (now_in > peak &&
		   !pg_atomic_compare_exchange_u32(&gc->peak, &peak, now_in))
		;
}

/*
 * Take procno out of its class's queue and count its wait; caller holds
 * the gate lock exclusively.  pgb_queue_pop has taken it out already when
 * popped is true.
 */
void
pgb_gate_unqueue_locked(PgbGateClass *gc, int procno, bool popped, TimestampTz now)
{
	if (!popped)
		(void) pgb_queue_remove(&gc->queue, pgb_gate->links, procno);
	pg_atomic_write_u32(&gc->queued, (uint32) gc->queue.count);
	gc->wait_ms += (now - pgb_gate->slots[procno].queued_at) / 1000.0;
}

/* A transaction of gc was counted in in_progress, now_in of them. */
void
pgb_gate_counted_in(PgbGateClass *gc, uint32 now_in)
{
	gate_note_peak(gc, now_in);
	pg_atomic_fetch_add_u64(&gc->entered, 1);
}

/*
 * Hand free places of an entry's class to its queued backends, in order.
 * Caller holds the gate lock exclusively.  Returns how many were woken.
 */
int
pgb_gate_grant_locked(int entry, int limit)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	TimestampTz now = 0;
	int			woken = 0;

	while (gc->queue.count > 0)
	{
		uint32		cur = pg_atomic_read_u32(&gc->in_progress);
		int			procno;
		PgbGateSlot *slot;

		if (pgb_gate_grantable((int) cur, limit, gc->queue.count) <= 0)
			break;
		if (!pg_atomic_compare_exchange_u32(&gc->in_progress, &cur, cur + 1))
			continue;
		pgb_gate_counted_in(gc, cur + 1);
		procno = pgb_queue_pop(&gc->queue, pgb_gate->links);
		if (now == 0)
			now = GetCurrentTimestamp();
		pgb_gate_unqueue_locked(gc, procno, true, now);
		slot = &pgb_gate->slots[procno];
		slot->state = PGB_GATE_GRANTED;
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
		woken++;
	}
	return woken;
}

void
pgb_gate_snapshot(PgbGateSnapshot *out)
{
	int			i;

	LWLockAcquire(pgb_gate->lock, LW_SHARED);
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		PgbGateClass *gc = &pgb_gate->classes[i];

		out[i].in_progress = (int) pg_atomic_read_u32(&gc->in_progress);
		out[i].queued = gc->queue.count;
		out[i].peak = (int) pg_atomic_read_u32(&gc->peak);
		out[i].effective = gc->effective;
		out[i].entered = pg_atomic_read_u64(&gc->entered);
		out[i].waited = gc->waited;
		out[i].timeouts = gc->timeouts;
		out[i].let_through = gc->let_through;
		out[i].wait_ms = gc->wait_ms;
		out[i].wal_effective = gc->wal_effective;
		out[i].wal_bytes = pg_atomic_read_u64(&pgb_gate->wal_bytes[i]);
		out[i].wal_throttles = gc->wal_throttles;
		out[i].wal_throttled_ms = gc->wal_throttled_ms;
		out[i].wal_rate_avg = gc->wal_rate_avg;
	}
	LWLockRelease(pgb_gate->lock);
}

bool
pgb_gate_is_queued(int procno)
{
	if (pgb_gate == NULL || procno < 0 || procno >= pgb_gate->nslots)
		return false;
	return *((volatile PgbGateState *) &pgb_gate->slots[procno].state) != PGB_GATE_OUT;
}

void
pgb_gate_set_effective(int entry, int effective)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];

	if (gc->effective == effective)
		return;
	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	gc->effective = effective;
	LWLockRelease(pgb_gate->lock);
}

/* The worker's WAL rate for an entry (0: none) and its moving average. */
void
pgb_gate_set_wal(int entry, double effective_rate, double rate_avg,
				 double xact_bytes)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	gc->wal_effective = effective_rate;
	gc->wal_rate_avg = rate_avg;
	gc->wal_xact_bytes = xact_bytes;
	LWLockRelease(pgb_gate->lock);
}

/* An entry's counters, lock-free (gate_read.h). */
void
pgb_gate_read_counters(int entry, PgbGateCounters *out)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];

	out->in_progress = (int) pg_atomic_read_u32(&gc->in_progress);
	out->queued = (int) pg_atomic_read_u32(&gc->queued);
	out->transactions = pg_atomic_read_u64(&gc->entered);
	out->commits = pg_atomic_read_u64(&gc->commits);
	out->commit_us = pg_atomic_read_u64(&gc->commit_us);
	out->commits_slow = pg_atomic_read_u64(&gc->commits_slow);
	out->commits_tail = pg_atomic_read_u64(&gc->commits_tail);
}

/*
 * What the sampler reads of a backend's gate slot, without the lock (a
 * hint, gate.h): queued or throttled, the waiter it was let through for
 * (0: none), whether it holds a place.
 */
void
pgb_gate_read_hints(int procno, bool *queued, int *borrowed_for, bool *holding)
{
	volatile PgbGateSlot *slot;

	*queued = false;
	*borrowed_for = 0;
	*holding = false;
	if (pgb_gate == NULL || procno < 0 || procno >= pgb_gate->nslots)
		return;
	slot = &pgb_gate->slots[procno];
	*queued = slot->state != PGB_GATE_OUT;
	*borrowed_for = slot->borrowed_for;
	*holding = slot->holding;
}

bool
pgb_gate_any_waiting(void)
{
	int			e;

	if (pgb_gate == NULL)
		return false;
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		PgbGateClass *gc = &pgb_gate->classes[e];

		/*
		 * Both counters are raised under the gate lock as a slot starts to
		 * wait (gate_queue.c, gate_walwait.c), lowered as it stops.
		 */
		if (pg_atomic_read_u32(&gc->queued) != 0 ||
			*((volatile int *) &gc->throttled) != 0)
			return true;
	}
	return false;
}

/* A recycled entry starts with fresh counters (no session is in it). */
void
pgb_gate_forget(int entry)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	pg_atomic_write_u32(&gc->peak, pg_atomic_read_u32(&gc->in_progress));
	pg_atomic_write_u64(&gc->entered, 0);
	gc->effective = PGB_UNLIMITED;
	gc->waited = 0;
	gc->timeouts = 0;
	gc->let_through = 0;
	gc->wait_ms = 0;
	gc->wal_effective = 0;
	gc->wal_tokens_at = 0;
	gc->wal_next_release = 0;
	gc->wal_xact_bytes = 0;
	gc->wal_bounded_seen = pg_atomic_read_u64(&gc->wal_debit_bounded);
	gc->wal_deferred_seen = pg_atomic_read_u64(&gc->wal_debit_deferred);
	gc->wal_throttles = 0;
	gc->wal_throttled_ms = 0;
	gc->wal_rate_avg = 0;
	pg_atomic_write_u64(&pgb_gate->wal_bytes[entry], 0);
	LWLockRelease(pgb_gate->lock);
}

void
pgb_gate_reset(void)
{
	int			i;

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		PgbGateClass *gc = &pgb_gate->classes[i];

		pg_atomic_write_u32(&gc->peak, pg_atomic_read_u32(&gc->in_progress));
		pg_atomic_write_u64(&gc->entered, 0);
		gc->waited = 0;
		gc->timeouts = 0;
		gc->let_through = 0;
		gc->wait_ms = 0;
		gc->wal_throttles = 0;
		gc->wal_throttled_ms = 0;
	}
	for (i = 0; i < PGB_HIST_BUCKETS; i++)
		pg_atomic_write_u64(&pgb_gate->hist[i], 0);
	for (i = 0; i < PGB_NUM_GROUPS; i++)
		pg_atomic_write_u64(&pgb_gate->wal_bytes[i], 0);
	LWLockRelease(pgb_gate->lock);
}

/* The gate's part of the shared memory (shmem.c's registry). */
void
pgb_gate_shmem_init(void)
{
	pgb_shmem_register(&gate_shmem_part);
}

pg_atomic_uint64 *
pgb_gate_histogram(void)
{
	return pgb_gate->hist;
}
