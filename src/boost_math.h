/*-------------------------------------------------------------------------
 *
 * boost_math.h
 *	  OS-level priority inheritance, decided without the kernel: a session
 *	  that holds a lock a session of a higher-priority class waits on runs
 *	  in the waiter's class's cgroup until it blocks no such session any
 *	  more, then goes back to its own class's.
 *
 * Pure (c.h only): decided from the tick's snapshot (its lookups and the
 * boost state kept in its rows) and the class table; carried out by
 * cgroup.c, which writes the pids and records the outcome with
 * pgb_boost_done.  Unit-tested without a server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_BOOST_MATH_H
#define PGB_BOOST_MATH_H

#include "classes.h"
#include "policy_math.h"
#include "snapshot.h"

typedef enum PgbBoostKind
{
	PGB_BOOST_TO = 0,			/* into to_entry's cgroup (from its own, or
								 * from a lower waiter's) */
	PGB_BOOST_BACK,				/* back into its own class's cgroup */
	PGB_BOOST_GONE				/* it exited while boosted: nothing to move */
} PgbBoostKind;

typedef struct PgbBoostMove
{
	PgbBoostKind kind;
	int			procno;
	int			pid;
	int			home_entry;		/* its own class */
	int			from_entry;		/* the cgroup it is in now */
	int			to_entry;		/* the cgroup it goes to (home for BACK) */
	int			waiter_pid;		/* TO: the waiter it is boosted for */
	char		reason[PGB_REASON_LEN];
} PgbBoostMove;

#define PGB_MAX_BOOST_MOVES		32

typedef struct PgbBoostPlan
{
	int			nmoves;
	PgbBoostMove moves[PGB_MAX_BOOST_MOVES];
} PgbBoostPlan;

/*
 * Does a session of class waiter gain CPU by running in its cgroup rather
 * than in holder's?  The waiter's class is of higher priority, and its
 * cgroup gets more CPU: not cpu=idle, and a greater weight than the
 * holder's (or the holder's is cpu=idle).
 */
extern bool pgb_boost_gains(const PgbClass *waiter, const PgbClass *holder);

/*
 * The moves of one tick.  The lookups of this tick add waiters to their
 * blockers (up to PGB_BOOST_WAITERS each) and drop them from the boosted
 * holders they no longer list; a waiter whose wait ended, or that is gone,
 * is dropped.  A holder not yet boosted whose waiter gains
 * (pgb_boost_gains, both cgroups in force: snap->cpu_in_force) goes TO
 * the waiter's cgroup; a boosted one goes TO a higher waiter's when one
 * comes; one left with no waiter, or whose cgroups are no longer in force,
 * goes BACK; one that exited is GONE.  A boosted waiter counts as of the
 * class it is boosted into (a chain of holders).  Waiter lists are kept
 * in the rows here; whether a holder is boosted is set by pgb_boost_done.
 */
extern void pgb_plan_boosts(PgbBoostPlan *plan, PgbSnapshot *snap,
							const PgbClassTable *table);

/*
 * A move was carried out (ok) or failed: the holder's row says so.  A
 * failed TO leaves it where it was (and forgets its waiters if it was not
 * boosted, so that it is tried again at the next lookup); BACK and GONE
 * end the boost either way.
 */
extern void pgb_boost_done(PgbSnapshot *snap, const PgbBoostMove *move,
						   bool ok);

#endif							/* PGB_BOOST_MATH_H */
