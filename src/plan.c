/*-------------------------------------------------------------------------
 *
 * plan.c
 *	  The worker's plan of one tick (pgb_plan_decide), each step in the
 *	  plan_*.c file of its concern, and the state it keeps from tick to
 *	  tick.
 *
 * Pure: no server calls, no locks; unit-tested in test/unit/test_plan.c
 * and test_plan_limits.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include <string.h>

void
pgb_plan_state_init(PgbPlanState *st)
{
	int			e;

	memset(st, 0, sizeof(PgbPlanState));
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
		pgb_plan_forget_entry(st, e);
}

void
pgb_plan_forget_entry(PgbPlanState *st, int entry)
{
	PgbPlanEntry *pe = &st->entries[entry];

	/* a recycled entry starts afresh, not with the last class's limit */
	pe->aimd.limit = PGB_UNLIMITED;
	pe->aimd.calm_since_ms = -1;
	pe->aimd.last_step_ms = 0;
	pe->active_aimd.limit = PGB_UNLIMITED;
	pe->active_aimd.calm_since_ms = -1;
	pe->active_aimd.last_step_ms = 0;
	pe->running_avg = 0;
	pe->in_progress_avg = 0;
	pe->xact_rate_avg = 0;
	pe->commit_rate_avg = 0;
	pe->commit_ms_avg = 0;
	pe->commit_slow_rate_avg = 0;
	pe->commit_slow_rate_now = 0;
	pe->commit_rate_now = 0;
	pe->commit_tail_rate_avg = 0;
	pe->commit_tail_rate_now = 0;
	pe->wal_rate_avg = 0;
	pgb_wal_aimd_reset(&pe->wal_aimd);
	memset(&pe->run_delay, 0, sizeof(PgbRunDelayTrack));
	/* wal_prev is kept: the counter goes on, a forgotten entry reads 0 */
}

void
pgb_plan_init(PgbPlan *plan, PgbPlanRound *rounds, int max_rounds,
			  PgbPlanVictim *victims, PgbVictim *order, int max_victims)
{
	int			i;

	/* everything but the arrays of entries at its end (plan.h) */
	memset(plan, 0, offsetof(PgbPlan, changes));
	plan->victim_class = -1;
	plan->rounds = rounds;
	plan->max_rounds = max_rounds;
	plan->victims = victims;
	plan->order = order;
	plan->max_victims = max_victims;
	plan->active_victim_class = -1;
	plan->run_delay_class = -1;
	plan->wal_victim_class = -1;
	plan->wal_spared_class = -1;
	for (i = 0; i <= PGB_MAX_CLASSES; i++)
		plan->publish_limits[i] = plan->shed_limits[i] =
			plan->publish_active[i] = PGB_UNLIMITED;
}

int
pgb_plan_rounds_needed(const PgbSnapshot *snap, int nclasses)
{
	/* idle blockers and runaways: a round each */
	return snap->nlookups + nclasses + 3;
}

int
pgb_plan_victims_needed(const PgbSnapshot *snap)
{
	/* a class's round, and the idle blockers' and runaways' */
	int			n = 2 * snap->nrows + 1;
	int			i;

	for (i = 0; i < snap->nlookups; i++)
		n += 2 * snap->lookups[i].nblockers;
	return n;
}

/* Table index of each class entry (-1: not in the table). */
static void
classes_of_entries(const PgbSnapshot *snap, int nclasses, int *class_of)
{
	int			i;

	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		class_of[i] = -1;
	for (i = 0; i < nclasses; i++)
		if (snap->map[i] >= 0 && snap->map[i] < PGB_MAX_SHARED_CLASSES)
			class_of[snap->map[i]] = i;
}

void
pgb_plan_decide(PgbPlan *plan, PgbPlanState *st, PgbSnapshot *snap,
				const PgbClassTable *table, const PgbPlanParams *p,
				double dt_ms)
{
	int			class_of[PGB_MAX_SHARED_CLASSES];
	uint32		full;
	uint32		admission;
	bool		slow_now;
	bool		share_pressure;
	bool		any_slowish = false;
	bool		floored;

	plan->dry_run = p->shedding == PGB_SHEDDING_DRY_RUN;
	plan->max_actions = p->max_actions;
	classes_of_entries(snap, table->nclasses, class_of);

	/* inversions first: they are part of the lock pressure */
	pgb_plan_inversions(plan, snap, table, class_of, p);
	pgb_plan_runaways(plan, snap, table, class_of, p);
	plan->pressure = pgb_plan_judge_pressure(st, snap, p, dt_ms,
											 table->nclasses, &plan->calm);
	/* the share of sessions waiting on WAL has no faster reading */
	slow_now = (plan->pressure & PGB_PRESSURE_WAL) != 0;
	share_pressure = slow_now;
	if (p->commit_latency_target_ms > 0)
	{
		bool		slow[PGB_MAX_CLASSES + 1];
		bool		slowish[PGB_MAX_CLASSES + 1];
		bool		commits_slow_now;
		int			i;

		if (pgb_plan_commit_latency_pressure(st, snap, table, p, slow,
											 slowish, &commits_slow_now))
			plan->pressure |= PGB_PRESSURE_WAL;
		slow_now |= commits_slow_now;
		for (i = 0; i < table->nclasses; i++)
			any_slowish |= slowish[i];
	}

	/*
	 * WAL pressure is answered by the WAL budget first: while a class can
	 * still be throttled (it writes more than wal_rate_floor), it is
	 * neither admitted fewer nor shed for WAL; only when pressure stays
	 * with the budget at its floor does admission take WAL pressure.  Nor
	 * while such a class has nobody above it to make way for (spared: a
	 * bulk load alone waits on its own WAL, which slows nobody else; the
	 * budget acts once a class above it is there).
	 */
	pgb_plan_wal_limits(plan, st, snap, table, p, dt_ms, slow_now);
	full = plan->pressure;
	if ((full & PGB_PRESSURE_WAL) != 0 &&
		(plan->wal_victim_class >= 0 || plan->wal_spared_class >= 0))
		plan->pressure &= ~PGB_PRESSURE_WAL;

	/*
	 * Slow commits above reach admission only through a WAL budget at its
	 * floor: a class that never wrote more than wal_rate_floor was not
	 * what made them slow (on a slow machine, or one whose CPU others
	 * load, web's own commits take longer than the target with nobody
	 * else there), and admitting fewer of it would not make them faster.
	 * Sessions of its own waiting on WAL (the share) still count.  Nor is
	 * calm held back by such commits.
	 */
	floored = pgb_plan_wal_floored(st, snap, table, p);
	if (!share_pressure && !floored)
		plan->pressure &= ~PGB_PRESSURE_WAL;
	if (any_slowish && floored)
		plan->calm = false;
	admission = plan->pressure;
	pgb_plan_admission_limits(plan, st, snap, table, p);
	/*
	 * The gate's active limits take WAL pressure by the same rules: not
	 * while a WAL budget can act (halving the class's transactions in
	 * progress beside its budget throttled it twice for one pressure:
	 * bench/wal.sh's sweep saw a bulk class at an active limit of 1 under
	 * its budget), and slow commits only through a budget at its floor.
	 */
	plan->pressure = full;
	if ((full & PGB_PRESSURE_WAL) != 0 &&
		(plan->wal_victim_class >= 0 || plan->wal_spared_class >= 0))
		plan->pressure &= ~PGB_PRESSURE_WAL;
	if (!share_pressure && !floored)
		plan->pressure &= ~PGB_PRESSURE_WAL;
	pgb_plan_active_limits(plan, st, snap, table, p, dt_ms);
	plan->pressure = full;
	pgb_plan_let_through(plan, snap, table, class_of);
	pgb_plan_idle_holders(plan, snap, table, class_of);

	/*
	 * Sessions over a limit are shed only while connections or WAL are
	 * short: lock pressure is answered by shedding the blockers themselves
	 * and by admitting fewer, not by ending sessions that block nobody.
	 */
	if (p->shedding != PGB_SHEDDING_OFF &&
		(admission & (PGB_PRESSURE_CONNECTIONS | PGB_PRESSURE_WAL)) != 0)
		pgb_plan_over_limit(plan, st, snap, table);
}
