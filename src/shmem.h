/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  pg_budget's main shared memory (shmem.c): per-class counters, the
 *	  per-backend slots, the sampler's statistics and the history; and the
 *	  registry through which other files add shared memory parts of their
 *	  own (the gate, the events rings, the wait statistics …), each with
 *	  its own locking rules beside its own state.
 *
 * Locking rules
 * -------------
 * One LWLock (tranche "pg_budget") protects everything below except the
 * admission-time histogram, which is atomics only, and what the sampler
 * reads of other backends (PGPROC fields, backend slots), which it reads
 * without any lock and checks by pid.
 *
 * - Admission, slot release, pause/resume and reset take the lock
 *	 EXCLUSIVE, do O(classes) arithmetic and release it.  Nothing that can
 *	 throw an error, allocate memory or read a catalog runs while it is held:
 *	 the refusal FATAL is raised after the lock is released.
 * - Readers (the views) take it SHARED, copy what they need into local
 *	 memory, release, and only then build their rows.
 * - A class entry's name changes only under the exclusive lock, and an
 *	 entry with connected > 0 is never renamed or recycled, so a backend
 *	 slot may keep the index of its class entry for its whole life.
 * - A backend slot is written only by its own backend (at admission and at
 *	 exit), under the exclusive lock.  It writes every other field before
 *	 the pid (write barrier) and clears the pid first at exit, so that the
 *	 sampler, which reads slots without the lock, can take the fields read
 *	 between two equal reads of the pid (read barriers) as that session's.
 * - Signals, and the slot's shed fields they write: act.h.
 * - What the worker reads without the lock, and why that is safe:
 *	 PGPROC fields (pid, wait_event_info, lxid, waitStart, and waitLock only
 *	 as a key), each a single aligned load, as pg_stat_activity does: a
 *	 value read mid-change is the old one or the new one, and a session
 *	 seen in either state is judged again next tick; backend slots, by the
 *	 pid protocol above; a slot's class_idx, which names the same class
 *	 entry for the session's whole life (see above).  Whatever it decides
 *	 from these reads is checked again under the lock before a signal.
 *	 What it published itself (effective limits, pressure) it keeps in its
 *	 own memory rather than reading it back.
 * - The worker publishes each tick's sample (groups[], wait statistics)
 *	 under one exclusive acquisition, and its plan's limits and pressure
 *	 (classes[].effective_max, groups[].pressure, pressure) under another,
 *	 after computing them in local memory, so the lock is held for
 *	 microseconds.  The lock matrix (locks[][]) is updated under a short
 *	 exclusive hold per blocker looked up (lockwatch.c) and per inversion
 *	 acted on (act.c).
 * - The events rings and the history ring have a lock of their own
 *	 (rings_lock), so that a view reading them never holds up a login or
 *	 an exit, which take the main lock.  Writers take rings_lock exclusive
 *	 for one entry and never while holding the main lock (so a reader can
 *	 not stall a main-lock holder either); readers take it shared for a
 *	 bounded piece (PGB_RING_PIECE entries), release it between pieces,
 *	 and skip what was overwritten meanwhile, by the entries' sequence
 *	 numbers.
 * - The CPU weights in force (cpu), CPU boosts (a slot's cpu_boost) and
 *	 the CPU time by class (cpu_ms, run_delay_ms): cgroup.h.
 * - A slot's switched_to (a runaway statement switched to a lower class,
 *	 runaway_switch.c) is set, like cpu_boost, by the worker only, under a
 *	 SHARED hold of the main lock in which it checks the slot's pid (a
 *	 slot is cleared under the exclusive lock before its process exits, so
 *	 a mark is never left on the next session of the slot); the worker
 *	 clears it the same way.  The backend zeroes it at admission and
 *	 release under the exclusive lock, and clears it with no lock (its own
 *	 slot, an atomic write) when its next statement starts.  It is read
 *	 without the lock by the backend itself (the class its WAL is charged
 *	 to, walbudget.c), by the worker (pgb_runaway_switch_sample, the pid
 *	 checked around it) and by the signaller (act.c, under the lock it
 *	 holds anyway); the views read it under the shared lock.
 *	 pgb_slot_entry() is the class a slot counts as.
 * - A slot's statements counter is added to by its backend only, with no
 *	 lock (its own slot, an atomic add: a full barrier), as each statement
 *	 starts (runaway_switch.c); zeroed with the slot at admission and
 *	 release.  The worker reads it without the lock, the pid checked
 *	 around it (runaway.c), and after setting a switched_to mark, which it
 *	 takes back (compare-and-exchange) if the statement it was meant for
 *	 is no longer the one counted (runaway_switch.c's mark_slot).
 * - worker_calm: a one-shot wake, armed while the worker's tick is
 *	 stretched by calm (worker.c, policy_math.h: the calm tick): its procno
 *	 + 1, else 0.  An atomic, under no lock.  The worker writes it before
 *	 each sleep (armed before a stretched one, 0 before another, 0 at
 *	 exit); a backend that wants the worker to look now (pgb_wake_worker:
 *	 a transaction queued at the gate, a statement of a class with
 *	 switch_time) reads it, and if armed takes it with an exchange to 0 and
 *	 sets that latch: one wake a stretched sleep, whoever asks.  A stale
 *	 read costs one calm tick of delay (at most PGB_CALM_TICK_MS) or a
 *	 needless SetLatch, nothing else.
 * - A class entry's warned[] counters are atomics, added to under no lock
 *	 (or under whatever lock the counting code holds) by logins, the gate
 *	 and the worker, zeroed by reset, and initialised with the entry.
 * - The rules' counters (rules[]): rules.h.  The events rings: events.h.
 *
 * After a crash of any backend the postmaster re-creates shared memory, so
 * every count starts again from zero together with the sessions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_SHMEM_H
#define PGB_SHMEM_H

#include "postgres.h"

#include "portability/instr_time.h"

#include "admit_math.h"
#include "classes.h"
#include "events_math.h"
#include "policy_math.h"
#include "rules_parse.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/*
 * Groups are what statistics are kept by: a class entry (0 ..
 * PGB_MAX_SHARED_CLASSES - 1), or one of the pseudo-classes below for
 * processes pg_budget does not judge.
 */
#define PGB_GROUP_AUTOVACUUM	(PGB_MAX_SHARED_CLASSES + 0)
#define PGB_GROUP_BGWORKER		(PGB_MAX_SHARED_CLASSES + 1)
#define PGB_GROUP_SYSTEM		(PGB_MAX_SHARED_CLASSES + 2)
#define PGB_GROUP_UNJUDGED		(PGB_MAX_SHARED_CLASSES + 3)
#define PGB_GROUP_WALSENDER		(PGB_MAX_SHARED_CLASSES + 4)
#define PGB_NUM_GROUPS			(PGB_MAX_SHARED_CLASSES + 5)

/* Admission-time histogram: 0.1 us buckets up to 200 us, then overflow. */
#define PGB_HIST_BUCKET_NS		100
#define PGB_HIST_BUCKETS		2001

/* Wait statistics: open addressing on (group, wait_event_info). */
#define PGB_WAIT_STATS_SIZE		4096

typedef enum PgbPauseMode
{
	PGB_PAUSE_NONE = 0,
	PGB_PAUSE_REJECT,
	PGB_PAUSE_CANCEL,
	PGB_PAUSE_TERMINATE
} PgbPauseMode;

typedef struct PgbClassState
{
	char		name[NAMEDATALEN];	/* "" = free entry */
	uint32		incarnation;	/* bumped each time the entry is named:
								 * the worker drops its state of an
								 * entry whose incarnation moved */
	int			connected;		/* sessions admitted and not yet gone */
	int			effective_max;	/* set by the worker; PGB_UNLIMITED: none */
	PgbPauseMode paused;
	TimestampTz paused_at;
	double		tokens;			/* rate bucket */
	TimestampTz tokens_at;		/* when tokens was last refilled */
	uint64		admitted;
	uint64		rejected[PGB_NUM_REJECT_REASONS];	/* by PgbVerdict - 1 */
	uint64		shed_cancel;
	uint64		shed_terminate;
	/* what warn mode let happen, by PgbWarnReason: atomics, no lock */
	pg_atomic_uint64 warned[PGB_NUM_WARN_REASONS];
	double		cpu_ms;			/* CPU time of its sessions since reset */
	double		run_delay_ms;	/* time they were runnable, not running */
} PgbClassState;

/* What the sampler saw of a group, published each tick. */
typedef struct PgbGroupStats
{
	int			sessions;		/* processes of the group */
	int			active;
	int			idle;
	int			idle_in_tx;
	int			lock_waiting;
	int			wal_waiting;
	int			queued;			/* of the active: waiting at the gate */
	double		active_avg;		/* moving averages */
	double		wal_share_avg;	/* of active sessions waiting on WAL */
	uint32		pressure;		/* PGB_PRESSURE_* acting on this group */
	uint64		samples;		/* active-session samples since reset */
	uint64		wal_samples;
	uint64		lock_samples;
} PgbGroupStats;

typedef struct PgbWaitStat
{
	uint32		event;			/* wait_event_info; 0 = running */
	int16		group;			/* -1 = free */
	uint64		count;
} PgbWaitStat;

/* Lock waits by waiter group x blocker group. */
typedef struct PgbLockStat
{
	uint64		waits;			/* distinct waits seen */
	int64		longest_us;
	uint64		inversions;		/* blockers shed for it */
} PgbLockStat;

/* What the client of a session the worker signals sees (shed_kind). */
typedef enum PgbShedKind
{
	PGB_SHED_KIND_PLAIN = 0,	/* core's message, the reason in the DETAIL */
	PGB_SHED_KIND_MEMORY,		/* the memory guard's or a budget's cancel */
	PGB_SHED_KIND_IDLE_BLOCKER, /* past idle_blocker_timeout */
	PGB_SHED_KIND_RUNAWAY		/* past switch_time */
} PgbShedKind;

typedef struct PgbBackendSlot
{
	int			pid;			/* 0 = slot not in use */
	int			class_idx;		/* index into classes[] */
	Oid			roleid;
	bool		superuser;
	bool		walsender;		/* replication=database: never shed by the
								 * worker, ended by pause terminate */
	TimestampTz admitted_at;
	char		rolename[NAMEDATALEN];
	/* why the worker is about to signal this backend (shown to its client) */
	TimestampTz shed_at;
	char		shed_reason[PGB_REASON_LEN];
	pg_atomic_uint32 shed_pending;	/* 1: shed_reason is for the signal sent */
	/*
	 * What its client sees instead of core's message (PgbShedKind): for
	 * memory, out_of_memory with shed_message; for an idle blocker or a
	 * runaway, shed_message with core's SQLSTATE (57P01, 57014).
	 */
	uint8		shed_kind;
	char		shed_message[PGB_REASON_LEN];
	/* how it got its class: role, database, default or a rule's text */
	char		classified_by[PGB_RULE_TEXT_LEN];
	pg_atomic_uint32 cpu_boost; /* class entry + 1 whose cgroup the worker
								 * moved it into (a CPU boost), 0: none */
	pg_atomic_uint32 switched_to;	/* class entry + 1 its running statement
									 * was switched to (switch_to=CLASS)
									 * and counts as until it ends, 0: none */
	pg_atomic_uint32 statements;	/* statements its backend started
									 * (runaway.c: a statement's CPU is
									 * counted from its start) */
} PgbBackendSlot;

/*
 * The class entry a slot's session counts as now: the class its running
 * statement was switched to, or its own.
 */
static inline int
pgb_slot_entry(PgbBackendSlot *slot)
{
	uint32		s = pg_atomic_read_u32(&slot->switched_to);

	return s > 0 && s <= PGB_MAX_SHARED_CLASSES ? (int) s - 1 : slot->class_idx;
}

/* A class whose cgroup has its weight in force. */
typedef struct PgbCpuClass
{
	char		name[NAMEDATALEN];
	int			weight;			/* the cpu key's W */
	bool		idle;			/* cpu=idle */
} PgbCpuClass;

/* The CPU weights in force: version 0 (PGB_CGROUP_NONE) = none. */
typedef struct PgbCpuState
{
	int			version;		/* PgbCgroupVersion */
	int			cpu_source;		/* PgbCpuSource: where cpu_ms comes from */
	int			nclasses;
	PgbCpuClass classes[PGB_MAX_CLASSES + 1];
} PgbCpuState;

/*
 * Logins a rule of pg_budget.rules classified, and those it matched but
 * skipped because it would have raised their priority.  Counted under
 * the exclusive lock at admission, by position, for the rule whose hash
 * (its text and position) is stored: a different rule at that position
 * starts again from zero (rules.c).
 */
typedef struct PgbRuleStat
{
	uint32		hash;
	uint64		classified;
	uint64		raised;
} PgbRuleStat;

/* Ring entries a reader copies per hold of rings_lock. */
#define PGB_RING_PIECE			64

typedef struct PgbShared
{
	LWLock	   *lock;
	LWLock	   *rings_lock;		/* the events and history rings */
	uint32		incarnations;	/* entries named since start */
	int			total_connected;	/* sum of classes[].connected */
	TimestampTz reset_at;
	uint32		pressure;		/* PGB_PRESSURE_* in force now */
	pg_atomic_uint32 worker_calm;	/* 0, or the worker's procno + 1 while
									 * its tick is stretched (above) */
	PgbClassState classes[PGB_MAX_SHARED_CLASSES];
	PgbGroupStats groups[PGB_NUM_GROUPS];
	PgbWaitStat waits[PGB_WAIT_STATS_SIZE];
	int			nwaits;
	PgbLockStat locks[PGB_NUM_GROUPS][PGB_NUM_GROUPS];
	pg_atomic_uint64 hist[PGB_HIST_BUCKETS];
	PgbCpuState cpu;			/* CPU weights in force (cgroup.c) */
	PgbRuleStat rules[PGB_MAX_RULES];	/* pg_budget.rules (rules.c) */
	int			nslots;
	PgbBackendSlot slots[FLEXIBLE_ARRAY_MEMBER];
} PgbShared;

/* One second of one group, for pg_budget_history. */
typedef struct PgbHistoryRow
{
	int16		group;
	float4		connected;
	float4		active;
	float4		wal_waiting;
	float4		lock_waiting;
	uint32		admitted;
	uint32		rejected;
	uint32		shed;
	int32		limit;			/* effective admission limit, -1 = none */
	float4		in_progress;	/* transactions past the gate */
	float4		queued;			/* transactions waiting at the gate */
	uint32		queue_timeouts;
	int32		active_limit;	/* the gate's limit in force, -1 = none */
	float4		wal_rate;		/* WAL bytes written during the second */
	float4		cpu_ms;			/* CPU time its sessions used in it (class
								 * entries only; -1: none) */
	float4		run_delay_ms;	/* time they waited for a CPU in it */
	float4		mem_bytes;		/* the most private memory its sessions held
								 * at a reading in the second (class
								 * entries; -1: none) */
} PgbHistoryRow;

typedef struct PgbHistoryFrame
{
	TimestampTz at;
	int			nrows;
	PgbHistoryRow rows[PGB_NUM_GROUPS];
} PgbHistoryFrame;

typedef struct PgbHistory
{
	int			size;			/* frames */
	uint64		written;		/* frames written since start; the next
								 * goes to frames[written % size] */
	PgbHistoryFrame frames[FLEXIBLE_ARRAY_MEMBER];
} PgbHistory;

/*
 * The registry.  A file with shared memory of its own registers its part
 * from its init in _PG_init, before pgb_shmem_init: shmem.c requests the
 * size and the tranche and calls startup (with AddinShmemInitLock held;
 * first: the main struct was made now, at start or after a crash) and
 * forget (a class entry is reused for another class: drop what the part
 * kept of it; the main lock is held exclusively) and knows nothing else
 * of it.
 */
typedef struct PgbShmemPart
{
	Size		(*size) (void); /* bytes it needs, or NULL */
	void		(*startup) (bool first);
	void		(*forget) (int group);
	const char *tranche;		/* LWLocks of its own: the tranche, or NULL */
	int			nlocks;
} PgbShmemPart;
extern void pgb_shmem_register(const PgbShmemPart *part);
extern void pgb_shmem_init(void);
extern void pgb_require_shmem(void);

extern PgbShared *pgb_shared;
extern PgbHistory *pgb_history;
extern const char *pgb_group_name(int group);
extern void pgb_forget_group(int group);
extern int	pgb_class_entry(const char *name, bool create);
extern void pgb_map_classes(const PgbClassTable *table, int *map, bool create);
extern PgbBackendSlot *pgb_my_slot(void);
extern void pgb_hist_record(pg_atomic_uint64 *hist, instr_time start);
extern void pgb_wake_worker(void);

#endif							/* PGB_SHMEM_H */
