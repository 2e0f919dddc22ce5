/*-------------------------------------------------------------------------
 *
 * test_admit_math.c
 *	  Unit tests of the admission arithmetic: cap, reservations, pause,
 *	  rate bucket and the retry-after hint.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/admit_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "admit_math.h"
#include <math.h>

#include "unit.h"

static PgbClassTable table;
static int	connected[PGB_MAX_CLASSES + 1];

/* web(max=80, reserve=50), admin(max=5, reserve=5), ai(max=60), bulk() */
static void
setup(const char *classes)
{
	char		err[256];

	memset(connected, 0, sizeof(connected));
	if (!pgb_parse_classes(classes, &table, err, sizeof(err)))
	{
		printf("Bail out! setup: %s\n", err);
		exit(1);
	}
}

static int	limit = PGB_UNLIMITED;

static PgbVerdict
judge(int self, int usable, bool paused, double tokens, PgbAdmitDetail *d)
{
	PgbAdmitInput in;
	int			total = 0;
	int			i;

	for (i = 0; i < table.nclasses; i++)
		total += connected[i];
	in.table = &table;
	in.connected = connected;
	in.self = self;
	in.total_connected = total;
	in.usable = usable;
	in.limit = limit;
	in.paused = paused;
	in.tokens = tokens;
	return pgb_admit_decide(&in, d);
}

static void
test_cap(void)
{
	PgbAdmitDetail d;

	setup("web(max=80, reserve=50), admin(max=5, reserve=5), ai(max=60), bulk()");
	connected[2] = 59;
	is_int(judge(2, 197, false, 1, &d), PGB_ADMIT, "ai at 59 of 60 gets in");
	connected[2] = 60;
	is_int(judge(2, 197, false, 1, &d), PGB_REJECT_CAP, "ai at 60 of 60 is refused: cap");
	connected[2] = 61;
	is_int(judge(2, 197, false, 1, &d), PGB_REJECT_CAP, "over the cap (after a lower max) is refused");
	connected[2] = 0;
	connected[3] = 100;
	is_int(judge(3, 197, false, 1, &d), PGB_ADMIT, "a class without max has no cap");

	setup("nobody(max=0)");
	is_int(judge(0, 100, false, 1, &d), PGB_REJECT_CAP, "max=0 refuses every login");

	/* the worker's limit caps below max, never above it */
	setup("ai(max=60), bulk()");
	connected[0] = 10;
	limit = 10;
	is_int(judge(0, 197, false, 1, &d), PGB_REJECT_CAP, "the worker's limit of 10 refuses the 11th");
	is_int(d.cap, 10, "the cap reported is the worker's limit");
	limit = 100;
	is_int(judge(0, 197, false, 1, &d), PGB_ADMIT, "a limit above max changes nothing");
	connected[0] = 60;
	is_int(judge(0, 197, false, 1, &d), PGB_REJECT_CAP, "max still holds under a higher limit");
	is_int(d.cap, 60, "the cap reported is max");
	connected[1] = 5;
	limit = 5;
	is_int(judge(1, 197, false, 1, &d), PGB_REJECT_CAP, "a limit caps a class that has no max");
	limit = PGB_UNLIMITED;
}

static void
test_reserve(void)
{
	PgbAdmitDetail d;

	/* 200 usable; web holds 50 and admin 5 while unused */
	setup("web(max=80, reserve=50), admin(max=5, reserve=5), ai(max=200), bulk()");
	connected[2] = 144;
	is_int(judge(2, 200, false, 1, &d), PGB_ADMIT, "ai takes the 145th slot: 55 still held");
	connected[2] = 145;
	is_int(judge(2, 200, false, 1, &d), PGB_REJECT_RESERVE, "ai can not take a reserved slot");
	is_int(d.held, 55, "held = unused reserves of web and admin");
	is_int(d.free_slots, 55, "free = usable - connected");
	is_int(d.nblockers, 2, "two classes block");
	is_int(d.blockers[0], 0, "web blocks");
	is_int(d.blockers[1], 1, "admin blocks");

	is_int(judge(0, 200, false, 1, &d), PGB_ADMIT, "web gets in inside its reservation");
	is_int(judge(1, 200, false, 1, &d), PGB_ADMIT, "admin gets in inside its reservation");
	is_int(judge(3, 200, false, 1, &d), PGB_REJECT_RESERVE, "bulk can not take a reserved slot either");

	/* web uses 30 of its 50: 20 still held */
	connected[0] = 30;
	connected[2] = 145;
	is_int(judge(2, 200, false, 1, &d), PGB_REJECT_RESERVE, "still refused with web partly used");
	is_int(d.held, 25, "held counts only unused reservation");
	connected[2] = 140;
	is_int(judge(2, 200, false, 1, &d), PGB_ADMIT, "140 ai + 30 web + 25 held + 1 = 196 fits in 200");

	/* exactly at the boundary */
	memset(connected, 0, sizeof(connected));
	connected[0] = 50;
	connected[1] = 5;
	connected[2] = 144;
	is_int(judge(2, 200, false, 1, &d), PGB_ADMIT, "reserves used up: the last slot is free for all");
	connected[2] = 145;
	is_int(judge(2, 200, false, 1, &d), PGB_REJECT_RESERVE, "no slot at all is refused as reservation-free capacity");
	is_int(d.nblockers, 0, "no class blocks when the reservations are in use");

	/* web beyond its reserve competes like anyone else */
	memset(connected, 0, sizeof(connected));
	connected[0] = 60;
	connected[2] = 135;
	is_int(judge(0, 200, false, 1, &d), PGB_REJECT_RESERVE, "web past its reserve can not take admin's slots");
	is_int(d.nblockers, 1, "only admin blocks web");
	is_int(d.blockers[0], 1, "the blocker is admin");
	connected[2] = 134;
	is_int(judge(0, 200, false, 1, &d), PGB_ADMIT, "web past its reserve gets the last unheld slot");
}

static void
test_order_and_pause(void)
{
	PgbAdmitDetail d;

	setup("ai(max=2, rate=1/s), web(reserve=5)");
	connected[0] = 2;
	memset(&d, 0x7f, sizeof(d));
	is_int(judge(0, 10, true, 0, &d), PGB_REJECT_PAUSED, "paused wins over cap and rate");
	is_int(d.cap, 2, "a paused verdict still reports the cap (it was left unset)");
	is_int(judge(0, 10, false, 0, &d), PGB_REJECT_CAP, "cap comes before rate");
	connected[0] = 1;
	is_int(judge(0, 10, false, 0, &d), PGB_REJECT_RATE, "empty bucket refuses");
	is_int(judge(0, 10, false, 0.99, &d), PGB_REJECT_RATE, "less than a whole token refuses");
	is_int(judge(0, 10, false, 1.0, &d), PGB_ADMIT, "a whole token admits");
	connected[1] = 0;
	is_int(judge(0, 5, false, 0, &d), PGB_REJECT_RESERVE, "reservation comes before rate");
	is_int(judge(1, 10, true, 1, &d), PGB_REJECT_PAUSED, "a class inside its reservation can be paused");
}

static void
test_bucket(void)
{
	is_double(pgb_bucket_refill(0, 0, 0, 0), 1.0, 1e-9, "no rate: always a token");
	is_double(pgb_bucket_refill(0, 2, 2, 250000), 0.5, 1e-9, "2/s for 250 ms gives half a token");
	is_double(pgb_bucket_refill(0.5, 2, 2, 10000000), 2.0, 1e-9, "refill stops at burst");
	is_double(pgb_bucket_refill(1.5, 20, 5, -1000), 1.5, 1e-9, "a clock going back adds nothing");
	is_double(pgb_bucket_refill(7, 1, 3, 0), 3.0, 1e-9, "a lower burst clamps the bucket");
	is_double(pgb_bucket_refill(0, 0.5, 1, 1000000), 0.5, 1e-9, "30/min for a second gives half a token");
}

static void
test_retry(void)
{
	int			lo = pgb_retry_after_ms(PGB_REJECT_CAP, 1000, 0, 0, 0.0);
	int			hi = pgb_retry_after_ms(PGB_REJECT_CAP, 1000, 0, 0, 0.999999);

	is_int(lo, 500, "jitter low end is half the base");
	ok(hi >= 1499 && hi <= 1500, "jitter high end is one and a half the base");
	is_int(pgb_retry_after_ms(PGB_REJECT_RESERVE, 1000, 0, 0, 0.5), 1000, "middle of the jitter is the base");
	is_int(pgb_retry_after_ms(PGB_REJECT_PAUSED, 200, 0, 0, 7.0), 299, "rnd out of range is clamped");
	is_int(pgb_retry_after_ms(PGB_REJECT_RATE, 1000, 2, 0.5, 0.0), 250, "rate: time to the next token");
	is_int(pgb_retry_after_ms(PGB_REJECT_RATE, 1000, 2, 0.5, 0.5), 500, "rate: plus up to half a base of jitter");
	is_int(pgb_retry_after_ms(PGB_REJECT_RATE, 1000, 1000000, 0.9999999, 0.0), 1, "rate: at least 1 ms");
	/* a rate the parser accepts (1e-9/min) once overflowed the int */
	is_int(pgb_retry_after_ms(PGB_REJECT_RATE, 1000, 1e-9 / 60, 0.0, 0.5), PGB_RETRY_MAX_MS,
		   "rate: the slowest rate is clamped to a day, not negative");
	is_int(pgb_retry_after_ms(PGB_REJECT_RATE, 1000, 4.6e-7, 0.0, 0.999999), PGB_RETRY_MAX_MS,
		   "rate: just past the old overflow, clamped");
	is_int(pgb_retry_after_ms(PGB_REJECT_RATE, 1000, 1.0 / 86400, 0.0, 0.0), PGB_RETRY_MAX_MS,
		   "rate: a token a day is a day");
	is_int(pgb_retry_after_ms(PGB_REJECT_RATE, 1000, 0.5, NAN, 0.0), PGB_RETRY_MAX_MS,
		   "rate: NaN tokens give the bound, not garbage");
	is_int(pgb_retry_after_ms(PGB_REJECT_CAP, 2000000000, 0, 0, 0.999999), PGB_RETRY_MAX_MS,
		   "cap: a huge base is clamped to a day");
	is_str(pgb_verdict_name(PGB_REJECT_RESERVE), "reserve", "verdict names");
	is_str(pgb_verdict_name(PGB_ADMIT), "admitted", "admitted name");
}

int
main(void)
{
	test_cap();
	test_reserve();
	test_order_and_pause();
	test_bucket();
	test_retry();
	return done_testing();
}
