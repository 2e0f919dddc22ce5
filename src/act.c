/*-------------------------------------------------------------------------
 *
 * act.c
 *	  The one file that signals a backend and tells it why: it carries out
 *	  the worker's plan and pg_budget_pause's, and adds the reason to the
 *	  victim's error.
 *
 * The pid, class and exemption are checked, the reason written into the
 * victim's slot and kill() sent under one exclusive hold of the pg_budget
 * lock; the LOG line and the event follow its release.  The victim's
 * emit_log_hook takes no lock: it swaps the slot's atomic shed_pending.
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

#include "act.h"
#include "compat.h"
#include "gate.h"
#include "guc.h"
#include "shmem.h"
#include "text.h"
#include "events.h"
#include "warn.h"

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

		if (fresh && slot->shed_kind == PGB_SHED_KIND_MEMORY &&
			edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		{
			char		message[PGB_REASON_LEN];

			/* the query gave way for memory: the client sees out_of_memory */
			memcpy(message, slot->shed_message, sizeof(message));
			message[sizeof(message) - 1] = '\0';
			edata->sqlerrcode = ERRCODE_OUT_OF_MEMORY;
			edata->message = pstrdup(message);
			edata->detail = pstrdup(reason);
			edata->hint = pstrdup(strncmp(message, "pg_budget: query of class", 25) == 0 ?
								  "The largest query of the lowest-priority class gives way first; the session is still usable." :
								  "The class's memory budget (mem, session_mem in pg_budget.classes) bounds its queries; the session is still usable.");
		}
		else if (fresh && (slot->shed_kind == PGB_SHED_KIND_IDLE_BLOCKER ||
						   slot->shed_kind == PGB_SHED_KIND_RUNAWAY))
		{
			char		message[PGB_REASON_LEN];

			/* the class's own limit: its message, core's SQLSTATE */
			memcpy(message, slot->shed_message, sizeof(message));
			message[sizeof(message) - 1] = '\0';
			edata->message = pstrdup(message);
			edata->detail = pstrdup(reason);
			edata->hint = pstrdup(slot->shed_kind == PGB_SHED_KIND_IDLE_BLOCKER ?
								  "A transaction left idle while others wait on its locks is ended after the class's idle_blocker_timeout (pg_budget.classes)." :
								  "A statement of the class may use switch_time of CPU (pg_budget.classes); the session is still usable.");
		}
		else if (fresh)
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
pgb_act_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = shed_emit_log_hook;
}

/*
 * Signal one backend: SIGINT cancels its query, SIGTERM ends its session.
 * Returns false if the slot no longer belongs to pid, the session is no
 * longer of class entry expected_class (-1: any), its statement is no
 * longer the one judged (statement, its slot's statements counter; -1:
 * any; the backend counts without the lock, so a statement that starts
 * between this check and the kill() is still hit: a window of
 * microseconds, not of a tick), or it is an exempt superuser.  The check,
 * the reason for the victim and the kill() are done under one exclusive
 * hold of the lock, so the pid can not have been reused in between: a slot
 * is cleared under that lock before its process is gone.  Then the action
 * is logged.  With warn (its class is in warn mode), nothing is sent: the
 * action is counted as warn_reason and recorded, as a warning, after the
 * same checks.
 */
static bool
signal_backend(int procno, int pid, int64 statement, int expected_class,
			   PgbShedAction action,
			   bool dry_run, const char *signal, const char *reason,
			   PgbShedKind kind, const char *message, bool even_exempt,
			   bool warn, PgbWarnReason warn_reason)
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
		(statement >= 0 &&
		 pg_atomic_read_u32(&slot->statements) != (uint32) statement) ||
		(expected_class >= 0 && slot->class_idx != expected_class &&
		 pgb_slot_entry(slot) != expected_class) ||
		(slot->superuser && pgb_exempt_superusers && !even_exempt))
	{
		LWLockRelease(pgb_shared->lock);
		return false;
	}
	/*
	 * The class the victim was chosen as: a session whose statement was
	 * switched to a lower class (runaway_switch.c) is shed as that class's
	 * by the worker's rounds, as its own class's by a pause of its class.
	 */
	e = expected_class >= 0 ? expected_class : pgb_slot_entry(slot);
	pgb_strlcpy_mb(class, pgb_shared->classes[e].name, sizeof(class));
	pgb_strlcpy_mb(role, slot->rolename, sizeof(role));
	if (warn && !dry_run)
		pgb_warn_count(e, warn_reason);
	else if (!dry_run)
	{
		slot->shed_at = GetCurrentTimestamp();
		pgb_strlcpy_mb(slot->shed_reason, reason, sizeof(slot->shed_reason));
		slot->shed_kind = message != NULL ? (uint8) kind : PGB_SHED_KIND_PLAIN;
		if (message != NULL)
			pgb_strlcpy_mb(slot->shed_message, message,
						   sizeof(slot->shed_message));
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
	if (warn && !dry_run)
	{
		/* the refusals ring: one entry per class, action, reason, second */
		pgb_warn_event(class, pid, role, verb, warn_reason, reason);
		ereport(LOG,
				(errmsg("pg_budget: warn: would %s pid %d of class \"%s\" (role \"%s\"), signal %s: %s",
						verb, pid, class, role, signal, reason),
				 errdetail("Class \"%s\" is in warn mode (enforce=warn): nothing was sent.",
						   class)));
		return true;
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

/*
 * The memory guard's cancel (memory.c): the victim's client gets
 * out_of_memory with message, reason as its DETAIL.  False if the slot is
 * no longer pid's, or the session is an exempt superuser and even_exempt
 * (the last resort, when nobody else is left) is false.
 */
bool
pgb_act_cancel_for_memory(int procno, int pid, bool dry_run, bool warn,
						  bool even_exempt, const char *message,
						  const char *reason)
{
	return signal_backend(procno, pid, -1, -1, PGB_ACTION_CANCEL, dry_run,
						  "memory", reason, PGB_SHED_KIND_MEMORY, message,
						  even_exempt, warn, PGB_WARN_MEMORY);
}

/* What a plan's round is counted as for a class in warn mode. */
static PgbWarnReason
round_warn_reason(PgbRoundKind kind)
{
	switch (kind)
	{
		case PGB_ROUND_IDLE_BLOCKER:
			return PGB_WARN_IDLE_BLOCKER;
		case PGB_ROUND_RUNAWAY:
			return PGB_WARN_RUNAWAY;
		default:
			return PGB_WARN_SHED;
	}
}

/* A victim of a plan: signal it, and count an inversion acted on. */
static bool
signal_victim(const PgbPlan *plan, const PgbPlanRound *round,
			  const PgbPlanVictim *v, void *arg)
{
	const bool *warn_entry = (const bool *) arg;
	bool		warn;
	PgbShedKind kind = round->kind == PGB_ROUND_IDLE_BLOCKER ?
		PGB_SHED_KIND_IDLE_BLOCKER : round->kind == PGB_ROUND_RUNAWAY ?
		PGB_SHED_KIND_RUNAWAY : PGB_SHED_KIND_PLAIN;

	if (v->action == PGB_ACTION_NONE)
		return false;
	/* pg_budget_pause is the operator's own act: never a warning */
	warn = round->kind != PGB_ROUND_PAUSE && warn_entry != NULL && v->entry >= 0 &&
		v->entry < PGB_MAX_SHARED_CLASSES && warn_entry[v->entry];
	if (!signal_backend(v->procno, v->pid, v->statement, v->entry, v->action,
						plan->dry_run,
						pgb_round_signal(round->kind), v->reason, kind,
						v->message[0] != '\0' ? v->message : NULL, false,
						warn, round_warn_reason(round->kind)))
		return false;
	if (round->kind == PGB_ROUND_LOCK && !plan->dry_run && !warn &&
		v->waiter_entry >= 0)
	{
		LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
		pgb_shared->locks[v->waiter_entry][v->entry].inversions++;
		LWLockRelease(pgb_shared->lock);
	}
	return true;
}

/*
 * Worker side: log and record the limit changes of the plan, then signal
 * its victims in order.  Returns the number of actions.
 */
int
pgb_act_on_plan(PgbPlan *plan, const PgbClassTable *table)
{
	bool		warn_entry[PGB_MAX_SHARED_CLASSES];
	int			i;

	for (i = 0; i < plan->nchanges; i++)
	{
		const PgbLimitChange *ch = &plan->changes[i];
		const char *name = table->classes[ch->class_index].name;

		ereport(LOG, (errmsg("pg_budget: class \"%s\": %s", name, ch->reason)));
		pgb_event(name, 0, NULL, ch->active ? (strcmp(ch->action, "limit") == 0 ?
											   "active limit" : "would limit active") :
				  ch->action, ch->signal, ch->reason);
	}

	/* place holders idle in a transaction while others are queued */
	for (i = 0; i < plan->nnotes; i++)
	{
		const PgbPlanNote *n = &plan->notes[i];

		ereport(LOG, (errmsg("pg_budget: pid %d of class \"%s\": %s",
							 n->pid, pgb_group_name(n->entry), n->reason)));
		pgb_event(pgb_group_name(n->entry), n->pid, NULL, "idle holder", NULL,
				  n->reason);
	}

	/*
	 * Queued sessions that block others go through the gate first: that
	 * is no signal, only their latch; the event says why.
	 */
	for (i = 0; i < plan->nlet; i++)
	{
		const PgbLetThrough *lt = &plan->let[i];

		if (pgb_gate_let_through(lt->procno, lt->pid, lt->waiter_pid))
		{
			ereport(LOG, (errmsg("pg_budget: pid %d of class \"%s\" let through the gate: %s",
								 lt->pid, pgb_group_name(lt->entry), lt->reason)));
			pgb_event(pgb_group_name(lt->entry), lt->pid, NULL, "let through",
					  "lock", lt->reason);
		}
	}

	/* the class entries in warn mode, by entry */
	memset(warn_entry, 0, sizeof(warn_entry));
	if (plan->nrounds > 0)
	{
		int			map[PGB_MAX_CLASSES + 1];

		LWLockAcquire(pgb_shared->lock, LW_SHARED);
		pgb_map_classes(table, map, false);
		LWLockRelease(pgb_shared->lock);
		for (i = 0; i < table->nclasses; i++)
			if (map[i] >= 0 && table->classes[i].warn)
				warn_entry[map[i]] = true;
	}
	return pgb_plan_carry_out(plan, signal_victim, warn_entry);
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
	PgbSessionRow *rows = palloc0(sizeof(PgbSessionRow) * nslots);
	Oid		   *roles = palloc(sizeof(Oid) * nslots);
	bool	   *supers = palloc(sizeof(bool) * nslots);
	PgbPlanRound round;
	PgbPlanVictim *victims = palloc(sizeof(PgbPlanVictim) * nslots);
	PgbVictim  *order = palloc(sizeof(PgbVictim) * nslots);
	PgbPlan		plan;
	int			done;
	int			i;

	/* the sample: the class's sessions, copied under a shared hold */
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < nslots; i++)
	{
		PgbBackendSlot *slot = &pgb_shared->slots[i];

		rows[i].procno = i;
		if (slot->pid == 0 || slot->class_idx != e)
			continue;
		rows[i].pid = slot->pid;
		rows[i].entry = slot->class_idx;
		rows[i].judged = true;
		rows[i].exempt = slot->superuser && pgb_exempt_superusers;
		rows[i].walsender = slot->walsender;
		roles[i] = slot->roleid;
		supers[i] = slot->superuser;
	}
	LWLockRelease(pgb_shared->lock);

	/* catalog lookups and wait events, after the lock is released */
	for (i = 0; i < nslots; i++)
	{
		uint32		event;

		if (rows[i].pid == 0 || rows[i].pid == MyProcPid || rows[i].exempt)
			continue;
		rows[i].may_signal = may_signal(roles[i], supers[i]);
		event = UINT32_ACCESS_ONCE(ProcGlobal->allProcs[i].wait_event_info);
		rows[i].state =
			pgb_wait_category(pgstat_get_wait_event_type(event),
							  event ? pgstat_get_wait_event(event) : NULL) == PGB_WAIT_IDLE ?
			PGB_STATE_IDLE : PGB_STATE_ACTIVE;
	}

	/* the plan, then the signals */
	pgb_plan_init(&plan, &round, 1, victims, order, nslots);
	pgb_plan_pause(&plan, rows, nslots, e,
				   mode == PGB_PAUSE_CANCEL ? PGB_ACTION_CANCEL : PGB_ACTION_TERMINATE,
				   MyProcPid, reason, refused);
	done = pgb_plan_carry_out(&plan, signal_victim, NULL);

	pfree(rows);
	pfree(roles);
	pfree(supers);
	pfree(victims);
	pfree(order);
	return done;
}
