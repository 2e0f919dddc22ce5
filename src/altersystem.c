/*-------------------------------------------------------------------------
 *
 * altersystem.c
 *	  Refuses an ALTER SYSTEM after which the server would not start: a
 *	  max_connections, superuser_reserved_connections or (16+)
 *	  reserved_connections that the class table no longer fits in, or a
 *	  class table that does not fit in the connections of the next start;
 *	  and rules (pg_budget.rules) that name a class the next start's table
 *	  lacks, whichever of the settings the statement changes.
 *
 * The check is the class table's own budget check (pgb_check_budget), run
 * against what the next start will read: the configuration files as they
 * stand, with the statement's new value.  No shared state, no lock: the
 * files are read as core's pg_file_settings reads them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "compat.h"
#include "guc.h"
#include "rules.h"
#include "altersystem.h"
#include "rules_parse.h"

static ProcessUtility_hook_type prev_ProcessUtility_hook = NULL;

/* The settings the budget check depends on. */
typedef enum BudgetSetting
{
	SETTING_OTHER = 0,
	SETTING_MAX_CONNECTIONS,
	SETTING_SUPERUSER_RESERVED,
	SETTING_RESERVED,			/* reserved_connections, 16+ */
	SETTING_CLASSES,
	SETTING_RULES,
	SETTING_DEFAULT_CLASS
} BudgetSetting;

/* What the next start will read. */
typedef struct NextStart
{
	int			max_connections;
	int			superuser_reserved;
	int			reserved;
	const char *classes;		/* NULL: the table in force now */
	const char *rules;			/* NULL: the rules in force now */
	const char *default_class;	/* NULL: the one in force now */
} NextStart;

static BudgetSetting
budget_setting(const char *name)
{
	if (pg_strcasecmp(name, "max_connections") == 0)
		return SETTING_MAX_CONNECTIONS;
	if (pg_strcasecmp(name, "superuser_reserved_connections") == 0)
		return SETTING_SUPERUSER_RESERVED;
#if PG_VERSION_NUM >= 160000
	if (pg_strcasecmp(name, "reserved_connections") == 0)
		return SETTING_RESERVED;
#endif
	if (pg_strcasecmp(name, "pg_budget.classes") == 0)
		return SETTING_CLASSES;
	if (pg_strcasecmp(name, "pg_budget.rules") == 0)
		return SETTING_RULES;
	if (pg_strcasecmp(name, "pg_budget.default_class") == 0)
		return SETTING_DEFAULT_CLASS;
	return SETTING_OTHER;
}

/* Record value as setting's in ns; false if it is not a number it takes. */
static bool
set_next(NextStart *ns, BudgetSetting setting, const char *value)
{
	int			v;

	if (setting == SETTING_CLASSES)
	{
		ns->classes = value;
		return true;
	}
	if (setting == SETTING_RULES)
	{
		ns->rules = value;
		return true;
	}
	if (setting == SETTING_DEFAULT_CLASS)
	{
		ns->default_class = value;
		return true;
	}
	if (!parse_int(value, &v, 0, NULL))
		return false;
	if (setting == SETTING_MAX_CONNECTIONS)
		ns->max_connections = v;
	else if (setting == SETTING_SUPERUSER_RESERVED)
		ns->superuser_reserved = v;
	else if (setting == SETTING_RESERVED)
		ns->reserved = v;
	return true;
}

/*
 * The values the next start will read: postgresql.conf, then
 * postgresql.auto.conf, the last line for a setting winning, as at start;
 * a setting the files do not name keeps the value in force now (from the
 * command line, or the default).  Returns the parsed lines, which hold
 * ns->classes, for the caller to free.  reset: a setting of
 * postgresql.auto.conf left out (ALTER SYSTEM RESET), its default
 * standing unless postgresql.conf names it.
 */
static ConfigVariable *
read_next_start(NextStart *ns, const char *reset)
{
	ConfigVariable *head = NULL;
	ConfigVariable *tail = NULL;
	ConfigVariable *conf_tail;
	ConfigVariable *item;
	bool		in_auto;

	pgb_connection_settings(&ns->max_connections, &ns->superuser_reserved,
							&ns->reserved);
	ns->classes = NULL;
	ns->rules = NULL;
	ns->default_class = NULL;
	if (ConfigFileName == NULL ||
		!ParseConfigFile(ConfigFileName, true, NULL, 0, 0, DEBUG1, &head, &tail))
	{
		/* a file that does not parse: judge by the values in force */
		FreeConfigVariables(head);
		return NULL;
	}
	conf_tail = tail;
	if (!ParseConfigFile(PG_AUTOCONF_FILENAME, false, NULL, 0, 0, DEBUG1, &head, &tail))
	{
		FreeConfigVariables(head);
		return NULL;
	}
	/* the defaults of the settings RESET can bring back (rules.c, guc.c) */
	if (reset != NULL)
		(void) set_next(ns, budget_setting(reset),
						budget_setting(reset) == SETTING_DEFAULT_CLASS ? "default" : "");
	in_auto = conf_tail == NULL;
	for (item = head; item != NULL; item = item->next)
	{
		BudgetSetting setting = budget_setting(item->name);

		if (setting != SETTING_OTHER &&
			!(in_auto && reset != NULL && pg_strcasecmp(item->name, reset) == 0))
			(void) set_next(ns, setting, item->value);
		if (item == conf_tail)
			in_auto = true;
	}
	return head;
}

/* The hint: what the statement's setting could be instead. */
static char *
budget_hint(BudgetSetting setting, const NextStart *ns, int needed)
{
	switch (setting)
	{
		case SETTING_MAX_CONNECTIONS:
			return psprintf("Lower that class's max or reserve in pg_budget.classes first (a reload applies it), or keep max_connections at %d or more.",
							needed + ns->superuser_reserved + ns->reserved);
		case SETTING_SUPERUSER_RESERVED:
			return psprintf("Lower that class's max or reserve in pg_budget.classes first (a reload applies it), or keep superuser_reserved_connections at %d or less.",
							Max(ns->max_connections - ns->reserved - needed, 0));
		case SETTING_RESERVED:
			return psprintf("Lower that class's max or reserve in pg_budget.classes first (a reload applies it), or keep reserved_connections at %d or less.",
							Max(ns->max_connections - ns->superuser_reserved - needed, 0));
		case SETTING_CLASSES:
		case SETTING_RULES:
		case SETTING_DEFAULT_CLASS:
		case SETTING_OTHER:
			break;
	}
	return psprintf("Raise max_connections first (it takes effect at the next start), or lower the class's max or reserve.");
}

/*
 * The rules of the next start against its class table (and default
 * class): a rule naming a class that table lacks would stop the start.
 * Rules or a table in the files that do not parse stop it anyway: then
 * the values in force are judged.
 */
static void
check_next_rules(BudgetSetting setting, const char *name, const char *value,
				 const NextStart *ns, const PgbClassTable *table)
{
	PgbRuleSet *rules = (PgbRuleSet *) palloc(sizeof(PgbRuleSet));
	PgbClassTable *next = (PgbClassTable *) palloc(sizeof(PgbClassTable));
	int			idx[PGB_MAX_RULES];
	char		errbuf[256];
	const char *default_class;

	if (ns->rules == NULL ||
		!pgb_parse_rules(ns->rules, rules, errbuf, sizeof(errbuf)))
		memcpy(rules, pgb_current_rules(), sizeof(PgbRuleSet));
	memcpy(next, table, sizeof(PgbClassTable));
	default_class = ns->default_class != NULL &&
		pgb_valid_class_name(ns->default_class) ? ns->default_class :
		(pgb_default_class ? pgb_default_class : "default");
	/* the default class of the table in force is not the next start's */
	if (next->nclasses > 0 && next->classes[next->nclasses - 1].implicit)
		next->nclasses--;
	(void) pgb_ensure_default_class(next, default_class);

	if (pgb_rules_resolve(rules, next, idx, errbuf, sizeof(errbuf)) == 0)
		return;
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_budget: ALTER SYSTEM RESET %s would leave pg_budget.rules naming a class that is not defined at the next start",
						name),
				 errdetail("%s.", errbuf),
				 errhint("Change pg_budget.rules first.")));
	if (setting == SETTING_RULES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"%s\": \"%s\"", name, value),
				 errdetail("%s.", errbuf),
				 errhint("Define the class in pg_budget.classes first, or name another.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for parameter \"%s\": \"%s\"", name, value),
			 errdetail("pg_budget.rules would name a class that is not defined at the next start: %s.",
					   errbuf),
			 errhint("Change pg_budget.rules first.")));
}

/* ALTER SYSTEM RESET (or SET ... TO DEFAULT) of the table or default class */
static void
check_reset(const char *name)
{
	BudgetSetting setting = budget_setting(name);
	NextStart	ns;
	ConfigVariable *lines;
	PgbClassTable *next_table = (PgbClassTable *) palloc(sizeof(PgbClassTable));
	const PgbClassTable *table = NULL;
	char		errbuf[256];

	if ((setting != SETTING_CLASSES && setting != SETTING_DEFAULT_CLASS) ||
		!pgb_may_alter_system(name))
		return;
	lines = read_next_start(&ns, name);
	if (lines == NULL)
		return;
	if (ns.classes != NULL &&
		pgb_parse_classes(ns.classes, next_table, errbuf, sizeof(errbuf)))
		table = next_table;
	if (table == NULL)
		table = pgb_current_table(NULL);
	check_next_rules(setting, name, NULL, &ns, table);
	FreeConfigVariables(lines);
}

static void
check_alter_system(AlterSystemStmt *stmt)
{
	VariableSetStmt *set = stmt->setstmt;
	BudgetSetting setting;
	char	   *value;
	NextStart	ns;
	ConfigVariable *lines;
	const PgbClassTable *table = NULL;
	PgbClassTable *next_table;
	char		errbuf[256];
	int			usable;

	/*
	 * RESET and DEFAULT bring back the default: judged only for the class
	 * table and the default class, which rules may name.
	 */
	if (set != NULL && set->name != NULL &&
		(set->kind == VAR_RESET || set->kind == VAR_SET_DEFAULT))
	{
		check_reset(set->name);
		return;
	}
	if (set == NULL || set->kind != VAR_SET_VALUE || set->name == NULL)
		return;
	setting = budget_setting(set->name);
	if (setting == SETTING_OTHER)
		return;
	/* core refuses a role that may not, with its own message */
	if (!pgb_may_alter_system(set->name))
		return;

	/* core's own checks of the value first, with core's messages */
	value = ExtractSetVariableArgs(set);
	if (value == NULL)
		return;
	(void) set_config_option(set->name, value, PGC_POSTMASTER, PGC_S_FILE,
							 GUC_ACTION_SET, false, ERROR, false);

	lines = read_next_start(&ns, NULL);
	if (!set_next(&ns, setting, value))
	{
		FreeConfigVariables(lines);
		return;
	}
	if (ns.classes != NULL)
	{
		next_table = (PgbClassTable *) palloc(sizeof(PgbClassTable));
		/* a table in the files that does not parse stops the start anyway */
		if (pgb_parse_classes(ns.classes, next_table, errbuf, sizeof(errbuf)))
			table = next_table;
	}
	if (table == NULL)
		table = pgb_current_table(NULL);
	usable = ns.max_connections - ns.superuser_reserved - ns.reserved;

	if (setting == SETTING_RULES || setting == SETTING_DEFAULT_CLASS ||
		setting == SETTING_CLASSES)
		check_next_rules(setting, set->name, value, &ns, table);
	if (setting == SETTING_RULES || setting == SETTING_DEFAULT_CLASS)
	{
		FreeConfigVariables(lines);
		return;
	}

	if (!pgb_check_budget(table, usable, errbuf, sizeof(errbuf)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"%s\": \"%s\"",
						set->name, value),
				 errdetail("pg_budget.classes would not fit at the next start: %s.",
						   errbuf),
				 errhint("%s", budget_hint(setting, &ns, pgb_budget_needed(table)))));
	FreeConfigVariables(lines);
}

static void
altersystem_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
						   bool readOnlyTree, ProcessUtilityContext context,
						   ParamListInfo params, QueryEnvironment *queryEnv,
						   DestReceiver *dest, QueryCompletion *qc)
{
	/* before core writes postgresql.auto.conf: an ERROR writes nothing */
	if (IsA(pstmt->utilityStmt, AlterSystemStmt))
		check_alter_system((AlterSystemStmt *) pstmt->utilityStmt);

	if (prev_ProcessUtility_hook)
		prev_ProcessUtility_hook(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
pgb_altersystem_init(void)
{
	prev_ProcessUtility_hook = ProcessUtility_hook;
	ProcessUtility_hook = altersystem_ProcessUtility;
}
