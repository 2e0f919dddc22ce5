/*-------------------------------------------------------------------------
 *
 * policy_math.h
 *	  The words the worker's policy shares with the sampler and the shared
 *	  state: pg_budget.shedding, the pressure signals and their names, a
 *	  session's state, what a wait event means, and moving averages.
 *
 * Pure: no server calls, unit-tested in test/unit/test_policy_math.c.  The
 * plan that decides with them is plan.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_POLICY_MATH_H
#define PGB_POLICY_MATH_H

#include "classes.h"

/* pg_budget.shedding */
typedef enum PgbShedding
{
	PGB_SHEDDING_OFF = 0,
	PGB_SHEDDING_DRY_RUN,
	PGB_SHEDDING_ON
} PgbShedding;

/* Pressure signals, as bits. */
#define PGB_PRESSURE_CONNECTIONS	0x01
#define PGB_PRESSURE_WAL			0x02
#define PGB_PRESSURE_LOCK			0x04
#define PGB_PRESSURE_CPU			0x08	/* the gate's limits only */
#define PGB_PRESSURE_MEMORY			0x10	/* the gate's limits only */

/* "connections+wal" and the like, for the bits set; "none" for 0. */
extern const char *pgb_pressure_names(uint32 bits);

/* Longest reason told to a victim, logged and recorded as an event. */
#define PGB_REASON_LEN			160

/* What a sampled wait event says about the session. */
typedef enum PgbWaitCategory
{
	PGB_WAIT_RUNNING = 0,		/* no wait event: on CPU */
	PGB_WAIT_WAL,				/* waiting on the WAL (flush, insert, sync rep) */
	PGB_WAIT_LOCK,				/* waiting on a heavyweight lock */
	PGB_WAIT_IDLE,				/* waiting for the client or for work */
	PGB_WAIT_OTHER				/* any other wait */
} PgbWaitCategory;

/* Classify by the names core reports (type NULL: no wait event). */
extern PgbWaitCategory pgb_wait_category(const char *type, const char *name);
extern const char *pgb_wait_category_name(PgbWaitCategory cat);

/*
 * Does a process on CPU (active, no wait event) count in the CPU signal?
 * judged: its session's slot was read (its class known); statements: the
 * slot's statements counter; client: a client backend's process (not
 * autovacuum, a background worker or the system's).  A client still
 * logging in, before its slot or its first statement, does not count; a
 * walsender and every other kind of process do.
 */
extern bool pgb_counts_on_cpu(bool judged, bool walsender, uint32 statements,
							  bool client);

/*
 * Exponential moving average with time constant tau_ms: after tau_ms of a
 * constant input the average has moved 63% of the way to it.
 */
extern double pgb_ema(double avg, double sample, double dt_ms, double tau_ms);

/* The weight a new sample gets after dt_ms: pgb_ema's step, for loops. */
extern double pgb_ema_alpha(double dt_ms, double tau_ms);

/*
 * The worker's tick with thousands of sessions.  A tick reads every live
 * process, so its cost follows the sessions: past PGB_TICK_SESSIONS_PER_MS
 * sessions for each millisecond of pg_budget.sample_interval the tick is
 * stretched, so that it reads about that many sessions a millisecond, and
 * never less often than every PGB_TICK_MAX_MS (DESIGN's range, 10-100 ms).
 * The samples a second (sessions times ticks) stay what 1000 sessions
 * give at 10 ms; a setting above that cap is kept as it is.
 */
#define PGB_TICK_SESSIONS_PER_MS	100
#define PGB_TICK_MAX_MS				100

extern int	pgb_tick_interval_ms(int sample_interval_ms, int live_sessions);

/*
 * The calm tick.  A tick that saw nothing the worker answers (no session
 * waiting at the gate, none waiting on a lock or the WAL, no mark of a pass
 * on a row, no statement of a class with switch_time to time, no pressure
 * for admission or the gate, the plan calm for both, and nothing planned)
 * is calm, and after each calm tick the next comes
 * twice as late, up to PGB_CALM_TICK_MS (DESIGN's range, 10-100 ms), never
 * later than the memory guard's next reading is due (quiet_ms; -1: no
 * bound).  The first tick that is not calm brings back the tick in force
 * (pg_budget.sample_interval, or the stretched one).  So a calm server
 * pays one wake-up in ten for the worker, and a server with anything to
 * watch pays the full rate.  A calm tick's samples count for the ticks it
 * stands for (pgb_calm_weight), so that the wait statistics and the
 * history keep their expected counts.
 */
#define PGB_CALM_TICK_MS			100

typedef struct PgbCalmSigns
{
	int			queued;			/* sessions waiting at the gate */
	int			waiting;		/* on a lock or the WAL, and lock lookups */
	int			marked;			/* rows with a pass's mark, statements timed */
	uint32		pressure;		/* PGB_PRESSURE_* of admission and the gate */
	bool		plan_calm;		/* the plan's calm, admission's and the
								 * gate's (no signal, CPU low) */
	int			planned;		/* rounds, victims, let-throughs, notes and
								 * limit changes this tick */
	int			quiet_ms;		/* the memory guard's next reading is due in
								 * (ms); -1: no bound */
} PgbCalmSigns;

extern bool pgb_tick_calm(const PgbCalmSigns *s);
extern int	pgb_calm_interval_ms(int base_ms, int last_ms, bool calm, int quiet_ms);
extern int	pgb_calm_weight(int interval_ms, int base_ms);

/*
 * Light ticks.  A session still idle outside a transaction, with nothing on
 * its row (idle_settled), is read on one tick in every
 * pgb_full_walk_every(interval): every PGB_FULL_WALK_MS or so, or every
 * tick at longer intervals.  The ticks between read only the other rows
 * and count the settled ones as the last full walk saw them; a wait sample
 * of a session first seen active on a full walk counts for the ticks it
 * was not read: the expected count of a statement shorter than a tick,
 * about half the skipped ticks more for a longer one.
 */
#define PGB_FULL_WALK_MS			50

extern int	pgb_full_walk_every(int interval_ms);

/*
 * One step of pgb_ema with its weight already known: a loop over every
 * class entry takes pgb_ema_alpha once per tick instead of once per entry
 * and average (the worker's tick, every 10 ms).  pgb_ema is this step.
 */
static inline double
pgb_ema_step(double avg, double sample, double alpha)
{
	return avg + alpha * (sample - avg);
}

/* Session states as the worker sees them. */
typedef enum PgbSessionState
{
	PGB_STATE_IDLE_IN_TX = 0,	/* shed first: holds a transaction open */
	PGB_STATE_IDLE,
	PGB_STATE_ACTIVE
} PgbSessionState;

#endif							/* PGB_POLICY_MATH_H */
