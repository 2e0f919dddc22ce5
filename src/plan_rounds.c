/*-------------------------------------------------------------------------
 *
 * plan_rounds.c
 *	  The rounds of a plan and their victims, in order: the blockers of an
 *	  inversion, the sessions of a class over its limit, a pause; carrying
 *	  them out and settling the snapshot after.
 *
 * Pure: no server calls, no locks; unit-tested in test/unit/test_plan.c
 * and test_plan_rounds.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"
#include "text_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
victim_cmp(const void *a, const void *b)
{
	const PgbVictim *x = (const PgbVictim *) a;
	const PgbVictim *y = (const PgbVictim *) b;

	if (x->state != y->state)
		return (int) x->state - (int) y->state;
	if (x->state_since_ms != y->state_since_ms)
		return x->state_since_ms < y->state_since_ms ? -1 : 1;
	return x->pid - y->pid;
}

void
pgb_order_victims(PgbVictim *victims, int n)
{
	if (n > 1)
		qsort(victims, n, sizeof(PgbVictim), victim_cmp);
}

PgbShedAction
pgb_shed_action(PgbShedMode mode, const PgbVictim *v)
{
	if (mode == PGB_SHED_NEVER)
		return PGB_ACTION_NONE;
	if (v->state != PGB_STATE_ACTIVE)
		return mode == PGB_SHED_TERMINATE ? PGB_ACTION_TERMINATE : PGB_ACTION_NONE;
	if (!v->cancelled)
		return PGB_ACTION_CANCEL;
	return mode == PGB_SHED_TERMINATE ? PGB_ACTION_TERMINATE : PGB_ACTION_CANCEL;
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
		case PGB_ROUND_IDLE_BLOCKER:
			return "idle blocker";
		case PGB_ROUND_RUNAWAY:
			return "runaway";
	}
	return "?";
}

PgbPlanRound *
pgb_plan_add_round(PgbPlan *plan, PgbRoundKind kind, int entry, int need, bool bounded)
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

PgbPlanVictim *
pgb_plan_add_victim(PgbPlan *plan, PgbPlanRound *r, const PgbSessionRow *row,
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
	v->statement = -1;
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

const PgbClass *
pgb_plan_class_of_row(const PgbClassTable *table, const int *class_of,
			 const PgbSessionRow *row)
{
	if (row->entry < 0 || row->entry >= PGB_MAX_SHARED_CLASSES ||
		class_of[row->entry] < 0)
		return NULL;
	return &table->classes[class_of[row->entry]];
}

/*
 * The lookups of this tick: a waiter whose blockers include a session of a
 * lower class (judged, not exempt) is inverted; past lock_wait_threshold
 * those blockers are its round's victims, cancelled when active,
 * terminated when idle in a transaction, as their class allows.
 */
void
pgb_plan_inversions(PgbPlan *plan, PgbSnapshot *snap,
					const PgbClassTable *table, const int *class_of,
					const PgbPlanParams *p)
{
	int64		action_us = (int64) p->lock_wait_threshold_ms * 1000;
	int			l;

	for (l = 0; l < snap->nlookups; l++)
	{
		const PgbLookup *look = &snap->lookups[l];
		PgbSessionRow *waiter = &snap->rows[look->waiter];
		const PgbClass *wclass = pgb_plan_class_of_row(table, class_of, waiter);
		PgbPlanRound *round = NULL;
		int			b;

		for (b = 0; b < look->nblockers; b++)
		{
			const PgbSessionRow *blocker = &snap->rows[look->blockers[b]];
			const PgbClass *bclass = pgb_plan_class_of_row(table, class_of, blocker);
			PgbShedAction action;
			PgbVictim	v;
			PgbPlanVictim *pv;

			if (wclass == NULL || bclass == NULL || !blocker->judged ||
				blocker->exempt || blocker->walsender ||
				bclass->priority >= wclass->priority)
				continue;
			waiter->inverted = true;
			pgb_row_unsettle(snap, waiter);
			if (look->wait_us < action_us || p->shedding == PGB_SHEDDING_OFF)
				continue;
			if (snap->now_ms - blocker->action_ms < PGB_REEXAMINE_MS)
				continue;
			victim_of_row(&v, blocker);
			action = pgb_shed_action(bclass->shed, &v);
			if (action == PGB_ACTION_NONE)
				continue;
			if (round == NULL)
				round = pgb_plan_add_round(plan, PGB_ROUND_LOCK, waiter->entry, -1, true);
			pv = pgb_plan_add_victim(plan, round, blocker, action);
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

/*
 * Sessions of a class above its limit give way: idle in transaction
 * first, then idle (longest first), then active (cancel, and terminate
 * later if the class allows it).  A class is judged again only after
 * PGB_SHED_ROUND_MS, so that its last round takes effect first.
 */
void
pgb_plan_over_limit(PgbPlan *plan, const PgbPlanState *st,
					const PgbSnapshot *snap, const PgbClassTable *table)
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
		if (snap->now_ms - st->entries[e].class_action_ms < PGB_SHED_ROUND_MS)
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
		round = pgb_plan_add_round(plan, PGB_ROUND_LIMIT, e, excess, true);
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
			pv = pgb_plan_add_victim(plan, round, row, action);
			if (pv == NULL)
				break;
			pv->settled = settled;
			snprintf(pv->reason, sizeof(pv->reason),
					 "class \"%s\" is over its admission limit of %d, lowered under %s pressure",
					 c->name, limit, pgb_pressure_names(plan->pressure));
		}
	}
}

void
pgb_plan_pause(PgbPlan *plan, const PgbSessionRow *rows, int nrows,
			   int entry, PgbShedAction action, int self_pid,
			   const char *reason, int *refused)
{
	PgbPlanRound *round = pgb_plan_add_round(plan, PGB_ROUND_PAUSE, entry, -1, false);
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
		pv = pgb_plan_add_victim(plan, round, row, action);
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
			st->entries[round->entry].class_action_ms = snap->now_ms;
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
