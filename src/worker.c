/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The pg_budget background worker: samples every backend each
 *	  pg_budget.sample_interval, judges pressure, moves the AIMD admission
 *	  limits and sheds the lowest-priority sheddable work first.
 *
 * Its memory of each backend (PgbProcTrack) and of each class's AIMD
 * state is private.  What others see it publishes under the pg_budget lock
 * (rules in state.h): sampled counts, effective limits, pressure, events.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "pg_budget.h"
#include "worker.h"

PGDLLEXPORT void pgb_worker_main(Datum main_arg);

/* AIMD state by class entry; limits are mirrored in classes[].effective_max */
static PgbAimdState aimd[PGB_MAX_SHARED_CLASSES];
static uint32 aimd_incarnation[PGB_MAX_SHARED_CLASSES];	/* of aimd[e]'s entry */
static double inverted_share = 0;	/* moving average */

void
pgb_worker_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	/* a connection to no database: shared catalogs only, and a row in pg_stat_activity */
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* primaries and hot standbys alike */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "pg_budget", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgb_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pg_budget worker", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pg_budget worker", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * Lock pressure: the share of active sessions blocked past the threshold
 * by a lower, sheddable class.  Shedding a blocker ends such a wait within
 * a tick or two, so the share stays low while shedding keeps up; it rises
 * when it can not (a shed=cancel class idle in a transaction, more
 * blockers than max_actions), and then the lowest class must admit fewer.
 */
static double
blocked_share(PgbTick *tick, double active)
{
	int64		action_us = (int64) pgb_lock_wait_threshold * 1000;
	int			blocked = 0;
	int			p;

	for (p = 0; p < tick->nprocs; p++)
		if (tick->procs[p].pid != 0 && tick->procs[p].inverted &&
			tick->procs[p].blocked_us >= action_us)
			blocked++;
	return Min(1.0, blocked / Max(active, 1.0));
}

/*
 * Pressure signals of this tick.  Sustained means the moving average over
 * pg_budget.pressure_window is past the threshold; calm (for the additive
 * increase) needs every signal well below it, which is the hysteresis.
 */
static uint32
judge_pressure(PgbTick *tick, double dt_ms, const int *connected, int nclasses,
			   bool *calm)
{
	uint32		bits = 0;
	double		wal_share = 0;
	double		active = 0;
	double		active_now = 0;
	int			total = 0;
	int			usable = pgb_usable_connections();
	int			i;

	for (i = 0; i < nclasses; i++)
		total += connected[i];
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		PgbGroupStats *g = &pgb_shared->groups[i];

		wal_share += g->wal_share_avg * g->active_avg;
		active += g->active_avg;
		active_now += tick->groups[i].active;
	}
	if (active > 0.5)
		wal_share /= active;
	else
		wal_share = 0;

	inverted_share = pgb_ema(inverted_share, blocked_share(tick, active_now),
							 dt_ms, pgb_pressure_window);

	if (total >= pgb_saturation_threshold * usable)
		bits |= PGB_PRESSURE_CONNECTIONS;
	if (wal_share >= pgb_wal_pressure_threshold)
		bits |= PGB_PRESSURE_WAL;
	if (inverted_share >= pgb_lock_pressure_threshold)
		bits |= PGB_PRESSURE_LOCK;

	*calm = bits == 0 && inverted_share < pgb_lock_pressure_threshold / 2 &&
		total < pgb_connection_calm_line(pgb_saturation_threshold) * usable &&
		wal_share < pgb_wal_pressure_threshold / 2;
	return bits;
}

/* Returns false if a class has no entry (never, with LW_EXCLUSIVE). */
static bool
map_and_count(const PgbClassTable *table, int *map, int *connected,
			  LWLockMode mode)
{
	bool		complete = true;
	int			i;

	LWLockAcquire(pgb_shared->lock, mode);
	pgb_map_classes(table, map, mode == LW_EXCLUSIVE);
	for (i = 0; i < table->nclasses; i++)
	{
		connected[i] = map[i] >= 0 ? pgb_shared->classes[map[i]].connected : 0;
		if (map[i] < 0)
			complete = false;
		else if (aimd_incarnation[map[i]] != pgb_shared->classes[map[i]].incarnation)
		{
			/* a recycled entry starts afresh, not with the last class's limit */
			aimd_incarnation[map[i]] = pgb_shared->classes[map[i]].incarnation;
			aimd[map[i]].limit = PGB_UNLIMITED;
			aimd[map[i]].calm_since_ms = -1;
			aimd[map[i]].last_step_ms = 0;
			pgb_sampler_forget(map[i]);
		}
	}
	LWLockRelease(pgb_shared->lock);
	return complete || mode == LW_EXCLUSIVE;
}

static void
worker_tick(PgbTick *tick, double dt_ms)
{
	const PgbClassTable *table = pgb_current_table(NULL);
	int			connected[PGB_MAX_CLASSES + 1];
	int			limits[PGB_MAX_CLASSES + 1];
	int			actions_left = pgb_max_actions;
	PgbAimdParams params;
	uint32		pressure;
	bool		calm;
	int			victim_class;
	int			i;

	/* now: wall clock, for timestamps; now_ms: monotonic, for intervals */
	tick->now = GetCurrentTimestamp();
	tick->now_ms = pgb_monotonic_ms();

	pgb_sample(tick);
	pgb_publish_sample(tick, dt_ms);

	/*
	 * Map the table to class entries and read their counts in one shared
	 * hold; only when a configured class has no entry yet (so that it shows
	 * from the start) is the lock taken exclusively to create it.
	 */
	if (!map_and_count(table, tick->map, connected, LW_SHARED))
		(void) map_and_count(table, tick->map, connected, LW_EXCLUSIVE);

	pgb_history_tick(tick, table->nclasses);

	/* lock statistics are kept whatever pg_budget.shedding says */
	pgb_watch_locks(tick, table, &actions_left);

	pressure = judge_pressure(tick, dt_ms, connected, table->nclasses, &calm);

	/* AIMD: the lowest-priority class that can give way takes the decrease */
	params.decrease = pgb_aimd_decrease;
	params.step_ms = pgb_aimd_interval;
	params.calm_ms = pgb_calm_time;
	for (i = 0; i < table->nclasses; i++)
		limits[i] = tick->map[i] >= 0 ? aimd[tick->map[i]].limit : PGB_UNLIMITED;
	victim_class = (pressure != 0 && pgb_shedding != PGB_SHEDDING_OFF) ?
		pgb_class_to_decrease(table, limits, connected) : -1;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			e = tick->map[i];
		int			before;

		if (e < 0)
			continue;
		before = aimd[e].limit;
		/* additive step sized to the class: a share of its cap */
		params.increase = Max(1, (int) ceil(pgb_aimd_increase *
											(c->max == PGB_UNLIMITED ? pgb_usable_connections() : c->max)));
		if (c->shed == PGB_SHED_NEVER || pgb_shedding == PGB_SHEDDING_OFF)
			aimd[e].limit = PGB_UNLIMITED;
		else if (pgb_aimd_step(&aimd[e], &params, i == victim_class, calm,
							   connected[i], c->max, c->floor,
							   pgb_usable_connections(), tick->now_ms))
		{
			char		reason[PGB_REASON_LEN];

			if (aimd[e].limit == PGB_UNLIMITED)
				snprintf(reason, sizeof(reason), "calm: limit lifted (was %d)", before);
			else if (before == PGB_UNLIMITED || aimd[e].limit < before)
				snprintf(reason, sizeof(reason), "%s pressure: limit lowered to %d",
						 pgb_pressure_names(pressure), aimd[e].limit);
			else
				snprintf(reason, sizeof(reason), "calm: limit raised to %d", aimd[e].limit);
			ereport(LOG, (errmsg("pg_budget: class \"%s\": %s", c->name, reason)));
			pgb_event(c->name, 0, NULL,
					  pgb_shedding == PGB_SHEDDING_DRY_RUN ? "would limit" : "limit",
					  aimd[e].limit == PGB_UNLIMITED || (before != PGB_UNLIMITED && aimd[e].limit > before) ?
					  "calm" : pgb_pressure_names(pressure), reason);
		}
		/* in a dry run the limit is computed and recorded, never enforced */
		limits[i] = pgb_shedding == PGB_SHEDDING_ON ? aimd[e].limit : PGB_UNLIMITED;
	}

	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	pgb_shared->pressure = pressure;
	for (i = 0; i < table->nclasses; i++)
		if (tick->map[i] >= 0)
		{
			pgb_shared->classes[tick->map[i]].effective_max = limits[i];
			pgb_shared->groups[tick->map[i]].pressure =
				(i == victim_class) ? pressure : 0;
		}
	LWLockRelease(pgb_shared->lock);

	/*
	 * Sessions over a limit are shed only while connections or WAL are
	 * short: lock pressure is answered by shedding the blockers themselves
	 * and by admitting fewer, not by ending sessions that block nobody.
	 */
	if (pgb_shedding != PGB_SHEDDING_OFF &&
		(pressure & (PGB_PRESSURE_CONNECTIONS | PGB_PRESSURE_WAL)) != 0)
	{
		/* a dry run reports what the computed limits would shed */
		for (i = 0; i < table->nclasses; i++)
			if (tick->map[i] >= 0)
				limits[i] = aimd[tick->map[i]].limit;
		pgb_shed_over_limit(tick, table, limits, &actions_left);
	}
}

void
pgb_worker_main(Datum main_arg pg_attribute_unused())
{
	PgbTick		tick;
	MemoryContext tick_context;
	char	   *classes_seen;
	uint32		wait_event;
	int64		last = 0;
	int			i;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pg_budget worker");

	pgb_require_shmem();
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		aimd[i].limit = PGB_UNLIMITED;
		aimd[i].calm_since_ms = -1;
	}
	memset(&tick, 0, sizeof(tick));
	pgb_sampler_init(&tick);
	tick_context = AllocSetContextCreate(TopMemoryContext, "pg_budget worker tick",
										 ALLOCSET_DEFAULT_SIZES);

	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		pgb_shared->classes[i].effective_max = PGB_UNLIMITED;
	LWLockRelease(pgb_shared->lock);
	classes_seen = pstrdup(GetConfigOption("pg_budget.classes", false, false));
	ereport(LOG, (errmsg("pg_budget worker started (sampling every %d ms, shedding %s)",
						 pgb_sample_interval, GetConfigOption("pg_budget.shedding", false, false))));

	wait_event = pgb_wait_event("PgBudgetWorkerMain");
	for (;;)
	{
		int64		now;
		double		dt_ms;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 pgb_sample_interval, wait_event);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			const char *now_classes;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			now_classes = GetConfigOption("pg_budget.classes", false, false);
			if (strcmp(now_classes, classes_seen) != 0)
			{
				pgb_event(NULL, 0, NULL, "reload", "config",
						  "pg_budget.classes changed");
				pfree(classes_seen);
				classes_seen = pstrdup(now_classes);
			}
		}

		now = pgb_monotonic_ms();
		dt_ms = last == 0 ? pgb_sample_interval : (double) (now - last);
		last = now;

		MemoryContextReset(tick_context);
		{
			MemoryContext old = MemoryContextSwitchTo(tick_context);

			worker_tick(&tick, dt_ms);
			MemoryContextSwitchTo(old);
		}
	}
}
