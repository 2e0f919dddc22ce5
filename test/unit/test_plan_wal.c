/*-------------------------------------------------------------------------
 *
 * test_plan_wal.c
 *	  Unit tests of the adaptive WAL budget's step (src/plan_wal.c): cuts
 *	  and the mark, the way back up, probing; and the step against a model
 *	  of the WAL.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/plan.c src/plan_give_way.c src/plan_rounds.c src/plan_pressure.c src/plan_admit.c src/plan_active.c src/plan_wal.c src/plan_inherit.c src/plan_runaway.c
// SOURCES: src/policy_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "plan.h"

#include "unit.h"

/* a moving average's weight, as policy_math.c's pgb_ema_alpha */
static double
model_alpha(double dt_ms, double tau_ms)
{
	return 1.0 - exp(-dt_ms / tau_ms);
}

/*
 * The adaptive budget's step: cuts and the mark, halfway back up at each
 * quiet step, then probing.  Signals: P pressure (sustained), S slow now,
 * C calm.
 */
#define STEP(P, S, C, rate, at) pgb_wal_aimd_step(&s, P, S, C, rate, &p, at)

static void
test_wal_aimd(void)
{
	const double mb = 1024.0 * 1024;
	PgbWalAimdParams p = {0, mb, 0.5, 0.05, 1000, 5000};
	PgbWalAimd	s;
	int64		t = 100000;
	int64		q;
	int			i;

	pgb_wal_aimd_reset(&s);
	ok(!STEP(false, false, true, 40 * mb, t), "calm and no budget: nothing to do");
	ok(!STEP(true, false, false, 40 * mb, t += 10),
	   "sustained pressure but no slow commit now: no cut");
	ok(STEP(true, true, false, 40 * mb, t += 10), "pressure and slow now: a cut");
	is_double(s.limit, 20 * mb, 1, "from what it writes, halved");
	is_double(s.base, 40 * mb, 1, "remembers the rate it had");
	is_double(s.mark, 40 * mb, 1, "and the rate the cut came at");
	ok(!STEP(true, true, false, 30 * mb, t + 250), "a cut in a row waits a whole step");
	ok(STEP(true, true, false, 30 * mb, t += 1000), "then cuts again while commits are slow");
	is_double(s.limit, 12 * mb, 1, "the budget in force, halved (not what it wrote), but never below 0.3 of the base");
	ok(!STEP(true, true, false, 12 * mb, t + 2000), "at its fair share: no third cut, however slow");
	is_double(s.mark, 20 * mb, 1, "the mark: the lowest rate still slow");
	is_double(s.base, 40 * mb, 1, "the base stays");
	ok(!STEP(true, false, false, 12 * mb, t += 2000),
	   "commits fast now, the sustained average still high: no cut");

	q = t;						/* quiet since */
	ok(!STEP(true, false, false, 12 * mb, q + 500), "half a step of quiet: not yet");
	ok(STEP(true, false, false, 12 * mb, q + 1000), "a step of quiet raises, sustained pressure or not");
	is_double(s.limit, 15 * mb, 1, "halfway up to 0.9 of the mark (18 MB/s)");
	ok(!STEP(false, false, true, 15 * mb, q + 1500), "one step at a time");
	STEP(false, false, true, 15 * mb, q + 2000);
	is_double(s.limit, 16.5 * mb, 1, "halfway again");
	STEP(false, false, true, 16.5 * mb, q + 3000);
	is_double(s.limit, 18 * mb, 1, "within the floor of it: there");
	ok(!STEP(false, false, true, 18 * mb, q + 4000), "and there it stays");
	ok(!STEP(false, false, true, 18 * mb, q + 5000),
	   "at 0.9 of the mark, probing waits for calm_time of calm (calm since q + 1500)");
	ok(STEP(false, false, true, 18 * mb, q + 6500), "then probes");
	is_double(s.limit, 19 * mb, 1, "by 5%, at least the floor (1 MB/s)");
	STEP(false, false, true, 19 * mb, q + 7500);
	is_double(s.limit, 19 * 1.1 * mb, 1, "each probe's increase twice the last while calm lasts");
	STEP(false, false, true, 21 * mb, q + 8500);
	STEP(false, false, true, 25 * mb, q + 9500);
	is_double(s.limit, 19 * 1.1 * 1.2 * 1.4 * mb, 1, "then 20%, 40%");
	ok(STEP(false, false, true, 33 * mb, q + 10500), "and past the base");
	is_double(s.limit, 0, 0, "lifts it");

	/* slow commits while probing: a new mark, a quick cut */
	pgb_wal_aimd_reset(&s);
	t += 100000;
	STEP(true, true, false, 100 * mb, t);
	for (i = 1; i <= 7; i++)
		STEP(false, false, true, 50 * mb, t + 10 + 1000 * i);
	is_double(s.limit, 90 * mb, 1, "one cut: 70, 80, 85, 87.5, 88.75, 89.4, then 0.9 of the mark");
	STEP(false, false, true, 90 * mb, t + 10 + 8000);
	is_double(s.limit, 94.5 * mb, 1, "a probe");
	ok(!STEP(true, true, false, 95 * mb, t + 8100),
	   "slow a tenth of a second after a raise: the quarter step is not over");
	ok(STEP(true, true, false, 95 * mb, t + 8260), "then it cuts");
	is_double(s.mark, 94.5 * mb, 1, "the new mark");
	is_double(s.limit, 47.25 * mb, 1, "halved");
	is_int(s.probes, 0, "probing starts over");

	/* cuts in a row come further and further apart (cuts of a fifth) */
	pgb_wal_aimd_reset(&s);
	p.decrease = 0.8;
	t += 100000;
	STEP(true, true, false, 100 * mb, t);
	ok(STEP(true, true, false, 100 * mb, t + 1000), "the second cut a step later");
	ok(!STEP(true, true, false, 100 * mb, t + 2500), "the third not 1.5 s after it");
	ok(STEP(true, true, false, 100 * mb, t + 3000), "but 2 s after it");
	ok(!STEP(true, true, false, 100 * mb, t + 6500), "the fourth not 3.5 s after that");
	ok(STEP(true, true, false, 100 * mb, t + 7000), "but 4 s after it");
	is_double(s.limit, 100 * 0.8 * 0.8 * 0.8 * 0.8 * mb, 1, "four cuts in 7 s");

	/* a long pressure goes down to the class's fair share, no further */
	for (i = 0; i < 20; i++)
		STEP(true, true, false, 100 * mb, t += 100000);
	is_double(s.limit, 30 * mb, 1, "never below 0.3 of the base (100 MB/s)");
	is_double(s.base, 100 * mb, 1, "the base stays what it was at the first cut");
	p.decrease = 0.5;

	/* a class whose share is under the floor goes down to the floor, and back */
	pgb_wal_aimd_reset(&s);
	for (i = 0; i < 20; i++)
		STEP(true, true, false, 2 * mb, t += 100000);
	is_double(s.limit, mb, 1, "0.3 of 2 MB/s is under the floor: never below the floor");
	is_double(s.mark, 2 * mb, 1, "the mark: the last rate cut from");
	q = t + 10;
	STEP(false, false, true, mb, q);
	STEP(false, false, true, mb, q + 1000);
	is_double(s.limit, 1.8 * mb, 1, "0.9 of it: less than a floor's step away");
	{
		int			steps = 0;

		while (s.limit > 0 && steps < 100)
		{
			steps++;
			STEP(false, false, true, s.limit, q + 1000 + 1000 * steps);
		}
		ok(s.limit == 0 && steps <= 20,
		   "calm lifts a budget cut to the floor within 20 s (probes double)");
	}

	/* a configured budget is the ceiling and the base */
	pgb_wal_aimd_reset(&s);
	p.configured = 8 * mb;
	ok(STEP(true, true, false, 40 * mb, t += 1000), "pressure on a class with wal=8MB/s");
	is_double(s.limit, 4 * mb, 1, "lowered from its budget, not from what it asks");
	p.configured = 0;

	/* bad input never makes a budget below the floor */
	pgb_wal_aimd_reset(&s);
	STEP(true, true, false, NAN, t += 1000);
	is_double(s.limit, mb, 1, "an unknown rate: the floor");
}

/*
 * The adaptive budget against a model of the WAL: a bulk class that would
 * write 250 MB/s, a budget taking hold within a few hundred ms (its
 * transactions under way end); web's commits slow (30% of them past the
 * target) while bulk writes more than the knee, else 1%; the worker's
 * moving averages of them over 2 s (pressure_window, sustained) and
 * 250 ms (slow now), a commit slow when more than 5% are.  Over the last
 * 20 s of 30 s of 10 ms ticks: bulk's mean rate, and the share of the
 * time it wrote past the knee.
 */
static void
simulate_aimd_slow(double knee, double slow_below, double *mean_rate,
				   double *over_share)
{
	const double mb = 1024.0 * 1024;
	PgbWalAimdParams p = {0, mb, 0.5, 0.05, 1000, 5000};
	PgbWalAimd	s;
	double		rate = 250 * mb;
	double		rate_avg = rate;
	double		slow_avg = 0;
	double		slow_fast = 0;
	double		sum = 0;
	int			over = 0;
	int			n = 0;
	int64		now;

	pgb_wal_aimd_reset(&s);
	for (now = 0; now < 30000; now += 10)
	{
		double		want = s.limit > 0 ? s.limit : 250 * mb;
		double		slow = rate > knee ? 0.3 : slow_below;
		bool		pressure;

		rate += model_alpha(10, 200) * (want - rate);
		rate_avg += model_alpha(10, 2000) * (rate - rate_avg);
		slow_avg += model_alpha(10, 2000) * (slow - slow_avg);
		slow_fast += model_alpha(10, 250) * (slow - slow_fast);
		pressure = slow_avg >= 0.05;
		pgb_wal_aimd_step(&s, pressure, slow_fast >= 0.05, !pressure, rate_avg, &p, now);
		if (now >= 10000)
		{
			sum += rate;
			over += rate > knee;
			n++;
		}
	}
	*mean_rate = sum / n;
	*over_share = (double) over / n;
}

static void
simulate_aimd(double knee, double *mean_rate, double *over_share)
{
	simulate_aimd_slow(knee, 0.01, mean_rate, over_share);
}

static void
test_wal_aimd_model(void)
{
	const double mb = 1024.0 * 1024;
	const double knees[] = {90 * mb, 120 * mb, 180 * mb};
	const double low_knees[] = {20 * mb, 60 * mb};
	double		mean,
				over;
	int			i;

	/*
	 * Web's commits slow for another reason too (10% of them past the
	 * target whatever bulk writes: a CPU others load): cuts can not mend
	 * them, and bulk keeps its fair share, 0.3 of its 250 MB/s, where it
	 * went to a sixteenth and less before.
	 */
	simulate_aimd_slow(250 * mb, 0.1, &mean, &over);
	{
		char		msg[160];

		snprintf(msg, sizeof(msg), "model, slow whatever bulk writes: bulk %.1f MB/s on average (%.2fx of its rate)",
				 mean / mb, mean / (250 * mb));
		diag(msg);
	}
	ok(mean >= PGB_WAL_FAIR_SHARE * 250 * mb * 0.99,
	   "commits slow whatever bulk writes: bulk keeps its fair share (0.3x)");

	/*
	 * A knee below the fair share: the budget sits at the share, and web's
	 * commits are not held (the trade the fair share makes).
	 */
	for (i = 0; i < 2; i++)
	{
		char		msg[160];

		simulate_aimd(low_knees[i], &mean, &over);
		snprintf(msg, sizeof(msg), "model, knee %.0f MB/s: bulk %.1f MB/s on average, past the knee %.0f%% of the time",
				 low_knees[i] / mb, mean / mb, 100 * over);
		diag(msg);
		snprintf(msg, sizeof(msg), "knee %.0f MB/s, under the fair share: bulk at its share, 75 MB/s",
				 low_knees[i] / mb);
		is_double(mean, PGB_WAL_FAIR_SHARE * 250 * mb, 0.02 * 250 * mb, msg);
	}

	for (i = 0; i < 3; i++)
	{
		char		msg[160];

		simulate_aimd(knees[i], &mean, &over);
		snprintf(msg, sizeof(msg), "model, knee %.0f MB/s: bulk %.1f MB/s on average (%.2fx), past the knee %.0f%% of the time",
				 knees[i] / mb, mean / mb, mean / knees[i], 100 * over);
		diag(msg);
		snprintf(msg, sizeof(msg), "knee %.0f MB/s: bulk keeps at least 0.6x of it", knees[i] / mb);
		ok(mean >= 0.6 * knees[i], msg);
		snprintf(msg, sizeof(msg), "knee %.0f MB/s: past it at most 15%% of the time", knees[i] / mb);
		ok(over <= 0.15, msg);
	}
}

int
main(void)
{
	test_wal_aimd();
	test_wal_aimd_model();
	return done_testing();
}
