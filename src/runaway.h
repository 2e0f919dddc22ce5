/*-------------------------------------------------------------------------
 *
 * runaway.h
 *	  The CPU time of each statement of a class with switch_time, read
 *	  from /proc into the tick's snapshot (stmt_cpu_ms); the plan
 *	  (plan_runaway.c) judges it.  Worker-local: no shared state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_RUNAWAY_H
#define PGB_RUNAWAY_H

#include "classes.h"
#include "snapshot.h"

/*
 * An active session of a class with switch_time has its CPU time read
 * this often (ms), and when first seen in a statement (its baseline).
 */
#define PGB_RUNAWAY_READ_MS		100

extern void pgb_runaway_sample(PgbSnapshot *snap, const PgbClassTable *table);

#endif							/* PGB_RUNAWAY_H */
