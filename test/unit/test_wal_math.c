/*-------------------------------------------------------------------------
 *
 * test_wal_math.c
 *	  Unit tests of the WAL budget's bucket: burst, refill, debt and its
 *	  bound, the wait a debt means and the steps it is slept in.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/wal_math.c
#include "wal_math.h"

#include "unit.h"

/* a moving average's weight, as policy_math.c's pgb_ema_alpha */
static double
model_alpha(double dt_ms, double tau_ms)
{
	return 1.0 - exp(-dt_ms / tau_ms);
}

/* The WAL bucket: burst, refill, debt and the wait it means. */
static void
test_wal_bucket(void)
{
	double		mb = 1024.0 * 1024;
	double		t;

	is_double(pgb_wal_burst(4 * mb), 4 * mb, 1, "the burst is one second of budget");
	is_double(pgb_wal_burst(1000), PGB_WAL_BURST_MIN, 1, "at least 64 kB");
	is_double(pgb_wal_burst(0), PGB_WAL_BURST_MIN, 1, "no rate: the minimum");
	t = pgb_wal_refill(-2 * mb, 4 * mb, 250000);
	is_double(t, -1 * mb, 1, "a quarter second at 4MB/s pays back 1 MB of debt");
	is_double(pgb_wal_refill(3 * mb, 4 * mb, 10e6), 4 * mb, 1, "refill stops at the burst");
	is_double(pgb_wal_refill(-mb, 4 * mb, -5), -mb, 1, "time going back refills nothing");
	is_double(pgb_wal_refill(NAN, 4 * mb, 0), 4 * mb, 1, "NaN tokens start full");
	is_double(pgb_wal_wait_ms(-2 * mb, 4 * mb), 500, 0.001, "2 MB of debt at 4MB/s is 500 ms");
	is_double(pgb_wal_wait_ms(10, 4 * mb), 0, 0, "no debt, no wait");
	is_double(pgb_wal_wait_ms(-mb, 0), 0, 0, "no budget, no wait");
	is_double(pgb_wal_limit(0, 0), 0, 0, "no budget at all");
	is_double(pgb_wal_limit(4 * mb, 0), 4 * mb, 0, "configured only");
	is_double(pgb_wal_limit(0, 2 * mb), 2 * mb, 0, "adaptive only");
	is_double(pgb_wal_limit(4 * mb, 2 * mb), 2 * mb, 0, "the lower of the two");
	is_double(pgb_wal_limit(4 * mb, 8 * mb), 4 * mb, 0, "never above the configured budget");

	/* a class writing 1 MB transactions flat out under 4MB/s for 10 s */
	{
		double		tokens = pgb_wal_burst(4 * mb);
		double		now_ms = 0;
		double		written = 0;

		while (now_ms < 10000)
		{
			double		wait = pgb_wal_wait_ms(tokens, 4 * mb);

			now_ms += wait + 5;	/* wait out the debt, then 5 ms of work */
			tokens = pgb_wal_refill(tokens, 4 * mb, (wait + 5) * 1000);
			tokens -= mb;
			written += mb;
		}
		ok(written / (now_ms / 1000) <= 4.5 * mb && written / (now_ms / 1000) >= 3.5 * mb,
		   "flat out, the bucket holds a class near its budget over 10 s");
	}
}

/* The debt is bounded; a wait is slept in steps of at most a second. */
static void
test_wal_bounds(void)
{
	double		mb = 1024.0 * 1024;
	double		t;

	is_double(pgb_wal_debt_floor(4 * mb), -20 * mb, 1, "at most five seconds of debt at 4MB/s");
	is_double(pgb_wal_debt_floor(100), -5 * PGB_WAL_BURST_MIN, 1,
			  "a tiny budget: five minimum bursts");
	is_double(pgb_wal_debit(mb, 0.5 * mb, 4 * mb, true), 0.5 * mb, 1, "a debit takes its bytes");
	is_double(pgb_wal_debit(0, 1024 * mb, 4 * mb, true), -20 * mb, 1,
			  "a gigabyte at 4MB/s leaves five seconds of debt, not four minutes");
	is_double(pgb_wal_debit(-19 * mb, 2 * mb, 4 * mb, true), -20 * mb, 1, "the floor holds across debits");
	is_double(pgb_wal_debit(mb, -5, 4 * mb, true), mb, 1, "negative bytes charge nothing");
	is_double(pgb_wal_debit(NAN, mb, 4 * mb, true), 3 * mb, 1, "NaN tokens start full");
	is_double(pgb_wal_debit(0, 100 * mb, 4 * mb, false), -100 * mb, 1,
			  "a let-through's debit is whole: its wait is deferred, not waived");
	is_double(pgb_wal_debit(-100 * mb, mb, 4 * mb, true), -100 * mb, 1,
			  "a bounded debit never raises a deferred debt to the bound");
	is_double(pgb_wal_debit(-100 * mb, mb, 4 * mb, false), -101 * mb, 1,
			  "deferred debits add up");
	t = pgb_wal_wait_ms(pgb_wal_debit(0, 1e15, 4 * mb, true), 4 * mb);
	is_double(t, 5000, 0.01, "the longest wait is five seconds");
	ok(pgb_wal_wait_ms(pgb_wal_debit(0, 1e300, 1, true), 1) <= 5 * 1000 * PGB_WAL_BURST_MIN,
	   "even at 1 B/s the wait is bounded");

	/* the lock-free estimate a session entering the gate judges by */
	is_double(pgb_wal_estimate(mb, 4 * mb, 250000, 0), 2 * mb, 1,
			  "a quarter second at 4MB/s adds 1 MB");
	is_double(pgb_wal_estimate(mb, 4 * mb, 250000, 3 * mb), -mb, 1,
			  "less what was charged since: in debt");
	is_double(pgb_wal_estimate(3 * mb, 4 * mb, 10e6, 0), 4 * mb, 1,
			  "never above the burst");
	is_double(pgb_wal_estimate(-100 * mb, 4 * mb, 0, 1e12), -100 * mb - 1e12, 1,
			  "pending charges all count, unbounded: it errs towards a debt only");
	ok(pgb_wal_estimate(0, 4 * mb, 0, 0) >= 0, "empty, nothing pending: not in debt");

	is_int(pgb_wal_sleep_ms(0), 1, "a sleep is at least 1 ms");
	is_int(pgb_wal_sleep_ms(-3), 1, "never negative");
	is_int(pgb_wal_sleep_ms(NAN), 1, "NaN sleeps 1 ms");
	is_int(pgb_wal_sleep_ms(12.2), 13, "rounded up");
	is_int(pgb_wal_sleep_ms(999.5), 1000, "just under a second");
	is_int(pgb_wal_sleep_ms(2147483647.0 * 10), PGB_WAL_WAIT_STEP_MS,
		   "past INT_MAX ms: one step");
	is_int(pgb_wal_sleep_ms(INFINITY), PGB_WAL_WAIT_STEP_MS, "infinity: one step");
}

/*
 * Throttled sessions released one at a time.  A model of 8 bulk sessions
 * writing 1 MB transactions (5 ms each) under 20MB/s, in 1 ms steps for
 * 10 s: the WAL of each second, and its coefficient of variation.
 */
static double
simulate_cv(bool spaced, double *mean_out)
{
	const double mb = 1024.0 * 1024;
	const double rate = 20 * mb;
	const int	nsess = 8;
	const int	seconds = 10;
	double		tokens = pgb_wal_burst(rate);
	double		next_release_ms = 0;
	double		per_second[10] = {0};
	double		wake_ms[8];
	double		done_ms[8];
	double		mean = 0,
				var = 0;
	int			i;
	long		now;

	for (i = 0; i < nsess; i++)
	{
		wake_ms[i] = 0;
		done_ms[i] = -1;
	}
	for (now = 0; now < seconds * 1000; now++)
	{
		tokens = pgb_wal_refill(tokens, rate, 1000);
		for (i = 0; i < nsess; i++)
		{
			if (done_ms[i] >= 0)
			{
				if (now >= done_ms[i])
				{
					/* the transaction ends: charged, and the next starts */
					tokens = pgb_wal_debit(tokens, mb, rate, true);
					per_second[now / 1000] += mb;
					done_ms[i] = -1;
					wake_ms[i] = now;
				}
				continue;
			}
			if (now >= wake_ms[i])
			{
				double		w = pgb_wal_release_wait_ms(tokens, rate,
														(next_release_ms - now) * 1000);

				if (w <= 0)
				{
					done_ms[i] = now + 5;
					if (spaced)
						next_release_ms = now + pgb_wal_release_gap_us(mb, rate) / 1000;
				}
				else
					wake_ms[i] = now + pgb_wal_sleep_ms(w);
			}
		}
	}
	for (i = 1; i < seconds; i++)
		mean += per_second[i] / (seconds - 1);
	for (i = 1; i < seconds; i++)
		var += (per_second[i] - mean) * (per_second[i] - mean) / (seconds - 1);
	*mean_out = mean;
	return sqrt(var) / mean;
}

static void
test_wal_release(void)
{
	double		mb = 1024.0 * 1024;
	double		mean;
	double		cv;
	char		msg[128];

	is_double(pgb_wal_release_gap_us(mb, 20 * mb), 50000, 1,
			  "a 1 MB transaction at 20MB/s: the next goes 50 ms later");
	is_double(pgb_wal_release_gap_us(100 * mb, 20 * mb), 1e6, 1, "at most a second apart");
	is_double(pgb_wal_release_gap_us(0, 20 * mb), 0, 0, "unknown size: no gap");
	is_double(pgb_wal_release_gap_us(mb, 0), 0, 0, "no budget: no gap");
	is_double(pgb_wal_release_wait_ms(-mb, 20 * mb, 0), 50, 0.01, "in debt: wait it out");
	is_double(pgb_wal_release_wait_ms(mb, 20 * mb, 30000), 30, 0.01,
			  "out of debt but another was just released: wait the gap");
	is_double(pgb_wal_release_wait_ms(mb, 20 * mb, -5), 0, 0, "out of debt, past the gap: go");
	is_double(pgb_wal_release_wait_ms(-mb, 0, 1e6), 0, 0, "no budget: go");

	cv = simulate_cv(true, &mean);
	snprintf(msg, sizeof(msg), "released one at a time: %.1f MB/s, CV %.3f", mean / mb, cv);
	diag(msg);
	ok(cv <= 0.25, "the class writes at an even pace (CV <= 0.25)");
	ok(mean <= 21 * mb && mean >= 17 * mb, "near its 20MB/s budget");
	cv = simulate_cv(false, &mean);
	snprintf(msg, sizeof(msg), "released all together: %.1f MB/s, CV %.3f", mean / mb, cv);
	diag(msg);
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
	is_double(s.limit, 10 * mb, 1, "the budget in force, halved (not what it wrote)");
	is_double(s.mark, 20 * mb, 1, "the mark: the lowest rate still slow");
	is_double(s.base, 40 * mb, 1, "the base stays");
	ok(!STEP(true, false, false, 10 * mb, t += 1000),
	   "commits fast now, the sustained average still high: no third cut");

	q = t;						/* quiet since */
	ok(!STEP(true, false, false, 10 * mb, q + 500), "half a step of quiet: not yet");
	ok(STEP(true, false, false, 10 * mb, q + 1000), "a step of quiet raises, sustained pressure or not");
	is_double(s.limit, 14 * mb, 1, "halfway up to 0.9 of the mark (18 MB/s)");
	ok(!STEP(false, false, true, 14 * mb, q + 1500), "one step at a time");
	STEP(false, false, true, 14 * mb, q + 2000);
	is_double(s.limit, 16 * mb, 1, "halfway again");
	STEP(false, false, true, 16 * mb, q + 3000);
	is_double(s.limit, 17 * mb, 1, "and again");
	STEP(false, false, true, 17 * mb, q + 4000);
	is_double(s.limit, 18 * mb, 1, "within the floor of it: there");
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

	/* cuts in a row come further and further apart */
	pgb_wal_aimd_reset(&s);
	t += 100000;
	STEP(true, true, false, 100 * mb, t);
	ok(STEP(true, true, false, 100 * mb, t + 1000), "the second cut a step later");
	ok(!STEP(true, true, false, 100 * mb, t + 2500), "the third not 1.5 s after it");
	ok(STEP(true, true, false, 100 * mb, t + 3000), "but 2 s after it");
	ok(!STEP(true, true, false, 100 * mb, t + 6500), "the fourth not 3.5 s after that");
	ok(STEP(true, true, false, 100 * mb, t + 7000), "but 4 s after it");
	is_double(s.limit, 6.25 * mb, 1, "four cuts in 7 s: a sixteenth, not the floor");

	/* a long pressure goes down to the floor, and back */
	for (i = 0; i < 20; i++)
		STEP(true, true, false, 100 * mb, t += 100000);
	is_double(s.limit, mb, 1, "never below the floor");
	is_double(s.mark, 1.5625 * mb, 1, "the mark: the last rate cut from");
	q = t + 10;
	STEP(false, false, true, mb, q);
	STEP(false, false, true, mb, q + 1000);
	is_double(s.limit, 1.40625 * mb, 1, "0.9 of it: less than a floor's step away");
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
simulate_aimd(double knee, double *mean_rate, double *over_share)
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
		double		slow = rate > knee ? 0.3 : 0.01;
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
test_wal_aimd_model(void)
{
	const double mb = 1024.0 * 1024;
	const double knees[] = {20 * mb, 60 * mb, 120 * mb};
	int			i;

	for (i = 0; i < 3; i++)
	{
		double		mean,
					over;
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
	test_wal_bucket();
	test_wal_bounds();
	test_wal_release();
	test_wal_aimd();
	test_wal_aimd_model();
	return done_testing();
}
