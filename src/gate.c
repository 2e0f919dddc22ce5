/*-------------------------------------------------------------------------
 *
 * gate.c
 *	  The transaction gate: at most `active` transactions of a class in
 *	  progress at once; the others wait at their start, first come first
 *	  served, up to queue_timeout.  Shared state and its locking rules are
 *	  in gate.h; the queue arithmetic is in queue_math.c.
 *
 * A transaction enters at the first statement that does work: after parse
 * analysis of a query (post_parse_analyze_hook), or at ExecutorStart for a
 * cached plan (extended protocol, SPI after a COMMIT inside a procedure),
 * or before a utility statement runs (ProcessUtility_hook).  Transaction
 * control, SET/RESET/SHOW, DISCARD, PREPARE/DEALLOCATE, VACUUM/ANALYZE and
 * CHECKPOINT never enter.  It leaves at commit, abort or PREPARE
 * TRANSACTION (XactCallback), so a session idle in a transaction keeps its
 * place.  Parse analysis takes relation locks before any hook runs: a
 * queued session may hold some, and the worker lets such a session
 * through when it blocks anyone (lockwatch).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "access/parallel.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "gate.h"
#include "pg_budget.h"

PgbGateShared *pgb_gate = NULL;

static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility_hook = NULL;

/* Passages through the gate, one in this many timed for the histogram. */
#define GATE_TIMING_EVERY	16
static uint32 passages = 0;

/* This backend's place: the entry whose in_progress it counts in, or -1. */
static int	held_entry = -1;

/* The entry whose queue this backend may be in, or -1. */
static int	queued_entry = -1;
static bool exit_registered = false;
static uint32 queue_wait_event = 0;
static uint32 wal_wait_event = 0;

/* pgWalUsage.wal_bytes when this process last charged its WAL */
static uint64 wal_charged = 0;

/* this transaction passed the gate: its WAL is charged to the bucket */
static bool xact_gated = false;

static int
gate_nslots(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS;
}

Size
pgb_gate_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(PgbGateShared));

	size = add_size(size, MAXALIGN(mul_size(gate_nslots(), sizeof(PgbGateSlot))));
	size = add_size(size, MAXALIGN(mul_size(gate_nslots(), sizeof(PgbQueueLink))));
	return size;
}

/* Called with AddinShmemInitLock held (shmem.c). */
void
pgb_gate_shmem_startup(void)
{
	bool		found;
	char	   *base;
	int			i;

	base = ShmemInitStruct("pg_budget gate", pgb_gate_shmem_size(), &found);
	pgb_gate = (PgbGateShared *) base;
	if (found)
		return;
	memset(base, 0, pgb_gate_shmem_size());
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

static int
my_procno(void)
{
	int			procno;

	if (MyProc == NULL || pgb_gate == NULL)
		return -1;
	procno = PGB_PROCNO(MyProc);
	return procno >= 0 && procno < pgb_gate->nslots ? procno : -1;
}

/* The class of an entry in this backend's table, or NULL. */
static const PgbClass *
class_of_entry(int entry)
{
	const PgbClassTable *table = pgb_current_table(NULL);
	int			i;

	/* our entry's name is stable while we are connected (state.h) */
	i = pgb_find_class(table, pgb_shared->classes[entry].name);
	return i < 0 ? NULL : &table->classes[i];
}

static void
note_peak(PgbGateClass *gc, uint32 now_in)
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
static void
unqueue_locked(PgbGateClass *gc, int procno, bool popped, TimestampTz now)
{
	if (!popped)
		(void) pgb_queue_remove(&gc->queue, pgb_gate->links, procno);
	pg_atomic_write_u32(&gc->queued, (uint32) gc->queue.count);
	gc->wait_ms += (now - pgb_gate->slots[procno].queued_at) / 1000.0;
}

/* A transaction of gc was counted in in_progress, now_in of them. */
static void
counted_in(PgbGateClass *gc, uint32 now_in)
{
	note_peak(gc, now_in);
	pg_atomic_fetch_add_u64(&gc->entered, 1);
}

/*
 * Hand free places of an entry's class to its queued backends, in order.
 * Caller holds the gate lock exclusively.  Returns how many were woken.
 */
static int
grant_locked(int entry, int limit)
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
		counted_in(gc, cur + 1);
		procno = pgb_queue_pop(&gc->queue, pgb_gate->links);
		if (now == 0)
			now = GetCurrentTimestamp();
		unqueue_locked(gc, procno, true, now);
		slot = &pgb_gate->slots[procno];
		slot->state = PGB_GATE_GRANTED;
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
		woken++;
	}
	return woken;
}

/* The group this process's WAL is charged to: its class, or a pseudo-class. */
static int
my_wal_group(void)
{
	PgbBackendSlot *bslot = pgb_admitted ? pgb_my_slot() : NULL;

	if (bslot != NULL && bslot->pid == MyProcPid)
		return bslot->class_idx;
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

/* The WAL budget of a class entry in force in this backend, bytes/s. */
static double
wal_budget_of(int entry, const PgbClass *c)
{
	return pgb_wal_limit(c ? c->wal : 0,
						 *((volatile double *) &pgb_gate->classes[entry].wal_effective));
}

/* Refill an entry's bucket to now; caller holds the gate lock. */
static void
wal_refill_locked(PgbGateClass *gc, double rate, TimestampTz now)
{
	if (gc->wal_tokens_at == 0)
		gc->wal_tokens = pgb_wal_burst(rate);
	else
		gc->wal_tokens = pgb_wal_refill(gc->wal_tokens, rate,
										(double) (now - gc->wal_tokens_at));
	gc->wal_tokens_at = now;
}

/*
 * Charge the WAL this process wrote since its last charge to its group;
 * debit: also to its class's WAL bucket (a transaction that passed the
 * gate; VACUUM, which never does, is counted but never throttled).  At
 * every transaction end and gate passage.  Never throws.
 */
static void
charge_wal(bool debit)
{
	uint64		now_bytes = pgWalUsage.wal_bytes;
	uint64		delta;
	int			group;

	if (pgb_gate == NULL || now_bytes <= wal_charged)
		return;
	delta = now_bytes - wal_charged;
	wal_charged = now_bytes;
	group = my_wal_group();
	pg_atomic_fetch_add_u64(&pgb_gate->wal_bytes[group], delta);
	if (debit && group < PGB_MAX_SHARED_CLASSES)
	{
		const PgbClass *c = class_of_entry(group);
		double		rate = wal_budget_of(group, c);

		if (rate > 0)
		{
			PgbGateClass *gc = &pgb_gate->classes[group];

			LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
			wal_refill_locked(gc, rate, GetCurrentTimestamp());
			gc->wal_tokens -= (double) delta;
			LWLockRelease(pgb_gate->lock);
		}
	}
}

uint64
pgb_gate_wal_bytes(int group)
{
	return pg_atomic_read_u64(&pgb_gate->wal_bytes[group]);
}

/* Leave the gate, or the queue; idempotent.  Never throws. */
static void
gate_leave(void)
{
	int			procno = my_procno();

	if (queued_entry >= 0 && procno >= 0)
	{
		PgbGateSlot *slot = &pgb_gate->slots[procno];
		PgbGateClass *gc = &pgb_gate->classes[queued_entry];

		LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
		if (slot->state == PGB_GATE_QUEUED)
			unqueue_locked(gc, procno, false, GetCurrentTimestamp());
		else if (slot->state == PGB_GATE_GRANTED)
			held_entry = queued_entry;	/* handed a place: give it back */
		else if (slot->state == PGB_GATE_THROTTLED)
			gc->wal_throttled_ms += (GetCurrentTimestamp() - slot->queued_at) / 1000.0;
		slot->state = PGB_GATE_OUT;
		slot->pid = 0;
		LWLockRelease(pgb_gate->lock);
		queued_entry = -1;
	}
	if (held_entry >= 0)
	{
		int			entry = held_entry;
		PgbGateClass *gc = &pgb_gate->classes[entry];

		held_entry = -1;
		pg_atomic_fetch_sub_u32(&gc->in_progress, 1);
		/* a full barrier above; see gate.h for why this read suffices */
		if (pg_atomic_read_u32(&gc->queued) > 0)
		{
			const PgbClass *c = class_of_entry(entry);

			LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
			(void) grant_locked(entry, pgb_gate_limit(c ? c->active : PGB_UNLIMITED,
													  gc->effective));
			LWLockRelease(pgb_gate->lock);
		}
	}
}

static void
gate_exit(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	gate_leave();
}

/* Before this backend first holds or waits for a place: leave at exit. */
static void
register_exit(void)
{
	if (!exit_registered)
	{
		before_shmem_exit(gate_exit, (Datum) 0);
		exit_registered = true;
	}
}

static void
gate_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* a parallel worker's WAL is added to its leader's usage */
			if (!IsParallelWorker())
				charge_wal(xact_gated);
			xact_gated = false;
			if (held_entry >= 0 || queued_entry >= 0)
				gate_leave();
			break;
		default:
			break;
	}
}

static void
refuse(const PgbClass *c, int limit, int waited_ms, int in_progress,
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

/* Wait in the queue until a place is handed over; may throw. */
static void
wait_for_turn(const PgbClass *c, int entry, int procno, int limit,
			  int timeout_ms)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	PgbGateSlot *slot = &pgb_gate->slots[procno];
	int64		start_ms = pgb_monotonic_ms();

	register_exit();
	if (queue_wait_event == 0)
		queue_wait_event = pgb_wait_event("PgBudgetQueue");

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	queued_entry = entry;
	slot->pid = MyProcPid;
	slot->entry = entry;
	slot->let_through = false;
	slot->queued_at = GetCurrentTimestamp();
	slot->state = PGB_GATE_QUEUED;
	(void) pgb_queue_push(&gc->queue, pgb_gate->links, procno);
	gc->waited++;
	/* queued mirrors queue.count; a full barrier before in_progress is read */
	pg_atomic_fetch_add_u32(&gc->queued, 1);
	(void) grant_locked(entry, limit);
	LWLockRelease(pgb_gate->lock);

	for (;;)
	{
		int64		waited = pgb_monotonic_ms() - start_ms;
		long		remaining = -1;
		int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

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
					unqueue_locked(gc, procno, false, GetCurrentTimestamp());
					gc->timeouts++;
					slot->state = PGB_GATE_OUT;
					slot->pid = 0;
				}
				in_progress = (int) pg_atomic_read_u32(&gc->in_progress);
				queued = gc->queue.count;
				LWLockRelease(pgb_gate->lock);
				if (granted)
					break;
				queued_entry = -1;
				refuse(c, limit, (int) waited, in_progress, queued, timeout_ms);
			}
			remaining = (long) (timeout_ms - waited);
			events |= WL_TIMEOUT;
		}
		(void) WaitLatch(MyLatch, events, remaining, queue_wait_event);
		ResetLatch(MyLatch);
		/* cancel, statement_timeout, terminate: gate_leave() cleans up */
		CHECK_FOR_INTERRUPTS();
	}

	/* granted: the granter counted us in in_progress */
	slot->state = PGB_GATE_OUT;
	slot->pid = 0;
	queued_entry = -1;
	held_entry = entry;
	xact_gated = true;
}

/*
 * Wait while the class's WAL bucket is in debt: before the transaction
 * takes a place (and any lock of its own), interruptibly, with its own
 * wait event; the worker lets it through at once when it blocks anyone.
 * May throw (cancel, timeouts, terminate): gate_leave() cleans up.
 */
static void
wait_for_wal(int entry, int procno, double rate)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	PgbGateSlot *slot = &pgb_gate->slots[procno];
	double		wait_ms;

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	wal_refill_locked(gc, rate, GetCurrentTimestamp());
	wait_ms = pgb_wal_wait_ms(gc->wal_tokens, rate);
	if (wait_ms <= 0)
	{
		LWLockRelease(pgb_gate->lock);
		return;
	}
	queued_entry = entry;
	slot->pid = MyProcPid;
	slot->entry = entry;
	slot->let_through = false;
	slot->queued_at = GetCurrentTimestamp();
	slot->state = PGB_GATE_THROTTLED;
	gc->wal_throttles++;
	LWLockRelease(pgb_gate->lock);

	register_exit();
	if (wal_wait_event == 0)
		wal_wait_event = pgb_wait_event("PgBudgetWal");

	for (;;)
	{
		bool		done;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(1L, (long) ceil(wait_ms)), wal_wait_event);
		ResetLatch(MyLatch);
		/* cancel, statement_timeout, terminate: gate_leave() cleans up */
		CHECK_FOR_INTERRUPTS();

		/* the budget may have moved (a reload, the worker): read it anew */
		rate = wal_budget_of(entry, class_of_entry(entry));
		LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
		done = slot->let_through || !(rate > 0);
		if (!done)
		{
			wal_refill_locked(gc, rate, GetCurrentTimestamp());
			wait_ms = pgb_wal_wait_ms(gc->wal_tokens, rate);
			done = wait_ms <= 0;
		}
		if (done)
		{
			gc->wal_throttled_ms += (GetCurrentTimestamp() - slot->queued_at) / 1000.0;
			slot->state = PGB_GATE_OUT;
			slot->pid = 0;
			queued_entry = -1;
		}
		LWLockRelease(pgb_gate->lock);
		if (done)
			return;
	}
}

/* This backend took a place of entry's class itself: now_in in progress. */
static void
hold_place(int entry, uint32 now_in)
{
	held_entry = entry;
	xact_gated = true;
	register_exit();
	counted_in(&pgb_gate->classes[entry], now_in);
}

/*
 * Enter the gate for this transaction if this session is judged and not
 * in yet.  Cheap when it is in already: every statement passes here.
 */
static void
gate_enter(void)
{
	PgbBackendSlot *bslot;
	const PgbClass *c;
	PgbGateClass *gc;
	instr_time	start;
	bool		timing_due;
	int			entry;
	int			procno;
	int			limit;
	int			timeout_ms;

	if (held_entry >= 0 || queued_entry >= 0 || !pgb_admitted ||
		pgb_gate == NULL || !pgb_enabled || am_walsender ||
		!IsTransactionState())
		return;
	bslot = pgb_my_slot();
	if (bslot == NULL || bslot->pid != MyProcPid)
		return;
	if (bslot->superuser && pgb_exempt_superusers)
		return;
	procno = my_procno();
	if (procno < 0)
		return;

	timing_due = (++passages % GATE_TIMING_EVERY) == 0;
	if (timing_due)
		INSTR_TIME_SET_CURRENT(start);
	else
		INSTR_TIME_SET_ZERO(start);
	entry = bslot->class_idx;
	gc = &pgb_gate->classes[entry];
	c = class_of_entry(entry);

	/* WAL written before the gate (SET, VACUUM ...): counted, not debited */
	charge_wal(false);
	/* a class in WAL debt waits first, before it takes a place */
	if (c != NULL && c->wal + *((volatile double *) &gc->wal_effective) > 0)
	{
		double		rate = wal_budget_of(entry, c);

		if (rate > 0)
			wait_for_wal(entry, procno, rate);
	}
	/* a class removed from the table is counted, never held back */
	limit = c == NULL ? PGB_UNLIMITED :
		pgb_gate_limit(c->active, *((volatile int *) &gc->effective));

	for (;;)
	{
		uint32		cur = pg_atomic_read_u32(&gc->in_progress);

		if (!pgb_gate_may_enter((int) cur, limit,
								(int) pg_atomic_read_u32(&gc->queued)))
			break;
		if (pg_atomic_compare_exchange_u32(&gc->in_progress, &cur, cur + 1))
		{
			hold_place(entry, cur + 1);
			/* one passage in GATE_TIMING_EVERY is timed: a sample, not a tax */
			if (timing_due)
				pgb_hist_record(pgb_gate->hist, start);
			return;
		}
	}

	/*
	 * Over the limit, or others wait before us.  A class removed from the
	 * table (c == NULL) never waits, even behind a queue left from before
	 * the reload: it is counted and goes in.
	 */
	if (c == NULL)
	{
		hold_place(entry, pg_atomic_add_fetch_u32(&gc->in_progress, 1));
		return;
	}
	timeout_ms = c->queue_timeout != PGB_QUEUE_TIMEOUT_DEFAULT ?
		c->queue_timeout : pgb_queue_timeout;
	if (timeout_ms == 0)
	{
		LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
		gc->timeouts++;
		LWLockRelease(pgb_gate->lock);
		refuse(c, limit, 0, (int) pg_atomic_read_u32(&gc->in_progress),
			   (int) pg_atomic_read_u32(&gc->queued), 0);
	}
	wait_for_turn(c, entry, procno, limit, timeout_ms);
}

/* Statements that never enter the gate (see the file header). */
static bool
exempt_utility(Node *stmt)
{
	if (stmt == NULL)
		return true;
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
		case T_VariableSetStmt:
		case T_VariableShowStmt:
		case T_DiscardStmt:
		case T_PrepareStmt:
		case T_DeallocateStmt:
		case T_VacuumStmt:
		case T_CheckPointStmt:
			return true;
		default:
			return false;
	}
}

static void
gate_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
	/* utility statements enter before they run, not at analysis */
	if (query->commandType != CMD_UTILITY)
		gate_enter();
}

static void
gate_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		gate_enter();
	if (prev_ExecutorStart_hook)
		prev_ExecutorStart_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
gate_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	if (!exempt_utility(pstmt->utilityStmt))
		gate_enter();
	if (prev_ProcessUtility_hook)
		prev_ProcessUtility_hook(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
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
pgb_gate_set_wal(int entry, double effective_rate, double rate_avg)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	gc->wal_effective = effective_rate;
	gc->wal_rate_avg = rate_avg;
	LWLockRelease(pgb_gate->lock);
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
	woken = grant_locked(entry, pgb_gate_limit(configured, gc->effective));
	LWLockRelease(pgb_gate->lock);
	return woken;
}

/*
 * Let a queued session through at once, past its class's limit: it holds
 * a lock someone else waits for.  False if it was no longer queued.
 */
bool
pgb_gate_let_through(int procno, int pid)
{
	PgbGateSlot *slot = &pgb_gate->slots[procno];
	bool		done = false;

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	if (slot->state == PGB_GATE_QUEUED && slot->pid == pid)
	{
		PgbGateClass *gc = &pgb_gate->classes[slot->entry];

		unqueue_locked(gc, procno, false, GetCurrentTimestamp());
		counted_in(gc, pg_atomic_add_fetch_u32(&gc->in_progress, 1));
		gc->let_through++;
		slot->let_through = true;
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
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
		done = true;
	}
	LWLockRelease(pgb_gate->lock);
	return done;
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

void
pgb_gate_init(void)
{
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = gate_post_parse_analyze;
	prev_ExecutorStart_hook = ExecutorStart_hook;
	ExecutorStart_hook = gate_ExecutorStart;
	prev_ProcessUtility_hook = ProcessUtility_hook;
	ProcessUtility_hook = gate_ProcessUtility;
	RegisterXactCallback(gate_xact_callback, NULL);
}
