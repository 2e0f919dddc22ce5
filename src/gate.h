/*-------------------------------------------------------------------------
 *
 * gate.h
 *	  The transaction gate's shared state (gate_shmem.c): per class, the
 *	  transactions in progress and the FIFO queue of those waiting for
 *	  their turn, and the WAL budget's bucket (walbudget.c); per backend,
 *	  its place in a queue.  The gate's files: gate_hooks.c (where a
 *	  transaction enters and leaves), gate_place.c (this backend's place
 *	  and what both waits share), gate_queue.c (the queue), gate_walwait.c
 *	  (the WAL wait).  Readers need only gate_read.h.
 *
 * Locking rules
 * -------------
 * The gate has an LWLock of its own (tranche "pg_budget gate"), never the
 * main pg_budget lock that logins take, and it is never held together
 * with the main lock.
 *
 * - in_progress and queued are atomics.  A transaction that may enter at
 *	 once (under its limit, nobody queued) takes its place with one
 *	 compare-and-swap on in_progress, without the lock; so does nothing
 *	 else.  Leaving is an atomic decrement; the leaver takes the lock only
 *	 when queued > 0, to hand its place on.
 * - Everything else (the queue and its links, the backend slots, the
 *	 counters of waits and timeouts, the worker's effective limit) is
 *	 written under the gate lock held exclusively.  queued mirrors
 *	 queue.count and is written under the lock too, so that the lock-free
 *	 paths can read it.
 * - Dekker: a waiter, under the lock, raises queued (a full barrier) and
 *	 then re-checks in_progress; a leaver lowers in_progress (a full
 *	 barrier) and then reads queued.  One of the two sees the other, so a
 *	 free place is never left while someone waits for it.
 * - A queued backend's place is handed on under the lock: the granter
 *	 raises in_progress on the waiter's behalf, marks its slot GRANTED and
 *	 sets its latch.  The waiter reads its slot's state after ResetLatch.
 * - The worker reads the slots without the lock to find queued sessions
 *	 (a stale read only delays it a tick) and takes the lock to act: it
 *	 lets a queued session that blocks others through (over the limit,
 *	 one at a time per blocked waiter: borrowed_for), and grants waiters
 *	 each tick after it moves an effective limit.
 * - wal_bytes[] are atomics, added to by every process at each statement
 *	 and transaction end, gate passage and exit (its own pgWalUsage since
 *	 its last charge).  A class with a WAL budget is debited lock-free
 *	 too: wal_debit_bounded and wal_debit_deferred are atomic counters of
 *	 bytes charged (the second: transactions let through their WAL wait,
 *	 whose debt is never bounded).  The bucket itself (wal_tokens,
 *	 wal_tokens_at, the *_seen counters) is written under the gate lock:
 *	 whoever takes it to wait folds the pending debits in (walbudget.c).
 *	 A session entering reads the bucket without the lock to judge
 *	 whether its class may be in debt, and takes the lock only then; a
 *	 stale read lets at most one transaction in before the debt is seen.
 *	 wal_effective and wal_rate_avg are written by the worker under it.
 * - Entries are indexed like PgbShared.classes: an entry is recycled only
 *	 when no session of its class is connected, so then in_progress is 0
 *	 and its queue is empty.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_GATE_H
#define PGB_GATE_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#include "gate_read.h"
#include "queue_math.h"
#include "shmem.h"
#include "wal_bucket.h"

typedef enum PgbGateState
{
	PGB_GATE_OUT = 0,			/* not queued (in or out of a transaction) */
	PGB_GATE_QUEUED,			/* waiting in its class's queue */
	PGB_GATE_GRANTED,			/* handed a place, not yet woken */
	PGB_GATE_THROTTLED			/* waiting for its class's WAL budget */
} PgbGateState;

typedef struct PgbGateClass
{
	pg_atomic_uint32 in_progress;	/* transactions that passed the gate */
	pg_atomic_uint32 queued;	/* == queue.count */
	pg_atomic_uint32 peak;		/* highest in_progress since reset */
	pg_atomic_uint64 entered;	/* transactions that passed, since reset */
	int			effective;		/* the worker's limit; PGB_UNLIMITED: none */
	PgbQueue	queue;
	uint64		waited;			/* transactions that queued */
	uint64		timeouts;		/* refused after queue_timeout */
	uint64		let_through;	/* let past the limit: they blocked others */
	double		wait_ms;		/* total time spent queued */
	/* the WAL budget: a bucket of bytes, in debt below 0 */
	double		wal_effective;	/* the worker's rate, bytes/s; 0: none */
	double		wal_tokens;
	TimestampTz wal_tokens_at;	/* 0: the bucket starts full */
	pg_atomic_uint64 commits;	/* writing commits timed, since start */
	pg_atomic_uint64 commit_us; /* their total time in commit */
	pg_atomic_uint64 commits_slow;	/* those slower than the target */
	pg_atomic_uint64 commits_tail;	/* slower than PGB_TAIL_COMMIT_FACTOR
									 * times it */
	pg_atomic_uint64 wal_debit_bounded; /* bytes charged, lock-free */
	pg_atomic_uint64 wal_debit_deferred;	/* bytes charged by let-throughs */
	uint64		wal_bounded_seen;	/* folded into wal_tokens so far */
	uint64		wal_deferred_seen;
	uint64		wal_throttles;	/* transactions that waited for it */
	int			throttled;		/* sessions waiting for it now */
	double		wal_throttled_ms;	/* total time they waited */
	double		wal_rate_avg;	/* bytes/s, the worker's moving average */
	double		wal_xact_bytes; /* the worker's: WAL of a transaction lately */
	TimestampTz wal_next_release;	/* no throttled session goes on before */
} PgbGateClass;

typedef struct PgbGateSlot
{
	int			pid;			/* of the queued backend; 0 when OUT */
	int			entry;
	PgbGateState state;
	bool		let_through;
	TimestampTz queued_at;
	/*
	 * Let through on behalf of this waiter's pid (0: not let through),
	 * until the transaction ends: a waiter lends at most one place at a
	 * time.  Set under the gate lock by the worker while the session
	 * waits; cleared by the session itself when its transaction ends;
	 * read by the sampler without the lock (a hint).
	 */
	int			borrowed_for;
	/* holds a place of its class (written by the session itself; a hint) */
	bool		holding;
} PgbGateSlot;

typedef struct PgbGateShared
{
	LWLock	   *lock;
	int			nslots;
	PgbGateClass classes[PGB_MAX_SHARED_CLASSES];
	pg_atomic_uint64 hist[PGB_HIST_BUCKETS];	/* time in the gate, unqueued */
	pg_atomic_uint64 wal_bytes[PGB_NUM_GROUPS];	/* written, by group, since reset */
	PgbGateSlot *slots;			/* nslots, by procno */
	PgbQueueLink *links;		/* nslots, by procno */
} PgbGateShared;

extern PgbGateShared *pgb_gate;

/* hooks, and the gate's part of the shared memory (gate_hooks.c) */
extern void pgb_gate_init(void);

/* The class of an entry in this backend's table, or NULL. */
extern const PgbClass *pgb_gate_class_of(int entry);


/* worker side: all take the gate lock themselves */
extern void pgb_gate_set_effective(int entry, int effective);
extern void pgb_gate_set_wal(int entry, double effective_rate, double rate_avg,
							 double xact_bytes);
extern int	pgb_gate_grant(int entry, int configured);
extern bool pgb_gate_let_through(int procno, int pid, int waiter_pid);
extern int	pgb_gate_release(int entry);
extern void pgb_gate_forget(int entry);

#endif							/* PGB_GATE_H */
