/*-------------------------------------------------------------------------
 *
 * walbudget.c
 *	  WAL by class and the WAL budget's bucket (see walbudget.h).
 *
 * A process charges pgWalUsage.wal_bytes since its last charge: at every
 * statement end (ExecutorEnd, and after a utility statement), so that a
 * long transaction's WAL shows while it runs; at transaction end; at gate
 * passage; and at exit, before its admission slot is released, so that
 * the WAL of a session ended by pg_terminate_backend, FATAL or a lost
 * client is its class's.  The class is remembered once known: the abort
 * record written after the slot is gone is charged to it too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "replication/walsender.h"
#include "storage/lwlock.h"

#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "wal_bucket.h"
#include "walbudget.h"

bool		pgb_wal_xact_gated = false;
bool		pgb_wal_xact_deferred = false;

static ExecutorEnd_hook_type prev_ExecutorEnd_hook = NULL;

/* the commit being timed: when it began, 0 if none */
static instr_time commit_start;
static bool commit_timed = false;

/* pgWalUsage.wal_bytes when this process last charged its WAL */
static uint64 wal_charged = 0;

/* the class this session was admitted to, once seen; -1: not yet */
static int	my_class_group = -1;

/* The group this process's WAL is charged to: its class, or a pseudo-class. */
static int
my_wal_group(void)
{
	PgbBackendSlot *bslot;

	/*
	 * A session's class is fixed for its life (shmem.h), but a statement
	 * switched to a lower class (switch_to, runaway_switch.c) counts as
	 * that class's while the worker's mark is on: the WAL charged then (at
	 * the statement's end, before the worker sees it end) is the lower
	 * class's, and debits its budget.  One atomic read (pgb_slot_entry)
	 * while admitted.
	 */
	bslot = pgb_admitted ? pgb_my_slot() : NULL;
	if (bslot != NULL && bslot->pid == MyProcPid)
	{
		my_class_group = bslot->class_idx;
		return pgb_slot_entry(bslot);
	}
	if (my_class_group >= 0)
		return my_class_group;
	if (MyBackendType == B_AUTOVAC_WORKER)
		return PGB_GROUP_AUTOVACUUM;
	if (am_walsender)
		return PGB_GROUP_WALSENDER;
	if (MyBackendType == B_BG_WORKER)
		return PGB_GROUP_BGWORKER;
	if (MyBackendType == B_BACKEND)
		return PGB_GROUP_UNJUDGED;
	return PGB_GROUP_SYSTEM;
}

double
pgb_wal_budget_of(int entry, const PgbClass *c)
{
	return pgb_wal_limit(c ? c->wal : 0,
						 *((volatile double *) &pgb_gate->classes[entry].wal_effective));
}

void
pgb_wal_settle_locked(PgbGateClass *gc, double rate, TimestampTz now)
{
	uint64		bounded = pg_atomic_read_u64(&gc->wal_debit_bounded);
	uint64		deferred = pg_atomic_read_u64(&gc->wal_debit_deferred);

	if (gc->wal_tokens_at == 0)
		gc->wal_tokens = pgb_wal_burst(rate);
	else
		gc->wal_tokens = pgb_wal_refill(gc->wal_tokens, rate,
										(double) (now - gc->wal_tokens_at));
	gc->wal_tokens_at = now;
	gc->wal_tokens = pgb_wal_debit(gc->wal_tokens,
								   (double) (bounded - gc->wal_bounded_seen), rate, true);
	gc->wal_tokens = pgb_wal_debit(gc->wal_tokens,
								   (double) (deferred - gc->wal_deferred_seen), rate, false);
	gc->wal_bounded_seen = bounded;
	gc->wal_deferred_seen = deferred;
}

bool
pgb_wal_may_be_in_debt(PgbGateClass *gc, double rate)
{
	TimestampTz at = *((volatile TimestampTz *) &gc->wal_tokens_at);
	double		tokens = *((volatile double *) &gc->wal_tokens);
	TimestampTz next_release = *((volatile TimestampTz *) &gc->wal_next_release);
	TimestampTz now;
	uint64		pending;

	if (at == 0)
		return false;			/* never charged: the bucket is full */
	now = GetCurrentTimestamp();
	/* throttled sessions are being released one at a time: wait in turn */
	if (next_release > now)
		return true;
	pending = (pg_atomic_read_u64(&gc->wal_debit_bounded) -
			   *((volatile uint64 *) &gc->wal_bounded_seen)) +
		(pg_atomic_read_u64(&gc->wal_debit_deferred) -
		 *((volatile uint64 *) &gc->wal_deferred_seen));
	return pgb_wal_estimate(tokens, rate, (double) (now - at),
							(double) pending) < 0;
}

void
pgb_wal_charge(bool debit)
{
	uint64		now_bytes = pgWalUsage.wal_bytes;
	uint64		delta;
	int			group;

	/* a parallel worker's WAL is added to its leader's usage */
	if (pgb_gate == NULL || now_bytes <= wal_charged || IsParallelWorker())
		return;
	delta = now_bytes - wal_charged;
	wal_charged = now_bytes;
	group = my_wal_group();
	pg_atomic_fetch_add_u64(&pgb_gate->wal_bytes[group], delta);
	if (debit && group < PGB_MAX_SHARED_CLASSES)
	{
		double		rate = pgb_wal_budget_of(group, pgb_gate_class_of(group));
		PgbGateClass *gc = &pgb_gate->classes[group];

		/* lock-free: folded into the bucket by whoever waits (gate.h) */
		if (rate > 0)
		{
			/* the first charge starts the bucket, full */
			if (*((volatile TimestampTz *) &gc->wal_tokens_at) == 0)
			{
				LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
				pgb_wal_settle_locked(gc, rate, GetCurrentTimestamp());
				LWLockRelease(pgb_gate->lock);
			}
			pg_atomic_fetch_add_u64(pgb_wal_xact_deferred ? &gc->wal_debit_deferred :
									&gc->wal_debit_bounded, delta);
		}
	}
}

void
pgb_wal_xact_end(void)
{
	pgb_wal_charge(pgb_wal_xact_gated);
	pgb_wal_xact_gated = false;
	pgb_wal_xact_deferred = false;
}

uint64
pgb_wal_bytes_of(int group)
{
	return pg_atomic_read_u64(&pgb_gate->wal_bytes[group]);
}

static void
walbudget_ExecutorEnd(QueryDesc *queryDesc)
{
	if (prev_ExecutorEnd_hook)
		prev_ExecutorEnd_hook(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
	pgb_wal_charge(pgb_wal_xact_gated);
}

/*
 * The commit latency of a class: the time from PRE_COMMIT to COMMIT of a
 * transaction that has an xid (it writes a commit record and, with
 * synchronous_commit on, waits for its flush and its standbys): what a
 * class feels of the WAL.  Counted, with their time and those slower than
 * pg_budget.commit_latency_target: two or three atomic adds per writing
 * commit, no lock; a fourth for those past PGB_TAIL_COMMIT_FACTOR times
 * the target.
 */
static void
walbudget_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	int			group;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			commit_timed = pgb_gate != NULL && pgb_admitted && !IsParallelWorker() &&
				TransactionIdIsValid(GetTopTransactionIdIfAny());
			if (commit_timed)
				INSTR_TIME_SET_CURRENT(commit_start);
			break;
		case XACT_EVENT_COMMIT:
			if (commit_timed && (group = my_wal_group()) < PGB_MAX_SHARED_CLASSES)
			{
				instr_time	now;
				PgbGateClass *gc = &pgb_gate->classes[group];

				INSTR_TIME_SET_CURRENT(now);
				INSTR_TIME_SUBTRACT(now, commit_start);
				pg_atomic_fetch_add_u64(&gc->commit_us, INSTR_TIME_GET_MICROSEC(now));
				pg_atomic_fetch_add_u64(&gc->commits, 1);
				if (pgb_commit_latency_target > 0 &&
					INSTR_TIME_GET_MICROSEC(now) >= pgb_commit_latency_target * 1000)
				{
					pg_atomic_fetch_add_u64(&gc->commits_slow, 1);
					if (INSTR_TIME_GET_MICROSEC(now) >=
						PGB_TAIL_COMMIT_FACTOR * pgb_commit_latency_target * 1000)
						pg_atomic_fetch_add_u64(&gc->commits_tail, 1);
				}
			}
			commit_timed = false;
			break;
		case XACT_EVENT_ABORT:
			commit_timed = false;
			break;
		default:
			break;
	}
}

void
pgb_walbudget_init(void)
{
	RegisterXactCallback(walbudget_xact_callback, NULL);
	prev_ExecutorEnd_hook = ExecutorEnd_hook;
	ExecutorEnd_hook = walbudget_ExecutorEnd;
}
