/*-------------------------------------------------------------------------
 *
 * warn.h
 *	  Warn mode (warn.c): a class with enforce=warn has every limit judged
 *	  as usual, but what a limit would do to it (refuse, queue, throttle,
 *	  cancel, terminate) is counted and recorded instead of done.
 *
 * Locking rules
 * -------------
 * The counters are the class entry's warned[] atomics (shmem.h): added to
 * under no lock, or under whatever lock the caller holds.  The event goes
 * to the refusals ring (events.h), counted into one entry per class,
 * action, reason and second; it takes the rings lock, so pgb_warn_event
 * is never called with the main lock held.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_WARN_H
#define PGB_WARN_H

#include "postgres.h"

#include "classes.h"

/* Count one would-be action of class entry entry; any lock or none. */
extern void pgb_warn_count(int entry, PgbWarnReason reason);

/*
 * Record it in pg_budget_events: action "warn: <would>" (e.g. "warn:
 * refuse"), the reason's name as its signal, detail as its reason.  Never
 * with the main lock held.
 */
extern void pgb_warn_event(const char *class, int pid, const char *role,
						   const char *would, PgbWarnReason reason,
						   const char *detail);

/* Both: count it, then record it. */
extern void pgb_warn(int entry, const char *class, int pid, const char *role,
					 const char *would, PgbWarnReason reason,
					 const char *detail);

#endif							/* PGB_WARN_H */
