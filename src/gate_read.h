/*-------------------------------------------------------------------------
 *
 * gate_read.h
 *	  What the sampler and the views read of the transaction gate and of
 *	  the WAL by class, without the gate's internals: counters read
 *	  lock-free (each a hint, as gate.h's rules say), a backend's slot
 *	  hints in one call, and the views' snapshot of every entry taken
 *	  under the gate lock.  The gate (gate_*.c, walbudget.c) writes; a reader
 *	  needs no more than this header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_GATE_READ_H
#define PGB_GATE_READ_H

#include "postgres.h"

#include "port/atomics.h"

#include "queue_math.h"

/* An entry's counters, each read lock-free (atomics). */
typedef struct PgbGateCounters
{
	int			in_progress;	/* transactions that passed the gate */
	int			queued;			/* waiting in its queue */
	uint64		transactions;	/* passed, since reset */
	uint64		commits;		/* writing commits timed, since start */
	uint64		commit_us;		/* their total time in commit */
	uint64		commits_slow;	/* those slower than the target */
	uint64		commits_tail;	/* PGB_TAIL_COMMIT_FACTOR times slower */
} PgbGateCounters;

extern void pgb_gate_read_counters(int entry, PgbGateCounters *out);

/*
 * A backend's gate slot, read without the lock (a hint): queued (or
 * granted, or throttled), the pid it was let through for, whether it
 * holds a place of its class.
 */
extern void pgb_gate_read_hints(int procno, bool *queued, int *borrowed_for,
								bool *holding);

/*
 * Is any session queued or WAL-throttled at the gate (the classes' queued
 * and throttled counters, read without the lock: a hint)?
 */
extern bool pgb_gate_any_waiting(void);

/* WAL written by a group (class or pseudo-class) since reset (walbudget.c) */
extern uint64 pgb_wal_bytes_of(int group);

/* What the views show of an entry, read under the gate lock. */
typedef struct PgbGateSnapshot
{
	int			in_progress;
	int			queued;
	int			peak;
	int			effective;
	uint64		entered;
	uint64		waited;
	uint64		timeouts;
	uint64		let_through;
	double		wait_ms;
	double		wal_effective;
	uint64		wal_bytes;
	uint64		wal_throttles;
	double		wal_throttled_ms;
	double		wal_rate_avg;
} PgbGateSnapshot;

extern void pgb_gate_snapshot(PgbGateSnapshot *out);	/* all entries */

/* Is this backend queued now (for pg_budget_backends)?  A hint. */
extern bool pgb_gate_is_queued(int procno);

/* pg_budget_reset(): the gate's counters start again (takes the lock). */
extern void pgb_gate_reset(void);

/* The histogram of time in the gate, unqueued (atomics, read lock-free). */
extern pg_atomic_uint64 *pgb_gate_histogram(void);

#endif							/* PGB_GATE_READ_H */
