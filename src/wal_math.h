/*-------------------------------------------------------------------------
 *
 * wal_math.h
 *	  The WAL budget's arithmetic, pure C: a bucket of bytes refilled at
 *	  the class's rate up to a burst, charged with the WAL its transactions
 *	  wrote, in debt below zero; the wait a debt means; the bound on the
 *	  debt; the rate in force.  No server needed: unit-tested and fuzzed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_WAL_MATH_H
#define PGB_WAL_MATH_H

#include "c.h"

/*
 * A writing commit slower than this many times
 * pg_budget.commit_latency_target is counted in the class's tail as well
 * as slow (walbudget.c counts, plan_math.h judges).
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

/*
 * The adaptive WAL budget of one class, stepped by the worker's plan
 * (plan_math.c).  Two signals: pressure, sustained (the moving averages
 * over pg_budget.pressure_window: this class is the one to give way), and
 * slow_now, the same judged over the last quarter of aimd_interval (a
 * higher class's commits are slow right now), which answers a cut within
 * a second where the sustained one takes several.
 *
 * A cut halves (decrease) the budget in force, or what the class writes
 * when it has none, and marks the rate it cut from: after a run of cuts,
 * the lowest rate still seen slow.  The first cut after a raise comes
 * step_ms / 4 after the last step, since web feels every second of a slow
 * commit; further cuts in a row only while commits are still slow now:
 * the second a step_ms later (a cut shows only once the transactions
 * under way have ended), each next twice as long after the last, since
 * commits that stay slow however far the class is cut are slow for some
 * other reason, and the class is not taken to the floor for it in
 * seconds.  Each step_ms with no slow commit now, the budget goes halfway
 * up to PGB_WAL_MARK_SHARE of the mark, ground where commits were not
 * slow (a binary search between the two: one more cut there lowers the
 * mark).  Past it, after calm_ms of sustained calm, it probes, a step each
 * step_ms of calm (x 1 + increase, the increase doubled at each: x 1.05,
 * 1.10, 1.20, 1.40...), until commits are slow again (a new mark) or the
 * ceiling (the configured budget, or the rate the class had when first
 * lowered) is reached and the budget is lifted.
 */
#define PGB_WAL_MARK_SHARE		0.9

typedef struct PgbWalAimd
{
	double		limit;			/* bytes/s in force; 0: none */
	double		base;			/* the rate when first lowered */
	double		mark;			/* the rate the last cut came at */
	int64		last_step_ms;	/* when it last moved */
	int64		calm_since_ms;	/* -1: not calm */
	int64		quiet_since_ms; /* no slow commit now since; -1: slow */
	int			cuts;			/* in a row, since the last raise */
	int			probes;			/* raises past the mark's share, in a row */
} PgbWalAimd;

typedef struct PgbWalAimdParams
{
	double		configured;		/* the class's wal key, 0: none */
	double		floor_rate;		/* never below (pg_budget.wal_rate_floor) */
	double		decrease;		/* pg_budget.aimd_decrease */
	double		increase;		/* pg_budget.aimd_increase */
	int64		step_ms;		/* pg_budget.aimd_interval */
	int64		calm_ms;		/* pg_budget.calm_time */
} PgbWalAimdParams;

/* A budget that was never lowered. */
extern void pgb_wal_aimd_reset(PgbWalAimd *s);

/*
 * One step at now_ms: pressure (this class gives way), slow_now (commits
 * above it are slow right now), calm (no WAL pressure, or nobody above it
 * active), rate_avg (what it writes, bytes/s).
 * Returns true if the budget moved.
 */
extern bool pgb_wal_aimd_step(PgbWalAimd *s, bool pressure, bool slow_now,
							  bool calm, double rate_avg,
							  const PgbWalAimdParams *p, int64 now_ms);

#endif							/* PGB_WAL_MATH_H */
