/*-------------------------------------------------------------------------
 *
 * test_events_math.c
 *	  Unit tests of the events rings: the split of pg_budget.events_size,
 *	  ring arithmetic (wrap, resume after overwrite), the key refusals are
 *	  counted by, counting into recent entries, and merging two rings by
 *	  time.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/events_math.c
#include "events_math.h"

#include <stdlib.h>

#include "unit.h"

#define SEC 1000000

static PgbEventRing *
new_ring(int size)
{
	PgbEventRing *r = calloc(1, offsetof(PgbEventRing, events) + sizeof(PgbEvent) * (size > 0 ? size : 1));

	r->size = size;
	return r;
}

static PgbEvent
event(int64 at, const char *class, const char *action, const char *signal,
	  int pid, const char *reason)
{
	PgbEvent	ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = at;
	strlcpy(ev.class, class, sizeof(ev.class));
	strlcpy(ev.action, action, sizeof(ev.action));
	strlcpy(ev.signal, signal, sizeof(ev.signal));
	strlcpy(ev.reason, reason, sizeof(ev.reason));
	snprintf(ev.role, sizeof(ev.role), "r%d", pid);
	ev.pid = pid;
	ev.count = 1;
	return ev;
}

static void
test_split(void)
{
	int			a,
				r;

	pgb_events_split(1000, &a, &r);
	is_int(a + r, 1000, "the split keeps events_size in all");
	is_int(a, 500, "actions get 500 of 1000");
	pgb_events_split(11, &a, &r);
	ok(a == 6 && r == 5, "an odd size: actions get the larger half");
	pgb_events_split(10, &a, &r);
	ok(a == 5 && r == 5, "the smallest events_size: 5 and 5");
	pgb_events_split(1000000, &a, &r);
	is_int(a + r, 1000000, "the largest events_size: nothing lost");
	pgb_events_split(-3, &a, &r);
	ok(a == 0 && r == 0, "a negative size is none");
}

static void
test_ring(void)
{
	PgbEventRing *ring = new_ring(4);
	PgbEvent	ev;
	int			i;

	is_int((long long) pgb_ring_first(ring), 0, "an empty ring starts at 0");
	for (i = 0; i < 3; i++)
	{
		ev = event((int64) i * SEC, "ai", "pause", "reject", i, "");
		pgb_ring_put(ring, &ev);
	}
	is_int((long long) ring->next, 3, "three written");
	is_int((long long) pgb_ring_first(ring), 0, "none overwritten yet");
	for (i = 3; i < 10; i++)
	{
		ev = event((int64) i * SEC, "ai", "pause", "reject", i, "");
		pgb_ring_put(ring, &ev);
	}
	is_int((long long) pgb_ring_first(ring), 6, "after 10 in a ring of 4 the oldest is number 6");
	is_int(ring->events[6 % 4].pid, 6, "number 6 is at 6 % 4");
	is_int(ring->events[9 % 4].pid, 9, "the newest, 9, is at 9 % 4");
	is_int((long long) pgb_ring_resume(ring, 2), 6, "a reader at 2 resumes at 6, the oldest kept");
	is_int((long long) pgb_ring_resume(ring, 7), 7, "a reader at 7 goes on at 7");
	is_int((long long) pgb_ring_resume(ring, 10), 10, "a reader at the end stays there");

	free(ring);
	ring = new_ring(0);
	ev = event(0, "ai", "pause", "", 1, "");
	pgb_ring_put(ring, &ev);
	is_int((long long) ring->next, 0, "a ring of size 0 takes nothing");
	ok(!pgb_ring_fold(ring, &ev), "nor counts anything");
	free(ring);
}

static void
test_key(void)
{
	PgbEvent	a = event(5 * SEC + 10, "ai", "reject", "cap", 1, "x");
	PgbEvent	b = event(5 * SEC + 999999, "ai", "reject", "cap", 2, "y");

	ok(pgb_event_same_key(&a, &b), "same class, action, reason and second: one key (pid and text aside)");
	b.at = 6 * SEC;
	ok(!pgb_event_same_key(&a, &b), "the next second is another key");
	b = event(5 * SEC, "web", "reject", "cap", 2, "y");
	ok(!pgb_event_same_key(&a, &b), "another class is another key");
	b = event(5 * SEC, "ai", "reject", "rate", 2, "y");
	ok(!pgb_event_same_key(&a, &b), "another reason is another key");
	b = event(5 * SEC, "ai", "queue timeout", "cap", 2, "y");
	ok(!pgb_event_same_key(&a, &b), "another action is another key");
	is_int(pgb_event_second(5 * SEC + 999999), 5, "second of 5.999999 s is 5");
	is_int(pgb_event_second(0), 0, "second of 0 is 0");
	is_int(pgb_event_second(-1), -1, "second of -1 us is -1 (rounded down)");
	is_int(pgb_event_second(-SEC), -1, "second of -1 s is -1");
	a.at = -1;
	b = event(0, "ai", "reject", "cap", 2, "y");
	ok(!pgb_event_same_key(&a, &b), "-1 us and 0 are in different seconds");
}

static void
test_fold(void)
{
	PgbEventRing *ring = new_ring(8);
	PgbEvent	ev;
	int			i;
	int			total;

	/* a flood of one key in one second: one entry */
	for (i = 0; i < 1000; i++)
	{
		ev = event(100 * SEC + i, "ai", "reject", "paused", 1000 + i, i == 999 ? "last" : "flood");
		pgb_ring_fold(ring, &ev);
	}
	is_int((long long) ring->next, 1, "1000 refusals of one key in one second take one entry");
	is_int(ring->events[0].count, 1000, "... counting 1000");
	is_int(ring->events[0].at, 100 * SEC, "... at the first one's time");
	is_int(ring->events[0].pid, 1999, "... with the last one's pid");
	is_str(ring->events[0].role, "r1999", "... role");
	is_str(ring->events[0].reason, "last", "... and reason");

	/* two classes interleaved, and an older timestamp written late */
	for (i = 0; i < 10; i++)
	{
		ev = event(101 * SEC + 10 + i, i % 2 ? "web" : "ai", "reject", "cap", i, "");
		pgb_ring_fold(ring, &ev);
	}
	is_int((long long) ring->next, 3, "two keys interleaved in the next second: two more entries");
	ev = event(101 * SEC + 1, "ai", "reject", "cap", 77, "");
	ok(pgb_ring_fold(ring, &ev), "a refusal timed before the entry's first is counted in");
	is_int(ring->events[1].count, 6, "... which counts 6");
	is_int(ring->events[1].at, 101 * SEC + 1, "... and starts at the earliest");
	ev = event(100 * SEC + 5, "ai", "reject", "paused", 78, "");
	ok(pgb_ring_fold(ring, &ev), "a refusal written late, behind entries of a newer second, is counted in its own");
	is_int(ring->events[0].count, 1001, "... which counts 1001");
	is_int((long long) ring->next, 3, "... and no entry is added");
	ev = event(99 * SEC, "ai", "reject", "paused", 79, "");
	ok(!pgb_ring_fold(ring, &ev), "a refusal of a second older than any entry is an entry of its own");
	is_int((long long) ring->next, 4, "... appended");

	/* counts add up, whatever the wrap */
	free(ring);
	ring = new_ring(4);
	total = 0;
	for (i = 0; i < 100; i++)
	{
		ev = event((int64) (i / 10) * SEC + i, "ai", "reject", "cap", i, "");
		pgb_ring_fold(ring, &ev);
		total++;
	}
	is_int((long long) ring->next, 10, "100 refusals over 10 seconds: 10 entries");
	total = 0;
	for (i = 0; i < ring->size; i++)
		total += ring->events[i].count;
	is_int(total, 40, "the 4 kept count the last 40");

	/* the search is bounded */
	free(ring);
	ring = new_ring(PGB_FOLD_SCAN * 2);
	for (i = 0; i <= PGB_FOLD_SCAN; i++)
	{
		char		name[16];

		snprintf(name, sizeof(name), "c%d", i);
		ev = event(SEC, name, "reject", "cap", i, "");
		pgb_ring_fold(ring, &ev);
	}
	ev = event(SEC, "c0", "reject", "cap", 0, "");
	ok(!pgb_ring_fold(ring, &ev), "an entry further back than PGB_FOLD_SCAN is not searched");
	ev = event(SEC, "c2", "reject", "cap", 0, "");
	ok(pgb_ring_fold(ring, &ev), "one within PGB_FOLD_SCAN is");

	/* the count saturates */
	ring->events[0].count = PG_INT32_MAX;
	ring->next = 1;
	ev = event(SEC, "c0", "reject", "cap", 0, "");
	pgb_ring_fold(ring, &ev);
	is_int(ring->events[0].count, PG_INT32_MAX, "a count stays at INT32_MAX");
	free(ring);
}

static void
test_merge(void)
{
	PgbEvent	a = event(10, "ai", "pause", "", 0, "");
	PgbEvent	b = event(20, "ai", "reject", "paused", 1, "");

	ok(pgb_event_before(&a, &b), "the older event comes first");
	ok(!pgb_event_before(&b, &a), "the newer after");
	b.at = 10;
	ok(pgb_event_before(&a, &b), "on a tie, the first ring's (actions) first");
}

int
main(void)
{
	test_split();
	test_ring();
	test_key();
	test_fold();
	test_merge();
	return done_testing();
}
