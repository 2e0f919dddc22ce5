/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  pg_budget.rules: the setting, the class a login gets by rule, the
 *	  rules' counters and the views of them.
 *
 * Each backend keeps its own parsed copy of the rules (the GUC "extra")
 * and, beside it, the rules' classes resolved against its class table,
 * redone only when either setting moves; a login reads these and no
 * catalog, unless it reaches a member_of rule.  The counters in shared
 * memory (PgbShared.rules, rules.h) are written under the exclusive main
 * lock that admission holds anyway, and read under the shared lock.
 *
 * The rules and the classes are reloaded together, and neither check hook
 * can see the other's new value: at reload the check hook judges the
 * rules' syntax only, and a rule whose class the table lacks is skipped
 * (the worker logs a WARNING once per reload).  At start, when the table
 * is already in force, and at ALTER SYSTEM (altersystem.c, against the
 * files the next start reads) such a rule is refused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include "funcapi.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"

#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "visibility.h"
#include "rules.h"
#include "rules_match.h"

static char *pgb_rules_string = NULL;

/* the parsed pg_budget.rules, owned by the GUC machinery */
static const PgbRuleSet *config_rules = NULL;
static uint32 rules_generation = 1;

/* config_rules' classes in pgb_current_table(), and for which versions */
static int	resolved_idx[PGB_MAX_RULES];
static uint32 resolved_rules = 0;
static uint32 resolved_classes = 0;

/* what the worker last warned about */
static uint32 reported_rules = 0;
static uint32 reported_classes = 0;

static char startup_error[256];

static const PgbRuleSet empty_rules;

const PgbRuleSet *
pgb_current_rules(void)
{
	return config_rules ? config_rules : &empty_rules;
}

static bool
check_rules(char **newval, void **extra, GucSource source pg_attribute_unused())
{
	PgbRuleSet *set;
	char		errbuf[256];
	bool		starting = process_shared_preload_libraries_in_progress &&
		!IsUnderPostmaster;

	set = (PgbRuleSet *) pgb_guc_malloc(sizeof(PgbRuleSet));
	if (set == NULL)
	{
		GUC_check_errdetail("out of memory");
		return false;
	}
	if (!pgb_parse_rules(*newval ? *newval : "", set, errbuf, sizeof(errbuf)))
	{
		pgb_guc_free(set);
		GUC_check_errdetail("%s.", errbuf);
		if (starting)
			strlcpy(startup_error, errbuf, sizeof(startup_error));
		return false;
	}

	/*
	 * At start pg_budget.classes is in force already (defined first): a
	 * rule naming a class it lacks stops the server.  At reload the new
	 * table may not be in force yet: see the file header.
	 */
	if (starting)
	{
		int			idx[PGB_MAX_RULES];

		if (pgb_rules_resolve(set, pgb_current_table(NULL), idx,
							  errbuf, sizeof(errbuf)) > 0)
		{
			pgb_guc_free(set);
			GUC_check_errdetail("%s.", errbuf);
			strlcpy(startup_error, errbuf, sizeof(startup_error));
			return false;
		}
	}
	*extra = set;
	return true;
}

static void
assign_rules(const char *newval pg_attribute_unused(), void *extra)
{
	config_rules = (const PgbRuleSet *) extra;
	rules_generation++;
}

/* The rules' classes in the table in force, resolved once per change. */
const int *
pgb_rules_resolved(const PgbClassTable *table)
{
	if (resolved_rules != rules_generation ||
		resolved_classes != pgb_classes_generation)
	{
		(void) pgb_rules_resolve(pgb_current_rules(), table, resolved_idx,
								 NULL, 0);
		resolved_rules = rules_generation;
		resolved_classes = pgb_classes_generation;
	}
	return resolved_idx;
}

/*
 * After a reload (in the worker, so once for the server): a WARNING for
 * each rule whose class the table in force lacks.
 */
void
pgb_rules_report(void)
{
	const PgbRuleSet *set = pgb_current_rules();
	const PgbClassTable *table = pgb_current_table(NULL);
	const int  *idx;
	int			i;

	if (reported_rules == rules_generation &&
		reported_classes == pgb_classes_generation)
		return;
	idx = pgb_rules_resolved(table);
	reported_rules = rules_generation;
	reported_classes = pgb_classes_generation;
	for (i = 0; i < set->nrules; i++)
	{
		if (idx[i] >= 0)
			continue;
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pg_budget: rule %d \"%s\" names class \"%s\", which pg_budget.classes does not define; the rule is skipped",
						i + 1, set->rules[i].text, set->rules[i].class_name),
				 errdetail("Logins it would match keep the class of their role and database."),
				 errhint("Define the class again or change pg_budget.rules: until then the server will not start with this configuration.")));
	}
}

/* member_of: the session's role, with no superuser shortcut */
static bool
member_of(const char *role, void *arg pg_attribute_unused())
{
	Oid			roleid = get_role_oid(role, true);

	return OidIsValid(roleid) &&
		is_member_of_role_nosuper(GetSessionUserId(), roleid);
}

static void
client_addr(PgbAddr *addr)
{
	const struct sockaddr_storage *ss;

	memset(addr, 0, sizeof(*addr));
	addr->family = PGB_ADDR_NONE;
	if (MyProcPort == NULL)
		return;
	ss = &MyProcPort->raddr.addr;
	if (ss->ss_family == AF_UNIX)
		addr->family = PGB_ADDR_LOCAL;
	else if (ss->ss_family == AF_INET)
	{
		addr->family = PGB_ADDR_V4;
		memcpy(addr->bytes, &((const struct sockaddr_in *) ss)->sin_addr, 4);
	}
	else if (ss->ss_family == AF_INET6)
	{
		addr->family = PGB_ADDR_V6;
		memcpy(addr->bytes, &((const struct sockaddr_in6 *) ss)->sin6_addr, 16);
	}
}

int
pgb_rules_classify(const PgbClassTable *table, int *self, uint64 *raised)
{
	const PgbRuleSet *set = pgb_current_rules();
	const int  *idx;
	PgbLoginAttrs login;
	int			pos;

	*raised = 0;
	if (set->nrules == 0)
		return -1;
	idx = pgb_rules_resolved(table);

	/* application_name as set at login: startup packet, options, role */
	login.application_name = application_name;
	login.database = MyProcPort ? MyProcPort->database_name : NULL;
	client_addr(&login.addr);
	login.member_of = member_of;
	login.member_arg = NULL;

	pos = pgb_rules_choose(set, idx, table, *self, &login, raised);
	if (pos >= 0)
		*self = idx[pos];
	return pos;
}

const char *
pgb_rules_text(int pos)
{
	const PgbRuleSet *set = pgb_current_rules();

	return pos >= 0 && pos < set->nrules ? set->rules[pos].text : "";
}

void
pgb_rules_count(int pos, uint64 raised)
{
	const PgbRuleSet *set = pgb_current_rules();
	int			i;

	for (i = 0; i < set->nrules; i++)
	{
		PgbRuleStat *st = &pgb_shared->rules[i];
		bool		mine = i == pos;
		bool		skipped = (raised & (UINT64CONST(1) << i)) != 0;

		if (!mine && !skipped)
			continue;
		/* another rule at this place: its counts start from zero */
		if (st->hash != set->rules[i].hash)
		{
			st->hash = set->rules[i].hash;
			st->classified = 0;
			st->raised = 0;
		}
		if (mine)
			st->classified++;
		if (skipped)
			st->raised++;
	}
}

void
pgb_rules_reset(void)
{
	memset(pgb_shared->rules, 0, sizeof(pgb_shared->rules));
}

/*
 * Where pg_budget.class came from, for classified_by: role, database or
 * default (unset, set for the whole server, or a class the table lacks).
 */
static struct config_generic *
class_setting(void)
{
	static struct config_generic *found = NULL;

	if (found == NULL)
	{
#if PG_VERSION_NUM >= 160000
		found = find_option("pg_budget.class", false, true, ERROR);
#else
		/* kept sorted by name, case-blind, as find_option searches it */
		struct config_generic **vars = get_guc_variables();
		int			lo = 0;
		int			hi = GetNumConfigOptions() - 1;

		while (lo <= hi)
		{
			int			mid = lo + (hi - lo) / 2;
			int			c = pg_strcasecmp(vars[mid]->name, "pg_budget.class");

			if (c == 0)
			{
				found = vars[mid];
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
#endif
	}
	return found;
}

const char *
pgb_class_source(bool named_class_found)
{
	struct config_generic *gen;

	if (!named_class_found || (gen = class_setting()) == NULL)
		return "default";
	switch (gen->source)
	{
		case PGC_S_DATABASE:
			return "database";
		case PGC_S_USER:
		case PGC_S_DATABASE_USER:
		case PGC_S_CLIENT:
			return "role";
		default:
			return "default";
	}
}

void
pgb_rules_init(void)
{
	DefineCustomStringVariable("pg_budget.rules",
							   "Classes by login attribute: attribute=pattern => class, ...; first match wins, and a rule only ever lowers a session's priority.",
							   "Attributes: application_name (a glob with * and ?), database, client_addr (an address, a CIDR, or local) and member_of (a role). Judged once at login.",
							   &pgb_rules_string,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_rules, assign_rules, NULL);
	if (startup_error[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"pg_budget.rules\": %s",
						startup_error)));
}
