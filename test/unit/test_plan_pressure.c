/*-------------------------------------------------------------------------
 *
 * test_plan_pressure.c
 *	  Unit tests of pressure (src/plan_pressure.c): the line below which
 *	  connections are calm; CPU pressure from run delay, the rate per
 *	  second and session from the worker's readings, and which class's run
 *	  delay is pressure.  No server needed.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/plan.c src/plan_give_way.c src/plan_rounds.c src/plan_pressure.c src/plan_admit.c src/plan_active.c src/plan_wal.c src/plan_inherit.c src/plan_runaway.c
// SOURCES: src/policy_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "plan.h"

#include <string.h>

#include "unit.h"

static void
test_step(void)
{
	PgbRunDelayTrack t;

	memset(&t, 0, sizeof(t));
	is_double(pgb_run_delay_step(&t, 0, 0, 4), 0, 0, "no reading yet: 0");
	is_double(pgb_run_delay_step(&t, 500, 1000, 4), 0, 0, "a first reading: 0 (counts from now)");
	is_double(pgb_run_delay_step(&t, 900, 2000, 4), 100, 1e-9,
			  "400 ms of run delay in 1 s over 4 sessions: 100 ms/s per session");
	is_double(pgb_run_delay_step(&t, 900, 2000, 4), 100, 1e-9,
			  "the same reading again: the rate stays");
	is_double(pgb_run_delay_step(&t, 1100, 4000, 1), 100, 1e-9,
			  "200 ms in 2 s by one session: 100 ms/s");
	is_double(pgb_run_delay_step(&t, 1100, 5000, 3), 0, 0, "nothing more: 0");
	is_double(pgb_run_delay_step(&t, 1200, 6000, 0), 0, 0, "no session ran: 0");
	is_double(pgb_run_delay_step(&t, 100, 7000, 2), 0, 0, "a counter that went back: 0, from there");
	is_double(pgb_run_delay_step(&t, 3100, 8000, 1), PGB_RUN_DELAY_MAX_MS, 0,
			  "never more than a second per second");
}

static void
test_pressure(void)
{
	PgbClassTable table;
	char		err[256];
	double		rate[PGB_MAX_CLASSES + 1];
	bool		demand[PGB_MAX_CLASSES + 1];
	bool		calm;

	/* web = 0, mid = 1, ai = 2, keep = 3 (shed=never) */
	ok(pgb_parse_classes("web(priority=100), mid(priority=50), ai(priority=10, shed=cancel), keep(priority=5, shed=never)",
						 &table, err, sizeof(err)), "table parses");
	memset(rate, 0, sizeof(rate));
	memset(demand, 0, sizeof(demand));
	demand[0] = demand[1] = demand[2] = true;

	is_int(pgb_run_delay_pressure(&table, rate, demand, 200, &calm), -1, "no run delay: none");
	ok(calm, "and calm");
	rate[0] = 250;
	is_int(pgb_run_delay_pressure(&table, rate, demand, 200, &calm), 0,
		   "web's 250 ms/s over a target of 200: web's run delay is pressure");
	ok(!calm, "not calm");
	rate[1] = 300;
	is_int(pgb_run_delay_pressure(&table, rate, demand, 200, &calm), 1,
		   "mid's higher: mid's is named");
	rate[0] = rate[1] = 150;
	is_int(pgb_run_delay_pressure(&table, rate, demand, 200, &calm), -1, "below the target: none");
	ok(!calm, "but above half of it: not calm");
	rate[0] = rate[1] = 99;
	(void) pgb_run_delay_pressure(&table, rate, demand, 200, &calm);
	ok(calm, "below half: calm");
	rate[2] = 900;
	is_int(pgb_run_delay_pressure(&table, rate, demand, 200, &calm), -1,
		   "ai's run delay is no pressure: below it only keep, which is never shed");
}

static void
test_pressure_lowest(void)
{
	PgbClassTable table;
	char		err[256];
	double		rate[PGB_MAX_CLASSES + 1];
	bool		demand[PGB_MAX_CLASSES + 1];
	bool		calm;

	ok(pgb_parse_classes("web(priority=100), ai(priority=10, shed=cancel), keep(priority=5, shed=never)",
						 &table, err, sizeof(err)), "table parses");
	memset(rate, 0, sizeof(rate));
	memset(demand, 0, sizeof(demand));
	demand[0] = demand[1] = demand[2] = true;
	rate[1] = 900;
	rate[2] = 900;
	is_int(pgb_run_delay_pressure(&table, rate, demand, 200, &calm), -1,
		   "the lowest classes' run delay, with nobody sheddable below: none");
	ok(calm, "and calm: nothing could give way");
	rate[0] = 300;
	demand[0] = false;
	rate[1] = 0;
	is_int(pgb_run_delay_pressure(&table, rate, demand, 200, &calm), -1,
		   "a class that does not need the CPU: not counted");
	demand[0] = true;
	is_int(pgb_run_delay_pressure(&table, rate, demand, 0, &calm), -1, "target 0: off");
	ok(calm, "and calm");
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

int
main(void)
{
	test_calm_line();
	test_step();
	test_pressure();
	test_pressure_lowest();
	return done_testing();
}
