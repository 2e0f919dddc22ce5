/*-------------------------------------------------------------------------
 *
 * rules_math.c
 *	  The pg_budget.rules parser, globs, addresses and CIDRs, and the
 *	  choice of a session's class by rule.  Pure C with no server calls,
 *	  so it is unit-tested and fuzzed alone.
 *
 *-------------------------------------------------------------------------
 */
#include "rules_math.h"
#include "text_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char *const attr_names[] = {
	"application_name", "database", "client_addr", "member_of"
};

#define NUM_ATTRS	lengthof(attr_names)

static bool rule_error(char *errbuf, size_t errlen, int pos,
					   const char *fmt,...) pg_attribute_printf(4, 5);

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

static const char *
skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* A word ends at a blank, a comma, an "=" or the end. */
static size_t
word_len(const char *p)
{
	size_t		n = 0;

	while (p[n] != '\0' && !is_blank(p[n]) && p[n] != ',' && p[n] != '=')
		n++;
	return n;
}

/* The token at p, for "... but found X". */
static void
describe_token(const char *p, char *buf, size_t buflen)
{
	size_t		n;

	if (*p == '\0')
		snprintf(buf, buflen, "end of input");
	else if (p[0] == '=' && p[1] == '>')
		snprintf(buf, buflen, "\"=>\"");
	else if (*p == ',' || *p == '=')
		pgb_quote_token(p, 1, buf, buflen);
	else
	{
		n = word_len(p);
		pgb_quote_token(p, n, buf, buflen);
	}
}

/* A message about rule pos (1-based; 0: about the list); returns false. */
static bool
rule_error(char *errbuf, size_t errlen, int pos, const char *fmt,...)
{
	va_list		ap;
	size_t		used = 0;

	if (errbuf == NULL || errlen == 0)
		return false;
	errbuf[0] = '\0';
	if (pos > 0)
	{
		int			n = snprintf(errbuf, errlen, "rule %d: ", pos);

		if (n < 0)
			return false;
		used = (size_t) n;
	}
	if (used < errlen)
	{
		va_start(ap, fmt);
		vsnprintf(errbuf + used, errlen - used, fmt, ap);
		va_end(ap);
	}
	errbuf[errlen - 1] = '\0';
	pgb_utf8_trim_partial(errbuf);
	return false;
}

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
			if (tok[k] < '0' || tok[k] > '9')
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

static bool
valid_class_name(const char *name, size_t len)
{
	size_t		i;

	if (len == 0 || len > PGB_CLASS_NAME_LEN ||
		!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (i = 1; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9')))
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
set_pattern(PgbRule *r, int pos, const char *pat, size_t len,
			char *errbuf, size_t errlen)
{
	char		quoted[PGB_QUOTE_BUF];
	const char *attr = attr_names[r->attr];

	pgb_quote_token(pat, len, quoted, sizeof(quoted));
	if (len > PGB_RULE_PATTERN_LEN)
		return rule_error(errbuf, errlen, pos,
						  "pattern %s for %s is longer than %d bytes",
						  quoted, attr, PGB_RULE_PATTERN_LEN);
	memcpy(r->pattern, pat, len);
	r->pattern[len] = '\0';

	switch (r->attr)
	{
		case PGB_RULE_APPLICATION_NAME:
			if (!valid_glob(pat, len))
				return rule_error(errbuf, errlen, pos,
								  "invalid pattern %s for application_name (expected printable ASCII with the wildcards * and ?; [, ] and \\ are not allowed)",
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
				return rule_error(errbuf, errlen, pos,
								  "invalid address %s for client_addr (expected an IPv4 or IPv6 address, a CIDR such as 10.0.5.0/24 with no bits set right of the mask, or local)",
								  quoted);
			break;
		case PGB_RULE_DATABASE:
		case PGB_RULE_MEMBER_OF:
			/* a name, compared as it is: any word will do */
			break;
	}
	return true;
}

/* Parse one rule at *pp (not a blank) into r; leaves *pp after its class. */
static bool
parse_rule(const char **pp, PgbRule *r, int pos, char *errbuf, size_t errlen)
{
	const char *p = *pp;
	size_t		n;
	char		quoted[PGB_QUOTE_BUF];
	char		found[PGB_QUOTE_BUF];
	const char *pat;
	size_t		patlen;
	size_t		a;
	bool		known = false;

	memset(r, 0, sizeof(*r));

	n = word_len(p);
	if (n == 0)
	{
		describe_token(p, found, sizeof(found));
		return rule_error(errbuf, errlen, pos,
						  "expected an attribute but found %s", found);
	}
	pgb_quote_token(p, n, quoted, sizeof(quoted));
	for (a = 0; a < NUM_ATTRS; a++)
	{
		if (strlen(attr_names[a]) == n && memcmp(attr_names[a], p, n) == 0)
		{
			r->attr = (PgbRuleAttr) a;
			known = true;
			break;
		}
	}
	if (!known)
		return rule_error(errbuf, errlen, pos,
						  "unknown attribute %s (expected application_name, database, client_addr or member_of)",
						  quoted);
	p = skip_blanks(p + n);
	if (*p != '=' || p[1] == '>')
	{
		describe_token(p, found, sizeof(found));
		return rule_error(errbuf, errlen, pos,
						  "expected \"=\" after attribute %s but found %s",
						  quoted, found);
	}
	p = skip_blanks(p + 1);

	pat = p;
	patlen = word_len(p);
	if (patlen == 0)
	{
		describe_token(p, found, sizeof(found));
		return rule_error(errbuf, errlen, pos,
						  "expected a pattern for %s but found %s",
						  attr_names[r->attr], found);
	}
	if (!set_pattern(r, pos, pat, patlen, errbuf, errlen))
		return false;
	pgb_quote_token(pat, patlen, quoted, sizeof(quoted));
	p = skip_blanks(p + patlen);
	if (p[0] != '=' || p[1] != '>')
	{
		describe_token(p, found, sizeof(found));
		return rule_error(errbuf, errlen, pos,
						  "expected \"=>\" after pattern %s but found %s",
						  quoted, found);
	}
	p = skip_blanks(p + 2);

	n = word_len(p);
	if (n == 0)
	{
		describe_token(p, found, sizeof(found));
		return rule_error(errbuf, errlen, pos,
						  "expected a class name after \"=>\" but found %s",
						  found);
	}
	pgb_quote_token(p, n, quoted, sizeof(quoted));
	if (!valid_class_name(p, n))
		return rule_error(errbuf, errlen, pos,
						  "invalid class name %s (a lower-case identifier of at most %d characters)",
						  quoted, PGB_CLASS_NAME_LEN);
	memcpy(r->class_name, p, n);
	r->class_name[n] = '\0';

	snprintf(r->text, sizeof(r->text), "%s=%s => %s",
			 attr_names[r->attr], r->pattern, r->class_name);
	r->hash = rule_hash(r->text, pos);
	*pp = p + n;
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
	const char *p = str != NULL ? skip_blanks(str) : "";
	char		found[PGB_QUOTE_BUF];

	set->nrules = 0;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (*p == '\0')
		return true;

	for (;;)
	{
		if (set->nrules >= PGB_MAX_RULES)
			return rule_error(errbuf, errlen, 0, "more than %d rules",
							  PGB_MAX_RULES);
		if (!parse_rule(&p, &set->rules[set->nrules], set->nrules + 1,
						errbuf, errlen))
			return false;
		set->nrules++;
		p = skip_blanks(p);
		if (*p == '\0')
			break;
		if (*p != ',')
		{
			describe_token(p, found, sizeof(found));
			return rule_error(errbuf, errlen, set->nrules,
							  "expected \",\" after class \"%s\" but found %s",
							  set->rules[set->nrules - 1].class_name, found);
		}
		p = skip_blanks(p + 1);
		if (*p == '\0')
			return rule_error(errbuf, errlen, 0,
							  "unexpected \",\" at end of rule list");
	}
	return true;
}

int
pgb_rules_resolve(const PgbRuleSet *set, const PgbClassTable *table,
				  int *class_idx, char *errbuf, size_t errlen)
{
	int			missing = 0;
	int			i;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	for (i = 0; i < set->nrules; i++)
	{
		class_idx[i] = pgb_find_class(table, set->rules[i].class_name);
		if (class_idx[i] >= 0)
			continue;
		if (missing++ == 0)
			rule_error(errbuf, errlen, i + 1,
					   "class \"%s\" is not defined in pg_budget.classes",
					   set->rules[i].class_name);
	}
	return missing;
}

bool
pgb_rule_matches(const PgbRule *rule, const PgbLoginAttrs *login)
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
		if (!pgb_rule_matches(&set->rules[i], login))
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
