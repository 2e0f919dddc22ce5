/*-------------------------------------------------------------------------
 *
 * classes.h
 *	  The class table: what pg_budget.classes parses into, and the parser.
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
#define PGB_QUEUE_TIMEOUT_DEFAULT	(-1)

/* Largest WAL budget: 1 TB a second. */
#define PGB_WAL_RATE_MAX	(1024.0 * 1024 * 1024 * 1024)

/* Longest queue_timeout: one day, in ms. */
#define PGB_QUEUE_TIMEOUT_MAX	(24 * 3600 * 1000)

typedef enum PgbShedMode
{
	PGB_SHED_NEVER = 0,
	PGB_SHED_CANCEL,
	PGB_SHED_TERMINATE
} PgbShedMode;

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
								 * PGB_QUEUE_TIMEOUT_DEFAULT: the GUC's */
	double		wal;			/* WAL budget, bytes per second; 0 = none */
	bool		implicit;		/* not in the table: the default class */
} PgbClass;

typedef struct PgbClassTable
{
	int			nclasses;
	/* one spare entry for the implicit default class */
	PgbClass	classes[PGB_MAX_CLASSES + 1];
} PgbClassTable;

/*
 * Parse a pg_budget.classes string into *table.  On failure returns false
 * and writes a one-line message naming the class and the token at fault
 * into errbuf.  An empty or all-blank string is a valid, empty table.
 */
extern bool pgb_parse_classes(const char *str, PgbClassTable *table,
							  char *errbuf, size_t errlen);

/*
 * Check that the table fits in usable = max_connections minus the slots
 * core reserves for superusers: the sum of reservations <= usable and no
 * max > usable.  Same error conventions as the parser.
 */
extern bool pgb_check_budget(const PgbClassTable *table, int usable,
							 char *errbuf, size_t errlen);

/* Is name a valid class name (lower-case identifier, length limit)? */
extern bool pgb_valid_class_name(const char *name);

/* Index of the class called name, or -1. */
extern int	pgb_find_class(const PgbClassTable *table, const char *name);

/*
 * Add the implicit default class (no cap, no reservation, priority 0,
 * never shed) under name when the table does not define it.  Returns its
 * index (the table always has room for it).
 */
extern int	pgb_ensure_default_class(PgbClassTable *table, const char *name);

extern const char *pgb_shed_mode_name(PgbShedMode mode);

/*
 * Parse a duration: digits with an optional unit ms, s, min or h (a bare
 * number is ms), at most PGB_QUEUE_TIMEOUT_MAX ms.  Returns false on a
 * malformed or out-of-range value.
 */
extern bool pgb_parse_duration_ms(const char *tok, size_t len, int *ms);

/*
 * Parse a byte rate: N (digits, with an optional fraction) and a unit
 * B, kB, MB, GB or TB (powers of 1024, as PostgreSQL's memory units),
 * then /s or /min; 0 < rate <= PGB_WAL_RATE_MAX bytes a second.
 */
extern bool pgb_parse_byte_rate(const char *tok, size_t len, double *bytes_per_s);

#endif							/* PGB_CLASSES_H */
