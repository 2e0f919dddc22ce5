/*-------------------------------------------------------------------------
 *
 * plan_active.c
 *	  The gate's active limit: under CPU or WAL pressure, while a higher
 *	  class needs the CPU, the lowest sheddable class runs fewer
 *	  transactions at once (AIMD); calm gives them back.
 *
 * Pure: no server calls, no locks; unit-tested in test/unit/test_plan.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include <math.h>
#include <stdio.h>

int
pgb_active_floor(const PgbClass *c)
{
	int			f = c->floor;

	if (c->active != PGB_UNLIMITED && c->active < f)
		f = c->active;
	return Max(f, 1);
}

/*
 * The floor of the active limit under the pressure in force.  Under CPU
 * pressure alone, a static active=N that fits the cores is not cut: at
 * most one of the class's transactions a core can not by itself make
 * CPU pressure (the threshold is sessions on CPU per core, 1.5 by
 * default), and the operator chose N as a pool's size; cutting it below
 * gave the class half of what PgBouncer with the same pool gives it, for
 * a web p99 no better than PgBouncer's (doc/gate.md).  A larger static active
 * is cut down to the cores, no lower (floor permitting), and a class
 * without one as before.  WAL and memory pressure cut to the floor:
 * what they lower is not the CPU.
 */
int
pgb_active_floor_under(const PgbClass *c, uint32 pressure, int ncores)
{
	int			f = pgb_active_floor(c);

	if (c->active != PGB_UNLIMITED && (pressure & PGB_PRESSURE_CPU) != 0 &&
		(pressure & ~PGB_PRESSURE_CPU) == 0)
		f = Max(f, Min(c->active, Max(ncores, 1)));
	return f;
}

/*
 * The gate's active limits: under CPU or WAL pressure, while a higher
 * class needs the CPU, the lowest sheddable class admits fewer
 * transactions (AIMD, never below its floor); when calm, or when nobody
 * above it needs the CPU, it gets them back.
 */
void
pgb_plan_active_limits(PgbPlan *plan, PgbPlanState *st,
					   const PgbSnapshot *snap, const PgbClassTable *table,
					   const PgbPlanParams *p, double dt_ms)
{
	PgbAimdParams params;
	bool		gives[PGB_MAX_CLASSES + 1];
	int			limits[PGB_MAX_CLASSES + 1];
	double		use[PGB_MAX_CLASSES + 1];
	int			in_progress[PGB_MAX_CLASSES + 1];
	bool		demand[PGB_MAX_CLASSES + 1];
	double		rate[PGB_MAX_CLASSES + 1];
	bool		victim_demand[PGB_MAX_CLASSES + 1];
	int			i;

	plan->gate_pressure = pgb_plan_gate_pressure(st, snap, p, dt_ms,
												 (plan->pressure & PGB_PRESSURE_WAL) != 0,
												 &plan->gate_calm);
	for (i = 0; i < table->nclasses; i++)
	{
		int			e = snap->map[i];
		int			limit = e >= 0 ? st->entries[e].active_aimd.limit : PGB_UNLIMITED;

		/*
		 * The load the limit is cut from is the moving average: a class of
		 * short transactions sampled between two of them has none in
		 * progress at that instant, and must not drop to its floor.
		 */
		in_progress[i] = e >= 0 ? (int) ceil(st->entries[e].in_progress_avg) : 0;
		limits[i] = limit;
		use[i] = in_progress[i];
		demand[i] = e >= 0 && st->entries[e].running_avg >= PGB_CPU_DEMAND_MIN;
		rate[i] = e >= 0 ? st->entries[e].run_delay.rate : 0;
		victim_demand[i] = demand[i];
	}

	/*
	 * With every class's weight in force, the run delay of a higher class
	 * that needs the CPU is the CPU signal: pressure where the weights do
	 * not hold it below the target.  Without, sessions on CPU per core
	 * are (pgb_plan_gate_pressure).
	 */
	{
		bool		rd_calm;
		bool		rd_demand[PGB_MAX_CLASSES + 1];
		bool		other = plan->gate_pressure != 0;

		/*
		 * Sessions that waited for a CPU wanted it, however short their
		 * queries (the sampler may never catch them running).
		 */
		for (i = 0; i < table->nclasses; i++)
			rd_demand[i] = demand[i] || rate[i] > 0;
		plan->run_delay_class = pgb_run_delay_pressure(table, rate, rd_demand,
													   pgb_all_weighted(snap) ?
													   p->run_delay_target_ms : 0,
													   &rd_calm);
		if (plan->run_delay_class >= 0)
		{
			plan->gate_pressure |= PGB_PRESSURE_CPU;
			plan->run_delay_rate = rate[plan->run_delay_class];
			plan->gate_calm = false;
			/*
			 * Run delay alone: only a class below the one that waits
			 * gives way (with another signal too, any below a class that
			 * needs the CPU).
			 */
			if (!other)
				for (i = 0; i < table->nclasses; i++)
					victim_demand[i] = i == plan->run_delay_class;
			demand[plan->run_delay_class] = true;
		}
		else if (!rd_calm)
			plan->gate_calm = false;
	}
	/* room above the floor, under the pressure now known (run delay too) */
	for (i = 0; i < table->nclasses; i++)
		gives[i] = pgb_above_floor(limits[i], in_progress[i],
								   pgb_active_floor_under(&table->classes[i],
														  plan->gate_pressure,
														  snap->ncores));
	/*
	 * Memory past its mark threatens every class: the lowest sheddable
	 * class gives way whoever else runs.
	 */
	plan->active_victim_class = (plan->gate_pressure != 0 &&
								 p->shedding != PGB_SHEDDING_OFF) ?
		pgb_class_to_give_way(table, gives, use,
							  (plan->gate_pressure & PGB_PRESSURE_MEMORY) ?
							  NULL : victim_demand) : -1;

	params.decrease = p->aimd_decrease;
	/*
	 * One step per pressure_window at most: the CPU average must show what
	 * the last step did before the next one, or the limit overshoots both
	 * ways (a few transactions more or less move it at once).
	 */
	params.step_ms = Max(p->aimd_interval_ms, p->pressure_window_ms);
	params.calm_ms = p->calm_time_ms;
	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			e = snap->map[i];
		PgbAimdState *a;
		int			before;
		int			ceiling;
		bool		calm;

		if (e < 0)
			continue;
		a = &st->entries[e].active_aimd;
		before = a->limit;
		/* nobody above it needs the CPU: it may have the whole machine */
		calm = plan->gate_calm || !pgb_higher_demand(table, c, demand);
		/*
		 * A class gets back a share (aimd_increase, at least one) of its
		 * ceiling a step: of its static active, or, without one, of twice
		 * the cores, where its limit is lifted (more would add no CPU,
		 * only contention).  Proportional, so that a large machine
		 * recovers in as many steps as a small one.
		 */
		ceiling = c->active == PGB_UNLIMITED ?
			Max(2 * Max(snap->ncores, 1), pgb_active_floor(c) + 1) : snap->usable;
		params.increase = Max(1, (int) ceil(p->aimd_increase *
											(c->active == PGB_UNLIMITED ? ceiling : c->active)));
		if (c->shed == PGB_SHED_NEVER || p->shedding == PGB_SHEDDING_OFF)
			a->limit = PGB_UNLIMITED;
		else if (pgb_aimd_step(a, &params, i == plan->active_victim_class, calm,
							   in_progress[i], c->active,
							   pgb_active_floor_under(c, plan->gate_pressure,
													  snap->ncores),
							   ceiling, snap->now_ms) &&
				 plan->nchanges < (int) lengthof(plan->changes))
		{
			PgbLimitChange *ch = pgb_plan_new_change(plan);
			bool		up = a->limit == PGB_UNLIMITED ||
				(before != PGB_UNLIMITED && a->limit > before);

			ch->class_index = i;
			ch->active = true;
			ch->before = before;
			ch->after = a->limit;
			if (a->limit == PGB_UNLIMITED)
				snprintf(ch->reason, sizeof(ch->reason), "calm: active limit lifted (was %d)", before);
			else if (!up && plan->run_delay_class >= 0)
				snprintf(ch->reason, sizeof(ch->reason),
						 "%s pressure: active limit lowered to %d (run delay of class \"%s\" %.1f ms/s per session, target %.1f)",
						 pgb_pressure_names(plan->gate_pressure), a->limit,
						 table->classes[plan->run_delay_class].name,
						 plan->run_delay_rate, p->run_delay_target_ms);
			else if (!up)
				snprintf(ch->reason, sizeof(ch->reason), "%s pressure: active limit lowered to %d",
						 pgb_pressure_names(plan->gate_pressure), a->limit);
			else
				snprintf(ch->reason, sizeof(ch->reason), "calm: active limit raised to %d", a->limit);
			ch->action = p->shedding == PGB_SHEDDING_DRY_RUN ? "would limit" : "limit";
			ch->signal = up ? "calm" : pgb_pressure_names(plan->gate_pressure);
		}
		plan->publish_active[i] = p->shedding == PGB_SHEDDING_ON ? a->limit : PGB_UNLIMITED;
	}
}
