/*-------------------------------------------------------------------------
 *
 * mem_guard.h
 *	  The memory guard's decisions: how far the server's memory is past its
 *	  marks, which query gives way first, and which sessions are past
 *	  their class's budget (mem=, session_mem=).
 *
 * Pure logic: includes nothing from the server beyond c.h; unit-tested in
 * test/unit/test_mem_guard.c.  The worker (memory.c) reads the files and
 * carries the decisions out.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_MEM_GUARD_H
#define PGB_MEM_GUARD_H

#include "c.h"

typedef enum PgbMemLevel
{
	PGB_MEM_CALM = 0,			/* under the mark (or no guard) */
	PGB_MEM_EARLY,				/* under it, but on course to the limit */
	PGB_MEM_GUARD,				/* past memory_guard x limit */
	PGB_MEM_LAST_RESORT			/* past the last-resort mark */
} PgbMemLevel;

/* One session as the guard sees it. */
typedef struct PgbMemSession
{
	int			pid;
	int			entry;			/* class entry */
	int			priority;		/* its class's */
	bool		sheddable;		/* its class may be shed (shed != never) */
	bool		exempt;			/* a superuser while exempt_superusers is on */
	bool		active;			/* running a query: a cancel frees its memory */
	bool		cancelled;		/* cancelled lately and still in that
								 * statement: its memory is on the way back */
	uint64		bytes;			/* private memory */
	uint64		idle_bytes;		/* what it holds idle (0: unknown): a cancel
								 * gives back bytes - idle_bytes */
	uint64		next_step;		/* its next doubling, if it grows by
								 * doublings and grows now
								 * (pgb_mem_steps_next); 0: none */
} PgbMemSession;

/*
 * A query whose cancel would give back less than this is never chosen: a
 * 3 MB web read can not bring the server under its mark.
 */
#define PGB_MEM_MIN_FREEABLE	((uint64) 1024 * 1024)

/*
 * The marks for a limit: guard x limit, and the last-resort mark halfway
 * from it to the limit (0.95 of it for the default guard of 0.9).
 */
extern void pgb_mem_marks(uint64 limit, double guard, uint64 *mark,
						  uint64 *last_resort);

/* Where use stands against the marks; a guard of 0 (or less) is off. */
extern PgbMemLevel pgb_mem_level(uint64 use, uint64 limit, double guard);

/* What a cancel of this session's query would give back. */
extern uint64 pgb_mem_freeable(const PgbMemSession *s);

/* The memory on the way back: what the cancelled sessions' queries hold. */
extern uint64 pgb_mem_returning(const PgbMemSession *s, int n);

/*
 * How long a query may take to honour its cancel while it keeps growing
 * (a hash table being doubled is copied to its end first: up to 1.1 s in
 * bench/memory.sh), the horizon of the early mark (ms).
 */
#define PGB_MEM_HORIZON_MS		1000

/*
 * The level the guard acts at: that of the use once the memory on the way
 * back (returning) is back, since a cancelled query may take a second to
 * stop, growing meanwhile, and nobody else pays for it.  Besides, with
 * nothing on the way back, PGB_MEM_EARLY when the use is past the early
 * mark (the guard's mark less its headroom again: 80% for a guard of 0.9)
 * and, growing at rate bytes/s, would reach the limit within
 * PGB_MEM_HORIZON_MS: then the cancel lands before the query that grows
 * can pass the limit while it takes its time to stop.
 */
extern PgbMemLevel pgb_mem_decide(uint64 use, uint64 returning, double rate,
								  uint64 limit, double guard);

/* The early mark for a limit and a guard. */
extern uint64 pgb_mem_early_mark(uint64 limit, double guard);

/*
 * The fastest growth the use is watched for (bytes/s: four times the
 * 500 MB/s hog of the guard's goal), and the longest the use goes unread.
 */
#define PGB_MEM_WATCH_RATE		((double) 2048 * 1024 * 1024)
#define PGB_MEM_USE_MAX_GAP_MS	100

/*
 * How long after a reading of use the next one may wait (ms): the time
 * growth at PGB_MEM_WATCH_RATE takes to reach the early mark, at most
 * PGB_MEM_USE_MAX_GAP_MS; 0 (every tick) within a tick's growth of the
 * mark or past it, or without a guard's limit.  Far under its mark the
 * server's use (a file the kernel formats on each read: /proc/meminfo,
 * memory.stat) is read ten times a second, not a hundred.
 */
extern int64 pgb_mem_use_gap_ms(uint64 use, uint64 limit, double guard);

/*
 * The session whose query gives way at level, or -1.  Past the mark (or
 * early), the largest active session of the lowest-priority class among
 * the sheddable active sessions whose cancel gives back at least
 * PGB_MEM_MIN_FREEABLE (never an exempt one); past the last-resort mark,
 * the largest such session of any class, exempt superusers' only when
 * nobody else is left.  Sessions already cancelled are not chosen again.
 */
extern int	pgb_mem_guard_victim(const PgbMemSession *s, int n, PgbMemLevel level);

/*
 * Queries that grow by doublings.  A hash table (simplehash: hash
 * aggregates, hashed subplans, ...) grows by allocating a bucket array
 * twice the size of the one it has, copying into it, then freeing the old
 * one; the backend honours a cancel only once the copy ends, seconds later
 * for a large table (bench/results/memory.md: the "slow" hog, whose steps
 * were 110, 195, 365 and 770 MB, each ramping up over 0.3-3.5 s).  Its
 * memory is a saw: a rise to the step's top, then the old array given
 * back, leaving the new one, twice as large, held.  Such a give-back (at
 * least PGB_MEM_MIN_FREEABLE, leaving at least twice as much held) is
 * what marks a session as growing by doublings; the next step allocates
 * twice the array it holds, four times what it gave back (the largest
 * give-back of its statement).  A session that never gives memory back
 * mid-statement (a sort, a tuplestore, a hash join's build: they grow
 * steadily) has no next step and is left to the marks.
 */

/* A session's readings, as far as its steps go (one statement's). */
typedef struct PgbMemSteps
{
	uint64		peak;			/* the most it held since it last rose
								 * after a fall: the top a fall counts from */
	bool		falling;		/* its last reading was lower than the one
								 * before */
	uint64		gave_back;		/* the largest give-back from the peak that
								 * left twice as much held; 0: none */
	uint64		last_back;		/* the last such give-back */
	uint64		trough;			/* what it held at its end */
	uint64		last;			/* the last reading */
	int64		last_ms;		/* when */
	uint64		base;			/* a reading PGB_MEM_GROW_MS old or more,
								 * or the last fall's end */
	int64		base_ms;		/* when; 0: no reading yet */
	bool		growing;		/* it rose by PGB_MEM_MIN_FREEABLE or more
								 * from base to the reading that replaced it
								 * (not since a fall: a table that has just
								 * doubled for the last time is no grower) */
	double		pace;			/* its fastest growth over a window since
								 * the last fall, out of steps (bytes/ms; 0:
								 * none yet): the table filling */
	bool		in_step;		/* it grew PGB_MEM_STEP_PACE times its pace
								 * since: a step under way, too late to stop
								 * and perhaps its last */
	uint64		step_from;		/* what it held as that step began */
	bool		rose;			/* every reading of the window rose: only
								 * such a window tells its pace */
} PgbMemSteps;

/* The window over which a session counts as growing (ms). */
#define PGB_MEM_GROW_MS			200

/* The next step, against the largest give-back. */
#define PGB_MEM_STEP_FACTOR		4

/*
 * Growth this many times its pace, from one reading to the next, is a
 * step under way (the slow hog: 40-70 MB/s between its steps, 370-960
 * MB/s in them).  It is over at the fall that ends it, or once it grew by
 * twice its next step (it was none).
 */
#define PGB_MEM_STEP_PACE		3.0

/* A new statement: no readings. */
extern void pgb_mem_steps_reset(PgbMemSteps *h);

/* A reading of the session's private memory (bytes) at now_ms. */
extern void pgb_mem_steps_note(PgbMemSteps *h, uint64 bytes, int64 now_ms);

/*
 * Its next step: PGB_MEM_STEP_FACTOR times its largest give-back if it
 * grows now at its pace and is half way to that step; 0 if it is not
 * growing, is in a step already (the marks see it then, as they see any
 * query), or never gave memory back.  Half way: a table doubles when its
 * entries have doubled since the last time, so the rest of what it held
 * after its last step (all but the new array, twice that give-back) is
 * about what it grows by before the next; only past half of that is it
 * taken to be on its way there (the slow hog's steps came after 77-96%
 * of it), not a query finishing its input after its last step.
 */
extern uint64 pgb_mem_steps_next(const PgbMemSteps *h);

/*
 * The session whose query gives way before its next step (next_step)
 * would take the server's use, less what is on the way back (returning),
 * past a mark, or -1: the step can not be stopped once it has begun, the
 * other sessions grow meanwhile (bench/memory.sh: a step that was to end
 * under the last-resort mark ended at 1007 MB of 1024), and past the mark
 * the guard would cancel a query anyway.  Past the guard's mark, as the
 * guard there: the lowest-priority sheddable class's; past the last-
 * resort mark, as there: any class's, exempt superusers' last.  In each,
 * the largest next step.  Only a session growing by doublings is chosen
 * (never a query that holds much but grows no more, nor one growing
 * steadily: the marks see those in time).  A guard of 0 is off.
 */
extern int	pgb_mem_step_victim(const PgbMemSession *s, int n, uint64 use,
								uint64 returning, uint64 limit, double guard);

/* Why a session is past its class's budget. */
typedef enum PgbMemBudgetReason
{
	PGB_MEM_OVER_SESSION = 1,	/* it alone is past session_mem */
	PGB_MEM_OVER_CLASS			/* its class is past mem (it is the largest) */
} PgbMemBudgetReason;

typedef struct PgbMemBudgetVictim
{
	int			index;			/* into the sessions */
	PgbMemBudgetReason reason;
} PgbMemBudgetVictim;

/*
 * The active sessions past their class's budget, at most max of them:
 * every one past its class's session_mem (by entry, 0: none), and for each
 * class whose sessions hold more than its mem together (by entry, 0:
 * none), its largest active session, unless one of its sessions gives way
 * already (a victim, or cancelled and still stopping).  Exempt and
 * cancelled sessions are never chosen.  sums[entry] gets the memory
 * of each class's sessions (nentries entries).  Returns the count.
 */
extern int	pgb_mem_budget_victims(const PgbMemSession *s, int n,
								   const uint64 *class_limit,
								   const uint64 *session_limit,
								   uint64 *sums, int nentries,
								   PgbMemBudgetVictim *victims, int max);

#endif							/* PGB_MEM_GUARD_H */
