/*-------------------------------------------------------------------------
 *
 * class_parse.c
 *	  The grammar of pg_budget.classes: classes, keys and their values,
 *	  read through the shared lexer into a PgbClassTable.  Pure: no server
 *	  calls, unit-tested in test/unit/test_classes.c.
 *
 *-------------------------------------------------------------------------
 */
#include "classes.h"
#include "lexer.h"

#include <string.h>

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
	PGB_KEY_MEM,
	PGB_KEY_SESSION_MEM,
	PGB_KEY_SWITCH_TIME,
	PGB_KEY_SWITCH_TO,
	PGB_KEY_IDLE_BLOCKER_TIMEOUT,
	PGB_KEY_ENFORCE,
	PGB_NUM_KEYS
} PgbKey;

static const char *const key_names[PGB_NUM_KEYS] = {
	"max", "reserve", "priority", "rate", "burst", "shed", "floor", "active",
	"queue_timeout", "wal", "cpu", "mem", "session_mem", "switch_time",
	"switch_to", "idle_blocker_timeout", "enforce"
};

/*
 * Parse tok[0..len) as an optionally negative decimal integer in
 * [min, max].  Both bounds must lie within +-PGB_INT_LIMIT: the value
 * stops growing once it passes the limit, so huge inputs cannot overflow.
 */
static PgbNumResult
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
		return PGB_NUM_SYNTAX;
	for (; i < len; i++)
	{
		if (!pgb_is_digit(tok[i]))
			return PGB_NUM_SYNTAX;
		if (val <= PGB_INT_LIMIT)
			val = val * 10 + (tok[i] - '0');
	}
	if (neg)
		val = -val;
	if (val < min || val > max)
		return PGB_NUM_RANGE;
	*result = (int) val;
	return PGB_NUM_OK;
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
int_value_error(PgbLexer *lex, PgbNumResult res, const char *quoted,
				PgbKey key, int min, int max)
{
	if (res == PGB_NUM_SYNTAX)
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
	PgbNumResult res;
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
		case PGB_KEY_MEM:
		case PGB_KEY_SESSION_MEM:
			if (!pgb_parse_size(val, len, key == PGB_KEY_MEM ? &cls->mem : &cls->session_mem))
				return pgb_lex_error(lex, "invalid value %s for key \"%s\" (expected " PGB_SIZE_EXPECTED ")",
									 quoted, key_names[key]);
			return true;
		case PGB_KEY_CPU:
			if (len == 4 && memcmp(val, "idle", 4) == 0)
			{
				cls->cpu_idle = true;
				return true;
			}
			res = parse_int(val, len, PGB_CPU_WEIGHT_MIN, PGB_CPU_WEIGHT_MAX,
							&cls->cpu_weight);
			if (res != PGB_NUM_OK)
				return pgb_lex_error(lex, "invalid value %s for key \"cpu\" (expected a weight from %d to %d, or idle)",
									 quoted, PGB_CPU_WEIGHT_MIN, PGB_CPU_WEIGHT_MAX);
			return true;
		case PGB_KEY_SWITCH_TIME:
		case PGB_KEY_IDLE_BLOCKER_TIMEOUT:
			{
				int			ms;

				/* a duration, more than 0: -1 (no limit) is the key left out */
				if (!pgb_parse_duration_ms(val, len, &ms) || ms <= 0)
					return pgb_lex_error(lex, "invalid value %s for key \"%s\" (expected a duration greater than 0 such as 500ms, 30s or 5min)",
										 quoted, key_names[key]);
				if (key == PGB_KEY_SWITCH_TIME)
					cls->switch_time = ms;
				else
					cls->idle_blocker_timeout = ms;
				return true;
			}
		case PGB_KEY_SWITCH_TO:
			if (len == 6 && memcmp(val, "cancel", 6) == 0)
			{
				cls->switch_to = PGB_SWITCH_CANCEL;
				return true;
			}
			/* a class: that it exists and is lower is checked at the end */
			if (pgb_is_identifier(val, len) && len <= PGB_CLASS_NAME_LEN)
			{
				cls->switch_to = PGB_SWITCH_CLASS;
				memcpy(cls->switch_class, val, len);
				cls->switch_class[len] = '\0';
				return true;
			}
			return pgb_lex_error(lex, "invalid value %s for key \"switch_to\" (expected cancel or the name of a class of lower priority)",
								 quoted);
		case PGB_KEY_QUEUE_TIMEOUT:
			if (!pgb_parse_duration_ms(val, len, &cls->queue_timeout))
				return pgb_lex_error(lex, "invalid value %s for key \"queue_timeout\" (expected " PGB_DURATION_EXPECTED ")",
									 quoted);
			return true;
		case PGB_KEY_RATE:
			res = pgb_parse_login_rate(val, len, &cls->rate);
			if (res == PGB_NUM_SYNTAX)
				return pgb_lex_error(lex, "invalid value %s for key \"rate\" (expected N/s or N/min)",
									 quoted);
			if (res == PGB_NUM_RANGE)
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
		case PGB_KEY_ENFORCE:
			if (len == 2 && memcmp(val, "on", 2) == 0)
				cls->warn = false;
			else if (len == 4 && memcmp(val, "warn", 4) == 0)
				cls->warn = true;
			else
				return pgb_lex_error(lex, "invalid value %s for key \"enforce\" (expected on or warn)",
									 quoted);
			return true;
		case PGB_NUM_KEYS:
			break;
	}
	if (target == NULL)
		return pgb_lex_error(lex, "internal error: unhandled key");

	res = parse_int(val, len, min, max, target);
	if (res != PGB_NUM_OK)
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
	const char *name;
	size_t		namelen = pgb_lex_word(lex, &name);
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

	if (!pgb_lex_accept(lex, "("))
		return pgb_lex_error(lex, "expected \"(\" after class name %s", quoted);
	pgb_lex_context(lex, "class \"%s\": ", cls->name);

	if (!pgb_lex_accept(lex, ")"))
	{
		for (;;)
		{
			const char *key;
			size_t		keylen = pgb_lex_word(lex, &key);
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

			if (!pgb_lex_accept(lex, "="))
				return pgb_lex_error(lex, "expected \"=\" after key %s but found %s",
									 quoted, pgb_lex_found(lex));
			vallen = pgb_lex_word(lex, &val);
			if (vallen == 0)
				return pgb_lex_error(lex, "expected a value for key %s but found %s",
									 quoted, pgb_lex_found(lex));
			if (!set_value(lex, cls, (PgbKey) k, val, vallen))
				return false;

			if (pgb_lex_accept(lex, ")"))
				break;
			if (!pgb_lex_accept(lex, ","))
				return pgb_lex_error(lex, "expected \",\" or \")\" after the value of key %s but found %s",
									 quoted, pgb_lex_found(lex));
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
	if (cls->mem > 0 && cls->session_mem > cls->mem)
		return pgb_lex_error(lex, "session_mem exceeds mem (%lld MB > %lld MB)",
							 (long long) (cls->session_mem / (1024 * 1024)),
							 (long long) (cls->mem / (1024 * 1024)));
	if ((seen & (1U << PGB_KEY_SWITCH_TIME)) && !(seen & (1U << PGB_KEY_SWITCH_TO)))
		return pgb_lex_error(lex, "key \"switch_time\" requires key \"switch_to\"");
	if ((seen & (1U << PGB_KEY_SWITCH_TO)) && !(seen & (1U << PGB_KEY_SWITCH_TIME)))
		return pgb_lex_error(lex, "key \"switch_to\" requires key \"switch_time\"");
	if ((seen & (1U << PGB_KEY_BURST)) && !(seen & (1U << PGB_KEY_RATE)))
		return pgb_lex_error(lex, "key \"burst\" requires key \"rate\"");
	if (cls->rate > 0 && !(seen & (1U << PGB_KEY_BURST)))
		cls->burst = default_burst(cls->rate);

	pgb_lex_clear_context(lex);
	return true;
}

/*
 * switch_to=CLASS names a class of the table (it may come later in the
 * list, so this runs once the table is read) of lower priority than the
 * class itself: a switch only ever lowers what a statement may take, as
 * pg_budget.rules may only lower a login's class.  Its own name, a class
 * of equal or higher priority and a class not in the table are refused
 * (the implicit default class too: name it in the table to switch to it).
 */
static bool
check_switch_classes(PgbLexer *lex, const PgbClassTable *table)
{
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			t;

		if (c->switch_to != PGB_SWITCH_CLASS)
			continue;
		pgb_lex_context(lex, "class \"%s\": ", c->name);
		if (strcmp(c->switch_class, c->name) == 0)
			return pgb_lex_error(lex, "invalid value \"%s\" for key \"switch_to\" (a class can not switch to itself: name a class of lower priority, or cancel)",
								 c->switch_class);
		t = pgb_find_class(table, c->switch_class);
		if (t < 0)
			return pgb_lex_error(lex, "invalid value \"%s\" for key \"switch_to\" (no class \"%s\" in the table: name a class of lower priority, or cancel)",
								 c->switch_class, c->switch_class);
		if (table->classes[t].priority >= c->priority)
			return pgb_lex_error(lex, "invalid value \"%s\" for key \"switch_to\" (class \"%s\" has priority %d, not lower than %d: a statement may only be switched to a class of lower priority)",
								 c->switch_class, c->switch_class,
								 table->classes[t].priority, c->priority);
	}
	pgb_lex_clear_context(lex);
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
		if (!pgb_lex_accept(&lex, ","))
			return pgb_lex_error(&lex, "expected \",\" after class \"%s\" but found %s",
								 table->classes[table->nclasses - 1].name,
								 pgb_lex_found(&lex));
		if (pgb_lex_at_end(&lex))
			return pgb_lex_error(&lex, "unexpected \",\" at end of class list");
	}
	return check_switch_classes(&lex, table);
}
