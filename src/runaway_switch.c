/*-------------------------------------------------------------------------
 *
 * runaway_switch.c
 *	  Runaway statements switched to a lower class (switch_to=CLASS): the
 *	  worker's switches (plan_runaway.c decides them) carried out.  A
 *	  switch marks the slot (switched_to: the class it counts as for
 *	  shedding and its WAL, shmem.h), under a shared hold of the main lock
 *	  that checks the pid, and moves the pid into the class's cgroup with
 *	  the CPU boosts' move (cgroup_boost.c); the end of its statement
 *	  undoes both.  Each is a LOG line and an event.  The backend's
 *	  part: it counts its statements and clears its own mark as its next
 *	  statement starts (parse analysis or ExecutorStart), so that the
 *	  next statement is its own class's, and its CPU its own, even when
 *	  the worker did not see it idle in between.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "parser/analyze.h"

#include "cgroup.h"
#include "cgroup_math.h"
#include "compat.h"
#include "events.h"
#include "guc.h"
#include "runaway.h"
#include "shmem.h"
#include "warn.h"

static ExecutorStart_hook_type prev_ExecutorStart_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;

/* the start of the top-level statement counted last (statement_start) */
static TimestampTz statement_seen = 0;

/* Has this session's class a switch_time (the table in force)? */
static bool
class_timed(const PgbBackendSlot *slot)
{
	const PgbClassTable *table = pgb_current_table(NULL);
	int			e = slot->class_idx;
	char		name[NAMEDATALEN];
	int			i;

	/* an exempt superuser's statements are never timed (runaway.c) */
	if (e < 0 || e >= PGB_MAX_SHARED_CLASSES ||
		(slot->superuser && pgb_exempt_superusers))
		return false;
	/* the entry's name is fixed while a session of it lives (shmem.h) */
	strlcpy(name, pgb_shared->classes[e].name, sizeof(name));
	i = pgb_find_class(table, name);
	return i >= 0 && table->classes[i].switch_time > 0;
}

/*
 * A switch lasts until the statement ends.  The worker sees a statement
 * end as the end of an active spell, which it misses when the client
 * sends the next statement at once; the backend knows better: a parse
 * analysis or an ExecutorStart under a new top-level statement (its start
 * timestamp moved: each query message) is a new statement.  Its backend
 * then counts it in its slot's statements (the worker counts a
 * statement's CPU from there, runaway.c, so that a statement sent at once
 * after a heavy one does not inherit its CPU time) and clears a mark still
 * on.  Parse analysis comes before planning, so a statement's planning is
 * its own; a prepared statement's execution has no parse analysis, and
 * its ExecutorStart counts it.  A mark set while this statement runs
 * stays for it: nested statements have the same statement start.  One
 * timestamp compare per call; when a statement starts, an atomic add and
 * read on its own slot (no lock: only the pid check needs one, and this is
 * its own pid).  The add is a full barrier: the worker, setting a mark,
 * writes it and then reads the counter (mark_slot), and one of the two
 * sees the other's write, so a mark meant for the statement before never
 * stays on this one.  The worker sees the mark gone and moves the pid
 * back (pgb_runaway_switch_sample).
 */
static void
statement_start(void)
{
	TimestampTz ts = GetCurrentStatementStartTimestamp();
	PgbBackendSlot *slot;

	if (ts == statement_seen)
		return;
	statement_seen = ts;
	slot = pgb_admitted ? pgb_my_slot() : NULL;
	if (slot == NULL || slot->pid != MyProcPid)
		return;
	(void) pg_atomic_fetch_add_u32(&slot->statements, 1);
	if (pg_atomic_read_u32(&slot->switched_to) != 0)
		pg_atomic_write_u32(&slot->switched_to, 0);

	/*
	 * A worker whose tick calm stretched would first see this statement up
	 * to 100 ms late, and its CPU time until then would be missed: a
	 * statement of a class with switch_time wakes it (shmem.h:
	 * worker_calm), which then sees it as the tick in force would (a
	 * settled session's row is read on the next full walk, up to 50 ms:
	 * worker.md), times it, and stays from calm until it ends.  One atomic
	 * read when the wake is not armed; when it is, a class lookup by name.
	 */
	if (pg_atomic_read_u32(&pgb_shared->worker_calm) != 0 && class_timed(slot))
		pgb_wake_worker();
}

static void
switch_post_parse_analyze(ParseState *pstate, Query *query,
						  JumbleState *jstate)
{
	statement_start();
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
}

static void
switch_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	statement_start();
	if (prev_ExecutorStart_hook)
		prev_ExecutorStart_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

void
pgb_runaway_switch_init(void)
{
	prev_ExecutorStart_hook = ExecutorStart_hook;
	ExecutorStart_hook = switch_ExecutorStart;
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = switch_post_parse_analyze;
}

/*
 * Before the plan: a switched row whose slot's mark its backend cleared
 * (its statement ended, above) is marked so, read without the lock (an
 * atomic; the pid checked around it, shmem.h).
 */
void
pgb_runaway_switch_sample(PgbSnapshot *snap)
{
	int			s;
	int			i;

	for (s = 0; s < pgb_snap_nscan(snap); s++)
	{
		PgbSessionRow *r;
		PgbBackendSlot *slot;
		uint32		mark;

		i = pgb_snap_scan(snap, s);
		if (i >= pgb_shared->nslots)
			continue;
		r = &snap->rows[i];
		slot = &pgb_shared->slots[i];
		if (!r->switched || r->pid == 0 || slot->pid != r->pid)
			continue;
		pg_read_barrier();
		mark = pg_atomic_read_u32(&slot->switched_to);
		pg_read_barrier();
		if (slot->pid == r->pid && mark == 0)
			r->switch_cleared = true;
	}
}

/*
 * Set slot procno's switched_to to value if it is still pid's; false if
 * the session is gone.  One shared hold: the pid can not be reused while
 * it is held (a slot is cleared under the exclusive lock).  A mark (value
 * not 0) is for one statement, the one whose count is statements: if its
 * backend has counted another since, the mark is taken back and false
 * returned (statement_start above: the write, a full barrier, then the
 * read, on both sides).
 */
static bool
mark_slot(int procno, int pid, uint32 value, uint32 statements)
{
	PgbBackendSlot *slot = &pgb_shared->slots[procno];
	bool		ok;

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	ok = slot->pid == pid;
	if (ok)
	{
		pg_atomic_write_u32(&slot->switched_to, value);
		if (value != 0)
		{
			pg_memory_barrier();
			if (pg_atomic_read_u32(&slot->statements) != statements)
			{
				uint32		expected = value;

				/* its backend may have cleared it already */
				(void) pg_atomic_compare_exchange_u32(&slot->switched_to,
													  &expected, 0);
				ok = false;
			}
		}
	}
	LWLockRelease(pgb_shared->lock);
	return ok;
}

/*
 * Without the cgroup (pg_budget.cgroup unset, not writable, or the class
 * has no weight in force) a switch still changes the class the session
 * counts as: the cgroup is a means, never a condition, and never an
 * outage.  What became of the cgroup is said in the LOG line and the
 * event.
 */
void
pgb_runaway_switch(PgbSwitchPlan *plan, PgbSnapshot *snap)
{
	int			i;

	for (i = 0; i < plan->nmoves; i++)
	{
		const PgbSwitchMove *m = &plan->moves[i];
		char		err[PGB_CGROUP_PATH_LEN + 256];
		char		home[NAMEDATALEN];
		char		to[NAMEDATALEN];
		char		reason[PGB_REASON_LEN];
		const char *cgroup_note = "";
		bool		ok;
		bool		moved = false;
		bool		gone = false;

		err[0] = '\0';
		strlcpy(home, pgb_group_name(m->home_entry), sizeof(home));
		strlcpy(to, pgb_group_name(m->to_entry), sizeof(to));
		switch (m->kind)
		{
			case PGB_SWITCH_MOVE_WOULD:
				pgb_switch_done(snap, m, true, false);
				if (m->warn)
				{
					/* warn mode: counted and recorded as act.c does a cancel */
					pgb_warn(m->from_entry, home, m->pid, NULL, "switch",
							 PGB_WARN_RUNAWAY, m->reason);
					ereport(LOG,
							(errmsg("pg_budget: warn: would switch pid %d of class \"%s\", signal runaway: %s",
									m->pid, home, m->reason),
							 errdetail("Class \"%s\" is in warn mode (enforce=warn): nothing was switched.",
									   home)));
					continue;
				}
				ereport(LOG,
						(errmsg("pg_budget: dry run: would switch pid %d of class \"%s\": %s",
								m->pid, home, m->reason)));
				pgb_event(home, m->pid, NULL, "would switch", "runaway", m->reason);
				continue;

			case PGB_SWITCH_MOVE_TO:
				ok = mark_slot(m->procno, m->pid, (uint32) m->to_entry + 1,
							   m->statements);
				if (ok && m->boosted)
					cgroup_note = "; stays in its CPU boost's cgroup";
				else if (ok && !m->cgroup)
					cgroup_note = "; cgroup unchanged: no CPU weight in force";
				else if (ok)
				{
					moved = pgb_cgroup_move_slot(m->procno, m->pid, m->to_entry, -1,
												 &gone, err, sizeof(err));
					if (!moved && !gone)
						cgroup_note = "; its cgroup could not be changed";
				}
				pgb_switch_done(snap, m, ok && !gone, moved);
				if (!ok || gone)
					continue;
				snprintf(reason, sizeof(reason), "%s%s", m->reason, cgroup_note);
				ereport(LOG,
						(errmsg("pg_budget: switched pid %d of class \"%s\" to class \"%s\": %s",
								m->pid, home, to, reason),
						 err[0] != '\0' ? errdetail("%s", err) : 0));
				pgb_event(home, m->pid, NULL, "switch", "runaway", reason);
				continue;

			case PGB_SWITCH_MOVE_BACK:
				ok = mark_slot(m->procno, m->pid, 0, 0);
				if (ok && m->cgroup && !m->boosted)
				{
					/* as a boost's end: its class's cgroup, else the server's */
					moved = pgb_cgroup_move_slot(m->procno, m->pid, m->home_entry, -1,
												 &gone, err, sizeof(err));
					if (!moved && !gone)
						moved = pgb_cgroup_move_slot(m->procno, m->pid, -1, -1,
													 &gone, err, sizeof(err));
					if (!moved && !gone)
						cgroup_note = "; it stays in the cgroup it was switched to";
				}
				pgb_switch_done(snap, m, ok, moved);
				if (!ok || gone)
					continue;
				snprintf(reason, sizeof(reason), "%s%s", m->reason, cgroup_note);
				ereport(LOG,
						(errmsg("pg_budget: pid %d of class \"%s\" no longer switched to class \"%s\": %s",
								m->pid, home, pgb_group_name(m->from_entry), reason),
						 err[0] != '\0' ? errdetail("%s", err) : 0));
				pgb_event(home, m->pid, NULL, "switch back", "runaway", reason);
				continue;
		}
	}
}

/*
 * A new worker does not know the switches of the one before it (it
 * exited or crashed): their sessions count as their own classes again
 * and, unless boosted, go back into their classes' cgroups.
 */
void
pgb_runaway_unswitch_all(void)
{
	int			i;

	for (i = 0; i < pgb_shared->nslots; i++)
	{
		PgbBackendSlot *slot = &pgb_shared->slots[i];
		char		err[PGB_CGROUP_PATH_LEN + 256];
		char		home[NAMEDATALEN];
		int			pid = slot->pid;
		int			entry = slot->class_idx;
		bool		gone = false;

		if (pid == 0 || pg_atomic_read_u32(&slot->switched_to) == 0)
			continue;
		if (!mark_slot(i, pid, 0, 0))
			continue;
		if (pgb_cgroup_configured() && pg_atomic_read_u32(&slot->cpu_boost) == 0 &&
			!pgb_cgroup_move_slot(i, pid, entry, -1, &gone, err, sizeof(err)) &&
			!gone)
			(void) pgb_cgroup_move_slot(i, pid, -1, -1, &gone, err, sizeof(err));
		strlcpy(home, pgb_group_name(entry), sizeof(home));
		ereport(LOG,
				(errmsg("pg_budget: pid %d of class \"%s\" no longer switched: the worker that switched it restarted",
						pid, home)));
		pgb_event(home, pid, NULL, "switch back", "runaway",
				  "the worker that switched it restarted");
	}
}
