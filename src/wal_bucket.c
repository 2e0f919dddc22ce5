/*-------------------------------------------------------------------------
 *
 * wal_bucket.c
 *	  The WAL budget's bucket arithmetic (see wal_bucket.h).
 *
 *-------------------------------------------------------------------------
 */
#include "c.h"

#include <math.h>

#include "wal_bucket.h"

double
pgb_wal_burst(double rate)
{
	if (!(rate > 0))
		return PGB_WAL_BURST_MIN;
	return rate > PGB_WAL_BURST_MIN ? rate : PGB_WAL_BURST_MIN;
}

double
pgb_wal_refill(double tokens, double rate, double elapsed_us)
{
	double		burst = pgb_wal_burst(rate);

	if (isnan(tokens))
		tokens = burst;
	if (rate > 0 && elapsed_us > 0)
		tokens += rate * elapsed_us / 1e6;
	return tokens > burst ? burst : tokens;
}

double
pgb_wal_debt_floor(double rate)
{
	return -PGB_WAL_MAX_DEBT_S * pgb_wal_burst(rate);
}

double
pgb_wal_debit(double tokens, double bytes, double rate, bool bounded)
{
	double		floor_ = pgb_wal_debt_floor(rate);
	double		after;

	if (isnan(tokens))
		tokens = pgb_wal_burst(rate);
	if (!(bytes > 0))
		return tokens;
	after = tokens - bytes;
	if (!bounded || after >= floor_)
		return after;
	return tokens < floor_ ? tokens : floor_;
}

double
pgb_wal_estimate(double tokens, double rate, double elapsed_us, double pending)
{
	double		t = pgb_wal_refill(tokens, rate, elapsed_us);

	if (pending > 0)
		t -= pending;
	return t;
}

double
pgb_wal_wait_ms(double tokens, double rate)
{
	if (!(rate > 0) || !(tokens < 0))
		return 0;
	return -tokens / rate * 1000.0;
}

double
pgb_wal_release_gap_us(double xact_bytes, double rate)
{
	double		gap;

	if (!(rate > 0) || !(xact_bytes > 0))
		return 0;
	gap = xact_bytes / rate * 1e6;
	return gap > PGB_WAL_RELEASE_GAP_MAX_MS * 1000.0 ?
		PGB_WAL_RELEASE_GAP_MAX_MS * 1000.0 : gap;
}

double
pgb_wal_release_wait_ms(double tokens, double rate, double until_release_us)
{
	double		debt_ms = pgb_wal_wait_ms(tokens, rate);
	double		release_ms = until_release_us > 0 ? until_release_us / 1000.0 : 0;

	if (!(rate > 0))
		return 0;
	return debt_ms > release_ms ? debt_ms : release_ms;
}

long
pgb_wal_sleep_ms(double wait_ms)
{
	if (!(wait_ms > 1))
		return 1;
	if (wait_ms >= PGB_WAL_WAIT_STEP_MS)
		return PGB_WAL_WAIT_STEP_MS;
	return (long) ceil(wait_ms);
}

double
pgb_wal_limit(double configured, double effective)
{
	if (!(configured > 0))
		return effective > 0 ? effective : 0;
	if (!(effective > 0))
		return configured;
	return configured < effective ? configured : effective;
}
