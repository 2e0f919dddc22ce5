/*-------------------------------------------------------------------------
 *
 * policy_math.h
 *	  The shedding worker's decisions as pure functions: what a wait event
 *	  means, moving averages, the AIMD admission limit, which class gives
 *	  way first and in what order a class's sessions are shed.
 *
 * c.h only: unit-tested without a server.  The worker feeds them numbers
 * it sampled and acts on what they return.
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
 * Exponential moving average with time constant tau_ms: after tau_ms of a
 * constant input the average has moved 63% of the way to it.
 */
extern double pgb_ema(double avg, double sample, double dt_ms, double tau_ms);

/* The weight a new sample gets after dt_ms: pgb_ema's step, for loops. */
extern double pgb_ema_alpha(double dt_ms, double tau_ms);

/*
 * The share of usable connections below which connections count as calm:
 * 0.1 below the saturation threshold, but never below half of it, so that
 * calm stays reachable at the smallest threshold allowed.
 */
extern double pgb_connection_calm_line(double saturation_threshold);

/* Session states as the worker sees them. */
typedef enum PgbSessionState
{
	PGB_STATE_IDLE_IN_TX = 0,	/* shed first: holds a transaction open */
	PGB_STATE_IDLE,
	PGB_STATE_ACTIVE
} PgbSessionState;

/* A session the worker may shed, and what it may do to it. */
typedef struct PgbVictim
{
	int			procno;
	int			pid;
	PgbSessionState state;
	int64		state_since_ms; /* when it entered its state */
	bool		cancelled;		/* already cancelled once (active only) */
} PgbVictim;

typedef enum PgbShedAction
{
	PGB_ACTION_NONE = 0,
	PGB_ACTION_CANCEL,
	PGB_ACTION_TERMINATE
} PgbShedAction;

/*
 * Order victims: idle in transaction first, then idle, then active; in
 * each group the longest in its state first.
 */
extern void pgb_order_victims(PgbVictim *victims, int n);

/*
 * The action allowed on a victim by the class's shed mode: an idle session
 * (in a transaction or not) can only be terminated (a cancel does not reach
 * a backend waiting for its client), an active one is cancelled first and
 * terminated only if it was cancelled before and the mode allows it.
 */
extern PgbShedAction pgb_shed_action(PgbShedMode mode, const PgbVictim *v);

/* Tunables of the AIMD admission limit (GUCs). */
typedef struct PgbAimdParams
{
	double		decrease;		/* multiply by this under pressure (0..1) */
	int			increase;		/* add this many slots per step when calm */
	int64		step_ms;		/* at most one step per this many ms */
	int64		calm_ms;		/* calm for this long before increasing */
} PgbAimdParams;

/* Per-class AIMD state, kept by the worker. */
typedef struct PgbAimdState
{
	int			limit;			/* effective limit, PGB_UNLIMITED = none */
	int64		last_step_ms;	/* time of the last change */
	int64		calm_since_ms;	/* start of the current calm spell, or -1 */
} PgbAimdState;

/*
 * One AIMD step for a class.  pressure: this class is the one that must
 * give way now; calm: no pressure signal at all.  connected: sessions of
 * the class; max: its configured cap (PGB_UNLIMITED: none); floor: never
 * below this; usable: connections usable at all.  Returns true if the
 * limit changed.
 */
extern bool pgb_aimd_step(PgbAimdState *st, const PgbAimdParams *p,
						  bool pressure, bool calm, int connected, int max,
						  int floor_limit, int usable, int64 now_ms);

/*
 * The class that gives way under pressure: the lowest-priority class whose
 * shed mode is not never and whose effective limit is still above its floor
 * (limits[i] == PGB_UNLIMITED counts as above).  connected[] bounds the
 * effective limit from above.  Ties go to the class with more sessions.
 * Returns -1 if none can give way.
 */
extern int	pgb_class_to_decrease(const PgbClassTable *table, const int *limits,
								  const int *connected);

#endif							/* PGB_POLICY_MATH_H */
