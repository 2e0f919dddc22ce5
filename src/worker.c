/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The pg_budget background worker.  Each pg_budget.sample_interval its
 *	  tick flows down once: sample (sampler.c, lockwatch.c), decide
 *	  (plan.c, pure), publish limits and pressure, act (act.c).
 *
 * Its snapshot of the backends and its plan state (AIMD by class entry)
 * are private.  What others see it publishes under the pg_budget lock
 * (rules in shmem.h): sampled counts, effective limits, pressure, events.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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

#include "act.h"
#include "compat.h"
#include "gate.h"
#include "guc.h"
#include "shmem.h"
#include "events.h"
#include "cgroup.h"
#include "rules.h"
#include "runaway.h"
#include "worker.h"
#include "lockwatch.h"
#include "memory.h"
#include "plan.h"
#include "sampler.h"

PGDLLEXPORT void pgb_worker_main(Datum main_arg);

/* What the plan remembers from tick to tick: AIMD state by class entry */
static PgbPlanState plan_state;
static uint32 entry_incarnation[PGB_MAX_SHARED_CLASSES];	/* of its state */
static double wal_published[PGB_MAX_SHARED_CLASSES];	/* WAL budgets as published */
static int64 wal_published_ms = 0;

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

/* Returns false if a class has no entry (never, with LW_EXCLUSIVE). */
static bool
map_and_count(const PgbClassTable *table, int *map, int *connected,
			  LWLockMode mode)
{
	bool		complete = true;
	int			recycled[PGB_MAX_CLASSES + 1];
	int			nrecycled = 0;
	int			i;

	LWLockAcquire(pgb_shared->lock, mode);
	pgb_map_classes(table, map, mode == LW_EXCLUSIVE);
	for (i = 0; i < table->nclasses; i++)
	{
		connected[i] = map[i] >= 0 ? pgb_shared->classes[map[i]].connected : 0;
		if (map[i] < 0)
			complete = false;
		else if (entry_incarnation[map[i]] != pgb_shared->classes[map[i]].incarnation)
		{
			/* a recycled entry starts afresh, not with the last class's limit */
			entry_incarnation[map[i]] = pgb_shared->classes[map[i]].incarnation;
			pgb_plan_forget_entry(&plan_state, map[i]);
			pgb_sampler_forget(map[i]);
			recycled[nrecycled++] = map[i];
		}
	}
	LWLockRelease(pgb_shared->lock);
	/* the gate's counters of a recycled entry, under the gate's lock */
	for (i = 0; i < nrecycled; i++)
		pgb_gate_forget(recycled[i]);
	return complete || mode == LW_EXCLUSIVE;
}

/* The GUCs the plan reads, as they are this tick. */
static void
plan_params(PgbPlanParams *p)
{
	p->shedding = (PgbShedding) pgb_shedding;
	p->enabled = pgb_enabled;
	p->lock_wait_threshold_ms = pgb_lock_wait_threshold;
	p->pressure_window_ms = pgb_pressure_window;
	p->wal_pressure_threshold = pgb_wal_pressure_threshold;
	p->saturation_threshold = pgb_saturation_threshold;
	p->lock_pressure_threshold = pgb_lock_pressure_threshold;
	p->aimd_decrease = pgb_aimd_decrease;
	p->aimd_increase = pgb_aimd_increase;
	p->aimd_interval_ms = pgb_aimd_interval;
	p->calm_time_ms = pgb_calm_time;
	p->max_actions = pgb_max_actions;
	p->cpu_pressure_threshold = pgb_cpu_pressure_threshold;
	p->run_delay_target_ms = pgb_run_delay_target;
	p->wal_rate_floor = pgb_wal_rate_floor;
	p->commit_latency_target_ms = pgb_commit_latency_target;
}

/* Publish the plan's limits and pressure in one exclusive hold. */
static void
publish_plan(const PgbPlan *plan, const PgbSnapshot *snap,
			 const PgbClassTable *table)
{
	int			nclasses = table->nclasses;
	int			i;

	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	pgb_shared->pressure = plan->pressure | plan->gate_pressure;
	/* WAL pressure shows on the class whose WAL budget it lowers */
	for (i = 0; i < nclasses; i++)
		if (snap->map[i] >= 0)
		{
			pgb_shared->classes[snap->map[i]].effective_max = plan->publish_limits[i];
			/* the gate's pressure shows on a class it holds back */
			pgb_shared->groups[snap->map[i]].pressure =
				((i == plan->victim_class) ? plan->pressure : 0) |
				((i == plan->active_victim_class ||
				  plan->publish_active[i] != PGB_UNLIMITED) ?
				 plan->gate_pressure : 0) |
				((i == plan->wal_victim_class) ? PGB_PRESSURE_WAL : 0);
		}
	LWLockRelease(pgb_shared->lock);

	/*
	 * The gate's limits, under its own lock (never with the main one);
	 * then free places go to waiters at once: after a limit rose, and as
	 * a safety net each tick.
	 */
	for (i = 0; i < nclasses; i++)
		if (snap->map[i] >= 0)
		{
			int			e = snap->map[i];

			pgb_gate_set_effective(e, plan->publish_active[i]);
			(void) pgb_gate_grant(e, table->classes[i].active);
			/* the WAL budget when it moves, its rate for the views now and then */
			if (plan->publish_wal[i] != wal_published[e] ||
				snap->now_ms - wal_published_ms >= 250)
			{
				pgb_gate_set_wal(e, plan->publish_wal[i], plan_state.entries[e].wal_rate_avg,
								 pgb_plan_wal_xact_bytes(&plan_state, e));
				wal_published[e] = plan->publish_wal[i];
			}
		}
	if (snap->now_ms - wal_published_ms >= 250)
		wal_published_ms = snap->now_ms;
}

/*
 * Queues that nothing holds back any more go on at once: those of classes
 * removed from the table (a class no longer configured holds nobody
 * back, and its lowered limit is forgotten), and every queue while
 * pg_budget.enabled is off.  A lock-free look per entry; the gate lock
 * only where someone waits or a limit is left to forget.
 */
static void
release_unheld(const PgbSnapshot *snap, const PgbClassTable *table)
{
	bool		mapped[PGB_MAX_SHARED_CLASSES];
	int			e;
	int			i;

	memset(mapped, 0, sizeof(mapped));
	for (i = 0; i < table->nclasses; i++)
		if (snap->map[i] >= 0)
			mapped[snap->map[i]] = true;
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		int			woken;
		char		name[NAMEDATALEN];
		char		reason[PGB_REASON_LEN];

		if (pgb_enabled && mapped[e])
			continue;
		woken = pgb_gate_release(e);
		if (woken == 0)
			continue;
		LWLockAcquire(pgb_shared->lock, LW_SHARED);
		strlcpy(name, pgb_shared->classes[e].name, sizeof(name));
		LWLockRelease(pgb_shared->lock);
		snprintf(reason, sizeof(reason), "%d waiting sessions released: %s",
				 woken, pgb_enabled ? "the class was removed from pg_budget.classes" :
				 "pg_budget.enabled is off");
		ereport(LOG, (errmsg("pg_budget: class \"%s\": %s", name, reason)));
		pgb_event(name, 0, NULL, "gate release", NULL, reason);
	}
}

/*
 * Was this tick calm (policy_math.h: the calm tick)?  What it saw and what
 * its plan decided: nothing queued, waiting, marked, timed, pressed or
 * planned, and the memory guard's next reading not due at once.
 */
static bool
tick_calm(const PgbTick *tick, const PgbPlan *plan)
{
	const PgbSnapshot *snap = &tick->snap;
	PgbCalmSigns s;
	int			k;
	int			i;

	memset(&s, 0, sizeof(s));
	/* a session that just queued may be on a row this tick did not read */
	s.queued = snap->nqueued + (pgb_gate_any_waiting() ? 1 : 0);
	s.waiting = snap->nlookups;
	for (i = 0; i < PGB_NUM_GROUPS; i++)
		s.waiting += tick->groups[i].wal_waiting + tick->groups[i].lock_waiting;
	for (k = 0; k < pgb_snap_nscan(snap); k++)
	{
		const PgbSessionRow *r = &snap->rows[pgb_snap_scan(snap, k)];

		if (pgb_row_marked(r) || r->stmt_cpu_ms >= 0)
			s.marked++;
	}
	s.pressure = plan->pressure | plan->gate_pressure;
	/* calm for admission and for the gate (CPU demand, run delay) */
	s.plan_calm = plan->calm && plan->gate_calm;
	s.planned = plan->nrounds + plan->nvictims + plan->nlet + plan->nnotes +
		plan->nchanges;
	s.quiet_ms = pgb_memory_quiet_ms(snap->now_ms);
	return pgb_tick_calm(&s);
}

/* One tick; returns whether it was calm. */
static bool
worker_tick(PgbTick *tick, double dt_ms)
{
	const PgbClassTable *table = pgb_current_table(NULL);
	PgbSnapshot *snap = &tick->snap;
	PgbPlanParams params;
	PgbPlan		plan;
	int			nrounds;
	int			nvictims;

	/* now: wall clock, for timestamps; now_ms: monotonic, for intervals */
	tick->now = GetCurrentTimestamp();
	snap->now_ms = pgb_monotonic_ms();
	snap->usable = pgb_usable_connections();

	/* sample */
	pgb_sample(tick);
	pgb_publish_sample(tick, dt_ms);

	/*
	 * Map the table to class entries and read their counts in one shared
	 * hold; only when a configured class has no entry yet (so that it shows
	 * from the start) is the lock taken exclusively to create it.
	 */
	if (!map_and_count(table, snap->map, snap->connected, LW_SHARED))
		(void) map_and_count(table, snap->map, snap->connected, LW_EXCLUSIVE);

	pgb_history_tick(tick, table->nclasses);
	pgb_cgroup_tick(snap);
	pgb_cpu_sample(snap);
	/* memory: the server's use each tick, the guard's cancels (memory.c) */
	pgb_memory_tick(snap, table);
	/* runaways: the CPU time of statements of classes with switch_time */
	pgb_runaway_sample(snap, table);

	/* lock statistics are kept whatever pg_budget.shedding says */
	pgb_lookup_blockers(tick);

	/* decide */
	plan_params(&params);
	nrounds = pgb_plan_rounds_needed(snap, table->nclasses);
	nvictims = pgb_plan_victims_needed(snap);
	pgb_plan_init(&plan, palloc(sizeof(PgbPlanRound) * nrounds), nrounds,
				  palloc(sizeof(PgbPlanVictim) * nvictims),
				  palloc(sizeof(PgbVictim) * nvictims), nvictims);
	pgb_plan_decide(&plan, &plan_state, snap, table, &params, dt_ms);

	/* publish */
	publish_plan(&plan, snap, table);
	release_unheld(snap, table);

	/* act */
	(void) pgb_act_on_plan(&plan, table);
	pgb_plan_settle(&plan, &plan_state, snap);

	/*
	 * Runaway statements switched to a lower class, and back when they
	 * end: before the boosts, so that a boost's end takes a session to
	 * the class it counts as now (cgroup.h).
	 */
	{
		PgbSwitchPlan switches;

		pgb_runaway_switch_sample(snap);
		pgb_plan_switches(&switches, snap, table, &params);
		pgb_runaway_switch(&switches, snap);
	}

	/*
	 * OS-level priority inheritance: holders into their waiters' cgroups.
	 * With pg_budget.enabled off nobody is boosted, and the boosted go
	 * home.
	 */
	if (!pgb_enabled)
		memset(snap->cpu_in_force, 0, sizeof(snap->cpu_in_force));
	{
		PgbBoostPlan boosts;

		pgb_plan_boosts(&boosts, snap, table);
		pgb_cgroup_boost(&boosts, snap);
	}
	return tick_calm(tick, &plan);
}

/* At exit: no backend wakes a PGPROC that is no longer the worker's. */
static void
worker_calm_off(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	pg_atomic_write_u32(&pgb_shared->worker_calm, 0);
}

void
pgb_worker_main(Datum main_arg pg_attribute_unused())
{
	PgbTick		tick;
	MemoryContext tick_context;
	char	   *classes_seen;
	uint32		wait_event;
	int64		last = 0;
	int			interval_ms;
	int			base_ms;
	bool		calm = false;
	bool		stretched;
	bool		published = false;
	bool		woken = false;
	int			rc;
	int			i;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pg_budget worker");

	pgb_require_shmem();
	pgb_cgroup_worker_start();
	pgb_runaway_unswitch_all();
	pgb_memory_reload(true);
	pgb_plan_state_init(&plan_state);
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
	interval_ms = base_ms = pgb_sample_interval;
	pg_atomic_write_u32(&pgb_shared->worker_calm, 0);
	before_shmem_exit(worker_calm_off, (Datum) 0);
	for (;;)
	{
		int64		now;
		double		dt_ms;
		int			next_base;
		int			next_ms;

		/*
		 * With thousands of sessions the tick is stretched so that it reads
		 * about as many sessions a second as 1000 do at 10 ms (policy_math.h).
		 */
		next_base = pgb_tick_interval_ms(pgb_sample_interval, tick.nlive);
		if (next_base != base_ms)
			ereport(DEBUG1,
					(errmsg_internal("pg_budget worker: sampling every %d ms (%d live processes)",
									 next_base, tick.nlive)));
		base_ms = next_base;

		/*
		 * After a calm tick the next comes later, up to 100 ms; the first
		 * tick that is not calm brings back the tick in force
		 * (policy_math.h: the calm tick).  A transaction queued at the gate
		 * or a timed statement wakes the worker meanwhile (pgb_wake_worker).
		 */
		if (woken)
			next_ms = base_ms;	/* woken: the next at the tick in force */
		else
			next_ms = pgb_calm_interval_ms(base_ms, interval_ms, calm,
										   calm ? pgb_memory_quiet_ms(pgb_monotonic_ms()) : 0);

		/*
		 * Before each stretched sleep, the backends' one-shot wake is armed
		 * again: the first that takes it wakes the worker, the rest read 0
		 * (shmem.h: worker_calm).  So wake-ups never come faster than the
		 * tick in force.
		 */
		stretched = next_ms > base_ms;
		pg_atomic_write_u32(&pgb_shared->worker_calm,
							stretched ? (uint32) PGB_PROCNO(MyProc) + 1 : 0);
		if (stretched != published)
		{
			ereport(DEBUG2,
					(errmsg_internal("pg_budget worker: %s",
									 stretched ? "calm, the tick stretched" :
									 "not calm, back to the tick in force")));
			published = stretched;
		}
		interval_ms = next_ms;
		tick.interval_ms = interval_ms;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   interval_ms, wait_event);
		woken = stretched && (rc & WL_LATCH_SET) != 0 && (rc & WL_TIMEOUT) == 0;
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			const char *now_classes;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* the cgroups follow the table here, never in a login */
			pgb_cgroup_reload();
			pgb_memory_reload(false);
			/* once for the server: rules whose class the table lacks */
			pgb_rules_report();
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
		/* a stretched tick's samples stand for the time it covered */
		tick.sample_weight = stretched ?
			pgb_calm_weight((int) Min(dt_ms, 10.0 * PGB_CALM_TICK_MS), base_ms) : 1;

		MemoryContextReset(tick_context);
		{
			MemoryContext old = MemoryContextSwitchTo(tick_context);

			calm = worker_tick(&tick, dt_ms);
			MemoryContextSwitchTo(old);
		}
	}
}
