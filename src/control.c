/*-------------------------------------------------------------------------
 *
 * control.c
 *	  The operator's levers: pg_budget_pause, pg_budget_resume and
 *	  pg_budget_reset.  Who may call them is decided by GRANTs (EXECUTE is
 *	  revoked from PUBLIC); whom a caller may signal, by core's
 *	  pg_signal_backend rules (act.c).  Counts change under the main lock
 *	  held exclusively (shmem.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "act.h"
#include "compat.h"
#include "events.h"
#include "gate_read.h"
#include "guc.h"
#include "rules.h"
#include "shmem.h"
#include "text.h"

PG_FUNCTION_INFO_V1(pg_budget_pause);
PG_FUNCTION_INFO_V1(pg_budget_resume);
PG_FUNCTION_INFO_V1(pg_budget_reset);


static const char *
class_argument(FunctionCallInfo fcinfo)
{
	const PgbClassTable *table;
	char	   *name;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("class must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	table = pgb_current_table(NULL);
	if (pgb_find_class(table, name) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pg_budget class \"%s\" does not exist", name)));
	return name;
}

static int
set_pause(const char *name, PgbPauseMode mode)
{
	int			e;

	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	e = pgb_class_entry(name, true);
	if (e >= 0)
	{
		pgb_shared->classes[e].paused = mode;
		pgb_shared->classes[e].paused_at = mode == PGB_PAUSE_NONE ? 0 : GetCurrentTimestamp();
	}
	LWLockRelease(pgb_shared->lock);

	if (e < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no room left in shared memory to track class \"%s\"", name)));
	return e;
}

Datum
pg_budget_pause(PG_FUNCTION_ARGS)
{
	const char *name;
	char	   *mode;
	PgbPauseMode pm;
	int			e;
	int			signalled = 0;
	int			refused = 0;
	char		reason[PGB_REASON_LEN];
	const char *who = GetUserNameFromId(GetUserId(), false);

	pgb_require_shmem();
	name = class_argument(fcinfo);
	mode = PG_ARGISNULL(1) ? "reject" : text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (strcmp(mode, "reject") == 0)
		pm = PGB_PAUSE_REJECT;
	else if (strcmp(mode, "cancel") == 0)
		pm = PGB_PAUSE_CANCEL;
	else if (strcmp(mode, "terminate") == 0)
		pm = PGB_PAUSE_TERMINATE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid pause mode \"%s\"", mode),
				 errhint("Valid modes are \"reject\", \"cancel\" and \"terminate\".")));

	e = set_pause(name, pm);
	/* a long role name would be cut: on a character boundary */
	pgb_strlcpy_mb(reason, psprintf("class \"%s\" paused (mode %s) by role \"%s\"",
									name, mode, who), sizeof(reason));
	pgb_event(name, 0, who, "pause", mode, reason);
	if (pm != PGB_PAUSE_REJECT)
		signalled = pgb_pause_sessions(e, pm, reason, &refused);
	if (refused > 0)
		ereport(NOTICE,
				(errmsg("pg_budget: %d sessions of class \"%s\" were not signalled: role \"%s\" may not signal them",
						refused, name, who),
				 errdetail("A role that is not a superuser signals only the sessions pg_terminate_backend would let it signal: never a superuser's, others' only with their privileges or those of pg_signal_backend.")));
	ereport(LOG,
			(errmsg("pg_budget: class \"%s\" paused (mode %s) by role \"%s\"; %d sessions signalled",
					name, mode, who, signalled)));
	PG_RETURN_INT32(signalled);
}

Datum
pg_budget_resume(PG_FUNCTION_ARGS)
{
	const char *name;

	pgb_require_shmem();
	name = class_argument(fcinfo);
	set_pause(name, PGB_PAUSE_NONE);
	pgb_event(name, 0, GetUserNameFromId(GetUserId(), false), "resume", NULL, NULL);
	ereport(LOG,
			(errmsg("pg_budget: class \"%s\" resumed by role \"%s\"",
					name, GetUserNameFromId(GetUserId(), false))));
	PG_RETURN_VOID();
}

/*
 * Zero the counters and the wait and lock statistics; connections, pauses,
 * limits, rate buckets, history and events are kept.
 */
Datum
pg_budget_reset(PG_FUNCTION_ARGS)
{
	int			i;
	int			r;

	pgb_require_shmem();
	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		PgbClassState *s = &pgb_shared->classes[i];

		s->admitted = 0;
		memset(s->rejected, 0, sizeof(s->rejected));
		s->shed_cancel = 0;
		s->shed_terminate = 0;
		for (r = 0; r < PGB_NUM_WARN_REASONS; r++)
			pg_atomic_write_u64(&s->warned[r], 0);
		s->cpu_ms = 0;
		s->run_delay_ms = 0;
	}
	for (i = 0; i < PGB_NUM_GROUPS; i++)
	{
		pgb_shared->groups[i].samples = 0;
		pgb_shared->groups[i].wal_samples = 0;
		pgb_shared->groups[i].lock_samples = 0;
	}
	for (i = 0; i < PGB_WAIT_STATS_SIZE; i++)
	{
		pgb_shared->waits[i].group = -1;
		pgb_shared->waits[i].count = 0;
	}
	pgb_shared->nwaits = 0;
	memset(pgb_shared->locks, 0, sizeof(pgb_shared->locks));
	pgb_rules_reset();
	pgb_shared->reset_at = GetCurrentTimestamp();
	LWLockRelease(pgb_shared->lock);

	for (i = 0; i < PGB_HIST_BUCKETS; i++)
		pg_atomic_write_u64(&pgb_shared->hist[i], 0);
	pgb_gate_reset();
	PG_RETURN_VOID();
}
