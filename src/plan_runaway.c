/*-------------------------------------------------------------------------
 *
 * plan_runaway.c
 *	  Idle blockers (idle_blocker_timeout) and runaway statements
 *	  (switch_time, switch_to=cancel: rounds of the plan; switch_to=CLASS:
 *	  the switches, carried out by runaway_switch.c).  Pure: no server
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
			pgb_row_unsettle(snap, blocker);
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
	int			s;
	PgbPlanRound *idle_round = NULL;
	PgbPlanRound *cpu_round = NULL;
	int			i;

	note_blockers(snap);
	for (s = 0; s < pgb_snap_nscan(snap); s++)
	{
		PgbSessionRow *row;
		const PgbClass *c;
		PgbPlanVictim *v;

		i = pgb_snap_scan(snap, s);
		row = &snap->rows[i];

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
			/* the cancel is for this statement, not the session's next */
			v->statement = row->statements;
			snprintf(v->reason, sizeof(v->reason),
					 "the statement used %.2f s of CPU, past switch_time=%.2f s of class \"%s\" (switch_to=cancel)",
					 row->stmt_cpu_ms / 1000.0, c->switch_time / 1000.0, c->name);
			snprintf(v->message, sizeof(v->message),
					 "pg_budget: statement of class \"%s\" cancelled: it used more than switch_time (%.2f s) of CPU",
					 c->name, c->switch_time / 1000.0);
		}
	}
}

/*
 * The switches (switch_to=CLASS).  Why the worker rather than the backend
 * ends a switch: the end of a statement is the end of the active spell
 * the sampler sees (as for the CPU time, runaway.c), the move back is a
 * write to a cgroup's procs file, which the backend should not do in its
 * executor-end hook, and one owner of the mark keeps it simple: only the
 * worker writes it (shmem.h).  The cost is up to a tick (the sampling
 * interval) in the lower class after the statement ends.
 */
static PgbSwitchMove *
add_switch(PgbSwitchPlan *plan, PgbSwitchKind kind, const PgbSessionRow *row,
		   int to_entry)
{
	PgbSwitchMove *m;

	if (plan->nmoves >= PGB_MAX_SWITCH_MOVES)
		return NULL;
	m = &plan->moves[plan->nmoves++];
	memset(m, 0, sizeof(PgbSwitchMove));
	m->kind = kind;
	m->procno = row->procno;
	m->pid = row->pid;
	m->home_entry = row->switched ? row->switch_home : row->entry;
	m->from_entry = row->entry;
	m->to_entry = to_entry;
	m->boosted = row->boosted;
	m->statements = row->statements;
	return m;
}

void
pgb_plan_switches(PgbSwitchPlan *plan, PgbSnapshot *snap,
				  const PgbClassTable *table, const PgbPlanParams *p)
{
	int			s;
	int			class_of[PGB_MAX_SHARED_CLASSES];
	bool		on = p->enabled && p->shedding != PGB_SHEDDING_OFF;
	int			i;

	plan->nmoves = 0;
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		class_of[i] = -1;
	for (i = 0; i < table->nclasses; i++)
		if (snap->map[i] >= 0 && snap->map[i] < PGB_MAX_SHARED_CLASSES)
			class_of[snap->map[i]] = i;

	for (s = 0; s < pgb_snap_nscan(snap); s++)
	{
		PgbSessionRow *row = &snap->rows[pgb_snap_scan(snap, s)];
		const PgbClass *c;
		const PgbClass *to;
		PgbSwitchMove *m;
		int			t;
		int			to_entry;

		if (row->switched)
		{
			const PgbClass *home;

			if (row->pid == 0)
			{
				/* it exited: its slot, and the mark, went with it */
				row->switched = false;
				row->entry = row->switch_home;
				continue;
			}
			if (on && !row->switch_cleared && row->state == PGB_STATE_ACTIVE &&
				row->state_since_ms == row->switch_spell)
				goto judge;		/* still the same statement */
			m = add_switch(plan, PGB_SWITCH_MOVE_BACK, row, row->switch_home);
			if (m == NULL)
				return;
			m->cgroup = row->switch_moved;
			home = row->switch_home >= 0 && row->switch_home < PGB_MAX_SHARED_CLASSES &&
				class_of[row->switch_home] >= 0 ?
				&table->classes[class_of[row->switch_home]] : NULL;
			snprintf(m->reason, sizeof(m->reason),
					 "back in class \"%s\": %s",
					 home != NULL ? home->name : "?",
					 !on ? "pg_budget.enabled or pg_budget.shedding is off" :
					 "the statement it was switched in ended");
			continue;
		}
judge:
		if (!on || row->pid == 0 || !row->judged || row->exempt ||
			row->walsender || row->state != PGB_STATE_ACTIVE ||
			(c = pgb_plan_class_of_row(table, class_of, row)) == NULL ||
			c->switch_time <= 0 || c->switch_to != PGB_SWITCH_CLASS ||
			row->stmt_cpu_ms < c->switch_time ||
			(t = pgb_find_class(table, c->switch_class)) < 0 ||
			(to_entry = snap->map[t]) < 0 || to_entry >= PGB_MAX_SHARED_CLASSES ||
			to_entry == row->entry)
			continue;
		to = &table->classes[t];
		if (p->shedding == PGB_SHEDDING_DRY_RUN || c->warn)
		{
			if (row->switch_noted == row->state_since_ms &&
				row->switch_noted_stmt == row->statements)
				continue;		/* noted once a statement */
			m = add_switch(plan, PGB_SWITCH_MOVE_WOULD, row, to_entry);
			if (m != NULL)
				m->warn = p->shedding != PGB_SHEDDING_DRY_RUN;
		}
		else
			m = add_switch(plan, PGB_SWITCH_MOVE_TO, row, to_entry);
		if (m == NULL)
			return;
		m->cgroup = snap->cpu_in_force[to_entry];
		m->cpu_ms = row->stmt_cpu_ms;
		snprintf(m->reason, sizeof(m->reason),
				 "used %.2f s of CPU, past switch_time=%.2f s of class \"%s\": runs as class \"%s\" until the statement ends",
				 row->stmt_cpu_ms / 1000.0, c->switch_time / 1000.0, c->name,
				 to->name);
	}
}

void
pgb_switch_done(PgbSnapshot *snap, const PgbSwitchMove *move, bool ok,
				bool moved)
{
	PgbSessionRow *row;

	if (move->procno < 0 || move->procno >= snap->nrows)
		return;
	row = &snap->rows[move->procno];
	if (row->pid != move->pid)
		return;
	switch (move->kind)
	{
		case PGB_SWITCH_MOVE_TO:
			if (!ok)
				break;
			if (!row->switched)
				row->switch_home = row->entry;
			row->switched = true;
			pgb_row_unsettle(snap, row);
			row->switch_cleared = false;
			/* a chain keeps the first move's cgroup flag if this one did none */
			row->switch_moved = moved || row->switch_moved;
			row->switch_spell = row->state_since_ms;
			row->entry = move->to_entry;
			break;
		case PGB_SWITCH_MOVE_BACK:
			/* gone or back: either way it is its own class's again */
			row->entry = row->switch_home;
			row->switched = false;
			row->switch_moved = false;
			row->switch_cleared = false;
			break;
		case PGB_SWITCH_MOVE_WOULD:
			row->switch_noted = row->state_since_ms;
			row->switch_noted_stmt = row->statements;
			break;
	}
}
