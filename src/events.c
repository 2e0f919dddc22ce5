/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The events rings behind pg_budget_events: the actions of operators
 *	  and of the worker (pauses, resumes, reloads, sheds, limit changes)
 *	  in one, the refusals clients cause (logins, queue timeouts) counted
 *	  by class, action, reason and second in the other; newest overwriting
 *	  oldest in each.
 *
 * Both rings (pgb_actions and pgb_refusals, pg_budget.events_size split
 * between them) are guarded by rings_lock, not by the main lock that
 * logins take (events.h): a writer holds it exclusive for one entry (a
 * refusal also for the search of the entry it is counted in) and never
 * while holding the main lock; the view copies PGB_RING_PIECE entries of
 * a ring per shared hold and merges the two by time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "text.h"
#include "events.h"

PgbEventRing *pgb_actions = NULL;
PgbEventRing *pgb_refusals = NULL;

/* pg_budget.events_size, split between the two events rings (events.h) */
static Size
ring_size(bool refusals)
{
	int			actions;
	int			refused;

	pgb_events_split(pgb_events_max, &actions, &refused);
	return add_size(offsetof(PgbEventRing, events),
					mul_size(refusals ? refused : actions, sizeof(PgbEvent)));
}

static Size
events_shmem_size(void)
{
	return add_size(ring_size(false), ring_size(true));
}

static void
events_shmem_startup(bool first pg_attribute_unused())
{
	bool		found;
	int			actions;
	int			refusals;

	pgb_events_split(pgb_events_max, &actions, &refusals);
	pgb_actions = ShmemInitStruct("pg_budget events", ring_size(false), &found);
	if (!found)
	{
		memset(pgb_actions, 0, ring_size(false));
		pgb_actions->size = actions;
	}
	pgb_refusals = ShmemInitStruct("pg_budget refusals", ring_size(true), &found);
	if (!found)
	{
		memset(pgb_refusals, 0, ring_size(true));
		pgb_refusals->size = refusals;
	}
}

static const PgbShmemPart events_shmem_part = {
	.size = events_shmem_size,
	.startup = events_shmem_startup,
};

void
pgb_events_init(void)
{
	pgb_shmem_register(&events_shmem_part);
}

/*
 * Record an event in ring, counted in a recent entry of its key when fold.
 * Never call it with the main lock held: a reader of the ring would then
 * hold up everyone waiting for the main lock.
 */
static void
record_event(PgbEventRing *ring, bool fold, const char *class, int pid,
			 const char *role, const char *action, const char *signal,
			 const char *reason)
{
	PgbEvent	ev;

	if (pgb_shared == NULL || ring == NULL || ring->size == 0)
		return;
	ev.count = 1;
	Assert(!LWLockHeldByMe(pgb_shared->lock));
	ev.at = GetCurrentTimestamp();
	pgb_strlcpy_mb(ev.class, class ? class : "", sizeof(ev.class));
	ev.pid = pid;
	pgb_strlcpy_mb(ev.role, role ? role : "", sizeof(ev.role));
	strlcpy(ev.action, action, sizeof(ev.action));
	strlcpy(ev.signal, signal ? signal : "", sizeof(ev.signal));
	pgb_strlcpy_mb(ev.reason, reason ? reason : "", sizeof(ev.reason));

	LWLockAcquire(pgb_shared->rings_lock, LW_EXCLUSIVE);
	if (fold)
		pgb_ring_fold(ring, &ev);
	else
		pgb_ring_put(ring, &ev);
	LWLockRelease(pgb_shared->rings_lock);
}

/* What an operator or the worker did: an entry of its own. */
void
pgb_event(const char *class, int pid, const char *role,
		  const char *action, const char *signal, const char *reason)
{
	record_event(pgb_actions, false, class, pid, role, action, signal, reason);
}

/*
 * What a client caused, at whatever rate it likes: counted in the entry of
 * its class, action, signal and second, in a ring of its own.
 */
void
pgb_refusal(const char *class, int pid, const char *role,
			const char *action, const char *signal, const char *reason)
{
	record_event(pgb_refusals, true, class, pid, role, action, signal, reason);
}
