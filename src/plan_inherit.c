/*-------------------------------------------------------------------------
 *
 * plan_inherit.c
 *	  Priority inheritance at the gate: queued sessions that block another
 *	  are let through; and notes of idle sessions holding a place while
 *	  others of their class are queued.
 *
 * Pure: no server calls, no locks; unit-tested in test/unit/test_plan.c.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include <stdio.h>

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
	memset(lt, 0, sizeof(*lt));
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
void
pgb_plan_let_through(PgbPlan *plan, const PgbSnapshot *snap,
					 const PgbClassTable *table, const int *class_of)
{
	int			s;
	int			l;

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
		for (s = 0; s < pgb_snap_nscan(snap); s++)
		{
			const PgbSessionRow *r = &snap->rows[pgb_snap_scan(snap, s)];

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
		for (s = 0; s < pgb_snap_nscan(snap); s++)
		{
			const PgbSessionRow *r = &snap->rows[pgb_snap_scan(snap, s)];

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
void
pgb_plan_idle_holders(PgbPlan *plan, const PgbSnapshot *snap,
					  const PgbClassTable *table, const int *class_of)
{
	int			s;
	int			procno;

	for (s = 0; s < pgb_snap_nscan(snap); s++)
	{
		const PgbSessionRow *r;
		int			queued;
		int			c;
		PgbPlanNote *n;

		procno = pgb_snap_scan(snap, s);
		r = &snap->rows[procno];

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
		memset(n, 0, sizeof(*n));
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
