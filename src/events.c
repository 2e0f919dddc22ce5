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
	strlcpy(ev.class, class ? class : "", sizeof(ev.class));
	ev.pid = pid;
	strlcpy(ev.role, role ? role : "", sizeof(ev.role));
	strlcpy(ev.action, action, sizeof(ev.action));
	strlcpy(ev.signal, signal ? signal : "", sizeof(ev.signal));
	strlcpy(ev.reason, reason ? reason : "", sizeof(ev.reason));

	LWLockAcquire(pgb_shared->rings_lock, LW_EXCLUSIVE);
	pgb_events->events[pgb_events->next % pgb_events->size] = ev;
	pgb_events->next++;
	LWLockRelease(pgb_shared->rings_lock);
}

/*
 * Copy the events with sequence numbers in [first, end) into copy[], a
 * piece at a time; what the writers overwrote meanwhile is skipped.
 * Returns how many were copied, oldest first.
 */
static int
copy_events(PgbEvent *copy, uint64 first, uint64 end)
{
	uint64		size = (uint64) pgb_events->size;
	int			n = 0;

	while (first < end)
	{
		uint64		next;
		uint64		stop;

		LWLockAcquire(pgb_shared->rings_lock, LW_SHARED);
		next = pgb_events->next;
		if (next > size && first < next - size)
			first = next - size;	/* overwritten while we copied */
		stop = Min(end, first + PGB_RING_PIECE);
		for (; first < stop; first++)
			copy[n++] = pgb_events->events[first % size];
		LWLockRelease(pgb_shared->rings_lock);
		CHECK_FOR_INTERRUPTS();
	}
	return n;
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

/* Oldest first. */
Datum
pg_budget_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgbEvent   *copy;
	uint64		first;
	uint64		next;
	int			n;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	copy = palloc(sizeof(PgbEvent) * Max(pgb_events->size, 1));

	LWLockAcquire(pgb_shared->rings_lock, LW_SHARED);
	next = pgb_events->next;
	LWLockRelease(pgb_shared->rings_lock);
	first = next > (uint64) pgb_events->size ? next - pgb_events->size : 0;
	n = copy_events(copy, first, next);

	for (i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		values[0] = TimestampTzGetDatum(copy[i].at);
		values[1] = text_or_null(copy[i].class, &nulls[1]);
		values[2] = Int32GetDatum(copy[i].pid);
		nulls[2] = copy[i].pid == 0;
		values[3] = text_or_null(copy[i].role, &nulls[3]);
		values[4] = CStringGetTextDatum(copy[i].action);
		values[5] = text_or_null(copy[i].signal, &nulls[5]);
		values[6] = text_or_null(copy[i].reason, &nulls[6]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
