/*-------------------------------------------------------------------------
 *
 * runaway.h
 *	  The CPU time of each statement of a class with switch_time, read
 *	  from /proc into the tick's snapshot (stmt_cpu_ms), runaway.c; the
 *	  plan (plan_runaway.c) judges it.  Worker-local: no shared state.
 *	  The switches of switch_to=CLASS carried out: runaway_switch.c (the
 *	  slot's switched_to, whose rules are in shmem.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_RUNAWAY_H
#define PGB_RUNAWAY_H

#include "classes.h"
#include "plan.h"
#include "snapshot.h"

/*
 * An active session of a class with switch_time has its CPU time read
 * this often (ms), and when first seen in a statement (its baseline).
 */
#define PGB_RUNAWAY_READ_MS		100

extern void pgb_runaway_sample(PgbSnapshot *snap, const PgbClassTable *table);

/*
 * runaway_switch.c: the plan's switches carried out, each a slot's
 * switched_to mark (shmem.h) and a cgroup move; all of them ended by a
 * new worker.  A CPU boost wins over a switch: a boosted session stays in
 * its boost's cgroup, and its boost's end takes it to the class it counts
 * as then (the switch's while its statement runs).
 */
extern void pgb_runaway_switch_init(void);
extern void pgb_runaway_switch_sample(PgbSnapshot *snap);
extern void pgb_runaway_switch(PgbSwitchPlan *plan, PgbSnapshot *snap);
extern void pgb_runaway_unswitch_all(void);

#endif							/* PGB_RUNAWAY_H */
