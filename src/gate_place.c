/*-------------------------------------------------------------------------
 *
 * gate_place.c
 *	  This backend's place at the gate: holding one, giving it back at the
 *	  end of the transaction or at exit, and what both waits (the queue,
 *	  gate_queue.c; the WAL budget, gate_walwait.c) share: the slot set up
 *	  for a wait, the client check, leaving a wait that threw.  The state
 *	  here is backend-local; shared state is written under the gate lock
 *	  (gate.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq/libpq.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"

#include "gate.h"
#include "gate_place.h"
#include "walbudget.h"

int			pgb_gate_held_entry = -1;
int			pgb_gate_queued_entry = -1;
bool		pgb_gate_xact_exempt = false;
static bool exit_registered = false;

/* The session's own slot says whether it holds a place (for the worker). */
void
pgb_gate_set_holding(bool holding)
{
	int			procno = pgb_gate_my_procno();

	if (procno >= 0 && pgb_gate->slots[procno].holding != holding)
		pgb_gate->slots[procno].holding = holding;
}

/*
 * Leave the queue (or the WAL wait) this backend is in, if any; a place
 * already handed over is kept (pgb_gate_held_entry), to be given back at the end
 * of the transaction.  Idempotent; never throws.
 */
void
pgb_gate_leave_wait(void)
{
	int			procno = pgb_gate_my_procno();

	if (pgb_gate_queued_entry >= 0 && procno >= 0)
	{
		PgbGateSlot *slot = &pgb_gate->slots[procno];
		PgbGateClass *gc = &pgb_gate->classes[pgb_gate_queued_entry];

		LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
		if (slot->state == PGB_GATE_QUEUED)
			pgb_gate_unqueue_locked(gc, procno, false, GetCurrentTimestamp());
		else if (slot->state == PGB_GATE_GRANTED)
		{
			/* handed a place: the transaction holds it from now on */
			pgb_gate_held_entry = pgb_gate_queued_entry;
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
	pgb_gate_queued_entry = -1;
}

/* Leave the gate, or the queue; idempotent.  Never throws. */
void
pgb_gate_leave(void)
{
	int			procno = pgb_gate_my_procno();

	pgb_gate_leave_wait();
	/* a place lent to this transaction is given back with it */
	if (procno >= 0 && pgb_gate->slots[procno].borrowed_for != 0)
		pgb_gate->slots[procno].borrowed_for = 0;
	if (pgb_gate_held_entry >= 0)
	{
		int			entry = pgb_gate_held_entry;
		PgbGateClass *gc = &pgb_gate->classes[entry];

		pgb_gate_held_entry = -1;
		pgb_gate_set_holding(false);
		pg_atomic_fetch_sub_u32(&gc->in_progress, 1);
		/* a full barrier above; see gate.h for why this read suffices */
		if (pg_atomic_read_u32(&gc->queued) > 0)
		{
			const PgbClass *c = pgb_gate_class_of(entry);

			LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
			(void) pgb_gate_grant_locked(entry, pgb_gate_limit(c ? c->active : PGB_UNLIMITED,
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
	pgb_gate_leave();
}

/* Before this backend first holds or waits for a place: leave at exit. */
void
pgb_gate_register_exit(void)
{
	if (!exit_registered)
	{
		before_shmem_exit(gate_exit, (Datum) 0);
		exit_registered = true;
	}
}

/*
 * While waiting: end the session when its client is gone (a psql killed
 * while its INSERT was queued must not commit that INSERT when the place
 * comes), as client_connection_check_interval does.  May throw FATAL.
 */
void
pgb_gate_check_client(void)
{
	if (MyProcPort != NULL && !pq_check_connection())
	{
		/* ProcessInterrupts: FATAL "connection to client lost" */
		ClientConnectionLost = true;
		InterruptPending = true;
		CHECK_FOR_INTERRUPTS();
	}
}

/* This backend took a place of entry's class itself: now_in in progress. */
void
pgb_gate_hold_place(int entry, uint32 now_in)
{
	pgb_gate_set_holding(true);
	pgb_gate_held_entry = entry;
	pgb_wal_xact_gated = true;
	pgb_gate_register_exit();
	pgb_gate_counted_in(&pgb_gate->classes[entry], now_in);
}

/*
 * This backend's slot waits for entry, in state (QUEUED or THROTTLED).
 * Caller holds the gate lock exclusively.
 */
void
pgb_gate_slot_wait_locked(PgbGateSlot *slot, int entry, PgbGateState state)
{
	pgb_gate_queued_entry = entry;
	slot->pid = MyProcPid;
	slot->entry = entry;
	slot->let_through = false;
	slot->queued_at = GetCurrentTimestamp();
	slot->state = state;
}

/* The wait of this backend's slot is over (it goes on, or it gave up). */
void
pgb_gate_slot_out(PgbGateSlot *slot)
{
	slot->state = PGB_GATE_OUT;
	slot->pid = 0;
	pgb_gate_queued_entry = -1;
}

/*
 * Run a wait loop; if it throws (cancel, statement_timeout, the queue
 * timeout, terminate), leave the wait before the error goes on: inside a
 * savepoint only the subtransaction aborts, and the rest of the
 * transaction must neither run without a place nor stay waiting.
 */
void
pgb_gate_run_wait(void (*loop) (void *arg), void *arg)
{
	PG_TRY();
	{
		loop(arg);
	}
	PG_CATCH();
	{
		pgb_gate_leave_wait();
		PG_RE_THROW();
	}
	PG_END_TRY();
}
