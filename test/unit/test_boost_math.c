/*-------------------------------------------------------------------------
 *
 * test_boost_math.c
 *	  Unit tests of the CPU boosts (src/boost_math.c), without a server:
 *	  who is boosted into which class's cgroup, for whom, and when each
 *	  goes back.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/boost_math.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "boost_math.h"

#include <string.h>

#include "unit.h"
#include "snap_scan.h"

#define NROWS		16

/* entries, in the table's order */
#define WEB		0
#define MID		1
#define AI		2
#define BULK	3
#define SAME	4

static PgbClassTable table;
static PgbSessionRow rows[NROWS];
static PgbSnapshot snap;
static PgbLookup lookups[NROWS];
static int	blockers[NROWS][NROWS];
static PgbBoostPlan plan;

static void
setup(void)
{
	char		err[256];
	int			i;

	if (!pgb_parse_classes("web(priority=100, cpu=200), mid(priority=50, cpu=150), "
						   "ai(priority=10, cpu=1), bulk(priority=5, cpu=idle), "
						   "same(priority=1, cpu=200)", &table, err, sizeof(err)))
		diag(err);
	memset(rows, 0, sizeof(rows));
	memset(&snap, 0, sizeof(snap));
	for (i = 0; i < NROWS; i++)
		rows[i].procno = i;
	snap.rows = rows;
	snap.nrows = NROWS;
	snap.lookups = lookups;
	for (i = 0; i <= PGB_MAX_CLASSES; i++)
		snap.map[i] = i < table.nclasses ? i : -1;
	for (i = 0; i < table.nclasses; i++)
		snap.cpu_in_force[i] = true;
}

/* One tick of the boosts, over the rows the sampler would list. */
static void
boosts(void)
{
	scan_as_sampler(&snap);
	pgb_plan_boosts(&plan, &snap, &table);
}

static PgbSessionRow *
row(int procno, int pid, int entry)
{
	PgbSessionRow *r = &rows[procno];

	r->pid = pid;
	r->entry = entry;
	r->judged = true;
	return r;
}

/* waiter waits (blocked) and is looked up: blocked by the n procnos given */
static void
lookup(int waiter, int n, int b1, int b2)
{
	PgbLookup  *l = &lookups[snap.nlookups];

	rows[waiter].blocked_us = 200000;
	blockers[snap.nlookups][0] = b1;
	blockers[snap.nlookups][1] = b2;
	l->waiter = waiter;
	l->wait_us = 200000;
	l->nblockers = n;
	l->blockers = blockers[snap.nlookups];
	snap.nlookups++;
}

/* plan a tick, carry out every move (ok), start the next tick */
static void
tick(void)
{
	int			i;

	boosts();
	for (i = 0; i < plan.nmoves; i++)
		pgb_boost_done(&snap, &plan.moves[i], true);
	snap.nlookups = 0;
}

static void
test_gains(void)
{
	setup();
	ok(pgb_boost_gains(&table.classes[WEB], &table.classes[AI]), "web over ai: gains");
	ok(!pgb_boost_gains(&table.classes[AI], &table.classes[WEB]), "ai over web: no");
	ok(pgb_boost_gains(&table.classes[AI], &table.classes[BULK]), "any weight over cpu=idle: gains");
	ok(!pgb_boost_gains(&table.classes[BULK], &table.classes[SAME]), "cpu=idle waiter: never");
	ok(!pgb_boost_gains(&table.classes[WEB], &table.classes[SAME]),
	   "a higher class with no greater weight: no gain");
}

static void
test_boost_and_back(void)
{
	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 1, "web blocked by ai: one move");
	is_int(plan.moves[0].kind, PGB_BOOST_TO, "a boost");
	is_int(plan.moves[0].pid, 102, "of the holder");
	is_int(plan.moves[0].to_entry, WEB, "into web's cgroup");
	is_int(plan.moves[0].home_entry, AI, "its home is ai");
	is_int(plan.moves[0].waiter_pid, 101, "for the waiter");
	like(plan.moves[0].reason, "blocks pid 101 of class \"web\"", "the reason names the waiter");
	pgb_boost_done(&snap, &plan.moves[0], true);
	ok(rows[2].boosted && rows[2].boost_entry == WEB, "the row says boosted into web");
	snap.nlookups = 0;

	/* still waiting, no lookup this tick: nothing moves */
	boosts();
	is_int(plan.nmoves, 0, "still blocking: no move");
	/* looked up again, same blocker: nothing moves */
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 0, "looked up again: already boosted, no move");
	snap.nlookups = 0;

	/* the waiter's wait ends (the holder committed) */
	rows[1].blocked_us = 0;
	boosts();
	is_int(plan.nmoves, 1, "the wait ended: one move");
	is_int(plan.moves[0].kind, PGB_BOOST_BACK, "back");
	is_int(plan.moves[0].to_entry, AI, "into ai's cgroup");
	like(plan.moves[0].reason, "back in the cgroup of its class \"ai\"", "the reason says so");
	pgb_boost_done(&snap, &plan.moves[0], true);
	ok(!rows[2].boosted && rows[2].nboost_for == 0, "the row is no longer boosted");
	boosts();
	is_int(plan.nmoves, 0, "then nothing");
}

static void
test_not_boosted(void)
{
	setup();
	row(1, 101, AI);
	row(2, 102, WEB);
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 0, "a higher class blocking a lower: no boost");

	setup();
	row(1, 101, WEB);
	row(2, 102, AI)->walsender = true;
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 0, "a walsender (with the server) is never boosted");

	setup();
	row(1, 101, WEB);
	row(2, 102, AI)->judged = false;
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 0, "an unjudged blocker is not boosted");

	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	snap.cpu_in_force[WEB] = false;
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 0, "the waiter's cgroup not in force: no boost");

	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	snap.cpu_in_force[AI] = false;
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 0, "the holder's cgroup not in force (it is with the server): no boost");

	setup();
	row(1, 101, WEB);
	row(2, 102, SAME);
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 0, "a holder with as much weight: no boost");
}

static void
test_higher_waiter(void)
{
	setup();
	row(1, 101, MID);
	row(2, 102, AI);
	row(3, 103, WEB);
	lookup(1, 1, 2, 0);
	tick();
	ok(rows[2].boosted && rows[2].boost_entry == MID, "mid's waiter: ai's holder into mid");
	lookup(3, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 1, "then a web waiter: one move");
	is_int(plan.moves[0].kind, PGB_BOOST_TO, "a boost again");
	is_int(plan.moves[0].to_entry, WEB, "into web's cgroup");
	pgb_boost_done(&snap, &plan.moves[0], true);
	snap.nlookups = 0;
	is_int(rows[2].nboost_for, 2, "it blocks both");

	/* web's waiter is done, mid's still waits: it stays boosted */
	rows[3].blocked_us = 0;
	boosts();
	is_int(plan.nmoves, 0, "one waiter left: it stays");
	rows[1].blocked_us = 0;
	boosts();
	is_int(plan.nmoves, 1, "none left: back");
	is_int(plan.moves[0].kind, PGB_BOOST_BACK, "back");

	/* two lookups of one tick: the higher wins, in one move */
	setup();
	row(1, 101, MID);
	row(2, 102, AI);
	row(3, 103, WEB);
	lookup(1, 1, 2, 0);
	lookup(3, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 1, "two waiters in one tick: one move");
	is_int(plan.moves[0].to_entry, WEB, "into the higher's cgroup");
	/* and the other order */
	setup();
	row(1, 101, MID);
	row(2, 102, AI);
	row(3, 103, WEB);
	lookup(3, 1, 2, 0);
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 1, "the other order: one move");
	is_int(plan.moves[0].to_entry, WEB, "still the higher's");
}

static void
test_ends(void)
{
	/* the lookup no longer lists the holder (it waits on another now) */
	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	row(4, 104, AI);
	lookup(1, 1, 2, 0);
	tick();
	lookup(1, 1, 4, 0);
	boosts();
	is_int(plan.nmoves, 2, "the waiter blocked by another: two moves");
	is_int(plan.moves[0].pid, 104, "the new blocker is boosted");
	is_int(plan.moves[0].kind, PGB_BOOST_TO, "(a boost)");
	is_int(plan.moves[1].pid, 102, "the old one goes back");
	is_int(plan.moves[1].kind, PGB_BOOST_BACK, "(back)");

	/* the waiter exits, its procno taken by another */
	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	lookup(1, 1, 2, 0);
	tick();
	row(1, 201, WEB)->blocked_us = 200000;
	boosts();
	is_int(plan.nmoves, 1, "the waiter gone: one move");
	is_int(plan.moves[0].kind, PGB_BOOST_BACK, "back");

	/* the holder exits */
	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	lookup(1, 1, 2, 0);
	tick();
	rows[2].pid = 0;
	boosts();
	is_int(plan.nmoves, 1, "the holder exited: one move");
	is_int(plan.moves[0].kind, PGB_BOOST_GONE, "gone: nothing to write");
	is_int(plan.moves[0].pid, 102, "its pid, for the event");
	pgb_boost_done(&snap, &plan.moves[0], true);
	ok(!rows[2].boosted, "its row forgets the boost");

	/* the weights are no longer in force (a reload) */
	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	lookup(1, 1, 2, 0);
	tick();
	snap.cpu_in_force[WEB] = false;
	boosts();
	is_int(plan.nmoves, 1, "web's weight gone: one move");
	is_int(plan.moves[0].kind, PGB_BOOST_BACK, "back");
	like(plan.moves[0].reason, "no longer in force", "the reason says why");

	/* a failed boost is tried again at the next lookup */
	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	lookup(1, 1, 2, 0);
	boosts();
	pgb_boost_done(&snap, &plan.moves[0], false);
	ok(!rows[2].boosted && rows[2].nboost_for == 0, "a failed boost: not boosted, no waiter kept");
	snap.nlookups = 0;
	lookup(1, 1, 2, 0);
	boosts();
	is_int(plan.nmoves, 1, "tried again at the next lookup");
}

static void
test_chain(void)
{
	/* web waits on ai, which waits on bulk: bulk runs in web's cgroup too */
	setup();
	row(1, 101, WEB);
	row(2, 102, AI);
	row(3, 103, BULK);
	lookup(1, 1, 2, 0);
	tick();
	lookup(2, 1, 3, 0);
	boosts();
	is_int(plan.nmoves, 1, "a chain: one move");
	is_int(plan.moves[0].pid, 103, "the holder's holder");
	is_int(plan.moves[0].to_entry, WEB, "into the cgroup its waiter runs in");
}

int
main(void)
{
	test_gains();
	test_boost_and_back();
	test_not_boosted();
	test_higher_waiter();
	test_ends();
	test_chain();
	return done_testing();
}
