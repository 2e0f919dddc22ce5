/*-------------------------------------------------------------------------
 *
 * gate_walwait.c
 *	  The gate's WAL wait: a transaction of a class whose WAL budget is in
 *	  debt waits at its start, before it takes a place, until the bucket
 *	  has room; throttled sessions are released a transaction's worth of
 *	  budget apart.  Under the gate lock (gate.h); the bucket is
 *	  walbudget.c's, the arithmetic wal_bucket.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "gate.h"
#include "gate_place.h"
#include "walbudget.h"
#include "warn.h"

static uint32 wal_wait_event = 0;

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
		pgb_gate_check_client();

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
			pgb_gate_slot_out(slot);
		}
		LWLockRelease(pgb_gate->lock);
		if (done)
			return;
	}
}

typedef struct WalWait
{
	int			entry;
	int			procno;
	double		rate;
	double		wait_ms;
} WalWait;

static void
wal_wait_run(void *arg)
{
	WalWait    *w = (WalWait *) arg;

	wal_wait_loop(w->entry, w->procno, w->rate, w->wait_ms);
}

/*
 * Wait while the class's WAL bucket is in debt: before the transaction
 * takes a place (and any lock of its own), interruptibly, with its own
 * wait event; the worker lets it through at once when it blocks anyone.
 * May throw (cancel, timeouts, terminate): it leaves the wait first.
 */
void
pgb_gate_wait_for_wal(const PgbClass *c, int entry, int procno, double rate)
{
	PgbGateClass *gc = &pgb_gate->classes[entry];
	PgbGateSlot *slot = &pgb_gate->slots[procno];
	WalWait		w = {entry, procno, rate, 0};

	pgb_gate_register_exit();
	if (wal_wait_event == 0)
		wal_wait_event = pgb_wait_event("PgBudgetWal");

	LWLockAcquire(pgb_gate->lock, LW_EXCLUSIVE);
	w.wait_ms = wal_wait_locked(gc, rate);
	if (w.wait_ms <= 0)
	{
		LWLockRelease(pgb_gate->lock);
		return;
	}
	if (c != NULL && c->warn)
	{
		double		tokens = gc->wal_tokens;
		char		detail[PGB_REASON_LEN];

		/* warn mode: it goes on at once, the wait counted and recorded */
		LWLockRelease(pgb_gate->lock);
		snprintf(detail, sizeof(detail),
				 "the WAL budget of %.0f kB/s was %.0f kB in debt: the transaction would have waited %.0f ms",
				 rate / 1024.0, tokens < 0 ? -tokens / 1024.0 : 0.0, w.wait_ms);
		pgb_warn(entry, c->name, MyProcPid,
				 pgb_my_slot() ? pgb_my_slot()->rolename : NULL,
				 "throttle", PGB_WARN_WAL, detail);
		return;
	}
	pgb_gate_slot_wait_locked(slot, entry, PGB_GATE_THROTTLED);
	gc->wal_throttles++;
	gc->throttled++;
	LWLockRelease(pgb_gate->lock);

	pgb_gate_run_wait(wal_wait_run, &w);
}
