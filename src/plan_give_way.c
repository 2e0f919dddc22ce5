/*-------------------------------------------------------------------------
 *
 * plan_give_way.c
 *	  What the three limits (admission, active, WAL) share: the class that
 *	  gives way under pressure, a class's room above its floor, a higher
 *	  class's demand, and the AIMD step each limit takes.  Below every
 *	  other plan file.
 *
 * Pure: no server calls, no locks; unit-tested in
 * test/unit/test_plan_limits.c and test_plan.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include <math.h>

bool
pgb_higher_demand(const PgbClassTable *table, const PgbClass *c,
				  const bool *demand)
{
	int			j;

	for (j = 0; j < table->nclasses; j++)
		if (demand[j] && table->classes[j].priority > c->priority)
			return true;
	return false;
}

int
pgb_class_to_give_way(const PgbClassTable *table, const bool *gives,
					  const double *use, const bool *demand)
{
	int			best = -1;
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];

		if (c->shed == PGB_SHED_NEVER || !gives[i] ||
			(demand != NULL && !pgb_higher_demand(table, c, demand)))
			continue;
		if (best < 0 || c->priority < table->classes[best].priority ||
			(c->priority == table->classes[best].priority &&
			 use[i] > use[best]))
			best = i;
	}
	return best;
}

bool
pgb_above_floor(int limit, int use, int floor_limit)
{
	int			eff = limit;

	if (eff == PGB_UNLIMITED || eff > use)
		eff = use;
	return eff > floor_limit;
}

bool
pgb_aimd_step(PgbAimdState *st, const PgbAimdParams *p, bool pressure,
			  bool calm, int connected, int max, int floor_limit, int usable,
			  int64 now_ms)
{
	int			ceiling = (max == PGB_UNLIMITED || max > usable) ? usable : max;
	int			current = st->limit == PGB_UNLIMITED ? ceiling : st->limit;
	int			next;

	if (!calm)
		st->calm_since_ms = -1;
	else if (st->calm_since_ms < 0)
		st->calm_since_ms = now_ms;

	if (now_ms - st->last_step_ms < p->step_ms)
		return false;

	if (pressure)
	{
		/* start from what the class really uses, or halving does nothing */
		if (connected < current)
			current = connected;
		next = (int) floor(current * p->decrease);
		if (next < floor_limit)
			next = floor_limit;
		if (next >= (st->limit == PGB_UNLIMITED ? ceiling + 1 : st->limit))
			return false;
		st->limit = next;
		st->last_step_ms = now_ms;
		return true;
	}

	if (calm && st->limit != PGB_UNLIMITED &&
		now_ms - st->calm_since_ms >= p->calm_ms)
	{
		next = st->limit + p->increase;
		st->limit = next >= ceiling ? PGB_UNLIMITED : next;
		st->last_step_ms = now_ms;
		return true;
	}
	return false;
}
