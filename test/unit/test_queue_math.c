/*-------------------------------------------------------------------------
 *
 * test_queue_math.c
 *	  Unit tests of the transaction gate's arithmetic: the FIFO queue,
 *	  when a transaction may enter, how many waiters a free place lets in,
 *	  the retry-after hint; and the class keys active and queue_timeout.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/queue_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/wal_bucket.c src/text_util.c
#include "queue_math.h"
#include "classes.h"

#include <stdlib.h>

#include "unit.h"

/* Position of id in the queue (0: next out), or -1: a check of the list. */
static int
queue_position(const PgbQueue *q, const PgbQueueLink *links, int id)
{
	int			pos = 0;
	int			i;

	for (i = q->head; i >= 0; i = links[i].next, pos++)
		if (i == id)
			return pos;
	return -1;
}

#define NIDS 64

static PgbQueueLink links[NIDS];

static void
reset_links(void)
{
	int			i;

	for (i = 0; i < NIDS; i++)
		pgb_queue_link_init(&links[i]);
}

static void
test_fifo(void)
{
	PgbQueue	q;

	reset_links();
	pgb_queue_init(&q);
	is_int(pgb_queue_pop(&q, links), -1, "pop of an empty queue is -1");
	ok(pgb_queue_push(&q, links, 5), "push 5");
	ok(pgb_queue_push(&q, links, 3), "push 3");
	ok(pgb_queue_push(&q, links, 9), "push 9");
	ok(!pgb_queue_push(&q, links, 3), "an id already queued is refused");
	is_int(q.count, 3, "three queued");
	is_int(queue_position(&q, links, 5), 0, "5 is next");
	is_int(queue_position(&q, links, 9), 2, "9 is last");
	is_int(queue_position(&q, links, 7), -1, "7 is not queued");
	is_int(pgb_queue_pop(&q, links), 5, "first in, first out: 5");
	is_int(pgb_queue_pop(&q, links), 3, "then 3");
	is_int(pgb_queue_pop(&q, links), 9, "then 9");
	is_int(q.count, 0, "empty again");
	ok(q.head == -1 && q.tail == -1, "head and tail cleared");
}

static void
test_remove(void)
{
	PgbQueue	q;

	reset_links();
	pgb_queue_init(&q);
	pgb_queue_push(&q, links, 1);
	pgb_queue_push(&q, links, 2);
	pgb_queue_push(&q, links, 3);
	pgb_queue_push(&q, links, 4);
	ok(pgb_queue_remove(&q, links, 3), "remove from the middle");
	ok(!pgb_queue_remove(&q, links, 3), "a second remove is refused");
	ok(pgb_queue_remove(&q, links, 1), "remove the head");
	ok(pgb_queue_remove(&q, links, 4), "remove the tail");
	is_int(q.count, 1, "one left");
	is_int(q.head, 2, "head is 2");
	is_int(q.tail, 2, "tail is 2");
	ok(pgb_queue_push(&q, links, 3), "a removed id can queue again");
	is_int(queue_position(&q, links, 3), 1, "behind 2");
	is_int(pgb_queue_pop(&q, links), 2, "2 first");
	is_int(pgb_queue_pop(&q, links), 3, "then 3");
}

/* A random walk of pushes, removes and pops checked against a model. */
static void
test_model(void)
{
	PgbQueue	q;
	int			model[NIDS];
	int			n = 0;
	int			step;
	bool		good = true;

	reset_links();
	pgb_queue_init(&q);
	srand(42);
	for (step = 0; step < 20000 && good; step++)
	{
		int			op = rand() % 3;
		int			id = rand() % NIDS;
		int			i,
					at = -1;

		for (i = 0; i < n; i++)
			if (model[i] == id)
				at = i;
		if (op == 0)
		{
			if (pgb_queue_push(&q, links, id) != (at < 0))
				good = false;
			if (at < 0)
				model[n++] = id;
		}
		else if (op == 1)
		{
			if (pgb_queue_remove(&q, links, id) != (at >= 0))
				good = false;
			if (at >= 0)
			{
				memmove(&model[at], &model[at + 1], sizeof(int) * (n - at - 1));
				n--;
			}
		}
		else
		{
			int			got = pgb_queue_pop(&q, links);

			if (got != (n > 0 ? model[0] : -1))
				good = false;
			if (n > 0)
			{
				memmove(&model[0], &model[1], sizeof(int) * (n - 1));
				n--;
			}
		}
		if (q.count != n)
			good = false;
		for (i = 0; i < n && good; i++)
			if (queue_position(&q, links, model[i]) != i)
				good = false;
	}
	ok(good, "20000 random operations keep FIFO order and count");
}

static void
test_entry(void)
{
	is_int(pgb_gate_limit(PGB_UNLIMITED, PGB_UNLIMITED), PGB_UNLIMITED, "no limit at all");
	is_int(pgb_gate_limit(4, PGB_UNLIMITED), 4, "configured only");
	is_int(pgb_gate_limit(PGB_UNLIMITED, 3), 3, "adaptive only");
	is_int(pgb_gate_limit(4, 2), 2, "the lower of the two");
	is_int(pgb_gate_limit(4, 9), 4, "the worker never raises past the configured limit");

	ok(pgb_gate_may_enter(0, 2, 0), "under the limit, nobody queued: enter");
	ok(pgb_gate_may_enter(1, 2, 0), "one place left: enter");
	ok(!pgb_gate_may_enter(2, 2, 0), "at the limit: queue");
	ok(!pgb_gate_may_enter(1, 2, 1), "a place is free but someone waits: queue behind");
	ok(pgb_gate_may_enter(1000, PGB_UNLIMITED, 0), "no limit: enter");
	ok(!pgb_gate_may_enter(0, PGB_UNLIMITED, 1), "no limit but a waiter: behind it");
	ok(!pgb_gate_may_enter(5, 2, 0), "over a lowered limit: queue");

	is_int(pgb_gate_grantable(2, 2, 5), 0, "no place free: nobody granted");
	is_int(pgb_gate_grantable(1, 2, 5), 1, "one place: one granted");
	is_int(pgb_gate_grantable(0, 4, 2), 2, "more places than waiters: all");
	is_int(pgb_gate_grantable(0, PGB_UNLIMITED, 7), 7, "limit lifted: all");
	is_int(pgb_gate_grantable(0, 4, 0), 0, "nobody waiting");
	is_int(pgb_gate_grantable(6, 4, 3), 0, "over a lowered limit: nobody");
}

static void
test_retry(void)
{
	is_int(pgb_gate_retry_after_ms(1000, 0.0), 500, "jitter low end is half");
	is_int(pgb_gate_retry_after_ms(1000, 0.5), 1000, "middle is the base");
	ok(pgb_gate_retry_after_ms(1000, 0.9999999) < 1500, "high end under 1.5x");
	is_int(pgb_gate_retry_after_ms(0, 0.5), 1, "at least 1 ms");
	is_int(pgb_gate_retry_after_ms(1000, NAN), 500, "NaN jitter treated as 0");
	is_int(pgb_gate_retry_after_ms(2000000000, 0.99), 86400000, "clamped to a day");
}

static PgbClassTable table;
static char errbuf[256];

static bool
parses(const char *s)
{
	return pgb_parse_classes(s, &table, errbuf, sizeof(errbuf));
}

static void
test_keys(void)
{
	int			ms = 0;

	ok(parses("ai(max=60)"), "no gate keys");
	is_int(table.classes[0].active, PGB_UNLIMITED, "active defaults to none");
	is_int(table.classes[0].queue_timeout, PGB_QUEUE_TIMEOUT_DEFAULT, "queue_timeout defaults to the GUC");
	ok(parses("ai(active=2, queue_timeout=500ms)"), "active and queue_timeout");
	is_int(table.classes[0].active, 2, "active=2");
	is_int(table.classes[0].queue_timeout, 500, "500ms");
	ok(parses("ai(queue_timeout=5s)"), "seconds");
	is_int(table.classes[0].queue_timeout, 5000, "5s is 5000 ms");
	ok(parses("ai(queue_timeout=2min)"), "minutes");
	is_int(table.classes[0].queue_timeout, 120000, "2min");
	ok(parses("ai(queue_timeout=1h)"), "hours");
	is_int(table.classes[0].queue_timeout, 3600000, "1h");
	ok(parses("ai(queue_timeout=250)"), "a bare number is ms");
	is_int(table.classes[0].queue_timeout, 250, "250");
	ok(parses("ai(queue_timeout=0)"), "0 refuses at once");
	is_int(table.classes[0].queue_timeout, 0, "0 kept");
	ok(parses("ai(queue_timeout=24h)"), "a day is the most");
	ok(!parses("ai(queue_timeout=25h)"), "more than a day refused");
	is_str(errbuf, "class \"ai\": invalid value \"25h\" for key \"queue_timeout\" (expected -1 or a duration such as 500ms, 1.5s, 1min or 1d, at most 1d)",
		   "the error names the class, the value and the key");
	ok(!parses("ai(queue_timeout=5m)"), "m is not a duration unit (minutes are min)");
	ok(parses("ai(queue_timeout=-1)"), "-1 waits without limit");
	is_int(table.classes[0].queue_timeout, PGB_QUEUE_TIMEOUT_NONE, "-1 kept");
	ok(!parses("ai(queue_timeout=-2)"), "other negatives refused");
	ok(parses("ai(queue_timeout=1.5s)"), "fractions");
	is_int(table.classes[0].queue_timeout, 1500, "1.5s is 1500 ms");
	ok(!parses("ai(queue_timeout=99999999999999999999s)"), "huge refused without overflow");
	ok(!parses("ai(active=0)"), "active=0 refused");
	is_str(errbuf, "class \"ai\": invalid value \"0\" for key \"active\" (must be between 1 and 1000000)",
		   "active error names the range");
	ok(!parses("ai(active=x)"), "active must be a number");
	ok(!parses("ai(active=2, active=3)"), "duplicate key");
	ok(pgb_parse_duration_ms("10s", 3, &ms) && ms == 10000, "duration helper");
	ok(!pgb_parse_duration_ms("", 0, &ms), "empty duration refused");
	ok(!pgb_parse_duration_ms("s", 1, &ms), "unit alone refused");
}

static void
test_wal_key(void)
{
	double		r = 0;

	ok(parses("bulk(wal=20MB/s)"), "wal=20MB/s");
	is_double(table.classes[0].wal, 20.0 * 1024 * 1024, 0, "20MB/s in bytes");
	ok(parses("bulk(wal=500kB/s)"), "kB");
	is_double(table.classes[0].wal, 500.0 * 1024, 0, "500kB/s");
	ok(parses("bulk(wal=1GB/min)"), "per minute");
	is_double(table.classes[0].wal, 1024.0 * 1024 * 1024 / 60, 1e-6, "1GB/min");
	ok(parses("bulk(wal=1.5MB/s)"), "a fraction");
	is_double(table.classes[0].wal, 1.5 * 1024 * 1024, 0, "1.5MB/s");
	ok(parses("bulk(wal=65536/s)"), "bare bytes");
	ok(parses("bulk(max=3)"), "no wal key");
	is_double(table.classes[0].wal, 0, 0, "no budget by default");
	ok(!parses("bulk(wal=0MB/s)"), "zero refused");
	is_str(errbuf, "class \"bulk\": invalid value \"0MB/s\" for key \"wal\" (expected a rate such as 500kB/s, 20MB/s or 1GB/min, at least 1B/s and at most 1TB/s)",
		   "the error names the class, value and key");
	ok(!parses("bulk(wal=2TB/s)"), "more than 1TB/s refused");
	ok(!parses("bulk(wal=20mb/s)"), "units are case-sensitive, as PostgreSQL's");
	ok(!parses("bulk(wal=20MB)"), "a rate needs /s or /min");
	ok(!parses("bulk(wal=20MB/h)"), "per hour is not a unit here");
	ok(!parses("bulk(wal=MB/s)"), "a number is needed");
	ok(pgb_parse_byte_rate("1kB/s", 5, &r) && r == 1024, "helper: 1kB/s");
}

int
main(void)
{
	test_fifo();
	test_remove();
	test_model();
	test_entry();
	test_retry();
	test_keys();
	test_wal_key();
	return done_testing();
}
