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

int
main(void)
{
	test_wal_bucket();
	test_wal_bounds();
	return done_testing();
}
