/*-------------------------------------------------------------------------
 *
 * test_plan_rounds.c
 *	  Unit tests of the order a class's sessions are shed in and of the
 *	  action allowed on a victim (src/plan_rounds.c).
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/plan.c src/plan_give_way.c src/plan_rounds.c src/plan_pressure.c src/plan_admit.c src/plan_active.c src/plan_wal.c src/plan_inherit.c src/plan_runaway.c
// SOURCES: src/policy_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "plan.h"
#include "unit.h"

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

int
main(void)
{
	test_victims();
	return done_testing();
}
