/*-------------------------------------------------------------------------
 *
 * gate_hooks.c
 *	  The transaction gate's hooks: where a transaction enters (takes a
 *	  place of its class, or waits for one: gate_queue.c, or for its WAL
 *	  budget: gate_walwait.c) and leaves (gate_place.c).  Shared state and
 *	  its locking rules are in gate.h.
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
#include "gate_place.h"
#include "guc.h"
#include "shmem.h"
#include "events.h"
#include "walbudget.h"
#include "warn.h"

static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

/* An exempt utility statement is running: nothing it does enters. */
static bool in_exempt_utility = false;

/* Passages through the gate, one in this many timed for the histogram. */
#define GATE_TIMING_EVERY	16
static uint32 passages = 0;

static void
gate_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			pgb_wal_xact_end();
			pgb_gate_leave();
			pgb_gate_xact_exempt = false;
			break;
		default:
			break;
	}
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
	if (pgb_gate_held_entry >= 0 || pgb_gate_queued_entry >= 0 || in_exempt_utility ||
		pgb_gate_xact_exempt || !pgb_admitted || pgb_gate == NULL || !pgb_enabled ||
		!IsTransactionState())
		return;
	bslot = pgb_my_slot();
	if (bslot == NULL || bslot->pid != MyProcPid)
		return;
	/* every judged session charges its WAL at exit, gated or not */
	pgb_gate_register_exit();
	if (bslot->superuser && pgb_exempt_superusers)
	{
		pgb_gate_xact_exempt = true;
		return;
	}
	procno = pgb_gate_my_procno();
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
			pgb_gate_wait_for_wal(c, entry, procno, rate);
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
			pgb_gate_hold_place(entry, cur + 1);
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
		pgb_gate_hold_place(entry, pg_atomic_add_fetch_u32(&gc->in_progress, 1));
		return;
	}

	/*
	 * Warn mode: the transaction would queue (or be refused at once with
	 * queue_timeout=0); it goes in, counted past the limit as any in
	 * progress, and the wait is recorded instead.
	 */
	if (c->warn)
	{
		uint32		now_in = pg_atomic_add_fetch_u32(&gc->in_progress, 1);
		char		detail[PGB_REASON_LEN];

		pgb_gate_hold_place(entry, now_in);
		snprintf(detail, sizeof(detail),
				 "%u transactions in progress with it, past the limit of %d active",
				 now_in, limit);
		pgb_warn(entry, c->name, MyProcPid, bslot->rolename, "queue",
				 PGB_WARN_ACTIVE, detail);
		return;
	}
	timeout_ms = c->queue_timeout != PGB_QUEUE_TIMEOUT_DEFAULT ?
		c->queue_timeout : pgb_queue_timeout;
	if (timeout_ms == 0)
	{
		LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
		gc->timeouts++;
		LWLockRelease(pgb_gate->lock);
		pgb_gate_refuse(c, limit, 0, (int) pg_atomic_read_u32(&gc->in_progress),
			   (int) pg_atomic_read_u32(&gc->queued), 0);
	}
	pgb_gate_wait_for_turn(c, entry, procno, limit, timeout_ms);
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
	if (access == OAT_FUNCTION_EXECUTE && pgb_gate_held_entry < 0 && !pgb_gate_xact_exempt &&
		!am_walsender)
		gate_enter();
}

void
pgb_gate_init(void)
{
	pgb_gate_shmem_init();
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
