/*-------------------------------------------------------------------------
 *
 * class_table.c
 *	  Operations on a parsed class table: the budget check, finding a
 *	  class, the class defaults and the implicit default class, names of
 *	  shed modes.  Pure: no server calls, unit-tested in
 *	  test/unit/test_classes.c.
 *
 *-------------------------------------------------------------------------
 */
#include "classes.h"
#include "lexer.h"

#include <stdio.h>
#include <string.h>

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
	cls->mem = 0;
	cls->session_mem = 0;
	cls->switch_time = 0;
	cls->switch_to = PGB_SWITCH_NONE;
	cls->idle_blocker_timeout = 0;
	cls->warn = false;
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

const char *
pgb_enforce_name(const PgbClass *cls)
{
	return cls->warn ? "warn" : "on";
}

const char *
pgb_warn_reason_name(PgbWarnReason reason)
{
	switch (reason)
	{
		case PGB_WARN_CAP:
			return "cap";
		case PGB_WARN_RESERVE:
			return "reserve";
		case PGB_WARN_RATE:
			return "rate";
		case PGB_WARN_ACTIVE:
			return "active";
		case PGB_WARN_WAL:
			return "wal";
		case PGB_WARN_SHED:
			return "shed";
		case PGB_WARN_MEMORY:
			return "memory";
		case PGB_WARN_RUNAWAY:
			return "runaway";
		case PGB_WARN_IDLE_BLOCKER:
			return "idle blocker";
		case PGB_NUM_WARN_REASONS:
			break;
	}
	return "unknown";
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
