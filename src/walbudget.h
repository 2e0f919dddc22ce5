/*-------------------------------------------------------------------------
 *
 * walbudget.h
 *	  WAL by class and the WAL budget's bucket: each process charges the
 *	  WAL it wrote to its class (or pseudo-class) at every statement end,
 *	  transaction end, gate passage and exit; a transaction that passed the
 *	  gate also debits its class's bucket.  The wait of a session whose
 *	  class is in debt is the gate's (gate_walwait.c: a slot in the THROTTLED
 *	  state); the arithmetic is in wal_bucket.c.
 *
 * Shared state: pgb_gate->wal_bytes[] (atomics) and the wal_* fields of
 * PgbGateClass, under the locking rules of gate.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_WALBUDGET_H
#define PGB_WALBUDGET_H

#include "postgres.h"

#include "utils/timestamp.h"

#include "classes.h"
#include "gate.h"

/* This transaction passed the gate: its WAL debits the class's bucket. */
extern bool pgb_wal_xact_gated;

/*
 * This transaction was let through its WAL wait (it blocked someone): its
 * debits are whole, beyond the bound on the debt, so that the wait is
 * deferred to the class's next transactions and never waived.
 */
extern bool pgb_wal_xact_deferred;

/*
 * Charge the WAL this process wrote since its last charge to its group,
 * and, with debit, to its class's bucket.  Never throws.
 */
extern void pgb_wal_charge(bool debit);

/* At transaction end: charge, debit if gated, and forget the gating. */
extern void pgb_wal_xact_end(void);

/* The WAL budget of a class entry in force in this backend, bytes/s. */
extern double pgb_wal_budget_of(int entry, const PgbClass *c);

/*
 * Refill an entry's bucket to now and fold in the debits charged since
 * the last settle; caller holds the gate lock exclusively.
 */
extern void pgb_wal_settle_locked(PgbGateClass *gc, double rate, TimestampTz now);

/* Lock-free: may the entry's bucket be in debt now?  (a hint; gate.h) */
extern bool pgb_wal_may_be_in_debt(PgbGateClass *gc, double rate);

/* hooks: the statement-end charge */
extern void pgb_walbudget_init(void);

#endif							/* PGB_WALBUDGET_H */
