/*-------------------------------------------------------------------------
 *
 * rules_match.h
 *	  Matching a login against pg_budget.rules (rules_match.c): globs,
 *	  addresses in networks and the only-lower choice of a class by rule.
 *
 * Pure logic: includes nothing from the server beyond c.h, so the
 * matcher is unit-tested and fuzzed without a server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_RULES_MATCH_H
#define PGB_RULES_MATCH_H

#include "c.h"

#include "rules_parse.h"

/* What a login is judged by; member_of is asked only when a rule needs it. */
typedef bool (*PgbMemberOfFunc) (const char *role, void *arg);

typedef struct PgbLoginAttrs
{
	const char *application_name;	/* NULL: matches no pattern */
	const char *database;
	PgbAddr		addr;
	PgbMemberOfFunc member_of;
	void	   *member_arg;
} PgbLoginAttrs;

/* Glob: "*" any run of bytes, "?" any one byte, anything else itself. */
extern bool pgb_glob_match(const char *pattern, const char *str);

/*
 * Is client inside net/prefix?  An IPv4 network also takes the same
 * address mapped into IPv6 (::ffff:a.b.c.d); LOCAL takes only LOCAL.
 */
extern bool pgb_addr_in(const PgbAddr *net, int prefix, const PgbAddr *client);

/*
 * The session's class by the rules: the first rule that matches, whose
 * class is in the table and has no higher priority than class self (the
 * class of the role and database); its position, or -1 when none.  A
 * rule that matches but would raise the priority is skipped: its bit is
 * set in *raised.  class_idx is pgb_rules_resolve's.
 */
extern int	pgb_rules_choose(const PgbRuleSet *set, const int *class_idx,
							 const PgbClassTable *table, int self,
							 const PgbLoginAttrs *login, uint64 *raised);

#endif							/* PGB_RULES_MATCH_H */
