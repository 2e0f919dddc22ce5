/*-------------------------------------------------------------------------
 *
 * rules_parse.h
 *	  pg_budget.rules: what it parses into, the parser (rules_parse.c)
 *	  and the reader of addresses and CIDRs it uses.
 *
 * Pure logic: includes nothing from the server beyond c.h, so the parser
 * is unit-tested and fuzzed without a server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_RULES_PARSE_H
#define PGB_RULES_PARSE_H

#include "c.h"

#include "classes.h"

/* Most rules pg_budget.rules may hold (one bit each in a uint64). */
#define PGB_MAX_RULES		64

/* Longest pattern: application_name and names are cut at 63 bytes. */
#define PGB_RULE_PATTERN_LEN	63

/* Room for a rule's text, "attribute=pattern => class". */
#define PGB_RULE_TEXT_LEN	(16 + PGB_RULE_PATTERN_LEN + 4 + PGB_CLASS_NAME_LEN + 1)

typedef enum PgbRuleAttr
{
	PGB_RULE_APPLICATION_NAME = 0,
	PGB_RULE_DATABASE,
	PGB_RULE_CLIENT_ADDR,
	PGB_RULE_MEMBER_OF
} PgbRuleAttr;

typedef enum PgbAddrFamily
{
	PGB_ADDR_NONE = 0,			/* unknown: matches no client_addr rule */
	PGB_ADDR_LOCAL,				/* the Unix socket */
	PGB_ADDR_V4,
	PGB_ADDR_V6
} PgbAddrFamily;

/* An address in network byte order: 4 bytes for V4, 16 for V6. */
typedef struct PgbAddr
{
	PgbAddrFamily family;
	uint8		bytes[16];
} PgbAddr;

typedef struct PgbRule
{
	PgbRuleAttr attr;
	char		pattern[PGB_RULE_PATTERN_LEN + 1];
	char		class_name[PGB_CLASS_NAME_LEN + 1];
	PgbAddr		net;			/* client_addr: the network (or LOCAL) */
	int			prefix;			/* client_addr: bits of the mask */
	char		text[PGB_RULE_TEXT_LEN];	/* as the views show it */
	uint32		hash;			/* of text and position: counters' key */
} PgbRule;

typedef struct PgbRuleSet
{
	int			nrules;
	PgbRule		rules[PGB_MAX_RULES];
} PgbRuleSet;

/*
 * Parse a pg_budget.rules string into *set: a comma-separated list of
 * "attribute=pattern => class", blanks allowed around every token.  On
 * failure returns false and writes a one-line message naming the rule
 * (by position) and the token at fault into errbuf.  Class names are
 * checked for form only: whether the table has them is pgb_rules_resolve's.
 */
extern bool pgb_parse_rules(const char *str, PgbRuleSet *set,
							char *errbuf, size_t errlen);

/*
 * For each rule, the index of its class in table, or -1 when the table
 * lacks it (such a rule matches nothing).  Returns how many are missing;
 * errbuf gets a message naming the first, when not NULL.
 */
extern int	pgb_rules_resolve(const PgbRuleSet *set, const PgbClassTable *table,
							  int *class_idx, char *errbuf, size_t errlen);

/*
 * Parse tok[0..len) as an IPv4 or IPv6 address, optionally with "/bits",
 * into *addr and *prefix (the address length when there is no "/").
 * False on anything else, or when bits are set right of the mask.
 */
extern bool pgb_parse_cidr(const char *tok, size_t len, PgbAddr *addr,
						   int *prefix);

extern const char *pgb_rule_attr_name(PgbRuleAttr attr);

#endif							/* PGB_RULES_PARSE_H */
