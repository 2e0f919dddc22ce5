/*-------------------------------------------------------------------------
 *
 * plan.h
 *	  The worker's decisions of one tick as a plan: pressure, limit
 *	  changes, and the ordered victims of priority inversions, of classes
 *	  over their limit and of a pause, each with its action and reason.
 *
 * Pure: no server calls, no locks; unit-tested in test/unit/test_plan*.c.
 * Decided from a snapshot (snapshot.h), the class table and the state the
 * worker keeps; carried out by act.c, which is the one file that signals
 * backends.  plan.c holds the tick and what the limits share; each step is
 * in the file of its concern: plan_rounds.c (victims), plan_pressure.c,
 * plan_admit.c (the admission limit), plan_active.c (the gate's active
 * limit), plan_wal.c (the WAL budget), plan_inherit.c (the gate's
 * let-throughs).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_PLAN_H
#define PGB_PLAN_H

#include "classes.h"
#include "policy_math.h"
#include "snapshot.h"
#include "wal_bucket.h"

/* The tunables the plan reads (GUCs, copied each tick). */
typedef struct PgbPlanParams
{
	PgbShedding shedding;
	bool		enabled;		/* pg_budget.enabled: the classes' own
								 * limits on a session (plan_runaway.c)
								 * apply only when on */
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
	double		run_delay_target_ms;	/* with every class weighted: CPU
										 * pressure when a higher class's
										 * sessions wait longer for a CPU
										 * (ms per second per session);
										 * 0: off */
	double		wal_rate_floor; /* bytes/s the WAL budget is never below */
	double		commit_latency_target_ms;	/* WAL pressure also when a
											 * class's commits are slower
											 * than this; 0: share only */
} PgbPlanParams;

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
 * CPU pressure from run delay: how long the sessions of a class waited
 * for a CPU (runnable, not running) per second and per session.  A
 * session can not wait for a CPU more than all of a second.
 */
#define PGB_RUN_DELAY_MAX_MS	1000.0

/* The last reading of a class entry's run-delay counter, and its rate. */
typedef struct PgbRunDelayTrack
{
	double		delay_ms;		/* the counter at the last reading */
	int64		at_ms;			/* when it was read; 0: never */
	double		rate;			/* ms of run delay per second per session */
} PgbRunDelayTrack;

/*
 * The adaptive WAL budget of one class, stepped by the worker's plan
 * (plan_wal.c).  Two signals: pressure, sustained (the moving averages
 * over pg_budget.pressure_window: this class is the one to give way), and
 * slow_now, the same judged over the last quarter of aimd_interval (a
 * higher class's commits are slow right now), which answers a cut within
 * a second where the sustained one takes several.
 *
 * A cut halves (decrease) the budget in force, or what the class writes
 * when it has none, never below the class's fair share of that first rate
 * (PGB_WAL_FAIR_SHARE, below), and marks the rate it cut from: after a run of cuts,
 * the lowest rate still seen slow.  The first cut after a raise comes
 * step_ms / 4 after the last step, since web feels every second of a slow
 * commit; further cuts in a row only while commits are still slow now:
 * the second a step_ms later (a cut shows only once the transactions
 * under way have ended), each next twice as long after the last, since
 * commits that stay slow however far the class is cut are slow for some
 * other reason, and the class is not taken to the floor for it in
 * seconds.  Each step_ms with no slow commit now, the budget goes halfway
 * up to PGB_WAL_MARK_SHARE of the mark, ground where commits were not
 * slow (a binary search between the two: one more cut there lowers the
 * mark).  Past it, after calm_ms of sustained calm, it probes, a step each
 * step_ms of calm (x 1 + increase, the increase doubled at each: x 1.05,
 * 1.10, 1.20, 1.40...), until commits are slow again (a new mark) or the
 * ceiling (the configured budget, or the rate the class had when first
 * lowered) is reached and the budget is lifted.
 */
#define PGB_WAL_MARK_SHARE		0.9

/*
 * The class's fair share: cuts never take a budget below this share of
 * its base (the rate the class had when first lowered, or its configured
 * budget), nor below the floor.  Halving while a higher class's commits
 * stay slow took a bulk class to the floor within seconds wherever they
 * were slow for some other reason too (a CPU others load, the page cache
 * its own earlier writes left dirty): 0.12x-0.24x of its stock
 * transactions in bench/wal.sh's sweep (issue 28), four set-ups of eight
 * under 0.2x, on a loaded machine whose calm web commits already passed
 * the target.  Below the share the law does not go:
 * a knee lower than that (web's commits slow whenever the class writes
 * a third of its rate) holds web's commits less, and the budget sits at
 * the share (doc/wal-budget.md).
 */
#define PGB_WAL_FAIR_SHARE		0.3

typedef struct PgbWalAimd
{
	double		limit;			/* bytes/s in force; 0: none */
	double		base;			/* the rate when first lowered */
	double		mark;			/* the rate the last cut came at */
	int64		last_step_ms;	/* when it last moved */
	int64		calm_since_ms;	/* -1: not calm */
	int64		quiet_since_ms; /* no slow commit now since; -1: slow */
	int			cuts;			/* in a row, since the last raise */
	int			probes;			/* raises past the mark's share, in a row */
} PgbWalAimd;

typedef struct PgbWalAimdParams
{
	double		configured;		/* the class's wal key, 0: none */
	double		floor_rate;		/* never below (pg_budget.wal_rate_floor) */
	double		decrease;		/* pg_budget.aimd_decrease */
	double		increase;		/* pg_budget.aimd_increase */
	int64		step_ms;		/* pg_budget.aimd_interval */
	int64		calm_ms;		/* pg_budget.calm_time */
} PgbWalAimdParams;

/* What the plan remembers of a class entry from tick to tick. */
typedef struct PgbPlanEntry
{
	/* the admission limit (plan_admit.c) */
	PgbAimdState aimd;
	int64		class_action_ms;	/* its last round over the limit */
	/* the gate's active limit (plan_active.c) */
	PgbAimdState active_aimd;
	PgbRunDelayTrack run_delay;
	double		running_avg;	/* CPU demand */
	double		in_progress_avg;	/* the gate's load */
	/* the adaptive WAL budget (plan_wal.c) */
	PgbWalAimd	wal_aimd;
	uint64		wal_prev;		/* wal_bytes last tick */
	double		wal_rate_avg;	/* bytes/s */
	uint64		xact_prev;		/* transactions last tick */
	double		xact_rate_avg;	/* transactions/s */
	/* its writing commits (plan_pressure.c) */
	uint64		commits_prev;	/* the counters last tick */
	uint64		commit_us_prev;
	uint64		commits_slow_prev;
	uint64		commits_tail_prev;
	double		commit_rate_avg;	/* writing commits/s */
	double		commit_ms_avg;	/* their latency */

	/*
	 * Slow commits (past the target) and the tail (past
	 * PGB_TAIL_COMMIT_FACTOR times it) a second, moving averages over
	 * pressure_window (_avg, beside commit_rate_avg) and over a quarter of
	 * aimd_interval (_now, beside commit_rate_now): their shares of the
	 * commits are the ratios, by commit, not by tick (a flush that holds
	 * four commits slow ends them in one tick, and counts four).
	 */
	double		commit_rate_now;
	double		commit_slow_rate_avg;
	double		commit_slow_rate_now;
	double		commit_tail_rate_avg;
	double		commit_tail_rate_now;
} PgbPlanEntry;

/* What the plan remembers from tick to tick (the worker's own). */
typedef struct PgbPlanState
{
	PgbPlanEntry entries[PGB_MAX_SHARED_CLASSES];	/* by class entry */
	double		inverted_share; /* moving average */
	double		cpu_avg;		/* moving average of sessions on CPU per core */
	bool		wal_primed;		/* wal_prev holds a first reading */
	bool		commits_primed; /* commits_prev and the like do */
} PgbPlanState;

typedef enum PgbRoundKind
{
	PGB_ROUND_LOCK = 0,			/* the blockers of one waiter */
	PGB_ROUND_LIMIT,			/* a class over its limit */
	PGB_ROUND_PAUSE,			/* pg_budget_pause */
	PGB_ROUND_IDLE_BLOCKER,		/* past a class's idle_blocker_timeout */
	PGB_ROUND_RUNAWAY			/* past a class's switch_time */
} PgbRoundKind;

typedef struct PgbPlanVictim
{
	int			procno;
	int			pid;
	int			entry;			/* class entry it must still be of */
	int			waiter_entry;	/* lock rounds: the waiter's, for statistics */
	int64		statement;		/* runaway cancels: the statement judged (its
								 * slot's statements counter); -1: any */
	PgbShedAction action;
	bool		settled;		/* counts for its round, no signal: it was
								 * signalled less than PGB_SETTLING_MS ago */
	bool		done;			/* set when carried out */
	char		reason[PGB_REASON_LEN];
	/* what its client sees instead of core's message; "": core's */
	char		message[PGB_REASON_LEN];
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
	bool		wal;			/* the WAL budget (bytes/s in the reason) */
	int			before;
	int			after;			/* PGB_UNLIMITED: lifted */
	const char *action;			/* "limit" or "would limit" */
	const char *signal;			/* "calm" or the pressure's names */
	char		reason[PGB_REASON_LEN];
} PgbLimitChange;

/*
 * A session idle in a transaction that holds a place at the gate while
 * others of its class are queued: noted once per idle spell, after
 * PGB_IDLE_HOLD_NOTE_MS.
 */
#define PGB_IDLE_HOLD_NOTE_MS	1000
#define PGB_MAX_NOTES			16
typedef struct PgbPlanNote
{
	int			procno;
	int			pid;
	int			entry;
	char		reason[PGB_REASON_LEN];
} PgbPlanNote;

/* A queued session that holds a lock another session waits for. */
#define PGB_MAX_LET_THROUGH		64
typedef struct PgbLetThrough
{
	int			procno;
	int			pid;
	int			entry;
	int			waiter_pid;		/* the waiter it is let through for */
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
	int			nchanges;		/* changes[0 .. nchanges) */
	/* the transaction gate: pressure on it, and its limits by table index */
	uint32		gate_pressure;	/* PGB_PRESSURE_CPU, _WAL and _MEMORY */
	bool		gate_calm;
	int			active_victim_class;	/* table index, or -1 */
	int			run_delay_class;	/* table index of the class whose run
									 * delay is CPU pressure, or -1 */
	double		run_delay_rate; /* its ms per second per session */
	int			publish_active[PGB_MAX_CLASSES + 1];	/* PGB_UNLIMITED: none */
	int			wal_victim_class;	/* table index, or -1 */
	/* the class that would give way were a class above it there, or -1 */
	int			wal_spared_class;
	double		publish_wal[PGB_MAX_CLASSES + 1];	/* bytes/s, 0: none */
	/* idle place holders with others queued: events */
	int			nnotes;			/* notes[0 .. nnotes) */
	/* queued sessions that block others: let through the gate at once */
	int			nlet;			/* let[0 .. nlet) */
	int			nrounds;
	int			max_rounds;
	PgbPlanRound *rounds;		/* the caller's memory */
	int			nvictims;
	int			max_victims;
	PgbPlanVictim *victims;		/* the caller's memory */
	PgbVictim  *order;			/* max_victims, to order a class's sessions */

	/*
	 * Last, and not cleared by pgb_plan_init: 27 kB the worker would
	 * otherwise write every tick (every 10 ms) for the few entries it
	 * fills.  An entry is cleared when it is taken (pgb_plan_new_change).
	 */
	PgbLimitChange changes[2 * (PGB_MAX_CLASSES + 1)];
	PgbPlanNote notes[PGB_MAX_NOTES];
	PgbLetThrough let[PGB_MAX_LET_THROUGH];
} PgbPlan;

/* The next limit change of the plan, cleared; the caller checks room. */
static inline PgbLimitChange *
pgb_plan_new_change(PgbPlan *plan)
{
	PgbLimitChange *ch = &plan->changes[plan->nchanges++];

	memset(ch, 0, sizeof(*ch));
	return ch;
}

/* plan.c: the plan and its state, the tick, what the limits share */

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
 * The worker's plan of one tick: marks rows whose blockers include a lower
 * class as inverted, judges pressure, steps the AIMD limits, then lists the
 * rounds: the inversions of this tick's lookups first, then the classes
 * over their limit (only under connection or WAL pressure).
 */
extern void pgb_plan_decide(PgbPlan *plan, PgbPlanState *st, PgbSnapshot *snap,
							const PgbClassTable *table, const PgbPlanParams *p,
							double dt_ms);

/*
 * The class that gives way: of the sheddable classes (shed is not never)
 * that have something to give (gives[i]) and, unless demand is NULL, a
 * class of higher priority that needs it (demand[j]), the one of lowest
 * priority; ties go to the class that uses more (use[i]).  By table index;
 * -1 if none.  Each limit says what giving means: sessions above the
 * floor (admission), transactions in progress above the active floor (the
 * gate), bytes/s above pg_budget.wal_rate_floor (the WAL budget).
 */
extern int	pgb_class_to_give_way(const PgbClassTable *table, const bool *gives,
								  const double *use, const bool *demand);

/*
 * Has a class something to give: is what it uses, capped by its limit
 * (PGB_UNLIMITED: none), above floor_limit?
 */
extern bool pgb_above_floor(int limit, int use, int floor_limit);

/* Does a class of higher priority than c need it (demand[j])? */
extern bool pgb_higher_demand(const PgbClassTable *table, const PgbClass *c,
							  const bool *demand);

/* plan_rounds.c: the rounds of victims */

/* A class over its limit: one round of actions per this long. */
#define PGB_SHED_ROUND_MS		500
/* A victim signalled this recently is still being dealt with. */
#define PGB_SETTLING_MS			1000

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
 * A new round, and a victim of the last round added (a round's victims
 * follow it, before any other round); NULL when the caller's arrays are
 * full.
 */
extern PgbPlanRound *pgb_plan_add_round(PgbPlan *plan, PgbRoundKind kind,
										int entry, int need, bool bounded);
extern PgbPlanVictim *pgb_plan_add_victim(PgbPlan *plan, PgbPlanRound *r,
										  const PgbSessionRow *row,
										  PgbShedAction action);

/* The class of a row's entry (class_of: table index by entry), or NULL. */
extern const PgbClass *pgb_plan_class_of_row(const PgbClassTable *table,
											 const int *class_of,
											 const PgbSessionRow *row);

/* plan_runaway.c */

/*
 * Idle blockers and runaway statements.  From this tick's lookups, a
 * session idle in a transaction that blocks a waiter is marked (row's
 * blocking_*), and stays marked while it stays idle in that transaction
 * and the waiter still waits; past its class's idle_blocker_timeout of
 * blocking it is terminated.  A statement whose CPU time (stmt_cpu_ms) is
 * past its class's switch_time is cancelled (switch_to=cancel).  Each
 * victim once per PGB_SETTLING_MS; exempt superusers and walsenders
 * never; nothing with pg_budget.shedding or pg_budget.enabled off.
 */
extern void pgb_plan_runaways(PgbPlan *plan, PgbSnapshot *snap,
							  const PgbClassTable *table, const int *class_of,
							  const PgbPlanParams *p);

/*
 * Runaway switches (switch_to=CLASS): a statement past its class's
 * switch_time runs as the lower class switch_to names until it ends.
 * Decided here, carried out by runaway_switch.c, which marks the slot
 * (the class it counts as) and moves the pid between cgroups.
 */
typedef enum PgbSwitchKind
{
	PGB_SWITCH_MOVE_TO = 0,		/* switched to to_entry */
	PGB_SWITCH_MOVE_BACK,		/* its statement ended: back to home_entry */
	PGB_SWITCH_MOVE_WOULD		/* dry run, or a class in warn mode: noted,
								 * nothing done */
} PgbSwitchKind;

typedef struct PgbSwitchMove
{
	PgbSwitchKind kind;
	int			procno;
	int			pid;
	int			home_entry;		/* its own class */
	int			from_entry;		/* the class it counts as now */
	int			to_entry;		/* the class it counts as after the move */
	bool		boosted;		/* it runs in a CPU boost's cgroup, which
								 * wins: its cgroup is not changed now */
	bool		warn;			/* WOULD: its class is in warn mode
								 * (enforce=warn), not a dry run */
	bool		cgroup;			/* TO: move it into to_entry's cgroup (its
								 * weight is in force); BACK: it was moved */
	int64		cpu_ms;			/* TO: its statement's CPU time */
	uint32		statements;		/* TO: the statement judged (the slot's
								 * statements counter): no mark if it ended */
	char		reason[PGB_REASON_LEN];
} PgbSwitchMove;

#define PGB_MAX_SWITCH_MOVES	32

typedef struct PgbSwitchPlan
{
	int			nmoves;
	PgbSwitchMove moves[PGB_MAX_SWITCH_MOVES];
} PgbSwitchPlan;

/*
 * The switches of one tick.  A switched session whose statement ended
 * (the row's active spell is not the one it was switched in, or its
 * backend cleared the mark as its next statement began), or with
 * pg_budget.enabled or shedding off, goes BACK (one that exited is
 * forgotten: its slot is gone).  An active statement of a class with
 * switch_to=CLASS whose CPU time (stmt_cpu_ms) is past switch_time goes
 * TO that class (dry run, or its class in warn mode: WOULD, once a
 * statement); judged sessions only,
 * exempt superusers and walsenders never.  A switched session is judged
 * by the keys of the class it was switched to (a chain of switches, or a
 * cancel, from there).  The rows learn the outcome from pgb_switch_done.
 */
extern void pgb_plan_switches(PgbSwitchPlan *plan, PgbSnapshot *snap,
							  const PgbClassTable *table,
							  const PgbPlanParams *p);

/*
 * A move was carried out (ok: the slot was marked, whatever became of
 * its cgroup move; moved: its cgroup was changed) or not (the session is
 * gone): the row says so.
 */
extern void pgb_switch_done(PgbSnapshot *snap, const PgbSwitchMove *move,
							bool ok, bool moved);

/* plan_pressure.c */

/*
 * Pressure signals of this tick, updating the moving average of the share
 * of sessions blocked by a lower class; *calm when every signal is well
 * below its threshold (the hysteresis of the additive increase).
 */
extern uint32 pgb_plan_judge_pressure(PgbPlanState *st, const PgbSnapshot *snap,
									  const PgbPlanParams *p, double dt_ms,
									  int nclasses, bool *calm);

/*
 * The share of usable connections below which connections count as calm:
 * 0.1 below the saturation threshold, but never below half of it, so that
 * calm stays reachable at the smallest threshold allowed.
 */
extern double pgb_connection_calm_line(double saturation_threshold);

/*
 * A class's writing commits are slow: more than PGB_SLOW_COMMIT_SHARE of
 * them (factor times it) took commit_latency_target_ms or longer lately
 * (its p95 is above the target), or more than PGB_TAIL_COMMIT_SHARE took
 * PGB_TAIL_COMMIT_FACTOR (wal_bucket.h) times the target (its p99 is above
 * four times it: a flush that holds a few commits for tens of ms every
 * second is felt, though 95% of them are fast); moving averages over
 * pressure_window, counted by commit, with at least one commit a second:
 * what WAL pressure means when the target is set.  The tail, not the
 * mean: most commits of a loaded server are fast, and what web feels is
 * the ones that are not.
 */
#define PGB_COMMITS_MIN_RATE	1.0
#define PGB_SLOW_COMMIT_SHARE	0.05
#define PGB_TAIL_COMMIT_SHARE	0.01
/* a share of the commits from two of those rates (0 without commits) */
extern double pgb_plan_commit_share(double part_rate, double all_rate);
extern bool pgb_plan_commits_slow(const PgbPlanState *st, int entry,
								  double target_ms, double factor);

/*
 * The same judged over the last quarter of aimd_interval, not over
 * pressure_window: are the commits slow right now?  What the adaptive WAL
 * budget steps by once pressure is there (plan_wal.c), as it answers a cut
 * within a second.
 */
extern bool pgb_plan_commits_slow_now(const PgbPlanState *st, int entry,
									  double target_ms);

/*
 * The gate's pressure: CPU when the moving average of sessions on CPU per
 * core is at cpu_pressure_threshold (unless every class has its CPU weight
 * in force: the kernel shares those sessions by weight), WAL when
 * admission sees it; *calm when neither, with the CPU below half its
 * threshold.  It also steps each entry's run-delay rate
 * (pgb_run_delay_step), which pgb_plan_active_limits judges against
 * run_delay_target when every class has its weight in force (the signal
 * that replaces sessions on CPU per core then).
 */
extern uint32 pgb_plan_gate_pressure(PgbPlanState *st, const PgbSnapshot *snap,
									 const PgbPlanParams *p, double dt_ms,
									 bool wal_pressure, bool *calm);

/*
 * A reading of a class entry's run-delay counter (delay_ms, the sum over
 * its sessions, read at at_ms; 0: not yet read) by sessions, the number of
 * its sessions that ran or waited to run since the reading before.
 * Updates t->rate, the run delay per second of wall time per such
 * session (0 when none), and returns it.  A first reading, or a counter
 * that went back (the entry was named anew), gives 0; the same reading
 * again leaves the rate as it was.
 */
extern double pgb_run_delay_step(PgbRunDelayTrack *t, double delay_ms,
								 int64 at_ms, int sessions);

/*
 * Run-delay pressure: among the classes (by table index) that need the
 * CPU (demand[i]) and have a sheddable class of lower priority below
 * them, the one whose rate[i] is highest if it is at target or above,
 * else -1.  *calm when every such class is below half the target.
 * target <= 0: the signal is off (-1, calm).  The gate lowers the active
 * limit of a lower class when a higher class's rate is past
 * pg_budget.run_delay_target.
 */
extern int	pgb_run_delay_pressure(const PgbClassTable *table, const double *rate,
								   const bool *demand, double target,
								   bool *calm);

/* plan_admit.c: the admission limit, and the AIMD step of the gate's too */

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

/* plan_active.c: the gate's active limit */

/* The lowest active limit the worker may set: the floor, at least 1. */
extern int	pgb_active_floor(const PgbClass *c);

/*
 * The same under the pressure in force (PGB_PRESSURE_*): under CPU
 * pressure alone, not below a static active up to ncores.
 */
extern int	pgb_active_floor_under(const PgbClass *c, uint32 pressure,
								   int ncores);

/* plan_wal.c: the adaptive WAL budget */

/* A budget that was never lowered. */
extern void pgb_wal_aimd_reset(PgbWalAimd *s);

/*
 * The lowest a cut takes a budget whose base is base: PGB_WAL_FAIR_SHARE
 * of it, at least the floor.
 */
extern double pgb_wal_fair_floor(double base, const PgbWalAimdParams *p);

/* Is a lowered budget at its fair share (or the floor): no cut takes more? */
extern bool pgb_wal_at_fair_floor(const PgbWalAimd *s, double floor_rate);

/*
 * One step at now_ms: pressure (this class gives way), slow_now (commits
 * above it are slow right now), calm (no WAL pressure, or nobody above it
 * active), rate_avg (what it writes, bytes/s).
 * Returns true if the budget moved.
 */
extern bool pgb_wal_aimd_step(PgbWalAimd *s, bool pressure, bool slow_now,
							  bool calm, double rate_avg,
							  const PgbWalAimdParams *p, int64 now_ms);

/*
 * WAL bytes a transaction of an entry writes, on average lately (0: not
 * known): what a throttled session released from its wait is expected to
 * write, so that the next is released that much later (wal_bucket.c).
 */
extern double pgb_plan_wal_xact_bytes(const PgbPlanState *st, int entry);

/*
 * Between the plan files: the steps of pgb_plan_decide (plan.c), each in
 * the file of its concern.
 */

/*
 * A class "needs the CPU" when it has had sessions on CPU lately: the
 * moving average of its sessions on CPU (active, no wait event) over
 * pressure_window is at least this.  Sessions waiting on a lock, the WAL
 * or the client are no demand for the CPU.
 */
#define PGB_CPU_DEMAND_MIN		0.05

/* plan_pressure.c; and has every class its CPU weight in force? */
extern bool pgb_plan_commit_latency_pressure(const PgbPlanState *st,
											 const PgbSnapshot *snap,
											 const PgbClassTable *table,
											 const PgbPlanParams *p,
											 bool *slow, bool *slowish,
											 bool *slow_now);
extern bool pgb_all_weighted(const PgbSnapshot *snap);

/* plan_rounds.c */
extern void pgb_plan_inversions(PgbPlan *plan, PgbSnapshot *snap,
								const PgbClassTable *table,
								const int *class_of, const PgbPlanParams *p);
extern void pgb_plan_over_limit(PgbPlan *plan, const PgbPlanState *st,
								const PgbSnapshot *snap,
								const PgbClassTable *table);

/* plan_admit.c, plan_active.c, plan_wal.c */
extern void pgb_plan_admission_limits(PgbPlan *plan, PgbPlanState *st,
									  const PgbSnapshot *snap,
									  const PgbClassTable *table,
									  const PgbPlanParams *p);
extern void pgb_plan_active_limits(PgbPlan *plan, PgbPlanState *st,
								   const PgbSnapshot *snap,
								   const PgbClassTable *table,
								   const PgbPlanParams *p, double dt_ms);
extern void pgb_plan_wal_limits(PgbPlan *plan, PgbPlanState *st,
								const PgbSnapshot *snap,
								const PgbClassTable *table,
								const PgbPlanParams *p, double dt_ms,
								bool slow_now);

/*
 * Is the WAL budget of some sheddable class in force at wal_rate_floor (it
 * wrote more, was throttled, and can be throttled no further), and does
 * that class still write (at least half the floor, on average)?  Only then
 * do slow commits above go on to admission and keep calm away (plan.c).
 */
extern bool pgb_plan_wal_floored(const PgbPlanState *st,
								 const PgbSnapshot *snap,
								 const PgbClassTable *table,
								 const PgbPlanParams *p);

/* plan_inherit.c */
extern void pgb_plan_let_through(PgbPlan *plan, const PgbSnapshot *snap,
								 const PgbClassTable *table,
								 const int *class_of);
extern void pgb_plan_idle_holders(PgbPlan *plan, const PgbSnapshot *snap,
								  const PgbClassTable *table,
								  const int *class_of);

#endif							/* PGB_PLAN_H */
