/*-------------------------------------------------------------------------
 *
 * test_plan_limits.c
 *	  Unit tests of what the limits share: the AIMD step (src/plan_admit.c)
 *	  and the class that gives way (src/plan.c).
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/plan.c src/plan_give_way.c src/plan_rounds.c src/plan_pressure.c src/plan_admit.c src/plan_active.c src/plan_wal.c src/plan_inherit.c src/plan_runaway.c
// SOURCES: src/policy_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "plan.h"
#include "unit.h"

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

/* The one selector: the rules every limit shares. */
static void
test_give_way(void)
{
	PgbClassTable t;
	char		err[256];
	bool		gives[PGB_MAX_CLASSES + 1];
	double		use[PGB_MAX_CLASSES + 1];
	bool		demand[PGB_MAX_CLASSES + 1];
	int			i;

	/* web = 0, ai = 1, bulk = 2, keep = 3, never = 4 (shed=never) */
	if (!pgb_parse_classes("web(priority=100), ai(priority=10, shed=cancel), "
						   "bulk(priority=0, shed=cancel), keep(priority=0, shed=cancel), "
						   "never(priority=-5)",
						   &t, err, sizeof(err)))
	{
		printf("Bail out! %s\n", err);
		exit(1);
	}
	for (i = 0; i < t.nclasses; i++)
	{
		gives[i] = true;
		use[i] = 1;
		demand[i] = false;
	}
	is_int(pgb_class_to_give_way(&t, gives, use, NULL), 2,
		   "the lowest-priority sheddable class; of equal use, the first");
	use[3] = 5;
	is_int(pgb_class_to_give_way(&t, gives, use, NULL), 3,
		   "of equal priority, the one that uses more");
	gives[3] = false;
	is_int(pgb_class_to_give_way(&t, gives, use, NULL), 2,
		   "a class with nothing to give is passed over");
	gives[2] = false;
	is_int(pgb_class_to_give_way(&t, gives, use, NULL), 1,
		   "then the next priority up");
	is_int(pgb_class_to_give_way(&t, gives, use, demand), -1,
		   "with demand asked for, nobody in demand: nobody gives way");
	gives[2] = true;
	demand[1] = true;
	is_int(pgb_class_to_give_way(&t, gives, use, demand), 2,
		   "a class below one in demand gives way");
	demand[1] = false;
	demand[2] = true;
	gives[3] = true;
	is_int(pgb_class_to_give_way(&t, gives, use, demand), -1,
		   "demand counts from a higher class only: not its own, nor an equal's");
	demand[2] = false;
	demand[4] = true;
	is_int(pgb_class_to_give_way(&t, gives, use, demand), -1,
		   "nothing sheddable below the class in demand");
	for (i = 1; i < t.nclasses; i++)
		gives[i] = false;
	gives[4] = true;
	is_int(pgb_class_to_give_way(&t, gives, use, NULL), -1,
		   "shed=never classes never give way, whatever they have");

	ok(pgb_above_floor(PGB_UNLIMITED, 10, 2), "no limit: what it uses is above the floor");
	ok(!pgb_above_floor(PGB_UNLIMITED, 2, 2), "use at the floor: nothing to give");
	ok(pgb_above_floor(3, 10, 2), "a limit above the floor: something to give");
	ok(!pgb_above_floor(2, 10, 2), "a limit at the floor: nothing to give");
	ok(!pgb_above_floor(8, 2, 2), "use below the limit is what counts");
}

/* The admission limit's choice: sessions above the class's floor. */
static int
class_to_decrease(const PgbClassTable *t, const int *limits,
				  const int *connected)
{
	bool		gives[PGB_MAX_CLASSES + 1];
	double		use[PGB_MAX_CLASSES + 1];
	int			i;

	for (i = 0; i < t->nclasses; i++)
	{
		gives[i] = pgb_above_floor(limits[i], connected[i], t->classes[i].floor);
		use[i] = connected[i];
	}
	return pgb_class_to_give_way(t, gives, use, NULL);
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
	is_int(class_to_decrease(&t, limits, connected), 2, "the lowest-priority sheddable class first");
	limits[2] = 1;
	is_int(class_to_decrease(&t, limits, connected), 1, "then the next when it is at its floor");
	connected[2] = 0;
	limits[2] = PGB_UNLIMITED;
	is_int(class_to_decrease(&t, limits, connected), 1, "a class with no sessions has nothing to give");
	limits[1] = 2;
	is_int(class_to_decrease(&t, limits, connected), -1, "shed=never classes never give way");
	limits[1] = 8;
	connected[1] = 2;
	is_int(class_to_decrease(&t, limits, connected), -1, "use at the floor counts as at the floor");
}

int
main(void)
{
	test_aimd();
	test_give_way();
	test_class_to_decrease();
	return done_testing();
}
