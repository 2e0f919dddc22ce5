/*-------------------------------------------------------------------------
 *
 * rules_match.c
 *	  Matching a login against pg_budget.rules: globs, addresses in
 *	  networks, and the only-lower choice of a session's class by rule.
 *	  Pure: no server calls, unit-tested in test/unit/test_rules_match.c
 *	  and fuzzed.
 *
 *-------------------------------------------------------------------------
 */
#include "rules_match.h"

#include <string.h>

/* Do a and b agree on their first bits bits? */
static bool
prefix_equal(const uint8 *a, const uint8 *b, int bits)
{
	int			whole = bits / 8;
	int			rest = bits % 8;

	if (whole > 0 && memcmp(a, b, whole) != 0)
		return false;
	if (rest > 0)
	{
		uint8		mask = (uint8) (0xFF << (8 - rest));

		if ((a[whole] & mask) != (b[whole] & mask))
			return false;
	}
	return true;
}

bool
pgb_addr_in(const PgbAddr *net, int prefix, const PgbAddr *client)
{
	static const uint8 v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

	switch (net->family)
	{
		case PGB_ADDR_LOCAL:
			return client->family == PGB_ADDR_LOCAL;
		case PGB_ADDR_V4:
			if (client->family == PGB_ADDR_V4)
				return prefix_equal(net->bytes, client->bytes, prefix);
			if (client->family == PGB_ADDR_V6 &&
				memcmp(client->bytes, v4mapped, sizeof(v4mapped)) == 0)
				return prefix_equal(net->bytes, client->bytes + 12, prefix);
			return false;
		case PGB_ADDR_V6:
			return client->family == PGB_ADDR_V6 &&
				prefix_equal(net->bytes, client->bytes, prefix);
		case PGB_ADDR_NONE:
			break;
	}
	return false;
}

bool
pgb_glob_match(const char *pattern, const char *str)
{
	const char *p = pattern;
	const char *s = str;
	const char *star = NULL;
	const char *resume = NULL;

	/*
	 * Greedy with one backtrack point, the last "*": O(len(p) * len(s)) at
	 * worst, and both are at most 63 bytes.
	 */
	while (*s != '\0')
	{
		if (*p == '*')
		{
			star = p++;
			resume = s;
		}
		else if (*p == '?' || (*p != '\0' && *p == *s))
		{
			p++;
			s++;
		}
		else if (star != NULL)
		{
			p = star + 1;
			s = ++resume;
		}
		else
			return false;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Does the login have the rule's attribute? */
static bool
rule_matches(const PgbRule *rule, const PgbLoginAttrs *login)
{
	switch (rule->attr)
	{
		case PGB_RULE_APPLICATION_NAME:
			return pgb_glob_match(rule->pattern,
								  login->application_name ? login->application_name : "");
		case PGB_RULE_DATABASE:
			return login->database != NULL &&
				strcmp(rule->pattern, login->database) == 0;
		case PGB_RULE_CLIENT_ADDR:
			return pgb_addr_in(&rule->net, rule->prefix, &login->addr);
		case PGB_RULE_MEMBER_OF:
			return login->member_of != NULL &&
				login->member_of(rule->pattern, login->member_arg);
	}
	return false;
}

int
pgb_rules_choose(const PgbRuleSet *set, const int *class_idx,
				 const PgbClassTable *table, int self,
				 const PgbLoginAttrs *login, uint64 *raised)
{
	int			i;

	*raised = 0;
	for (i = 0; i < set->nrules; i++)
	{
		int			c = class_idx[i];

		if (c < 0 || c >= table->nclasses)
			continue;
		if (!rule_matches(&set->rules[i], login))
			continue;
		/* a client picks its own application_name: never a way up */
		if (table->classes[c].priority > table->classes[self].priority)
		{
			*raised |= UINT64CONST(1) << i;
			continue;
		}
		return i;
	}
	return -1;
}
