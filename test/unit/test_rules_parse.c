/*-------------------------------------------------------------------------
 *
 * test_rules_parse.c
 *	  Unit tests for the pg_budget.rules parser and its messages
 *	  (src/rules_parse.c).  No server needed.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/rules_parse.c src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "rules_parse.h"

#include <stdio.h>
#include <string.h>

#include "unit.h"

#define EXPECT_PARSED "(no error: the string parsed)"

static PgbRuleSet set;
static char errbuf[256];

static const char *
error_of(const char *str)
{
	if (pgb_parse_rules(str, &set, errbuf, sizeof(errbuf)))
		return EXPECT_PARSED;
	return errbuf;
}

static bool
parses(const char *str)
{
	bool		r = pgb_parse_rules(str, &set, errbuf, sizeof(errbuf));

	if (!r)
		diag(errbuf);
	return r;
}

static void
test_parse(void)
{
	ok(parses(""), "an empty list parses");
	is_int(set.nrules, 0, "with no rules");
	ok(parses("  \t "), "a blank list parses");
	ok(parses("application_name=celery* => ai, database=analytics => bulk,\n"
			  "  client_addr=10.0.5.0/24 => bulk, client_addr=local => web,"
			  " member_of=analysts=>bulk, client_addr = ::1 => web"),
	   "the README's list parses");
	is_int(set.nrules, 6, "six rules");
	is_int(set.rules[0].attr, PGB_RULE_APPLICATION_NAME, "rule 1 is by application_name");
	is_str(set.rules[0].pattern, "celery*", "rule 1's pattern");
	is_str(set.rules[0].class_name, "ai", "rule 1's class");
	is_str(set.rules[0].text, "application_name=celery* => ai", "rule 1's text");
	is_int(set.rules[2].prefix, 24, "rule 3's mask");
	is_int(set.rules[3].net.family, PGB_ADDR_LOCAL, "rule 4 is the Unix socket");
	is_str(set.rules[4].text, "member_of=analysts => bulk", "blanks do not reach the text");
	is_str(set.rules[5].text, "client_addr=::1 => web", "blanks around = are allowed");
	ok(set.rules[0].hash != set.rules[1].hash, "rules hash apart");

	{
		uint32		h = set.rules[0].hash;

		ok(parses("database=x => y, application_name=celery* => ai"), "reordered");
		ok(set.rules[1].hash != h, "the same rule elsewhere has another key");
	}

	is_str(error_of("app=celery* => ai"),
		   "rule 1: unknown attribute \"app\" (expected application_name, database, client_addr or member_of)",
		   "an unknown attribute is named");
	is_str(error_of("database=a => b, user=x => y"),
		   "rule 2: unknown attribute \"user\" (expected application_name, database, client_addr or member_of)",
		   "the rule is numbered");
	is_str(error_of("client_addr=10.0.5.0/33 => bulk"),
		   "rule 1: invalid address \"10.0.5.0/33\" for client_addr (expected an IPv4 or IPv6 address, a CIDR such as 10.0.5.0/24 with no bits set right of the mask, or local)",
		   "a bad CIDR is named");
	like(error_of("client_addr=10.0.5.1/24 => bulk"), "invalid address \"10.0.5.1/24\"",
		 "a host in a network is refused");
	like(error_of("client_addr=localhost => web"), "invalid address \"localhost\"",
		 "a host name is refused");
	is_str(error_of("application_name=cel[ery] => ai"),
		   "rule 1: invalid pattern \"cel[ery]\" for application_name (expected printable ASCII with the wildcards * and ?; [, ] and \\ are not allowed)",
		   "a bad glob is named");
	like(error_of("application_name=caf\xc3\xa9 => ai"), "invalid pattern",
		 "non-ASCII can never match application_name");
	like(error_of("application_name=a\\* => ai"), "invalid pattern", "no escapes");
	is_str(error_of("application_name=celery* => AI"),
		   "rule 1: invalid class name \"AI\" (a lower-case identifier of at most 63 characters)",
		   "a bad class name is named");
	is_str(error_of("application_name=celery* ai"),
		   "rule 1: expected \"=>\" after pattern \"celery*\" but found \"ai\"",
		   "a missing arrow");
	is_str(error_of("application_name => ai"),
		   "rule 1: expected \"=\" after attribute \"application_name\" but found \"=>\"",
		   "a missing pattern");
	is_str(error_of("application_name= => ai"),
		   "rule 1: expected a pattern for application_name but found \"=>\"",
		   "an empty pattern");
	is_str(error_of("database=x =>"),
		   "rule 1: expected a class name after \"=>\" but found end of input",
		   "a missing class");
	is_str(error_of("database=x => a b"),
		   "rule 1: expected \",\" after class \"a\" but found \"b\"",
		   "two words for a class");
	is_str(error_of("database=x => a,"),
		   "unexpected \",\" at end of rule list", "a trailing comma");
	is_str(error_of(", database=x => a"),
		   "rule 1: expected an attribute but found \",\"", "a leading comma");
	like(error_of("database=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa => a"),
		 "is longer than 63 bytes", "a pattern longer than a name");

	{
		char		big[PGB_MAX_RULES * 24 + 64];
		size_t		used = 0;
		int			i;

		for (i = 0; i < PGB_MAX_RULES; i++)
			used += snprintf(big + used, sizeof(big) - used, "%sdatabase=d%d => a",
							 i ? ", " : "", i);
		ok(parses(big), "64 rules parse");
		is_int(set.nrules, PGB_MAX_RULES, "all 64");
		snprintf(big + used, sizeof(big) - used, ", database=x => a");
		is_str(error_of(big), "more than 64 rules", "the 65th is refused");
	}

	/* a tiny error buffer still gets a terminated message */
	{
		char		tiny[8];

		memset(tiny, 'x', sizeof(tiny));
		ok(!pgb_parse_rules("app=x => y", &set, tiny, sizeof(tiny)) &&
		   strlen(tiny) < sizeof(tiny), "a small error buffer is terminated");
	}
}

int
main(void)
{
	test_parse();
	return done_testing();
}
