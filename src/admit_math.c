/*-------------------------------------------------------------------------
 *
 * admit_math.c
 *	  Admission arithmetic: caps, reservations, pause and the rate bucket.
 *
 * Pure functions over numbers the caller copied under the admission lock;
 * no shared state is owned here.
 *
 *-------------------------------------------------------------------------
 */
#include "admit_math.h"

#include <math.h>

PgbVerdict
pgb_admit_decide(const PgbAdmitInput *in, PgbAdmitDetail *detail)
{
	const PgbClass *self = &in->table->classes[in->self];
	int			mine = in->connected[in->self];
	int			i;

	detail->held = 0;
	detail->nblockers = 0;
	detail->free_slots = Max(in->usable - in->total_connected, 0);
	/* set before any verdict: a paused refusal reports it too */
	detail->cap = self->max;

	if (in->paused)
		return PGB_REJECT_PAUSED;

	if (in->limit != PGB_UNLIMITED &&
		(self->max == PGB_UNLIMITED || in->limit < self->max))
		detail->cap = in->limit;
	if (detail->cap != PGB_UNLIMITED && mine >= detail->cap)
		return PGB_REJECT_CAP;

	/*
	 * Inside its own reservation a class always gets in; outside it, the
	 * slot must come from what no other class holds in reserve.
	 */
	if (mine >= self->reserve)
	{
		for (i = 0; i < in->table->nclasses; i++)
		{
			int			unused;

			if (i == in->self)
				continue;
			unused = in->table->classes[i].reserve - in->connected[i];
			if (unused > 0)
			{
				detail->held += unused;
				detail->blockers[detail->nblockers++] = i;
			}
		}
		if (in->total_connected + 1 + detail->held > in->usable)
			return PGB_REJECT_RESERVE;
		detail->nblockers = 0;
	}

	if (self->rate > 0 && in->tokens < 1.0)
		return PGB_REJECT_RATE;

	return PGB_ADMIT;
}

double
pgb_bucket_refill(double tokens, double rate, int burst, int64 elapsed_us)
{
	if (rate <= 0)
		return 1.0;
	if (elapsed_us > 0)
		tokens += rate * (double) elapsed_us / 1000000.0;
	if (tokens > burst)
		tokens = burst;
	return tokens;
}

int
pgb_retry_after_ms(PgbVerdict verdict, int base_ms, double rate,
				   double tokens, double rnd)
{
	if (rnd < 0)
		rnd = 0;
	if (rnd >= 1)
		rnd = 0.999999;

	if (base_ms < 0)
		base_ms = 0;
	if (base_ms > PGB_RETRY_MAX_MS)
		base_ms = PGB_RETRY_MAX_MS;

	if (verdict == PGB_REJECT_RATE && rate > 0)
	{
		/*
		 * The time to the next token, then up to half a base more; a rate
		 * of a token a day or slower would overflow an int of ms, so the
		 * hint says at most PGB_RETRY_MAX_MS.  NaN fails every comparison:
		 * it gets the bound too.
		 */
		double		wait_ms = ceil((1.0 - tokens) * 1000.0 / rate);

		if (!(wait_ms >= 1))
			wait_ms = wait_ms < 1 ? 1 : PGB_RETRY_MAX_MS;
		wait_ms += floor(rnd * base_ms / 2.0);
		if (wait_ms > PGB_RETRY_MAX_MS)
			wait_ms = PGB_RETRY_MAX_MS;
		return (int) wait_ms;
	}
	return (int) Min((double) PGB_RETRY_MAX_MS, base_ms * (0.5 + rnd));
}

const char *
pgb_verdict_name(PgbVerdict verdict)
{
	switch (verdict)
	{
		case PGB_ADMIT:
			return "admitted";
		case PGB_REJECT_PAUSED:
			return "paused";
		case PGB_REJECT_CAP:
			return "cap";
		case PGB_REJECT_RESERVE:
			return "reserve";
		case PGB_REJECT_RATE:
			return "rate";
	}
	return "unknown";
}
