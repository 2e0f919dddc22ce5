/*-------------------------------------------------------------------------
 *
 * plan_math.h
 *	  The worker's decisions of one tick as a plan: pressure, limit
 *	  changes, and the ordered victims of priority inversions, of classes
 *	  over their limit and of a pause, each with its action and reason.
 *
 * Pure (c.h only): decided from a snapshot (snapshot.h), the class table
 * and the policy state the worker keeps; carried out by act.c, which is
 * the one file that signals backends.  Unit-tested without a server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_PLAN_MATH_H
#define PGB_PLAN_MATH_H

#include "classes.h"
#include "policy_math.h"
#include "snapshot.h"

/* A class over its limit: one round of actions per this long. */
#define PGB_SHED_ROUND_MS		500
/* A victim signalled this recently is still being dealt with. */
#define PGB_SETTLING_MS			1000

/* The tunables the plan reads (GUCs, copied each tick). */
typedef struct PgbPlanParams
{
	PgbShedding shedding;
	int			lock_wait_threshold_ms;
	int			pressure_window_ms;
	double		wal_pressure_threshold;
	double		saturation_threshold;
	double		lock_pressure_threshold;
	double		aimd_decrease;
	double		aimd_increase;
	int			aimd_interval_ms;
	int			calm_time_ms;
	int			max_actions;
	double		cpu_pressure_threshold; /* sessions on CPU per core */
} PgbPlanParams;

/* What the plan remembers from tick to tick (the worker's own). */
typedef struct PgbPlanState
{
	PgbAimdState aimd[PGB_MAX_SHARED_CLASSES];	/* by class entry */
	int64		class_action_ms[PGB_MAX_SHARED_CLASSES];	/* last limit round */
	double		inverted_share; /* moving average */
	PgbAimdState active_aimd[PGB_MAX_SHARED_CLASSES];	/* the gate's limits */
	double		cpu_avg;		/* moving average of sessions on CPU per core */
	double		running_avg[PGB_MAX_SHARED_CLASSES];	/* by entry: CPU demand */
} PgbPlanState;

typedef enum PgbRoundKind
{
	PGB_ROUND_LOCK = 0,			/* the blockers of one waiter */
	PGB_ROUND_LIMIT,			/* a class over its limit */
	PGB_ROUND_PAUSE				/* pg_budget_pause */
} PgbRoundKind;

typedef struct PgbPlanVictim
{
	int			procno;
	int			pid;
	int			entry;			/* class entry it must still be of */
	int			waiter_entry;	/* lock rounds: the waiter's, for statistics */
	PgbShedAction action;
	bool		settled;		/* counts for its round, no signal: it was
								 * signalled less than PGB_SETTLING_MS ago */
	bool		done;			/* set when carried out */
	char		reason[PGB_REASON_LEN];
} PgbPlanVictim;

typedef struct PgbPlanRound
{
	PgbRoundKind kind;
	int			entry;			/* class entry of the victims */
	int			need;			/* actions wanted, or -1: every victim */
	bool		bounded;		/* draws on max_actions */
	int			first;			/* victims[first .. first + nvictims) */
	int			nvictims;
	int			done;			/* carried out */
} PgbPlanRound;

/* A change of a class's effective admission (or active) limit. */
typedef struct PgbLimitChange
{
	int			class_index;	/* in the table */
	bool		active;			/* the gate's active limit, not admission */
	int			before;
	int			after;			/* PGB_UNLIMITED: lifted */
	const char *action;			/* "limit" or "would limit" */
	const char *signal;			/* "calm" or the pressure's names */
	char		reason[PGB_REASON_LEN];
} PgbLimitChange;

/* A queued session that holds a lock another session waits for. */
#define PGB_MAX_LET_THROUGH		64
typedef struct PgbLetThrough
{
	int			procno;
	int			pid;
	int			entry;
	char		reason[PGB_REASON_LEN];
} PgbLetThrough;

typedef struct PgbPlan
{
	uint32		pressure;		/* PGB_PRESSURE_* */
	bool		calm;
	int			victim_class;	/* table index of the class that gives way */
	bool		dry_run;		/* log and record, never signal */
	int			max_actions;	/* for bounded rounds together */
	/* by table index: the limit to publish (enforced), the one to shed to */
	int			publish_limits[PGB_MAX_CLASSES + 1];
	int			shed_limits[PGB_MAX_CLASSES + 1];
	int			nchanges;
	PgbLimitChange changes[2 * (PGB_MAX_CLASSES + 1)];
	/* the transaction gate: pressure on it, and its limits by table index */
	uint32		gate_pressure;	/* PGB_PRESSURE_CPU and _WAL */
	bool		gate_calm;
	int			active_victim_class;	/* table index, or -1 */
	int			publish_active[PGB_MAX_CLASSES + 1];	/* PGB_UNLIMITED: none */
	/* queued sessions that block others: let through the gate at once */
	int			nlet;
	PgbLetThrough let[PGB_MAX_LET_THROUGH];
	int			nrounds;
	int			max_rounds;
	PgbPlanRound *rounds;		/* the caller's memory */
	int			nvictims;
	int			max_victims;
	PgbPlanVictim *victims;		/* the caller's memory */
	PgbVictim  *order;			/* max_victims, to order a class's sessions */
} PgbPlan;

extern void pgb_plan_state_init(PgbPlanState *st);

/* A class entry named anew: its AIMD state starts afresh. */
extern void pgb_plan_forget_entry(PgbPlanState *st, int entry);

/* An empty plan over the caller's arrays. */
extern void pgb_plan_init(PgbPlan *plan, PgbPlanRound *rounds, int max_rounds,
						  PgbPlanVictim *victims, PgbVictim *order,
						  int max_victims);

/*
 * Room a worker plan may need: a round per lookup and per class, and as
 * many victims as blockers looked up plus the rows.
 */
extern int	pgb_plan_rounds_needed(const PgbSnapshot *snap, int nclasses);
extern int	pgb_plan_victims_needed(const PgbSnapshot *snap);

/*
 * Pressure signals of this tick, updating the moving average of the share
 * of sessions blocked by a lower class; *calm when every signal is well
 * below its threshold (the hysteresis of the additive increase).
 */
extern uint32 pgb_plan_judge_pressure(PgbPlanState *st, const PgbSnapshot *snap,
									  const PgbPlanParams *p, double dt_ms,
									  int nclasses, bool *calm);

/*
 * The worker's plan of one tick: marks rows whose blockers include a lower
 * class as inverted, judges pressure, steps the AIMD limits, then lists the
 * rounds: the inversions of this tick's lookups first, then the classes
 * over their limit (only under connection or WAL pressure).
 */
extern void pgb_plan_decide(PgbPlan *plan, PgbPlanState *st, PgbSnapshot *snap,
							const PgbClassTable *table, const PgbPlanParams *p,
							double dt_ms);

/*
 * pg_budget_pause with action cancel or terminate: every session of the
 * entry but the caller's and exempt superusers'; those the caller may not
 * signal are counted in *refused; cancel reaches only sessions that are
 * not idle.
 */
extern void pgb_plan_pause(PgbPlan *plan, const PgbSessionRow *rows, int nrows,
						   int entry, PgbShedAction action, int self_pid,
						   const char *reason, int *refused);

/*
 * Carry out a plan, round after round, in order: a round stops when it has
 * the actions it needs, bounded rounds when max_actions were taken in all.
 * A victim that fails (gone, changed class) gives its turn to the next.
 * signal returns whether it acted.  Returns the number of actions.
 */
typedef bool (*PgbSignalFunc) (const PgbPlan *plan, const PgbPlanRound *round,
							   const PgbPlanVictim *victim, void *arg);
extern int	pgb_plan_carry_out(PgbPlan *plan, PgbSignalFunc signal, void *arg);

/*
 * After carrying out: rows signalled get action_ms (and cancelled), classes
 * shed get their round time.
 */
extern void pgb_plan_settle(const PgbPlan *plan, PgbPlanState *st,
							PgbSnapshot *snap);

extern const char *pgb_round_signal(PgbRoundKind kind);

/*
 * The gate's pressure: CPU when the moving average of sessions on CPU per
 * core is at cpu_pressure_threshold, WAL when admission sees it; *calm
 * when neither, with the CPU below half its threshold.
 */
extern uint32 pgb_plan_gate_pressure(PgbPlanState *st, const PgbSnapshot *snap,
									 const PgbPlanParams *p, double dt_ms,
									 bool wal_pressure, bool *calm);

/*
 * The class whose active limit gives way: the lowest-priority sheddable
 * class with transactions to give (above its floor) below a class that
 * needs the CPU now (demand[i]: it has had sessions on CPU lately).  -1 if
 * none.
 */
extern int	pgb_active_class_to_decrease(const PgbClassTable *table,
										 const int *limits,
										 const int *in_progress,
										 const bool *demand);

#endif							/* PGB_PLAN_MATH_H */
