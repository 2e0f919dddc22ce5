/*-------------------------------------------------------------------------
 *
 * cpu_views.c
 *	  pg_budget_cpu and the cgroup column of pg_budget_backends: the CPU
 *	  weights in force by class, and where each session runs.  Copies under
 *	  the main lock held shared; the /proc files are read after release.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "cgroup.h"
#include "cgroup_fs.h"
#include "cgroup_math.h"
#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "visibility.h"

PG_FUNCTION_INFO_V1(pg_budget_cpu);
PG_FUNCTION_INFO_V1(pg_budget_backend_cgroups);


/*
 * One row per class entry (configured classes, and removed ones still
 * named): its weight in force (NULL when none, or for cpu=idle), idle
 * (NULL when none), directory, and the CPU time and run delay of its
 * sessions since reset (to whom may read all statistics, as the sampled
 * columns of pg_budget_status).
 */
Datum
pg_budget_cpu(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgbCpuState *cpu;
	PgbClassState *classes;
	bool		all_stats = pgb_can_read_all_stats();
	int			e;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	cpu = palloc(sizeof(PgbCpuState));
	classes = palloc(sizeof(pgb_shared->classes));
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	memcpy(cpu, &pgb_shared->cpu, sizeof(PgbCpuState));
	memcpy(classes, pgb_shared->classes, sizeof(pgb_shared->classes));
	LWLockRelease(pgb_shared->lock);

	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		Datum		values[6];
		bool		nulls[6] = {true, true, true, true, true, true};
		char		dir[PGB_CGROUP_PATH_LEN];
		int			k;

		if (classes[e].name[0] == '\0')
			continue;
		values[0] = CStringGetTextDatum(classes[e].name);
		nulls[0] = false;
		for (k = 0; cpu->version != PGB_CGROUP_NONE && k < cpu->nclasses; k++)
		{
			if (strcmp(cpu->classes[k].name, classes[e].name) != 0)
				continue;
			values[1] = Int32GetDatum(cpu->classes[k].weight);
			nulls[1] = cpu->classes[k].idle;
			values[2] = BoolGetDatum(cpu->classes[k].idle);
			nulls[2] = false;
			if (pgb_cgroup_join(pgb_cgroup, cpu->classes[k].name, dir, sizeof(dir)))
			{
				values[3] = CStringGetTextDatum(dir);
				nulls[3] = false;
			}
			break;
		}
		values[4] = Float8GetDatum(classes[e].cpu_ms);
		nulls[4] = !all_stats;
		values[5] = Float8GetDatum(classes[e].run_delay_ms);
		nulls[5] = !all_stats;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pid, cgroup (for the cpu controller, from /proc/<pid>/cgroup) and CPU
 * boost (the class whose cgroup the worker moved it into, or NULL) of
 * every counted session; the files are read after the lock is released.
 * Both are NULL for a session whose details pg_stat_activity hides from
 * the caller.
 */
Datum
pg_budget_backend_cgroups(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int		   *pids;
	Oid		   *roles;
	char	  (*boosts)[NAMEDATALEN];
	bool		all_stats;
	int			n = 0;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	pids = palloc(sizeof(int) * pgb_shared->nslots);
	roles = palloc(sizeof(Oid) * pgb_shared->nslots);
	boosts = palloc(NAMEDATALEN * pgb_shared->nslots);
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < pgb_shared->nslots; i++)
		if (pgb_shared->slots[i].pid != 0)
		{
			uint32		boost = pg_atomic_read_u32(&pgb_shared->slots[i].cpu_boost);

			boosts[n][0] = '\0';
			if (boost > 0 && boost <= PGB_MAX_SHARED_CLASSES)
				strlcpy(boosts[n], pgb_shared->classes[boost - 1].name, NAMEDATALEN);
			roles[n] = pgb_shared->slots[i].roleid;
			pids[n++] = pgb_shared->slots[i].pid;
		}
	LWLockRelease(pgb_shared->lock);

	all_stats = pgb_can_read_all_stats();

	for (i = 0; i < n; i++)
	{
		char		path[64];
		char		content[4096];
		char		cgroup[PGB_CGROUP_PATH_LEN];
		Datum		values[3];
		bool		nulls[3] = {false, false, true};

		snprintf(path, sizeof(path), "/proc/%d/cgroup", pids[i]);
		values[0] = Int32GetDatum(pids[i]);
		/* where a session runs is a detail pg_stat_activity would hide */
		if (!pgb_may_see_session(roles[i], all_stats))
		{
			nulls[1] = true;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			continue;
		}
		if (pgb_cgroup_read(path, content, sizeof(content)) &&
			pgb_cgroup_cpu_path(content, cgroup, sizeof(cgroup)))
			values[1] = CStringGetTextDatum(cgroup);
		else
			nulls[1] = true;
		if (boosts[i][0] != '\0')
		{
			values[2] = CStringGetTextDatum(boosts[i]);
			nulls[2] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
