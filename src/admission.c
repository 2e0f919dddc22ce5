/*-------------------------------------------------------------------------
 *
 * admission.c
 *	  Judges each login once, before its first ReadyForQuery, and gives
 *	  the slot back when the backend exits.
 *
 * The judgement runs at PRE_COMMIT of the login transaction (the
 * ClientAuthentication hook only arms it): by then the role's and the
 * database's settings are applied, so pg_budget.class is final.  Counts
 * change only under the pg_budget lock (rules in shmem.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "text.h"
#include "admission.h"
#include "events.h"
#include "cgroup.h"
#include "rules.h"
#include "warn.h"

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;

static bool login_pending = false;
static bool callbacks_registered = false;
static int	my_class_entry = -1;

/* Everything the refusal message needs, copied out of the lock. */
typedef struct PgbRefusal
{
	PgbVerdict	verdict;
	PgbAdmitDetail detail;
	int			connected;
	double		tokens;
} PgbRefusal;

static void
release_slot(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	PgbBackendSlot *slot;

	if (my_class_entry < 0 || pgb_shared == NULL)
		return;
	slot = pgb_my_slot();

	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	pgb_shared->classes[my_class_entry].connected--;
	pgb_shared->total_connected--;
	if (slot)
	{
		/* the pid goes first, so that no reader takes the rest as ours */
		slot->pid = 0;
		pg_write_barrier();
		memset(slot, 0, sizeof(PgbBackendSlot));
		/* signallers set it only under the lock held here */
		pg_atomic_init_u32(&slot->shed_pending, 0);
		pg_atomic_init_u32(&slot->cpu_boost, 0);
		pg_atomic_init_u32(&slot->switched_to, 0);
		pg_atomic_init_u32(&slot->statements, 0);
	}
	LWLockRelease(pgb_shared->lock);
	my_class_entry = -1;
}

/* What a refusal of a class in warn mode is counted as. */
static PgbWarnReason
warn_reason(PgbVerdict verdict)
{
	switch (verdict)
	{
		case PGB_REJECT_RESERVE:
			return PGB_WARN_RESERVE;
		case PGB_REJECT_RATE:
			return PGB_WARN_RATE;
		default:
			return PGB_WARN_CAP;
	}
}

static void
report_refusal(const PgbClassTable *table, int self, const PgbRefusal *r)
{
	const PgbClass *c = &table->classes[self];
	int			retry_ms;

	retry_ms = pgb_retry_after_ms(r->verdict, pgb_retry_after, c->rate,
								  r->tokens, pgb_random_unit());

	switch (r->verdict)
	{
		case PGB_REJECT_PAUSED:
			ereport(FATAL,
					(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
					 errmsg("pg_budget: class \"%s\" is paused", c->name),
					 errdetail("New logins of class \"%s\" are refused until pg_budget_resume('%s') is called.",
							   c->name, c->name),
					 errhint("Retry after %d ms.", retry_ms)));
			break;
		case PGB_REJECT_CAP:
			if (r->detail.cap != c->max)
				ereport(FATAL,
						(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
						 errmsg("pg_budget: class \"%s\" is at its admission limit of %d connections",
								c->name, r->detail.cap),
						 errdetail("Class \"%s\" has %d connections; pg_budget lowered its limit from %s under pressure and raises it again when calm.",
								   c->name, r->connected,
								   c->max == PGB_UNLIMITED ? "no cap" : psprintf("max=%d", c->max)),
						 errhint("Retry after %d ms.", retry_ms)));
			ereport(FATAL,
					(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
					 errmsg("pg_budget: class \"%s\" is at its cap of %d connections",
							c->name, c->max),
					 errdetail("Class \"%s\" has %d of max=%d connections.",
							   c->name, r->connected, c->max),
					 errhint("Retry after %d ms.", retry_ms)));
			break;
		case PGB_REJECT_RESERVE:
			{
				StringInfoData held;
				int			i;

				initStringInfo(&held);
				for (i = 0; i < r->detail.nblockers; i++)
				{
					int			b = r->detail.blockers[i];

					appendStringInfo(&held, "%s%s (%d)", i > 0 ? ", " : "",
									 table->classes[b].name,
									 table->classes[b].reserve);
				}
				ereport(FATAL,
						(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
						 errmsg("pg_budget: class \"%s\" would take a slot reserved for %s",
								c->name, held.data),
						 errdetail("%d of %d usable connections are free and %d of them are held in reserve; class \"%s\" has %d connections and reserve=%d.",
								   r->detail.free_slots, pgb_usable_connections(),
								   r->detail.held, c->name, r->connected,
								   c->reserve),
						 errhint("Retry after %d ms.", retry_ms)));
			}
			break;
		case PGB_REJECT_RATE:
			ereport(FATAL,
					(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
					 errmsg("pg_budget: class \"%s\" is over its login rate of %g/s",
							c->name, c->rate),
					 errdetail("Class \"%s\" allows %g logins per second with a burst of %d.",
							   c->name, c->rate, c->burst),
					 errhint("Retry after %d ms.", retry_ms)));
			break;
		case PGB_ADMIT:
			break;
	}
}

/*
 * Judge this login.  Superusers (when exempt) and every login while
 * enforcement is off are counted but never refused.
 */
static void
admit_login(void)
{
	instr_time	start;
	const PgbClassTable *table;
	int			default_idx;
	const char *name;
	const char *rolename;
	int			self;
	bool		is_superuser;
	bool		exempt;
	int			map[PGB_MAX_CLASSES + 1];
	int			connected[PGB_MAX_CLASSES + 1];
	PgbAdmitInput in;
	PgbRefusal	refusal;
	PgbClassState *entry;
	PgbBackendSlot *slot;
	char		reason[PGB_REASON_LEN];
	bool		cpu_weighted = false;
	const char *classified_by;
	int			rule;
	uint64		raised;
	PgbVerdict	warned = PGB_ADMIT;
	int			i;

	INSTR_TIME_SET_CURRENT(start);

	table = pgb_current_table(&default_idx);
	/* the login name, as authenticated: no catalog lookup on the hot path */
	rolename = MyProcPort && MyProcPort->user_name ? MyProcPort->user_name :
		GetUserNameFromId(GetSessionUserId(), false);
	name = GetConfigOption("pg_budget.class", true, false);
	if (name == NULL || name[0] == '\0')
		self = default_idx;
	else if ((self = pgb_find_class(table, name)) < 0)
	{
		ereport(LOG,
				(errmsg("pg_budget: role \"%s\" names class \"%s\", which is not defined; using class \"%s\"",
						rolename, name,
						table->classes[default_idx].name)));
		self = default_idx;
	}
	classified_by = pgb_class_source(self != default_idx || (name != NULL &&
															 strcmp(name, table->classes[default_idx].name) == 0));

	/*
	 * Then pg_budget.rules, before the class is charged: the first rule
	 * that matches and does not raise the priority gives the class.  A
	 * member_of rule reads the catalogs: here, under no lock.
	 */
	rule = pgb_rules_classify(table, &self, &raised);
	if (rule >= 0)
		classified_by = pgb_rules_text(rule);
	is_superuser = superuser();
	exempt = !pgb_enabled || (pgb_exempt_superusers && is_superuser);
	slot = pgb_my_slot();

	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);

	pgb_map_classes(table, map, true);
	if (map[self] < 0)
	{
		LWLockRelease(pgb_shared->lock);
		if (exempt)
			return;
		ereport(FATAL,
				(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
				 errmsg("pg_budget: no room left to count class \"%s\"",
						table->classes[self].name),
				 errdetail("Every class entry is held by sessions of classes removed from pg_budget.classes.")));
	}
	for (i = 0; i < table->nclasses; i++)
		connected[i] = map[i] >= 0 ? pgb_shared->classes[map[i]].connected : 0;
	entry = &pgb_shared->classes[map[self]];

	in.table = table;
	in.connected = connected;
	in.self = self;
	in.total_connected = pgb_shared->total_connected;
	in.usable = pgb_usable_connections();
	in.limit = entry->effective_max;
	/* a superuser always gets in to resume, exempt or not */
	in.paused = entry->paused != PGB_PAUSE_NONE && !is_superuser;
	in.tokens = 1.0;
	if (table->classes[self].rate > 0)
	{
		TimestampTz now = GetCurrentTimestamp();

		entry->tokens = pgb_bucket_refill(entry->tokens_at == 0 ?
										  table->classes[self].burst : entry->tokens,
										  table->classes[self].rate,
										  table->classes[self].burst,
										  now - entry->tokens_at);
		entry->tokens_at = now;
		in.tokens = entry->tokens;
	}

	refusal.verdict = pgb_admit_decide(&in, &refusal.detail);
	if (rule >= 0 || raised != 0)
		pgb_rules_count(rule, raised);

	/*
	 * A class in warn mode is judged as any, and let in: the refusal is
	 * counted and recorded instead.  A pause is the operator's own act,
	 * not a limit of the class, and is kept.
	 */
	if (refusal.verdict != PGB_ADMIT && refusal.verdict != PGB_REJECT_PAUSED &&
		!exempt && table->classes[self].warn)
	{
		warned = refusal.verdict;
		refusal.connected = connected[self];
		pgb_warn_count(map[self], warn_reason(warned));
	}
	if (refusal.verdict == PGB_ADMIT || exempt || warned != PGB_ADMIT)
	{
		entry->connected++;
		entry->admitted++;
		pgb_shared->total_connected++;
		if (table->classes[self].rate > 0 && entry->tokens >= 1.0)
			entry->tokens -= 1.0;
		my_class_entry = map[self];
		if (slot)
		{
			/*
			 * The sampler reads slots without the lock: every field is
			 * written before the pid that tells it the slot is this
			 * session's (see shmem.h).
			 */
			slot->class_idx = map[self];
			slot->roleid = GetSessionUserId();
			slot->superuser = is_superuser;
			slot->walsender = am_walsender;
			slot->admitted_at = GetCurrentTimestamp();
			pgb_strlcpy_mb(slot->rolename, rolename, NAMEDATALEN);
			strlcpy(slot->classified_by, classified_by, PGB_RULE_TEXT_LEN);
			slot->shed_at = 0;
			pg_atomic_write_u32(&slot->shed_pending, 0);
			pg_atomic_write_u32(&slot->cpu_boost, 0);
			pg_atomic_write_u32(&slot->switched_to, 0);
			pg_atomic_write_u32(&slot->statements, 0);
			pg_write_barrier();
			slot->pid = MyProcPid;
		}
		refusal.verdict = PGB_ADMIT;
		/* walsenders stay with the server (they are not a class's work) */
		cpu_weighted = !am_walsender && pgb_cgroup_in_force(table->classes[self].name);
	}
	else
	{
		entry->rejected[refusal.verdict - 1]++;
		refusal.connected = connected[self];
		refusal.tokens = in.tokens;
	}

	LWLockRelease(pgb_shared->lock);

	pgb_hist_record(pgb_shared->hist, start);

	if (refusal.verdict != PGB_ADMIT || warned != PGB_ADMIT)
	{
		PgbVerdict	v = warned != PGB_ADMIT ? warned : refusal.verdict;

		/* recorded after the main lock is released (shmem.h) */
		snprintf(reason, sizeof(reason), "%s: %d connections, cap %d, %d of %d usable slots free, %d held in reserve",
				 pgb_verdict_name(v), refusal.connected,
				 refusal.detail.cap, refusal.detail.free_slots,
				 in.usable, refusal.detail.held);
		if (warned != PGB_ADMIT)
			pgb_warn_event(table->classes[self].name, MyProcPid, rolename,
						   "refuse", warn_reason(warned), reason);
		else
		{
			pgb_refusal(table->classes[self].name, MyProcPid, rolename,
						"reject", pgb_verdict_name(refusal.verdict), reason);
			report_refusal(table, self, &refusal);
		}
	}

	/* into its class's cgroup before the first query, under no lock */
	if (cpu_weighted)
		pgb_cgroup_place(table->classes[self].name);

	/* SHOW pg_budget.class tells the class the session was admitted under */
	SetConfigOption("pg_budget.class", table->classes[self].name,
					PGC_SUSET, PGC_S_OVERRIDE);
	pgb_admitted = true;
}

static void
login_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (!login_pending)
		return;
	if (event == XACT_EVENT_PRE_COMMIT)
	{
		login_pending = false;
		admit_login();
	}
	else if (event == XACT_EVENT_ABORT)
		login_pending = false;
}

static void
client_auth_hook(Port *port, int status)
{
	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);

	/*
	 * Physical replication (standbys, pg_basebackup) is never judged.  A
	 * replication=database connection runs SQL as well as logical
	 * decoding: it is judged, counted and paused like any login, but the
	 * worker never sheds it (shmem.h: slot->walsender).
	 */
	if (status != STATUS_OK || (am_walsender && !am_db_walsender) ||
		pgb_shared == NULL)
		return;

	if (!callbacks_registered)
	{
		/* registered before a slot is claimed, so every exit returns it */
		before_shmem_exit(release_slot, (Datum) 0);
		RegisterXactCallback(login_xact_callback, NULL);
		callbacks_registered = true;
	}
	login_pending = true;
}

void
pgb_admission_init(void)
{
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = client_auth_hook;
}
