/*-------------------------------------------------------------------------
 *
 * gate.c
 *	  The transaction gate: at most `active` transactions of a class in
 *	  progress at once; the others wait at their start, first come first
 *	  served, up to queue_timeout.  Shared state and its locking rules are
 *	  in gate.h; the queue arithmetic is in queue_math.c.
 *
 * A transaction enters at its first work: after parse analysis of a query
 * (post_parse_analyze_hook), at ExecutorStart for a cached plan (extended
 * protocol, SPI after a COMMIT inside a procedure), before a utility
 * statement runs (ProcessUtility_hook), or at the first function it
 * executes (object_access_hook, OAT_FUNCTION_EXECUTE): a fast-path call
 * (PQfn, the client large-object API) and a procedure's plain expression
 * after COMMIT.  Transaction control, SET/RESET/SHOW, DISCARD,
 * PREPARE/DEALLOCATE, VACUUM/ANALYZE and CHECKPOINT never enter, nor does
 * anything they run (the parse analysis of PREPARE's statement, the
 * functions of an expression index that ANALYZE evaluates).  It leaves at
 * commit, abort or PREPARE TRANSACTION (XactCallback), so a session idle
 * in a transaction keeps its place.  A wait cancelled inside a savepoint
 * leaves the queue at once (PG_TRY): the rest of the transaction enters
 * anew at its next work.  Parse analysis takes relation locks before any
 * hook runs: a queued session may hold some, and the worker lets such a
 * session through when it blocks anyone (lockwatch).  While queued or
 * throttled, a session looks at its client's socket every second and ends
 * when the client is gone, so that a statement of a client that left
 * never runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_proc.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "libpq/libpq.h"
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
#include "walbudget.h"

PgbGateShared *pgb_gate = NULL;

static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

/* A waiting session looks at its client's socket this often (ms). */
#define GATE_CLIENT_CHECK_MS	1000

/* An exempt utility statement is running: nothing it does enters. */
static bool in_exempt_utility = false;

/*
 * This transaction was found exempt (a superuser while exempt_superusers
 * is on): it is not looked at again until it ends, so that the function
 * executions of an exempt session cost one test each.
 */
static bool xact_exempt = false;

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
const PgbClass *
pgb_gate_class_of(int entry)
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

/* The session's own slot says whether it holds a place (for the worker). */
static void
set_holding(bool holding)
{
	int			procno = my_procno();

	if (procno >= 0 && pgb_gate->slots[procno].holding != holding)
		pgb_gate->slots[procno].holding = holding;
}

/*
 * Leave the queue (or the WAL wait) this backend is in, if any; a place
 * already handed over is kept (held_entry), to be given back at the end
 * of the transaction.  Idempotent; never throws.
 */
static void
leave_queue(void)
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
		{
			/* handed a place: the transaction holds it from now on */
			held_entry = queued_entry;
			slot->holding = true;
			pgb_wal_xact_gated = true;
		}
		else if (slot->state == PGB_GATE_THROTTLED)
		{
			gc->wal_throttled_ms += (GetCurrentTimestamp() - slot->queued_at) / 1000.0;
			gc->throttled--;
		}
		slot->state = PGB_GATE_OUT;
		slot->pid = 0;
		LWLockRelease(pgb_gate->lock);
	}
	queued_entry = -1;
}

/* Leave the gate, or the queue; idempotent.  Never throws. */
static void
gate_leave(void)
{
	int			procno = my_procno();

	leave_queue();
	/* a place lent to this transaction is given back with it */
	if (procno >= 0 && pgb_gate->slots[procno].borrowed_for != 0)
		pgb_gate->slots[procno].borrowed_for = 0;
	if (held_entry >= 0)
	{
		int			entry = held_entry;
		PgbGateClass *gc = &pgb_gate->classes[entry];

		held_entry = -1;
		set_holding(false);
		pg_atomic_fetch_sub_u32(&gc->in_progress, 1);
		/* a full barrier above; see gate.h for why this read suffices */
		if (pg_atomic_read_u32(&gc->queued) > 0)
		{
			const PgbClass *c = pgb_gate_class_of(entry);

			LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
			(void) grant_locked(entry, pgb_gate_limit(c ? c->active : PGB_UNLIMITED,
													  gc->effective));
			LWLockRelease(pgb_gate->lock);
		}
	}
}

/*
 * At exit, before the admission slot is released (registered after it,
 * so run before it): the WAL of a transaction ended by the exit is its
 * class's, debited like any other; then the place or the queue entry.
 */
static void
gate_exit(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	pgb_wal_charge(pgb_wal_xact_gated);
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
			pgb_wal_xact_end();
			gate_leave();
			xact_exempt = false;
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

/*
 * While waiting: end the session when its client is gone (a psql killed
 * while its INSERT was queued must not commit that INSERT when the place
 * comes), as client_connection_check_interval does.  May throw FATAL.
 */
static void
check_client(void)
{
	if (MyProcPort != NULL && !pq_check_connection())
	{
		/* ProcessInterrupts: FATAL "connection to client lost" */
		ClientConnectionLost = true;
		InterruptPending = true;
		CHECK_FOR_INTERRUPTS();
	}
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
			sleep_ms = Min(sleep_ms, (long) (timeout_ms - waited));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(1L, sleep_ms), queue_wait_event);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		check_client();
	}
}

/*
 * Wait in the queue until a place is handed over; may throw (cancel,
 * statement_timeout, the queue timeout, terminate).  On an ERROR the
 * backend leaves the queue before the error goes on: inside a savepoint
 * only the subtransaction aborts, and the rest of the transaction must
 * neither run without a place nor stay in the queue.
 */
static void
wait_for_turn(const PgbClass *c, int entry, int procno, int limit,
			  int timeout_ms)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	PgbGateSlot *slot = &pgb_gate->slots[procno];

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

	PG_TRY();
	{
		queue_wait_loop(c, entry, procno, limit, timeout_ms);
	}
	PG_CATCH();
	{
		leave_queue();
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* granted: the granter counted us in in_progress */
	slot->state = PGB_GATE_OUT;
	slot->pid = 0;
	queued_entry = -1;
	held_entry = entry;
	slot->holding = true;
	pgb_wal_xact_gated = true;
}

/*
 * How long a session must still wait for its class's WAL budget (ms), 0
 * when it may go on, in which case the next one is released only a
 * transaction's worth of budget later.  Caller holds the gate lock.
 */
static double
wal_wait_locked(PgbGateClass *gc, double rate)
{
	TimestampTz now = GetCurrentTimestamp();
	double		wait_ms;

	pgb_wal_settle_locked(gc, rate, now);
	wait_ms = pgb_wal_release_wait_ms(gc->wal_tokens, rate,
									  (double) (gc->wal_next_release - now));
	if (wait_ms <= 0)
		gc->wal_next_release = now +
			(TimestampTz) pgb_wal_release_gap_us(gc->wal_xact_bytes, rate);
	return wait_ms;
}

/* The WAL wait itself; the caller cleans up if it throws. */
static void
wal_wait_loop(int entry, int procno, double rate, double wait_ms)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	PgbGateSlot *slot = &pgb_gate->slots[procno];

	for (;;)
	{
		bool		done;

		/* never more than a second at a time: see wal_bucket.h */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 pgb_wal_sleep_ms(wait_ms), wal_wait_event);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		check_client();

		/* the budget may have moved (a reload, the worker): read it anew */
		rate = pgb_wal_budget_of(entry, pgb_gate_class_of(entry));
		LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
		done = slot->let_through || !(rate > 0);
		if (slot->let_through)
			pgb_wal_xact_deferred = true;
		if (!done)
		{
			wait_ms = wal_wait_locked(gc, rate);
			done = wait_ms <= 0;
		}
		if (done)
		{
			gc->wal_throttled_ms += (GetCurrentTimestamp() - slot->queued_at) / 1000.0;
			gc->throttled--;
			slot->state = PGB_GATE_OUT;
			slot->pid = 0;
			queued_entry = -1;
		}
		LWLockRelease(pgb_gate->lock);
		if (done)
			return;
	}
}

/*
 * Wait while the class's WAL bucket is in debt: before the transaction
 * takes a place (and any lock of its own), interruptibly, with its own
 * wait event; the worker lets it through at once when it blocks anyone.
 * May throw (cancel, timeouts, terminate): it leaves the wait first.
 */
static void
wait_for_wal(int entry, int procno, double rate)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	PgbGateSlot *slot = &pgb_gate->slots[procno];
	double		wait_ms;

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	wait_ms = wal_wait_locked(gc, rate);
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
	gc->throttled++;
	LWLockRelease(pgb_gate->lock);

	register_exit();
	if (wal_wait_event == 0)
		wal_wait_event = pgb_wait_event("PgBudgetWal");

	PG_TRY();
	{
		wal_wait_loop(entry, procno, rate, wait_ms);
	}
	PG_CATCH();
	{
		leave_queue();
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* This backend took a place of entry's class itself: now_in in progress. */
static void
hold_place(int entry, uint32 now_in)
{
	set_holding(true);
	held_entry = entry;
	pgb_wal_xact_gated = true;
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

	/*
	 * A replication=database session's SQL is gated like any session of
	 * its class; a physical walsender is never judged (no slot).
	 */
	if (held_entry >= 0 || queued_entry >= 0 || in_exempt_utility ||
		xact_exempt || !pgb_admitted || pgb_gate == NULL || !pgb_enabled ||
		!IsTransactionState())
		return;
	bslot = pgb_my_slot();
	if (bslot == NULL || bslot->pid != MyProcPid)
		return;
	/* every judged session charges its WAL at exit, gated or not */
	register_exit();
	if (bslot->superuser && pgb_exempt_superusers)
	{
		xact_exempt = true;
		return;
	}
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
	c = pgb_gate_class_of(entry);

	/* WAL written before the gate (SET, VACUUM ...): counted, not debited */
	pgb_wal_charge(false);
	/* a class in WAL debt waits first, before it takes a place */
	if (c != NULL && c->wal + *((volatile double *) &gc->wal_effective) > 0)
	{
		double		rate = pgb_wal_budget_of(entry, c);

		/* the gate lock only when the class may be in debt */
		if (rate > 0 && pgb_wal_may_be_in_debt(gc, rate))
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
	bool		exempt = exempt_utility(pstmt->utilityStmt);
	volatile bool was_exempt = in_exempt_utility;

	if (!exempt)
		gate_enter();

	/*
	 * While an exempt statement runs, nothing it does enters: PREPARE
	 * analyses its statement, ANALYZE and VACUUM evaluate index
	 * expressions.
	 */
	in_exempt_utility = was_exempt || exempt;
	PG_TRY();
	{
		if (prev_ProcessUtility_hook)
			prev_ProcessUtility_hook(pstmt, queryString, readOnlyTree, context,
									 params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		in_exempt_utility = was_exempt;
	}
	PG_END_TRY();
	/* a statement's end: its WAL shows while a long transaction runs */
	pgb_wal_charge(pgb_wal_xact_gated);
}

/*
 * The first function a transaction executes enters it, when nothing did
 * before: a fast-path call (PQfn: the client large-object API, pg_restore
 * of large objects) passes none of the other hooks, nor does a
 * procedure's plain expression (x := f()) after a COMMIT.
 */
static void
gate_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				   int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	/* walsenders: logical decoding evaluates row filters outside SQL */
	if (access == OAT_FUNCTION_EXECUTE && held_entry < 0 && !xact_exempt &&
		!am_walsender)
		gate_enter();
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
pgb_gate_let_through(int procno, int pid, int waiter_pid)
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
	woken = grant_locked(entry, PGB_UNLIMITED);
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

void
pgb_gate_init(void)
{
	pgb_shmem_register(&gate_shmem_part);
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = gate_post_parse_analyze;
	prev_ExecutorStart_hook = ExecutorStart_hook;
	ExecutorStart_hook = gate_ExecutorStart;
	prev_ProcessUtility_hook = ProcessUtility_hook;
	ProcessUtility_hook = gate_ProcessUtility;
	prev_object_access_hook = object_access_hook;
	object_access_hook = gate_object_access;
	RegisterXactCallback(gate_xact_callback, NULL);
}
