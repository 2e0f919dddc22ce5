/*-------------------------------------------------------------------------
 *
 * test_rules_match.c
 *	  Unit tests for matching logins against pg_budget.rules: globs,
 *	  addresses and CIDRs, and the only-lower choice (src/rules_match.c).
 *	  No server needed.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/rules_match.c src/rules_parse.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "rules_match.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

static PgbRuleSet set;
static char errbuf[256];

static bool
parses(const char *str)
{
	bool		r = pgb_parse_rules(str, &set, errbuf, sizeof(errbuf));

	if (!r)
		diag(errbuf);
	return r;
}

static PgbAddr
v4(const char *s)
{
	PgbAddr		a;

	memset(&a, 0, sizeof(a));
	a.family = PGB_ADDR_V4;
	inet_pton(AF_INET, s, a.bytes);
	return a;
}

static PgbAddr
v6(const char *s)
{
	PgbAddr		a;

	memset(&a, 0, sizeof(a));
	a.family = PGB_ADDR_V6;
	inet_pton(AF_INET6, s, a.bytes);
	return a;
}

/* Does client (v4 or v6 text, or "local") fall in the CIDR text? */
static bool
in_cidr(const char *cidr, const char *client)
{
	PgbAddr		net;
	PgbAddr		c;
	int			prefix;

	if (!pgb_parse_cidr(cidr, strlen(cidr), &net, &prefix))
		return false;
	if (strcmp(client, "local") == 0)
	{
		memset(&c, 0, sizeof(c));
		c.family = PGB_ADDR_LOCAL;
	}
	else
		c = strchr(client, ':') ? v6(client) : v4(client);
	return pgb_addr_in(&net, prefix, &c);
}

static const char *member_roles[] = {"analysts", "app", NULL};
static int	member_calls = 0;

static bool
fake_member_of(const char *role, void *arg)
{
	const char **roles = (const char **) arg;

	member_calls++;
	for (; *roles; roles++)
		if (strcmp(*roles, role) == 0)
			return true;
	return false;
}

static void
test_glob(void)
{
	ok(pgb_glob_match("celery*", "celery"), "celery* matches celery");
	ok(pgb_glob_match("celery*", "celery-worker-7"), "celery* matches celery-worker-7");
	ok(!pgb_glob_match("celery*", "xcelery"), "celery* is anchored at the start");
	ok(pgb_glob_match("*worker", "sidekiq worker"), "*worker matches at the end");
	ok(!pgb_glob_match("*worker", "worker2"), "*worker is anchored at the end");
	ok(pgb_glob_match("w?b", "web"), "? is one byte");
	ok(!pgb_glob_match("w?b", "wb"), "? is not zero bytes");
	ok(!pgb_glob_match("w?b", "weeb"), "? is not two bytes");
	ok(pgb_glob_match("*", ""), "* matches the empty name");
	ok(!pgb_glob_match("?", ""), "? does not match the empty name");
	ok(pgb_glob_match("a*b*c", "aXXbYYbZc"), "backtracking over two stars");
	ok(!pgb_glob_match("a*b*c", "aXXbYYbZ"), "backtracking fails cleanly");
	ok(pgb_glob_match("**a**", "a"), "stars in a row");
	ok(!pgb_glob_match("Celery*", "celery"), "case matters");
	ok(pgb_glob_match("a*", "a*"), "a literal * in the name is matched by *");
	ok(!pgb_glob_match("abc", "ab"), "no match on a prefix");
	ok(pgb_glob_match("*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"),
	   "many stars, long input");
}

static void
test_cidr(void)
{
	PgbAddr		a;
	int			prefix = -1;

	ok(pgb_parse_cidr("10.0.5.0/24", 11, &a, &prefix) && prefix == 24 &&
	   a.family == PGB_ADDR_V4, "10.0.5.0/24 parses");
	ok(pgb_parse_cidr("10.0.5.7", 8, &a, &prefix) && prefix == 32,
	   "a host address is a /32");
	ok(pgb_parse_cidr("::1", 3, &a, &prefix) && prefix == 128 &&
	   a.family == PGB_ADDR_V6, "::1 is a /128");
	ok(pgb_parse_cidr("fd00::/8", 8, &a, &prefix) && prefix == 8, "fd00::/8 parses");
	ok(pgb_parse_cidr("0.0.0.0/0", 9, &a, &prefix) && prefix == 0, "0.0.0.0/0 parses");
	ok(!pgb_parse_cidr("10.0.5.1/24", 11, &a, &prefix), "host bits right of the mask are refused");
	ok(!pgb_parse_cidr("10.0.5.0/33", 11, &a, &prefix), "/33 on IPv4 is refused");
	ok(!pgb_parse_cidr("::/129", 6, &a, &prefix), "/129 on IPv6 is refused");
	ok(!pgb_parse_cidr("10.0.5/24", 9, &a, &prefix), "three octets are refused");
	ok(!pgb_parse_cidr("10.0.5.0/", 9, &a, &prefix), "an empty mask is refused");
	ok(!pgb_parse_cidr("10.0.5.0/+8", 11, &a, &prefix), "a signed mask is refused");
	ok(!pgb_parse_cidr("10.0.5.0/0024", 13, &a, &prefix), "a four-digit mask is refused");
	ok(!pgb_parse_cidr("256.0.0.0", 9, &a, &prefix), "an octet over 255 is refused");
	ok(!pgb_parse_cidr("gg::1", 5, &a, &prefix), "bad hex is refused");
	ok(!pgb_parse_cidr("", 0, &a, &prefix), "nothing is refused");
	ok(!pgb_parse_cidr("/24", 3, &a, &prefix), "a mask alone is refused");
	/* a length that stops before the terminator is honoured */
	ok(pgb_parse_cidr("10.0.0.0/8junk", 10, &a, &prefix) && prefix == 8,
	   "only len bytes are read");

	ok(in_cidr("10.0.5.0/24", "10.0.5.200"), "10.0.5.200 is in 10.0.5.0/24");
	ok(!in_cidr("10.0.5.0/24", "10.0.6.1"), "10.0.6.1 is not");
	ok(in_cidr("10.0.4.0/23", "10.0.5.1"), "a mask inside an octet: in");
	ok(!in_cidr("10.0.4.0/23", "10.0.6.1"), "a mask inside an octet: out");
	ok(in_cidr("0.0.0.0/0", "192.168.1.1"), "/0 takes every IPv4 address");
	ok(in_cidr("10.0.5.7", "10.0.5.7") && !in_cidr("10.0.5.7", "10.0.5.8"),
	   "a host address takes itself only");
	ok(in_cidr("10.0.5.0/24", "::ffff:10.0.5.9"), "an IPv4-mapped IPv6 client matches an IPv4 network");
	ok(!in_cidr("10.0.5.0/24", "::10.0.5.9"), "an IPv4-compatible address does not");
	ok(in_cidr("fd00::/8", "fd12:3456::1"), "IPv6 in a /8");
	ok(!in_cidr("fd00::/8", "fe80::1"), "IPv6 out of a /8");
	ok(!in_cidr("fd00::/8", "10.0.0.1"), "an IPv4 client is never in an IPv6 network");
	ok(!in_cidr("0.0.0.0/0", "local"), "the Unix socket is in no IPv4 network");
	ok(!in_cidr("::/0", "local"), "nor in an IPv6 one");
	ok(in_cidr("2001:db8::/127", "2001:db8::1") && !in_cidr("2001:db8::/127", "2001:db8::2"),
	   "an IPv6 /127");
}

static void
test_choose(void)
{
	PgbClassTable tab;
	int			idx[PGB_MAX_RULES];
	PgbLoginAttrs login;
	uint64		raised;
	int			web,
				ai,
				bulk,
				admin;
	char		why[256];

	ok(pgb_parse_classes("web(priority=100), ai(priority=10), bulk(priority=0), admin(priority=1000)",
						 &tab, errbuf, sizeof(errbuf)), "a table");
	web = pgb_find_class(&tab, "web");
	ai = pgb_find_class(&tab, "ai");
	bulk = pgb_find_class(&tab, "bulk");
	admin = pgb_find_class(&tab, "admin");

	ok(parses("application_name=celery* => ai, database=analytics => bulk,"
			  " client_addr=10.0.5.0/24 => bulk, application_name=psql => admin,"
			  " member_of=analysts => nosuch, member_of=analysts => bulk,"
			  " client_addr=local => web"), "the rules");
	is_int(pgb_rules_resolve(&set, &tab, idx, why, sizeof(why)), 1, "one class is missing");
	is_str(why, "rule 5: class \"nosuch\" is not defined in pg_budget.classes",
		   "the message names the first missing class");
	is_int(idx[4], -1, "its rule resolves to nothing");
	is_int(idx[0], ai, "rule 1 resolves to ai");

	memset(&login, 0, sizeof(login));
	login.application_name = "celery-7";
	login.database = "app";
	login.addr = v4("192.168.1.1");
	login.member_of = fake_member_of;
	login.member_arg = (void *) member_roles;

	is_int(pgb_rules_choose(&set, idx, &tab, web, &login, &raised), 0,
		   "celery under web goes to ai by rule 1");
	is_int((long long) raised, 0, "nothing was skipped");

	login.application_name = "rails";
	login.database = "analytics";
	is_int(pgb_rules_choose(&set, idx, &tab, web, &login, &raised), 1,
		   "the analytics database goes to bulk by rule 2");

	login.database = "app";
	login.addr = v4("10.0.5.3");
	is_int(pgb_rules_choose(&set, idx, &tab, ai, &login, &raised), 2,
		   "10.0.5.3 goes to bulk by rule 3");

	/* the spoofing attempt: a bulk role names itself psql to become admin */
	login.addr = v4("192.168.1.1");
	login.application_name = "psql";
	member_calls = 0;
	is_int(pgb_rules_choose(&set, idx, &tab, bulk, &login, &raised), 5,
		   "a bulk role calling itself psql is not raised to admin: rule 6 (member_of) takes it");
	is_int((long long) raised, 1 << 3, "rule 4 is recorded as skipped for raising");
	ok(member_calls == 1, "member_of is asked once: the rule of a missing class is never judged");
	member_roles[0] = "nobody";
	is_int(pgb_rules_choose(&set, idx, &tab, bulk, &login, &raised), -1,
		   "with no other rule, a bulk role calling itself psql stays where it is");
	member_roles[0] = "analysts";
	is_int(pgb_rules_choose(&set, idx, &tab, admin, &login, &raised), 3,
		   "an admin role named psql matches rule 4 (same priority)");

	/* web to web: an equal priority is allowed */
	login.application_name = "x";
	login.addr.family = PGB_ADDR_LOCAL;
	member_roles[0] = "nobody";
	is_int(pgb_rules_choose(&set, idx, &tab, web, &login, &raised), 6,
		   "the socket rule gives web to web");
	is_int(pgb_rules_choose(&set, idx, &tab, bulk, &login, &raised), -1,
		   "but never web to bulk");
	is_int((long long) raised, (long long) (UINT64CONST(1) << 6), "rule 7 was skipped");
	member_roles[0] = "analysts";

	login.application_name = NULL;
	ok(parses("application_name=* => ai"), "a catch-all");
	pgb_rules_resolve(&set, &tab, idx, NULL, 0);
	is_int(pgb_rules_choose(&set, idx, &tab, web, &login, &raised), 0,
		   "* matches a login with no application_name");
	login.addr.family = PGB_ADDR_NONE;
	ok(parses("client_addr=0.0.0.0/0 => ai, client_addr=local => ai"), "address rules");
	pgb_rules_resolve(&set, &tab, idx, NULL, 0);
	is_int(pgb_rules_choose(&set, idx, &tab, web, &login, &raised), -1,
		   "an unknown address matches no address rule");
	is_int(pgb_rules_resolve(&set, &tab, idx, NULL, 0), 0, "resolve with no buffer");
	is_str(pgb_rule_attr_name(PGB_RULE_MEMBER_OF), "member_of", "attribute names");
}

int
main(void)
{
	test_glob();
	test_cidr();
	test_choose();
	return done_testing();
}
