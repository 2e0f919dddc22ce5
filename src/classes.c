/*-------------------------------------------------------------------------
 *
 * classes.c
 *	  The pg_budget.classes parser, the budget check and the class table
 *	  helpers.  Pure C with no server calls, so it is unit-tested alone.
 *
 *-------------------------------------------------------------------------
 */
#include "classes.h"
#include "lexer.h"

#include <stdio.h>
#include <string.h>

/* Bound of every integer key, and of N in rate=N/unit. */
#define PGB_INT_LIMIT		1000000

/* Digits after the decimal point that a rate keeps (the rest are ignored). */
#define PGB_RATE_FRAC_DIGITS 9

/*
 * Digits after the decimal point a duration may have: to the nanosecond
 * of a second, so that rounding up to the millisecond is exact.
 */
#define PGB_DURATION_FRAC_DIGITS 9

/* Bound of the integer part of a size in bytes: 1 TB. */
#define PGB_SIZE_LIMIT		(INT64CONST(1024) * 1024 * 1024 * 1024)

typedef enum PgbKey
{
	PGB_KEY_MAX = 0,
	PGB_KEY_RESERVE,
	PGB_KEY_PRIORITY,
	PGB_KEY_RATE,
	PGB_KEY_BURST,
	PGB_KEY_SHED,
	PGB_KEY_FLOOR,
	PGB_KEY_ACTIVE,
	PGB_KEY_QUEUE_TIMEOUT,
	PGB_KEY_WAL,
	PGB_KEY_CPU,
	PGB_NUM_KEYS
} PgbKey;

static const char *const key_names[PGB_NUM_KEYS] = {
	"max", "reserve", "priority", "rate", "burst", "shed", "floor", "active",
	"queue_timeout", "wal", "cpu"
};

typedef enum NumResult
{
	NUM_OK,
	NUM_SYNTAX,					/* not a number of the expected form */
	NUM_RANGE					/* well formed but out of range */
} NumResult;

/*
 * Parse tok[0..len) as an optionally negative decimal integer in
 * [min, max].  Both bounds must lie within +-PGB_INT_LIMIT: the value
 * stops growing once it passes the limit, so huge inputs cannot overflow.
 */
static NumResult
parse_int(const char *tok, size_t len, int min, int max, int *result)
{
	size_t		i = 0;
	bool		neg = false;
	int64		val = 0;

	if (i < len && tok[i] == '-')
	{
		neg = true;
		i++;
	}
	if (i == len)
		return NUM_SYNTAX;
	for (; i < len; i++)
	{
		if (!pgb_is_digit(tok[i]))
			return NUM_SYNTAX;
		if (val <= PGB_INT_LIMIT)
			val = val * 10 + (tok[i] - '0');
	}
	if (neg)
		val = -val;
	if (val < min || val > max)
		return NUM_RANGE;
	*result = (int) val;
	return NUM_OK;
}

/*
 * Read digits with an optional fraction (digits "." digits) at tok[*i]:
 * the value is ipart + frac / scale, exactly (the fraction keeps
 * PGB_RATE_FRAC_DIGITS digits, the integer part stops growing past limit,
 * at most PGB_SIZE_LIMIT, so that it can not overflow).  Leaves *i after
 * it; false when there is no such number.
 */
static bool
parse_decimal(const char *tok, size_t len, size_t *i, int64 limit,
			  int64 *ipart, int64 *frac, int64 *scale)
{
	size_t		k = *i;

	*ipart = 0;
	*frac = 0;
	*scale = 1;
	if (k >= len || !pgb_is_digit(tok[k]))
		return false;
	while (k < len && pgb_is_digit(tok[k]))
	{
		if (*ipart <= limit)
			*ipart = *ipart * 10 + (tok[k] - '0');
		k++;
	}
	if (k < len && tok[k] == '.')
	{
		int			ndigits = 0;

		k++;
		if (k >= len || !pgb_is_digit(tok[k]))
			return false;
		while (k < len && pgb_is_digit(tok[k]))
		{
			if (ndigits < PGB_RATE_FRAC_DIGITS)
			{
				*frac = *frac * 10 + (tok[k] - '0');
				*scale *= 10;
				ndigits++;
			}
			k++;
		}
	}
	*i = k;
	return true;
}

/*
 * Parse tok[0..len) as N/s, N/min or N/m, where N is digits with an
 * optional fraction (digits "." digits), 0 < N <= PGB_INT_LIMIT.  Stores
 * logins per second.  Done by hand rather than with strtod so that the
 * decimal point does not depend on the locale: N is read as an exact
 * integer mantissa and a power of ten, then divided once.
 */
static NumResult
parse_rate(const char *tok, size_t len, double *result)
{
	size_t		i = 0;
	int64		ipart;
	int64		frac;
	int64		scale;
	int64		per;
	const char *unit;
	size_t		ulen;

	if (!parse_decimal(tok, len, &i, PGB_INT_LIMIT, &ipart, &frac, &scale))
		return NUM_SYNTAX;
	if (i >= len || tok[i] != '/')
		return NUM_SYNTAX;
	i++;
	unit = tok + i;
	ulen = len - i;
	if (ulen == 1 && unit[0] == 's')
		per = 1;
	else if ((ulen == 1 && unit[0] == 'm') ||
			 (ulen == 3 && memcmp(unit, "min", 3) == 0))
		per = 60;
	else
		return NUM_SYNTAX;

	if ((ipart == 0 && frac == 0) ||
		ipart > PGB_INT_LIMIT ||
		(ipart == PGB_INT_LIMIT && frac > 0))
		return NUM_RANGE;

	/* ipart * scale + frac < 2^53 and scale * per is exact: one rounding */
	*result = (double) (ipart * scale + frac) / (double) (scale * per);
	return NUM_OK;
}

/* Default burst for a rate: ceil(rate), at least 1. */
static int
default_burst(double rate)
{
	int			burst = (int) rate;	/* rate <= PGB_INT_LIMIT */

	if ((double) burst < rate)
		burst++;
	return Max(burst, 1);
}

static int
lookup_key(const char *key, size_t len)
{
	int			k;

	for (k = 0; k < PGB_NUM_KEYS; k++)
	{
		if (strlen(key_names[k]) == len && memcmp(key_names[k], key, len) == 0)
			return k;
	}
	return -1;
}

/* Report an integer value error for key; returns false. */
static bool
int_value_error(PgbLexer *lex, NumResult res, const char *quoted,
				PgbKey key, int min, int max)
{
	if (res == NUM_SYNTAX)
		return pgb_lex_error(lex, "invalid value %s for key \"%s\"",
						   quoted, key_names[key]);
	return pgb_lex_error(lex, "invalid value %s for key \"%s\" (must be between %d and %d)",
					   quoted, key_names[key], min, max);
}

/* Store the value val[0..len) of key into cls; false on error. */
static bool
set_value(PgbLexer *lex, PgbClass *cls, PgbKey key,
		  const char *val, size_t len)
{
	char		quoted[PGB_QUOTE_BUF];
	NumResult	res;
	int		   *target = NULL;
	int			min = 0;
	int			max = PGB_INT_LIMIT;

	pgb_quote_token(val, len, quoted, sizeof(quoted));

	switch (key)
	{
		case PGB_KEY_MAX:
			target = &cls->max;
			break;
		case PGB_KEY_RESERVE:
			target = &cls->reserve;
			break;
		case PGB_KEY_PRIORITY:
			target = &cls->priority;
			min = -PGB_INT_LIMIT;
			break;
		case PGB_KEY_BURST:
			target = &cls->burst;
			min = 1;
			break;
		case PGB_KEY_FLOOR:
			target = &cls->floor;
			break;
		case PGB_KEY_ACTIVE:
			target = &cls->active;
			min = 1;
			break;
		case PGB_KEY_WAL:
			if (!pgb_parse_byte_rate(val, len, &cls->wal))
				return pgb_lex_error(lex, "invalid value %s for key \"wal\" (expected " PGB_RATE_EXPECTED ")",
								   quoted);
			return true;
		case PGB_KEY_CPU:
			if (len == 4 && memcmp(val, "idle", 4) == 0)
			{
				cls->cpu_idle = true;
				return true;
			}
			res = parse_int(val, len, PGB_CPU_WEIGHT_MIN, PGB_CPU_WEIGHT_MAX,
							&cls->cpu_weight);
			if (res != NUM_OK)
				return pgb_lex_error(lex, "invalid value %s for key \"cpu\" (expected a weight from %d to %d, or idle)",
								   quoted, PGB_CPU_WEIGHT_MIN, PGB_CPU_WEIGHT_MAX);
			return true;
		case PGB_KEY_QUEUE_TIMEOUT:
			if (!pgb_parse_duration_ms(val, len, &cls->queue_timeout))
				return pgb_lex_error(lex, "invalid value %s for key \"queue_timeout\" (expected " PGB_DURATION_EXPECTED ")",
								   quoted);
			return true;
		case PGB_KEY_RATE:
			res = parse_rate(val, len, &cls->rate);
			if (res == NUM_SYNTAX)
				return pgb_lex_error(lex, "invalid value %s for key \"rate\" (expected N/s or N/min)",
								   quoted);
			if (res == NUM_RANGE)
				return pgb_lex_error(lex, "invalid value %s for key \"rate\" (N must be greater than 0 and at most %d)",
								   quoted, PGB_INT_LIMIT);
			return true;
		case PGB_KEY_SHED:
			if (len == 5 && memcmp(val, "never", 5) == 0)
				cls->shed = PGB_SHED_NEVER;
			else if (len == 6 && memcmp(val, "cancel", 6) == 0)
				cls->shed = PGB_SHED_CANCEL;
			else if (len == 9 && memcmp(val, "terminate", 9) == 0)
				cls->shed = PGB_SHED_TERMINATE;
			else
				return pgb_lex_error(lex, "invalid value %s for key \"shed\" (expected never, cancel or terminate)",
								   quoted);
			return true;
		case PGB_NUM_KEYS:
			break;
	}
	if (target == NULL)
		return pgb_lex_error(lex, "internal error: unhandled key");

	res = parse_int(val, len, min, max, target);
	if (res != NUM_OK)
		return int_value_error(lex, res, quoted, key, min, max);
	return true;
}

/*
 * Parse one class, name(key=value, ...), at the current token and append
 * it to table.  Leaves the lexer after the ")".
 */
static bool
parse_class(PgbLexer *lex, PgbClassTable *table)
{
	const char *name = lex->p;
	size_t		namelen = pgb_lex_word(lex);
	char		quoted[PGB_QUOTE_BUF];
	PgbClass   *cls;
	unsigned int seen = 0;

	if (namelen == 0)
		return pgb_lex_error(lex, "expected a class name but found %s",
							 pgb_lex_found(lex));
	pgb_quote_token(name, namelen, quoted, sizeof(quoted));
	if (!pgb_is_identifier(name, namelen))
		return pgb_lex_error(lex, "invalid class name %s", quoted);
	if (namelen > PGB_CLASS_NAME_LEN)
		return pgb_lex_error(lex, "class name %s is longer than %d characters",
							 quoted, PGB_CLASS_NAME_LEN);
	if (table->nclasses >= PGB_MAX_CLASSES)
		return pgb_lex_error(lex, "more than %d classes", PGB_MAX_CLASSES);

	cls = &table->classes[table->nclasses];
	pgb_class_init(cls, name, namelen);
	if (pgb_find_class(table, cls->name) >= 0)
		return pgb_lex_error(lex, "duplicate class %s", quoted);
	table->nclasses++;

	pgb_lex_advance(lex, namelen);
	if (!pgb_lex_is(lex, "("))
		return pgb_lex_error(lex, "expected \"(\" after class name %s", quoted);
	pgb_lex_context(lex, "class \"%s\": ", cls->name);
	pgb_lex_advance(lex, 1);

	if (!pgb_lex_is(lex, ")"))
	{
		for (;;)
		{
			const char *key = lex->p;
			size_t		keylen = pgb_lex_word(lex);
			const char *val;
			size_t		vallen;
			int			k;

			if (keylen == 0)
				return pgb_lex_error(lex, "expected a key but found %s",
									 pgb_lex_found(lex));
			pgb_quote_token(key, keylen, quoted, sizeof(quoted));
			k = lookup_key(key, keylen);
			if (k < 0)
				return pgb_lex_error(lex, "unknown key %s", quoted);
			if (seen & (1U << k))
				return pgb_lex_error(lex, "duplicate key %s", quoted);
			seen |= 1U << k;

			pgb_lex_advance(lex, keylen);
			if (!pgb_lex_is(lex, "="))
				return pgb_lex_error(lex, "expected \"=\" after key %s but found %s",
									 quoted, pgb_lex_found(lex));
			pgb_lex_advance(lex, 1);

			val = lex->p;
			vallen = pgb_lex_word(lex);
			if (vallen == 0)
				return pgb_lex_error(lex, "expected a value for key %s but found %s",
									 quoted, pgb_lex_found(lex));
			if (!set_value(lex, cls, (PgbKey) k, val, vallen))
				return false;

			pgb_lex_advance(lex, vallen);
			if (pgb_lex_is(lex, ")"))
				break;
			if (!pgb_lex_is(lex, ","))
				return pgb_lex_error(lex, "expected \",\" or \")\" after the value of key %s but found %s",
									 quoted, pgb_lex_found(lex));
			pgb_lex_advance(lex, 1);
		}
	}

	if (cls->max != PGB_UNLIMITED && cls->reserve > cls->max)
		return pgb_lex_error(lex, "reserve %d exceeds max %d",
							 cls->reserve, cls->max);
	if (cls->max != PGB_UNLIMITED && cls->floor > cls->max)
	{
		if (seen & (1U << PGB_KEY_FLOOR))
			return pgb_lex_error(lex, "floor %d exceeds max %d",
								 cls->floor, cls->max);
		cls->floor = cls->max;
	}
	if ((seen & (1U << PGB_KEY_BURST)) && !(seen & (1U << PGB_KEY_RATE)))
		return pgb_lex_error(lex, "key \"burst\" requires key \"rate\"");
	if (cls->rate > 0 && !(seen & (1U << PGB_KEY_BURST)))
		cls->burst = default_burst(cls->rate);

	pgb_lex_clear_context(lex);
	pgb_lex_advance(lex, 1);	/* the ")" */
	return true;
}

/*
 * A NULL string is treated like an empty one.  Grammar:
 *
 *	 list  := blank* [ class ( blank* "," blank* class )* ] blank*
 *	 class := name blank* "(" blank* [ item ( blank* "," blank* item )* ] blank* ")"
 *	 item  := key blank* "=" blank* value
 */
bool
pgb_parse_classes(const char *str, PgbClassTable *table,
				  char *errbuf, size_t errlen)
{
	PgbLexer	lex;

	memset(table, 0, sizeof(*table));
	pgb_lex_init(&lex, str, "(),=", false, errbuf, errlen);
	if (pgb_lex_at_end(&lex))
		return true;

	for (;;)
	{
		if (!parse_class(&lex, table))
			return false;
		if (pgb_lex_at_end(&lex))
			break;
		if (!pgb_lex_is(&lex, ","))
			return pgb_lex_error(&lex, "expected \",\" after class \"%s\" but found %s",
								 table->classes[table->nclasses - 1].name,
								 pgb_lex_found(&lex));
		pgb_lex_advance(&lex, 1);
		if (pgb_lex_at_end(&lex))
			return pgb_lex_error(&lex, "unexpected \",\" at end of class list");
	}
	return true;
}

bool
pgb_check_budget(const PgbClassTable *table, int usable,
				 char *errbuf, size_t errlen)
{
	int64		total = 0;
	int			i;

	pgb_clear_error(errbuf, errlen);

	for (i = 0; i < table->nclasses; i++)
		total += table->classes[i].reserve;
	if (total > usable)
	{
		/* the classes that hold them, so that the message names them */
		char		held[256];
		size_t		used = 0;

		held[0] = '\0';
		for (i = 0; i < table->nclasses && used < sizeof(held); i++)
		{
			const PgbClass *cls = &table->classes[i];
			int			n;

			if (cls->reserve == 0)
				continue;
			n = snprintf(held + used, sizeof(held) - used, "%s%s %d",
						 used > 0 ? ", " : "", cls->name, cls->reserve);
			if (n < 0)
				break;
			used += (size_t) n;
		}
		return pgb_error(errbuf, errlen,
						 "reservations total " INT64_FORMAT " (%s) but only %d connections are usable (max_connections less the reserved slots)",
						 total, held, usable);
	}

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *cls = &table->classes[i];

		if (cls->max != PGB_UNLIMITED && cls->max > usable)
			return pgb_error(errbuf, errlen,
							 "class \"%s\": max %d exceeds the %d usable connections",
							 cls->name, cls->max, usable);
	}
	return true;
}

int
pgb_budget_needed(const PgbClassTable *table)
{
	int64		total = 0;
	int			needed = 0;
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *cls = &table->classes[i];

		total += cls->reserve;
		if (cls->max != PGB_UNLIMITED)
			needed = Max(needed, cls->max);
	}
	/* reserves are at most PGB_INT_LIMIT each, PGB_MAX_CLASSES + 1 of them */
	return (int) Max((int64) needed, total);
}

bool
pgb_valid_class_name(const char *name)
{
	size_t		len;

	if (name == NULL)
		return false;
	len = strnlen(name, PGB_CLASS_NAME_LEN + 1);
	return len <= PGB_CLASS_NAME_LEN && pgb_is_identifier(name, len);
}

int
pgb_find_class(const PgbClassTable *table, const char *name)
{
	int			i;

	if (name == NULL)
		return -1;
	for (i = 0; i < table->nclasses; i++)
	{
		if (strcmp(table->classes[i].name, name) == 0)
			return i;
	}
	return -1;
}

void
pgb_class_init(PgbClass *cls, const char *name, size_t len)
{
	memset(cls, 0, sizeof(*cls));
	memcpy(cls->name, name, len);
	cls->name[len] = '\0';
	cls->max = PGB_UNLIMITED;
	cls->reserve = 0;
	cls->priority = 0;
	cls->rate = 0;
	cls->burst = 0;
	cls->shed = PGB_SHED_NEVER;
	cls->floor = 1;
	cls->active = PGB_UNLIMITED;
	cls->queue_timeout = PGB_QUEUE_TIMEOUT_DEFAULT;
	cls->wal = 0;
	cls->cpu_weight = PGB_CPU_WEIGHT_DEFAULT;
	cls->cpu_idle = false;
	cls->implicit = false;
}

/*
 * name is assumed valid.  Returns -1 only if the table is already full
 * including the spare slot, which cannot happen for a parsed table (at
 * most PGB_MAX_CLASSES classes) given a single default class name.
 */
int
pgb_ensure_default_class(PgbClassTable *table, const char *name)
{
	int			idx = pgb_find_class(table, name);
	PgbClass   *cls;

	if (idx >= 0)
		return idx;
	if (table->nclasses >= PGB_MAX_CLASSES + 1)
		return -1;

	idx = table->nclasses;
	cls = &table->classes[idx];
	pgb_class_init(cls, name, strnlen(name, PGB_CLASS_NAME_LEN));
	cls->implicit = true;
	table->nclasses++;
	return idx;
}

/* Bytes in a memory unit (B, kB, MB, GB, TB: powers of 1024); false if none. */
static bool
unit_bytes(const char *u, size_t ulen, double *bytes)
{
	if (ulen == 1 && u[0] == 'B')
		*bytes = 1;
	else if (ulen == 2 && memcmp(u, "kB", 2) == 0)
		*bytes = 1024.0;
	else if (ulen == 2 && memcmp(u, "MB", 2) == 0)
		*bytes = 1024.0 * 1024;
	else if (ulen == 2 && memcmp(u, "GB", 2) == 0)
		*bytes = 1024.0 * 1024 * 1024;
	else if (ulen == 2 && memcmp(u, "TB", 2) == 0)
		*bytes = 1024.0 * 1024 * 1024 * 1024;
	else
		return false;
	return true;
}

/* A WAL rate in bytes a second, or false when it is out of bounds. */
static bool
wal_rate_in_range(double rate, double *bytes_per_s)
{
	/* below a byte a second the budget would show, and be, nothing */
	if (!(rate >= PGB_WAL_RATE_MIN) || rate > PGB_WAL_RATE_MAX)
		return false;
	*bytes_per_s = rate;
	return true;
}

bool
pgb_parse_byte_rate(const char *tok, size_t len, double *bytes_per_s)
{
	size_t		i = 0;
	int64		ipart;
	int64		frac;
	int64		scale;
	double		unit;
	double		per;
	const char *u;
	size_t		ulen;
	size_t		slash;

	if (!parse_decimal(tok, len, &i, PGB_INT_LIMIT, &ipart, &frac, &scale))
		return false;
	if (ipart > PGB_INT_LIMIT)
		return false;
	for (slash = i; slash < len && tok[slash] != '/'; slash++)
		;
	if (slash >= len)
		return false;
	u = tok + i;
	ulen = slash - i;
	if (ulen == 0)
		unit = 1;
	else if (!unit_bytes(u, ulen, &unit))
		return false;
	u = tok + slash + 1;
	ulen = len - slash - 1;
	if (ulen == 1 && u[0] == 's')
		per = 1;
	else if (ulen == 3 && memcmp(u, "min", 3) == 0)
		per = 60;
	else
		return false;
	return wal_rate_in_range(((double) ipart + (double) frac / (double) scale) * unit / per,
							 bytes_per_s);
}

bool
pgb_parse_rate_setting(const char *str, double *bytes_per_s)
{
	const char *p = pgb_skip_blanks(str);
	size_t		len = strlen(p);
	size_t		i = 0;
	int64		ipart;
	int64		frac;
	int64		scale;
	double		unit;

	while (len > 0 && pgb_is_blank(p[len - 1]))
		len--;
	if (memchr(p, '/', len) != NULL)
		return pgb_parse_byte_rate(p, len, bytes_per_s);

	/* a size, a second's worth: 0.2.0's kB setting, whose bare number is kB */
	if (!parse_decimal(p, len, &i, PGB_SIZE_LIMIT, &ipart, &frac, &scale) ||
		ipart > PGB_SIZE_LIMIT)
		return false;
	while (i < len && pgb_is_blank(p[i]))
		i++;
	if (i == len)
		unit = 1024.0;
	else if (!unit_bytes(p + i, len - i, &unit))
		return false;
	return wal_rate_in_range(((double) ipart + (double) frac / (double) scale) * unit,
							 bytes_per_s);
}

bool
pgb_parse_duration_ms(const char *tok, size_t len, int *ms)
{
	size_t		i = 0;
	size_t		end = len;
	int64		ipart = 0;
	int64		frac = 0;
	int64		scale = 1;
	int			ndigits = 0;
	int64		per;
	int64		total;
	const char *unit;
	size_t		ulen;

	while (i < end && pgb_is_blank(tok[i]))
		i++;
	while (end > i && pgb_is_blank(tok[end - 1]))
		end--;

	/* -1, and only -1 written so, is "no limit"; no other negative */
	if (end - i == 2 && tok[i] == '-' && tok[i + 1] == '1')
	{
		*ms = PGB_QUEUE_TIMEOUT_NONE;
		return true;
	}

	if (i >= end || !pgb_is_digit(tok[i]))
		return false;
	while (i < end && pgb_is_digit(tok[i]))
	{
		/* stops growing past the bound: no overflow on long inputs */
		if (ipart <= PGB_QUEUE_TIMEOUT_MAX)
			ipart = ipart * 10 + (tok[i] - '0');
		i++;
	}
	if (i < end && tok[i] == '.')
	{
		i++;
		if (i >= end || !pgb_is_digit(tok[i]))
			return false;
		while (i < end && pgb_is_digit(tok[i]))
		{
			if (++ndigits > PGB_DURATION_FRAC_DIGITS)
				return false;
			frac = frac * 10 + (tok[i] - '0');
			scale *= 10;
			i++;
		}
	}
	while (i < end && pgb_is_blank(tok[i]))
		i++;

	unit = tok + i;
	ulen = end - i;
	if (ulen == 0 || (ulen == 2 && memcmp(unit, "ms", 2) == 0))
		per = 1;
	else if (ulen == 1 && unit[0] == 's')
		per = 1000;
	else if (ulen == 3 && memcmp(unit, "min", 3) == 0)
		per = 60 * 1000;
	else if (ulen == 1 && unit[0] == 'h')
		per = 3600 * 1000;
	else if (ulen == 1 && unit[0] == 'd')
		per = 24 * 3600 * 1000;
	else
		return false;

	if (ipart > PGB_QUEUE_TIMEOUT_MAX / per)
		return false;
	/* frac < 10^9 and per <= 8.64e7: exact in 64 bits, rounded up */
	total = ipart * per + (frac * per + scale - 1) / scale;
	if (total > PGB_QUEUE_TIMEOUT_MAX)
		return false;
	*ms = (int) total;
	return true;
}

const char *
pgb_shed_mode_name(PgbShedMode mode)
{
	switch (mode)
	{
		case PGB_SHED_NEVER:
			return "never";
		case PGB_SHED_CANCEL:
			return "cancel";
		case PGB_SHED_TERMINATE:
			return "terminate";
	}
	return "unknown";
}
