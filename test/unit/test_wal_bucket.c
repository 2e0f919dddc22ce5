/*-------------------------------------------------------------------------
 *
 * test_wal_bucket.c
 *	  Unit tests of the WAL budget's bucket: burst, refill, debt and its
 *	  bound, the wait a debt means and the steps it is slept in.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/wal_bucket.c
#include "wal_bucket.h"

#include "unit.h"

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

int
main(void)
{
	test_wal_bucket();
	test_wal_bounds();
	test_wal_release();
	return done_testing();
}
