/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The events ring behind pg_budget_events: refusals, sheds, pauses,
 *	  resumes and configuration reloads, newest overwriting oldest.
 *
 * The ring (pgb_events, sized by pg_budget.events_size) is guarded by
 * rings_lock, not by the main lock that logins take (state.h): a writer
 * holds it exclusive for one entry and never while holding the main lock;
 * the view copies PGB_RING_PIECE entries per shared hold.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_budget.h"

PG_FUNCTION_INFO_V1(pg_budget_events);

/*
 * Record an event.  Never call it with the main lock held: a reader of the
 * ring would then hold up everyone waiting for the main lock.
 */
void
pgb_event(const char *class, int pid, const char *role,
		  const char *action, const char *signal, const char *reason)
{
	PgbEvent	ev;

	if (pgb_shared == NULL || pgb_events == NULL || pgb_events->size == 0)
		return;
	Assert(!LWLockHeldByMe(pgb_shared->lock));
	ev.at = GetCurrentTimestamp();
	pgb_strlcpy_mb(ev.class, class ? class : "", sizeof(ev.class));
	ev.pid = pid;
	pgb_strlcpy_mb(ev.role, role ? role : "", sizeof(ev.role));
	strlcpy(ev.action, action, sizeof(ev.action));
	strlcpy(ev.signal, signal ? signal : "", sizeof(ev.signal));
	pgb_strlcpy_mb(ev.reason, reason ? reason : "", sizeof(ev.reason));

	LWLockAcquire(pgb_shared->rings_lock, LW_EXCLUSIVE);
	pgb_events->events[pgb_events->next % pgb_events->size] = ev;
	pgb_events->next++;
	LWLockRelease(pgb_shared->rings_lock);
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

/*
 * Oldest first.  The ring is read a piece at a time (PGB_RING_PIECE
 * entries per shared hold of rings_lock), each piece turned into rows
 * before the next is read, so a reader holds nobody up for long and needs
 * no copy of the whole ring; entries overwritten meanwhile are skipped.
 */
Datum
pg_budget_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgbEvent	piece[PGB_RING_PIECE];
	uint64		size;
	uint64		first;
	uint64		end;
	MemoryContext rows_cxt;
	MemoryContext old;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	size = (uint64) pgb_events->size;
	/* the rows' text values, freed after each piece (the tuplestore copies) */
	rows_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_budget_events piece",
									 ALLOCSET_DEFAULT_SIZES);

	LWLockAcquire(pgb_shared->rings_lock, LW_SHARED);
	end = pgb_events->next;
	LWLockRelease(pgb_shared->rings_lock);
	first = end > size ? end - size : 0;

	while (first < end)
	{
		uint64		next;
		int			n = 0;
		int			i;

		LWLockAcquire(pgb_shared->rings_lock, LW_SHARED);
		next = pgb_events->next;
		if (next > size && first < next - size)
			first = next - size;	/* overwritten while we read */
		for (; first < end && n < PGB_RING_PIECE; first++)
			piece[n++] = pgb_events->events[first % size];
		LWLockRelease(pgb_shared->rings_lock);

		old = MemoryContextSwitchTo(rows_cxt);
		for (i = 0; i < n; i++)
		{
			Datum		values[7];
			bool		nulls[7] = {false, false, false, false, false, false, false};

			values[0] = TimestampTzGetDatum(piece[i].at);
			values[1] = text_or_null(piece[i].class, &nulls[1]);
			values[2] = Int32GetDatum(piece[i].pid);
			nulls[2] = piece[i].pid == 0;
			values[3] = text_or_null(piece[i].role, &nulls[3]);
			values[4] = CStringGetTextDatum(piece[i].action);
			values[5] = text_or_null(piece[i].signal, &nulls[5]);
			values[6] = text_or_null(piece[i].reason, &nulls[6]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(rows_cxt);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(rows_cxt);
	return (Datum) 0;
}
