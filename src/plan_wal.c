/*-------------------------------------------------------------------------
 *
 * plan_wal.c
 *	  The adaptive WAL budget: under WAL pressure the lowest sheddable
 *	  class writing more than the floor gets a lower WAL rate, by the step
 *	  of pgb_wal_aimd_step; calm gives it back.
 *
 * Pure: no server calls, no locks; unit-tested in test/unit/test_plan.c
 * and test_plan_wal.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include <math.h>
#include <stdio.h>

double
pgb_plan_wal_xact_bytes(const PgbPlanState *st, int entry)
{
	const PgbPlanEntry *pe = &st->entries[entry];

	if (!(pe->xact_rate_avg > 0.01) || !(pe->wal_rate_avg > 0))
		return 0;
	return pe->wal_rate_avg / pe->xact_rate_avg;
}

/*
 * The adaptive WAL budget: under WAL pressure, while a higher class is
 * active, the lowest sheddable class writing more than the floor gets a
 * lower WAL rate (AIMD on bytes/s, never below pg_budget.wal_rate_floor);
 * calm gives it back.
 */
void
pgb_plan_wal_limits(PgbPlan *plan, PgbPlanState *st,
					const PgbSnapshot *snap, const PgbClassTable *table,
					const PgbPlanParams *p, double dt_ms, bool slow_now)
{
	double		rate_avg[PGB_MAX_CLASSES + 1];
	bool		gives[PGB_MAX_CLASSES + 1];
	bool		demand[PGB_MAX_CLASSES + 1];
	bool		pressure = (plan->pressure & PGB_PRESSURE_WAL) != 0;
	double		alpha = pgb_ema_alpha(dt_ms, p->pressure_window_ms);
	int			e,
				i;

	/* the rate of every entry, whether a class of this table or not */
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		PgbPlanEntry *pe = &st->entries[e];
		uint64		now = snap->entries[e].wal_bytes;
		double		rate = 0;

		/* the first reading is a baseline, not a burst since start */
		if (st->wal_primed && now >= pe->wal_prev && dt_ms > 0)
			rate = (double) (now - pe->wal_prev) * 1000.0 / dt_ms;
		pe->wal_prev = now;
		pe->wal_rate_avg = pgb_ema_step(pe->wal_rate_avg, rate, alpha);
		/* transactions a second, for the WAL a transaction writes */
		now = snap->entries[e].transactions;
		rate = 0;
		if (st->wal_primed && now >= pe->xact_prev && dt_ms > 0)
			rate = (double) (now - pe->xact_prev) * 1000.0 / dt_ms;
		pe->xact_prev = now;
		pe->xact_rate_avg = pgb_ema_step(pe->xact_rate_avg, rate, alpha);
	}
	st->wal_primed = true;
	for (i = 0; i < table->nclasses; i++)
	{
		e = snap->map[i];
		rate_avg[i] = e >= 0 ? st->entries[e].wal_rate_avg : 0;
		/* more than the floor to give (a NaN rate is not known to be less) */
		gives[i] = !(rate_avg[i] <= p->wal_rate_floor);

		/* a class that commits is there, however short its transactions */
		demand[i] = e >= 0 && (snap->entries[e].active_avg >= PGB_CPU_DEMAND_MIN ||
							   st->entries[e].commit_rate_avg >= PGB_COMMITS_MIN_RATE);
	}
	plan->wal_victim_class = -1;
	if (pressure && p->shedding != PGB_SHEDDING_OFF)
	{
		bool		more[PGB_MAX_CLASSES + 1];

		/*
		 * A budget already cut to its fair share (or the floor) gives no
		 * more: the next writer up gives way first.  With none, the class
		 * at its share stays the one (its floor's rules, plan.c).
		 */
		for (i = 0; i < table->nclasses; i++)
		{
			e = snap->map[i];
			more[i] = gives[i] &&
				!(e >= 0 && pgb_wal_at_fair_floor(&st->entries[e].wal_aimd,
												  p->wal_rate_floor));
		}
		plan->wal_victim_class = pgb_class_to_give_way(table, more, rate_avg, demand);
		if (plan->wal_victim_class < 0)
			plan->wal_victim_class = pgb_class_to_give_way(table, gives, rate_avg, demand);
	}
	plan->wal_spared_class = -1;
	if (pressure && p->shedding != PGB_SHEDDING_OFF && plan->wal_victim_class < 0)
	{
		bool		anyone[PGB_MAX_CLASSES + 1];

		for (i = 0; i < table->nclasses; i++)
			anyone[i] = true;
		plan->wal_spared_class = pgb_class_to_give_way(table, gives, rate_avg,
													   anyone);
	}

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		PgbWalAimdParams wp;
		PgbWalAimd *budget;
		double		before;

		e = snap->map[i];
		if (e < 0)
			continue;
		budget = &st->entries[e].wal_aimd;
		wp.configured = c->wal;
		wp.floor_rate = p->wal_rate_floor;
		wp.decrease = p->aimd_decrease;
		wp.increase = p->aimd_increase;
		wp.step_ms = p->aimd_interval_ms;
		wp.calm_ms = p->calm_time_ms;
		before = budget->limit;
		if (c->shed == PGB_SHED_NEVER || p->shedding == PGB_SHEDDING_OFF)
			budget->limit = 0;
		else if (pgb_wal_aimd_step(budget, i == plan->wal_victim_class,
								   slow_now && pgb_higher_demand(table, c, demand),
								   !pressure || !pgb_higher_demand(table, c, demand),
								   rate_avg[i], &wp, snap->now_ms) &&
				 plan->nchanges < (int) lengthof(plan->changes))
		{
			PgbLimitChange *ch = pgb_plan_new_change(plan);
			double		after = budget->limit;
			bool		up = after <= 0 || (before > 0 && after > before);

			ch->class_index = i;
			ch->wal = true;
			ch->before = (int) Min(before, (double) PG_INT32_MAX);
			ch->after = (int) Min(after, (double) PG_INT32_MAX);
			if (after <= 0)
				snprintf(ch->reason, sizeof(ch->reason), "calm: WAL budget lifted (was %.1f MB/s)",
						 before / (1024 * 1024));
			else if (!up)
				snprintf(ch->reason, sizeof(ch->reason), "wal pressure: WAL budget lowered to %.1f MB/s (writing %.1f MB/s)",
						 after / (1024 * 1024), rate_avg[i] / (1024 * 1024));
			else
				snprintf(ch->reason, sizeof(ch->reason), "calm: WAL budget raised to %.1f MB/s",
						 after / (1024 * 1024));
			ch->action = p->shedding == PGB_SHEDDING_DRY_RUN ? "would limit wal" : "wal limit";
			ch->signal = up ? "calm" : "wal";
		}
		plan->publish_wal[i] = p->shedding == PGB_SHEDDING_ON ? budget->limit : 0;
	}
}

void
pgb_wal_aimd_reset(PgbWalAimd *s)
{
	s->limit = 0;
	s->base = 0;
	s->mark = 0;
	s->last_step_ms = 0;
	s->calm_since_ms = -1;
	s->quiet_since_ms = -1;
	s->cuts = 0;
	s->probes = 0;
}

double
pgb_wal_fair_floor(double base, const PgbWalAimdParams *p)
{
	double		fair = PGB_WAL_FAIR_SHARE * base;

	/* a NaN base is no share: the floor */
	return fair > p->floor_rate ? fair : p->floor_rate;
}

bool
pgb_wal_at_fair_floor(const PgbWalAimd *s, double floor_rate)
{
	double		fair = PGB_WAL_FAIR_SHARE * s->base;

	if (!(s->limit > 0) || !(s->base > 0))
		return false;
	if (!(fair > floor_rate))
		fair = floor_rate;
	return s->limit <= fair * 1.001;
}

bool
pgb_wal_aimd_step(PgbWalAimd *s, bool pressure, bool slow_now, bool calm,
				  double rate_avg, const PgbWalAimdParams *p, int64 now_ms)
{
	double		next;
	double		ceiling;
	double		share;
	double		fair;

	if (!calm)
		s->calm_since_ms = -1;
	else if (s->calm_since_ms < 0)
		s->calm_since_ms = now_ms;
	if (slow_now)
		s->quiet_since_ms = -1;
	else if (s->quiet_since_ms < 0)
		s->quiet_since_ms = now_ms;

	if (pressure && slow_now)
	{
		double		from = s->limit > 0 ? s->limit : rate_avg;
		int64		gap = s->cuts == 0 ? Max(p->step_ms / 4, 1) :
			p->step_ms << Min(s->cuts - 1, 16);

		if (now_ms - s->last_step_ms < gap)
			return false;
		if (p->configured > 0 && !(from <= p->configured))
			from = p->configured;
		next = from * p->decrease;
		/* never below the class's fair share of its base, nor the floor */
		fair = pgb_wal_fair_floor(s->limit > 0 ? s->base : from, p);
		if (!(next >= fair))
			next = fair;
		if (s->limit > 0 && next >= s->limit)
			return false;
		if (s->limit <= 0)
			s->base = from;
		s->mark = from;
		s->limit = next;
		s->cuts++;
		s->probes = 0;
		s->last_step_ms = now_ms;
		return true;
	}
	if (s->limit <= 0 || slow_now)
		return false;
	ceiling = p->configured > 0 ? p->configured : s->base;
	share = PGB_WAL_MARK_SHARE * s->mark;
	if (s->limit < share)
	{
		/* halfway to known ground at each step of quiet */
		if (now_ms - s->quiet_since_ms < p->step_ms ||
			now_ms - s->last_step_ms < p->step_ms)
			return false;
		next = s->limit + (share - s->limit) / 2;
		if (share - next < p->floor_rate)
			next = share;
	}
	else
	{
		/* probing: the first after calm_ms of calm, each next a step later */
		double		step = p->increase * s->limit * ldexp(1.0, Min(s->probes, 30));

		if (!calm || now_ms - s->calm_since_ms < p->calm_ms ||
			now_ms - s->last_step_ms < p->step_ms)
			return false;
		next = s->limit + Max(step, p->floor_rate);
		s->probes++;
	}
	s->limit = next >= ceiling ? 0 : next;
	s->cuts = 0;
	s->last_step_ms = now_ms;
	return true;
}

bool
pgb_plan_wal_floored(const PgbPlanState *st, const PgbSnapshot *snap,
					 const PgbClassTable *table, const PgbPlanParams *p)
{
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		int			e = snap->map[i];
		double		limit;

		if (e < 0 || e >= PGB_MAX_SHARED_CLASSES ||
			table->classes[i].shed == PGB_SHED_NEVER)
			continue;
		limit = st->entries[e].wal_aimd.limit;
		/* and still writing: a budget left at its floor by a class that stopped is none */
		if (limit > 0 && limit <= p->wal_rate_floor &&
			st->entries[e].wal_rate_avg >= p->wal_rate_floor / 2)
			return true;
	}
	return false;
}
