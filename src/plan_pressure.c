/*-------------------------------------------------------------------------
 *
 * plan_pressure.c
 *	  The pressure a tick judges: connections, WAL (sessions waiting on
 *	  it, slow commits), lock (sessions blocked by a lower class), and the
 *	  gate's CPU pressure (sessions on CPU per core, run delay).
 *
 * Pure: no server calls, no locks; unit-tested in test/unit/test_plan.c
 * and test_plan_pressure.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

/*
 * Lock pressure: the share of active sessions blocked past the threshold
 * by a lower class.  Shedding a blocker ends such a wait within a tick or
 * two, so the share stays low while shedding keeps up; it rises when it
 * can not (a shed=cancel class idle in a transaction, more blockers than
 * max_actions), and then the lowest class must admit fewer.
 */
static double
blocked_share(const PgbSnapshot *snap, const PgbPlanParams *p, double active)
{
	int			s;
	int64		action_us = (int64) p->lock_wait_threshold_ms * 1000;
	int			blocked = 0;

	for (s = 0; s < pgb_snap_nscan(snap); s++)
	{
		const PgbSessionRow *r = &snap->rows[pgb_snap_scan(snap, s)];

		if (r->pid != 0 && r->inverted && r->blocked_us >= action_us)
			blocked++;
	}
	return Min(1.0, blocked / Max(active, 1.0));
}

/*
 * Sustained means the moving average over pg_budget.pressure_window is
 * past the threshold; calm needs every signal well below it.
 */
uint32
pgb_plan_judge_pressure(PgbPlanState *st, const PgbSnapshot *snap,
						const PgbPlanParams *p, double dt_ms, int nclasses,
						bool *calm)
{
	uint32		bits = 0;
	double		wal_share = 0;
	double		active = 0;
	double		active_now = 0;
	int			total = 0;
	int			usable = snap->usable;
	double		per_s;
	double		a_window;
	double		a_short;
	int			i;

	for (i = 0; i < nclasses; i++)
		total += snap->connected[i];
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		const PgbEntrySample *g = &snap->entries[i];

		wal_share += g->wal_share_avg * g->active_avg;
		active += g->active_avg;
		active_now += g->active;
	}
	if (active > 0.5)
		wal_share /= active;
	else
		wal_share = 0;

	st->inverted_share = pgb_ema(st->inverted_share,
								 blocked_share(snap, p, active_now),
								 dt_ms, p->pressure_window_ms);

	/*
	 * The commit latency of each entry: its writing commits this tick.  The
	 * two weights are the same for every entry: taken once (policy_math.h).
	 */
	per_s = dt_ms > 0 ? 1000.0 / dt_ms : 0;
	a_window = pgb_ema_alpha(dt_ms, p->pressure_window_ms);
	a_short = pgb_ema_alpha(dt_ms, Max(p->aimd_interval_ms / 4, 1));
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		const PgbEntrySample *g = &snap->entries[i];
		PgbPlanEntry *pe = &st->entries[i];
		uint64		n = 0;
		uint64		us = 0;
		uint64		slow = 0;
		uint64		tail = 0;

		if (st->commits_primed && g->commits >= pe->commits_prev &&
			g->commit_us >= pe->commit_us_prev &&
			g->commits_slow >= pe->commits_slow_prev &&
			g->commits_tail >= pe->commits_tail_prev)
		{
			n = g->commits - pe->commits_prev;
			us = g->commit_us - pe->commit_us_prev;
			slow = Min(g->commits_slow - pe->commits_slow_prev, n);
			tail = Min(g->commits_tail - pe->commits_tail_prev, slow);
		}
		pe->commits_prev = g->commits;
		pe->commit_us_prev = g->commit_us;
		pe->commits_slow_prev = g->commits_slow;
		pe->commits_tail_prev = g->commits_tail;
		pe->commit_rate_avg = pgb_ema_step(pe->commit_rate_avg, n * per_s, a_window);
		pe->commit_rate_now = pgb_ema_step(pe->commit_rate_now, n * per_s, a_short);
		pe->commit_slow_rate_avg = pgb_ema_step(pe->commit_slow_rate_avg, slow * per_s,
												a_window);
		pe->commit_slow_rate_now = pgb_ema_step(pe->commit_slow_rate_now, slow * per_s,
												a_short);
		pe->commit_tail_rate_avg = pgb_ema_step(pe->commit_tail_rate_avg, tail * per_s,
												a_window);
		pe->commit_tail_rate_now = pgb_ema_step(pe->commit_tail_rate_now, tail * per_s,
												a_short);
		if (n > 0)
			pe->commit_ms_avg = pgb_ema_step(pe->commit_ms_avg, us / 1000.0 / n,
											 a_window);
	}
	st->commits_primed = true;

	if (total >= p->saturation_threshold * usable)
		bits |= PGB_PRESSURE_CONNECTIONS;
	if (wal_share >= p->wal_pressure_threshold)
		bits |= PGB_PRESSURE_WAL;
	if (st->inverted_share >= p->lock_pressure_threshold)
		bits |= PGB_PRESSURE_LOCK;

	*calm = bits == 0 && st->inverted_share < p->lock_pressure_threshold / 2 &&
		total < pgb_connection_calm_line(p->saturation_threshold) * usable &&
		wal_share < p->wal_pressure_threshold / 2;
	return bits;
}

double
pgb_connection_calm_line(double saturation_threshold)
{
	return Max(saturation_threshold - 0.1, saturation_threshold / 2);
}

double
pgb_plan_commit_share(double part_rate, double all_rate)
{
	return all_rate > 0 ? Min(part_rate / all_rate, 1.0) : 0;
}

bool
pgb_plan_commits_slow(const PgbPlanState *st, int entry, double target_ms,
					  double factor)
{
	const PgbPlanEntry *pe = &st->entries[entry];
	double		all = pe->commit_rate_avg;

	return target_ms > 0 && all >= PGB_COMMITS_MIN_RATE &&
		(pgb_plan_commit_share(pe->commit_slow_rate_avg, all) >=
		 PGB_SLOW_COMMIT_SHARE * factor ||
		 pgb_plan_commit_share(pe->commit_tail_rate_avg, all) >=
		 PGB_TAIL_COMMIT_SHARE * factor);
}

bool
pgb_plan_commits_slow_now(const PgbPlanState *st, int entry, double target_ms)
{
	const PgbPlanEntry *pe = &st->entries[entry];
	double		all = pe->commit_rate_now;

	return target_ms > 0 && pe->commit_rate_avg >= PGB_COMMITS_MIN_RATE &&
		(pgb_plan_commit_share(pe->commit_slow_rate_now, all) >=
		 PGB_SLOW_COMMIT_SHARE ||
		 pgb_plan_commit_share(pe->commit_tail_rate_now, all) >=
		 PGB_TAIL_COMMIT_SHARE);
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

/*
 * WAL pressure judged by what the classes feel, beside the share of
 * sessions waiting on WAL: the commits of a class are slower than
 * commit_latency_target (slow[i]), and a sheddable class of lower priority
 * is there to give way.  The share still sees commits that do not end
 * (a synchronous standby gone); the latency sees slow commits when the
 * share reads calm (a bulk class throttled to tens of MB/s).  No calm
 * while some class's commits are slower than half the target (slowish).
 */
bool
pgb_plan_commit_latency_pressure(const PgbPlanState *st,
								 const PgbSnapshot *snap,
								 const PgbClassTable *table,
								 const PgbPlanParams *p, bool *slow,
								 bool *slowish, bool *slow_now)
{
	bool		pressure = false;
	bool		now[PGB_MAX_CLASSES + 1];
	int			i;

	*slow_now = false;
	for (i = 0; i < table->nclasses; i++)
	{
		int			e = snap->map[i];

		slow[i] = e >= 0 && pgb_plan_commits_slow(st, e, p->commit_latency_target_ms, 1.0);
		slowish[i] = e >= 0 && pgb_plan_commits_slow(st, e, p->commit_latency_target_ms, 0.5);
		now[i] = e >= 0 && pgb_plan_commits_slow_now(st, e, p->commit_latency_target_ms);
	}
	for (i = 0; i < table->nclasses; i++)
		if ((slow[i] || now[i]) && has_lower(table, &table->classes[i]))
		{
			pressure |= slow[i];
			*slow_now |= now[i];
		}
	return pressure;
}

/* Has every configured class its CPU weight in force? */
bool
pgb_all_weighted(const PgbSnapshot *snap)
{
	bool		weighted = false;
	int			i;

	for (i = 0; i <= PGB_MAX_CLASSES; i++)
		if (snap->map[i] >= 0 && snap->map[i] < PGB_MAX_SHARED_CLASSES)
		{
			weighted = snap->cpu_in_force[snap->map[i]];
			if (!weighted)
				break;
		}
	return weighted;
}

uint32
pgb_plan_gate_pressure(PgbPlanState *st, const PgbSnapshot *snap,
					   const PgbPlanParams *p, double dt_ms,
					   bool wal_pressure, bool *calm)
{
	uint32		bits = 0;
	double		per_core = (double) snap->running / Max(snap->ncores, 1);
	bool		weighted = pgb_all_weighted(snap);
	double		alpha = pgb_ema_alpha(dt_ms, p->pressure_window_ms);
	int			e;

	st->cpu_avg = pgb_ema_step(st->cpu_avg, per_core, alpha);
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		const PgbEntrySample *g = &snap->entries[e];
		PgbPlanEntry *pe = &st->entries[e];

		(void) pgb_run_delay_step(&pe->run_delay, g->run_delay_ms,
								  g->run_delay_at_ms, g->run_delay_sessions);
		pe->running_avg = pgb_ema_step(pe->running_avg, g->running, alpha);
		pe->in_progress_avg = pgb_ema_step(pe->in_progress_avg, g->in_progress,
										   alpha);
	}
	if (!weighted && st->cpu_avg >= p->cpu_pressure_threshold)
		bits |= PGB_PRESSURE_CPU;
	if (wal_pressure)
		bits |= PGB_PRESSURE_WAL;
	/* the server's memory past its mark (memory.c): fewer transactions */
	if (snap->mem_pressure)
		bits |= PGB_PRESSURE_MEMORY;
	*calm = bits == 0 && (weighted || st->cpu_avg < p->cpu_pressure_threshold / 2);
	return bits;
}

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
