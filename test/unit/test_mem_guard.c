/*-------------------------------------------------------------------------
 *
 * test_mem_guard.c
 *	  Unit tests of the memory guard's decisions: the marks, the order in
 *	  which queries give way, and the class budgets (mem=, session_mem=).
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/mem_guard.c
#include "mem_guard.h"

#include "unit.h"

#define MB(x)	((uint64) (x) * 1024 * 1024)

static PgbMemSession
sess(int pid, int entry, int priority, bool sheddable, uint64 bytes)
{
	PgbMemSession s;

	memset(&s, 0, sizeof(s));
	s.pid = pid;
	s.entry = entry;
	s.priority = priority;
	s.sheddable = sheddable;
	s.active = true;
	s.bytes = bytes;
	return s;
}

/* The victim as the worker picks it: at the level of the use less what is
 * on the way back, the use not growing. */
static int
victim(const PgbMemSession *s, int n, uint64 use, uint64 limit, double guard)
{
	return pgb_mem_guard_victim(s, n, pgb_mem_decide(use, pgb_mem_returning(s, n),
													 0, limit, guard));
}

/*
 * A hash aggregate growing by doublings, read every 10 ms as the worker
 * does: its tuples grow 40 MB/s; its bucket array (start MB) doubles when
 * the tuples reach 1.25 times it, the new array filled in over ramp_ms
 * (the copy), then the old one freed.  Beside it the server holds others
 * MB.  Returns the reading (ms) at which the step rule first cancels it,
 * or -1.  With stop > 0 its input ends once its tuples hold stop MB.
 * *step_start gets the start of the first step that took the use
 * past the limit (-1: none within 120 s), *peak the use at the cancel.
 */
static int64
doubling_run(uint64 others, uint64 limit, int64 ramp_ms, double stop,
			 int64 *step_start, uint64 *at_cancel)
{
	PgbMemSteps h;
	PgbMemSession s[2];
	double		array = 8.0;
	double		tuples = 0;
	double		ramp_left = 0;	/* MB of the new array still to fill */
	double		ramp_rate = 0;	/* MB a tick */
	double		filled = 0;
	int64		t;
	int64		cancel_ms = -1;

	pgb_mem_steps_reset(&h);
	*step_start = -1;
	*at_cancel = 0;
	for (t = 10; t <= 120000; t += 10)
	{
		double		held;
		uint64		bytes;

		if (ramp_left > 0)
		{
			double		d = ramp_left < ramp_rate ? ramp_left : ramp_rate;

			filled += d;
			ramp_left -= d;
			if (ramp_left <= 0)
			{
				/* copied: the old array given back */
				array *= 2;
				filled = 0;
			}
		}
		else if (stop == 0 || tuples < stop)
		{
			tuples += 0.4;
			if (tuples >= 1.25 * array)
			{
				ramp_left = 2 * array;
				ramp_rate = ramp_left * 10 / ramp_ms;
				if (*step_start < 0 &&
					MB(others) + MB(tuples + array + ramp_left) > limit)
					*step_start = t;
			}
		}
		held = tuples + array + filled;
		bytes = (uint64) (held * 1024 * 1024);
		pgb_mem_steps_note(&h, bytes, t);
		s[0] = sess(1, 1, 10, true, bytes);
		s[0].next_step = pgb_mem_steps_next(&h);
		s[1] = sess(2, 0, 100, false, MB(others / 10));
		if (cancel_ms < 0 &&
			pgb_mem_step_victim(s, 2, MB(others) + bytes, 0, limit, 0.9) == 0)
		{
			cancel_ms = t;
			*at_cancel = MB(others) + bytes;
		}
	}
	return cancel_ms;
}

int
main(void)
{
	uint64		mark;
	uint64		last;
	PgbMemSession s[8];
	PgbMemBudgetVictim v[8];
	uint64		class_limit[4] = {0, 0, 0, 0};
	uint64		session_limit[4] = {0, 0, 0, 0};
	uint64		sums[4];
	int			n;

	/* marks */
	pgb_mem_marks(MB(1000), 0.9, &mark, &last);
	ok(mark == MB(900), "the mark is guard x limit");
	ok(last == MB(950), "the last-resort mark is halfway to the limit");
	is_int(pgb_mem_level(MB(899), MB(1000), 0.9), PGB_MEM_CALM, "under the mark: calm");
	is_int(pgb_mem_level(MB(900), MB(1000), 0.9), PGB_MEM_GUARD, "at the mark: guard");
	is_int(pgb_mem_level(MB(960), MB(1000), 0.9), PGB_MEM_LAST_RESORT, "past 95%: last resort");
	is_int(pgb_mem_level(MB(999), MB(1000), 0), PGB_MEM_CALM, "guard 0: off");
	is_int(pgb_mem_level(MB(999), 0, 0.9), PGB_MEM_CALM, "no limit known: calm");

	/* victims: web (100, never shed), ai (10, shed), bulk (0, shed) */
	s[0] = sess(1, 0, 100, false, MB(500));	/* web, the largest of all */
	s[1] = sess(2, 1, 10, true, MB(200));	/* ai */
	s[2] = sess(3, 1, 10, true, MB(300));	/* ai, its largest */
	s[3] = sess(4, 2, 0, true, MB(50));	/* bulk: the lowest priority */
	is_int(victim(s, 4, MB(800), MB(1000), 0.9), -1, "calm: nobody");
	is_int(victim(s, 4, MB(920), MB(1000), 0.9), 3,
		   "the lowest-priority class gives way first, though it holds little");
	s[3].active = false;
	is_int(victim(s, 4, MB(920), MB(1000), 0.9), 2,
		   "an idle session has no query to cancel: the next class, its largest");
	s[2].cancelled = true;		/* from here on, its 300 MB on the way back */
	is_int(victim(s, 4, MB(920) + MB(300), MB(1000), 0.9), 1,
		   "a session cancelled already is not chosen again");
	s[1].cancelled = true;		/* and its 200 MB */
	is_int(victim(s, 4, MB(920) + MB(500), MB(1000), 0.9), -1,
		   "past the mark, a class that is never shed is left alone");
	is_int(victim(s, 4, MB(960) + MB(500), MB(1000), 0.9), 0,
		   "past the last-resort mark, the largest of any class");
	s[0].exempt = true;
	s[4] = sess(5, 0, 100, false, MB(10));
	is_int(victim(s, 5, MB(960) + MB(500), MB(1000), 0.9), 4,
		   "superusers' sessions are the very last");
	s[4].active = false;
	is_int(victim(s, 5, MB(960) + MB(500), MB(1000), 0.9), 0,
		   "... and taken when nobody else is left");
	s[0] = sess(1, 1, 10, true, MB(100));
	s[0].exempt = true;
	is_int(victim(s, 1, MB(920), MB(1000), 0.9), -1,
		   "an exempt superuser of a sheddable class is not shed past the mark");
	s[0].bytes = 0;
	is_int(victim(s, 1, MB(960), MB(1000), 0.9), -1,
		   "a session holding nothing is never chosen");

	/* what a cancel gives back, and what is on the way back */
	s[0] = sess(1, 1, 10, true, MB(3));
	s[0].idle_bytes = MB(3) - 4096;
	s[1] = sess(2, 0, 100, false, MB(3));
	s[1].idle_bytes = MB(2) + MB(1) / 2;
	is_int(victim(s, 2, MB(990), MB(1000), 0.9), -1,
		   "a query holding less than 1 MB above what its session holds idle is never cancelled");
	s[1].bytes = MB(4);
	is_int(victim(s, 2, MB(990), MB(1000), 0.9), 1,
		   "... 1.5 MB above it is, past the last-resort mark");
	ok(pgb_mem_freeable(&s[1]) == MB(1) + MB(1) / 2, "freeable: its bytes less its idle bytes");
	s[1].idle_bytes = MB(5);
	ok(pgb_mem_freeable(&s[1]) == 0, "freeable: never below 0");
	s[0] = sess(1, 1, 10, true, MB(800));	/* the hog, cancelled, still growing */
	s[0].cancelled = true;
	s[0].idle_bytes = MB(3);
	s[1] = sess(2, 1, 10, true, MB(80));	/* a query that fits */
	s[1].idle_bytes = MB(3);
	s[2] = sess(3, 0, 100, false, MB(4));	/* a web read */
	s[2].idle_bytes = MB(3);
	ok(pgb_mem_returning(s, 3) == MB(797), "on the way back: the cancelled query's memory");
	is_int(victim(s, 3, MB(990), MB(1000), 0.9), -1,
		   "while a cancelled query gives its memory back, past the last-resort mark, nobody else is cancelled");
	is_int(victim(s, 3, MB(1800), MB(2000), 0.5), 1,
		   "... unless the use without it is still past the mark: the next victim");
	s[0].active = false;
	ok(pgb_mem_returning(s, 3) == 0, "a cancelled session back to idle returns nothing more");
	is_int(victim(s, 3, MB(920), MB(1000), 0.9), 1,
		   "then the next victim, if the use is still past the mark");

	/* early: on course to the limit within the horizon */
	ok(pgb_mem_early_mark(MB(1000), 0.9) == MB(800), "the early mark: the guard's less its headroom again");
	/* how often the server's use is read: by its distance to the early mark */
	ok(pgb_mem_use_gap_ms(MB(100), MB(1000), 0.9) == PGB_MEM_USE_MAX_GAP_MS,
	   "far under the early mark: the use is read every 100 ms");
	ok(pgb_mem_use_gap_ms(MB(700), MB(1000), 0.9) == 48,
	   "100 MB under it: every 48 ms (at 2 GB/s it would take 48 ms to get there)");
	ok(pgb_mem_use_gap_ms(MB(798), MB(1000), 0.9) == 0,
	   "within 2 MB of it: every tick");
	ok(pgb_mem_use_gap_ms(MB(900), MB(1000), 0.9) == 0, "past it: every tick");
	ok(pgb_mem_use_gap_ms(MB(100), MB(1000), 0) == 0, "no guard: every tick");
	ok(pgb_mem_use_gap_ms(MB(100), 0, 0.9) == 0, "no limit: every tick");
	ok(pgb_mem_use_gap_ms(MB(3000), (uint64) 24 * 1024 * MB(1), 0.9) == PGB_MEM_USE_MAX_GAP_MS,
	   "a 24 GB machine using 3 GB: every 100 ms");
	is_int(pgb_mem_decide(MB(850), 0, MB(100), MB(1000), 0.9), PGB_MEM_CALM,
		   "850 of 1000 MB growing 100 MB/s: calm (the limit 1.5 s away)");
	is_int(pgb_mem_decide(MB(850), 0, MB(200), MB(1000), 0.9), PGB_MEM_EARLY,
		   "850 MB growing 200 MB/s: early (the limit within a second)");
	is_int(pgb_mem_decide(MB(790), 0, MB(500), MB(1000), 0.9), PGB_MEM_CALM,
		   "below the early mark, however fast: calm");
	is_int(pgb_mem_decide(MB(850), MB(100), MB(500), MB(1000), 0.9), PGB_MEM_CALM,
		   "with a cancelled query on the way back: no early cancel (its own growth is in the rate)");
	is_int(pgb_mem_decide(MB(930), 0, -50.0 * 1024 * 1024, MB(1000), 0.9), PGB_MEM_GUARD,
		   "past the mark: the guard, whatever the rate");
	is_int(pgb_mem_decide(MB(990), 0, MB(900), MB(1000), 0), PGB_MEM_CALM, "guard 0: off, early too");
	s[0] = sess(1, 1, 10, true, MB(500));
	s[1] = sess(2, 0, 100, false, MB(300));
	is_int(pgb_mem_guard_victim(s, 2, PGB_MEM_EARLY), 0, "early: the lowest sheddable class's largest");
	s[0].sheddable = false;
	is_int(pgb_mem_guard_victim(s, 2, PGB_MEM_EARLY), -1, "early: never a class that is never shed");

	/* growth by doublings */
	{
		PgbMemSteps h;
		int64		t;
		int64		cancel_ms;
		int64		step_start;
		uint64		at_cancel;

		pgb_mem_steps_reset(&h);
		pgb_mem_steps_note(&h, MB(100), 10);
		for (t = 20; t <= 500; t += 10)
			pgb_mem_steps_note(&h, MB(100) + MB(t) / 10, t);
		ok(h.growing && pgb_mem_steps_next(&h) == 0,
		   "a steady grower gave nothing back: no next step");
		pgb_mem_steps_note(&h, MB(160), 510);	/* the top of a step */
		pgb_mem_steps_note(&h, MB(125), 520);	/* 35 MB back, 125 held */
		ok(h.gave_back == MB(35), "memory given back leaving twice as much held: a step");
		ok(!h.growing && pgb_mem_steps_next(&h) == 0,
		   "just after a give-back, no grower (the table may have doubled for the last time)");
		for (t = 530; t <= 900; t += 10)
			pgb_mem_steps_note(&h, MB(125) + MB(t - 520) / 10, t);
		ok(h.growing && pgb_mem_steps_next(&h) == MB(140),
		   "growing again at its pace: its next step, four times what it gave back");
		for (t = 910; t <= 950; t += 10)
			pgb_mem_steps_note(&h, MB(163) + MB(t - 900) / 2, t);
		ok(h.in_step && pgb_mem_steps_next(&h) == 0,
		   "growing five times its pace: a step under way (too late to stop, perhaps its last): none");
		pgb_mem_steps_note(&h, MB(160), 960);	/* the old array freed */
		for (t = 970; t <= 1500; t += 10)
			pgb_mem_steps_note(&h, MB(160), t);
		ok(!h.growing && !h.in_step && h.gave_back == MB(35) && pgb_mem_steps_next(&h) == 0,
		   "after its last step, holding that size: none, however large its last step");
		for (t = 1510; t <= 1800; t += 10)
			pgb_mem_steps_note(&h, MB(160) + MB(t - 1500) / 10, t);
		ok(h.growing && pgb_mem_steps_next(&h) == 0,
		   "growing again by 30 MB: not half way to its next step (it held 104 MB beside its 56 MB array: 52 MB), none yet");
		for (t = 1810; t <= 2300; t += 10)
			pgb_mem_steps_note(&h, MB(160) + MB(t - 1500) / 10, t);
		ok(h.growing && pgb_mem_steps_next(&h) == MB(140),
		   "past half way: its next step, four times its largest give-back");
		pgb_mem_steps_note(&h, MB(40), 2310);
		ok(h.gave_back == 0 && h.last_back == 0 && pgb_mem_steps_next(&h) == 0,
		   "memory given back leaving less than twice as much: not a step; the table is gone, judged afresh");
		pgb_mem_steps_reset(&h);
		ok(pgb_mem_steps_next(&h) == 0 && h.gave_back == 0, "a new statement: no steps");

		/* dips after a step (a freed chunk, pages taken back) are no step */
		{
			PgbMemSteps d;

			pgb_mem_steps_reset(&d);
			pgb_mem_steps_note(&d, MB(100), 10);
			for (t = 20; t <= 500; t += 10)
				pgb_mem_steps_note(&d, MB(100) + MB(t) / 10, t);
			pgb_mem_steps_note(&d, MB(160), 510);
			pgb_mem_steps_note(&d, MB(125), 520);
			for (t = 530; t <= 900; t += 10)
			{
				uint64		b = MB(125) + MB(t - 520) / 10;

				if (t == 600)
					b -= MB(1) / 10;	/* 0.1 MB back */
				if (t == 700)
					b -= MB(2);		/* 2 MB back */
				pgb_mem_steps_note(&d, b, t);
			}
			ok(d.last_back == MB(35) && d.trough == MB(125) && pgb_mem_steps_next(&d) == MB(140),
			   "dips of 0.1 and 2 MB after a 35 MB give-back: the step's estimate stands");

			/* a give-back read half way through (unmapped in batches) counts whole */
			pgb_mem_steps_reset(&d);
			pgb_mem_steps_note(&d, MB(100), 10);
			for (t = 20; t <= 500; t += 10)
				pgb_mem_steps_note(&d, MB(100) + MB(t) / 10, t);
			pgb_mem_steps_note(&d, MB(160), 510);
			pgb_mem_steps_note(&d, MB(145), 520);
			pgb_mem_steps_note(&d, MB(125), 530);
			ok(d.last_back == MB(35) && d.trough == MB(125),
			   "a give-back of 35 MB read as 15 then 20: one of 35 MB, 125 held");
			for (t = 540; t <= 910; t += 10)
				pgb_mem_steps_note(&d, MB(125) + MB(t - 530) / 10, t);
			ok(pgb_mem_steps_next(&d) == MB(140), "... and its next step is 140 MB");

			/* a steady grower after a doubling one, within one active spell */
			pgb_mem_steps_note(&d, MB(20), 920);	/* the table is gone */
			for (t = 930; t <= 3000; t += 10)
				pgb_mem_steps_note(&d, MB(20) + MB(t - 920) / 5, t);
			ok(d.growing && d.gave_back == 0 && pgb_mem_steps_next(&d) == 0,
			   "then a query that grows steadily: no doubling grower");
		}

		/* the slow hog of bench/memory.sh, in a 1024 MB limit */
		cancel_ms = doubling_run(250, MB(1024), 800, 0, &step_start, &at_cancel);
		ok(step_start > 0, "uncancelled, a doubling takes the server past its limit");
		ok(cancel_ms > 0 && cancel_ms < step_start,
		   "the doubling grower is cancelled before the step that would pass the limit begins");
		{
			char		msg[128];

			snprintf(msg, sizeof(msg), "cancelled at %lld ms, %.0f MB; the fatal step began at %lld ms",
					 (long long) cancel_ms, (double) at_cancel / MB(1), (long long) step_start);
			diag(msg);
		}
		cancel_ms = doubling_run(100, MB(4096), 800, 0, &step_start, &at_cancel);
		ok(cancel_ms > 0 && cancel_ms < step_start,
		   "... in a 4 GB limit too");
		cancel_ms = doubling_run(250, MB(1024), 100, 0, &step_start, &at_cancel);
		ok(cancel_ms > 0 && cancel_ms < step_start,
		   "... with quick copies too");
		cancel_ms = doubling_run(300, MB(1024), 800, 170, &step_start, &at_cancel);
		ok(cancel_ms < 0 && step_start < 0,
		   "one whose input ends soon after a step (300 MB beside it, 844 MB at that step's top, its next of 512 MB past the last-resort mark) is left alone");
	}
	s[0] = sess(1, 1, 10, true, MB(600));	/* stable, doubled once */
	s[1] = sess(2, 1, 10, true, MB(100));
	s[1].next_step = MB(160);				/* growing by doublings */
	is_int(pgb_mem_step_victim(s, 2, MB(700), 0, MB(1000), 0.9), -1,
		   "700 MB and a next step of 160: room for it, nobody");
	is_int(pgb_mem_step_victim(s, 2, MB(800), 0, MB(1000), 0.9), 1,
		   "800 MB and a next step of 160 past the mark: the grower, not the larger stable query");
	is_int(pgb_mem_step_victim(s, 2, MB(800), 0, MB(1000), 0), -1, "guard 0: off");
	is_int(pgb_mem_step_victim(s, 2, MB(800), MB(100), MB(1000), 0.9), -1,
		   "a cancelled query's memory on the way back: room again");
	s[1].cancelled = true;
	is_int(pgb_mem_step_victim(s, 2, MB(800), 0, MB(1000), 0.9), -1,
		   "a cancelled session is not chosen again");
	is_int(victim(s, 1, MB(899), MB(1000), 0.9), -1,
		   "the large stable query under the mark: left alone");
	s[0] = sess(1, 0, 100, false, MB(300));	/* web, never shed */
	s[0].next_step = MB(400);
	s[1] = sess(2, 1, 10, true, MB(100));		/* ai */
	s[1].next_step = MB(200);
	s[2] = sess(3, 1, 10, true, MB(150));		/* ai, an exempt superuser */
	s[2].exempt = true;
	s[2].next_step = MB(300);
	s[3] = sess(4, 2, 0, true, MB(50));		/* bulk, steady */
	is_int(pgb_mem_step_victim(s, 4, MB(800), 0, MB(1000), 0.9), 1,
		   "the lowest sheddable class with a step past the mark first (not bulk: no step)");
	s[1].next_step = MB(50);
	is_int(pgb_mem_step_victim(s, 4, MB(800), 0, MB(1000), 0.9), 0,
		   "a step that stays under the mark is left alone: then any class's past the last-resort mark");
	s[0].next_step = MB(120);
	s[2].next_step = MB(50);
	is_int(pgb_mem_step_victim(s, 4, MB(800), 0, MB(1000), 0.9), -1,
		   "a step of a class never shed that would end between the marks: left alone (the guard would not cancel it there either)");
	s[1].next_step = MB(120);
	is_int(pgb_mem_step_victim(s, 4, MB(800), 0, MB(1000), 0.9), 1,
		   "a sheddable class's step that would end between the marks: cancelled");
	s[1].next_step = MB(50);
	s[0].next_step = MB(400);
	s[2].next_step = MB(300);
	s[0].next_step = 0;
	is_int(pgb_mem_step_victim(s, 4, MB(800), 0, MB(1000), 0.9), 2,
		   "superusers' last");
	s[2].next_step = 0;
	is_int(pgb_mem_step_victim(s, 4, MB(800), 0, MB(1000), 0.9), -1,
		   "nobody grows by doublings: nobody");
	is_int(victim(s, 4, MB(900), MB(1000), 0.9), 3,
		   "a steady grower: the marks as before");

	/* class budgets */
	s[0] = sess(1, 1, 10, true, MB(300));
	s[1] = sess(2, 1, 10, true, MB(200));
	s[2] = sess(3, 1, 10, true, MB(100));
	s[3] = sess(4, 2, 0, true, MB(700));
	s[3].active = false;
	class_limit[1] = MB(500);
	n = pgb_mem_budget_victims(s, 4, class_limit, session_limit, sums, 4, v, 8);
	ok(sums[1] == MB(600) && sums[2] == MB(700), "the sums by class count every session");
	is_int(n, 1, "a class past mem: one victim a tick");
	is_int(v[0].index, 0, "... its largest session");
	is_int(v[0].reason, PGB_MEM_OVER_CLASS, "... for the class's budget");
	s[0].cancelled = true;
	is_int(pgb_mem_budget_victims(s, 4, class_limit, session_limit, sums, 4, v, 8), 0,
		   "a class whose cancelled session is still stopping is left alone meanwhile");
	s[0].cancelled = false;
	class_limit[1] = MB(600);
	is_int(pgb_mem_budget_victims(s, 4, class_limit, session_limit, sums, 4, v, 8), 0,
		   "at its budget exactly: nobody");
	session_limit[1] = MB(150);
	n = pgb_mem_budget_victims(s, 4, class_limit, session_limit, sums, 4, v, 8);
	is_int(n, 2, "two sessions past session_mem");
	ok(v[0].index == 0 && v[1].index == 1 && v[0].reason == PGB_MEM_OVER_SESSION,
	   "... each for its own budget");
	class_limit[1] = MB(100);
	n = pgb_mem_budget_victims(s, 4, class_limit, session_limit, sums, 4, v, 8);
	is_int(n, 2, "a class past both: the sessions past session_mem give way, no more");
	session_limit[2] = MB(100);
	n = pgb_mem_budget_victims(s, 4, class_limit, session_limit, sums, 4, v, 8);
	is_int(n, 2, "an idle session past session_mem has no query to cancel");
	s[2].exempt = true;
	session_limit[1] = MB(50);
	n = pgb_mem_budget_victims(s, 4, class_limit, session_limit, sums, 4, v, 1);
	is_int(n, 1, "at most max victims");

	return done_testing();
}
