/*-------------------------------------------------------------------------
 *
 * boost_math.c
 *	  Decide the CPU boosts of one tick (boost_math.h): which holders of a
 *	  lock run in a waiter's class's cgroup, and which go back.
 *
 * Pure (c.h only) and lock-free: the snapshot's rows carry the boost
 * state from tick to tick, in the worker's own memory.
 *
 *-------------------------------------------------------------------------
 */
#include "boost_math.h"

#include <stdio.h>
#include <string.h>

/* The class of a class entry in this tick's table, or NULL. */
static const PgbClass *
class_of_entry(const PgbSnapshot *snap, const PgbClassTable *table, int entry)
{
	int			i;

	if (entry < 0 || entry >= PGB_MAX_SHARED_CLASSES)
		return NULL;
	for (i = 0; i < table->nclasses; i++)
		if (snap->map[i] == entry)
			return &table->classes[i];
	return NULL;
}

bool
pgb_boost_gains(const PgbClass *waiter, const PgbClass *holder)
{
	if (waiter->priority <= holder->priority || waiter->cpu_idle)
		return false;
	return holder->cpu_idle || waiter->cpu_weight > holder->cpu_weight;
}

/* The entry a row's session runs under now: its boost's, or its own. */
static int
effective_entry(const PgbSessionRow *r)
{
	return r->boosted ? r->boost_entry : r->entry;
}

static bool
in_force(const PgbSnapshot *snap, int entry)
{
	return entry >= 0 && entry < PGB_MAX_SHARED_CLASSES && snap->cpu_in_force[entry];
}

static void
drop_waiter(PgbSessionRow *b, int k)
{
	b->nboost_for--;
	b->boost_for[k] = b->boost_for[b->nboost_for];
	b->boost_for_pid[k] = b->boost_for_pid[b->nboost_for];
}

static bool
has_waiter(const PgbSessionRow *b, int procno, int pid)
{
	int			k;

	for (k = 0; k < b->nboost_for; k++)
		if (b->boost_for[k] == procno && b->boost_for_pid[k] == pid)
			return true;
	return false;
}

/* The move of this plan for procno, or NULL. */
static PgbBoostMove *
planned(PgbBoostPlan *plan, int procno)
{
	int			i;

	for (i = 0; i < plan->nmoves; i++)
		if (plan->moves[i].procno == procno)
			return &plan->moves[i];
	return NULL;
}

static PgbBoostMove *
add_move(PgbBoostPlan *plan, PgbBoostKind kind, const PgbSessionRow *b,
		 int to_entry)
{
	PgbBoostMove *m;

	if (plan->nmoves >= PGB_MAX_BOOST_MOVES)
		return NULL;
	m = &plan->moves[plan->nmoves++];
	memset(m, 0, sizeof(PgbBoostMove));
	m->kind = kind;
	m->procno = b->procno;
	m->pid = b->pid;
	m->home_entry = b->entry;
	m->from_entry = b->boosted ? b->boost_entry : b->entry;
	m->to_entry = to_entry;
	return m;
}

/* Is blocker among the live blockers of look? */
static bool
listed(const PgbLookup *look, int procno)
{
	int			i;

	for (i = 0; i < look->nblockers; i++)
		if (look->blockers[i] == procno)
			return true;
	return false;
}

void
pgb_plan_boosts(PgbBoostPlan *plan, PgbSnapshot *snap,
				const PgbClassTable *table)
{
	int			s;
	int			l;
	int			i;

	plan->nmoves = 0;

	/* each lookup: who its waiter is no longer blocked by, and who blocks it */
	for (l = 0; l < snap->nlookups; l++)
	{
		const PgbLookup *look = &snap->lookups[l];
		const PgbSessionRow *w = &snap->rows[look->waiter];
		const PgbClass *wclass;
		int			went = effective_entry(w);
		int			b;

		for (s = 0; s < pgb_snap_nscan(snap); s++)
		{
			PgbSessionRow *r;
			int			k;

			i = pgb_snap_scan(snap, s);
			r = &snap->rows[i];
			for (k = r->nboost_for - 1; k >= 0; k--)
				if (r->boost_for[k] == look->waiter && !listed(look, i))
					drop_waiter(r, k);
		}

		wclass = class_of_entry(snap, table, went);
		if (w->pid == 0 || !w->judged || w->blocked_us == 0 || wclass == NULL ||
			!in_force(snap, went))
			continue;
		for (b = 0; b < look->nblockers; b++)
		{
			PgbSessionRow *h = &snap->rows[look->blockers[b]];
			const PgbClass *hclass = class_of_entry(snap, table, h->entry);
			const PgbClass *now;
			PgbBoostMove *m;

			if (h->pid == 0 || !h->judged || h->walsender || hclass == NULL ||
				!in_force(snap, h->entry) || !pgb_boost_gains(wclass, hclass))
				continue;
			if (!has_waiter(h, look->waiter, w->pid) &&
				h->nboost_for < PGB_BOOST_WAITERS)
			{
				h->boost_for[h->nboost_for] = look->waiter;
				h->boost_for_pid[h->nboost_for] = w->pid;
				h->nboost_for++;
				pgb_row_unsettle(snap, h);
			}
			/* where it is, or is about to go this tick */
			m = planned(plan, h->procno);
			if (m != NULL)
				now = class_of_entry(snap, table, m->to_entry);
			else
				now = h->boosted ? class_of_entry(snap, table, h->boost_entry) : hclass;
			if (now != NULL && now != hclass && !pgb_boost_gains(wclass, now))
				continue;		/* boosted already at least as high */
			if (m == NULL)
				m = add_move(plan, PGB_BOOST_TO, h, went);
			if (m == NULL)
				return;
			m->to_entry = went;
			m->waiter_pid = w->pid;
			snprintf(m->reason, sizeof(m->reason),
					 "runs in the cgroup of class \"%s\" while it blocks pid %d of class \"%s\" (priority %d) on a lock",
					 wclass->name, w->pid, wclass->name, wclass->priority);
		}
	}

	/* each holder: waiters gone or no longer waiting, then back or gone */
	for (s = 0; s < pgb_snap_nscan(snap); s++)
	{
		PgbSessionRow *h;
		const PgbClass *hclass;
		int			k;

		i = pgb_snap_scan(snap, s);
		h = &snap->rows[i];

		if (!h->boosted && h->nboost_for == 0)
			continue;
		if (h->pid == 0)
		{
			if (h->boosted && add_move(plan, PGB_BOOST_GONE, h, h->entry) != NULL)
			{
				plan->moves[plan->nmoves - 1].pid = h->boost_pid;
				snprintf(plan->moves[plan->nmoves - 1].reason, sizeof(plan->moves[0].reason),
						 "it exited while it ran in the cgroup of a higher class");
			}
			h->boosted = false;
			h->nboost_for = 0;
			continue;
		}
		for (k = h->nboost_for - 1; k >= 0; k--)
		{
			const PgbSessionRow *w = &snap->rows[h->boost_for[k]];

			if (w->pid != h->boost_for_pid[k] || w->blocked_us == 0)
				drop_waiter(h, k);
		}
		if (!h->boosted || planned(plan, i) != NULL)
			continue;
		hclass = class_of_entry(snap, table, h->entry);
		if (h->nboost_for == 0)
		{
			if (add_move(plan, PGB_BOOST_BACK, h, h->entry) != NULL)
				snprintf(plan->moves[plan->nmoves - 1].reason, sizeof(plan->moves[0].reason),
						 "back in the cgroup of its class \"%s\": it no longer blocks a session of a higher class",
						 hclass ? hclass->name : "?");
		}
		else if (!in_force(snap, h->boost_entry) || !in_force(snap, h->entry))
		{
			if (add_move(plan, PGB_BOOST_BACK, h, h->entry) != NULL)
				snprintf(plan->moves[plan->nmoves - 1].reason, sizeof(plan->moves[0].reason),
						 "back in the cgroup of its class \"%s\": the weights it was boosted by are no longer in force (or pg_budget.enabled is off)",
						 hclass ? hclass->name : "?");
		}
	}
}

void
pgb_boost_done(PgbSnapshot *snap, const PgbBoostMove *move, bool ok)
{
	PgbSessionRow *h;

	if (move->procno < 0 || move->procno >= snap->nrows)
		return;
	h = &snap->rows[move->procno];
	if (h->pid != move->pid && move->kind != PGB_BOOST_GONE)
		return;
	switch (move->kind)
	{
		case PGB_BOOST_TO:
			if (ok)
			{
				h->boosted = true;
				pgb_row_unsettle(snap, h);
				h->boost_entry = move->to_entry;
				h->boost_pid = move->pid;
			}
			else if (!h->boosted)
				h->nboost_for = 0;
			break;
		case PGB_BOOST_BACK:
		case PGB_BOOST_GONE:
			h->boosted = false;
			h->nboost_for = 0;
			break;
	}
}
