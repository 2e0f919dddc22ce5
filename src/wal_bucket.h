/*-------------------------------------------------------------------------
 *
 * wal_bucket.h
 *	  The WAL budget's arithmetic, pure C: a bucket of bytes refilled at
 *	  the class's rate up to a burst, charged with the WAL its transactions
 *	  wrote, in debt below zero; the wait a debt means; the bound on the
 *	  debt; the rate in force.  No server needed: unit-tested and fuzzed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_WAL_BUCKET_H
#define PGB_WAL_BUCKET_H

#include "c.h"

/*
 * A writing commit slower than this many times
 * pg_budget.commit_latency_target is counted in the class's tail as well
 * as slow (walbudget.c counts, plan.h judges).
 */
#define PGB_TAIL_COMMIT_FACTOR	4

/*
 * The burst is one second of budget, at least 64 kB: a class writes in
 * bursts of up to a second's worth, and a transaction bigger than that
 * leaves a debt its next ones wait out.
 */
#define PGB_WAL_BURST_MIN		(64.0 * 1024)

/*
 * The debt is bounded: at most PGB_WAL_MAX_DEBT_S bursts (seconds of
 * budget).  A single transaction that writes gigabytes under a small budget
 * makes the class's next transactions wait at most that long, not hours.
 */
#define PGB_WAL_MAX_DEBT_S		5.0

/*
 * A throttled session sleeps at most this long at a time, then looks
 * again: the budget may have moved, the client may have gone, and a wait
 * never reaches WaitLatch's limits.
 */
#define PGB_WAL_WAIT_STEP_MS	1000

extern double pgb_wal_burst(double rate);
extern double pgb_wal_refill(double tokens, double rate, double elapsed_us);

/*
 * Charge bytes to the bucket.  bounded: never below the bounded debt (an
 * ordinary transaction); else the whole of it (one let through its wait:
 * the wait is deferred to the class's next transactions, never waived).
 * A debit never raises the bucket, so a deferred debt below the bound is
 * kept.
 */
extern double pgb_wal_debit(double tokens, double bytes, double rate,
							bool bounded);

/* The lowest the bucket goes: -PGB_WAL_MAX_DEBT_S bursts. */
extern double pgb_wal_debt_floor(double rate);

/*
 * The bucket now, estimated from its last settled state: refilled for
 * elapsed_us, less the bytes charged since (all of them: an estimate that
 * may only err towards a debt, which the caller then checks exactly).
 */
extern double pgb_wal_estimate(double tokens, double rate, double elapsed_us,
							   double pending);

/* How long a transaction waits before the bucket is out of debt (ms). */
extern double pgb_wal_wait_ms(double tokens, double rate);

/*
 * Throttled sessions are released one at a time: after one goes on, the
 * next waits the time the budget takes to pay for the WAL a transaction
 * of the class writes (xact_bytes, the worker's average), at most
 * PGB_WAL_RELEASE_GAP_MAX_MS; so the class writes at its budget's pace,
 * not stopped and at full speed in turn.
 */
#define PGB_WAL_RELEASE_GAP_MAX_MS	1000
extern double pgb_wal_release_gap_us(double xact_bytes, double rate);

/*
 * The wait of a throttled session (ms, 0: it may go on): until the bucket
 * is out of debt and until_release_us have passed.
 */
extern double pgb_wal_release_wait_ms(double tokens, double rate,
									  double until_release_us);

/* One sleep of a throttled session: the wait, in [1, PGB_WAL_WAIT_STEP_MS]. */
extern long pgb_wal_sleep_ms(double wait_ms);

/* The rate in force: the lower of the configured and the worker's (0: none). */
extern double pgb_wal_limit(double configured, double effective);

#endif							/* PGB_WAL_BUCKET_H */
