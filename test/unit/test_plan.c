/*-------------------------------------------------------------------------
 *
 * test_plan.c
 *	  Unit tests of the worker's plan, without a server: victim order and
 *	  actions over a limit, inversion victims, AIMD limit changes, the
 *	  max_actions bound, pause victims and pressure.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/plan.c src/plan_give_way.c src/plan_rounds.c src/plan_pressure.c src/plan_admit.c src/plan_active.c src/plan_wal.c src/plan_inherit.c src/plan_runaway.c
// SOURCES: src/policy_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "plan.h"
#include "unit.h"

#define NROWS		32
#define NOW			1000000

/* entries: web = 0, ai = 1, bulk = 2, keep = 3 (the table's order) */
#define WEB		0
#define AI		1
#define BULKW	1
#define BULK	2
#define KEEP	3

static PgbClassTable table;
static PgbSessionRow rows[NROWS];
static PgbSnapshot snap;
static PgbPlanState st;
static PgbPlanParams params;
static PgbLookup lookups[NROWS];
static PgbPlan plan;
static PgbPlanRound rounds[64];
static PgbPlanVictim victims[256];
static PgbVictim order[256];

static void
setup(const char *classes)
{
	char		err[256];
	int			i;

	if (!pgb_parse_classes(classes, &table, err, sizeof(err)))
	{
		diag(err);
		table.nclasses = 0;
	}
	memset(rows, 0, sizeof(rows));
	memset(&snap, 0, sizeof(snap));
	for (i = 0; i < NROWS; i++)
		rows[i].procno = i;
	snap.rows = rows;
	snap.nrows = NROWS;
	snap.lookups = lookups;
	snap.now_ms = NOW;
	snap.usable = 100;
	for (i = 0; i <= PGB_MAX_CLASSES; i++)
		snap.map[i] = i < table.nclasses ? i : -1;
	pgb_plan_state_init(&st);
	params.shedding = PGB_SHEDDING_ON;
	params.lock_wait_threshold_ms = 1000;
	params.pressure_window_ms = 2000;
	params.wal_pressure_threshold = 0.3;
	params.saturation_threshold = 0.95;
	params.lock_pressure_threshold = 0.2;
	params.aimd_decrease = 0.5;
	params.aimd_increase = 0.05;
	params.aimd_interval_ms = 1000;
	params.calm_time_ms = 5000;
	params.max_actions = 100;
	params.cpu_pressure_threshold = 1.5;
	snap.ncores = 2;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
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
	r->may_signal = true;
	snap.entries[entry].sessions++;
	if (state == PGB_STATE_ACTIVE)
		snap.entries[entry].active++;
	return r;
}

/* A fake signal: records the pids, fails for the pid in *arg. */
static int	signalled[256];
static int	nsignalled;

static bool
fake_signal(const PgbPlan *p pg_attribute_unused(),
			const PgbPlanRound *r pg_attribute_unused(),
			const PgbPlanVictim *v, void *arg)
{
	if (arg != NULL && *(int *) arg == v->pid)
		return false;
	signalled[nsignalled++] = v->pid;
	return true;
}

static void
carry_out(int *fail_pid)
{
	nsignalled = 0;
	pgb_plan_carry_out(&plan, fake_signal, fail_pid);
}

/* Pids of the victims of round r, as "pid:action pid:action ..." */
static const char *
round_str(int r)
{
	static char buf[512];
	int			i;

	buf[0] = '\0';
	if (r >= plan.nrounds)
		return "(no round)";
	for (i = plan.rounds[r].first; i < plan.rounds[r].first + plan.rounds[r].nvictims; i++)
	{
		const PgbPlanVictim *v = &plan.victims[i];
		char		one[32];

		snprintf(one, sizeof(one), "%s%d:%s", buf[0] ? " " : "", v->pid,
				 v->settled ? "settled" :
				 v->action == PGB_ACTION_CANCEL ? "cancel" :
				 v->action == PGB_ACTION_TERMINATE ? "terminate" : "none");
		strlcat(buf, one, sizeof(buf));
	}
	return buf;
}

static const char *
signalled_str(void)
{
	static char buf[512];
	int			i;

	buf[0] = '\0';
	for (i = 0; i < nsignalled; i++)
	{
		char		one[16];

		snprintf(one, sizeof(one), "%s%d", i ? " " : "", signalled[i]);
		strlcat(buf, one, sizeof(buf));
	}
	return buf;
}

/* ai over a limit of 2 under connection pressure */
static void
over_limit_setup(const char *classes)
{
	setup(classes);
	snap.usable = 10;
	snap.connected[AI] = 10;
	st.entries[AI].aimd.limit = 2;
	st.entries[AI].aimd.last_step_ms = NOW;	/* no AIMD step this tick */
	row(0, 100, AI, PGB_STATE_ACTIVE, 100);
	row(1, 101, AI, PGB_STATE_IDLE, 500);
	row(2, 102, AI, PGB_STATE_IDLE, 200);
	row(3, 103, AI, PGB_STATE_IDLE_IN_TX, 900);
	row(4, 104, AI, PGB_STATE_IDLE_IN_TX, 0)->exempt = true;
	row(5, 105, AI, PGB_STATE_IDLE, 0)->walsender = true;
	row(6, 106, AI, PGB_STATE_ACTIVE, 50)->cancelled = true;
	row(7, 107, WEB, PGB_STATE_IDLE, 0);
}

static void
test_victim_order(void)
{
	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate)");
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	ok((plan.pressure & PGB_PRESSURE_CONNECTIONS) != 0, "10 of 10 connections: connection pressure");
	is_int(plan.nrounds, 1, "one round: ai over its limit");
	is_int(plan.rounds[0].kind, PGB_ROUND_LIMIT, "a limit round");
	is_int(plan.rounds[0].need, 5, "7 sessions over a limit of 2: 5 to shed");
	is_str(round_str(0), "103:terminate 102:terminate 101:terminate 106:terminate 100:cancel",
		   "idle in tx first, then idle longest first, then active; cancel before terminate; "
		   "exempt and walsender never");
	like(plan.victims[0].reason, "class \"ai\" is over its admission limit of 2, lowered under connections pressure",
		 "the reason names the class, the limit and the pressure");

	over_limit_setup("web(priority=100), ai(priority=10, shed=cancel)");
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_str(round_str(0), "106:cancel 100:cancel",
		   "shed=cancel: idle sessions are not victims, active ones are cancelled (again)");

	over_limit_setup("web(priority=100), ai(priority=10, shed=never)");
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nvictims, 0, "shed=never: no victim");

	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate)");
	params.shedding = PGB_SHEDDING_OFF;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nvictims, 0, "shedding off: no victim");

	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate)");
	snap.connected[AI] = 1;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.pressure, 0, "no pressure");
	is_int(plan.nvictims, 0, "over the limit without connection or WAL pressure: no victim");

	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate)");
	st.entries[AI].class_action_ms = NOW - 100;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nvictims, 0, "a class shed 100 ms ago waits for its next round");

	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate)");
	rows[3].action_ms = NOW - 500;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_str(round_str(0), "103:settled 102:terminate 101:terminate 106:terminate 100:cancel",
		   "a session signalled 500 ms ago is settling");
	carry_out(NULL);
	is_str(signalled_str(), "102 101 106 100", "the settling session counts for one of the 5");
}

static void
test_carry_out(void)
{
	int			fail = 102;

	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate)");
	params.max_actions = 3;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	carry_out(NULL);
	is_str(signalled_str(), "103 102 101", "max_actions = 3: three signals");

	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate)");
	st.entries[AI].aimd.limit = 5;	/* 2 over */
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	carry_out(&fail);
	is_str(signalled_str(), "103 101", "a victim that fails gives its turn to the next");
	pgb_plan_settle(&plan, &st, &snap);
	is_int(rows[3].action_ms, NOW, "settle: the victim's action time");
	is_int(rows[2].action_ms, 0, "settle: not the one that failed");
	is_int(st.entries[AI].class_action_ms, NOW, "settle: the class's round time");

	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate)");
	st.entries[AI].aimd.limit = 6;	/* 1 over: the active ones only if needed */
	rows[3].pid = 0;
	rows[1].pid = rows[2].pid = 0;
	snap.entries[AI].sessions = 7;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	carry_out(NULL);
	is_str(signalled_str(), "106", "one over: one signal");
	pgb_plan_settle(&plan, &st, &snap);
	ok(!rows[0].cancelled, "settle: the active session not signalled is not cancelled");
}

/* web (priority 100) waits on blockers of ai (10) and keep (1, shed=never) */
static void
inversion_setup(void)
{
	setup("web(priority=100), ai(priority=10, shed=terminate), "
		  "bulk(priority=200, shed=terminate), keep(priority=1)");
	row(0, 200, WEB, PGB_STATE_ACTIVE, 0)->blocked_us = 1500000;
	row(1, 201, AI, PGB_STATE_ACTIVE, 0);
	row(2, 202, AI, PGB_STATE_IDLE_IN_TX, 0);
	row(3, 203, BULK, PGB_STATE_ACTIVE, 0);
	row(4, 204, AI, PGB_STATE_ACTIVE, 0)->exempt = true;
	row(5, 205, KEEP, PGB_STATE_ACTIVE, 0);
	row(6, 206, AI, PGB_STATE_ACTIVE, 0)->walsender = true;
}

static void
test_inversions(void)
{
	static const int blockers[] = {1, 2, 3, 4, 5, 6};

	inversion_setup();
	lookups[0].waiter = 0;
	lookups[0].wait_us = 1500000;
	lookups[0].nblockers = 6;
	lookups[0].blockers = blockers;
	snap.nlookups = 1;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	ok(rows[0].inverted, "the waiter is inverted");
	is_int(plan.nrounds, 1, "one lock round");
	is_int(plan.rounds[0].kind, PGB_ROUND_LOCK, "a lock round");
	is_str(round_str(0), "201:cancel 202:terminate",
		   "lower sheddable blockers: active cancelled, idle in tx terminated; "
		   "not a higher class, an exempt one, a walsender or shed=never");
	like(plan.victims[0].reason, "it blocked pid 200 of class \"web\" (priority 100) for 1.5 s on a lock",
		 "the reason names the waiter");
	is_int(plan.victims[0].waiter_entry, WEB, "the waiter's entry, for the lock statistics");

	inversion_setup();
	lookups[0].wait_us = 500000;
	rows[0].blocked_us = 500000;
	snap.nlookups = 1;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	ok(rows[0].inverted, "below the threshold: inverted all the same");
	is_int(plan.nvictims, 0, "below the threshold: no victim");

	inversion_setup();
	lookups[0].wait_us = 1500000;
	rows[1].action_ms = NOW - 100;
	snap.nlookups = 1;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_str(round_str(0), "202:terminate", "a blocker signalled 100 ms ago is left alone");

	inversion_setup();
	params.shedding = PGB_SHEDDING_OFF;
	snap.nlookups = 1;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	ok(rows[0].inverted, "shedding off: inverted");
	is_int(plan.nvictims, 0, "shedding off: no victim");

	/* two waiters on the same blockers: each blocker signalled once */
	inversion_setup();
	row(7, 207, WEB, PGB_STATE_ACTIVE, 0)->blocked_us = 1500000;
	lookups[0].wait_us = 1500000;
	lookups[1] = lookups[0];
	lookups[1].waiter = 7;
	snap.nlookups = 2;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nrounds, 2, "a lock round per waiter");
	carry_out(NULL);
	is_str(signalled_str(), "201 202", "a blocker is not signalled twice in a tick");
	inversion_setup();
	row(7, 207, WEB, PGB_STATE_ACTIVE, 0)->blocked_us = 1500000;
	params.max_actions = 1;
	snap.nlookups = 2;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	carry_out(NULL);
	is_str(signalled_str(), "201", "max_actions bounds lock rounds too");

	/* an inversion's blocker over its class's limit counts for the limit round */
	inversion_setup();
	snap.nlookups = 1;
	snap.usable = 10;
	snap.connected[AI] = 10;
	st.entries[AI].aimd.limit = 1;
	st.entries[AI].aimd.last_step_ms = NOW;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nrounds, 2, "a lock round, then a limit round");
	is_int(plan.rounds[1].kind, PGB_ROUND_LIMIT, "the limit round comes second");
	is_int(plan.rounds[1].need, 3, "ai: 4 sessions over a limit of 1");
	carry_out(NULL);
	is_str(signalled_str(), "201 202",
		   "the blockers already signalled answer for the limit round: no other signal");
}

/*
 * pgb_plan_init leaves the plan's arrays of entries alone (27 kB a tick
 * the worker need not write), so an entry is cleared when it is taken:
 * a change of the admission limit, which sets neither, is neither an
 * active limit's nor a WAL budget's, whatever the memory held before.
 */
static void
test_plan_init_cost(void)
{
	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate, floor=2)");
	memset(&plan, 0x01, sizeof(plan));	/* a bool of 1, an int of 0x01010101 */
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	is_int(plan.nchanges, 0, "init: no change");
	is_int(plan.nlet, 0, "init: nobody let through");
	is_int(plan.nnotes, 0, "init: no note");
	is_int(plan.victim_class, -1, "init: no victim class");
	is_int(plan.changes[0].before, 0x01010101, "init does not write the changes");
	is_int(plan.let[PGB_MAX_LET_THROUGH - 1].pid, 0x01010101,
		   "init does not write the let-through list");
	st.entries[AI].aimd.limit = PGB_UNLIMITED;
	st.entries[AI].aimd.last_step_ms = 0;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nchanges, 1, "one limit change over old memory");
	ok(!plan.changes[0].active, "the admission change is not an active limit's");
	ok(!plan.changes[0].wal, "the admission change is not a WAL budget's");
	is_int(plan.changes[0].after, 5, "halved, as over clean memory");
	is_str(plan.changes[0].reason, "connections pressure: limit lowered to 5", "the reason");
	/* the next plan starts empty again */
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	is_int(plan.nchanges, 0, "the next tick's plan has no change");
}

static void
test_aimd(void)
{
	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate, floor=2)");
	st.entries[AI].aimd.limit = PGB_UNLIMITED;
	st.entries[AI].aimd.last_step_ms = 0;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.victim_class, AI, "ai gives way");
	is_int(plan.nchanges, 1, "one limit change");
	is_int(plan.changes[0].after, 5, "halved from the 10 it holds");
	is_str(plan.changes[0].reason, "connections pressure: limit lowered to 5", "the reason");
	is_str(plan.changes[0].action, "limit", "action limit");
	is_str(plan.changes[0].signal, "connections", "signal: the pressure");
	is_int(plan.publish_limits[AI], 5, "the limit is published");
	is_int(plan.publish_limits[WEB], PGB_UNLIMITED, "web (shed=never) has no limit");
	is_int(plan.rounds[0].need, 2, "7 sessions over the new limit of 5: 2 to shed");

	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate, floor=2)");
	st.entries[AI].aimd.limit = PGB_UNLIMITED;
	st.entries[AI].aimd.last_step_ms = 0;
	params.shedding = PGB_SHEDDING_DRY_RUN;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_str(plan.changes[0].action, "would limit", "dry run: would limit");
	is_int(plan.publish_limits[AI], PGB_UNLIMITED, "dry run: nothing enforced");
	is_int(plan.shed_limits[AI], 5, "dry run: the computed limit to report sheds");
	ok(plan.dry_run, "dry run: the plan says so");

	/* calm: after calm_time, the limit rises by a share of the cap */
	setup("web(priority=100), ai(max=60, priority=10, shed=terminate)");
	st.entries[AI].aimd.limit = 5;
	snap.connected[AI] = 5;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	ok(plan.calm, "calm");
	is_int(plan.nchanges, 0, "calm for no time yet: no change");
	snap.now_ms += 5000;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nchanges, 1, "calm for calm_time: a change");
	is_str(plan.changes[0].reason, "calm: limit raised to 8", "raised by 5% of 60, rounded up");
	is_str(plan.changes[0].signal, "calm", "signal calm");
	st.entries[AI].aimd.limit = 59;
	snap.now_ms += 1000;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_str(plan.changes[0].reason, "calm: limit lifted (was 59)", "lifted at the cap");

	/* the floor */
	over_limit_setup("web(priority=100), ai(priority=10, shed=terminate, floor=8)");
	st.entries[AI].aimd.limit = PGB_UNLIMITED;
	st.entries[AI].aimd.last_step_ms = 0;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.changes[0].after, 8, "never below the floor");
}

static void
test_pressure(void)
{
	bool		calm;
	uint32		bits;

	setup("web(priority=100), ai(priority=10, shed=terminate)");
	snap.entries[AI].active = 10;
	snap.entries[AI].active_avg = 10;
	snap.entries[AI].wal_share_avg = 0.5;
	bits = pgb_plan_judge_pressure(&st, &snap, &params, 10, table.nclasses, &calm);
	is_int(bits, PGB_PRESSURE_WAL, "half the active sessions on WAL: WAL pressure");
	ok(!calm, "not calm");

	setup("web(priority=100), ai(priority=10, shed=terminate)");
	snap.entries[WEB].active = 2;
	row(0, 300, WEB, PGB_STATE_ACTIVE, 0)->blocked_us = 2000000;
	rows[0].inverted = true;
	bits = pgb_plan_judge_pressure(&st, &snap, &params, 100000, table.nclasses, &calm);
	is_int(bits, PGB_PRESSURE_LOCK, "a session inverted past the threshold: lock pressure (sustained)");
	is_str(pgb_pressure_names(bits | PGB_PRESSURE_CONNECTIONS), "connections+lock", "pressure names");
}

static void
test_pause(void)
{
	int			refused;

	setup("web(priority=100), ai(priority=10, shed=terminate)");
	row(0, 400, AI, PGB_STATE_ACTIVE, 0);
	row(1, 401, AI, PGB_STATE_IDLE, 0);
	row(2, 402, AI, PGB_STATE_ACTIVE, 0)->exempt = true;
	row(3, 403, AI, PGB_STATE_ACTIVE, 0)->may_signal = false;
	row(4, 404, AI, PGB_STATE_IDLE, 0)->walsender = true;
	row(5, 405, WEB, PGB_STATE_ACTIVE, 0);
	row(6, 406, AI, PGB_STATE_ACTIVE, 0);	/* the caller */

	pgb_plan_pause(&plan, rows, NROWS, AI, PGB_ACTION_TERMINATE, 406, "paused", &refused);
	is_str(round_str(0), "400:terminate 401:terminate 404:terminate",
		   "pause terminate: the class's sessions, walsenders too; not exempt ones, "
		   "not the caller, not another class");
	is_int(refused, 1, "the session the caller may not signal is refused");
	is_str(plan.victims[0].reason, "paused", "the pause's reason");
	ok(!plan.rounds[0].bounded, "a pause is not bounded by max_actions");

	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_pause(&plan, rows, NROWS, AI, PGB_ACTION_CANCEL, 406, "paused", &refused);
	is_str(round_str(0), "400:cancel", "pause cancel: only sessions running a query");
	is_int(refused, 1, "refused counted in cancel mode too");

	params.max_actions = 1;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	plan.max_actions = 1;
	pgb_plan_pause(&plan, rows, NROWS, AI, PGB_ACTION_TERMINATE, 406, "paused", &refused);
	carry_out(NULL);
	is_str(signalled_str(), "400 401 404", "a pause signals every victim");
}


/*
 * The gate's adaptive limit: ai (priority 10) gives way under CPU
 * pressure only while web (priority 100) needs the CPU; never below its
 * floor; calm, or web quiet, gives it back; shed=never and web are never
 * held back.
 */
static void
gate_tick(int web_running, int ai_running, int ai_in_progress, int64 at_ms)
{
	snap.now_ms = at_ms;
	snap.entries[WEB].running = web_running;
	snap.entries[AI].running = ai_running;
	snap.entries[AI].in_progress = ai_in_progress;
	snap.running = web_running + ai_running;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 100);
}

/* The gate's choice: transactions in progress above the active floor. */
static int
active_class_to_decrease(const PgbClassTable *t, const int *limits,
						 const int *in_progress, const bool *demand)
{
	bool		gives[PGB_MAX_CLASSES + 1];
	double		use[PGB_MAX_CLASSES + 1];
	int			i;

	for (i = 0; i < t->nclasses; i++)
	{
		gives[i] = pgb_above_floor(limits[i], in_progress[i],
								   pgb_active_floor(&t->classes[i]));
		use[i] = in_progress[i];
	}
	return pgb_class_to_give_way(t, gives, use, demand);
}

static void
test_gate_adaptive(void)
{
	int64		t = NOW;
	int			i;
	bool		demand[PGB_MAX_CLASSES + 1] = {false};
	int			limits[PGB_MAX_CLASSES + 1];
	int			in_progress[PGB_MAX_CLASSES + 1] = {0};

	setup("web(priority=100), ai(priority=10, floor=2, shed=cancel), bulk(priority=0), keep(priority=5, shed=cancel, active=4)");
	for (i = 0; i <= PGB_MAX_CLASSES; i++)
		limits[i] = PGB_UNLIMITED;

	/* the choice */
	in_progress[AI] = 8;
	in_progress[KEEP] = 4;
	is_int(active_class_to_decrease(&table, limits, in_progress, demand), -1,
		   "nobody needs the CPU: nobody gives way");
	demand[WEB] = true;
	is_int(active_class_to_decrease(&table, limits, in_progress, demand), KEEP,
		   "web needs it: the lowest sheddable class (keep, 5) gives way, not bulk (never)");
	limits[KEEP] = 1;
	is_int(active_class_to_decrease(&table, limits, in_progress, demand), AI,
		   "keep at its floor: ai is next");
	demand[WEB] = false;
	demand[AI] = true;
	is_int(active_class_to_decrease(&table, limits, in_progress, demand), -1,
		   "only ai needs the CPU and keep, below it, is at its floor");
	limits[KEEP] = PGB_UNLIMITED;
	is_int(active_class_to_decrease(&table, limits, in_progress, demand), KEEP,
		   "a class gives way to any higher class that needs the CPU");

	/* pressure over time: 6 ai on CPU and a web session on 2 cores */
	setup("web(priority=100), ai(priority=10, floor=2, shed=cancel), bulk(priority=0), keep(priority=5)");
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.calm_time_ms = 1000;
	for (i = 0; i < 60; i++)
		gate_tick(0, 6, 6, t += 100);
	ok(!(plan.gate_pressure & PGB_PRESSURE_CPU) || plan.active_victim_class == -1,
		"ai alone: CPU pressure holds nobody back");
	is_int(plan.publish_active[AI], PGB_UNLIMITED, "ai alone: no active limit");
	for (i = 0; i < 60; i++)
		gate_tick(1, 6, 6, t += 100);
	ok(plan.gate_pressure & PGB_PRESSURE_CPU, "web and 6 ai on 2 cores: CPU pressure");
	is_int(plan.publish_active[AI], 2, "ai lowered to its floor, no lower");
	is_int(plan.publish_active[WEB], PGB_UNLIMITED, "web is never limited");
	is_int(plan.publish_active[BULK], PGB_UNLIMITED, "bulk (shed=never) is never limited");
	{
		bool		lowered = false;

		/* changes of the last tick only; run the way down again to see them */
		setup("web(priority=100), ai(priority=10, floor=2, shed=cancel)");
		params.pressure_window_ms = 500;
		params.aimd_interval_ms = 200;
		for (i = 0; i < 30 && !lowered; i++)
		{
			int			c;

			gate_tick(1, 6, 6, t += 100);
			for (c = 0; c < plan.nchanges; c++)
				if (plan.changes[c].active && plan.changes[c].class_index == AI &&
					strncmp(plan.changes[c].reason, "cpu pressure: active limit lowered to ", 38) == 0)
					lowered = true;
		}
		ok(lowered, "the change names CPU pressure and says active limit");
	}

	/* web quiet: ai gets its transactions back, then no limit at all */
	for (i = 0; i < 200; i++)
		gate_tick(0, 2, 2, t += 100);
	is_int(plan.publish_active[AI], PGB_UNLIMITED, "web quiet: the limit is lifted");

	/*
	 * Equilibrium: ai at 2 on 2 cores beside web's occasional read (on CPU
	 * one tick in five) is 1.1 sessions a core, below the threshold of
	 * 1.5 and above the calm line: ai keeps 2 (it would have 1 with a
	 * threshold of 1.0), and gets back one a step when calm.
	 */
	setup("web(priority=100), ai(priority=10, floor=1, shed=cancel)");
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.calm_time_ms = 1000;
	for (i = 0; i < 100; i++)
	{
		int			lim = plan.publish_active[AI] == PGB_UNLIMITED ? 8 : plan.publish_active[AI];

		gate_tick(i % 5 == 0, Min(lim, 8), Min(lim, 8), t += 100);
	}
	is_int(plan.publish_active[AI], 2, "ai settles at 2 beside light web reads on 2 cores");
	for (i = 0; i < 10; i++)
		gate_tick(i % 5 == 0, 2, 2, t += 100);
	is_int(plan.publish_active[AI], 2, "and stays there");

	/* dry run: computed, recorded, not published */
	setup("web(priority=100), ai(priority=10, floor=2, shed=cancel)");
	params.shedding = PGB_SHEDDING_DRY_RUN;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	for (i = 0; i < 60; i++)
		gate_tick(1, 6, 6, t += 100);
	is_int(st.entries[AI].active_aimd.limit, 2, "dry run: the limit is computed");
	is_int(plan.publish_active[AI], PGB_UNLIMITED, "dry run: not enforced");

	/* memory past its mark: ai gives way though nobody needs the CPU */
	setup("web(priority=100), ai(priority=10, floor=2, shed=cancel), bulk(priority=0)");
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.calm_time_ms = 1000;
	snap.mem_pressure = true;
	for (i = 0; i < 60; i++)
		gate_tick(0, 0, 6, t += 100);
	ok(plan.gate_pressure & PGB_PRESSURE_MEMORY, "memory past its mark: memory pressure");
	is_str(pgb_pressure_names(plan.gate_pressure), "memory", "... named memory");
	is_int(plan.publish_active[AI], 2, "ai lowered to its floor under memory pressure alone");
	is_int(plan.publish_active[BULK], PGB_UNLIMITED, "bulk (shed=never) is never limited");
	snap.mem_pressure = false;
	for (i = 0; i < 200; i++)
		gate_tick(0, 0, 2, t += 100);
	is_int(plan.publish_active[AI], PGB_UNLIMITED, "memory back under its mark: the limit is lifted");
	is_str(pgb_pressure_names(PGB_PRESSURE_WAL | PGB_PRESSURE_MEMORY), "wal+memory",
		   "pressure names with memory");

	/* shedding off: no limit */
	setup("web(priority=100), ai(priority=10, floor=2, shed=cancel)");
	params.shedding = PGB_SHEDDING_OFF;
	for (i = 0; i < 60; i++)
		gate_tick(1, 6, 6, t += 100);
	is_int(plan.publish_active[AI], PGB_UNLIMITED, "shedding off: no active limit");
}

/*
 * The active limit is cut from the moving average of in_progress, not the
 * instant's; recovery is a share of the ceiling a step.
 */
static void
test_gate_adaptive_average(void)
{
	int64		t = NOW;
	int			i;
	int			lowest = PG_INT32_MAX;

	setup("web(priority=100), ai(priority=10, floor=1, shed=cancel)");
	snap.ncores = 2;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.aimd_decrease = 0.5;
	params.cpu_pressure_threshold = 1.5;
	/* short transactions: 8 in progress one tick, none the next */
	for (i = 0; i < 20; i++)
		gate_tick(0, 2, (i % 2) ? 0 : 8, t += 100);
	for (i = 0; i < 40 && lowest == PG_INT32_MAX; i++)
	{
		gate_tick(2, 6, (i % 2) ? 0 : 8, t += 100);
		if (plan.publish_active[AI] != PGB_UNLIMITED)
			lowest = plan.publish_active[AI];
	}
	is_int(lowest, 2,
		   "the first cut halves the average load (4), not a sample's 0 or 8");

	/* a large machine recovers in as many steps as a small one */
	setup("web(priority=100), ai(priority=10, floor=1, shed=cancel)");
	snap.ncores = 64;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.calm_time_ms = 1000;
	params.aimd_increase = 0.05;
	st.entries[AI].active_aimd.limit = 10;
	{
		int			steps = 0;
		int			first_step = 0;
		char		msg[64];

		for (i = 0; i < 2000 && (i == 0 || plan.publish_active[AI] != PGB_UNLIMITED); i++)
		{
			int			c;

			gate_tick(0, 0, 0, t += 100);
			for (c = 0; c < plan.nchanges; c++)
				if (plan.changes[c].active && plan.changes[c].class_index == AI)
				{
					if (steps++ == 0)
						first_step = plan.changes[c].after - plan.changes[c].before;
				}
		}
		is_int(first_step, 7, "64 cores: a step gives back 5% of 128, 7 transactions");
		is_int(plan.publish_active[AI], PGB_UNLIMITED, "the limit is lifted in the end");
		snprintf(msg, sizeof(msg), "%d steps", steps);
		diag(msg);
		ok(steps > 1 && steps <= 20, "in at most 20 steps from 10 to 128, not 118");
	}
}

/*
 * A static active that fits the cores is a pool's size: CPU pressure does
 * not cut it (ai at 2 beside 2 web sessions on 2 cores is 2 sessions a core, CPU
 * pressure, and was cut to 1: half of what PgBouncer with a pool of 2
 * gives it).  A larger static active is cut to the cores, no lower; WAL
 * and memory pressure cut to the floor; a class without one as before.
 */
static void
test_gate_static_active(void)
{
	int64		t = NOW;
	int			i;
	bool		cut = false;

	setup("web(priority=100), ai(priority=10, active=2, shed=cancel)");
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	for (i = 0; i < 60; i++)
	{
		gate_tick(2, 2, 2, t += 100);
		cut |= plan.publish_active[AI] != PGB_UNLIMITED;
	}
	ok(plan.gate_pressure & PGB_PRESSURE_CPU, "2 web and ai(active=2) on 2 cores: CPU pressure");
	ok(!cut, "a static active=2 on 2 cores is never cut under CPU pressure");
	is_int(plan.active_victim_class, -1, "... ai does not give way");

	/* a class without a static active beside it gives way instead */
	setup("web(priority=100), ai(priority=10, active=2, shed=cancel), bulk(priority=20, shed=cancel)");
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	snap.map[BULK] = BULK;
	for (i = 0; i < 60; i++)
	{
		snap.entries[BULK].in_progress = 4;
		gate_tick(2, 2, 2, t += 100);
	}
	is_int(plan.publish_active[AI], PGB_UNLIMITED, "ai(active=2) keeps its 2");
	is_int(plan.publish_active[BULK], 1, "bulk (no static active) is cut to its floor");

	/* a static active above the cores: cut to the cores, no lower */
	setup("web(priority=100), ai(priority=10, active=8, shed=cancel)");
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	for (i = 0; i < 60; i++)
	{
		int			lim = plan.publish_active[AI] == PGB_UNLIMITED ? 8 : plan.publish_active[AI];

		gate_tick(1, lim, lim, t += 100);
	}
	is_int(plan.publish_active[AI], 2, "ai(active=8) on 2 cores: cut to 2, not 1");

	/* memory pressure still cuts it to the floor */
	setup("web(priority=100), ai(priority=10, active=2, shed=cancel)");
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	snap.mem_pressure = true;
	for (i = 0; i < 60; i++)
		gate_tick(2, 2, 2, t += 100);
	is_int(plan.publish_active[AI], 1, "memory pressure: ai(active=2) cut to its floor, 1");
	snap.mem_pressure = false;

	/* the floor itself */
	setup("web(priority=100), ai(priority=10, active=2, shed=cancel), big(priority=5, active=8, floor=3, shed=cancel), none(priority=1, shed=cancel)");
	is_int(pgb_active_floor_under(&table.classes[1], PGB_PRESSURE_CPU, 2), 2, "active=2, CPU, 2 cores: 2");
	is_int(pgb_active_floor_under(&table.classes[1], PGB_PRESSURE_CPU, 64), 2, "active=2, CPU, 64 cores: 2");
	is_int(pgb_active_floor_under(&table.classes[1], PGB_PRESSURE_CPU | PGB_PRESSURE_WAL, 2), 1,
		   "active=2, CPU and WAL: the floor, 1");
	is_int(pgb_active_floor_under(&table.classes[1], PGB_PRESSURE_MEMORY, 2), 1, "active=2, memory: 1");
	is_int(pgb_active_floor_under(&table.classes[2], PGB_PRESSURE_CPU, 2), 3, "active=8, floor=3, 2 cores: the floor, 3");
	is_int(pgb_active_floor_under(&table.classes[2], PGB_PRESSURE_CPU, 4), 4, "active=8, floor=3, 4 cores: 4");
	is_int(pgb_active_floor_under(&table.classes[3], PGB_PRESSURE_CPU, 2), 1, "no static active: the floor, 1");
}

/*
 * With every class's CPU weight in force, run delay is the CPU signal and
 * sessions on CPU per core are not: web's sessions wait for a CPU longer
 * than run_delay_target while few sessions are on CPU per core (the
 * sampler rarely catches short queries running) is CPU pressure; without
 * weights the signal is sessions on CPU per core.
 */
static void
weigh_all(void)
{
	int			i;

	for (i = 0; i < table.nclasses; i++)
		snap.cpu_in_force[snap.map[i]] = true;
}

static void
rd_tick(int web_running, int ai_running, double web_delay_ms, int web_sessions,
		int64 at_ms)
{
	snap.entries[WEB].run_delay_ms = web_delay_ms;
	snap.entries[WEB].run_delay_sessions = web_sessions;
	snap.entries[WEB].run_delay_at_ms = at_ms - at_ms % 1000;
	gate_tick(web_running, ai_running, 8, at_ms);
}

static void
test_gate_run_delay(void)
{
	int64		t = NOW;
	int			i;
	bool		lowered = false;
	char		reason[PGB_REASON_LEN] = "";

	setup("web(priority=100), ai(priority=10, floor=1, shed=cancel)");
	snap.ncores = 2;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.cpu_pressure_threshold = 1.5;
	params.run_delay_target_ms = 50;
	weigh_all();
	/* 1 session on CPU per core: below 1.5; web waits 100 ms/s per session */
	for (i = 0; i < 40 && !lowered; i++)
	{
		int			c;

		{
			t += 100;
			rd_tick(0, 2, (double) (t / 1000) * 400, 4, t);
		}
		for (c = 0; c < plan.nchanges; c++)
			if (plan.changes[c].active && plan.changes[c].class_index == AI &&
				plan.changes[c].after != PGB_UNLIMITED)
			{
				lowered = true;
				strlcpy(reason, plan.changes[c].reason, sizeof(reason));
			}
	}
	ok(lowered, "web's run delay alone (100 ms/s per session, target 50) lowers ai's active limit");
	ok(plan.gate_pressure & PGB_PRESSURE_CPU, "as CPU pressure");
	is_int(plan.run_delay_class, WEB, "web's run delay is named");
	is_double(plan.run_delay_rate, 100, 1e-6, "at 100 ms/s per session");
	like(reason, "(run delay of class \"web\" 100.0 ms/s per session, target 50.0)",
		 "the reason says so");

	/* the same with the signal off: no pressure */
	setup("web(priority=100), ai(priority=10, floor=1, shed=cancel)");
	snap.ncores = 2;
	params.pressure_window_ms = 500;
	params.run_delay_target_ms = 0;
	weigh_all();
	for (i = 0; i < 40; i++)
	{
		t += 100;
		rd_tick(0, 2, (double) (t / 1000) * 400, 4, t);
	}
	is_int(plan.gate_pressure & PGB_PRESSURE_CPU, 0, "run_delay_target 0: no CPU pressure from it");
	is_int(plan.publish_active[AI], PGB_UNLIMITED, "and no active limit");

	/* below the target: none */
	setup("web(priority=100), ai(priority=10, floor=1, shed=cancel)");
	snap.ncores = 2;
	params.pressure_window_ms = 500;
	params.run_delay_target_ms = 200;
	weigh_all();
	for (i = 0; i < 40; i++)
	{
		t += 100;
		rd_tick(0, 2, (double) (t / 1000) * 400, 4, t);
	}
	is_int(plan.gate_pressure & PGB_PRESSURE_CPU, 0, "100 ms/s below a target of 200: no pressure");

	/* without weights, run delay is not judged */
	setup("web(priority=100), ai(priority=10, floor=1, shed=cancel)");
	snap.ncores = 2;
	params.pressure_window_ms = 500;
	params.run_delay_target_ms = 50;
	for (i = 0; i < 40; i++)
	{
		t += 100;
		rd_tick(0, 2, (double) (t / 1000) * 400, 4, t);
	}
	is_int(plan.gate_pressure & PGB_PRESSURE_CPU, 0,
		   "no weights: 100 ms/s of run delay over a target of 50 is not judged");
	is_int(plan.run_delay_class, -1, "and names no class");

	/* weights in force everywhere: many sessions on CPU are no pressure */
	setup("web(priority=100), ai(priority=10, floor=1, shed=cancel)");
	snap.ncores = 2;
	params.pressure_window_ms = 500;
	params.run_delay_target_ms = 200;
	weigh_all();
	for (i = 0; i < 40; i++)
	{
		t += 100;
		rd_tick(2, 6, 0, 4, t);
	}
	is_int(plan.gate_pressure & PGB_PRESSURE_CPU, 0,
		   "every class weighted: 4 sessions on CPU per core are no pressure");
	/* without weights they are */
	snap.cpu_in_force[WEB] = false;
	for (i = 0; i < 40; i++)
	{
		t += 100;
		rd_tick(2, 6, 0, 4, t);
	}
	ok(plan.gate_pressure & PGB_PRESSURE_CPU, "one class unweighted: they are");

	/*
	 * Run delay alone gives way below the class that waits: mid (priority
	 * 50) waits, web above it is busy too; ai, below mid, gives way, mid
	 * itself never does for its own wait.
	 */
	setup("web(priority=100, shed=cancel), mid(priority=50, shed=cancel), ai(priority=10, floor=1, shed=cancel)");
	snap.ncores = 2;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.run_delay_target_ms = 50;
	weigh_all();
	{
		bool		ai_lowered = false;
		bool		mid_lowered = false;

		for (i = 0; i < 40; i++)
		{
			int			c;

			t += 100;
			snap.now_ms = t;
			snap.entries[0].running = 1;
			snap.entries[1].running = 0;
			snap.entries[1].in_progress = 8;
			snap.entries[2].in_progress = 8;
			snap.running = 1;
			snap.entries[1].run_delay_ms = (double) (t / 1000) * 400;
			snap.entries[1].run_delay_sessions = 4;
			snap.entries[1].run_delay_at_ms = t - t % 1000;
			pgb_plan_init(&plan, rounds, 64, victims, order, 256);
			pgb_plan_decide(&plan, &st, &snap, &table, &params, 100);
			for (c = 0; c < plan.nchanges; c++)
				if (plan.changes[c].active && plan.changes[c].after != PGB_UNLIMITED &&
					plan.changes[c].after < 8)
				{
					if (plan.changes[c].class_index == 2)
						ai_lowered = true;
					if (plan.changes[c].class_index == 1)
						mid_lowered = true;
				}
		}
		ok(ai_lowered, "mid's run delay: ai, below it, gives way");
		ok(!mid_lowered, "mid itself does not");
		is_int(plan.run_delay_class, 1, "mid's run delay is named");

		/* ai has nothing to give: mid is still not held back for its own wait */
		setup("web(priority=100, shed=cancel), mid(priority=50, shed=cancel), ai(priority=10, floor=1, shed=cancel)");
		snap.ncores = 2;
		params.pressure_window_ms = 500;
		params.aimd_interval_ms = 200;
		params.run_delay_target_ms = 50;
		weigh_all();
		mid_lowered = false;
		for (i = 0; i < 40; i++)
		{
			int			c;

			t += 100;
			snap.now_ms = t;
			snap.entries[0].running = 1;
			snap.entries[1].in_progress = 8;
			snap.entries[2].in_progress = 0;
			snap.running = 1;
			snap.entries[1].run_delay_ms = (double) (t / 1000) * 400;
			snap.entries[1].run_delay_sessions = 4;
			snap.entries[1].run_delay_at_ms = t - t % 1000;
			pgb_plan_init(&plan, rounds, 64, victims, order, 256);
			pgb_plan_decide(&plan, &st, &snap, &table, &params, 100);
			for (c = 0; c < plan.nchanges; c++)
				if (plan.changes[c].active && plan.changes[c].class_index == 1 &&
					plan.changes[c].after != PGB_UNLIMITED)
					mid_lowered = true;
		}
		ok(plan.gate_pressure & PGB_PRESSURE_CPU, "mid waits: CPU pressure");
		ok(!mid_lowered, "ai idle: nobody below mid gives way, and mid is not held back for its own wait");
	}
}

/* A queued session that blocks a waiter is let through, once per plan. */
static void
test_let_through(void)
{
	static const int blockers[] = {3, 4};

	setup("web(priority=100), ai(priority=10, active=1)");
	row(1, 101, WEB, PGB_STATE_ACTIVE, NOW - 100)->blocked_us = 50000;
	row(2, 102, WEB, PGB_STATE_ACTIVE, NOW - 100)->blocked_us = 40000;
	row(3, 103, AI, PGB_STATE_ACTIVE, NOW - 100)->queued = true;
	row(4, 104, AI, PGB_STATE_IDLE_IN_TX, NOW - 100);
	lookups[0].waiter = 1;
	lookups[0].nblockers = 2;
	lookups[0].blockers = blockers;
	lookups[1].waiter = 2;
	lookups[1].nblockers = 2;
	lookups[1].blockers = blockers;
	snap.nlookups = 2;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nlet, 1, "one queued blocker, let through once for two waiters");
	is_int(plan.let[0].pid, 103, "the queued one, not the one in its transaction");
	is_str(plan.let[0].reason, "queued at the gate, it blocked pid 101 of class \"web\" on a lock",
		   "the reason names the waiter and its class");

	params.shedding = PGB_SHEDDING_OFF;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nlet, 1, "let through even with shedding off");
}

/*
 * Inheritance is bounded: a blocked waiter lends one place at a time.
 * The attack it bounds: eight ai sessions hold a shared advisory lock and
 * are queued; a ninth holds ai's one place and waits for it exclusively.
 */
static void
test_let_through_bounded(void)
{
	static const int eight[] = {3, 4, 5, 6, 7, 8, 9, 10};
	int			i;

	setup("web(priority=100), ai(priority=10, active=1)");
	row(1, 101, AI, PGB_STATE_ACTIVE, NOW - 100)->blocked_us = 50000;
	for (i = 0; i < 8; i++)
		row(3 + i, 103 + i, AI, PGB_STATE_ACTIVE, NOW - 100)->queued = true;
	lookups[0].waiter = 1;
	lookups[0].nblockers = 8;
	lookups[0].blockers = eight;
	snap.nlookups = 1;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nlet, 1, "eight queued blockers of one waiter: one let through");
	is_int(plan.let[0].pid, 103, "the first in core's order");
	is_int(plan.let[0].waiter_pid, 101, "on behalf of the waiter");

	/* the loan is out: the borrower runs its transaction */
	rows[3].queued = false;
	rows[3].borrowed_for = 101;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nlet, 0, "no second loan while the first borrower is in its transaction");

	/* the borrower waits again (a WAL wait, then the queue): the same loan */
	rows[3].queued = true;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nlet, 1, "a borrower that waits again is let through again");
	is_int(plan.let[0].pid, 103, "the same one");

	/* given back: the next one */
	rows[3].queued = false;
	rows[3].borrowed_for = 0;
	rows[3].pid = 0;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nlet, 1, "the place given back, the next loan");
	is_int(plan.let[0].pid, 104, "to the next blocker");

	/* a second waiter (of another class) lends one more, not eight */
	{
		static const int rest[] = {4, 5, 6, 7, 8, 9, 10};

		row(2, 102, WEB, PGB_STATE_ACTIVE, NOW - 100)->blocked_us = 40000;
		lookups[0].nblockers = 7;
		lookups[0].blockers = rest;
		lookups[1].waiter = 2;
		lookups[1].nblockers = 7;
		lookups[1].blockers = rest;
		snap.nlookups = 2;
		pgb_plan_init(&plan, rounds, 64, victims, order, 256);
		pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
		is_int(plan.nlet, 2, "two blocked waiters: two loans");
		ok(plan.let[0].pid != plan.let[1].pid, "to two different blockers");
	}

	/* a hot standby's startup process waits for a lock: all queued go */
	snap.nlookups = 0;
	snap.recovery_waiter = 999;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nlet, 7, "recovery waits: every queued session is let through");
	is_str(plan.let[0].reason,
		   "queued at the gate on a hot standby while recovery (pid 999) waits for a lock",
		   "the reason says so");
	snap.recovery_waiter = 0;
}


/* A place holder idle in a transaction while others queue: one note a spell. */
static void
test_idle_holders(void)
{
	PgbSessionRow *h;

	setup("web(priority=100), ai(priority=10, active=1)");
	h = row(1, 101, AI, PGB_STATE_IDLE_IN_TX, NOW - 1500);
	h->holding = true;
	row(2, 102, AI, PGB_STATE_ACTIVE, NOW - 1400)->queued = true;
	snap.entries[AI].queued = 1;
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nnotes, 1, "an idle holder with one queued is noted");
	is_int(plan.notes[0].pid, 101, "the holder");
	is_str(plan.notes[0].reason,
		   "idle in transaction for 1500 ms holding a place of class \"ai\" while 1 is queued",
		   "the reason says how long, which class and how many wait");
	pgb_plan_settle(&plan, &st, &snap);
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nnotes, 0, "noted once per idle spell");

	/* a new idle spell, later, is noted again */
	snap.now_ms = NOW + 3000;
	h->state_since_ms = NOW + 1800;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nnotes, 1, "a new idle spell is noted again");

	snap.now_ms = NOW;
	h->state_since_ms = NOW - 500;
	h->hold_noted_ms = 0;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nnotes, 0, "not before a second of idleness");

	h->state_since_ms = NOW - 1500;
	snap.entries[AI].queued = 0;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nnotes, 0, "nobody queued: nothing to note");

	snap.entries[AI].queued = 1;
	h->holding = false;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, 10);
	is_int(plan.nnotes, 0, "idle in a transaction without a place: nothing to note");
}

/* The WAL budget's choice: bytes/s above the floor. */
static int
wal_class_to_decrease(const PgbClassTable *t, const double *rate_avg,
					  double floor_rate, const bool *demand)
{
	bool		gives[PGB_MAX_CLASSES + 1];
	int			i;

	for (i = 0; i < t->nclasses; i++)
		gives[i] = rate_avg[i] > floor_rate;
	return pgb_class_to_give_way(t, gives, rate_avg, demand);
}

/* The adaptive WAL budget: the class that gives way (its step: test_plan_wal.c). */
static void
test_wal_adaptive(void)
{
	double		mb = 1024.0 * 1024;
	double		rate_avg[PGB_MAX_CLASSES + 1] = {0};
	bool		demand[PGB_MAX_CLASSES + 1] = {false};

	setup("web(priority=100), free(priority=5, shed=cancel), bulk(priority=0), keep(priority=1, shed=cancel)");
	rate_avg[1] = 30 * mb;
	rate_avg[3] = 0.5 * mb;
	is_int(wal_class_to_decrease(&table, rate_avg, mb, demand), -1,
		   "nobody above is active: nobody gives way");
	demand[WEB] = true;
	is_int(wal_class_to_decrease(&table, rate_avg, mb, demand), 1,
		   "free gives way: keep writes less than the floor, bulk is shed=never");
	rate_avg[3] = 5 * mb;
	is_int(wal_class_to_decrease(&table, rate_avg, mb, demand), 3,
		   "keep (priority 1) before free (5) once it writes more than the floor");
}

/*
 * One tick of web committing (n commits of ms each) beside bulk writing
 * bulk_rate bytes a second.
 */
static double web_active_avg = 2;

static void
commit_tick(int n, double ms, double bulk_rate, int64 at_ms)
{
	double		dt = (double) (at_ms - snap.now_ms);

	snap.entries[WEB].commits += n;
	snap.entries[WEB].commit_us += (uint64) (n * ms * 1000);
	/* a tenth of them take ms x 10: the tail */
	if (ms * 10 >= params.commit_latency_target_ms)
		snap.entries[WEB].commits_slow += (n + 9) / 10;
	if (ms >= params.commit_latency_target_ms)
		snap.entries[WEB].commits_slow += n - (n + 9) / 10;
	snap.entries[BULKW].wal_bytes += (uint64) (bulk_rate * dt / 1000);
	snap.entries[WEB].active_avg = web_active_avg;
	snap.entries[BULKW].active_avg = 4;
	snap.now_ms = at_ms;
	pgb_plan_init(&plan, rounds, 64, victims, order, 256);
	pgb_plan_decide(&plan, &st, &snap, &table, &params, dt);
}

/*
 * ticks of 10 ms, web committing two fast a tick and, every so many
 * ticks, four of ms each that end together (the target is 3 ms: slow,
 * and in the tail past 12).  Returns whether web was slow now after any.
 */
static bool
slow_bursts(int ticks, int every, double ms, int64 *t)
{
	bool		now_seen = false;
	int			i;

	for (i = 0; i < ticks; i++)
	{
		if (i % every == 0)
		{
			snap.entries[WEB].commits += 4;
			snap.entries[WEB].commits_slow += 4;
			if (ms >= PGB_TAIL_COMMIT_FACTOR * params.commit_latency_target_ms)
				snap.entries[WEB].commits_tail += 4;
			snap.entries[WEB].commit_us += (uint64) (4 * ms * 1000);
		}
		commit_tick(2, 0.2, 40 * 1024.0 * 1024, *t += 10);
		now_seen |= pgb_plan_commits_slow_now(&st, WEB, 3);
	}
	return now_seen;
}

#define WEB_SLOW_SHARE \
	pgb_plan_commit_share(st.entries[WEB].commit_slow_rate_avg, st.entries[WEB].commit_rate_avg)

/*
 * Sessions waiting on WAL (the share) while bulk writes more than the
 * floor: its WAL budget answers, and neither its admission nor the gate's
 * active limit is lowered beside it (one pressure, one throttle).
 */
static void
test_wal_share_one_throttle(void)
{
	double		mb = 1024.0 * 1024;
	int64		t = NOW;
	int			i;
	bool		active_limited = false;
	bool		limited = false;

	setup("web(priority=100), bulkw(priority=0, shed=cancel, max=8)");
	params.commit_latency_target_ms = 5;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.wal_rate_floor = mb;
	snap.connected[BULKW] = 8;
	/* bulk writes 40 MB/s, web commits fast */
	for (i = 0; i < 10; i++)
		commit_tick(5, 0.2, 40 * mb, t += 100);
	/* then half of the active sessions wait on WAL: share pressure */
	snap.entries[BULKW].wal_share_avg = 0.5;
	/* web on CPU, bulk's four transactions in progress */
	snap.entries[WEB].running = 1;
	snap.entries[BULKW].in_progress = 4;
	snap.entries[WEB].wal_share_avg = 0.5;
	for (i = 0; i < 60; i++)
	{
		commit_tick(5, 12.0, 40 * mb, t += 100);
		active_limited |= plan.publish_active[BULKW] != PGB_UNLIMITED;
		limited |= plan.publish_limits[BULKW] != PGB_UNLIMITED;
	}
	is_int(plan.wal_victim_class, BULKW, "share pressure, bulk writes 40 MB/s: its WAL budget gives way");
	ok(plan.publish_wal[BULKW] > 0, "bulk has a WAL budget");
	ok(!limited, "its admission is not lowered beside it");
	ok(!active_limited, "nor the gate's active limit");
}

/*
 * Web's commits stay slow while bulk writes 40 MB/s and mid 20 MB/s: bulk's
 * budget is cut to its fair share (12 MB/s) and no lower; then mid, the
 * next writer up, gives way, not bulk again and again.
 */
static void
test_wal_fair_share_next_writer(void)
{
	double		mb = 1024.0 * 1024;
	int64		t = NOW;
	int			i;
	int			mid = 2;
	bool		mid_victim = false;

	setup("web(priority=100), bulkw(priority=0, shed=cancel), mid(priority=5, shed=cancel)");
	params.commit_latency_target_ms = 5;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.wal_rate_floor = mb;
	snap.entries[mid].active_avg = 4;
	snap.entries[BULKW].wal_share_avg = 0.1;
	snap.entries[WEB].wal_share_avg = 0.1;
	for (i = 0; i < 10; i++)
	{
		snap.entries[mid].wal_bytes += (uint64) (20 * mb / 10);
		commit_tick(5, 0.2, 40 * mb, t += 100);
	}
	for (i = 0; i < 400; i++)
	{
		snap.entries[mid].wal_bytes += (uint64) (20 * mb / 10);
		commit_tick(5, 30.0, 40 * mb, t += 100);
		mid_victim |= plan.wal_victim_class == mid;
	}
	is_double(st.entries[BULKW].wal_aimd.limit, 0.3 * st.entries[BULKW].wal_aimd.base,
			  0.01 * mb, "bulk's budget stops at its fair share");
	ok(pgb_wal_at_fair_floor(&st.entries[BULKW].wal_aimd, params.wal_rate_floor),
	   "pgb_wal_at_fair_floor: bulk is there");
	ok(mid_victim, "then mid, the next writer, gives way");
	ok(st.entries[mid].wal_aimd.limit > 0, "mid has a WAL budget");
}

/* WAL pressure judged by web's commit latency, answered by the WAL budget. */
static void
test_commit_latency(void)
{
	double		mb = 1024.0 * 1024;
	int64		t = NOW;
	int			i;
	bool		shed_for_wal = false;
	bool		now_seen;

	setup("web(priority=100), bulkw(priority=0, shed=cancel, max=8)");
	params.commit_latency_target_ms = 3;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.wal_rate_floor = mb;
	snap.connected[BULKW] = 8;
	/* the sessions waiting on WAL are few: the share alone reads calm */
	snap.entries[BULKW].wal_share_avg = 0.1;
	snap.entries[WEB].wal_share_avg = 0.1;

	/* web commits fast, its tail under the target: no WAL pressure */
	for (i = 0; i < 20; i++)
		commit_tick(10, 0.2, 3 * mb, t += 100);
	ok(!(plan.pressure & PGB_PRESSURE_WAL), "web commits in 0.2 ms, a tenth in 2: no WAL pressure");
	is_double(st.entries[WEB].commit_ms_avg, 0.2, 0.05, "web's mean commit latency is 0.2 ms");

	/* a tenth of web's commits over the target, the mean under it */
	for (i = 0; i < 30; i++)
		commit_tick(10, 0.4, 3 * mb, t += 100);
	ok(st.entries[WEB].commit_ms_avg < 3, "the mean stays under the target");
	ok(plan.pressure & PGB_PRESSURE_WAL,
	   "a tenth of web's commits take 4 ms (target 3): WAL pressure, judged by the tail");

	/*
	 * web's commits slow down: bulk's WAL budget shrinks, bulk is not shed;
	 * bulk writes 3 MB/s by then, so that its fair share (0.9 MB/s) is
	 * under the floor and the budget can reach the floor
	 */
	for (i = 0; i < 30; i++)
	{
		commit_tick(5, 12.0, 3 * mb, t += 100);
		if (plan.nrounds > 0)
			shed_for_wal = true;
	}
	ok(plan.pressure & PGB_PRESSURE_WAL,
	   "web commits in 12 ms (target 3): WAL pressure, though the share reads calm");
	is_int(plan.wal_victim_class, BULKW, "bulk's WAL budget gives way");
	ok(plan.publish_wal[BULKW] > 0 && plan.publish_wal[BULKW] < 3 * mb,
	   "bulk gets a WAL budget below what it writes");
	is_int(plan.publish_limits[BULKW], PGB_UNLIMITED,
		   "while throttling can act, bulk is admitted as before");
	ok(!shed_for_wal, "and none of its sessions are shed");

	/* bulk at its floor and web still slow: admission takes the pressure */
	for (i = 0; i < 30; i++)
		commit_tick(5, 12.0, 0.5 * mb, t += 100);
	is_int(plan.wal_victim_class, -1, "bulk writes less than the floor: no more to throttle");
	ok(plan.publish_limits[BULKW] != PGB_UNLIMITED,
	   "pressure that stays with the budget at its floor lowers bulk's admission");

	/* web's commits are fast again: calm */
	for (i = 0; i < 30; i++)
		commit_tick(5, 0.1, 0.5 * mb, t += 100);
	ok(!(plan.pressure & PGB_PRESSURE_WAL), "fast commits again: no WAL pressure");
	ok(plan.calm, "and calm");

	/* without commits lately, web's old latency does not count */
	for (i = 0; i < 30; i++)
		commit_tick(0, 0, 40 * mb, t += 100);
	ok(!pgb_plan_commits_slow(&st, WEB, 3, 1.0), "no commits: not slow");

	/*
	 * Slow commits that end together: every 250 ms one flush holds four of
	 * web's commits for 55 ms, the others (two a tick) are fast; 7% of the
	 * commits are slow, in one tick of every 25.  Counted by commit, that
	 * is slow (sustained and now); counted by tick it would read 2.7%.
	 */
	now_seen = slow_bursts(200, 25, 55, &t);
	is_double(WEB_SLOW_SHARE, 4.0 / 54, 0.02,
			  "bursts of slow commits: their share by commit, 7%");
	ok(pgb_plan_commits_slow(&st, WEB, 3, 1.0), "over 5%: web's commits are slow");
	ok(now_seen, "and slow now after each burst");
	ok(plan.pressure & PGB_PRESSURE_WAL, "WAL pressure");

	/* the same bursts half as often, under 5% but over 4x the target */
	slow_bursts(600, 50, 55, &t);
	ok(WEB_SLOW_SHARE < PGB_SLOW_COMMIT_SHARE,
	   "one burst in 500 ms: under 5% of the commits are slow");
	ok(pgb_plan_commits_slow(&st, WEB, 3, 1.0),
	   "but over 1% take 4x the target (55 ms, target 3): slow, by the tail");

	/* slow, but none past 4x the target: the tail alone does not count */
	slow_bursts(600, 50, 6, &t);
	ok(!pgb_plan_commits_slow(&st, WEB, 3, 1.0),
	   "the same share at 6 ms (2x the target): not slow");
}

/*
 * Web's transactions so short that the sampler hardly sees them active:
 * its commits still make it a class above bulk that is there, so WAL
 * pressure is answered by bulk's WAL budget, not by its admission.
 */
static void
test_commit_latency_short(void)
{
	double		mb = 1024.0 * 1024;
	int64		t = NOW + 1000000;
	int			i;
	bool		limited = false;

	setup("web(priority=100), bulkw(priority=0, shed=cancel, max=8)");
	params.commit_latency_target_ms = 3;
	params.pressure_window_ms = 500;
	params.aimd_interval_ms = 200;
	params.wal_rate_floor = mb;
	snap.connected[BULKW] = 8;
	web_active_avg = 0.01;
	for (i = 0; i < 30; i++)
	{
		commit_tick(10, 5, 40 * mb, t += 100);
		limited |= plan.publish_limits[BULKW] != PGB_UNLIMITED;
	}
	ok(plan.pressure & PGB_PRESSURE_WAL, "web's commits take 5 ms (target 3): WAL pressure");
	is_int(plan.wal_victim_class, BULKW, "bulk's WAL budget gives way, web hardly active or not");
	ok(!limited, "and bulk's admission is never lowered for it");
	web_active_avg = 2;

	/* bulk alone, its own sessions waiting on WAL: nobody to make way for */
	setup("web(priority=100), bulkw(priority=0, shed=cancel, max=8)");
	params.wal_rate_floor = mb;
	params.pressure_window_ms = 500;
	snap.connected[BULKW] = 8;
	snap.entries[BULKW].active_avg = 4;
	limited = false;
	for (i = 0; i < 40; i++)
	{
		/* writing for a second before its WAL waits show */
		snap.entries[BULKW].wal_share_avg = i < 10 ? 0 : 0.9;
		snap.entries[BULKW].wal_bytes += (uint64) (40 * mb / 10);
		snap.now_ms = t += 100;
		pgb_plan_init(&plan, rounds, 64, victims, order, 256);
		pgb_plan_decide(&plan, &st, &snap, &table, &params, 100);
		limited |= plan.publish_limits[BULKW] != PGB_UNLIMITED;
	}
	ok(plan.pressure & PGB_PRESSURE_WAL, "bulk alone, 90% of it waiting on WAL: WAL pressure");
	is_int(plan.wal_victim_class, -1, "nobody above is there: no WAL budget");
	is_int(plan.wal_spared_class, BULKW, "bulk is the class that would give way");
	ok(!limited, "nor is its admission lowered: it slows nobody but itself");
	snap.entries[BULKW].wal_share_avg = 0;

	/* writing less than the floor, admission takes its WAL waits */
	limited = false;
	snap.entries[BULKW].wal_share_avg = 0.9;
	for (i = 0; i < 30; i++)
	{
		snap.entries[BULKW].wal_bytes += (uint64) (0.01 * mb);
		snap.now_ms = t += 100;
		pgb_plan_init(&plan, rounds, 64, victims, order, 256);
		pgb_plan_decide(&plan, &st, &snap, &table, &params, 100);
		limited |= plan.publish_limits[BULKW] != PGB_UNLIMITED;
	}
	ok(limited, "WAL waits of a class that writes under the floor (commits stuck): admission takes them");
	snap.entries[BULKW].wal_share_avg = 0;
}

/*
 * A slow machine: web's own commits take longer than the target with
 * nobody else writing (fsync, a CPU others load), and ai, below it, holds
 * many sessions but writes next to nothing.  Admitting fewer ai sessions
 * would not make web's commits faster: ai's admission and active limits
 * stay, and a limit lowered for another reason comes back when calm.
 */
static void
test_commit_latency_no_writer(void)
{
	double		mb = 1024.0 * 1024;
	int64		t = NOW + 2000000;
	int			i;
	bool		limited = false;
	bool		active_limited = false;
	bool		raised = false;

	setup("web(priority=100), ai(priority=10, shed=terminate, max=60)");
	params.commit_latency_target_ms = 5;
	params.pressure_window_ms = 2000;
	params.aimd_interval_ms = 1000;
	params.calm_time_ms = 5000;
	params.wal_rate_floor = mb;
	snap.connected[AI] = 40;
	snap.connected[WEB] = 4;
	for (i = 0; i < 100; i++)
	{
		/* web: a tenth of its commits at 120 ms, the rest at 12; ai: 20 kB/s */
		commit_tick(2, 12.0, 0.02 * mb, t += 100);
		limited |= plan.publish_limits[AI] != PGB_UNLIMITED;
		active_limited |= plan.publish_active[AI] != PGB_UNLIMITED;
	}
	ok(plan.pressure & PGB_PRESSURE_WAL,
	   "web's commits take 12 ms (target 5): WAL pressure, shown");
	is_int(plan.wal_victim_class, -1, "ai writes under the floor: no WAL budget to cut");
	ok(!pgb_plan_wal_floored(&st, &snap, &table, &params), "nor one at its floor");
	ok(!limited, "ai's admission is never lowered for web's slow commits");
	ok(!active_limited, "nor its active limit");
	ok(plan.calm, "and it is calm");

	/* a limit lowered for another reason (locks) comes back though web is slow */
	st.entries[AI].aimd.limit = 10;
	st.entries[AI].aimd.last_step_ms = t;
	st.entries[AI].aimd.calm_since_ms = -1;
	for (i = 0; i < 80; i++)
	{
		commit_tick(2, 12.0, 0.02 * mb, t += 100);
		raised |= plan.nchanges > 0 && plan.changes[0].class_index == AI &&
			plan.changes[0].after > 10;
	}
	ok(raised, "ai's limit is raised when calm, web's commits slow or not");

	/* ai's WAL budget at the floor: the slow commits go on to admission */
	st.entries[AI].aimd.limit = PGB_UNLIMITED;
	st.entries[AI].wal_aimd.limit = mb;
	st.entries[AI].wal_aimd.base = 3 * mb;
	st.entries[AI].wal_aimd.mark = 2 * mb;
	st.entries[AI].wal_aimd.last_step_ms = t;
	limited = false;
	for (i = 0; i < 30; i++)
	{
		commit_tick(2, 12.0, 0.9 * mb, t += 100);
		/* the budget stays at its floor while web is slow */
		st.entries[AI].wal_aimd.limit = mb;
		limited |= plan.publish_limits[AI] != PGB_UNLIMITED;
	}
	ok(pgb_plan_wal_floored(&st, &snap, &table, &params), "ai's WAL budget is at its floor");
	ok(limited, "and web's slow commits lower ai's admission");
	ok(!plan.calm, "no calm while they are slow");

	/* ai stops writing, its budget left at the floor: no longer floored */
	for (i = 0; i < 100; i++)
	{
		commit_tick(2, 12.0, 0, t += 100);
		st.entries[AI].wal_aimd.limit = mb;
	}
	ok(!pgb_plan_wal_floored(&st, &snap, &table, &params),
	   "ai stopped writing: a budget left at its floor is not floored");
	ok(plan.calm, "and web's slow commits keep calm away no more");
}

/* A recycled class entry starts afresh: no limit, averages or WAL state of the last class. */
static void
test_forget_entry(void)
{
	setup("web(priority=100), ai(priority=10, shed=cancel)");
	st.entries[AI].aimd.limit = 3;
	st.entries[AI].aimd.calm_since_ms = 5;
	st.entries[AI].active_aimd.limit = 2;
	st.entries[AI].running_avg = 4.5;
	st.entries[AI].wal_aimd.limit = 1e6;
	st.entries[AI].wal_aimd.mark = 2e6;
	st.entries[AI].wal_rate_avg = 2e6;
	pgb_plan_forget_entry(&st, AI);
	is_int(st.entries[AI].aimd.limit, PGB_UNLIMITED, "admission limit forgotten");
	is_int(st.entries[AI].aimd.calm_since_ms, -1, "calm spell forgotten");
	is_int(st.entries[AI].active_aimd.limit, PGB_UNLIMITED, "active limit forgotten");
	is_double(st.entries[AI].running_avg, 0, 0, "CPU demand forgotten");
	is_double(st.entries[AI].wal_aimd.limit, 0, 0, "WAL budget forgotten");
	is_double(st.entries[AI].wal_aimd.mark, 0, 0, "and the rate its pressure came at");
	is_double(st.entries[AI].wal_rate_avg, 0, 0, "WAL rate forgotten");
	is_int(st.entries[WEB].aimd.limit, PGB_UNLIMITED, "other entries untouched");
}

int
main(void)
{
	test_victim_order();
	test_carry_out();
	test_inversions();
	test_aimd();
	test_plan_init_cost();
	test_pressure();
	test_pause();
	test_gate_adaptive();
	test_gate_adaptive_average();
	test_gate_static_active();
	test_gate_run_delay();
	test_let_through();
	test_let_through_bounded();
	test_idle_holders();
	test_wal_adaptive();
	test_commit_latency();
	test_wal_share_one_throttle();
	test_wal_fair_share_next_writer();
	test_commit_latency_short();
	test_commit_latency_no_writer();
	test_forget_entry();
	return done_testing();
}
