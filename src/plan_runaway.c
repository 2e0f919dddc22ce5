/*-------------------------------------------------------------------------
 *
 * plan_runaway.c
 *	  Idle blockers (idle_blocker_timeout) and runaway statements
 *	  (switch_time, switch_to=cancel): rounds of the plan.  Pure: no server
 *	  calls; unit-tested in test/unit/test_plan_runaway.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include <stdio.h>
#include <string.h>

#include "text_util.h"

/* May the worker act on this session for its class's own limits? */
static bool
actionable(const PgbSessionRow *row, int64 now_ms)
{
	return row->pid != 0 && row->judged && !row->exempt && !row->walsender &&
		(row->action_ms == 0 || now_ms - row->action_ms >= PGB_SETTLING_MS);
}

/* Is the session a victim of this plan already? */
static bool
in_plan(const PgbPlan *plan, int procno)
{
	int			i;

	for (i = 0; i < plan->nvictims; i++)
		if (plan->victims[i].procno == procno)
			return true;
	return false;
}

/* Mark the idle-in-transaction blockers of this tick's lookups. */
static void
note_blockers(PgbSnapshot *snap)
{
	int			l;
	int			b;

	for (l = 0; l < snap->nlookups; l++)
	{
		const PgbLookup *look = &snap->lookups[l];
		const PgbSessionRow *waiter = &snap->rows[look->waiter];
		int64		wait_start_ms = snap->now_ms - look->wait_us / 1000;

		for (b = 0; b < look->nblockers; b++)
		{
			PgbSessionRow *blocker = &snap->rows[look->blockers[b]];
			int64		since;

			if (blocker->pid == 0 || blocker->state != PGB_STATE_IDLE_IN_TX)
				continue;
			since = Max(blocker->state_since_ms, wait_start_ms);
			if (blocker->blocking_spell == blocker->state_since_ms &&
				blocker->blocking_since_ms <= since)
				continue;		/* seen blocking already, longer */
			blocker->blocking_spell = blocker->state_since_ms;
			blocker->blocking_since_ms = since;
			blocker->blocking_waiter = look->waiter;
			blocker->blocking_waiter_pid = waiter->pid;
		}
	}
}

/*
 * Does a marked blocker still block: idle in the same transaction, its
 * waiter the same process, still waiting on a lock?  An idle session can
 * release no lock without a statement, so while both hold it still blocks.
 */
static bool
still_blocks(const PgbSnapshot *snap, const PgbSessionRow *row)
{
	const PgbSessionRow *w;

	if (row->blocking_spell == 0 || row->pid == 0 ||
		row->state != PGB_STATE_IDLE_IN_TX ||
		row->state_since_ms != row->blocking_spell ||
		row->blocking_waiter < 0 || row->blocking_waiter >= snap->nrows)
		return false;
	w = &snap->rows[row->blocking_waiter];
	return w->pid == row->blocking_waiter_pid && w->blocked_us > 0;
}

void
pgb_plan_runaways(PgbPlan *plan, PgbSnapshot *snap,
				  const PgbClassTable *table, const int *class_of,
				  const PgbPlanParams *p)
{
	PgbPlanRound *idle_round = NULL;
	PgbPlanRound *cpu_round = NULL;
	int			i;

	note_blockers(snap);
	for (i = 0; i < snap->nrows; i++)
	{
		PgbSessionRow *row = &snap->rows[i];
		const PgbClass *c;
		PgbPlanVictim *v;

		if (row->blocking_spell != 0 && !still_blocks(snap, row))
			row->blocking_spell = 0;
		if (p->shedding == PGB_SHEDDING_OFF || !p->enabled ||
			!actionable(row, snap->now_ms) ||
			(c = pgb_plan_class_of_row(table, class_of, row)) == NULL ||
			in_plan(plan, i))
			continue;

		if (row->blocking_spell != 0 && c->idle_blocker_timeout > 0 &&
			snap->now_ms - row->blocking_since_ms >= c->idle_blocker_timeout)
		{
			const PgbSessionRow *w = &snap->rows[row->blocking_waiter];
			const PgbClass *wc = pgb_plan_class_of_row(table, class_of, w);
			char		wname[PGB_CLASS_NAME_LEN + 16];

			if (wc != NULL)
				snprintf(wname, sizeof(wname), "class \"%s\"", wc->name);
			else
				pgb_strlcpy_utf8(wname, "no class", sizeof(wname));
			if (idle_round == NULL)
				idle_round = pgb_plan_add_round(plan, PGB_ROUND_IDLE_BLOCKER,
												row->entry, -1, false);
			v = pgb_plan_add_victim(plan, idle_round, row, PGB_ACTION_TERMINATE);
			if (v == NULL)
				break;
			snprintf(v->reason, sizeof(v->reason),
					 "idle in transaction for %.1f s while pid %d (%s) waited %.1f s on its lock, past idle_blocker_timeout=%.1f s of class \"%s\"",
					 (snap->now_ms - row->state_since_ms) / 1000.0,
					 row->blocking_waiter_pid, wname,
					 w->blocked_us / 1000000.0,
					 c->idle_blocker_timeout / 1000.0, c->name);
			snprintf(v->message, sizeof(v->message),
					 "pg_budget: terminating connection of class \"%s\": idle in transaction while it blocked pid %d for %.1f s",
					 c->name, row->blocking_waiter_pid,
					 (snap->now_ms - row->blocking_since_ms) / 1000.0);
			continue;
		}

		if (c->switch_time > 0 && c->switch_to == PGB_SWITCH_CANCEL &&
			row->state == PGB_STATE_ACTIVE && !row->cancelled &&
			row->stmt_cpu_ms >= c->switch_time)
		{
			if (cpu_round == NULL)
				cpu_round = pgb_plan_add_round(plan, PGB_ROUND_RUNAWAY,
											   row->entry, -1, false);
			v = pgb_plan_add_victim(plan, cpu_round, row, PGB_ACTION_CANCEL);
			if (v == NULL)
				break;
			snprintf(v->reason, sizeof(v->reason),
					 "the statement used %.2f s of CPU, past switch_time=%.2f s of class \"%s\" (switch_to=cancel)",
					 row->stmt_cpu_ms / 1000.0, c->switch_time / 1000.0, c->name);
			snprintf(v->message, sizeof(v->message),
					 "pg_budget: statement of class \"%s\" cancelled: it used more than switch_time (%.2f s) of CPU",
					 c->name, c->switch_time / 1000.0);
		}
	}
}
