/*-------------------------------------------------------------------------
 *
 * events.h
 *	  The rings behind pg_budget_events (events.c).
 *
 * Locking rules
 * -------------
 * Events go to one of two rings (events_math.h), both under the rings lock
 * (PgbShared.rings_lock), never the main lock: pgb_actions, what operators
 * and the worker did (pause, resume, reload, sheds, limit changes, let
 * through), one entry each; and pgb_refusals, what clients cause at any
 * rate (refused logins, queue timeouts), counted into one entry per class,
 * action, reason and second.  Writers take the rings lock exclusive for
 * one entry and never while holding the main lock; a refused login holds
 * it for the search of at most PGB_FOLD_SCAN entries (a few string
 * compares each) and one copy, the event made before the lock is taken.
 * Readers take it shared for a bounded piece (PGB_RING_PIECE entries),
 * release it between pieces and skip what was overwritten meanwhile, by
 * the entries' sequence numbers.  No refusal ever writes to pgb_actions,
 * so a flood of them can not push an action out.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_EVENTS_H
#define PGB_EVENTS_H

#include "postgres.h"

#include "events_math.h"

extern PgbEventRing *pgb_actions;
extern PgbEventRing *pgb_refusals;
extern void pgb_events_init(void);

/* An action; never with the main lock held. */
extern void pgb_event(const char *class, int pid, const char *role,
					  const char *action, const char *signal,
					  const char *reason);

/* A refusal caused by a client: counted by class, action, signal, second. */
extern void pgb_refusal(const char *class, int pid, const char *role,
						const char *action, const char *signal,
						const char *reason);

#endif							/* PGB_EVENTS_H */
