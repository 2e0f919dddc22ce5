/*-------------------------------------------------------------------------
 *
 * plan_math.c
 *	  Decide one tick of the worker: pressure, AIMD limits and victims,
 *	  from a snapshot, the class table and the worker's PgbPlanState.
 *
 * Pure (c.h only) and lock-free: it owns no shared state; the caller
 * passes every number in and acts on the plan (act.c) after publishing.
 *
 *-------------------------------------------------------------------------
 */
#include "plan_math.h"
#include "text_util.h"

#include <math.h>
#include <stdio.h>
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
	/* a recycled entry starts afresh, not with the last class's limit */
	st->aimd[entry].limit = PGB_UNLIMITED;
	st->aimd[entry].calm_since_ms = -1;
	st->aimd[entry].last_step_ms = 0;
	st->active_aimd[entry].limit = PGB_UNLIMITED;
	st->active_aimd[entry].calm_since_ms = -1;
	st->active_aimd[entry].last_step_ms = 0;
	st->running_avg[entry] = 0;
	st->in_progress_avg[entry] = 0;
	st->xact_rate_avg[entry] = 0;
	st->commit_rate_avg[entry] = 0;
	st->commit_ms_avg[entry] = 0;
	st->commit_slow_rate_avg[entry] = 0;
	st->commit_slow_rate_now[entry] = 0;
	st->commit_rate_now[entry] = 0;
	st->commit_tail_rate_avg[entry] = 0;
	st->commit_tail_rate_now[entry] = 0;
	st->wal_rate_avg[entry] = 0;
	pgb_wal_aimd_reset(&st->wal_aimd[entry]);
	memset(&st->run_delay[entry], 0, sizeof(PgbRunDelayTrack));
	/* wal_prev is kept: the counter goes on, a forgotten entry reads 0 */
}

void
pgb_plan_init(PgbPlan *plan, PgbPlanRound *rounds, int max_rounds,
			  PgbPlanVictim *victims, PgbVictim *order, int max_victims)
{
	int			i;

	memset(plan, 0, sizeof(PgbPlan));
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
	return snap->nlookups + nclasses + 1;
}

int
pgb_plan_victims_needed(const PgbSnapshot *snap)
{
	int			n = snap->nrows + 1;
	int			i;

	for (i = 0; i < snap->nlookups; i++)
		n += snap->lookups[i].nblockers;
	return n;
}

const char *
pgb_round_signal(PgbRoundKind kind)
{
	switch (kind)
	{
		case PGB_ROUND_LOCK:
			return "lock";
		case PGB_ROUND_LIMIT:
			return "limit";
		case PGB_ROUND_PAUSE:
			return "pause";
	}
	return "?";
}

static PgbPlanRound *
add_round(PgbPlan *plan, PgbRoundKind kind, int entry, int need, bool bounded)
{
	PgbPlanRound *r;

	if (plan->nrounds >= plan->max_rounds)
		return NULL;
	r = &plan->rounds[plan->nrounds++];
	memset(r, 0, sizeof(PgbPlanRound));
	r->kind = kind;
	r->entry = entry;
	r->need = need;
	r->bounded = bounded;
	r->first = plan->nvictims;
	return r;
}

/* The victims of a round are added right after it, before any other round. */
static PgbPlanVictim *
add_victim(PgbPlan *plan, PgbPlanRound *r, const PgbSessionRow *row,
		   PgbShedAction action)
{
	PgbPlanVictim *v;

	if (r == NULL || plan->nvictims >= plan->max_victims)
		return NULL;
	v = &plan->victims[plan->nvictims++];
	memset(v, 0, sizeof(PgbPlanVictim));
	v->procno = row->procno;
	v->pid = row->pid;
	v->entry = row->entry;
	v->waiter_entry = -1;
	v->action = action;
	r->nvictims++;
	return v;
}

static void
victim_of_row(PgbVictim *v, const PgbSessionRow *row)
{
	v->procno = row->procno;
	v->pid = row->pid;
	v->state = row->state;
	v->state_since_ms = row->state_since_ms;
	v->cancelled = row->cancelled;
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

static const PgbClass *
class_of_row(const PgbClassTable *table, const int *class_of,
			 const PgbSessionRow *row)
{
	if (row->entry < 0 || row->entry >= PGB_MAX_SHARED_CLASSES ||
		class_of[row->entry] < 0)
		return NULL;
	return &table->classes[class_of[row->entry]];
}

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
	int64		action_us = (int64) p->lock_wait_threshold_ms * 1000;
	int			blocked = 0;
	int			i;

	for (i = 0; i < snap->nrows; i++)
		if (snap->rows[i].pid != 0 && snap->rows[i].inverted &&
			snap->rows[i].blocked_us >= action_us)
			blocked++;
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

	/* the commit latency of each entry: its writing commits this tick */
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		const PgbEntrySample *g = &snap->entries[i];
		uint64		n = 0;
		uint64		us = 0;
		uint64		slow = 0;
		uint64		tail = 0;
		double		per_s = dt_ms > 0 ? 1000.0 / dt_ms : 0;
		double		short_ms = Max(p->aimd_interval_ms / 4, 1);

		if (st->commits_primed && g->commits >= st->commits_prev[i] &&
			g->commit_us >= st->commit_us_prev[i] &&
			g->commits_slow >= st->commits_slow_prev[i] &&
			g->commits_tail >= st->commits_tail_prev[i])
		{
			n = g->commits - st->commits_prev[i];
			us = g->commit_us - st->commit_us_prev[i];
			slow = Min(g->commits_slow - st->commits_slow_prev[i], n);
			tail = Min(g->commits_tail - st->commits_tail_prev[i], slow);
		}
		st->commits_prev[i] = g->commits;
		st->commit_us_prev[i] = g->commit_us;
		st->commits_slow_prev[i] = g->commits_slow;
		st->commits_tail_prev[i] = g->commits_tail;
		st->commit_rate_avg[i] = pgb_ema(st->commit_rate_avg[i], n * per_s,
										 dt_ms, p->pressure_window_ms);
		st->commit_rate_now[i] = pgb_ema(st->commit_rate_now[i], n * per_s,
										 dt_ms, short_ms);
		st->commit_slow_rate_avg[i] = pgb_ema(st->commit_slow_rate_avg[i], slow * per_s,
											  dt_ms, p->pressure_window_ms);
		st->commit_slow_rate_now[i] = pgb_ema(st->commit_slow_rate_now[i], slow * per_s,
											  dt_ms, short_ms);
		st->commit_tail_rate_avg[i] = pgb_ema(st->commit_tail_rate_avg[i], tail * per_s,
											  dt_ms, p->pressure_window_ms);
		st->commit_tail_rate_now[i] = pgb_ema(st->commit_tail_rate_now[i], tail * per_s,
											  dt_ms, short_ms);
		if (n > 0)
			st->commit_ms_avg[i] = pgb_ema(st->commit_ms_avg[i],
										   us / 1000.0 / n, dt_ms,
										   p->pressure_window_ms);
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
pgb_plan_commit_share(double part_rate, double all_rate)
{
	return all_rate > 0 ? Min(part_rate / all_rate, 1.0) : 0;
}

bool
pgb_plan_commits_slow(const PgbPlanState *st, int entry, double target_ms,
					  double factor)
{
	double		all = st->commit_rate_avg[entry];

	return target_ms > 0 && all >= PGB_COMMITS_MIN_RATE &&
		(pgb_plan_commit_share(st->commit_slow_rate_avg[entry], all) >=
		 PGB_SLOW_COMMIT_SHARE * factor ||
		 pgb_plan_commit_share(st->commit_tail_rate_avg[entry], all) >=
		 PGB_TAIL_COMMIT_SHARE * factor);
}

bool
pgb_plan_commits_slow_now(const PgbPlanState *st, int entry, double target_ms)
{
	double		all = st->commit_rate_now[entry];

	return target_ms > 0 && st->commit_rate_avg[entry] >= PGB_COMMITS_MIN_RATE &&
		(pgb_plan_commit_share(st->commit_slow_rate_now[entry], all) >=
		 PGB_SLOW_COMMIT_SHARE ||
		 pgb_plan_commit_share(st->commit_tail_rate_now[entry], all) >=
		 PGB_TAIL_COMMIT_SHARE);
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
static bool
commit_latency_pressure(const PgbPlanState *st, const PgbSnapshot *snap,
						const PgbClassTable *table, const PgbPlanParams *p,
						bool *slow, bool *slowish, bool *slow_now)
{
	bool		pressure = false;
	bool		now[PGB_MAX_CLASSES + 1];
	int			i,
				j;

	*slow_now = false;
	for (i = 0; i < table->nclasses; i++)
	{
		int			e = snap->map[i];

		slow[i] = e >= 0 && pgb_plan_commits_slow(st, e, p->commit_latency_target_ms, 1.0);
		slowish[i] = e >= 0 && pgb_plan_commits_slow(st, e, p->commit_latency_target_ms, 0.5);
		now[i] = e >= 0 && pgb_plan_commits_slow_now(st, e, p->commit_latency_target_ms);
	}
	for (i = 0; i < table->nclasses; i++)
		for (j = 0; j < table->nclasses && (slow[i] || now[i]); j++)
			if (table->classes[j].priority < table->classes[i].priority &&
				table->classes[j].shed != PGB_SHED_NEVER)
			{
				pressure |= slow[i];
				*slow_now |= now[i];
				break;
			}
	return pressure;
}

/*
 * The lookups of this tick: a waiter whose blockers include a session of a
 * lower class (judged, not exempt) is inverted; past lock_wait_threshold
 * those blockers are its round's victims, cancelled when active,
 * terminated when idle in a transaction, as their class allows.
 */
static void
plan_inversions(PgbPlan *plan, PgbSnapshot *snap, const PgbClassTable *table,
				const int *class_of, const PgbPlanParams *p)
{
	int64		action_us = (int64) p->lock_wait_threshold_ms * 1000;
	int			l;

	for (l = 0; l < snap->nlookups; l++)
	{
		const PgbLookup *look = &snap->lookups[l];
		PgbSessionRow *waiter = &snap->rows[look->waiter];
		const PgbClass *wclass = class_of_row(table, class_of, waiter);
		PgbPlanRound *round = NULL;
		int			b;

		for (b = 0; b < look->nblockers; b++)
		{
			const PgbSessionRow *blocker = &snap->rows[look->blockers[b]];
			const PgbClass *bclass = class_of_row(table, class_of, blocker);
			PgbShedAction action;
			PgbVictim	v;
			PgbPlanVictim *pv;

			if (wclass == NULL || bclass == NULL || !blocker->judged ||
				blocker->exempt || blocker->walsender ||
				bclass->priority >= wclass->priority)
				continue;
			waiter->inverted = true;
			if (look->wait_us < action_us || p->shedding == PGB_SHEDDING_OFF)
				continue;
			if (snap->now_ms - blocker->action_ms < PGB_REEXAMINE_MS)
				continue;
			victim_of_row(&v, blocker);
			action = pgb_shed_action(bclass->shed, &v);
			if (action == PGB_ACTION_NONE)
				continue;
			if (round == NULL)
				round = add_round(plan, PGB_ROUND_LOCK, waiter->entry, -1, true);
			pv = add_victim(plan, round, blocker, action);
			if (pv == NULL)
				break;
			pv->waiter_entry = waiter->entry;
			snprintf(pv->reason, sizeof(pv->reason),
					 "it blocked pid %d of class \"%s\" (priority %d) for %.1f s on a lock",
					 waiter->pid, wclass->name, wclass->priority,
					 look->wait_us / 1000000.0);
		}
	}
}

/* AIMD: the lowest-priority class that can give way takes the decrease. */
static void
plan_limits(PgbPlan *plan, PgbPlanState *st, const PgbSnapshot *snap,
			const PgbClassTable *table, const PgbPlanParams *p)
{
	PgbAimdParams params;
	int			limits[PGB_MAX_CLASSES + 1];
	int			i;

	params.decrease = p->aimd_decrease;
	params.step_ms = p->aimd_interval_ms;
	params.calm_ms = p->calm_time_ms;
	for (i = 0; i < table->nclasses; i++)
		limits[i] = snap->map[i] >= 0 ? st->aimd[snap->map[i]].limit : PGB_UNLIMITED;
	plan->victim_class = (plan->pressure != 0 && p->shedding != PGB_SHEDDING_OFF) ?
		pgb_class_to_decrease(table, limits, snap->connected) : -1;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			e = snap->map[i];
		PgbAimdState *a;
		int			before;

		if (e < 0)
			continue;
		a = &st->aimd[e];
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
			PgbLimitChange *ch = &plan->changes[plan->nchanges++];

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

/*
 * Sessions of a class above its limit give way: idle in transaction
 * first, then idle (longest first), then active (cancel, and terminate
 * later if the class allows it).  A class is judged again only after
 * PGB_SHED_ROUND_MS, so that its last round takes effect first.
 */
static void
plan_over_limit(PgbPlan *plan, const PgbPlanState *st, const PgbSnapshot *snap,
				const PgbClassTable *table)
{
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			e = snap->map[i];
		int			limit = plan->shed_limits[i];
		PgbPlanRound *round;
		int			n = 0;
		int			excess;
		int			r;
		int			v;

		if (e < 0 || limit == PGB_UNLIMITED || c->shed == PGB_SHED_NEVER)
			continue;
		if (snap->now_ms - st->class_action_ms[e] < PGB_SHED_ROUND_MS)
			continue;
		for (r = 0; r < snap->nrows && n < plan->max_victims; r++)
		{
			const PgbSessionRow *row = &snap->rows[r];

			/* exempt superusers and walsenders count but are never victims */
			if (row->pid == 0 || row->entry != e || !row->judged ||
				row->exempt || row->walsender)
				continue;
			victim_of_row(&plan->order[n++], row);
		}
		excess = snap->entries[e].sessions - limit;
		if (excess <= 0 || n == 0)
			continue;
		pgb_order_victims(plan->order, n);
		round = add_round(plan, PGB_ROUND_LIMIT, e, excess, true);
		for (v = 0; v < n; v++)
		{
			const PgbSessionRow *row = &snap->rows[plan->order[v].procno];
			PgbShedAction action = pgb_shed_action(c->shed, &plan->order[v]);
			bool		settled;
			PgbPlanVictim *pv;

			/* one signalled in the last second is still being dealt with */
			settled = snap->now_ms - row->action_ms < PGB_SETTLING_MS;
			if (!settled && action == PGB_ACTION_NONE)
				continue;
			pv = add_victim(plan, round, row, action);
			if (pv == NULL)
				break;
			pv->settled = settled;
			snprintf(pv->reason, sizeof(pv->reason),
					 "class \"%s\" is over its admission limit of %d, lowered under %s pressure",
					 c->name, limit, pgb_pressure_names(plan->pressure));
		}
	}
}

/*
 * A class "needs the CPU" when it has had sessions on CPU lately: the
 * moving average of its sessions on CPU (active, no wait event) over
 * pressure_window is at least this.  Sessions waiting on a lock, the WAL
 * or the client are no demand for the CPU.
 */
#define PGB_CPU_DEMAND_MIN		0.05

/* Has every configured class its CPU weight in force? */
static bool
all_weighted(const PgbSnapshot *snap)
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
	bool		weighted = all_weighted(snap);
	int			e;

	st->cpu_avg = pgb_ema(st->cpu_avg, per_core, dt_ms, p->pressure_window_ms);
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		(void) pgb_run_delay_step(&st->run_delay[e], snap->entries[e].run_delay_ms,
								  snap->entries[e].run_delay_at_ms,
								  snap->entries[e].run_delay_sessions);
		st->running_avg[e] = pgb_ema(st->running_avg[e], snap->entries[e].running,
									 dt_ms, p->pressure_window_ms);
		st->in_progress_avg[e] = pgb_ema(st->in_progress_avg[e],
										 snap->entries[e].in_progress,
										 dt_ms, p->pressure_window_ms);
	}
	if (!weighted && st->cpu_avg >= p->cpu_pressure_threshold)
		bits |= PGB_PRESSURE_CPU;
	if (wal_pressure)
		bits |= PGB_PRESSURE_WAL;
	*calm = bits == 0 && (weighted || st->cpu_avg < p->cpu_pressure_threshold / 2);
	return bits;
}

/* The lowest active limit the worker may set: the floor, at least 1. */
static int
active_floor(const PgbClass *c)
{
	int			f = c->floor;

	if (c->active != PGB_UNLIMITED && c->active < f)
		f = c->active;
	return Max(f, 1);
}

/* Does a class of higher priority than c need the CPU? */
static bool
higher_demand(const PgbClassTable *table, const PgbClass *c, const bool *demand)
{
	int			j;

	for (j = 0; j < table->nclasses; j++)
		if (demand[j] && table->classes[j].priority > c->priority)
			return true;
	return false;
}

int
pgb_active_class_to_decrease(const PgbClassTable *table, const int *limits,
							 const int *in_progress, const bool *demand)
{
	int			best = -1;
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			eff = limits[i];

		if (c->shed == PGB_SHED_NEVER || !higher_demand(table, c, demand))
			continue;
		if (eff == PGB_UNLIMITED || eff > in_progress[i])
			eff = in_progress[i];
		if (eff <= active_floor(c))
			continue;
		if (best < 0 ||
			c->priority < table->classes[best].priority ||
			(c->priority == table->classes[best].priority &&
			 in_progress[i] > in_progress[best]))
			best = i;
	}
	return best;
}

/*
 * The gate's active limits: under CPU or WAL pressure, while a higher
 * class needs the CPU, the lowest sheddable class admits fewer
 * transactions (AIMD, never below its floor); when calm, or when nobody
 * above it needs the CPU, it gets them back.
 */
static void
plan_active_limits(PgbPlan *plan, PgbPlanState *st, const PgbSnapshot *snap,
				   const PgbClassTable *table, const PgbPlanParams *p,
				   double dt_ms)
{
	PgbAimdParams params;
	int			limits[PGB_MAX_CLASSES + 1];
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

		limits[i] = e >= 0 ? st->active_aimd[e].limit : PGB_UNLIMITED;

		/*
		 * The load the limit is cut from is the moving average: a class of
		 * short transactions sampled between two of them has none in
		 * progress at that instant, and must not drop to its floor.
		 */
		in_progress[i] = e >= 0 ? (int) ceil(st->in_progress_avg[e]) : 0;
		demand[i] = e >= 0 && st->running_avg[e] >= PGB_CPU_DEMAND_MIN;
		rate[i] = e >= 0 ? st->run_delay[e].rate : 0;
		victim_demand[i] = demand[i];
	}

	/*
	 * With every class's weight in force, the run delay of a higher class
	 * that needs the CPU is the CPU signal: pressure where the weights do
	 * not hold it below the target.  Without, sessions on CPU per core
	 * are, as before weights (pgb_plan_gate_pressure).
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
													   all_weighted(snap) ?
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
			 * needs the CPU, as before).
			 */
			if (!other)
				for (i = 0; i < table->nclasses; i++)
					victim_demand[i] = i == plan->run_delay_class;
			demand[plan->run_delay_class] = true;
		}
		else if (!rd_calm)
			plan->gate_calm = false;
	}
	plan->active_victim_class = (plan->gate_pressure != 0 &&
								 p->shedding != PGB_SHEDDING_OFF) ?
		pgb_active_class_to_decrease(table, limits, in_progress, victim_demand) : -1;

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
		a = &st->active_aimd[e];
		before = a->limit;
		/* nobody above it needs the CPU: it may have the whole machine */
		calm = plan->gate_calm || !higher_demand(table, c, demand);
		/*
		 * A class gets back a share (aimd_increase, at least one) of its
		 * ceiling a step: of its static active, or, without one, of twice
		 * the cores, where its limit is lifted (more would add no CPU,
		 * only contention).  Proportional, so that a large machine
		 * recovers in as many steps as a small one.
		 */
		ceiling = c->active == PGB_UNLIMITED ?
			Max(2 * Max(snap->ncores, 1), active_floor(c) + 1) : snap->usable;
		params.increase = Max(1, (int) ceil(p->aimd_increase *
											(c->active == PGB_UNLIMITED ? ceiling : c->active)));
		if (c->shed == PGB_SHED_NEVER || p->shedding == PGB_SHEDDING_OFF)
			a->limit = PGB_UNLIMITED;
		else if (pgb_aimd_step(a, &params, i == plan->active_victim_class, calm,
							   in_progress[i], c->active, active_floor(c),
							   ceiling, snap->now_ms) &&
				 plan->nchanges < (int) lengthof(plan->changes))
		{
			PgbLimitChange *ch = &plan->changes[plan->nchanges++];
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

static bool
in_let_through(const PgbPlan *plan, int procno)
{
	int			k;

	for (k = 0; k < plan->nlet; k++)
		if (plan->let[k].procno == procno)
			return true;
	return false;
}

/* Add a let-through to the plan; false if it is there already or full. */
static bool
add_let_through(PgbPlan *plan, const PgbSessionRow *row, int waiter_pid)
{
	PgbLetThrough *lt;

	if (in_let_through(plan, row->procno) || plan->nlet >= PGB_MAX_LET_THROUGH)
		return false;
	lt = &plan->let[plan->nlet++];
	lt->procno = row->procno;
	lt->pid = row->pid;
	lt->entry = row->entry;
	lt->waiter_pid = waiter_pid;
	lt->reason[0] = '\0';
	return true;
}

/*
 * Priority inheritance at the gate: a session queued at the gate (it may
 * hold locks its parse analysis took, or session locks of its own) that
 * blocks another is let through past its class's limit, but a blocked
 * waiter lends one place at a time: while a session let through for it
 * is still in its transaction, no other is let through for it.  A
 * blocked session of the class lends its own (idle) place, so the class
 * never runs more than its limit; a blocked session of another class, or
 * an ungated one, adds at most one.  A blocker let through for a waiter
 * that waits again (a WAL wait, then the queue) is let through again: it
 * is the same loan.  On a hot standby, every queued session is let
 * through while the startup process waits for a lock: recovery must not
 * wait for the queue, and nothing tells which of them it waits for.
 */
static void
plan_let_through(PgbPlan *plan, const PgbSnapshot *snap,
				 const PgbClassTable *table, const int *class_of)
{
	int			l;
	int			procno;

	for (l = 0; l < snap->nlookups; l++)
	{
		const PgbLookup *look = &snap->lookups[l];
		const PgbSessionRow *waiter = &snap->rows[look->waiter];
		const PgbSessionRow *pick = NULL;
		bool		lent = false;
		int			b;
		int			wc;

		if (waiter->pid == 0)
			continue;
		for (procno = 0; procno < snap->nrows; procno++)
		{
			const PgbSessionRow *r = &snap->rows[procno];

			if (r->pid != 0 && r->borrowed_for == waiter->pid && !r->queued)
				lent = true;
		}
		for (b = 0; b < look->nblockers; b++)
		{
			const PgbSessionRow *row = &snap->rows[look->blockers[b]];

			if (!row->queued || row->pid == 0)
				continue;
			if (row->borrowed_for == waiter->pid)
			{
				pick = row;		/* the same loan, waiting again */
				break;
			}
			/* one let through for another waiter is that waiter's loan */
			if (!lent && pick == NULL && !in_let_through(plan, row->procno))
				pick = row;
		}
		if (pick == NULL || !add_let_through(plan, pick, waiter->pid))
			continue;
		wc = waiter->entry < PGB_MAX_SHARED_CLASSES ? class_of[waiter->entry] : -1;
		snprintf(plan->let[plan->nlet - 1].reason, sizeof(plan->let[0].reason),
				 "queued at the gate, it blocked pid %d%s%s%s on a lock",
				 waiter->pid, wc >= 0 ? " of class \"" : "",
				 wc >= 0 ? table->classes[wc].name : "", wc >= 0 ? "\"" : "");
	}

	if (snap->recovery_waiter != 0)
		for (procno = 0; procno < snap->nrows; procno++)
		{
			const PgbSessionRow *r = &snap->rows[procno];

			if (r->pid == 0 || !r->queued ||
				!add_let_through(plan, r, snap->recovery_waiter))
				continue;
			snprintf(plan->let[plan->nlet - 1].reason, sizeof(plan->let[0].reason),
					 "queued at the gate on a hot standby while recovery (pid %d) waits for a lock",
					 snap->recovery_waiter);
		}
}

/*
 * Sessions idle in a transaction that hold a place while others of their
 * class are queued: a note (an event) once per idle spell, after
 * PGB_IDLE_HOLD_NOTE_MS.  They hold it until they end their transaction:
 * README recommends idle_in_transaction_session_timeout for gated classes.
 */
static void
plan_idle_holders(PgbPlan *plan, const PgbSnapshot *snap,
				  const PgbClassTable *table, const int *class_of)
{
	int			procno;

	for (procno = 0; procno < snap->nrows; procno++)
	{
		const PgbSessionRow *r = &snap->rows[procno];
		int			queued;
		int			c;
		PgbPlanNote *n;

		if (r->pid == 0 || !r->holding || r->state != PGB_STATE_IDLE_IN_TX ||
			r->entry >= PGB_MAX_SHARED_CLASSES ||
			snap->now_ms - r->state_since_ms < PGB_IDLE_HOLD_NOTE_MS ||
			r->hold_noted_ms >= r->state_since_ms)
			continue;
		queued = snap->entries[r->entry].queued;
		if (queued <= 0 || plan->nnotes >= PGB_MAX_NOTES)
			continue;
		c = class_of[r->entry];
		n = &plan->notes[plan->nnotes++];
		n->procno = procno;
		n->pid = r->pid;
		n->entry = r->entry;
		snprintf(n->reason, sizeof(n->reason),
				 "idle in transaction for %lld ms holding a place of class \"%s\" while %d %s queued",
				 (long long) (snap->now_ms - r->state_since_ms),
				 c >= 0 ? table->classes[c].name : "?", queued,
				 queued == 1 ? "is" : "are");
	}
}

double
pgb_plan_wal_xact_bytes(const PgbPlanState *st, int entry)
{
	if (!(st->xact_rate_avg[entry] > 0.01) || !(st->wal_rate_avg[entry] > 0))
		return 0;
	return st->wal_rate_avg[entry] / st->xact_rate_avg[entry];
}

int
pgb_wal_class_to_decrease(const PgbClassTable *table, const double *rate_avg,
						  double floor_rate, const bool *demand)
{
	int			best = -1;
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];

		if (c->shed == PGB_SHED_NEVER || !higher_demand(table, c, demand) ||
			rate_avg[i] <= floor_rate)
			continue;
		if (best < 0 || c->priority < table->classes[best].priority ||
			(c->priority == table->classes[best].priority &&
			 rate_avg[i] > rate_avg[best]))
			best = i;
	}
	return best;
}

/*
 * The adaptive WAL budget: under WAL pressure, while a higher class is
 * active, the lowest sheddable class writing more than the floor gets a
 * lower WAL rate (AIMD on bytes/s, never below pg_budget.wal_rate_floor);
 * calm gives it back.
 */
static void
plan_wal_limits(PgbPlan *plan, PgbPlanState *st, const PgbSnapshot *snap,
				const PgbClassTable *table, const PgbPlanParams *p,
				double dt_ms, bool slow_now)
{
	double		rate_avg[PGB_MAX_CLASSES + 1];
	bool		demand[PGB_MAX_CLASSES + 1];
	bool		pressure = (plan->pressure & PGB_PRESSURE_WAL) != 0;
	int			e,
				i;

	/* the rate of every entry, whether a class of this table or not */
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		uint64		now = snap->entries[e].wal_bytes;
		double		rate = 0;

		/* the first reading is a baseline, not a burst since start */
		if (st->wal_primed && now >= st->wal_prev[e] && dt_ms > 0)
			rate = (double) (now - st->wal_prev[e]) * 1000.0 / dt_ms;
		st->wal_prev[e] = now;
		st->wal_rate_avg[e] = pgb_ema(st->wal_rate_avg[e], rate, dt_ms,
									  p->pressure_window_ms);
		/* transactions a second, for the WAL a transaction writes */
		now = snap->entries[e].transactions;
		rate = 0;
		if (st->wal_primed && now >= st->xact_prev[e] && dt_ms > 0)
			rate = (double) (now - st->xact_prev[e]) * 1000.0 / dt_ms;
		st->xact_prev[e] = now;
		st->xact_rate_avg[e] = pgb_ema(st->xact_rate_avg[e], rate, dt_ms,
									   p->pressure_window_ms);
	}
	st->wal_primed = true;
	for (i = 0; i < table->nclasses; i++)
	{
		e = snap->map[i];
		rate_avg[i] = e >= 0 ? st->wal_rate_avg[e] : 0;
		/* a class that commits is there, however short its transactions */
		demand[i] = e >= 0 && (snap->entries[e].active_avg >= PGB_CPU_DEMAND_MIN ||
							   st->commit_rate_avg[e] >= PGB_COMMITS_MIN_RATE);
	}
	plan->wal_victim_class = (pressure && p->shedding != PGB_SHEDDING_OFF) ?
		pgb_wal_class_to_decrease(table, rate_avg, p->wal_rate_floor, demand) : -1;
	plan->wal_spared_class = -1;
	if (pressure && p->shedding != PGB_SHEDDING_OFF && plan->wal_victim_class < 0)
	{
		bool		anyone[PGB_MAX_CLASSES + 1];

		for (i = 0; i < table->nclasses; i++)
			anyone[i] = true;
		plan->wal_spared_class = pgb_wal_class_to_decrease(table, rate_avg,
														   p->wal_rate_floor, anyone);
	}

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		PgbWalAimdParams wp;
		double		before;

		e = snap->map[i];
		if (e < 0)
			continue;
		wp.configured = c->wal;
		wp.floor_rate = p->wal_rate_floor;
		wp.decrease = p->aimd_decrease;
		wp.increase = p->aimd_increase;
		wp.step_ms = p->aimd_interval_ms;
		wp.calm_ms = p->calm_time_ms;
		before = st->wal_aimd[e].limit;
		if (c->shed == PGB_SHED_NEVER || p->shedding == PGB_SHEDDING_OFF)
			st->wal_aimd[e].limit = 0;
		else if (pgb_wal_aimd_step(&st->wal_aimd[e], i == plan->wal_victim_class,
								   slow_now && higher_demand(table, c, demand),
								   !pressure || !higher_demand(table, c, demand),
								   rate_avg[i], &wp, snap->now_ms) &&
				 plan->nchanges < (int) lengthof(plan->changes))
		{
			PgbLimitChange *ch = &plan->changes[plan->nchanges++];
			double		after = st->wal_aimd[e].limit;
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
		plan->publish_wal[i] = p->shedding == PGB_SHEDDING_ON ? st->wal_aimd[e].limit : 0;
	}
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

	plan->dry_run = p->shedding == PGB_SHEDDING_DRY_RUN;
	plan->max_actions = p->max_actions;
	classes_of_entries(snap, table->nclasses, class_of);

	/* inversions first: they are part of the lock pressure */
	plan_inversions(plan, snap, table, class_of, p);
	plan->pressure = pgb_plan_judge_pressure(st, snap, p, dt_ms,
											 table->nclasses, &plan->calm);
	/* the share of sessions waiting on WAL has no faster reading */
	slow_now = (plan->pressure & PGB_PRESSURE_WAL) != 0;
	if (p->commit_latency_target_ms > 0)
	{
		bool		slow[PGB_MAX_CLASSES + 1];
		bool		slowish[PGB_MAX_CLASSES + 1];
		bool		commits_slow_now;
		int			i;

		if (commit_latency_pressure(st, snap, table, p, slow, slowish,
									&commits_slow_now))
			plan->pressure |= PGB_PRESSURE_WAL;
		slow_now |= commits_slow_now;
		for (i = 0; i < table->nclasses; i++)
			if (slowish[i])
				plan->calm = false;
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
	plan_wal_limits(plan, st, snap, table, p, dt_ms, slow_now);
	full = plan->pressure;
	if ((full & PGB_PRESSURE_WAL) != 0 &&
		(plan->wal_victim_class >= 0 || plan->wal_spared_class >= 0))
		plan->pressure &= ~PGB_PRESSURE_WAL;
	admission = plan->pressure;
	plan_limits(plan, st, snap, table, p);
	plan->pressure = full;
	plan_active_limits(plan, st, snap, table, p, dt_ms);
	plan_let_through(plan, snap, table, class_of);
	plan_idle_holders(plan, snap, table, class_of);

	/*
	 * Sessions over a limit are shed only while connections or WAL are
	 * short: lock pressure is answered by shedding the blockers themselves
	 * and by admitting fewer, not by ending sessions that block nobody.
	 */
	if (p->shedding != PGB_SHEDDING_OFF &&
		(admission & (PGB_PRESSURE_CONNECTIONS | PGB_PRESSURE_WAL)) != 0)
		plan_over_limit(plan, st, snap, table);
}

void
pgb_plan_pause(PgbPlan *plan, const PgbSessionRow *rows, int nrows,
			   int entry, PgbShedAction action, int self_pid,
			   const char *reason, int *refused)
{
	PgbPlanRound *round = add_round(plan, PGB_ROUND_PAUSE, entry, -1, false);
	int			i;

	*refused = 0;
	for (i = 0; i < nrows; i++)
	{
		const PgbSessionRow *row = &rows[i];
		PgbPlanVictim *pv;

		if (row->pid == 0 || row->pid == self_pid || row->entry != entry ||
			row->exempt)
			continue;
		if (!row->may_signal)
		{
			(*refused)++;
			continue;
		}
		/* a cancel reaches only a session running a query */
		if (action == PGB_ACTION_CANCEL && row->state != PGB_STATE_ACTIVE)
			continue;
		pv = add_victim(plan, round, row, action);
		if (pv == NULL)
			break;
		pgb_strlcpy_utf8(pv->reason, reason, sizeof(pv->reason));
	}
}

/* Was procno signalled by an earlier victim of this plan? */
static bool
done_before(const PgbPlan *plan, int upto, int procno)
{
	int			i;

	for (i = 0; i < upto; i++)
		if (plan->victims[i].done && plan->victims[i].procno == procno)
			return true;
	return false;
}

int
pgb_plan_carry_out(PgbPlan *plan, PgbSignalFunc signal, void *arg)
{
	int			actions_left = plan->max_actions;
	int			actions = 0;
	int			r;

	for (r = 0; r < plan->nrounds; r++)
	{
		PgbPlanRound *round = &plan->rounds[r];
		int			need = round->need;
		int			i;

		for (i = round->first; i < round->first + round->nvictims; i++)
		{
			PgbPlanVictim *v = &plan->victims[i];

			if (need == 0 || (round->bounded && actions_left <= 0))
				break;

			/*
			 * A session signalled earlier in this plan is being dealt with:
			 * it answers for one session over the limit, and a blocker is
			 * not signalled twice in a tick.
			 */
			if (v->settled ||
				(round->kind == PGB_ROUND_LIMIT && done_before(plan, i, v->procno)))
			{
				if (need > 0)
					need--;
				continue;
			}
			if (round->kind == PGB_ROUND_LOCK && done_before(plan, i, v->procno))
				continue;
			if (!signal(plan, round, v, arg))
				continue;
			v->done = true;
			round->done++;
			actions++;
			if (round->bounded)
				actions_left--;

			/*
			 * A cancel leaves the session connected but answers for one
			 * session of excess this round: the next round terminates it
			 * if it is still there and the class allows it.
			 */
			if (need > 0)
				need--;
		}
	}
	return actions;
}

void
pgb_plan_settle(const PgbPlan *plan, PgbPlanState *st, PgbSnapshot *snap)
{
	int			r;

	for (r = 0; r < plan->nnotes; r++)
	{
		PgbSessionRow *row = &snap->rows[plan->notes[r].procno];

		if (row->pid == plan->notes[r].pid)
			row->hold_noted_ms = snap->now_ms;
	}

	for (r = 0; r < plan->nrounds; r++)
	{
		const PgbPlanRound *round = &plan->rounds[r];
		int			i;

		if (round->kind == PGB_ROUND_LIMIT && round->done > 0)
			st->class_action_ms[round->entry] = snap->now_ms;
		for (i = round->first; i < round->first + round->nvictims; i++)
		{
			const PgbPlanVictim *v = &plan->victims[i];
			PgbSessionRow *row;

			if (!v->done || v->procno < 0 || v->procno >= snap->nrows)
				continue;
			row = &snap->rows[v->procno];
			if (row->pid != v->pid)
				continue;
			row->action_ms = snap->now_ms;
			if (v->action == PGB_ACTION_CANCEL)
				row->cancelled = true;
		}
	}
}
