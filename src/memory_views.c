/*-------------------------------------------------------------------------
 *
 * memory_views.c
 *	  Memory by class in the views: pg_budget_memory (the server's limit,
 *	  use and marks), the mem_bytes and budget columns of pg_budget_status
 *	  and the mem_bytes column of pg_budget_backends.  What the worker
 *	  published is read lock-free (memory.h); the class table and the
 *	  sessions' roles under the main lock held shared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "compat.h"
#include "guc.h"
#include "mem_guard.h"
#include "memory.h"
#include "shmem.h"
#include "visibility.h"

PG_FUNCTION_INFO_V1(pg_budget_memory);
PG_FUNCTION_INFO_V1(pg_budget_class_memory);
PG_FUNCTION_INFO_V1(pg_budget_backend_memory);

/*
 * One row: the server's memory limit and use as the worker last read
 * them, the guard's mark and last-resort mark (NULL when the guard is off
 * or the limit unknown).
 */
Datum
pg_budget_memory(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	uint64		use;
	uint64		limit;
	uint64		mark;
	uint64		last;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	pgb_memory_server(&use, &limit);
	pgb_mem_marks(limit, pgb_memory_guard, &mark, &last);
	values[0] = Int64GetDatum((int64) limit);
	nulls[0] = limit == 0;
	values[1] = Int64GetDatum((int64) use);
	nulls[1] = limit == 0;
	values[2] = Int64GetDatum((int64) mark);
	nulls[2] = limit == 0 || !(pgb_memory_guard > 0);
	values[3] = Int64GetDatum((int64) last);
	nulls[3] = nulls[2];
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * By class entry: the memory its sessions hold (to whom may read all
 * statistics, as the sampled columns of pg_budget_status), and its
 * budgets in this backend's table (NULL: none).
 */
Datum
pg_budget_class_memory(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const PgbClassTable *table = pgb_current_table(NULL);
	char	  (*names)[NAMEDATALEN];
	bool		all_stats = pgb_can_read_all_stats();
	int			e;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	names = palloc(NAMEDATALEN * PGB_MAX_SHARED_CLASSES);
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
		strlcpy(names[e], pgb_shared->classes[e].name, NAMEDATALEN);
	LWLockRelease(pgb_shared->lock);

	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, true, true};
		int			i;

		if (names[e][0] == '\0')
			continue;
		values[0] = CStringGetTextDatum(names[e]);
		values[1] = Int64GetDatum((int64) pgb_memory_entry_bytes(e));
		nulls[1] = !all_stats;
		i = pgb_find_class(table, names[e]);
		if (i >= 0 && table->classes[i].mem > 0)
		{
			values[2] = Int64GetDatum(table->classes[i].mem);
			nulls[2] = false;
		}
		if (i >= 0 && table->classes[i].session_mem > 0)
		{
			values[3] = Int64GetDatum(table->classes[i].session_mem);
			nulls[3] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pid and private memory of every counted session, as the worker last
 * read it; NULL where pg_stat_activity hides the session's details, or
 * before the worker read it.
 */
Datum
pg_budget_backend_memory(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int		   *pids;
	int		   *procnos;
	Oid		   *roles;
	bool		all_stats;
	int			n = 0;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	pids = palloc(sizeof(int) * pgb_shared->nslots);
	procnos = palloc(sizeof(int) * pgb_shared->nslots);
	roles = palloc(sizeof(Oid) * pgb_shared->nslots);
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < pgb_shared->nslots; i++)
		if (pgb_shared->slots[i].pid != 0)
		{
			pids[n] = pgb_shared->slots[i].pid;
			roles[n] = pgb_shared->slots[i].roleid;
			procnos[n++] = i;
		}
	LWLockRelease(pgb_shared->lock);

	all_stats = pgb_can_read_all_stats();
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, true};
		uint64		bytes;

		values[0] = Int32GetDatum(pids[i]);
		if (pgb_may_see_session(roles[i], all_stats) &&
			pgb_memory_session_bytes(procnos[i], pids[i], &bytes))
		{
			values[1] = Int64GetDatum((int64) bytes);
			nulls[1] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
