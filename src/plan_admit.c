/*-------------------------------------------------------------------------
 *
 * plan_admit.c
 *	  The admission limit: under pressure the lowest-priority class that
 *	  can give way admits fewer sessions (AIMD), calm gives them back; and
 *	  the AIMD step, which the gate's active limit takes too.
 *
 * Pure: no server calls, no locks; unit-tested in test/unit/test_plan.c
 * and test_plan_limits.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include <math.h>
#include <stdio.h>

/* AIMD: the lowest-priority class that can give way takes the decrease. */
void
pgb_plan_admission_limits(PgbPlan *plan, PgbPlanState *st,
						  const PgbSnapshot *snap, const PgbClassTable *table,
						  const PgbPlanParams *p)
{
	PgbAimdParams params;
	bool		gives[PGB_MAX_CLASSES + 1];
	double		connected[PGB_MAX_CLASSES + 1];
	int			i;

	params.decrease = p->aimd_decrease;
	params.step_ms = p->aimd_interval_ms;
	params.calm_ms = p->calm_time_ms;
	for (i = 0; i < table->nclasses; i++)
	{
		int			e = snap->map[i];
		int			limit = e >= 0 ? st->entries[e].aimd.limit : PGB_UNLIMITED;

		gives[i] = pgb_above_floor(limit, snap->connected[i],
								   table->classes[i].floor);
		connected[i] = snap->connected[i];
	}
	plan->victim_class = (plan->pressure != 0 && p->shedding != PGB_SHEDDING_OFF) ?
		pgb_class_to_give_way(table, gives, connected, NULL) : -1;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			e = snap->map[i];
		PgbAimdState *a;
		int			before;

		if (e < 0)
			continue;
		a = &st->entries[e].aimd;
		before = a->limit;
		/* additive step sized to the class: a share of its cap */
		params.increase = Max(1, (int) ceil(p->aimd_increase *
											(c->max == PGB_UNLIMITED ? snap->usable : c->max)));
		if (c->shed == PGB_SHED_NEVER || p->shedding == PGB_SHEDDING_OFF)
			a->limit = PGB_UNLIMITED;
		else if (pgb_aimd_step(a, &params, i == plan->victim_class, plan->calm,
							   snap->connected[i], c->max, c->floor,
							   snap->usable, snap->now_ms) &&
				 plan->nchanges <= PGB_MAX_CLASSES)
		{
			PgbLimitChange *ch = pgb_plan_new_change(plan);

			ch->class_index = i;
			ch->before = before;
			ch->after = a->limit;
			if (a->limit == PGB_UNLIMITED)
				snprintf(ch->reason, sizeof(ch->reason), "calm: limit lifted (was %d)", before);
			else if (before == PGB_UNLIMITED || a->limit < before)
				snprintf(ch->reason, sizeof(ch->reason), "%s pressure: limit lowered to %d",
						 pgb_pressure_names(plan->pressure), a->limit);
			else
				snprintf(ch->reason, sizeof(ch->reason), "calm: limit raised to %d", a->limit);
			ch->action = p->shedding == PGB_SHEDDING_DRY_RUN ? "would limit" : "limit";
			ch->signal = (a->limit == PGB_UNLIMITED ||
						  (before != PGB_UNLIMITED && a->limit > before)) ?
				"calm" : pgb_pressure_names(plan->pressure);
		}
		/* in a dry run the limit is computed and recorded, never enforced */
		plan->publish_limits[i] = p->shedding == PGB_SHEDDING_ON ? a->limit : PGB_UNLIMITED;
		/* ... and a dry run reports what the computed limit would shed */
		plan->shed_limits[i] = a->limit;
	}
}
