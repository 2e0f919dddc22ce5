/*-------------------------------------------------------------------------
 *
 * mem_guard.c
 *	  The memory guard's decisions (mem_guard.h): marks, the query that
 *	  gives way, sessions past their class's budget.  Pure: no server
 *	  calls; unit-tested in test/unit/test_mem_guard.c.
 *
 *-------------------------------------------------------------------------
 */
#include "mem_guard.h"

#include <limits.h>
#include <string.h>

void
pgb_mem_marks(uint64 limit, double guard, uint64 *mark, uint64 *last_resort)
{
	double		g = guard > 1.0 ? 1.0 : guard;
	double		last = g + (1.0 - g) / 2.0;

	*mark = (uint64) ((double) limit * g);
	*last_resort = (uint64) ((double) limit * last);
}

PgbMemLevel
pgb_mem_level(uint64 use, uint64 limit, double guard)
{
	uint64		mark;
	uint64		last;

	if (!(guard > 0) || limit == 0)
		return PGB_MEM_CALM;
	pgb_mem_marks(limit, guard, &mark, &last);
	if (use >= last)
		return PGB_MEM_LAST_RESORT;
	if (use >= mark)
		return PGB_MEM_GUARD;
	return PGB_MEM_CALM;
}

uint64
pgb_mem_freeable(const PgbMemSession *s)
{
	return s->bytes > s->idle_bytes ? s->bytes - s->idle_bytes : 0;
}

uint64
pgb_mem_returning(const PgbMemSession *s, int n)
{
	uint64		sum = 0;
	int			i;

	for (i = 0; i < n; i++)
		if (s[i].active && s[i].cancelled)
			sum += pgb_mem_freeable(&s[i]);
	return sum;
}

/* May the guard cancel this session's query at all? */
static bool
candidate(const PgbMemSession *s)
{
	return s->active && !s->cancelled &&
		pgb_mem_freeable(s) >= PGB_MEM_MIN_FREEABLE;
}

/* The largest candidate for which accept says yes, or -1. */
static int
largest(const PgbMemSession *s, int n, bool exempt, int priority)
{
	int			best = -1;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!candidate(&s[i]) || s[i].exempt != exempt)
			continue;
		if (priority != INT_MIN && (!s[i].sheddable || s[i].priority != priority))
			continue;
		if (best < 0 || s[i].bytes > s[best].bytes)
			best = i;
	}
	return best;
}

uint64
pgb_mem_early_mark(uint64 limit, double guard)
{
	uint64		mark;
	uint64		last;

	pgb_mem_marks(limit, guard, &mark, &last);
	return mark > limit - mark ? mark - (limit - mark) : 0;
}

int64
pgb_mem_use_gap_ms(uint64 use, uint64 limit, double guard)
{
	uint64		early;
	double		gap;

	if (!(guard > 0) || limit == 0)
		return 0;
	early = pgb_mem_early_mark(limit, guard);
	if (use >= early)
		return 0;
	gap = (double) (early - use) * 1000.0 / PGB_MEM_WATCH_RATE;
	return gap >= PGB_MEM_USE_MAX_GAP_MS ? PGB_MEM_USE_MAX_GAP_MS : (int64) gap;
}

PgbMemLevel
pgb_mem_decide(uint64 use, uint64 returning, double rate, uint64 limit,
			   double guard)
{
	PgbMemLevel level = pgb_mem_level(use > returning ? use - returning : 0,
									  limit, guard);

	if (!(guard > 0) || limit == 0)
		return PGB_MEM_CALM;
	if (level == PGB_MEM_CALM && returning == 0 && rate > 0 &&
		use >= pgb_mem_early_mark(limit, guard) &&
		(double) use + rate * PGB_MEM_HORIZON_MS / 1000.0 >= (double) limit)
		level = PGB_MEM_EARLY;
	return level;
}

int
pgb_mem_guard_victim(const PgbMemSession *s, int n, PgbMemLevel level)
{
	int			lowest = INT_MAX;
	bool		any = false;
	int			v;
	int			i;

	if (level == PGB_MEM_CALM)
		return -1;
	for (i = 0; i < n; i++)
		if (candidate(&s[i]) && s[i].sheddable && !s[i].exempt &&
			s[i].priority <= lowest)
		{
			lowest = s[i].priority;
			any = true;
		}
	if (any)
		return largest(s, n, false, lowest);
	if (level != PGB_MEM_LAST_RESORT)
		return -1;
	/* one cancelled query is better than a crash restart of all of them */
	v = largest(s, n, false, INT_MIN);
	return v >= 0 ? v : largest(s, n, true, INT_MIN);
}

void
pgb_mem_steps_reset(PgbMemSteps *h)
{
	memset(h, 0, sizeof(*h));
}

void
pgb_mem_steps_note(PgbMemSteps *h, uint64 bytes, int64 now_ms)
{
	/*
	 * A fall that leaves less than twice what it gave back is no
	 * doubling's (the old array is at most half of what is held after
	 * it): the table itself is gone, a statement ended within the same
	 * active spell; what follows is judged afresh.
	 */
	if (h->base_ms != 0 && bytes < h->peak &&
		h->peak - bytes >= PGB_MEM_MIN_FREEABLE && bytes / 2 < h->peak - bytes)
		pgb_mem_steps_reset(h);
	if (h->base_ms == 0 || bytes + PGB_MEM_MIN_FREEABLE <= h->last)
	{
		/* the first reading, or a fall: growing from here on, if at all */
		h->base = bytes;
		h->base_ms = now_ms;
		h->growing = false;
		h->pace = 0;
		h->in_step = false;
		h->rose = true;
	}
	else if (bytes <= h->last)
		h->rose = false;
	if (!h->in_step && h->pace > 0 && now_ms > h->last_ms && bytes > h->last &&
		(double) (bytes - h->last) / (double) (now_ms - h->last_ms) >
		PGB_MEM_STEP_PACE * h->pace)
	{
		h->in_step = true;
		h->step_from = h->last;
	}
	/* grown by twice a step: none, its pace was misjudged */
	if (h->in_step &&
		bytes > h->step_from + 2 * h->gave_back * PGB_MEM_STEP_FACTOR)
		h->in_step = false;
	/* rising again after a fall: the next fall counts from the top from here */
	if (h->falling && bytes > h->last)
	{
		h->peak = bytes;
		h->falling = false;
	}
	if (bytes > h->peak)
		h->peak = bytes;
	else if (bytes < h->last)
	{
		uint64		back = h->peak - bytes;

		/*
		 * The old array freed, the new one, twice as large, held.  A step's
		 * give-back is never less than half the one before (each array is
		 * twice the last): a smaller dip (a freed chunk, pages the kernel
		 * took back) is not one.  A fall read over several readings (a
		 * large array is unmapped a batch of pages at a time) counts whole,
		 * from the top it started at.
		 */
		h->falling = true;
		if (back >= PGB_MEM_MIN_FREEABLE && bytes / 2 >= back &&
			back >= h->gave_back / 2)
		{
			h->last_back = back;
			h->trough = bytes;
			if (back > h->gave_back)
				h->gave_back = back;
		}
	}
	h->last = bytes;
	h->last_ms = now_ms;
	if (now_ms - h->base_ms >= PGB_MEM_GROW_MS)
	{
		double		rate = bytes > h->base ?
			(double) (bytes - h->base) / (double) (now_ms - h->base_ms) : 0;

		h->growing = bytes >= h->base + PGB_MEM_MIN_FREEABLE;
		if (h->growing && h->rose && !h->in_step && rate > h->pace)
			h->pace = rate;
		h->rose = true;
		h->base = bytes;
		h->base_ms = now_ms;
	}
}

uint64
pgb_mem_steps_next(const PgbMemSteps *h)
{
	uint64		array = h->last_back * 2;
	uint64		rest = h->trough > array ? h->trough - array : 0;

	if (!h->growing || h->in_step || h->gave_back == 0 ||
		h->last < h->trough + rest / 2)
		return 0;
	return h->gave_back * PGB_MEM_STEP_FACTOR;
}

/*
 * The candidate with the largest next step of at least room for which the
 * filter says yes, or -1.
 */
static int
largest_step(const PgbMemSession *s, int n, uint64 room, bool exempt,
			 int priority)
{
	int			best = -1;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!candidate(&s[i]) || s[i].next_step == 0 ||
			s[i].next_step < room || s[i].exempt != exempt)
			continue;
		if (priority != INT_MIN && (!s[i].sheddable || s[i].priority != priority))
			continue;
		if (best < 0 || s[i].next_step > s[best].next_step)
			best = i;
	}
	return best;
}

int
pgb_mem_step_victim(const PgbMemSession *s, int n, uint64 use,
					uint64 returning, uint64 limit, double guard)
{
	uint64		mark;
	uint64		last;
	uint64		now;
	uint64		room;
	uint64		last_room;
	int			lowest = INT_MAX;
	bool		any = false;
	int			v;
	int			i;

	if (!(guard > 0) || limit == 0)
		return -1;
	pgb_mem_marks(limit, guard, &mark, &last);
	now = use > returning ? use - returning : 0;
	room = mark > now ? mark - now : 0;
	last_room = last > now ? last - now : 0;
	/* past the mark: as the guard there, the sheddable classes alone */
	for (i = 0; i < n; i++)
		if (candidate(&s[i]) && s[i].next_step > 0 && s[i].next_step >= room &&
			s[i].sheddable && !s[i].exempt && s[i].priority <= lowest)
		{
			lowest = s[i].priority;
			any = true;
		}
	if (any)
		return largest_step(s, n, room, false, lowest);
	/* past the last-resort mark: any class, superusers' last */
	v = largest_step(s, n, last_room, false, INT_MIN);
	return v >= 0 ? v : largest_step(s, n, last_room, true, INT_MIN);
}

int
pgb_mem_budget_victims(const PgbMemSession *s, int n,
					   const uint64 *class_limit, const uint64 *session_limit,
					   uint64 *sums, int nentries,
					   PgbMemBudgetVictim *victims, int max)
{
	int			nv = 0;
	int			e;
	int			i;

	for (e = 0; e < nentries; e++)
		sums[e] = 0;
	for (i = 0; i < n; i++)
		if (s[i].entry >= 0 && s[i].entry < nentries)
			sums[s[i].entry] += s[i].bytes;

	for (i = 0; i < n && nv < max; i++)
	{
		e = s[i].entry;
		if (e < 0 || e >= nentries || s[i].exempt || !candidate(&s[i]))
			continue;
		if (session_limit[e] > 0 && s[i].bytes > session_limit[e])
		{
			victims[nv].index = i;
			victims[nv].reason = PGB_MEM_OVER_SESSION;
			nv++;
		}
	}
	for (e = 0; e < nentries && nv < max; e++)
	{
		int			best = -1;
		bool		has_victim = false;

		if (class_limit[e] == 0 || sums[e] <= class_limit[e])
			continue;
		/* a session of it past session_mem gives way already */
		for (i = 0; i < nv; i++)
			if (s[victims[i].index].entry == e)
				has_victim = true;
		/* one cancelled and not yet stopped is giving its memory back */
		for (i = 0; i < n; i++)
			if (s[i].entry == e && s[i].cancelled && s[i].active)
				has_victim = true;
		if (has_victim)
			continue;
		for (i = 0; i < n; i++)
		{
			if (s[i].entry != e || s[i].exempt || !candidate(&s[i]))
				continue;
			if (best < 0 || s[i].bytes > s[best].bytes)
				best = i;
		}
		if (best >= 0)
		{
			victims[nv].index = best;
			victims[nv].reason = PGB_MEM_OVER_CLASS;
			nv++;
		}
	}
	return nv;
}
