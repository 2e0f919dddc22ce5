/*-------------------------------------------------------------------------
 *
 * cpu_math.h
 *	  CPU pressure from run delay: how long the sessions of a class waited
 *	  for a CPU (runnable, not running) per second and per session, and
 *	  whether a higher class waits longer than pg_budget.run_delay_target,
 *	  which is when the gate lowers the active limit of a lower class.
 *
 * Pure (c.h only), unit-tested without a server.  The plan (plan_math.c)
 * keeps a PgbRunDelayTrack per class entry.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_CPU_MATH_H
#define PGB_CPU_MATH_H

#include "classes.h"

/* A session can not wait for a CPU more than all of a second. */
#define PGB_RUN_DELAY_MAX_MS	1000.0

/* The last reading of a class entry's run-delay counter, and its rate. */
typedef struct PgbRunDelayTrack
{
	double		delay_ms;		/* the counter at the last reading */
	int64		at_ms;			/* when it was read; 0: never */
	double		rate;			/* ms of run delay per second per session */
} PgbRunDelayTrack;

/*
 * A reading of a class entry's run-delay counter (delay_ms, the sum over
 * its sessions, read at at_ms; 0: not yet read) by sessions, the number of
 * its sessions that ran or waited to run since the reading before.
 * Updates t->rate, the run delay per second of wall time per such
 * session (0 when none), and returns it.  A first reading, or a counter
 * that went back (the entry was named anew), gives 0; the same reading
 * again leaves the rate as it was.
 */
extern double pgb_run_delay_step(PgbRunDelayTrack *t, double delay_ms,
								 int64 at_ms, int sessions);

/*
 * Run-delay pressure: among the classes (by table index) that need the
 * CPU (demand[i]) and have a sheddable class of lower priority below
 * them, the one whose rate[i] is highest if it is at target or above,
 * else -1.  *calm when every such class is below half the target.
 * target <= 0: the signal is off (-1, calm).
 */
extern int	pgb_run_delay_pressure(const PgbClassTable *table, const double *rate,
								   const bool *demand, double target,
								   bool *calm);

#endif							/* PGB_CPU_MATH_H */
