/*-------------------------------------------------------------------------
 *
 * status_views.c
 *	  pg_budget_status, the class and queued columns of pg_budget_backends,
 *	  the admission and gate histograms and WAL by group.
 *
 * Readers copy shared state under the lock taken SHARED and build rows
 * after releasing it (rules in shmem.h); the gate's lock is never held
 * with the main one (gate.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "gate_read.h"
#include "wal_bucket.h"
#include "guc.h"
#include "shmem.h"
#include "text.h"
#include "visibility.h"
#include "events.h"
#include "act.h"
#include "rules.h"

PG_FUNCTION_INFO_V1(pg_budget_status);
PG_FUNCTION_INFO_V1(pg_budget_backend_classes);
PG_FUNCTION_INFO_V1(pg_budget_backend_switches);
PG_FUNCTION_INFO_V1(pg_budget_admission_histogram);
PG_FUNCTION_INFO_V1(pg_budget_gate_histogram);
PG_FUNCTION_INFO_V1(pg_budget_wal);

#define STATUS_COLS 49

static const char *
pause_mode_name(PgbPauseMode mode)
{
	switch (mode)
	{
		case PGB_PAUSE_NONE:
			return NULL;
		case PGB_PAUSE_REJECT:
			return "reject";
		case PGB_PAUSE_CANCEL:
			return "cancel";
		case PGB_PAUSE_TERMINATE:
			return "terminate";
	}
	return NULL;
}

#define PUT(expr)		(values[i++] = (expr))
#define PUT_NULL()		(nulls[i++] = true)
#define PUT_IF(cond, expr) ((cond) ? (void) PUT(expr) : (void) PUT_NULL())

static void
status_row(ReturnSetInfo *rsinfo, const PgbClass *c, const PgbClassState *s,
		   const PgbGroupStats *g, const PgbGateSnapshot *gs, bool sampled,
		   bool live, bool is_default, bool configured)
{
	int			active_limit;
	Datum		values[STATUS_COLS];
	bool		nulls[STATUS_COLS];
	uint64		rejected = 0;
	int			i = 0;
	int			r;

	memset(nulls, 0, sizeof(nulls));
	if (s)
		for (r = 0; r < PGB_NUM_REJECT_REASONS; r++)
			rejected += s->rejected[r];

	PUT(CStringGetTextDatum(c ? c->name : s->name));
	PUT_IF(c && c->max != PGB_UNLIMITED, Int32GetDatum(c->max));
	/* the limit admission applies now: max, or lower if the worker says so */
	if (s && s->effective_max != PGB_UNLIMITED &&
		(!c || c->max == PGB_UNLIMITED || s->effective_max < c->max))
		PUT(Int32GetDatum(s->effective_max));
	else
		PUT_IF(c && c->max != PGB_UNLIMITED, Int32GetDatum(c->max));
	PUT_IF(c, Int32GetDatum(c->reserve));
	PUT_IF(c, Int32GetDatum(c->floor));
	PUT_IF(c, Int32GetDatum(c->priority));
	PUT_IF(c && c->rate > 0, Float8GetDatum(c->rate));
	PUT_IF(c && c->rate > 0, Int32GetDatum(c->burst));
	PUT_IF(c, CStringGetTextDatum(pgb_shed_mode_name(c->shed)));
	PUT(Int32GetDatum(s ? s->connected : 0));
	PUT_IF(sampled, Int32GetDatum(g->active));
	PUT_IF(sampled, Int32GetDatum(g->idle));
	PUT_IF(sampled, Int32GetDatum(g->idle_in_tx));
	PUT_IF(sampled, Int32GetDatum(g->lock_waiting));
	PUT_IF(sampled, Int32GetDatum(g->wal_waiting));
	PUT_IF(sampled && g->samples > 0, Float8GetDatum((double) g->wal_samples / g->samples));
	PUT_IF(sampled && g->samples > 0, Float8GetDatum((double) g->lock_samples / g->samples));
	PUT_IF(sampled && g->pressure != 0, CStringGetTextDatum(pgb_pressure_names(g->pressure)));
	PUT(Int64GetDatum(s ? (int64) s->admitted : 0));
	PUT(Int64GetDatum((int64) rejected));
	PUT(Int64GetDatum(s ? (int64) s->rejected[PGB_REJECT_CAP - 1] : 0));
	PUT(Int64GetDatum(s ? (int64) s->rejected[PGB_REJECT_RESERVE - 1] : 0));
	PUT(Int64GetDatum(s ? (int64) s->rejected[PGB_REJECT_PAUSED - 1] : 0));
	PUT(Int64GetDatum(s ? (int64) s->rejected[PGB_REJECT_RATE - 1] : 0));
	PUT(Int64GetDatum(s ? (int64) (s->shed_cancel + s->shed_terminate) : 0));
	PUT(Int64GetDatum(s ? (int64) s->shed_cancel : 0));
	PUT(Int64GetDatum(s ? (int64) s->shed_terminate : 0));
	PUT(BoolGetDatum(s && s->paused != PGB_PAUSE_NONE));
	PUT_IF(s && s->paused != PGB_PAUSE_NONE, CStringGetTextDatum(pause_mode_name(s->paused)));
	PUT_IF(s && s->paused != PGB_PAUSE_NONE, TimestampTzGetDatum(s->paused_at));
	PUT(BoolGetDatum(is_default));
	PUT(BoolGetDatum(configured));
	/* the transaction gate */
	active_limit = pgb_gate_limit(c ? c->active : PGB_UNLIMITED,
								  gs ? gs->effective : PGB_UNLIMITED);
	PUT_IF(c && c->active != PGB_UNLIMITED, Int32GetDatum(c->active));
	PUT_IF(c && active_limit != PGB_UNLIMITED, Int32GetDatum(active_limit));
	/* what sessions are doing now: as the sampled columns */
	PUT_IF(live, Int32GetDatum(gs ? gs->in_progress : 0));
	PUT_IF(live, Int32GetDatum(gs ? gs->queued : 0));
	PUT(Int64GetDatum(gs ? (int64) gs->timeouts : 0));
	PUT(Float8GetDatum(gs ? gs->wait_ms : 0));
	PUT_IF(c, Int32GetDatum(c->queue_timeout != PGB_QUEUE_TIMEOUT_DEFAULT ?
							c->queue_timeout : pgb_queue_timeout));
	PUT(Int64GetDatum(gs ? (int64) gs->entered : 0));
	PUT(Int64GetDatum(gs ? (int64) gs->waited : 0));
	PUT(Int64GetDatum(gs ? (int64) gs->let_through : 0));
	PUT(Int32GetDatum(gs ? gs->peak : 0));
	/* the WAL budget */
	PUT_IF(c && c->wal > 0, Int64GetDatum((int64) c->wal));
	{
		double		wal_in_force = pgb_wal_limit(c ? c->wal : 0, gs ? gs->wal_effective : 0);

		PUT_IF(c && wal_in_force > 0, Int64GetDatum((int64) wal_in_force));
	}
	PUT(Float8GetDatum(gs ? gs->wal_rate_avg : 0));
	PUT(Int64GetDatum(gs ? (int64) gs->wal_bytes : 0));
	PUT(Int64GetDatum(gs ? (int64) gs->wal_throttles : 0));
	PUT(Float8GetDatum(gs ? gs->wal_throttled_ms : 0));
	Assert(i == STATUS_COLS);

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * One row per class of the current table, then one per class that was
 * removed from the table but still has sessions counted against it.
 */
Datum
pg_budget_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const PgbClassTable *table;
	int			default_idx;
	PgbClassState *copy;
	PgbGroupStats *groups;
	PgbGateSnapshot *gates;
	bool		shown[PGB_MAX_SHARED_CLASSES];
	bool		sampled = pgb_can_read_all_stats();
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	table = pgb_current_table(&default_idx);
	copy = palloc(sizeof(pgb_shared->classes));
	groups = palloc(sizeof(PgbGroupStats) * PGB_MAX_SHARED_CLASSES);

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	memcpy(copy, pgb_shared->classes, sizeof(pgb_shared->classes));
	memcpy(groups, pgb_shared->groups, sizeof(PgbGroupStats) * PGB_MAX_SHARED_CLASSES);
	LWLockRelease(pgb_shared->lock);
	/* the gate's lock is never held with the main one (gate.h) */
	gates = palloc(sizeof(PgbGateSnapshot) * PGB_MAX_SHARED_CLASSES);
	pgb_gate_snapshot(gates);

	memset(shown, 0, sizeof(shown));
	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClassState *s = NULL;
		const PgbGroupStats *g = NULL;
		const PgbGateSnapshot *gs = NULL;
		int			e;

		for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
			if (copy[e].name[0] != '\0' &&
				strcmp(copy[e].name, table->classes[i].name) == 0)
			{
				s = &copy[e];
				g = &groups[e];
				gs = &gates[e];
				shown[e] = true;
				break;
			}
		status_row(rsinfo, &table->classes[i], s, g, gs, sampled && g != NULL,
				   sampled, i == default_idx, true);
	}
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		if (!shown[i] && copy[i].name[0] != '\0' && copy[i].connected > 0)
			status_row(rsinfo, NULL, &copy[i], &groups[i], &gates[i], sampled,
					   sampled, false, false);

	return (Datum) 0;
}

/*
 * pid, class, role, superuser, admission time and whether queued of every
 * counted session.  Of a session whose details pg_stat_activity hides from
 * the caller (its backend_start, state, wait event), the admission time
 * and the queue are NULL too: the pid, the class and the role are what
 * pg_stat_activity shows of it (pid, usesysid), and superuser is the
 * role's, which pg_roles shows everyone.
 */
Datum
pg_budget_backend_classes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgbBackendSlot *slots;
	bool	   *queued;
	char	  (*names)[NAMEDATALEN];
	bool		all_stats;
	int			n = 0;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	slots = palloc(sizeof(PgbBackendSlot) * pgb_shared->nslots);
	names = palloc(NAMEDATALEN * pgb_shared->nslots);
	queued = palloc(sizeof(bool) * pgb_shared->nslots);

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < pgb_shared->nslots; i++)
	{
		if (pgb_shared->slots[i].pid == 0)
			continue;
		slots[n] = pgb_shared->slots[i];
		queued[n] = pgb_gate_is_queued(i);
		memcpy(names[n], pgb_shared->classes[slots[n].class_idx].name, NAMEDATALEN);
		n++;
	}
	LWLockRelease(pgb_shared->lock);

	all_stats = pgb_can_read_all_stats();
	for (i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		bool		details = pgb_may_see_session(slots[i].roleid, all_stats);

		values[0] = Int32GetDatum(slots[i].pid);
		values[1] = CStringGetTextDatum(names[i]);
		values[2] = ObjectIdGetDatum(slots[i].roleid);
		values[3] = BoolGetDatum(slots[i].superuser);
		values[4] = TimestampTzGetDatum(slots[i].admitted_at);
		nulls[4] = !details;
		values[5] = BoolGetDatum(queued[i]);
		nulls[5] = !details;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pid and switched_to of every counted session: the class its running
 * statement was switched to (switch_to, runaway_switch.c) and counts as
 * until it ends, NULL when it is not switched.  Like its cgroup, a detail
 * pg_stat_activity would hide: NULL where it hides the session's details.
 */
Datum
pg_budget_backend_switches(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int		   *pids;
	Oid		   *roles;
	char	  (*names)[NAMEDATALEN];
	bool		all_stats;
	int			n = 0;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	pids = palloc(sizeof(int) * pgb_shared->nslots);
	roles = palloc(sizeof(Oid) * pgb_shared->nslots);
	names = palloc(NAMEDATALEN * pgb_shared->nslots);

	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < pgb_shared->nslots; i++)
	{
		uint32		s;

		if (pgb_shared->slots[i].pid == 0)
			continue;
		s = pg_atomic_read_u32(&pgb_shared->slots[i].switched_to);
		names[n][0] = '\0';
		if (s > 0 && s <= PGB_MAX_SHARED_CLASSES)
			strlcpy(names[n], pgb_shared->classes[s - 1].name, NAMEDATALEN);
		roles[n] = pgb_shared->slots[i].roleid;
		pids[n++] = pgb_shared->slots[i].pid;
	}
	LWLockRelease(pgb_shared->lock);

	all_stats = pgb_can_read_all_stats();
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, true};

		values[0] = Int32GetDatum(pids[i]);
		if (names[i][0] != '\0' && pgb_may_see_session(roles[i], all_stats))
		{
			values[1] = CStringGetTextDatum(names[i]);
			nulls[1] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Non-empty buckets of a histogram of 0.1 us buckets. */
static void
histogram_rows(FunctionCallInfo fcinfo, pg_atomic_uint64 *hist)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	pgb_init_materialized_srf(fcinfo);
	for (i = 0; i < PGB_HIST_BUCKETS; i++)
	{
		uint64		n = pg_atomic_read_u64(&hist[i]);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (n == 0)
			continue;
		values[0] = Float8GetDatum(i * PGB_HIST_BUCKET_NS / 1000.0);
		if (i == PGB_HIST_BUCKETS - 1)
			nulls[1] = true;
		else
			values[1] = Float8GetDatum((i + 1) * PGB_HIST_BUCKET_NS / 1000.0);
		values[2] = Int64GetDatum((int64) n);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Time spent judging logins since the last reset. */
Datum
pg_budget_admission_histogram(PG_FUNCTION_ARGS)
{
	pgb_require_shmem();
	histogram_rows(fcinfo, pgb_shared->hist);
	return (Datum) 0;
}

/* Time transactions that did not queue spent in the gate, since reset. */
Datum
pg_budget_gate_histogram(PG_FUNCTION_ARGS)
{
	pgb_require_shmem();
	histogram_rows(fcinfo, pgb_gate_histogram());
	return (Datum) 0;
}

/*
 * WAL written since the last reset by every group: the classes and the
 * pseudo-classes (autovacuum, background workers, walsenders, system
 * processes, unjudged sessions), so that the sum is the server's.
 */
Datum
pg_budget_wal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	  (*names)[NAMEDATALEN];
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	names = palloc(NAMEDATALEN * PGB_NUM_GROUPS);
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < PGB_NUM_GROUPS; i++)
		strlcpy(names[i], pgb_group_name(i), NAMEDATALEN);
	LWLockRelease(pgb_shared->lock);
	for (i = 0; i < PGB_NUM_GROUPS; i++)
	{
		uint64		bytes = pgb_wal_bytes_of(i);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (bytes == 0 || names[i][0] == '\0')
			continue;
		values[0] = CStringGetTextDatum(names[i]);
		values[1] = Int64GetDatum((int64) bytes);
		values[2] = BoolGetDatum(i >= PGB_MAX_SHARED_CLASSES);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
