/*-------------------------------------------------------------------------
 *
 * warn_views.c
 *	  Warn mode in the views: by class, its enforce key and what its
 *	  limits would have done (pg_budget_status.enforce, warned and
 *	  warned_*).  The counters are atomics (warn.h), read under no lock;
 *	  the class names are copied under the main lock held shared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "compat.h"
#include "guc.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(pg_budget_class_warned);

/*
 * By class entry: enforce (on or warn, in this backend's table; NULL for
 * a class removed from it), the would-be actions in all and by reason.
 */
Datum
pg_budget_class_warned(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const PgbClassTable *table = pgb_current_table(NULL);
	char	  (*names)[NAMEDATALEN];
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
		Datum		values[3 + PGB_NUM_WARN_REASONS];
		bool		nulls[3 + PGB_NUM_WARN_REASONS];
		uint64		total = 0;
		int			i;
		int			r;

		if (names[e][0] == '\0')
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(names[e]);
		i = pgb_find_class(table, names[e]);
		if (i >= 0)
			values[1] = CStringGetTextDatum(pgb_enforce_name(&table->classes[i]));
		else
			nulls[1] = true;
		for (r = 0; r < PGB_NUM_WARN_REASONS; r++)
		{
			uint64		n = pg_atomic_read_u64(&pgb_shared->classes[e].warned[r]);

			values[3 + r] = Int64GetDatum((int64) n);
			total += n;
		}
		values[2] = Int64GetDatum((int64) total);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
