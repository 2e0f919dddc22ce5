/*-------------------------------------------------------------------------
 *
 * cpu_math.c
 *	  CPU pressure from the run delay of higher classes (cpu_math.h).
 *
 * Pure (c.h only): no shared state, no locks.
 *
 *-------------------------------------------------------------------------
 */
#include "cpu_math.h"

double
pgb_run_delay_step(PgbRunDelayTrack *t, double delay_ms, int64 at_ms,
				   int sessions)
{
	double		d;

	if (at_ms == 0 || at_ms == t->at_ms)
		return t->rate;
	if (t->at_ms == 0 || at_ms < t->at_ms || delay_ms < t->delay_ms)
	{
		t->delay_ms = delay_ms;
		t->at_ms = at_ms;
		t->rate = 0;
		return 0;
	}
	d = delay_ms - t->delay_ms;
	t->rate = sessions > 0 ?
		d * 1000.0 / (double) (at_ms - t->at_ms) / sessions : 0;
	if (t->rate > PGB_RUN_DELAY_MAX_MS)
		t->rate = PGB_RUN_DELAY_MAX_MS;
	t->delay_ms = delay_ms;
	t->at_ms = at_ms;
	return t->rate;
}

/* Is there a sheddable class of lower priority than c? */
static bool
has_lower(const PgbClassTable *table, const PgbClass *c)
{
	int			j;

	for (j = 0; j < table->nclasses; j++)
		if (table->classes[j].priority < c->priority &&
			table->classes[j].shed != PGB_SHED_NEVER)
			return true;
	return false;
}

int
pgb_run_delay_pressure(const PgbClassTable *table, const double *rate,
					   const bool *demand, double target, bool *calm)
{
	int			best = -1;
	int			i;

	*calm = true;
	if (target <= 0)
		return -1;
	for (i = 0; i < table->nclasses; i++)
	{
		if (!demand[i] || !has_lower(table, &table->classes[i]))
			continue;
		if (rate[i] >= target / 2)
			*calm = false;
		if (rate[i] >= target && (best < 0 || rate[i] > rate[best]))
			best = i;
	}
	return best;
}
