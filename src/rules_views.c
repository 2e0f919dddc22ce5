/*-------------------------------------------------------------------------
 *
 * rules_views.c
 *	  pg_budget_rules and the classified_by column of pg_budget_backends:
 *	  the rules in force with their counters, and how each session got its
 *	  class.  Copies under the main lock held shared, rows after release.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "compat.h"
#include "guc.h"
#include "rules.h"
#include "shmem.h"
#include "visibility.h"

PG_FUNCTION_INFO_V1(pg_budget_rules);
PG_FUNCTION_INFO_V1(pg_budget_backend_rules);


/*
 * pg_budget_rules(): the rules in force, with their counters.  A rule
 * whose class the table lacks shows in_force false.
 */
Datum
pg_budget_rules(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const PgbRuleSet *set = pgb_current_rules();
	PgbRuleStat stats[PGB_MAX_RULES];
	const int  *idx;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	idx = pgb_rules_resolved(pgb_current_table(NULL));

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	memcpy(stats, pgb_shared->rules, sizeof(stats));
	LWLockRelease(pgb_shared->lock);

	for (i = 0; i < set->nrules; i++)
	{
		const PgbRule *r = &set->rules[i];
		bool		counted = stats[i].hash == r->hash;
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(pgb_rule_attr_name(r->attr));
		values[2] = CStringGetTextDatum(r->pattern);
		values[3] = CStringGetTextDatum(r->class_name);
		values[4] = CStringGetTextDatum(r->text);
		values[5] = BoolGetDatum(idx[i] >= 0);
		values[6] = Int64GetDatum(counted ? (int64) stats[i].classified : 0);
		values[7] = Int64GetDatum(counted ? (int64) stats[i].raised : 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pg_budget_backend_rules(): how each counted session got its class;
 * NULL where pg_stat_activity would hide that session's details.
 */
Datum
pg_budget_backend_rules(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	typedef struct
	{
		int			pid;
		Oid			roleid;
		char		by[PGB_RULE_TEXT_LEN];
	}			Row;
	Row		   *rows;
	bool		all_stats;
	int			n = 0;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	rows = palloc(sizeof(Row) * pgb_shared->nslots);

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < pgb_shared->nslots; i++)
	{
		const PgbBackendSlot *slot = &pgb_shared->slots[i];

		if (slot->pid == 0)
			continue;
		rows[n].pid = slot->pid;
		rows[n].roleid = slot->roleid;
		memcpy(rows[n].by, slot->classified_by, PGB_RULE_TEXT_LEN);
		rows[n].by[PGB_RULE_TEXT_LEN - 1] = '\0';
		n++;
	}
	LWLockRelease(pgb_shared->lock);

	all_stats = pgb_can_read_all_stats();
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int32GetDatum(rows[i].pid);
		values[1] = CStringGetTextDatum(rows[i].by);
		nulls[1] = rows[i].by[0] == '\0' ||
			!pgb_may_see_session(rows[i].roleid, all_stats);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
