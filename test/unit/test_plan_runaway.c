/*-------------------------------------------------------------------------
 *
 * test_plan_runaway.c
 *	  Unit tests of idle blockers (idle_blocker_timeout) and runaway
 *	  statements (switch_time, switch_to=cancel or a class), without a
 *	  server.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/plan.c src/plan_give_way.c src/plan_rounds.c src/plan_pressure.c src/plan_admit.c src/plan_active.c src/plan_wal.c src/plan_inherit.c src/plan_runaway.c
// SOURCES: src/policy_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "plan.h"
#include "unit.h"
#include "snap_scan.h"

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
	scan_as_sampler(&snap);
	pgb_plan_runaways(&plan, &snap, &table, class_of, &params);
}

static PgbSwitchPlan splan;

/* One tick of the switches. */
static void
switches(int64 now_ms)
{
	snap.now_ms = now_ms;
	scan_as_sampler(&snap);
	pgb_plan_switches(&splan, &snap, &table, &params);
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
	/* switch_to=CLASS: a class of the table of lower priority, in any order */
	ok(pgb_parse_classes("ai(priority=10, switch_time=300ms, switch_to=bulk), bulk(priority=1)", &t, err, sizeof(err)),
	   "switch_to a class of lower priority, defined later, parses");
	is_int(t.classes[0].switch_to, PGB_SWITCH_CLASS, "... switch_to a class");
	is_str(t.classes[0].switch_class, "bulk", "... naming it");
	is_int(t.classes[0].switch_time, 300, "... with switch_time");
	ok(!pgb_parse_classes("web(priority=100), ai(priority=10, switch_time=5s, switch_to=web)", &t, err, sizeof(err)),
	   "switch_to a class of higher priority is refused");
	is_str(err, "class \"ai\": invalid value \"web\" for key \"switch_to\" (class \"web\" has priority 100, not lower than 10: a statement may only be switched to a class of lower priority)",
		   "... naming the class, the token and both priorities");
	ok(!pgb_parse_classes("ai(priority=10, switch_time=5s, switch_to=bulk), bulk(priority=10)", &t, err, sizeof(err)),
	   "switch_to a class of equal priority is refused");
	like(err, "class \"bulk\" has priority 10, not lower than 10", "... saying so");
	ok(!pgb_parse_classes("ai(priority=10, switch_time=5s, switch_to=ai)", &t, err, sizeof(err)),
	   "switch_to itself is refused");
	is_str(err, "class \"ai\": invalid value \"ai\" for key \"switch_to\" (a class can not switch to itself: name a class of lower priority, or cancel)",
		   "... saying so");
	ok(!pgb_parse_classes("ai(priority=10, switch_time=5s, switch_to=nosuch)", &t, err, sizeof(err)),
	   "switch_to an unknown class is refused");
	is_str(err, "class \"ai\": invalid value \"nosuch\" for key \"switch_to\" (no class \"nosuch\" in the table: name a class of lower priority, or cancel)",
		   "... naming it");
	ok(!pgb_parse_classes("bulk(priority=1), ai(priority=10, switch_time=5s, switch_to=\"Bulk\")", &t, err, sizeof(err)),
	   "switch_to a token that is no class name is refused");
	like(err, "for key \"switch_to\" (expected cancel or the name of a class of lower priority)", "... saying what is expected");
	ok(!pgb_parse_classes("bulk(priority=1, switch_to=bulk)", &t, err, sizeof(err)),
	   "switch_to a class without switch_time is refused");
	is_str(err, "class \"bulk\": key \"switch_to\" requires key \"switch_time\"", "... it needs switch_time");
	ok(!pgb_parse_classes("ai(switch_time=5s, switch_to=kill)", &t, err, sizeof(err)), "switch_to=kill (no such class) is refused");
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
	rows[0].statements = 41;
	tick(100000);
	is_int(plan.nvictims, 1, "at its switch_time of CPU it is a victim");
	is_int(plan.victims[0].pid, 100, "... the ai statement");
	is_int(plan.victims[0].action, PGB_ACTION_CANCEL, "... cancelled");
	is_int((int) plan.victims[0].statement, 41,
		   "... that statement, not the session's next (act.c checks it before the signal)");
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

	/* switch_to=CLASS: the switches */
	setup("web(priority=100), ai(priority=10, switch_time=300ms, switch_to=bulk), bulk(priority=1)");
	snap.cpu_in_force[1] = snap.cpu_in_force[2] = true;
	row(0, 400, AI, PGB_STATE_ACTIVE, 90000)->stmt_cpu_ms = 299;
	row(1, 401, AI, PGB_STATE_ACTIVE, 90000)->stmt_cpu_ms = -1;	/* sleeps: unread */
	row(2, 402, AI, PGB_STATE_ACTIVE, 90000)->stmt_cpu_ms = 900;
	rows[2].exempt = true;		/* a superuser */
	switches(100000);
	is_int(splan.nmoves, 0, "299 ms of 300, a statement not read, an exempt superuser: no switch");
	rows[0].stmt_cpu_ms = 300;
	rows[0].statements = 7;
	switches(100100);
	is_int(splan.nmoves, 1, "300 ms of CPU: a switch");
	is_int((int) splan.moves[0].statements, 7, "... of the statement judged (its slot marked only while it runs)");
	is_int(splan.moves[0].kind, PGB_SWITCH_MOVE_TO, "... to a class");
	is_int(splan.moves[0].pid, 400, "... of the runaway");
	is_int(splan.moves[0].to_entry, 2, "... to bulk's entry");
	is_int(splan.moves[0].home_entry, AI, "... from its own");
	ok(splan.moves[0].cgroup, "... into bulk's cgroup, whose weight is in force");
	is_str(splan.moves[0].reason, "used 0.30 s of CPU, past switch_time=0.30 s of class \"ai\": runs as class \"bulk\" until the statement ends",
		   "... the reason, for the log and the event");
	ok(!rows[0].switched, "not switched before it is carried out");
	pgb_switch_done(&snap, &splan.moves[0], true, true);
	ok(rows[0].switched && rows[0].entry == 2 && rows[0].switch_home == AI,
	   "carried out: the row counts as bulk's, its home remembered");
	ok(pgb_plan_class_of_row(&table, class_of, &rows[0]) == &table.classes[2],
	   "... so the plan's class of the row is bulk");
	rows[0].stmt_cpu_ms = -1;	/* bulk has no switch_time: not read */
	switches(100200);
	is_int(splan.nmoves, 0, "the same statement: it stays switched, no move");
	tick(100200);
	is_int(plan.nvictims, 0, "... and is not cancelled either");
	rows[0].state = PGB_STATE_IDLE;	/* the statement ended */
	rows[0].state_since_ms = 100250;
	switches(100300);
	is_int(splan.nmoves, 1, "its statement ended: a move");
	is_int(splan.moves[0].kind, PGB_SWITCH_MOVE_BACK, "... back");
	is_int(splan.moves[0].to_entry, AI, "... to its own class");
	ok(splan.moves[0].cgroup, "... and its cgroup, as it was moved");
	is_str(splan.moves[0].reason, "back in class \"ai\": the statement it was switched in ended", "... the reason");
	pgb_switch_done(&snap, &splan.moves[0], true, true);
	ok(!rows[0].switched && rows[0].entry == AI, "carried out: ai's again");

	/* a new statement straight after (a new active spell): back too */
	rows[0].state = PGB_STATE_ACTIVE;
	rows[0].state_since_ms = 101000;
	rows[0].stmt_cpu_ms = 400;
	switches(101100);
	pgb_switch_done(&snap, &splan.moves[0], true, false);
	ok(rows[0].switched && !rows[0].switch_moved, "switched again, not moved (say the cgroup write failed)");
	rows[0].state_since_ms = 101500;	/* the next statement, unseen idle */
	switches(101600);
	ok(splan.nmoves == 1 && splan.moves[0].kind == PGB_SWITCH_MOVE_BACK && !splan.moves[0].cgroup,
	   "another statement: back, with no cgroup move as none was made");
	pgb_switch_done(&snap, &splan.moves[0], true, false);

	/* the backend cleared its mark: a new statement, though the spell is the same */
	rows[0].state_since_ms = 101700;
	rows[0].stmt_cpu_ms = 500;
	switches(101800);
	pgb_switch_done(&snap, &splan.moves[0], true, true);
	ok(rows[0].switched, "switched in a statement");
	rows[0].switch_cleared = true;
	switches(101900);
	ok(splan.nmoves == 1 && splan.moves[0].kind == PGB_SWITCH_MOVE_BACK && splan.moves[0].cgroup,
	   "its backend cleared the mark (its next statement began): back, within the same active spell");
	pgb_switch_done(&snap, &splan.moves[0], true, true);
	ok(!rows[0].switched && !rows[0].switch_cleared && rows[0].entry == AI, "... ai's again");

	/* without cgroups: still switched, no cgroup move */
	memset(snap.cpu_in_force, 0, sizeof(snap.cpu_in_force));
	rows[0].state_since_ms = 102000;
	rows[0].stmt_cpu_ms = 350;
	switches(102100);
	ok(splan.nmoves == 1 && splan.moves[0].kind == PGB_SWITCH_MOVE_TO && !splan.moves[0].cgroup,
	   "no CPU weights in force: switched all the same, without a cgroup move");
	pgb_switch_done(&snap, &splan.moves[0], true, false);
	/* a boost wins */
	rows[0].boosted = true;
	params.enabled = false;
	switches(102200);
	ok(splan.nmoves == 1 && splan.moves[0].kind == PGB_SWITCH_MOVE_BACK && splan.moves[0].boosted,
	   "pg_budget.enabled off: back at once (boosted: its cgroup left to the boost)");
	pgb_switch_done(&snap, &splan.moves[0], true, false);
	rows[0].boosted = false;
	params.enabled = true;
	params.shedding = PGB_SHEDDING_OFF;
	rows[0].state_since_ms = 103000;
	switches(103100);
	is_int(splan.nmoves, 0, "shedding off: no switch");
	params.shedding = PGB_SHEDDING_DRY_RUN;
	switches(103200);
	ok(splan.nmoves == 1 && splan.moves[0].kind == PGB_SWITCH_MOVE_WOULD, "dry run: a would-be switch");
	pgb_switch_done(&snap, &splan.moves[0], true, false);
	ok(!rows[0].switched && rows[0].entry == AI, "... that changes nothing");
	switches(103300);
	is_int(splan.nmoves, 0, "... noted once a statement");
	/* a statement sent at once after it: the same spell, its own note */
	rows[0].statements++;
	switches(103400);
	ok(splan.nmoves == 1 && splan.moves[0].kind == PGB_SWITCH_MOVE_WOULD,
	   "... and noted again for the next statement of the same spell");
	pgb_switch_done(&snap, &splan.moves[0], true, false);
	switches(103450);
	is_int(splan.nmoves, 0, "... once");

	/* a class in warn mode: noted, as a dry run, and marked as a warning */
	params.shedding = PGB_SHEDDING_ON;
	table.classes[AI].warn = true;
	rows[0].state_since_ms = 103500;
	switches(103600);
	ok(splan.nmoves == 1 && splan.moves[0].kind == PGB_SWITCH_MOVE_WOULD && splan.moves[0].warn,
	   "a class in warn mode: a would-be switch, as a warning");
	pgb_switch_done(&snap, &splan.moves[0], true, false);
	ok(!rows[0].switched && rows[0].entry == AI, "... that changes nothing");
	table.classes[AI].warn = false;

	/* the session exits while switched: forgotten, no move */
	params.shedding = PGB_SHEDDING_ON;
	rows[0].state_since_ms = 104000;
	switches(104100);
	pgb_switch_done(&snap, &splan.moves[0], true, false);
	rows[0].pid = 0;
	switches(104200);
	ok(splan.nmoves == 0 && !rows[0].switched && rows[0].entry == AI, "exited while switched: forgotten");

	/* a chain: bulk's own switch_time applies to a switched statement */
	setup("ai(priority=10, switch_time=1s, switch_to=bulk), bulk(priority=5, switch_time=2s, switch_to=cancel), idle(priority=0)");
	row(0, 500, 0, PGB_STATE_ACTIVE, 90000)->stmt_cpu_ms = 1000;
	switches(100000);
	pgb_switch_done(&snap, &splan.moves[0], true, false);
	ok(rows[0].switched && rows[0].entry == 1, "switched from ai to bulk");
	rows[0].stmt_cpu_ms = 2000;
	tick(100100);
	ok(plan.nvictims == 1 && plan.victims[0].entry == 1 && plan.victims[0].action == PGB_ACTION_CANCEL,
	   "past bulk's switch_time: cancelled as bulk's");

	/*
	 * The rows a pass walks (snapshot.h): live and not idle, or marked.
	 * A session idle outside a transaction is left out unless a mark from
	 * an earlier tick is on its row; the passes clear such marks.
	 */
	setup("ai(priority=10, switch_time=1s, switch_to=cancel, idle_blocker_timeout=30s)");
	ok(!pgb_row_busy(row(0, 600, 0, PGB_STATE_IDLE, 1000)), "an idle session is not walked");
	ok(pgb_row_busy(row(1, 601, 0, PGB_STATE_IDLE_IN_TX, 1000)), "idle in a transaction is walked");
	ok(pgb_row_busy(row(2, 602, 0, PGB_STATE_ACTIVE, 1000)), "an active session is walked");
	ok(!pgb_row_busy(&rows[3]), "an empty slot is not walked");
	rows[3].switched = true;
	ok(pgb_row_busy(&rows[3]), "a gone session still switched is walked");
	rows[3].switched = false;
	rows[3].boosted = true;
	ok(pgb_row_busy(&rows[3]), "... still boosted");
	rows[3].boosted = false;
	rows[0].nboost_for = 1;
	ok(pgb_row_busy(&rows[0]), "an idle session marked as boosted for a waiter is walked");
	rows[0].nboost_for = 0;
	rows[0].inverted = true;
	ok(pgb_row_busy(&rows[0]), "... marked inverted");
	rows[0].inverted = false;
	/* an idle blocker whose transaction ended: its mark is cleared */
	rows[0].blocking_spell = 1000;
	rows[0].blocking_waiter = 2;
	rows[0].blocking_waiter_pid = 602;
	rows[2].blocked_us = 5000000;
	tick(100000);
	ok(rows[0].blocking_spell == 0 && plan.nvictims == 0,
	   "an idle session's leftover idle-blocker mark is cleared, and it is not a victim");
	scan_as_sampler(&snap);
	is_int(snap.nbusy, 2, "then two rows of the four are walked");

	/* a mark on a settled row: read again from the next tick, light ones too */
	{
		int			woken[NROWS];

		setup("ai(priority=10)");
		snap.woken = woken;
		rows[3].idle_settled = true;
		pgb_row_unsettle(&snap, &rows[3]);
		ok(!rows[3].idle_settled, "pgb_row_unsettle: the row is no longer settled");
		is_int(snap.nwoken, 1, "pgb_row_unsettle: it is listed for the next tick");
		is_int(woken[0], 3, "pgb_row_unsettle: by its procno");
		pgb_row_unsettle(&snap, &rows[3]);
		pgb_row_unsettle(&snap, &rows[4]);
		is_int(snap.nwoken, 1, "pgb_row_unsettle: a row not settled is not listed again");
		snap.woken = NULL;
		rows[5].idle_settled = true;
		pgb_row_unsettle(&snap, &rows[5]);
		ok(!rows[5].idle_settled && snap.nwoken == 1,
		   "pgb_row_unsettle: a snapshot without a list only clears the flag");
	}

	return done_testing();
}
