/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  pg_budget's settings and the class table they describe.
 *
 * Each backend keeps its own parsed copy of pg_budget.classes (the GUC
 * "extra"); there is no shared state here.  A bad value of any setting is
 * refused as core refuses its own: at server start the server does not
 * start, ALTER SYSTEM writes nothing, at reload the old value stays in
 * force and the postmaster logs why.  pg_budget.queue_timeout and
 * pg_budget.wal_rate_floor are read by the class parser's own readers, so
 * that a setting and a class key take the same values.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "cgroup_math.h"
#include "compat.h"
#include "guc.h"
#include "lexer.h"
#include "policy_math.h"

bool		pgb_enabled = true;
bool		pgb_admitted = false;
bool		pgb_exempt_superusers = true;
int			pgb_retry_after = 1000;
char	   *pgb_default_class = NULL;
int			pgb_shedding = PGB_SHEDDING_ON;
int			pgb_sample_interval = 10;
int			pgb_lock_wait_threshold = 1000;
int			pgb_lock_stats_threshold = 100;
int			pgb_pressure_window = 2000;
double		pgb_wal_pressure_threshold = 0.3;
double		pgb_saturation_threshold = 0.95;
double		pgb_lock_pressure_threshold = 0.2;
double		pgb_aimd_decrease = 0.5;
double		pgb_aimd_increase = 0.05;
int			pgb_aimd_interval = 1000;
int			pgb_calm_time = 5000;
int			pgb_max_actions = 4;
int			pgb_history_seconds = 600;
int			pgb_events_max = 1000;
int			pgb_queue_timeout = 10000;
double		pgb_cpu_pressure_threshold = 1.5;
double		pgb_run_delay_target = 200.0;
double		pgb_commit_latency_target = 5.0;
double		pgb_wal_rate_floor = 1024.0 * 1024;
uint64		pgb_memory_limit = 0;
double		pgb_memory_guard = 0.9;
char	   *pgb_cgroup = NULL;
uint32		pgb_classes_generation = 1;

static const struct config_enum_entry shedding_options[] = {
	{"off", PGB_SHEDDING_OFF, false},
	{"dry_run", PGB_SHEDDING_DRY_RUN, false},
	{"on", PGB_SHEDDING_ON, false},
	{NULL, 0, false}
};

static char *pgb_classes_string = NULL;
static char *pgb_class = NULL;
static char *pgb_queue_timeout_string = NULL;
static char *pgb_wal_rate_floor_string = NULL;
static char *pgb_memory_limit_string = NULL;

/*
 * Every setting but pg_budget.classes (which has a message of its own,
 * startup_error): core applies a custom setting's configured value when
 * the library defines the setting, and only WARNs when it is bad, so the
 * server would run on the default.  refuse_bad_start_values checks the
 * value again and stops the server instead.
 */
static const char *const start_checked[] = {
	"pg_budget.default_class",
	"pg_budget.class",
	"pg_budget.enabled",
	"pg_budget.exempt_superusers",
	"pg_budget.retry_after",
	"pg_budget.shedding",
	"pg_budget.sample_interval",
	"pg_budget.lock_wait_threshold",
	"pg_budget.lock_stats_threshold",
	"pg_budget.pressure_window",
	"pg_budget.wal_pressure_threshold",
	"pg_budget.lock_pressure_threshold",
	"pg_budget.saturation_threshold",
	"pg_budget.aimd_decrease",
	"pg_budget.aimd_increase",
	"pg_budget.aimd_interval",
	"pg_budget.calm_time",
	"pg_budget.max_actions",
	"pg_budget.history_size",
	"pg_budget.events_size",
	"pg_budget.queue_timeout",
	"pg_budget.cpu_pressure_threshold",
	"pg_budget.commit_latency_target",
	"pg_budget.wal_rate_floor",
	"pg_budget.cgroup",
	"pg_budget.run_delay_target",
	"pg_budget.memory_limit",
	"pg_budget.memory_guard",
};

#define NUM_START_CHECKED	lengthof(start_checked)

/* the parsed pg_budget.classes, owned by the GUC machinery */
static const PgbClassTable *config_table = NULL;

/* config_table plus the default class, rebuilt when either setting moves */
static PgbClassTable effective_table;
static int	effective_default = -1;
static bool effective_valid = false;

/* set when the class table fails its check while the postmaster starts */
static char startup_error[256];

static bool
check_classes(char **newval, void **extra,
			  GucSource source pg_attribute_unused())
{
	PgbClassTable *table;
	char		errbuf[256];

	table = (PgbClassTable *) pgb_guc_malloc(sizeof(PgbClassTable));
	if (table == NULL)
	{
		GUC_check_errdetail("out of memory");
		return false;
	}
	if (!pgb_parse_classes(*newval ? *newval : "", table, errbuf, sizeof(errbuf)) ||
		!pgb_check_budget(table, pgb_usable_connections(), errbuf, sizeof(errbuf)))
	{
		pgb_guc_free(table);
		GUC_check_errdetail("%s.", errbuf);
		if (process_shared_preload_libraries_in_progress && !IsUnderPostmaster)
			strlcpy(startup_error, errbuf, sizeof(startup_error));
		return false;
	}
	*extra = table;
	return true;
}

static void
assign_classes(const char *newval pg_attribute_unused(), void *extra)
{
	config_table = (const PgbClassTable *) extra;
	effective_valid = false;
	pgb_classes_generation++;
}

static bool
check_default_class(char **newval, void **extra pg_attribute_unused(),
					GucSource source pg_attribute_unused())
{
	if (*newval == NULL || !pgb_valid_class_name(*newval))
	{
		GUC_check_errdetail("A class name is a lower-case identifier of at most %d characters.",
							PGB_CLASS_NAME_LEN);
		return false;
	}
	return true;
}

static void
assign_default_class(const char *newval pg_attribute_unused(),
					 void *extra pg_attribute_unused())
{
	effective_valid = false;
	pgb_classes_generation++;
}

/* pg_budget.queue_timeout: the queue_timeout key's reader */
static bool
check_queue_timeout(char **newval, void **extra,
					GucSource source pg_attribute_unused())
{
	int			ms;
	int		   *parsed;

	if (*newval == NULL || !pgb_parse_duration_ms(*newval, strlen(*newval), &ms))
	{
		GUC_check_errdetail("Expected " PGB_DURATION_EXPECTED ".");
		return false;
	}
	parsed = (int *) pgb_guc_malloc(sizeof(int));
	if (parsed == NULL)
	{
		GUC_check_errdetail("out of memory");
		return false;
	}
	*parsed = ms;
	*extra = parsed;
	return true;
}

static void
assign_queue_timeout(const char *newval pg_attribute_unused(), void *extra)
{
	pgb_queue_timeout = *(const int *) extra;
}

/* pg_budget.wal_rate_floor: the wal key's reader, and 0.2.0's sizes */
static bool
check_wal_rate_floor(char **newval, void **extra,
					 GucSource source pg_attribute_unused())
{
	double		rate;
	double	   *parsed;

	if (*newval == NULL || !pgb_parse_rate_setting(*newval, &rate))
	{
		GUC_check_errdetail("Expected " PGB_RATE_EXPECTED ", or a size a second such as 1MB.");
		return false;
	}
	parsed = (double *) pgb_guc_malloc(sizeof(double));
	if (parsed == NULL)
	{
		GUC_check_errdetail("out of memory");
		return false;
	}
	*parsed = rate;
	*extra = parsed;
	return true;
}

static void
assign_wal_rate_floor(const char *newval pg_attribute_unused(), void *extra)
{
	pgb_wal_rate_floor = *(const double *) extra;
}

/* pg_budget.memory_limit: auto (0), or a size as the class key mem reads it */
static bool
check_memory_limit(char **newval, void **extra,
				   GucSource source pg_attribute_unused())
{
	const char *p;
	size_t		len;
	int64		bytes = 0;
	uint64	   *parsed;

	if (*newval == NULL)
		return false;
	p = pgb_skip_blanks(*newval);
	len = strlen(p);
	while (len > 0 && pgb_is_blank(p[len - 1]))
		len--;
	if (!(len == 4 && pg_strncasecmp(p, "auto", 4) == 0) &&
		!pgb_parse_size(p, len, &bytes))
	{
		GUC_check_errdetail("Expected auto (the server's cgroup's limit, else the machine's memory), or " PGB_SIZE_EXPECTED ".");
		return false;
	}
	parsed = (uint64 *) pgb_guc_malloc(sizeof(uint64));
	if (parsed == NULL)
	{
		GUC_check_errdetail("out of memory");
		return false;
	}
	*parsed = (uint64) bytes;
	*extra = parsed;
	return true;
}

static void
assign_memory_limit(const char *newval pg_attribute_unused(), void *extra)
{
	pgb_memory_limit = *(const uint64 *) extra;
}

/*
 * pg_budget.cgroup: empty, or an absolute path short enough for a class
 * directory and its files.  Whether it is a usable cgroup is judged when
 * it is used (cgroup.c): a WARNING then, never a refused start.
 */
static bool
check_cgroup(char **newval, void **extra pg_attribute_unused(),
			 GucSource source pg_attribute_unused())
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if ((*newval)[0] != '/' || strchr(*newval, '\n') != NULL ||
		strlen(*newval) > PGB_CGROUP_PATH_LEN - NAMEDATALEN - 64)
	{
		GUC_check_errdetail("Expected the absolute path of a cgroup directory (at most %d bytes), or an empty string for no CPU weights.",
							PGB_CGROUP_PATH_LEN - NAMEDATALEN - 64);
		return false;
	}
	return true;
}

/*
 * At server start, check each configured value of start_checked again, at
 * ERROR: raised in the postmaster it stops the server, with core's own
 * message naming the setting and the value (core has WARNed once already,
 * when the setting was defined).  Only a check: nothing is set.
 */
static void
refuse_bad_start_values(char **values)
{
	int			i;

	for (i = 0; i < (int) NUM_START_CHECKED; i++)
	{
		if (values[i] == NULL)
			continue;
		(void) set_config_option(start_checked[i], values[i],
								 PGC_POSTMASTER, PGC_S_FILE,
								 GUC_ACTION_SET, false, ERROR, false);
		pfree(values[i]);
	}
}

/*
 * pg_budget.class is read once, at login.  ALTER ROLE/DATABASE SET checks
 * the name against the current table (source PGC_S_TEST); role and
 * database settings applied at login are taken as they are, so a class
 * removed later only sends its roles to the default class.  Once admitted,
 * a session can not move itself to another class.
 */
static bool
check_class(char **newval, void **extra pg_attribute_unused(), GucSource source)
{
	int			default_idx;
	const PgbClassTable *table;

	if (pgb_admitted && source > PGC_S_OVERRIDE && source != PGC_S_TEST)
	{
		GUC_check_errmsg("pg_budget.class can not be changed after login");
		GUC_check_errdetail("This session was admitted under class \"%s\".",
							pgb_class ? pgb_class : "");
		return false;
	}
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (!pgb_valid_class_name(*newval))
	{
		GUC_check_errdetail("A class name is a lower-case identifier of at most %d characters.",
							PGB_CLASS_NAME_LEN);
		return false;
	}
	if (source == PGC_S_TEST)
	{
		table = pgb_current_table(&default_idx);
		/*
		 * As core does for default_text_search_config and temp_tablespaces:
		 * ALTER ROLE/DATABASE SET of a class this server lacks is a NOTICE,
		 * so a dump restores into any server; a session of such a role logs
		 * in under the default class (with a LOG line).
		 */
		if (pgb_find_class(table, *newval) < 0)
			ereport(NOTICE,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("pg_budget class \"%s\" does not exist", *newval),
					 errdetail("Sessions of this setting are admitted under the default class \"%s\" until pg_budget.classes defines it.",
							   pgb_default_class ? pgb_default_class : "default")));
	}
	return true;
}

const PgbClassTable *
pgb_current_table(int *default_idx)
{
	if (!effective_valid)
	{
		if (config_table)
			memcpy(&effective_table, config_table, sizeof(PgbClassTable));
		else
			effective_table.nclasses = 0;
		effective_default = pgb_ensure_default_class(&effective_table,
													 pgb_default_class ? pgb_default_class : "default");
		effective_valid = true;
	}
	if (default_idx)
		*default_idx = effective_default;
	return &effective_table;
}

/* The start's configured values, kept from pgb_guc_init to pgb_guc_seal. */
static char *start_values[NUM_START_CHECKED];
static bool starting = false;

void
pgb_guc_init(void)
{
	int			i;

	starting = process_shared_preload_libraries_in_progress &&
		!IsUnderPostmaster;

	/* the configured values, before the definitions below consume them */
	for (i = 0; i < (int) NUM_START_CHECKED; i++)
	{
		const char *v = starting ? GetConfigOption(start_checked[i], true, false) : NULL;

		start_values[i] = v ? pstrdup(v) : NULL;
	}

	DefineCustomStringVariable("pg_budget.classes",
							   "The connection classes: name(max=N, reserve=N, priority=N, rate=N/s, burst=N, shed=never|cancel|terminate), ...",
							   NULL,
							   &pgb_classes_string,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_classes, assign_classes, NULL);
	if (startup_error[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"pg_budget.classes\": %s",
						startup_error)));

	DefineCustomStringVariable("pg_budget.default_class",
							   "Class of a role that names none, or names one that does not exist.",
							   "Without an entry in pg_budget.classes it has no cap, no reservation and is never shed.",
							   &pgb_default_class,
							   "default",
							   PGC_SIGHUP,
							   0,
							   check_default_class, assign_default_class, NULL);

	DefineCustomStringVariable("pg_budget.class",
							   "The role's connection class, judged at login.",
							   "Set with ALTER ROLE ... SET pg_budget.class; SHOW gives the class the session was admitted under.",
							   &pgb_class,
							   "",
							   PGC_SUSET,
							   0,
							   check_class, NULL, NULL);

	DefineCustomBoolVariable("pg_budget.enabled",
							 "Enforce the class budget at login (off: count only).",
							 NULL,
							 &pgb_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_budget.exempt_superusers",
							 "Count superusers but never refuse them.",
							 NULL,
							 &pgb_exempt_superusers,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.retry_after",
							"Base of the retry-after hint given to refused logins.",
							"Refused clients are told to wait between half and one and a half times this.",
							&pgb_retry_after,
							1000,
							1, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_budget.shedding",
							 "What the worker does under pressure: off, dry_run (log and record only) or on.",
							 "Only classes with shed=cancel or shed=terminate are ever shed.",
							 &pgb_shedding,
							 PGB_SHEDDING_ON,
							 shedding_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.sample_interval",
							"How often the worker samples every backend's state and wait event.",
							NULL,
							&pgb_sample_interval,
							10,
							1, 10000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.lock_wait_threshold",
							"How long a session may wait on a lock held by a lower-priority sheddable class before the holder is shed.",
							NULL,
							&pgb_lock_wait_threshold,
							1000,
							10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.lock_stats_threshold",
							"Lock waits longer than this have their blockers looked up for pg_budget_lock_stats.",
							"Looking up blockers takes every lock-manager partition lock: it is done only for waits this long, the longest first, at most 40 times a second.",
							&pgb_lock_stats_threshold,
							100,
							10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.pressure_window",
							"Time constant of the moving averages that pressure is judged on.",
							NULL,
							&pgb_pressure_window,
							2000,
							10, 600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomRealVariable("pg_budget.wal_pressure_threshold",
							 "Share of active sessions waiting on WAL above which there is WAL pressure.",
							 NULL,
							 &pgb_wal_pressure_threshold,
							 0.3,
							 0.01, 1.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pg_budget.lock_pressure_threshold",
							 "Share of active sessions blocked past lock_wait_threshold by a lower sheddable class above which there is lock pressure.",
							 "Shedding each blocker keeps the share low; it rises only when shedding can not keep up, and then admission limits are lowered.",
							 &pgb_lock_pressure_threshold,
							 0.2,
							 0.01, 1.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pg_budget.saturation_threshold",
							 "Share of usable connections in use above which there is connection pressure.",
							 NULL,
							 &pgb_saturation_threshold,
							 0.95,
							 0.1, 1.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pg_budget.aimd_decrease",
							 "Factor a class's admission limit is multiplied by under pressure.",
							 NULL,
							 &pgb_aimd_decrease,
							 0.5,
							 0.0, 0.99,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pg_budget.aimd_increase",
							 "Share of a class's cap given back per step once calm (at least one slot).",
							 "The additive step of AIMD, sized to the class: 0.05 brings a halved class back in ten steps.",
							 &pgb_aimd_increase,
							 0.05,
							 0.001, 1.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.aimd_interval",
							"At most one change of a class's admission limit per this interval.",
							NULL,
							&pgb_aimd_interval,
							1000,
							10, 600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.calm_time",
							"How long every pressure signal must stay low before limits are raised again.",
							NULL,
							&pgb_calm_time,
							5000,
							0, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.max_actions",
							"Most cancels and terminations the worker makes per tick.",
							NULL,
							&pgb_max_actions,
							4,
							1, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.history_size",
							"Seconds of per-class history kept for pg_budget_history.",
							NULL,
							&pgb_history_seconds,
							600,
							10, 86400,
							PGC_POSTMASTER,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_budget.events_size",
							"Events kept for pg_budget_events.",
							NULL,
							&pgb_events_max,
							1000,
							10, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_budget.queue_timeout",
							   "How long a transaction waits for its class's active limit before it is refused (classes may set queue_timeout); -1 waits without a limit, 0 refuses at once.",
							   "A duration such as 500ms, 1.5s, 1min or 1d (a bare number is ms), at most a day.",
							   &pgb_queue_timeout_string,
							   "10s",
							   PGC_SIGHUP,
							   0,
							   check_queue_timeout, assign_queue_timeout, NULL);

	DefineCustomRealVariable("pg_budget.cpu_pressure_threshold",
							 "Sessions on CPU per core, averaged over pressure_window, at which a higher class's need for the CPU makes the lowest sheddable class admit fewer transactions.",
							 NULL,
							 &pgb_cpu_pressure_threshold,
							 1.5,
							 0.1, 100.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pg_budget.run_delay_target",
							 "Run delay (ms per second per session: time runnable but waiting for a CPU) of a class that needs the CPU at which, while a lower sheddable class can give way, there is CPU pressure (beside sessions on CPU per core); 0: off.",
							 NULL,
							 &pgb_run_delay_target,
							 200.0,
							 0.0, 1000.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pg_budget.commit_latency_target",
							 "Commit latency (ms) that more than 5% of a class's writing commits may not reach (their p95): above it there is WAL pressure (beside the share of sessions waiting on WAL) while a lower sheddable class can give way; 0: the share alone.",
							 NULL,
							 &pgb_commit_latency_target,
							 5.0,
							 0.0, 10000.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pg_budget.wal_rate_floor",
							   "WAL rate below which the worker never lowers a class's WAL budget under WAL pressure.",
							   "A rate such as 500kB/s, 20MB/s or 1GB/min (as the wal key), or a size a second such as 1MB (a bare number is kB).",
							   &pgb_wal_rate_floor_string,
							   "1MB/s",
							   PGC_SIGHUP,
							   0,
							   check_wal_rate_floor, assign_wal_rate_floor, NULL);

	DefineCustomStringVariable("pg_budget.memory_limit",
							   "The server's memory limit: auto (its cgroup's, else the machine's memory) or a size such as 8GB.",
							   "The memory guard cancels queries past pg_budget.memory_guard of it.",
							   &pgb_memory_limit_string,
							   "auto",
							   PGC_SIGHUP,
							   0,
							   check_memory_limit, assign_memory_limit, NULL);

	DefineCustomRealVariable("pg_budget.memory_guard",
							 "Share of the memory limit past which the lowest sheddable class's largest query is cancelled; 0 turns the guard off.",
							 "Past the mark halfway from it to the limit, the largest query of any class is cancelled.",
							 &pgb_memory_guard,
							 0.9, 0.0, 1.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pg_budget.cgroup",
							   "cgroup directory in which each class gets a child with its CPU weight (the class key cpu); empty: no CPU weights.",
							   "cgroup v2: a delegated subtree, such as the service's own cgroup under systemd with Delegate=yes; cgroup v1: a directory of the cpu hierarchy owned by the server's OS user.",
							   &pgb_cgroup,
							   "",
							   PGC_POSTMASTER,
							   0,
							   check_cgroup, NULL, NULL);

}

/*
 * After every pg_budget.* setting is defined (pg_budget.rules after the
 * class table, which its start check reads): no other pg_budget.* name
 * may be set, and a bad value at start refuses the start.
 */
void
pgb_guc_seal(void)
{
	MarkGUCPrefixReserved("pg_budget");

	if (starting)
		refuse_bad_start_values(start_values);
}
