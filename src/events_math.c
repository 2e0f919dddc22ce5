/*-------------------------------------------------------------------------
 *
 * events_math.c
 *	  Ring arithmetic of the events rings and the counting of refusals.
 *	  Pure C with no server calls; the caller holds rings_lock.
 *
 *-------------------------------------------------------------------------
 */
#include "events_math.h"

void
pgb_events_split(int total, int *actions, int *refusals)
{
	if (total < 0)
		total = 0;
	*refusals = total / 2;
	*actions = total - *refusals;
}

uint64
pgb_ring_first(const PgbEventRing *ring)
{
	uint64		size = (uint64) ring->size;

	return ring->next > size ? ring->next - size : 0;
}

uint64
pgb_ring_resume(const PgbEventRing *ring, uint64 seq)
{
	uint64		first = pgb_ring_first(ring);

	return seq < first ? first : seq;
}

void
pgb_ring_put(PgbEventRing *ring, const PgbEvent *ev)
{
	if (ring->size <= 0)
		return;
	ring->events[ring->next % (uint64) ring->size] = *ev;
	ring->next++;
}

int64
pgb_event_second(int64 at)
{
	int64		s = at / 1000000;

	if (at < 0 && s * 1000000 != at)
		s--;
	return s;
}

bool
pgb_event_same_key(const PgbEvent *a, const PgbEvent *b)
{
	return pgb_event_second(a->at) == pgb_event_second(b->at) &&
		strcmp(a->action, b->action) == 0 &&
		strcmp(a->signal, b->signal) == 0 &&
		strcmp(a->class, b->class) == 0;
}

bool
pgb_ring_fold(PgbEventRing *ring, const PgbEvent *ev)
{
	int64		second = pgb_event_second(ev->at);
	uint64		first;
	uint64		seq;
	int			looked = 0;

	if (ring->size <= 0)
		return false;
	first = pgb_ring_first(ring);
	for (seq = ring->next; seq > first && looked < PGB_FOLD_SCAN; looked++)
	{
		PgbEvent   *e = &ring->events[--seq % (uint64) ring->size];
		int64		s = pgb_event_second(e->at);

		/*
		 * Entries are in the order their writers took the lock, each timed
		 * just before: a little out of time order, never by a second
		 * unless a writer stalled.  Older seconds end the search.
		 */
		if (s < second)
			break;
		if (s == second && pgb_event_same_key(e, ev))
		{
			int64		count = (int64) e->count + Max(ev->count, 1);

			e->count = (int) Min(count, (int64) PG_INT32_MAX);
			if (ev->at < e->at)
				e->at = ev->at;
			e->pid = ev->pid;
			memcpy(e->role, ev->role, sizeof(e->role));
			memcpy(e->reason, ev->reason, sizeof(e->reason));
			return true;
		}
	}
	pgb_ring_put(ring, ev);
	return false;
}

bool
pgb_event_before(const PgbEvent *a, const PgbEvent *b)
{
	return a->at <= b->at;
}
