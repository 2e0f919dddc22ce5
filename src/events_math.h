/*-------------------------------------------------------------------------
 *
 * events_math.h
 *	  The events rings behind pg_budget_events: one for the actions of
 *	  operators and of the worker, one for refusals, which are counted by
 *	  class, action, reason and second so that a flood of them takes a few
 *	  entries and never pushes an action out.
 *
 * c.h only: unit-tested without a server.  events.c keeps the rings in
 * shared memory and calls these under rings_lock (rules in events.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_EVENTS_MATH_H
#define PGB_EVENTS_MATH_H

#include "c.h"

#include "policy_math.h"

/* Entries of the refusals ring looked at for one to count a refusal in. */
#define PGB_FOLD_SCAN			64

typedef struct PgbEvent
{
	int64		at;				/* TimestampTz: the first of the entry */
	char		class[NAMEDATALEN];
	int			pid;			/* of the last event counted in */
	int			count;			/* events the entry stands for */
	char		role[NAMEDATALEN];
	char		action[24];
	char		signal[16];
	char		reason[PGB_REASON_LEN];
} PgbEvent;

/*
 * A ring of events, newest overwriting oldest: event number n (0, 1, ...
 * since start) is in events[n % size] until n + size is written.
 */
typedef struct PgbEventRing
{
	int			size;
	uint64		next;			/* events written since start */
	PgbEvent	events[FLEXIBLE_ARRAY_MEMBER];
} PgbEventRing;

/*
 * pg_budget.events_size split between the two rings: actions get the
 * larger half, refusals the rest (each at least one entry when total >= 2).
 */
extern void pgb_events_split(int total, int *actions, int *refusals);

/* Number of the oldest event still in the ring. */
extern uint64 pgb_ring_first(const PgbEventRing *ring);

/*
 * Where a reader at event number seq goes on: seq, or the oldest event
 * still in the ring when seq was overwritten meanwhile.
 */
extern uint64 pgb_ring_resume(const PgbEventRing *ring, uint64 seq);

/* Append ev (newest overwriting oldest). */
extern void pgb_ring_put(PgbEventRing *ring, const PgbEvent *ev);

/* Second of a timestamp in microseconds (rounded down, also below 0). */
extern int64 pgb_event_second(int64 at);

/* Whether b may be counted in a: same second, class, action and reason. */
extern bool pgb_event_same_key(const PgbEvent *a, const PgbEvent *b);

/*
 * Count ev in the newest entry with its key among the last PGB_FOLD_SCAN
 * of the ring, or append it.  The entry keeps its first time (the
 * earliest) and takes ev's pid, role and reason.  Returns true when ev
 * was counted in an entry.
 */
extern bool pgb_ring_fold(PgbEventRing *ring, const PgbEvent *ev);

/* Merging two rings by time: whether a comes before b (a first on ties). */
extern bool pgb_event_before(const PgbEvent *a, const PgbEvent *b);

#endif							/* PGB_EVENTS_MATH_H */
