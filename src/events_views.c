/*-------------------------------------------------------------------------
 *
 * events_views.c
 *	  pg_budget_events: the two rings (events.h) merged by time, read a
 *	  piece at a time under the rings lock held shared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "events.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(pg_budget_events);


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
