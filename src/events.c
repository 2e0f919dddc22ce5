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

PG_FUNCTION_INFO_V1(pg_budget_events);

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

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

/* A reader's place in one ring: a piece copied, and where it goes on. */
typedef struct RingCursor
{
	PgbEventRing *ring;
	uint64		seq;			/* next event to copy */
	uint64		end;			/* events written when the read began */
	PgbEvent	piece[PGB_RING_PIECE];
	int			n;
	int			pos;
} RingCursor;

/* Copy the next piece once the last is used up; false when none is left. */
static bool
cursor_fill(RingCursor *c)
{
	uint64		size = (uint64) c->ring->size;

	if (c->pos < c->n)
		return true;
	c->n = 0;
	c->pos = 0;
	if (size == 0 || c->seq >= c->end)
		return false;
	LWLockAcquire(pgb_shared->rings_lock, LW_SHARED);
	/* skips what was overwritten while we read */
	for (c->seq = pgb_ring_resume(c->ring, c->seq);
		 c->seq < c->end && c->n < PGB_RING_PIECE; c->seq++)
		c->piece[c->n++] = c->ring->events[c->seq % size];
	LWLockRelease(pgb_shared->rings_lock);
	return c->n > 0;
}

/*
 * Oldest first, the two rings merged by time.  Each ring is read a piece
 * at a time (PGB_RING_PIECE entries per shared hold of rings_lock), and
 * rows are made as the pieces are used, so a reader holds nobody up for
 * long and needs no copy of a whole ring.  A refusals entry counted in
 * after the read began shows the count it had when its piece was copied.
 */
Datum
pg_budget_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RingCursor *a;
	RingCursor *r;
	MemoryContext rows_cxt;
	MemoryContext old;
	int			rows = 0;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	a = palloc0(sizeof(RingCursor));
	r = palloc0(sizeof(RingCursor));
	a->ring = pgb_actions;
	r->ring = pgb_refusals;
	/* the rows' text values, freed now and then (the tuplestore copies) */
	rows_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_budget_events rows",
									 ALLOCSET_DEFAULT_SIZES);

	LWLockAcquire(pgb_shared->rings_lock, LW_SHARED);
	a->end = a->ring->next;
	r->end = r->ring->next;
	a->seq = pgb_ring_first(a->ring);
	r->seq = pgb_ring_first(r->ring);
	LWLockRelease(pgb_shared->rings_lock);

	for (;;)
	{
		bool		have_a = cursor_fill(a);
		bool		have_r = cursor_fill(r);
		const PgbEvent *ev;
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};

		if (!have_a && !have_r)
			break;
		if (have_a && (!have_r || pgb_event_before(&a->piece[a->pos], &r->piece[r->pos])))
			ev = &a->piece[a->pos++];
		else
			ev = &r->piece[r->pos++];

		old = MemoryContextSwitchTo(rows_cxt);
		values[0] = TimestampTzGetDatum(ev->at);
		values[1] = text_or_null(ev->class, &nulls[1]);
		values[2] = Int32GetDatum(ev->pid);
		nulls[2] = ev->pid == 0;
		values[3] = text_or_null(ev->role, &nulls[3]);
		values[4] = CStringGetTextDatum(ev->action);
		values[5] = text_or_null(ev->signal, &nulls[5]);
		values[6] = text_or_null(ev->reason, &nulls[6]);
		values[7] = Int32GetDatum(ev->count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		if (++rows % PGB_RING_PIECE == 0)
		{
			MemoryContextReset(rows_cxt);
			CHECK_FOR_INTERRUPTS();
		}
	}
	MemoryContextDelete(rows_cxt);
	return (Datum) 0;
}
