/*-------------------------------------------------------------------------
 *
 * stats_views.c
 *	  The functions behind pg_budget_wait_stats, pg_budget_lock_stats and
 *	  pg_budget_history: what the sampler published, as rows.
 *
 * Each copies the shared arrays under the pg_budget lock taken SHARED,
 * releases it and then builds rows (rules in shmem.h).  Group names are
 * resolved in the copy, so a row never names a class that was renamed
 * while it was being built.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "shmem.h"
#include "policy_math.h"

PG_FUNCTION_INFO_V1(pg_budget_wait_stats);
PG_FUNCTION_INFO_V1(pg_budget_lock_stats);
PG_FUNCTION_INFO_V1(pg_budget_history);
PG_FUNCTION_INFO_V1(pg_budget_memory_history);

typedef char GroupName[NAMEDATALEN];

/* Copy every group's name; the caller holds the lock. */
static void
copy_group_names(GroupName *names)
{
	int			i;

	for (i = 0; i < PGB_NUM_GROUPS; i++)
		strlcpy(names[i], pgb_group_name(i), NAMEDATALEN);
}

Datum
pg_budget_wait_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgbWaitStat *copy;
	GroupName  *names;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	copy = palloc(sizeof(pgb_shared->waits));
	names = palloc(sizeof(GroupName) * PGB_NUM_GROUPS);

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	memcpy(copy, pgb_shared->waits, sizeof(pgb_shared->waits));
	copy_group_names(names);
	LWLockRelease(pgb_shared->lock);

	for (i = 0; i < PGB_WAIT_STATS_SIZE; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		const char *type;
		const char *event;

		if (copy[i].group < 0 || copy[i].count == 0)
			continue;
		type = copy[i].event ? pgstat_get_wait_event_type(copy[i].event) : NULL;
		event = copy[i].event ? pgstat_get_wait_event(copy[i].event) : NULL;
		values[0] = CStringGetTextDatum(names[copy[i].group]);
		if (type)
			values[1] = CStringGetTextDatum(type);
		else
			nulls[1] = true;
		if (event)
			values[2] = CStringGetTextDatum(event);
		else
			nulls[2] = true;
		values[3] = CStringGetTextDatum(pgb_wait_category_name(pgb_wait_category(type, event)));
		values[4] = Int64GetDatum((int64) copy[i].count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
pg_budget_lock_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgbLockStat (*copy)[PGB_NUM_GROUPS];
	GroupName  *names;
	int			w,
				b;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	copy = palloc(sizeof(pgb_shared->locks));
	names = palloc(sizeof(GroupName) * PGB_NUM_GROUPS);

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	memcpy(copy, pgb_shared->locks, sizeof(pgb_shared->locks));
	copy_group_names(names);
	LWLockRelease(pgb_shared->lock);

	for (w = 0; w < PGB_NUM_GROUPS; w++)
		for (b = 0; b < PGB_NUM_GROUPS; b++)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};

			if (copy[w][b].waits == 0 && copy[w][b].inversions == 0)
				continue;
			values[0] = CStringGetTextDatum(names[w]);
			values[1] = CStringGetTextDatum(names[b]);
			values[2] = Int64GetDatum((int64) copy[w][b].waits);
			values[3] = Float8GetDatum(copy[w][b].longest_us / 1000.0);
			values[4] = Int64GetDatum((int64) copy[w][b].inversions);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}

/*
 * Oldest second first; within a second, classes in entry order.  With
 * memory, the rows of pg_budget_memory_history: at, class and mem_bytes
 * (the view pg_budget_history joins the two).
 */
static void
history_rows(FunctionCallInfo fcinfo, bool memory)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgbHistoryFrame *frames;
	GroupName  *names;
	uint64		size = (uint64) pgb_history->size;
	uint64		end;
	uint64		seq;
	int			count;
	int			f;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	frames = palloc(sizeof(PgbHistoryFrame) * pgb_history->size);
	names = palloc(sizeof(GroupName) * PGB_NUM_GROUPS);

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	copy_group_names(names);
	LWLockRelease(pgb_shared->lock);

	/*
	 * A piece at a time under rings_lock (shmem.h), skipping frames the
	 * worker overwrote meanwhile: a reader never holds up a login.
	 */
	LWLockAcquire(pgb_shared->rings_lock, LW_SHARED);
	end = pgb_history->written;
	LWLockRelease(pgb_shared->rings_lock);
	seq = end > size ? end - size : 0;
	count = 0;
	while (seq < end)
	{
		uint64		written;
		uint64		stop;

		LWLockAcquire(pgb_shared->rings_lock, LW_SHARED);
		written = pgb_history->written;
		if (written > size && seq < written - size)
			seq = written - size;
		stop = Min(end, seq + PGB_RING_PIECE);
		for (; seq < stop; seq++)
		{
			const PgbHistoryFrame *src = &pgb_history->frames[seq % size];

			memcpy(&frames[count], src,
				   offsetof(PgbHistoryFrame, rows) + src->nrows * sizeof(PgbHistoryRow));
			count++;
		}
		LWLockRelease(pgb_shared->rings_lock);
		CHECK_FOR_INTERRUPTS();
	}

	for (f = 0; f < count; f++)
	{
		int			r;

		for (r = 0; r < frames[f].nrows; r++)
		{
			PgbHistoryRow *row = &frames[f].rows[r];
			Datum		values[17];
			bool		nulls[17];

			memset(nulls, 0, sizeof(nulls));

			values[0] = TimestampTzGetDatum(frames[f].at);
			values[1] = CStringGetTextDatum(names[row->group]);
			values[2] = Float4GetDatum(row->connected);
			values[3] = Float4GetDatum(row->active);
			values[4] = Float4GetDatum(row->wal_waiting);
			values[5] = Float4GetDatum(row->lock_waiting);
			values[6] = Int64GetDatum(row->admitted);
			values[7] = Int64GetDatum(row->rejected);
			values[8] = Int64GetDatum(row->shed);
			if (row->limit >= 0)
				values[9] = Int32GetDatum(row->limit);
			else
				nulls[9] = true;
			values[10] = Float4GetDatum(row->in_progress);
			values[11] = Float4GetDatum(row->queued);
			values[12] = Int64GetDatum(row->queue_timeouts);
			if (row->active_limit >= 0)
				values[13] = Int32GetDatum(row->active_limit);
			else
				nulls[13] = true;
			values[14] = Float8GetDatum(row->wal_rate);
			/* CPU is counted by class entry: none for the pseudo-classes */
			values[15] = Float8GetDatum(row->cpu_ms);
			nulls[15] = row->cpu_ms < 0;
			values[16] = Float8GetDatum(row->run_delay_ms);
			nulls[16] = row->run_delay_ms < 0;
			if (memory)
			{
				/* pg_budget_memory_history: at, class, mem_bytes */
				values[2] = Int64GetDatum((int64) row->mem_bytes);
				nulls[2] = row->mem_bytes < 0;
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
}

Datum
pg_budget_history(PG_FUNCTION_ARGS)
{
	history_rows(fcinfo, false);
	return (Datum) 0;
}

Datum
pg_budget_memory_history(PG_FUNCTION_ARGS)
{
	history_rows(fcinfo, true);
	return (Datum) 0;
}
