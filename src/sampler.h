/*-------------------------------------------------------------------------
 *
 * sampler.h
 *	  The sample side of the worker's tick: the snapshot the sampler and
 *	  the lock watcher fill (rows of snapshot.h, plus what only they need
 *	  from tick to tick).  Included by sampler.c, lockwatch.c and worker.c.
 *
 * Nothing here is in shared memory: it is the worker's private memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_SAMPLER_H
#define PGB_SAMPLER_H

#include "postgres.h"

#include "boost_math.h"
#include "policy_math.h"
#include "snapshot.h"
#include "shmem.h"

/* What the sampler and the lock watcher remember of one PGPROC. */
typedef struct PgbProcTrack
{
	PgbWaitCategory category;
	int64		lock_wait_us;	/* how long it has waited on this lock, or 0 */
	int64		blocked_since_ms;	/* first lock wait of this active spell */
	TimestampTz counted_wait;	/* waitStart of the wait counted in lock stats */
	int64		examined_ms;	/* when its blockers were last looked up */
	int64		examined_wait_us;	/* how long it had waited then */
	int64		lock_seen_ms;	/* first tick seen on a lock without waitStart */
	int			prepared_group; /* the prepared transaction blocking its
								 * wait: its class, or PGB_GROUP_SYSTEM */
} PgbProcTrack;

/* What one tick saw, in the worker's memory until it is published. */
typedef struct PgbTick
{
	PgbSnapshot snap;			/* what the plan decides from */
	TimestampTz now;			/* wall clock: timestamps, lock waitStart */
	PgbProcTrack *procs;		/* snap.nrows entries, indexed by procno */
	PgbGroupStats groups[PGB_NUM_GROUPS];	/* counts of this tick */
	int			nlive;			/* live processes seen (the tick's length
								 * follows them: pgb_tick_interval_ms) */
	int			interval_ms;	/* the tick's length in force (worker.c) */
	int			sample_weight;	/* the ticks in force it stands for: more
								 * than 1 after a calm stretch (worker.c) */
	int			nwaits;
	uint32	   *wait_events;	/* per sampled active session */
	int16	   *wait_groups;
	uint16	   *wait_weights;	/* ticks each sample stands for */
	int64		extra_samples[PGB_NUM_GROUPS][3];	/* weights past 1: active,
													 * WAL, lock samples */
} PgbTick;

/* sampler.c */
extern void pgb_sampler_init(PgbTick *tick);
extern void pgb_sampler_forget(int group);
extern void pgb_sample(PgbTick *tick);
extern void pgb_publish_sample(PgbTick *tick, double dt_ms);
extern void pgb_history_tick(PgbTick *tick, int nclasses);

/* the wait statistics' part of the shared memory */
extern void pgb_wait_stats_init(void);

#endif							/* PGB_SAMPLER_H */
