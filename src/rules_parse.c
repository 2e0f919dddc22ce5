/*-------------------------------------------------------------------------
 *
 * rules_parse.c
 *	  The grammar of pg_budget.rules, read through the shared lexer: the
 *	  attributes, their patterns and addresses (CIDRs), and the rules'
 *	  classes looked up in the class table.  Pure: no server calls,
 *	  unit-tested in test/unit/test_rules_parse.c and fuzzed.
 *
 *-------------------------------------------------------------------------
 */
#include "rules_parse.h"
#include "lexer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char *const attr_names[] = {
	"application_name", "database", "client_addr", "member_of"
};

#define NUM_ATTRS	lengthof(attr_names)

const char *
pgb_rule_attr_name(PgbRuleAttr attr)
{
	if ((size_t) attr < NUM_ATTRS)
		return attr_names[attr];
	return "unknown";
}

bool
pgb_parse_cidr(const char *tok, size_t len, PgbAddr *addr, int *prefix)
{
	char		buf[64];
	size_t		alen = len;
	const char *slash = memchr(tok, '/', len);
	int			bits;
	int			maxbits;
	int			i;

	if (slash != NULL)
		alen = (size_t) (slash - tok);
	if (alen == 0 || alen >= sizeof(buf))
		return false;
	memcpy(buf, tok, alen);
	buf[alen] = '\0';
	memset(addr, 0, sizeof(*addr));
	if (memchr(buf, ':', alen) != NULL)
	{
		if (inet_pton(AF_INET6, buf, addr->bytes) != 1)
			return false;
		addr->family = PGB_ADDR_V6;
		maxbits = 128;
	}
	else
	{
		if (inet_pton(AF_INET, buf, addr->bytes) != 1)
			return false;
		addr->family = PGB_ADDR_V4;
		maxbits = 32;
	}

	bits = maxbits;
	if (slash != NULL)
	{
		size_t		k = alen + 1;

		/* one to three digits, no sign, no blank */
		if (k >= len || len - k > 3)
			return false;
		bits = 0;
		for (; k < len; k++)
		{
			if (!pgb_is_digit(tok[k]))
				return false;
			bits = bits * 10 + (tok[k] - '0');
		}
		if (bits > maxbits)
			return false;
	}
	/* a network, not a host in it: no bit set right of the mask */
	for (i = bits; i < maxbits; i++)
	{
		if (addr->bytes[i / 8] & (0x80 >> (i % 8)))
			return false;
	}
	*prefix = bits;
	return true;
}

/* A glob application_name can match: printable ASCII, no [ ] or \. */
static bool
valid_glob(const char *p, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if (c < 0x20 || c > 0x7E || c == '[' || c == ']' || c == '\\')
			return false;
	}
	return true;
}

/* FNV-1a of the text and the position. */
static uint32
rule_hash(const char *text, int pos)
{
	uint32		h = 2166136261u;
	const unsigned char *c;

	for (c = (const unsigned char *) text; *c; c++)
		h = (h ^ *c) * 16777619u;
	h = (h ^ (uint32) pos) * 16777619u;
	return h;
}

/* Check and store the pattern of rule r (already has its attr). */
static bool
set_pattern(PgbLexer *lex, PgbRule *r, const char *pat, size_t len)
{
	char		quoted[PGB_QUOTE_BUF];
	const char *attr = attr_names[r->attr];

	pgb_quote_token(pat, len, quoted, sizeof(quoted));
	if (len > PGB_RULE_PATTERN_LEN)
		return pgb_lex_error(lex, "pattern %s for %s is longer than %d bytes",
							 quoted, attr, PGB_RULE_PATTERN_LEN);
	memcpy(r->pattern, pat, len);
	r->pattern[len] = '\0';

	switch (r->attr)
	{
		case PGB_RULE_APPLICATION_NAME:
			if (!valid_glob(pat, len))
				return pgb_lex_error(lex, "invalid pattern %s for application_name (expected printable ASCII with the wildcards * and ?; [, ] and \\ are not allowed)",
									 quoted);
			break;
		case PGB_RULE_CLIENT_ADDR:
			if (len == 5 && memcmp(pat, "local", 5) == 0)
			{
				memset(&r->net, 0, sizeof(r->net));
				r->net.family = PGB_ADDR_LOCAL;
				r->prefix = 0;
			}
			else if (!pgb_parse_cidr(pat, len, &r->net, &r->prefix))
				return pgb_lex_error(lex, "invalid address %s for client_addr (expected an IPv4 or IPv6 address, a CIDR such as 10.0.5.0/24 with no bits set right of the mask, or local)",
									 quoted);
			break;
		case PGB_RULE_DATABASE:
		case PGB_RULE_MEMBER_OF:
			/* a name, compared as it is: any word will do */
			break;
	}
	return true;
}

/*
 * Parse rule pos (1-based) at the current token into r; leaves the lexer
 * after its class, with messages still naming the rule.
 */
static bool
parse_rule(PgbLexer *lex, PgbRule *r, int pos)
{
	const char *word;
	size_t		n;
	char		quoted[PGB_QUOTE_BUF];
	size_t		a;
	bool		known = false;

	memset(r, 0, sizeof(*r));
	pgb_lex_context(lex, "rule %d: ", pos);

	n = pgb_lex_word(lex, &word);
	if (n == 0)
		return pgb_lex_error(lex, "expected an attribute but found %s",
							 pgb_lex_found(lex));
	pgb_quote_token(word, n, quoted, sizeof(quoted));
	for (a = 0; a < NUM_ATTRS; a++)
	{
		if (strlen(attr_names[a]) == n && memcmp(attr_names[a], word, n) == 0)
		{
			r->attr = (PgbRuleAttr) a;
			known = true;
			break;
		}
	}
	if (!known)
		return pgb_lex_error(lex, "unknown attribute %s (expected application_name, database, client_addr or member_of)",
							 quoted);
	if (!pgb_lex_accept(lex, "="))
		return pgb_lex_error(lex, "expected \"=\" after attribute %s but found %s",
							 quoted, pgb_lex_found(lex));

	n = pgb_lex_word(lex, &word);
	if (n == 0)
		return pgb_lex_error(lex, "expected a pattern for %s but found %s",
							 attr_names[r->attr], pgb_lex_found(lex));
	if (!set_pattern(lex, r, word, n))
		return false;
	pgb_quote_token(word, n, quoted, sizeof(quoted));
	if (!pgb_lex_accept(lex, "=>"))
		return pgb_lex_error(lex, "expected \"=>\" after pattern %s but found %s",
							 quoted, pgb_lex_found(lex));

	n = pgb_lex_word(lex, &word);
	if (n == 0)
		return pgb_lex_error(lex, "expected a class name after \"=>\" but found %s",
							 pgb_lex_found(lex));
	pgb_quote_token(word, n, quoted, sizeof(quoted));
	if (n > PGB_CLASS_NAME_LEN || !pgb_is_identifier(word, n))
		return pgb_lex_error(lex, "invalid class name %s (a lower-case identifier of at most %d characters)",
							 quoted, PGB_CLASS_NAME_LEN);
	memcpy(r->class_name, word, n);
	r->class_name[n] = '\0';

	snprintf(r->text, sizeof(r->text), "%s=%s => %s",
			 attr_names[r->attr], r->pattern, r->class_name);
	r->hash = rule_hash(r->text, pos);
	return true;
}

/*
 * A NULL string is an empty one.  Grammar:
 *
 *	 list := blank* [ rule ( blank* "," blank* rule )* ] blank*
 *	 rule := attribute blank* "=" blank* pattern blank* "=>" blank* class
 */
bool
pgb_parse_rules(const char *str, PgbRuleSet *set, char *errbuf, size_t errlen)
{
	PgbLexer	lex;

	set->nrules = 0;
	pgb_lex_init(&lex, str, ",=", true, errbuf, errlen);
	if (pgb_lex_at_end(&lex))
		return true;

	for (;;)
	{
		if (set->nrules >= PGB_MAX_RULES)
			return pgb_lex_error(&lex, "more than %d rules", PGB_MAX_RULES);
		if (!parse_rule(&lex, &set->rules[set->nrules], set->nrules + 1))
			return false;
		set->nrules++;
		if (pgb_lex_at_end(&lex))
			break;
		if (!pgb_lex_accept(&lex, ","))
			return pgb_lex_error(&lex, "expected \",\" after class \"%s\" but found %s",
								 set->rules[set->nrules - 1].class_name,
								 pgb_lex_found(&lex));
		pgb_lex_clear_context(&lex);
		if (pgb_lex_at_end(&lex))
			return pgb_lex_error(&lex, "unexpected \",\" at end of rule list");
	}
	return true;
}

int
pgb_rules_resolve(const PgbRuleSet *set, const PgbClassTable *table,
				  int *class_idx, char *errbuf, size_t errlen)
{
	int			missing = 0;
	int			i;

	pgb_clear_error(errbuf, errlen);
	for (i = 0; i < set->nrules; i++)
	{
		class_idx[i] = pgb_find_class(table, set->rules[i].class_name);
		if (class_idx[i] >= 0)
			continue;
		if (missing++ == 0)
			pgb_error(errbuf, errlen,
					  "rule %d: class \"%s\" is not defined in pg_budget.classes",
					  i + 1, set->rules[i].class_name);
	}
	return missing;
}
