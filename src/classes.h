/*-------------------------------------------------------------------------
 *
 * classes.h
 *	  The class table: what pg_budget.classes parses into, its grammar
 *	  (class_parse.c), the operations on a table (class_table.c) and the
 *	  readers of durations, rates and sizes (units.c).
 *
 * Pure logic: includes nothing from the server beyond c.h, so the parser
 * and the budget check are unit-tested without a running server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_CLASSES_H
#define PGB_CLASSES_H

#include "c.h"

/* Most classes a table may define; admission is O(classes). */
#define PGB_MAX_CLASSES		32

/*
 * Class entries in shared memory: the configured classes plus room for
 * removed ones that still hold sessions.
 */
#define PGB_MAX_SHARED_CLASSES	(2 * (PGB_MAX_CLASSES + 1))

/* Longest class name, excluding the terminator (same as an SQL name). */
#define PGB_CLASS_NAME_LEN	63

/* "No limit" for max (reserve defaults to 0, floor to 1). */
#define PGB_UNLIMITED		(-1)

/* queue_timeout not set in the table: pg_budget.queue_timeout applies. */
#define PGB_QUEUE_TIMEOUT_DEFAULT	(-2)

/* queue_timeout=-1 (key or setting): wait without limit. */
#define PGB_QUEUE_TIMEOUT_NONE	(-1)

/* Smallest and largest WAL budget: 1 byte and 1 TB a second. */
#define PGB_WAL_RATE_MIN	1.0
#define PGB_WAL_RATE_MAX	(1024.0 * 1024 * 1024 * 1024)

/* The cpu key: a weight in [MIN, MAX] (cgroup v2's cpu.weight range). */
#define PGB_CPU_WEIGHT_MIN	1
#define PGB_CPU_WEIGHT_MAX	10000
#define PGB_CPU_WEIGHT_DEFAULT	100

/* Longest queue_timeout: one day, in ms. */
#define PGB_QUEUE_TIMEOUT_MAX	(24 * 3600 * 1000)

/* Bound of every integer key, and of N in rate=N/unit. */
#define PGB_INT_LIMIT		1000000

typedef enum PgbShedMode
{
	PGB_SHED_NEVER = 0,
	PGB_SHED_CANCEL,
	PGB_SHED_TERMINATE
} PgbShedMode;

/* What happens to a statement past its class's switch_time. */
typedef enum PgbSwitchTo
{
	PGB_SWITCH_NONE = 0,		/* no switch_time */
	PGB_SWITCH_CANCEL,			/* it is cancelled (57014) */
	PGB_SWITCH_CLASS			/* it runs as class switch_class until it
								 * ends (runaway_switch.c) */
} PgbSwitchTo;

/*
 * What a class in warn mode (enforce=warn) would have had done to it,
 * counted by reason instead (pg_budget_status.warned_*).
 */
typedef enum PgbWarnReason
{
	PGB_WARN_CAP = 0,			/* a login past max or the worker's limit */
	PGB_WARN_RESERVE,			/* a login into others' reservations */
	PGB_WARN_RATE,				/* a login over the rate */
	PGB_WARN_ACTIVE,			/* a transaction past active=N, queued */
	PGB_WARN_WAL,				/* a transaction held for the WAL budget */
	PGB_WARN_SHED,				/* the worker's shedding under pressure, and
								 * a blocker it ends for a waiter */
	PGB_WARN_MEMORY,			/* a cancel for mem, session_mem or the
								 * memory guard */
	PGB_WARN_RUNAWAY,			/* a statement past switch_time */
	PGB_WARN_IDLE_BLOCKER,		/* past idle_blocker_timeout */
	PGB_NUM_WARN_REASONS
} PgbWarnReason;

typedef struct PgbClass
{
	char		name[PGB_CLASS_NAME_LEN + 1];
	int			max;			/* hard cap, or PGB_UNLIMITED */
	int			reserve;		/* slots held for this class */
	int			priority;		/* lower is shed first */
	double		rate;			/* logins per second, 0 = no rate limit */
	int			burst;			/* token bucket depth (>= 1 when rate > 0) */
	PgbShedMode shed;			/* strongest action the worker may take */
	int			floor;			/* the worker never limits it below this */
	int			active;			/* transactions in progress at once, or
								 * PGB_UNLIMITED */
	int			queue_timeout;	/* ms a transaction may wait for its turn;
								 * PGB_QUEUE_TIMEOUT_NONE: no limit;
								 * PGB_QUEUE_TIMEOUT_DEFAULT: the GUC's */
	double		wal;			/* WAL budget, bytes per second; 0 = none */
	int			cpu_weight;		/* CPU weight, PGB_CPU_WEIGHT_MIN..MAX */
	bool		cpu_idle;		/* cpu=idle: only CPU nobody else wants
								 * (cpu_weight is then the default, unused) */
	bool		implicit;		/* not in the table: the default class */
	int64		mem;			/* memory of its sessions together, bytes;
								 * 0 = no budget */
	int64		session_mem;	/* memory of any one session, bytes; 0 = none */
	int			switch_time;	/* CPU time one statement may use, ms; 0 =
								 * no limit */
	PgbSwitchTo switch_to;		/* what happens past it */
	char		switch_class[PGB_CLASS_NAME_LEN + 1];	/* PGB_SWITCH_CLASS:
														 * a class of the
														 * table of lower
														 * priority */
	int			idle_blocker_timeout;	/* ms a session may stay idle in a
										 * transaction while another waits
										 * on its lock; 0 = no limit */
	bool		warn;			/* enforce=warn: every limit is judged and
								 * what it would do counted, none done */
} PgbClass;

typedef struct PgbClassTable
{
	int			nclasses;
	/* one spare entry for the implicit default class */
	PgbClass	classes[PGB_MAX_CLASSES + 1];
} PgbClassTable;

/* class_parse.c */

/*
 * Parse a pg_budget.classes string into *table.  On failure returns false
 * and writes a one-line message naming the class and the token at fault
 * into errbuf.  An empty or all-blank string is a valid, empty table.
 */
extern bool pgb_parse_classes(const char *str, PgbClassTable *table,
							  char *errbuf, size_t errlen);

/* class_table.c */

/*
 * Check that the table fits in usable = max_connections minus the slots
 * core reserves for superusers: the sum of reservations <= usable and no
 * max > usable.  Same error conventions as the parser.
 */
extern bool pgb_check_budget(const PgbClassTable *table, int usable,
							 char *errbuf, size_t errlen);

/*
 * The fewest usable connections the table fits in (pgb_check_budget passes
 * for any usable >= this): its largest max or its reservations' total.
 */
extern int	pgb_budget_needed(const PgbClassTable *table);

/* Is name a valid class name (lower-case identifier, length limit)? */
extern bool pgb_valid_class_name(const char *name);

/* Index of the class called name, or -1. */
extern int	pgb_find_class(const PgbClassTable *table, const char *name);

/*
 * Make *cls the class called name[0..len) (len at most PGB_CLASS_NAME_LEN)
 * with every key at its default: no cap, no reservation, priority 0, no
 * login rate, never shed, floor 1, no limit on active transactions, the
 * setting's queue_timeout, no WAL budget and the default CPU weight.
 */
extern void pgb_class_init(PgbClass *cls, const char *name, size_t len);

/*
 * Add the implicit default class (pgb_class_init's defaults, marked
 * implicit) under name when the table does not define it.  Returns its
 * index (the table always has room for it).
 */
extern int	pgb_ensure_default_class(PgbClassTable *table, const char *name);

extern const char *pgb_shed_mode_name(PgbShedMode mode);

/* The enforce key's value: "on" or "warn". */
extern const char *pgb_enforce_name(const PgbClass *cls);

/* A warn reason's name, as events and the columns warned_* name it. */
extern const char *pgb_warn_reason_name(PgbWarnReason reason);

/* units.c */

/* What a reader made of a number. */
typedef enum PgbNumResult
{
	PGB_NUM_OK,
	PGB_NUM_SYNTAX,				/* not a number of the expected form */
	PGB_NUM_RANGE				/* well formed but out of range */
} PgbNumResult;

/*
 * Parse a login rate, N/s, N/min or N/m, where N is digits with an
 * optional fraction and 0 < N <= PGB_INT_LIMIT, into logins a second.
 */
extern PgbNumResult pgb_parse_login_rate(const char *tok, size_t len,
										 double *per_s);

/*
 * Parse a duration, the one reader of both the queue_timeout key and
 * pg_budget.queue_timeout: -1 (written so: wait without limit), or a
 * number (digits, optionally "." and at most 9 more digits) with an
 * optional unit ms, s, min, h or d (a bare number is ms).  Blanks around
 * the value and between number and unit are allowed.  A fraction of a
 * millisecond is rounded up, so only a written zero gives 0; at most
 * PGB_QUEUE_TIMEOUT_MAX ms.  Returns false on anything else.
 */
extern bool pgb_parse_duration_ms(const char *tok, size_t len, int *ms);

/* What pgb_parse_duration_ms accepts, for error messages. */
#define PGB_DURATION_EXPECTED \
	"-1 or a duration such as 500ms, 1.5s, 1min or 1d, at most 1d"

/*
 * Parse a byte rate: N (digits, with an optional fraction) and a unit
 * B, kB, MB, GB or TB (powers of 1024, as PostgreSQL's memory units; none
 * is B), then /s or /min; PGB_WAL_RATE_MIN <= rate <= PGB_WAL_RATE_MAX
 * bytes a second (a rate below a byte a second would round to nothing).
 */
extern bool pgb_parse_byte_rate(const char *tok, size_t len, double *bytes_per_s);

/*
 * Parse a memory size: N (digits, with an optional fraction) and a unit
 * B, kB, MB, GB or TB (powers of 1024, as the wal key reads them; the
 * unit is required), PGB_MEM_SIZE_MIN <= size <= PGB_MEM_SIZE_MAX.
 */
extern bool pgb_parse_size(const char *tok, size_t len, int64 *bytes);

#define PGB_MEM_SIZE_MIN		(INT64CONST(1024) * 1024)
#define PGB_MEM_SIZE_MAX		(INT64CONST(1024) * 1024 * 1024 * 1024)

/* What pgb_parse_size accepts, for error messages. */
#define PGB_SIZE_EXPECTED \
	"a size such as 512MB or 2GB, at least 1MB and at most 1TB"

/* What pgb_parse_byte_rate accepts, for error messages. */
#define PGB_RATE_EXPECTED \
	"a rate such as 500kB/s, 20MB/s or 1GB/min, at least 1B/s and at most 1TB/s"

/*
 * Parse pg_budget.wal_rate_floor: a rate as pgb_parse_byte_rate reads it,
 * or a size taken as a second's worth (B, kB, MB, GB or TB, a bare number
 * being kB), with blanks allowed around the value (and between number and
 * unit of a size).  Same bounds.
 */
extern bool pgb_parse_rate_setting(const char *str, double *bytes_per_s);

#endif							/* PGB_CLASSES_H */
