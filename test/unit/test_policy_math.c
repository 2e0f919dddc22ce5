/*-------------------------------------------------------------------------
 *
 * test_policy_math.c
 *	  Unit tests of the shedding worker's pure decisions: wait-event
 *	  meaning, moving averages, AIMD, the class that gives way, victim
 *	  order and the action allowed on a victim.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/policy_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "policy_math.h"
#include "unit.h"

static void
test_wait_category(void)
{
	is_int(pgb_wait_category(NULL, NULL), PGB_WAIT_RUNNING, "no wait event: running");
	is_int(pgb_wait_category("LWLock", "WALWrite"), PGB_WAIT_WAL, "LWLock WALWrite is WAL");
	is_int(pgb_wait_category("LWLock", "WALInsert"), PGB_WAIT_WAL, "LWLock WALInsert is WAL");
	is_int(pgb_wait_category("LWLock", "WALBufMapping"), PGB_WAIT_WAL, "LWLock WALBufMapping is WAL");
	is_int(pgb_wait_category("LWLock", "BufferContent"), PGB_WAIT_OTHER, "other LWLocks are other");
	is_int(pgb_wait_category("IO", "WALWrite"), PGB_WAIT_WAL, "IO WALWrite is WAL");
	is_int(pgb_wait_category("IO", "WALSync"), PGB_WAIT_WAL, "IO WALSync is WAL");
	is_int(pgb_wait_category("IO", "WALInitSync"), PGB_WAIT_WAL, "IO WALInitSync is WAL");
	is_int(pgb_wait_category("IO", "WALInitWrite"), PGB_WAIT_WAL, "IO WALInitWrite is WAL");
	is_int(pgb_wait_category("IO", "WALRead"), PGB_WAIT_OTHER, "IO WALRead is not a flush wait");
	/* 17 renamed the IO events */
	is_int(pgb_wait_category("IO", "WalWrite"), PGB_WAIT_WAL, "IO WalWrite (17+) is WAL");
	is_int(pgb_wait_category("IO", "WalSync"), PGB_WAIT_WAL, "IO WalSync (17+) is WAL");
	is_int(pgb_wait_category("IO", "WalInitSync"), PGB_WAIT_WAL, "IO WalInitSync (17+) is WAL");
	is_int(pgb_wait_category("IO", "WalInitWrite"), PGB_WAIT_WAL, "IO WalInitWrite (17+) is WAL");
	is_int(pgb_wait_category("IO", "WalRead"), PGB_WAIT_OTHER, "IO WalRead (17+) is not a flush wait");
	is_int(pgb_wait_category("IO", "WalSyncMethodAssign"), PGB_WAIT_OTHER, "IO WalSyncMethodAssign is not a flush wait");
	is_int(pgb_wait_category("IO", "DataFileRead"), PGB_WAIT_OTHER, "data file reads are other");
	is_int(pgb_wait_category("IPC", "SyncRep"), PGB_WAIT_WAL, "IPC SyncRep is WAL");
	is_int(pgb_wait_category("IPC", "ProcArrayGroupUpdate"), PGB_WAIT_OTHER, "other IPC is other");
	is_int(pgb_wait_category("Lock", "transactionid"), PGB_WAIT_LOCK, "Lock transactionid is a lock wait");
	is_int(pgb_wait_category("Lock", "advisory"), PGB_WAIT_LOCK, "Lock advisory is a lock wait");
	is_int(pgb_wait_category("Client", "ClientRead"), PGB_WAIT_IDLE, "ClientRead is idle");
	is_int(pgb_wait_category("Client", "ClientWrite"), PGB_WAIT_OTHER, "ClientWrite is working");
	is_int(pgb_wait_category("Activity", "WalWriterMain"), PGB_WAIT_IDLE, "Activity is idle");
	is_int(pgb_wait_category("Timeout", "PgSleep"), PGB_WAIT_OTHER, "pg_sleep is other");
	is_str(pgb_wait_category_name(PGB_WAIT_WAL), "wal", "category names");
	is_str(pgb_wait_category_name(PGB_WAIT_RUNNING), "running", "running name");
}

static void
test_ema(void)
{
	double		avg = 0;
	int			i;

	is_double(pgb_ema(0, 1, 1000, 1000), 1 - exp(-1), 1e-9, "one time constant moves 63%");
	is_double(pgb_ema(0.5, 1, 0, 1000), 0.5, 1e-12, "no time, no move");
	is_double(pgb_ema(0.2, 0.9, 100000, 1000), 0.9, 1e-12, "a long gap takes the sample");
	is_double(pgb_ema(0.2, 0.9, 10, 0), 0.9, 1e-12, "tau 0 takes the sample");
	for (i = 0; i < 200; i++)
		avg = pgb_ema(avg, 1.0, 10, 1000);
	ok(avg > 0.86 && avg < 0.87, "200 ticks of 10 ms at tau 1 s: 1 - e^-2");
	for (i = 0; i < 10; i++)
		avg = pgb_ema(avg, 0.0, 10, 1000);
	ok(avg > 0.7, "a short dip does not erase a sustained signal");
}

static PgbVictim
victim(int pid, PgbSessionState state, int64 since, bool cancelled)
{
	PgbVictim	v;

	v.procno = pid;
	v.pid = pid;
	v.state = state;
	v.state_since_ms = since;
	v.cancelled = cancelled;
	return v;
}

static void
test_calm_line(void)
{
	is_double(pgb_connection_calm_line(0.9), 0.8, 1e-12, "calm line: 0.1 below the default threshold");
	is_double(pgb_connection_calm_line(0.1), 0.05, 1e-12,
			  "calm line: half the smallest threshold, not 0 (calm was never reached)");
	is_double(pgb_connection_calm_line(1.0), 0.9, 1e-12, "calm line: at threshold 1");
	ok(1 < pgb_connection_calm_line(0.1) * 97, "calm line: one session left is calm at threshold 0.1");
}

static void
test_victims(void)
{
	PgbVictim	v[6];

	v[0] = victim(10, PGB_STATE_ACTIVE, 100, false);
	v[1] = victim(11, PGB_STATE_IDLE, 500, false);
	v[2] = victim(12, PGB_STATE_IDLE_IN_TX, 900, false);
	v[3] = victim(13, PGB_STATE_IDLE, 200, false);
	v[4] = victim(14, PGB_STATE_IDLE_IN_TX, 300, false);
	v[5] = victim(15, PGB_STATE_ACTIVE, 50, false);
	pgb_order_victims(v, 6);
	is_int(v[0].pid, 14, "idle in transaction first, longest first");
	is_int(v[1].pid, 12, "then the other idle in transaction");
	is_int(v[2].pid, 13, "then idle, longest idle first");
	is_int(v[3].pid, 11, "then the other idle");
	is_int(v[4].pid, 15, "active last, oldest first");
	is_int(v[5].pid, 10, "newest active last of all");

	v[0] = victim(1, PGB_STATE_IDLE_IN_TX, 0, false);
	v[1] = victim(2, PGB_STATE_IDLE, 0, false);
	v[2] = victim(3, PGB_STATE_ACTIVE, 0, false);
	v[3] = victim(4, PGB_STATE_ACTIVE, 0, true);
	is_int(pgb_shed_action(PGB_SHED_NEVER, &v[2]), PGB_ACTION_NONE, "shed=never: nothing");
	is_int(pgb_shed_action(PGB_SHED_NEVER, &v[0]), PGB_ACTION_NONE, "shed=never: not even idle in tx");
	is_int(pgb_shed_action(PGB_SHED_CANCEL, &v[0]), PGB_ACTION_NONE, "cancel can not reach idle in tx");
	is_int(pgb_shed_action(PGB_SHED_CANCEL, &v[1]), PGB_ACTION_NONE, "cancel can not reach idle");
	is_int(pgb_shed_action(PGB_SHED_CANCEL, &v[2]), PGB_ACTION_CANCEL, "cancel an active query");
	is_int(pgb_shed_action(PGB_SHED_CANCEL, &v[3]), PGB_ACTION_CANCEL, "cancel again, never terminate");
	is_int(pgb_shed_action(PGB_SHED_TERMINATE, &v[0]), PGB_ACTION_TERMINATE, "terminate idle in tx");
	is_int(pgb_shed_action(PGB_SHED_TERMINATE, &v[1]), PGB_ACTION_TERMINATE, "terminate idle");
	is_int(pgb_shed_action(PGB_SHED_TERMINATE, &v[2]), PGB_ACTION_CANCEL, "cancel before terminate");
	is_int(pgb_shed_action(PGB_SHED_TERMINATE, &v[3]), PGB_ACTION_TERMINATE, "terminate after a cancel");
}

static void
test_aimd(void)
{
	PgbAimdParams p = {0.5, 2, 1000, 3000};
	PgbAimdState st = {PGB_UNLIMITED, -100000, -1};

	/* 60-slot class with 40 sessions, floor 5, under pressure */
	ok(pgb_aimd_step(&st, &p, true, false, 40, 60, 5, 197, 0), "pressure lowers the limit");
	is_int(st.limit, 20, "halved from what the class uses, not from max");
	ok(!pgb_aimd_step(&st, &p, true, false, 40, 60, 5, 197, 500), "at most one step per interval");
	is_int(st.limit, 20, "unchanged within the interval");
	ok(pgb_aimd_step(&st, &p, true, false, 20, 60, 5, 197, 1000), "next interval lowers again");
	is_int(st.limit, 10, "halved again");
	ok(pgb_aimd_step(&st, &p, true, false, 10, 60, 5, 197, 2000), "and again");
	is_int(st.limit, 5, "down to the floor");
	ok(!pgb_aimd_step(&st, &p, true, false, 5, 60, 5, 197, 3000), "never below the floor");
	is_int(st.limit, 5, "still the floor");

	/* neither pressure nor calm: hold */
	ok(!pgb_aimd_step(&st, &p, false, false, 5, 60, 5, 197, 5000), "no change between pressure and calm");
	/* calm must last calm_ms first */
	ok(!pgb_aimd_step(&st, &p, false, true, 5, 60, 5, 197, 6000), "calm starts: no increase yet");
	ok(!pgb_aimd_step(&st, &p, false, true, 5, 60, 5, 197, 8000), "calm for 2 s of 3: no increase");
	ok(pgb_aimd_step(&st, &p, false, true, 5, 60, 5, 197, 9000), "calm for 3 s: increase");
	is_int(st.limit, 7, "additive increase by 2");
	ok(!pgb_aimd_step(&st, &p, false, true, 5, 60, 5, 197, 9500), "one step per interval up too");
	ok(pgb_aimd_step(&st, &p, false, true, 5, 60, 5, 197, 10000), "next interval");
	is_int(st.limit, 9, "up by 2 again");
	/* pressure again resets the calm spell */
	ok(pgb_aimd_step(&st, &p, true, false, 9, 60, 5, 197, 11000), "pressure comes back");
	is_int(st.limit, 5, "floor(9 * 0.5) = 4 is below the floor: 5");
	ok(!pgb_aimd_step(&st, &p, false, true, 5, 60, 5, 197, 12000), "calm must start over");

	/* recovery lifts the limit at max */
	st.limit = 59;
	st.calm_since_ms = 0;
	st.last_step_ms = 0;
	ok(pgb_aimd_step(&st, &p, false, true, 5, 60, 5, 197, 20000), "last step");
	is_int(st.limit, PGB_UNLIMITED, "reaching max lifts the limit");

	/* a class without max is bounded by usable connections */
	st.limit = PGB_UNLIMITED;
	st.last_step_ms = -100000;
	ok(pgb_aimd_step(&st, &p, true, false, 300, PGB_UNLIMITED, 1, 197, 30000), "unlimited class lowered");
	is_int(st.limit, 98, "from usable connections when it holds more than that");

	/* a class using less than its floor is not pushed */
	st.limit = PGB_UNLIMITED;
	st.last_step_ms = -100000;
	ok(pgb_aimd_step(&st, &p, true, false, 3, 60, 5, 197, 40000), "a class below its floor is capped at it");
	is_int(st.limit, 5, "growth is limited to the floor, sessions are not shed");
}

static void
test_class_to_decrease(void)
{
	PgbClassTable t;
	char		err[256];
	int			limits[PGB_MAX_CLASSES + 1];
	int			connected[PGB_MAX_CLASSES + 1];
	int			i;

	if (!pgb_parse_classes("web(priority=100), ai(priority=10, shed=terminate, floor=2), "
						   "bulk(priority=0, shed=cancel), maint(priority=5)",
						   &t, err, sizeof(err)))
	{
		printf("Bail out! %s\n", err);
		exit(1);
	}
	for (i = 0; i < t.nclasses; i++)
	{
		limits[i] = PGB_UNLIMITED;
		connected[i] = 10;
	}
	is_int(pgb_class_to_decrease(&t, limits, connected), 2, "the lowest-priority sheddable class first");
	limits[2] = 1;
	is_int(pgb_class_to_decrease(&t, limits, connected), 1, "then the next when it is at its floor");
	connected[2] = 0;
	limits[2] = PGB_UNLIMITED;
	is_int(pgb_class_to_decrease(&t, limits, connected), 1, "a class with no sessions has nothing to give");
	limits[1] = 2;
	is_int(pgb_class_to_decrease(&t, limits, connected), -1, "shed=never classes never give way");
	limits[1] = 8;
	connected[1] = 2;
	is_int(pgb_class_to_decrease(&t, limits, connected), -1, "use at the floor counts as at the floor");
}

int
main(void)
{
	test_wait_category();
	test_ema();
	test_calm_line();
	test_victims();
	test_aimd();
	test_class_to_decrease();
	return done_testing();
}
