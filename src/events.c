/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The events ring behind pg_budget_events: refusals, sheds, pauses,
 *	  resumes and configuration reloads, newest overwriting oldest.
 *
 * The ring (pgb_events, sized by pg_budget.events_size) is written and
 * read under the pg_budget lock, exclusive to write, shared to read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_budget.h"

PG_FUNCTION_INFO_V1(pg_budget_events);

/* Record an event; the caller holds the lock exclusively. */
void
pgb_event_locked(const char *class, int pid, const char *role,
				 const char *action, const char *signal, const char *reason)
{
	PgbEvent   *ev;

	if (pgb_events == NULL || pgb_events->size == 0)
		return;
	ev = &pgb_events->events[pgb_events->next % pgb_events->size];
	ev->at = GetCurrentTimestamp();
	strlcpy(ev->class, class ? class : "", sizeof(ev->class));
	ev->pid = pid;
	strlcpy(ev->role, role ? role : "", sizeof(ev->role));
	strlcpy(ev->action, action, sizeof(ev->action));
	strlcpy(ev->signal, signal ? signal : "", sizeof(ev->signal));
	strlcpy(ev->reason, reason ? reason : "", sizeof(ev->reason));
	pgb_events->next++;
}

void
pgb_event(const char *class, int pid, const char *role,
		  const char *action, const char *signal, const char *reason)
{
	if (pgb_shared == NULL)
		return;
	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	pgb_event_locked(class, pid, role, action, signal, reason);
	LWLockRelease(pgb_shared->lock);
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

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	next = pgb_events->next;
	first = next > (uint64) pgb_events->size ? next - pgb_events->size : 0;
	n = (int) (next - first);
	for (i = 0; i < n; i++)
		copy[i] = pgb_events->events[(first + i) % pgb_events->size];
	LWLockRelease(pgb_shared->lock);

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
