/*-------------------------------------------------------------------------
 *
 * wal_math.c
 *	  The WAL budget's bucket arithmetic (see wal_math.h).
 *
 *-------------------------------------------------------------------------
 */
#include "c.h"

#include <math.h>

#include "wal_math.h"

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

void
pgb_wal_aimd_reset(PgbWalAimd *s)
{
	s->limit = 0;
	s->base = 0;
	s->mark = 0;
	s->last_step_ms = 0;
	s->calm_since_ms = -1;
	s->quiet_since_ms = -1;
	s->cuts = 0;
	s->probes = 0;
}

bool
pgb_wal_aimd_step(PgbWalAimd *s, bool pressure, bool slow_now, bool calm,
				  double rate_avg, const PgbWalAimdParams *p, int64 now_ms)
{
	double		next;
	double		ceiling;
	double		share;

	if (!calm)
		s->calm_since_ms = -1;
	else if (s->calm_since_ms < 0)
		s->calm_since_ms = now_ms;
	if (slow_now)
		s->quiet_since_ms = -1;
	else if (s->quiet_since_ms < 0)
		s->quiet_since_ms = now_ms;

	if (pressure && slow_now)
	{
		double		from = s->limit > 0 ? s->limit : rate_avg;
		int64		gap = s->cuts == 0 ? Max(p->step_ms / 4, 1) :
			p->step_ms << Min(s->cuts - 1, 16);

		if (now_ms - s->last_step_ms < gap)
			return false;
		if (p->configured > 0 && !(from <= p->configured))
			from = p->configured;
		next = from * p->decrease;
		if (!(next >= p->floor_rate))
			next = p->floor_rate;
		if (s->limit > 0 && next >= s->limit)
			return false;
		if (s->limit <= 0)
			s->base = from;
		s->mark = from;
		s->limit = next;
		s->cuts++;
		s->probes = 0;
		s->last_step_ms = now_ms;
		return true;
	}
	if (s->limit <= 0 || slow_now)
		return false;
	ceiling = p->configured > 0 ? p->configured : s->base;
	share = PGB_WAL_MARK_SHARE * s->mark;
	if (s->limit < share)
	{
		/* halfway to known ground at each step of quiet */
		if (now_ms - s->quiet_since_ms < p->step_ms ||
			now_ms - s->last_step_ms < p->step_ms)
			return false;
		next = s->limit + (share - s->limit) / 2;
		if (share - next < p->floor_rate)
			next = share;
	}
	else
	{
		/* probing: the first after calm_ms of calm, each next a step later */
		double		step = p->increase * s->limit * ldexp(1.0, Min(s->probes, 30));

		if (!calm || now_ms - s->calm_since_ms < p->calm_ms ||
			now_ms - s->last_step_ms < p->step_ms)
			return false;
		next = s->limit + Max(step, p->floor_rate);
		s->probes++;
	}
	s->limit = next >= ceiling ? 0 : next;
	s->cuts = 0;
	s->last_step_ms = now_ms;
	return true;
}
