/*-------------------------------------------------------------------------
 *
 * test_plan_runaway.c
 *	  Unit tests of idle blockers (idle_blocker_timeout) and runaway
 *	  statements (switch_time, switch_to=cancel), without a server.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/plan.c src/plan_give_way.c src/plan_rounds.c src/plan_pressure.c src/plan_admit.c src/plan_active.c src/plan_wal.c src/plan_inherit.c src/plan_runaway.c
// SOURCES: src/policy_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "plan.h"
#include "unit.h"

#define NROWS		8
#define WEB			0
#define AI			1

static PgbClassTable table;
static PgbSessionRow rows[NROWS];
static PgbSnapshot snap;
static PgbPlanParams params;
static PgbLookup lookups[NROWS];
static int	blockers[NROWS];
static PgbPlan plan;
static PgbPlanRound rounds[16];
static PgbPlanVictim victims[32];
static PgbVictim order[32];
static int	class_of[PGB_MAX_SHARED_CLASSES];

static void
setup(const char *classes)
{
	char		err[256];
	int			i;

	if (!pgb_parse_classes(classes, &table, err, sizeof(err)))
		diag(err);
	memset(rows, 0, sizeof(rows));
	memset(&snap, 0, sizeof(snap));
	for (i = 0; i < NROWS; i++)
	{
		rows[i].procno = i;
		rows[i].stmt_cpu_ms = -1;
	}
	snap.rows = rows;
	snap.nrows = NROWS;
	snap.lookups = lookups;
	snap.now_ms = 100000;
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		class_of[i] = i < table.nclasses ? i : -1;
	for (i = 0; i <= PGB_MAX_CLASSES; i++)
		snap.map[i] = i < table.nclasses ? i : -1;
	memset(&params, 0, sizeof(params));
	params.shedding = PGB_SHEDDING_ON;
	params.enabled = true;
}

static PgbSessionRow *
row(int procno, int pid, int entry, PgbSessionState state, int64 since_ms)
{
	PgbSessionRow *r = &rows[procno];

	r->pid = pid;
	r->entry = entry;
	r->state = state;
	r->state_since_ms = since_ms;
	r->judged = true;
	return r;
}

/* One tick: a new plan from the snapshot as it stands. */
static void
tick(int64 now_ms)
{
	snap.now_ms = now_ms;
	pgb_plan_init(&plan, rounds, 16, victims, order, 32);
	pgb_plan_runaways(&plan, &snap, &table, class_of, &params);
}

/* This tick's lookup: waiter blocked by blocker, waiting wait_ms. */
static void
lookup(int waiter, int blocker, int64 wait_ms)
{
	blockers[0] = blocker;
	lookups[0].waiter = waiter;
	lookups[0].wait_us = wait_ms * 1000;
	lookups[0].nblockers = 1;
	lookups[0].blockers = blockers;
	snap.nlookups = 1;
}

int
main(void)
{
	char		err[256];
	PgbClassTable t;

	/* the keys */
	ok(pgb_parse_classes("ai(switch_time=5s, switch_to=cancel, idle_blocker_timeout=30s)", &t, err, sizeof(err)),
	   "switch_time, switch_to=cancel and idle_blocker_timeout parse");
	is_int(t.classes[0].switch_time, 5000, "switch_time in ms");
	is_int(t.classes[0].switch_to, PGB_SWITCH_CANCEL, "switch_to=cancel");
	is_int(t.classes[0].idle_blocker_timeout, 30000, "idle_blocker_timeout in ms");
	ok(!pgb_parse_classes("ai(switch_time=0, switch_to=cancel)", &t, err, sizeof(err)), "switch_time=0 is refused");
	is_str(err, "class \"ai\": invalid value \"0\" for key \"switch_time\" (expected a duration greater than 0 such as 500ms, 30s or 5min)",
		   "... naming the key");
	ok(!pgb_parse_classes("ai(switch_time=5s)", &t, err, sizeof(err)), "switch_time alone is refused");
	is_str(err, "class \"ai\": key \"switch_time\" requires key \"switch_to\"", "... it needs switch_to");
	ok(!pgb_parse_classes("ai(switch_to=cancel)", &t, err, sizeof(err)), "switch_to alone is refused");
	ok(!pgb_parse_classes("web(priority=100), ai(switch_time=5s, switch_to=web)", &t, err, sizeof(err)),
	   "switch_to a class is refused in this version");
	like(err, "can only cancel", "... saying so");
	ok(!pgb_parse_classes("ai(switch_time=5s, switch_to=kill)", &t, err, sizeof(err)), "switch_to=kill is refused");
	ok(!pgb_parse_classes("ai(idle_blocker_timeout=-1)", &t, err, sizeof(err)), "idle_blocker_timeout=-1 is refused");
	ok(!pgb_parse_classes("ai(idle_blocker_timeout=soon)", &t, err, sizeof(err)), "idle_blocker_timeout=soon is refused");

	/* enforce */
	ok(pgb_parse_classes("web(), ai(max=4, enforce=warn), bulk(enforce=on)", &t, err, sizeof(err)),
	   "enforce=warn and enforce=on parse");
	ok(!t.classes[0].warn, "enforce is on by default");
	ok(t.classes[1].warn, "enforce=warn");
	ok(!t.classes[2].warn, "enforce=on");
	is_str(pgb_enforce_name(&t.classes[1]), "warn", "its name: warn");
	is_str(pgb_enforce_name(&t.classes[2]), "on", "its name: on");
	ok(!pgb_parse_classes("ai(enforce=off)", &t, err, sizeof(err)), "enforce=off is refused");
	is_str(err, "class \"ai\": invalid value \"off\" for key \"enforce\" (expected on or warn)",
		   "... naming the key and what it takes");
	ok(!pgb_parse_classes("ai(enforce=warn, enforce=on)", &t, err, sizeof(err)), "enforce twice is refused");
	is_str(pgb_warn_reason_name(PGB_WARN_IDLE_BLOCKER), "idle blocker", "warn reasons have names");
	is_str(pgb_warn_reason_name(PGB_WARN_CAP), "cap", "... cap");

	/* runaways */
	setup("web(priority=100), ai(priority=10, switch_time=2s, switch_to=cancel)");
	row(0, 100, AI, PGB_STATE_ACTIVE, 90000)->stmt_cpu_ms = 1999;
	row(1, 101, WEB, PGB_STATE_ACTIVE, 90000)->stmt_cpu_ms = -1;
	tick(100000);
	is_int(plan.nvictims, 0, "a statement under its switch_time is left alone");
	rows[0].stmt_cpu_ms = 2000;
	tick(100000);
	is_int(plan.nvictims, 1, "at its switch_time of CPU it is a victim");
	is_int(plan.victims[0].pid, 100, "... the ai statement");
	is_int(plan.victims[0].action, PGB_ACTION_CANCEL, "... cancelled");
	is_int(plan.rounds[0].kind, PGB_ROUND_RUNAWAY, "... in a runaway round");
	is_str(plan.victims[0].message, "pg_budget: statement of class \"ai\" cancelled: it used more than switch_time (2.00 s) of CPU",
		   "the client's message names the class and the limit");
	is_str(plan.victims[0].reason, "the statement used 2.00 s of CPU, past switch_time=2.00 s of class \"ai\" (switch_to=cancel)",
		   "the reason, its CPU time");
	rows[0].cancelled = true;
	tick(100000);
	is_int(plan.nvictims, 0, "a statement cancelled once is not cancelled again in the same spell");
	rows[0].cancelled = false;
	rows[0].action_ms = 99500;
	tick(100000);
	is_int(plan.nvictims, 0, "nor a session signalled less than a second ago");
	rows[0].action_ms = 0;
	rows[0].exempt = true;
	tick(100000);
	is_int(plan.nvictims, 0, "an exempt superuser is never cancelled for it");
	rows[0].exempt = false;
	params.shedding = PGB_SHEDDING_OFF;
	tick(100000);
	is_int(plan.nvictims, 0, "nothing with pg_budget.shedding off");
	params.shedding = PGB_SHEDDING_ON;
	params.enabled = false;
	tick(100000);
	is_int(plan.nvictims, 0, "nothing with pg_budget.enabled off");
	params.enabled = true;
	params.shedding = PGB_SHEDDING_DRY_RUN;
	tick(100000);
	is_int(plan.nvictims, 1, "a dry run plans it (act.c only logs it)");
	params.shedding = PGB_SHEDDING_ON;
	rows[0].state = PGB_STATE_IDLE;
	tick(100000);
	is_int(plan.nvictims, 0, "an idle session has no statement to cancel");

	/* idle blockers */
	setup("web(priority=100), ai(priority=10, idle_blocker_timeout=5s)");
	row(0, 200, AI, PGB_STATE_IDLE_IN_TX, 50000);	/* idle since 50 s */
	row(1, 201, WEB, PGB_STATE_ACTIVE, 97000)->blocked_us = 3000000;
	row(2, 202, AI, PGB_STATE_IDLE_IN_TX, 10000);	/* idle long, blocks nobody */
	lookup(1, 0, 3000);
	tick(100000);
	is_int(plan.nvictims, 0, "blocking for 3 s of 5: left alone");
	ok(rows[0].blocking_spell == 50000 && rows[0].blocking_since_ms == 97000,
	   "blocking since the wait began (the later of the idle spell and the wait)");
	snap.nlookups = 0;			/* no lookup on the later ticks */
	rows[1].blocked_us = 4900000;
	tick(101900);
	is_int(plan.nvictims, 0, "4.9 s: still left alone");
	rows[1].blocked_us = 5000000;
	tick(102000);
	is_int(plan.nvictims, 1, "5 s of blocking, without a new lookup: a victim");
	is_int(plan.victims[0].pid, 200, "... the idle blocker, not the idle session that blocks nobody");
	is_int(plan.victims[0].action, PGB_ACTION_TERMINATE, "... terminated");
	is_int(plan.rounds[0].kind, PGB_ROUND_IDLE_BLOCKER, "... in an idle-blocker round");
	is_str(plan.victims[0].message, "pg_budget: terminating connection of class \"ai\": idle in transaction while it blocked pid 201 for 5.0 s",
		   "the client's message names whom it blocked and for how long");
	is_str(plan.victims[0].reason, "idle in transaction for 52.0 s while pid 201 (class \"web\") waited 5.0 s on its lock, past idle_blocker_timeout=5.0 s of class \"ai\"",
		   "the reason, for the log and the event");
	rows[1].blocked_us = 0;		/* the waiter gave up */
	tick(102010);
	is_int(plan.nvictims, 0, "once its waiter waits no more, it blocks nobody: left alone");
	ok(rows[0].blocking_spell == 0, "... and no longer marked");

	rows[1].blocked_us = 1000000;
	lookup(1, 0, 1000);
	tick(103000);
	rows[0].state = PGB_STATE_ACTIVE;	/* it runs a statement: may release */
	rows[0].state_since_ms = 103500;
	snap.nlookups = 0;
	tick(109000);
	is_int(plan.nvictims, 0, "a blocker that runs a statement again is no idle blocker");
	ok(rows[0].blocking_spell == 0, "... its mark is gone");

	/* another class's waiter, even its own class's, or none */
	setup("ai(priority=10, idle_blocker_timeout=1s), bulk(priority=0)");
	row(0, 300, 0, PGB_STATE_IDLE_IN_TX, 1000);	/* ai is entry 0 here */
	row(1, 301, 0, PGB_STATE_ACTIVE, 2000)->blocked_us = 2000000;
	lookup(1, 0, 2000);
	tick(100000);
	is_int(plan.nvictims, 1, "a waiter of its own class counts too");
	setup("ai(priority=10), bulk(priority=0, idle_blocker_timeout=1s)");
	row(0, 300, 0, PGB_STATE_IDLE_IN_TX, 1000);	/* ai, blocking bulk */
	row(1, 301, 1, PGB_STATE_ACTIVE, 2000)->blocked_us = 2000000;
	lookup(1, 0, 2000);
	tick(100000);
	is_int(plan.nvictims, 0, "a class without idle_blocker_timeout: left alone");

	return done_testing();
}
