/*-------------------------------------------------------------------------
 *
 * shed.c
 *	  Cancelling and terminating sessions, and telling their clients why.
 *
 * Before it signals a backend, whoever sheds it (the worker, or a backend
 * running pg_budget_pause) writes the reason into the victim's slot under
 * the pg_budget lock, checking the slot still belongs to that pid.  The
 * victim's emit_log_hook adds the reason to the cancel or terminate error
 * its client receives.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/elog.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "pg_budget.h"
#include "worker.h"

/* Shedding a class over its limit: one round of actions per this long. */
#define SHED_ROUND_MS	500

/* A reason older than this is not about the error being reported. */
#define REASON_TTL_US	(10 * 1000000L)

static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * In the victim: a cancel or terminate that pg_budget asked for carries
 * its reason in the DETAIL (or the CONTEXT if there is a DETAIL already).
 */
static void
shed_emit_log_hook(ErrorData *edata)
{
	PgbBackendSlot *slot;

	if ((edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		 edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN) &&
		pgb_admitted && (slot = pgb_my_slot()) != NULL &&
		pg_atomic_exchange_u32(&slot->shed_pending, 0) != 0)
	{
		char		reason[PGB_REASON_LEN];
		bool		fresh;

		/*
		 * No lock while an error is being reported: the signaller wrote the
		 * reason before it set shed_pending (with a barrier), and only a
		 * later signal, which sets shed_pending again, writes it anew.
		 */
		pg_read_barrier();
		fresh = GetCurrentTimestamp() - slot->shed_at < REASON_TTL_US;
		memcpy(reason, slot->shed_reason, sizeof(reason));
		reason[sizeof(reason) - 1] = '\0';

		if (fresh)
		{
			char	   *msg = psprintf("pg_budget %s this session: %s",
									   edata->sqlerrcode == ERRCODE_QUERY_CANCELED ?
									   "cancelled the query of" : "terminated",
									   reason);

			if (edata->detail == NULL)
				edata->detail = msg;
			else if (edata->context == NULL)
				edata->context = msg;
			else
				edata->context = psprintf("%s\n%s", edata->context, msg);
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
pgb_shed_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = shed_emit_log_hook;
}

/*
 * Signal one backend: SIGINT cancels its query, SIGTERM ends its session.
 * Returns false if the slot no longer belongs to pid, the session is no
 * longer of class entry expected_class (-1: any), or it is an exempt
 * superuser.  The check, the reason for the victim and the kill() are done
 * under one exclusive hold of the lock, so the pid can not have been
 * reused in between: a slot is cleared under that lock before its process
 * is gone.  Then the action is logged.
 */
bool
pgb_signal_backend(int procno, int pid, int expected_class, int action,
				   bool dry_run, const char *signal, const char *reason)
{
	PgbBackendSlot *slot = &pgb_shared->slots[procno];
	char		class[NAMEDATALEN];
	char		role[NAMEDATALEN];
	const char *verb = action == PGB_ACTION_CANCEL ? "cancel" : "terminate";
	int			e;
	int			sent = 0;
	int			err = 0;

	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	if (slot->pid != pid ||
		(expected_class >= 0 && slot->class_idx != expected_class) ||
		(slot->superuser && pgb_exempt_superusers))
	{
		LWLockRelease(pgb_shared->lock);
		return false;
	}
	e = slot->class_idx;
	strlcpy(class, pgb_shared->classes[e].name, sizeof(class));
	strlcpy(role, slot->rolename, sizeof(role));
	if (!dry_run)
	{
		slot->shed_at = GetCurrentTimestamp();
		strlcpy(slot->shed_reason, reason, sizeof(slot->shed_reason));
		pg_write_barrier();
		pg_atomic_write_u32(&slot->shed_pending, 1);
#ifdef HAVE_SETSID
		/* backends lead their own process group, as in pg_signal_backend */
		sent = kill(-pid, action == PGB_ACTION_CANCEL ? SIGINT : SIGTERM);
#else
		sent = kill(pid, action == PGB_ACTION_CANCEL ? SIGINT : SIGTERM);
#endif
		err = errno;
		if (sent == 0)
		{
			if (action == PGB_ACTION_CANCEL)
				pgb_shared->classes[e].shed_cancel++;
			else
				pgb_shared->classes[e].shed_terminate++;
		}
		else
			pg_atomic_write_u32(&slot->shed_pending, 0);
	}
	LWLockRelease(pgb_shared->lock);

	if (sent != 0)
	{
		errno = err;
		ereport(WARNING,
				(errmsg("pg_budget: could not send signal to process %d: %m", pid)));
		return false;
	}
	pgb_event(class, pid, role,
			  dry_run ? (action == PGB_ACTION_CANCEL ? "would cancel" : "would terminate") : verb,
			  signal, reason);
	ereport(LOG,
			(errmsg("pg_budget: %s%s pid %d of class \"%s\" (role \"%s\"), signal %s: %s",
					dry_run ? "dry run: would " : "",
					dry_run ? verb : (action == PGB_ACTION_CANCEL ? "cancelled" : "terminated"),
					pid, class, role, signal, reason)));
	return true;
}

/* Worker side: shed one tracked backend. */
bool
pgb_shed(PgbTick *tick, int procno, PgbShedAction action,
		 const char *signal, const char *reason)
{
	PgbProcTrack *t = &tick->procs[procno];
	bool		dry_run = pgb_shedding == PGB_SHEDDING_DRY_RUN;

	if (pgb_shedding == PGB_SHEDDING_OFF || action == PGB_ACTION_NONE)
		return false;
	if (!pgb_signal_backend(procno, t->pid, t->group, action, dry_run, signal, reason))
		return false;
	t->action_ms = tick->now_ms;
	if (action == PGB_ACTION_CANCEL)
		t->cancelled = true;
	return true;
}

/*
 * Sessions of a class above its effective limit give way: idle in
 * transaction first, then idle (longest first), then active (cancel, and
 * terminate later if the class allows it).  At most *actions_left actions.
 */
void
pgb_shed_over_limit(PgbTick *tick, const PgbClassTable *table,
					const int *limits, int *actions_left)
{
	static int64 class_action_ms[PGB_MAX_SHARED_CLASSES];
	PgbVictim  *victims = palloc(sizeof(PgbVictim) * tick->nprocs);
	int			i;

	for (i = 0; i < table->nclasses && *actions_left > 0; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			e = tick->map[i];
		int			n = 0;
		int			excess;
		int			procno;
		int			v;

		if (e < 0 || limits[i] == PGB_UNLIMITED || c->shed == PGB_SHED_NEVER)
			continue;
		/* let the last round take effect before judging the class again */
		if (tick->now_ms - class_action_ms[e] < SHED_ROUND_MS)
			continue;
		for (procno = 0; procno < tick->nprocs; procno++)
		{
			PgbProcTrack *t = &tick->procs[procno];

			if (t->pid == 0 || t->group != e || !t->judged)
				continue;
			/* exempt superusers count but are never victims */
			if (t->exempt)
				continue;
			victims[n].procno = procno;
			victims[n].pid = t->pid;
			victims[n].state = t->state;
			victims[n].state_since_ms = t->state_since_ms;
			victims[n].cancelled = t->cancelled;
			n++;
		}
		excess = tick->groups[e].sessions - limits[i];
		if (excess <= 0 || n == 0)
			continue;
		pgb_order_victims(victims, n);
		for (v = 0; v < n && excess > 0 && *actions_left > 0; v++)
		{
			PgbProcTrack *t = &tick->procs[victims[v].procno];
			PgbShedAction action = pgb_shed_action(c->shed, &victims[v]);
			char		reason[PGB_REASON_LEN];

			/* one signalled in the last second is still being dealt with */
			if (tick->now_ms - t->action_ms < 1000)
			{
				excess--;
				continue;
			}
			if (action == PGB_ACTION_NONE)
				continue;
			snprintf(reason, sizeof(reason),
					 "class \"%s\" is over its admission limit of %d, lowered under %s pressure",
					 c->name, limits[i], pgb_pressure_names(pgb_shared->pressure));
			if (pgb_shed(tick, victims[v].procno, action, "limit", reason))
			{
				/*
				 * A cancel leaves the session connected but answers for one
				 * session of excess this round: the next round terminates
				 * it if it is still there and the class allows it.
				 */
				(*actions_left)--;
				excess--;
				class_action_ms[e] = tick->now_ms;
			}
		}
	}
	pfree(victims);
}

/*
 * Whether the current user may signal a session of role roleid, by core's
 * rules for pg_cancel_backend and pg_terminate_backend: a superuser's
 * session only if the caller is one; another role's only with its
 * privileges or those of pg_signal_backend.  Catalog lookups: never call
 * it under the pg_budget lock.
 */
static bool
may_signal(Oid roleid, bool target_superuser)
{
	Oid			me = GetUserId();

	if (superuser())
		return true;
	if (target_superuser)
		return false;
	return has_privs_of_role(me, roleid) ||
		has_privs_of_role(me, ROLE_PG_SIGNAL_BACKEND);
}

/*
 * pg_budget_pause with mode cancel or terminate: signal the sessions of
 * class entry e (not this one, not exempt superusers, none that the caller
 * could not signal with pg_terminate_backend).  Cancel reaches only
 * sessions running a query; terminate ends them all.  Returns how many
 * were signalled; *refused counts those the caller may not signal.
 */
int
pgb_pause_sessions(int e, PgbPauseMode mode, const char *reason, int *refused)
{
	int			nslots = pgb_shared->nslots;
	int		   *procnos = palloc(sizeof(int) * nslots);
	int		   *pids = palloc(sizeof(int) * nslots);
	Oid		   *roles = palloc(sizeof(Oid) * nslots);
	bool	   *supers = palloc(sizeof(bool) * nslots);
	int			n = 0;
	int			done = 0;
	int			i;

	*refused = 0;
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < nslots; i++)
	{
		PgbBackendSlot *slot = &pgb_shared->slots[i];

		if (slot->pid == 0 || slot->pid == MyProcPid || slot->class_idx != e)
			continue;
		if (slot->superuser && pgb_exempt_superusers)
			continue;
		procnos[n] = i;
		pids[n] = slot->pid;
		roles[n] = slot->roleid;
		supers[n] = slot->superuser;
		n++;
	}
	LWLockRelease(pgb_shared->lock);

	for (i = 0; i < n; i++)
	{
		if (!may_signal(roles[i], supers[i]))
		{
			(*refused)++;
			continue;
		}
		if (mode == PGB_PAUSE_CANCEL)
		{
			uint32		event = UINT32_ACCESS_ONCE(ProcGlobal->allProcs[procnos[i]].wait_event_info);

			if (pgb_wait_category(pgstat_get_wait_event_type(event),
								  event ? pgstat_get_wait_event(event) : NULL) == PGB_WAIT_IDLE)
				continue;
		}
		if (pgb_signal_backend(procnos[i], pids[i], e,
							   mode == PGB_PAUSE_CANCEL ? PGB_ACTION_CANCEL : PGB_ACTION_TERMINATE,
							   false, "pause", reason))
			done++;
	}
	pfree(procnos);
	pfree(pids);
	pfree(roles);
	pfree(supers);
	return done;
}
