/*-------------------------------------------------------------------------
 *
 * cgroup_boost.c
 *	  OS-level priority inheritance: the worker's CPU boosts (boost_math.h
 *	  decides them) carried out, a lock holder moved into the cgroup of the
 *	  class that waits on it and back, under one shared hold of the main
 *	  lock per move (cgroup.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "miscadmin.h"

#include "boost_math.h"
#include "cgroup.h"
#include "cgroup_fs.h"
#include "cgroup_math.h"
#include "compat.h"
#include "events.h"
#include "guc.h"
#include "shmem.h"

/*
 * Move the session of slot procno, if it is still pid, into class entry
 * entry's cgroup (or the server's leaf when entry < 0), and set its
 * cpu_boost to boost (boost < 0: leave it; a runaway switch,
 * runaway_switch.c, moves with this too).  The pid is checked and written
 * under one shared hold of the main lock (shmem.h), so the pid moved is
 * the session's.  Returns false with *gone when the session is no longer
 * there, or with a message in err when the write failed.
 */
bool
pgb_cgroup_move_slot(int procno, int pid, int entry, int boost, bool *gone,
					 char *err, size_t errlen)
{
	PgbBackendSlot *slot = &pgb_shared->slots[procno];
	char		dir[PGB_CGROUP_PATH_LEN];
	bool		ok;

	*gone = false;
	err[0] = '\0';
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	if (slot->pid != pid)
	{
		LWLockRelease(pgb_shared->lock);
		*gone = true;
		return false;
	}
	if (!pgb_cgroup_join(pgb_cgroup, entry >= 0 ? pgb_shared->classes[entry].name :
						 PGB_CGROUP_SERVER_LEAF, dir, sizeof(dir)))
	{
		LWLockRelease(pgb_shared->lock);
		snprintf(err, errlen, "the cgroup path is too long");
		return false;
	}
	ok = pgb_cgroup_move(dir, pid, err, errlen);
	if (ok && boost >= 0)
		pg_atomic_write_u32(&slot->cpu_boost, (uint32) boost);
	LWLockRelease(pgb_shared->lock);
	return ok;
}

/*
 * Carry out the worker's CPU boosts of this tick: a holder into its
 * waiter's class's cgroup, or back into its own (into the server's leaf
 * if its own can not take it), each move an event "cpu boost" and a LOG
 * line; the rows learn the outcome (pgb_boost_done).
 */
void
pgb_cgroup_boost(PgbBoostPlan *plan, PgbSnapshot *snap)
{
	int			i;

	for (i = 0; i < plan->nmoves; i++)
	{
		const PgbBoostMove *m = &plan->moves[i];
		char		err[PGB_CGROUP_PATH_LEN + 256];
		char		home[NAMEDATALEN];
		bool		ok = false;
		bool		gone = false;

		strlcpy(home, pgb_group_name(m->home_entry), sizeof(home));
		switch (m->kind)
		{
			case PGB_BOOST_TO:
				ok = pgb_cgroup_move_slot(m->procno, m->pid, m->to_entry,
										  m->to_entry + 1, &gone, err, sizeof(err));
				break;
			case PGB_BOOST_BACK:
				ok = pgb_cgroup_move_slot(m->procno, m->pid, m->home_entry, 0,
										  &gone, err, sizeof(err));
				if (!ok && !gone)
				{
					ereport(LOG,
							(errmsg("pg_budget: pid %d of class \"%s\" could not go back into the cgroup of its class, so it goes to the server's: %s",
									m->pid, home, err)));
					ok = pgb_cgroup_move_slot(m->procno, m->pid, -1, 0, &gone,
											  err, sizeof(err));
				}
				break;
			case PGB_BOOST_GONE:
				ok = true;
				break;
		}
		pgb_boost_done(snap, m, ok);
		if (gone && m->kind == PGB_BOOST_BACK)
		{
			char		reason[PGB_REASON_LEN];

			/* it exited (its slot cleared) before the worker saw it gone */
			snprintf(reason, sizeof(reason),
					 "it exited while it ran in the cgroup of class \"%s\"",
					 pgb_group_name(m->from_entry));
			pgb_event(home, m->pid, NULL, "cpu boost", "lock", reason);
			continue;
		}
		if (gone)
			continue;
		if (!ok)
		{
			ereport(LOG,
					(errmsg("pg_budget: pid %d of class \"%s\" could not be moved for a CPU boost: %s",
							m->pid, home, err)));
			continue;
		}
		ereport(LOG,
				(errmsg("pg_budget: pid %d of class \"%s\": %s", m->pid, home, m->reason)));
		pgb_event(home, m->pid, NULL, "cpu boost", "lock", m->reason);
	}
}

/*
 * A new worker does not know the boosts of the one before it (it exited
 * or crashed): their sessions go back into their classes' cgroups.
 */
void
pgb_cgroup_unboost_all(void)
{
	int			i;

	for (i = 0; i < pgb_shared->nslots; i++)
	{
		PgbBackendSlot *slot = &pgb_shared->slots[i];
		char		err[PGB_CGROUP_PATH_LEN + 256];
		char		home[NAMEDATALEN];
		char		reason[PGB_REASON_LEN];
		int			pid = slot->pid;
		int			entry = slot->class_idx;
		bool		gone;

		if (pid == 0 || pg_atomic_read_u32(&slot->cpu_boost) == 0)
			continue;
		if (!pgb_cgroup_move_slot(i, pid, entry, 0, &gone, err, sizeof(err)) &&
			!gone && !pgb_cgroup_move_slot(i, pid, -1, 0, &gone, err, sizeof(err)))
		{
			if (!gone)
				ereport(LOG,
						(errmsg("pg_budget: pid %d stays in the cgroup of a CPU boost: %s",
								pid, err)));
			continue;
		}
		if (gone)
			continue;
		strlcpy(home, pgb_group_name(entry), sizeof(home));
		snprintf(reason, sizeof(reason),
				 "back in the cgroup of its class \"%s\": the worker that boosted it restarted",
				 home);
		ereport(LOG, (errmsg("pg_budget: pid %d of class \"%s\": %s", pid, home, reason)));
		pgb_event(home, pid, NULL, "cpu boost", "lock", reason);
	}
}
