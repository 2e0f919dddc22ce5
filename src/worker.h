/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  What the files of the pg_budget worker process share: its private
 *	  view of every backend, filled by the sampler and used by the lock
 *	  watch and the shedding policy.  Nothing here is in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_WORKER_H
#define PGB_WORKER_H

#include "postgres.h"

#include "policy_math.h"
#include "state.h"

/* The worker's memory of one PGPROC, from tick to tick. */
typedef struct PgbProcTrack
{
	int			pid;			/* 0: unused */
	int			group;			/* class entry or pseudo-class */
	PgbSessionState state;
	PgbWaitCategory category;
	int64		state_since_ms; /* when it entered its state */
	int64		lock_wait_us;	/* how long it has waited on this lock, or 0 */
	int64		blocked_since_ms;	/* first lock wait of this active spell */
	int64		blocked_us;		/* time blocked on locks in this spell, or 0 */
	bool		inverted;		/* its blockers include a lower sheddable class */
	TimestampTz counted_wait;	/* waitStart of the wait counted in lock stats */
	int64		examined_ms;	/* when its blockers were last looked up */
	int64		examined_wait_us;	/* how long it had waited then */
	int64		action_ms;		/* when the worker last signalled it */
	bool		cancelled;		/* cancelled during this active spell */
	bool		exempt;			/* superuser exempt from shedding */
	bool		judged;			/* a session admitted by pg_budget */
} PgbProcTrack;

/* What one tick saw, in the worker's memory until it is published. */
typedef struct PgbTick
{
	int64		now_ms;			/* monotonic clock: every interval and *_ms */
	TimestampTz now;			/* wall clock: timestamps, lock waitStart */
	int			nprocs;
	PgbProcTrack *procs;		/* nprocs entries, indexed by procno */
	PgbGroupStats groups[PGB_NUM_GROUPS];	/* counts of this tick */
	int			nwaits;
	uint32	   *wait_events;	/* per sampled active session */
	int16	   *wait_groups;
	/* the class table of this tick, mapped to class entries */
	int			map[PGB_MAX_CLASSES + 1];
} PgbTick;

/* sampler.c */
extern void pgb_sampler_init(PgbTick *tick);
extern void pgb_sampler_forget(int group);
extern void pgb_sample(PgbTick *tick);
extern void pgb_publish_sample(PgbTick *tick, double dt_ms);
extern void pgb_history_tick(PgbTick *tick, int nclasses);

/* lockwatch.c */
extern void pgb_watch_locks(PgbTick *tick, const PgbClassTable *table,
							int *actions_left);

/* shed.c (worker side) */
extern bool pgb_shed(PgbTick *tick, int procno, PgbShedAction action,
					 const char *signal, const char *reason);
extern void pgb_shed_over_limit(PgbTick *tick, const PgbClassTable *table,
								const int *limits, int *actions_left);

#endif							/* PGB_WORKER_H */
