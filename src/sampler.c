/*-------------------------------------------------------------------------
 *
 * sampler.c
 *	  The worker's sampler: each tick it reads every PGPROC's pid, wait
 *	  event, transaction and lock-wait start without any lock, attributes
 *	  the process to its class (or a pseudo-class) in a row of the tick's
 *	  snapshot (snapshot.h), and publishes counts, moving averages, wait
 *	  statistics and the per-second history.
 *
 * Reads of other backends are single aligned loads, as core's own
 * pg_stat_activity does; a process that changes under the sampler is seen
 * in one state or the other.  Publishing takes the pg_budget lock
 * exclusively once per tick, for stores only (rules in shmem.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "postmaster/autovacuum.h"
#include "storage/proc.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "gate_read.h"
#include "guc.h"
#include "shmem.h"
#include "queue_math.h"
#include "sampler.h"
#include "memory.h"

/* How many PGPROC slots ahead of the one read the walk prefetches. */
#define PGB_PREFETCH_AHEAD	4

#if defined(__GNUC__) || defined(__clang__)
#define pgb_prefetch(p)	__builtin_prefetch((p), 0, 1)
#else
#define pgb_prefetch(p)	((void) (p))
#endif

/* A judged session's slot is read again every this many ticks. */
#define PGB_SLOT_RECHECK	8

/* A tiny cache of wait-event classifications (names never change). */
#define CATEGORY_CACHE 256
static uint32 cache_event[CATEGORY_CACHE];
static uint8 cache_category[CATEGORY_CACHE];
static bool cache_valid[CATEGORY_CACHE];

/*
 * Light ticks (policy_math.h).  The rows a light tick reads: every row but
 * those idle_settled at the last full walk, in procno order but for rows
 * woken since (pgb_row_unsettle), appended.  The settled ones are counted
 * as that walk saw them (settled_n, by group).  Worker-local.
 */
static int *watch;
static int	nwatch;
static bool *watched;			/* by procno: in watch */
static bool *counted;			/* by procno: in settled_n */
static int *counted_entry;		/* by procno: under which group */
static int	settled_n[PGB_NUM_GROUPS];
static int	since_full = -1;	/* ticks since the last full walk; -1:
								 * none yet */
static uint32 walks = 0;		/* full walks so far */

/* Sums over the ticks of the current second, for the history. */
static double second_sum[PGB_NUM_GROUPS][6];
static int	second_ticks = 0;
static int64 second_start_ms = 0;
static uint64 prev_admitted[PGB_MAX_SHARED_CLASSES];
static uint64 prev_rejected[PGB_MAX_SHARED_CLASSES];
static uint64 prev_shed[PGB_MAX_SHARED_CLASSES];
static uint64 prev_timeouts[PGB_MAX_SHARED_CLASSES];
static uint64 prev_wal[PGB_NUM_GROUPS];
static double prev_cpu_ms[PGB_MAX_SHARED_CLASSES];
static double prev_delay_ms[PGB_MAX_SHARED_CLASSES];

static PgbWaitCategory
categorize(uint32 event)
{
	uint32		h = (event ^ (event >> 16) ^ (event >> 24)) % CATEGORY_CACHE;
	PgbWaitCategory cat;

	if (event == 0)
		return PGB_WAIT_RUNNING;
	if (cache_valid[h] && cache_event[h] == event)
		return (PgbWaitCategory) cache_category[h];
	cat = pgb_wait_category(pgstat_get_wait_event_type(event),
							pgstat_get_wait_event(event));
	cache_event[h] = event;
	cache_category[h] = (uint8) cat;
	cache_valid[h] = true;
	return cat;
}

void
pgb_sampler_init(PgbTick *tick)
{
	int			nprocs = MaxBackends + NUM_AUXILIARY_PROCS;

	if (nprocs > pgb_shared->nslots)
		nprocs = pgb_shared->nslots;
	tick->snap.nrows = nprocs;
	tick->snap.ncores = Max(1, (int) sysconf(_SC_NPROCESSORS_ONLN));
	tick->snap.rows = MemoryContextAllocZero(TopMemoryContext,
											 sizeof(PgbSessionRow) * nprocs);
	tick->snap.lookups = MemoryContextAllocZero(TopMemoryContext,
												sizeof(PgbLookup) * nprocs);
	tick->snap.busy = MemoryContextAlloc(TopMemoryContext, sizeof(int) * nprocs);
	tick->snap.nbusy = 0;
	tick->snap.woken = MemoryContextAlloc(TopMemoryContext, sizeof(int) * nprocs);
	tick->snap.nwoken = 0;
	watch = MemoryContextAlloc(TopMemoryContext, sizeof(int) * nprocs);
	watched = MemoryContextAllocZero(TopMemoryContext, sizeof(bool) * nprocs);
	counted = MemoryContextAllocZero(TopMemoryContext, sizeof(bool) * nprocs);
	counted_entry = MemoryContextAllocZero(TopMemoryContext, sizeof(int) * nprocs);
	nwatch = 0;
	since_full = -1;
	tick->procs = MemoryContextAllocZero(TopMemoryContext,
										 sizeof(PgbProcTrack) * nprocs);
	tick->wait_events = MemoryContextAlloc(TopMemoryContext,
										   sizeof(uint32) * nprocs);
	tick->wait_groups = MemoryContextAlloc(TopMemoryContext,
										   sizeof(int16) * nprocs);
	tick->wait_weights = MemoryContextAlloc(TopMemoryContext,
											sizeof(uint16) * nprocs);
}

/*
 * The group of a live process that has no pg_budget slot.  Core hands out
 * PGPROCs by kind from fixed ranges of allProcs (InitProcGlobal): client
 * backends, then autovacuum launcher and workers, then background
 * workers, then walsenders, then auxiliary processes; the range tells the
 * kind without reading anything the process writes (13 to 17 alike).
 */
static int
pseudo_group(int procno)
{
	int			av_end = MaxConnections + autovacuum_max_workers + 1;
	int			bgw_end = av_end + max_worker_processes;

	if (procno >= MaxBackends)
		return PGB_GROUP_SYSTEM;
	if (procno < MaxConnections)
		return PGB_GROUP_UNJUDGED;
	if (procno < av_end)
		return PGB_GROUP_AUTOVACUUM;
	if (procno < bgw_end)
		return PGB_GROUP_BGWORKER;
	return PGB_GROUP_WALSENDER;
}


/*
 * One row of the tick.  turn: the row's slot and a settled row are read
 * again when (procno + turn) % PGB_SLOT_RECHECK is 0.  weight: how many
 * ticks its wait sample stands for, each a calm tick's sample_weight
 * (policy_math.h: the calm tick).
 */
static void
sample_row(PgbTick *tick, int procno, uint32 turn, bool gate_waiting, int weight)
{
	int64		now_ms = tick->snap.now_ms;
	PGPROC	   *proc = &ProcGlobal->allProcs[procno];
	PgbSessionRow *r = &tick->snap.rows[procno];
	PgbProcTrack *t = &tick->procs[procno];
	PgbBackendSlot *slot = &pgb_shared->slots[procno];
	PgbGroupStats *g;
	int			pid = proc->pid;
	uint32		event;
	PgbWaitCategory cat;
	PgbSessionState state;
	bool		judged;
	int			class_idx = 0;
	bool		superuser = false;
	bool		walsender = false;

	weight *= Max(1, tick->sample_weight);
	if (pid == 0 || pid == MyProcPid || !PGB_PROC_IS_LIVE(proc))
	{
		r->pid = 0;
		if (pgb_row_busy(r))
			tick->snap.busy[tick->snap.nbusy++] = procno;
		return;
	}
	tick->nlive++;
	event = UINT32_ACCESS_ONCE(proc->wait_event_info);
	cat = categorize(event);

	/*
	 * The common case with thousands of sessions: one still idle
	 * outside a transaction, as it was, with nothing on its row.  It
	 * is counted, and neither its row nor its tracking is read further
	 * (its slot is read again in its turn, below).
	 */
	if (r->idle_settled && r->pid == pid && cat == PGB_WAIT_IDLE &&
		(procno + turn) % PGB_SLOT_RECHECK != 0 &&
		PGB_PROC_LXID(proc) == InvalidLocalTransactionId)
	{
		r->exempt = r->superuser && pgb_exempt_superusers;
		g = &tick->groups[r->entry];
		g->sessions++;
		g->idle++;
		return;
	}

	if (r->pid != pid)
	{
		memset(r, 0, sizeof(PgbSessionRow));
		memset(t, 0, sizeof(PgbProcTrack));
		r->procno = procno;
		r->pid = pid;
		r->state_since_ms = now_ms;
		r->state = PGB_STATE_ACTIVE;
		r->may_signal = true;
	}
	/*
	 * Lock-free read of a slot (shmem.h): the pid is published last
	 * and cleared first, so fields read between two equal reads of
	 * the pid belong to that session.  What the sampler takes from a
	 * slot (class entry, superuser, walsender) is written once, at
	 * admission, and stays for the session's life (shmem.h); the slot
	 * is cleared only as its session exits.  So a session judged
	 * already is looked at again only every PGB_SLOT_RECHECK ticks,
	 * one row in that many each tick, and the tick does not read every
	 * slot of thousands of sessions.  Whether a superuser is exempt
	 * follows pg_budget.exempt_superusers, which a reload changes: it
	 * is worked out again every tick.  (An exiting session whose slot
	 * is already cleared stays in its class until its PGPROC goes, a
	 * few ticks at most: whatever the worker does to a session is
	 * checked against the slot under the lock first, act.h.)
	 */
	if (r->judged && (procno + turn) % PGB_SLOT_RECHECK != 0)
	{
		r->exempt = r->superuser && pgb_exempt_superusers;
		goto classified;
	}
	judged = false;
	if (slot->pid == pid)
	{
		pg_read_barrier();
		class_idx = slot->class_idx;
		superuser = slot->superuser;
		walsender = slot->walsender;
		pg_read_barrier();
		judged = slot->pid == pid;
	}
	if (judged)
	{
		/* a switched statement counts as its switch's class (snapshot.h) */
		r->entry = r->switched ? r->entry : class_idx;
		r->judged = true;
		r->superuser = superuser;
		r->exempt = superuser && pgb_exempt_superusers;
		/* the worker never sheds a walsender (a replica's stream is nobody's work to shed) */
		r->walsender = walsender;
	}
	else
	{
		r->entry = pseudo_group(procno);
		r->judged = false;
		r->superuser = false;
		r->exempt = true;
		r->walsender = false;
	}
classified:

	/* idle in a transaction: waiting for the client inside one */
	if (cat == PGB_WAIT_IDLE)
		state = PGB_PROC_LXID(proc) != InvalidLocalTransactionId ?
			PGB_STATE_IDLE_IN_TX : PGB_STATE_IDLE;
	else
		state = PGB_STATE_ACTIVE;
	if (state != r->state)
	{
		r->state = state;
		r->state_since_ms = now_ms;
		if (state == PGB_STATE_ACTIVE)
			r->cancelled = false;
		t->blocked_since_ms = 0;
	}
	t->category = cat;
	/*
	 * The gate's slots are read without its lock: a hint (gate.h).
	 * While nobody waits at the gate (no class has anyone queued or
	 * WAL-throttled), no slot is queued, and a loan or a held place
	 * matters to no waiter (plan_inherit.c): the slots are not read.
	 */
	r->queued = false;
	r->borrowed_for = 0;
	r->holding = false;
	if (r->judged && gate_waiting)
		pgb_gate_read_hints(procno, &r->queued, &r->borrowed_for, &r->holding);
	if (r->queued)
		tick->snap.nqueued++;
	r->running = state == PGB_STATE_ACTIVE && cat == PGB_WAIT_RUNNING;
	if (r->running)
	{
		r->ran_ms = now_ms;
		/*
		 * The CPU signal (sessions on CPU per core) counts work: a client
		 * backend still logging in, before its slot or before its first
		 * statement (the slot's statements counter, runaway_switch.c), is
		 * not counted.  A login storm is admission's to answer (caps,
		 * rates); counted here it held a lower class's transactions at
		 * their floor for the whole of a slow machine's bad day, where a
		 * login takes tens of milliseconds and web's own logins alone kept
		 * two sessions a core "on CPU" (bench/results/badday-slow.md).
		 * Autovacuum, background workers and the system's processes count
		 * as before, and so does a walsender (pgb_counts_on_cpu).
		 */
		if (pgb_counts_on_cpu(r->judged, r->walsender,
							  r->judged ? pg_atomic_read_u32(&slot->statements) : 0,
							  r->entry == PGB_GROUP_UNJUDGED))
		{
			tick->snap.running++;
			if (r->entry < PGB_MAX_SHARED_CLASSES)
				tick->snap.entries[r->entry].running++;
		}
	}

	t->lock_wait_us = 0;
	if (cat == PGB_WAIT_LOCK)
	{
		TimestampTz since = (TimestampTz) pg_atomic_read_u64(&proc->waitStart);

		if (since != 0 && tick->now > since)
			t->lock_wait_us = tick->now - since;
		else
		{
			/*
			 * The startup process of a hot standby sets no waitStart:
			 * its wait is timed from the tick that first saw it.
			 */
			if (t->lock_seen_ms == 0)
				t->lock_seen_ms = now_ms;
			t->lock_wait_us = Max(1, (now_ms - t->lock_seen_ms) * 1000);
		}
		/* only the startup process waits on a lock outside the backends */
		if (procno >= MaxBackends && RecoveryInProgress())
			tick->snap.recovery_waiter = pid;
	}
	else
		t->lock_seen_ms = 0;
	/*
	 * A statement can be blocked by one session after another (the
	 * first is shed, the next grabs the row first): what the waiter
	 * suffers is the time since its first lock wait while active.
	 */
	r->blocked_us = 0;
	if (t->lock_wait_us > 0)
	{
		if (t->blocked_since_ms == 0)
			t->blocked_since_ms = now_ms - t->lock_wait_us / 1000;
		r->blocked_us = Max(t->lock_wait_us,
							(now_ms - t->blocked_since_ms) * 1000);
	}
	/* a new wait (or none): forget how far the last one had got */
	if (r->blocked_us < t->examined_wait_us)
		t->examined_wait_us = 0;
	if (t->lock_wait_us == 0)
		r->inverted = false;
	r->idle_settled = false;
	if (pgb_row_busy(r))
		tick->snap.busy[tick->snap.nbusy++] = procno;
	else if (state == PGB_STATE_IDLE && r->judged && !r->queued &&
			 !r->holding && r->borrowed_for == 0)
		r->idle_settled = true;

	g = &tick->groups[r->entry];
	g->sessions++;
	switch (state)
	{
		case PGB_STATE_IDLE:
			g->idle++;
			return;
		case PGB_STATE_IDLE_IN_TX:
			g->idle_in_tx++;
			return;
		case PGB_STATE_ACTIVE:
			g->active++;
			if (r->queued)
				g->queued++;
			break;
	}
	if (cat == PGB_WAIT_WAL)
		g->wal_waiting++;
	else if (cat == PGB_WAIT_LOCK)
		g->lock_waiting++;
	tick->wait_events[tick->nwaits] = event;
	tick->wait_groups[tick->nwaits] = (int16) r->entry;
	tick->wait_weights[tick->nwaits] = (uint16) weight;
	tick->nwaits++;
	if (weight > 1)
	{
		/* the ticks it was not read (policy_math.h: light ticks) */
		tick->extra_samples[r->entry][0] += weight - 1;
		if (cat == PGB_WAIT_WAL)
			tick->extra_samples[r->entry][1] += weight - 1;
		else if (cat == PGB_WAIT_LOCK)
			tick->extra_samples[r->entry][2] += weight - 1;
	}
}

static int
procno_cmp(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return (x > y) - (x < y);
}

static inline void
prefetch_proc(int procno)
{
	const PGPROC *p = &ProcGlobal->allProcs[procno];

	pgb_prefetch(&p->pid);
	pgb_prefetch(&PGB_PROC_LXID(p));
	pgb_prefetch(&p->wait_event_info);
}

void
pgb_sample(PgbTick *tick)
{
	static uint32 ticks = 0;
	bool		gate_waiting = pgb_gate_any_waiting();
	bool		full;
	int			procno;
	int			e;
	int			i;

	ticks++;
	memset(tick->groups, 0, sizeof(tick->groups));
	memset(tick->extra_samples, 0, sizeof(tick->extra_samples));
	tick->nwaits = 0;
	tick->nlive = 0;
	tick->snap.nlookups = 0;
	tick->snap.nbusy = 0;
	tick->snap.running = 0;
	tick->snap.nqueued = 0;
	tick->snap.recovery_waiter = 0;
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
		tick->snap.entries[e].running = 0;

	/*
	 * Every row is read on a full walk: every pgb_full_walk_every ticks,
	 * and each tick while the server's memory is past its mark or on
	 * course to it (the guard judges every active session then, and only
	 * on a full walk: memory.c).
	 */
	full = since_full < 0 || tick->snap.mem_full_walk ||
		since_full + 1 >= pgb_full_walk_every(tick->interval_ms);
	tick->snap.full_walk = full;

	if (full)
	{
		/* a row not read since the last full walk stands for those ticks */
		int			skipped = since_full < 0 ? 1 : since_full + 1;

		walks++;
		for (procno = 0; procno < tick->snap.nrows; procno++)
		{
			PgbSessionRow *r = &tick->snap.rows[procno];

			/*
			 * The walk's cost is the PGPROCs' cache lines (thousands of
			 * slots, most of them idle): ask for the ones a few slots
			 * ahead while this one is read.
			 */
			if (procno + PGB_PREFETCH_AHEAD < tick->snap.nrows)
				prefetch_proc(procno + PGB_PREFETCH_AHEAD);
			sample_row(tick, procno, walks, gate_waiting,
					   watched[procno] ? 1 : skipped);
			counted[procno] = r->pid != 0 && r->idle_settled;
			/* an empty slot too: a session that connects there is seen at once */
			watched[procno] = !counted[procno];
		}
		nwatch = 0;
		memset(settled_n, 0, sizeof(settled_n));
		for (procno = 0; procno < tick->snap.nrows; procno++)
		{
			if (watched[procno])
				watch[nwatch++] = procno;
			else if (counted[procno])
			{
				counted_entry[procno] = tick->snap.rows[procno].entry;
				settled_n[counted_entry[procno]]++;
			}
		}
		since_full = 0;
		tick->snap.nwoken = 0;
		return;
	}

	since_full++;

	/* rows a pass put a mark on since: read from now on */
	if (tick->snap.nwoken > 0)
	{
		for (i = 0; i < tick->snap.nwoken; i++)
		{
			int			w = tick->snap.woken[i];

			if (watched[w])
				continue;
			watched[w] = true;
			watch[nwatch++] = w;
			if (counted[w])
			{
				counted[w] = false;
				settled_n[counted_entry[w]]--;
			}
		}
		tick->snap.nwoken = 0;
		/* the passes walk the busy rows in procno order */
		qsort(watch, nwatch, sizeof(int), procno_cmp);
	}

	/* the settled rows, as the last full walk saw them */
	for (e = 0; e < PGB_NUM_GROUPS; e++)
	{
		tick->groups[e].sessions += settled_n[e];
		tick->groups[e].idle += settled_n[e];
		tick->nlive += settled_n[e];
	}
	for (i = 0; i < nwatch; i++)
	{
		if (i + PGB_PREFETCH_AHEAD < nwatch)
			prefetch_proc(watch[i + PGB_PREFETCH_AHEAD]);
		sample_row(tick, watch[i], ticks, gate_waiting, 1);
	}
}

static void
count_wait(int16 group, uint32 event, int weight)
{
	uint32		h = (event * 2654435761U) ^ ((uint32) group * 40503U);
	int			i;

	for (i = 0; i < PGB_WAIT_STATS_SIZE; i++)
	{
		PgbWaitStat *w = &pgb_shared->waits[(h + i) % PGB_WAIT_STATS_SIZE];

		if (w->group == group && w->event == event)
		{
			w->count += weight;
			return;
		}
		if (w->group < 0)
		{
			/* keep a tenth free so that probes stay short */
			if (pgb_shared->nwaits >= PGB_WAIT_STATS_SIZE * 9 / 10)
				return;
			w->group = group;
			w->event = event;
			w->count = weight;
			pgb_shared->nwaits++;
			return;
		}
	}
}

/* Called with the lock held exclusively (a class entry is being reused). */
static void
wait_stats_forget(int group)
{
	int			i;

	for (i = 0; i < PGB_WAIT_STATS_SIZE; i++)
		if (pgb_shared->waits[i].group == group)
			pgb_shared->waits[i].count = 0;
}

/* The wait statistics live in the main struct: only forget is this file's. */
static const PgbShmemPart wait_stats_part = {
	.forget = wait_stats_forget,
};

void
pgb_wait_stats_init(void)
{
	pgb_shmem_register(&wait_stats_part);
}

/* Moving averages by group: active sessions, WAL share (worker-local). */
static double group_avg[PGB_NUM_GROUPS][2];

/* A recycled class entry starts its averages afresh. */
void
pgb_sampler_forget(int group)
{
	group_avg[group][0] = 0;
	group_avg[group][1] = 0;
}

/*
 * Publish one tick.  The moving averages are the worker's own (it is their
 * only writer), computed before the lock is taken, so that the exclusive
 * hold is stores and a few hash probes.
 */
void
pgb_publish_sample(PgbTick *tick, double dt_ms)
{
	double		(*avg)[2] = group_avg;
	double		alpha = pgb_ema_alpha(dt_ms, pgb_pressure_window);
	int			w = Max(1, tick->sample_weight);
	int			i;

	for (i = 0; i < PGB_NUM_GROUPS; i++)
	{
		PgbGroupStats *g = &tick->groups[i];
		double		wal_share = 0;

		/* sessions waiting at the gate are not writing: not in the share */
		if (g->active - g->queued > 0)
			wal_share = (double) g->wal_waiting / (g->active - g->queued);
		avg[i][0] += alpha * (g->active - avg[i][0]);
		avg[i][1] += alpha * (wal_share - avg[i][1]);
		g->active_avg = avg[i][0];
		g->wal_share_avg = avg[i][1];

		/* a calm tick stands for the ticks it is long (sample_weight) */
		second_sum[i][0] += w * g->sessions;
		second_sum[i][1] += w * g->active;
		second_sum[i][2] += w * g->wal_waiting;
		second_sum[i][3] += w * g->lock_waiting;
		if (i < PGB_MAX_SHARED_CLASSES)
		{
			PgbGateCounters gc;

			pgb_gate_read_counters(i, &gc);
			tick->snap.entries[i].in_progress = gc.in_progress;
			tick->snap.entries[i].queued = gc.queued;
			tick->snap.entries[i].wal_bytes = pgb_wal_bytes_of(i);
			tick->snap.entries[i].transactions = gc.transactions;
			tick->snap.entries[i].commits = gc.commits;
			tick->snap.entries[i].commit_us = gc.commit_us;
			tick->snap.entries[i].commits_slow = gc.commits_slow;
			tick->snap.entries[i].commits_tail = gc.commits_tail;
			second_sum[i][4] += w * tick->snap.entries[i].in_progress;
			second_sum[i][5] += w * tick->snap.entries[i].queued;
		}
	}

	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGB_NUM_GROUPS; i++)
	{
		PgbGroupStats *dst = &pgb_shared->groups[i];
		PgbGroupStats *src = &tick->groups[i];

		dst->sessions = src->sessions;
		dst->active = src->active;
		dst->idle = src->idle;
		dst->idle_in_tx = src->idle_in_tx;
		dst->wal_waiting = src->wal_waiting;
		dst->lock_waiting = src->lock_waiting;
		dst->active_avg = src->active_avg;
		dst->wal_share_avg = src->wal_share_avg;
		dst->samples += src->active + tick->extra_samples[i][0];
		dst->wal_samples += src->wal_waiting + tick->extra_samples[i][1];
		dst->lock_samples += src->lock_waiting + tick->extra_samples[i][2];
	}
	for (i = 0; i < tick->nwaits; i++)
		count_wait(tick->wait_groups[i], tick->wait_events[i], tick->wait_weights[i]);
	LWLockRelease(pgb_shared->lock);
	second_ticks += w;

	/* what the plan judges pressure from */
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		tick->snap.entries[i].sessions = tick->groups[i].sessions;
		tick->snap.entries[i].active = tick->groups[i].active;
		tick->snap.entries[i].active_avg = tick->groups[i].active_avg;
		tick->snap.entries[i].wal_share_avg = tick->groups[i].wal_share_avg;
	}
}

/*
 * Once a second, append one history frame: averages over the second's
 * ticks, and what the admission counters moved by.
 */
void
pgb_history_tick(PgbTick *tick, int nclasses)
{
	static PgbHistoryFrame frame;
	static PgbGateSnapshot gates[PGB_MAX_SHARED_CLASSES];
	int			active_conf[PGB_MAX_SHARED_CLASSES];
	const PgbClassTable *table;
	PgbHistoryFrame *f;
	bool		configured[PGB_MAX_SHARED_CLASSES];
	int			i;

	memset(configured, 0, sizeof(configured));
	for (i = 0; i < nclasses; i++)
		if (tick->snap.map[i] >= 0)
			configured[tick->snap.map[i]] = true;

	if (second_start_ms == 0)
	{
		/* the first frame counts from now, not from server start */
		second_start_ms = tick->snap.now_ms;
		LWLockAcquire(pgb_shared->lock, LW_SHARED);
		for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		{
			PgbClassState *c = &pgb_shared->classes[i];
			int			k;

			prev_admitted[i] = c->admitted;
			prev_rejected[i] = 0;
			for (k = 0; k < PGB_NUM_REJECT_REASONS; k++)
				prev_rejected[i] += c->rejected[k];
			prev_shed[i] = c->shed_cancel + c->shed_terminate;
			prev_cpu_ms[i] = c->cpu_ms;
			prev_delay_ms[i] = c->run_delay_ms;
		}
		LWLockRelease(pgb_shared->lock);
		for (i = 0; i < PGB_NUM_GROUPS; i++)
			prev_wal[i] = pgb_wal_bytes_of(i);
	}
	if (tick->snap.now_ms - second_start_ms < 1000 || second_ticks == 0)
		return;

	/* the gate's counters first: its lock is never held with the main one */
	pgb_gate_snapshot(gates);
	table = pgb_current_table(NULL);
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		active_conf[i] = PGB_UNLIMITED;
	for (i = 0; i < nclasses; i++)
		if (tick->snap.map[i] >= 0)
			active_conf[tick->snap.map[i]] = table->classes[i].active;

	/* built in local memory under the main lock, shared ... */
	f = &frame;
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	f->at = tick->now;
	f->nrows = 0;
	for (i = 0; i < PGB_NUM_GROUPS; i++)
	{
		PgbHistoryRow *r;
		uint64		adm = 0,
					rej = 0,
					shed = 0;

		if (i < PGB_MAX_SHARED_CLASSES)
		{
			PgbClassState *c = &pgb_shared->classes[i];
			int			k;

			/* configured classes, and removed ones while they hold sessions */
			if (c->name[0] == '\0' || (!configured[i] && c->connected == 0))
				continue;
			adm = c->admitted;
			for (k = 0; k < PGB_NUM_REJECT_REASONS; k++)
				rej += c->rejected[k];
			shed = c->shed_cancel + c->shed_terminate;
		}
		else if (second_sum[i][0] == 0 && pgb_wal_bytes_of(i) == prev_wal[i])
			continue;

		r = &f->rows[f->nrows++];
		r->group = (int16) i;
		r->connected = second_sum[i][0] / second_ticks;
		r->active = second_sum[i][1] / second_ticks;
		r->wal_waiting = second_sum[i][2] / second_ticks;
		r->lock_waiting = second_sum[i][3] / second_ticks;
		r->limit = -1;
		r->in_progress = second_sum[i][4] / second_ticks;
		r->queued = second_sum[i][5] / second_ticks;
		r->queue_timeouts = 0;
		r->active_limit = -1;
		{
			uint64		wal = pgb_wal_bytes_of(i);

			/* a frame is a second; a reset in between counts from 0 */
			r->wal_rate = (float4) (wal >= prev_wal[i] ? wal - prev_wal[i] : wal);
			prev_wal[i] = wal;
		}
		r->admitted = r->rejected = r->shed = 0;
		r->cpu_ms = r->run_delay_ms = r->mem_bytes = -1;
		if (i < PGB_MAX_SHARED_CLASSES)
		{
			PgbClassState *c = &pgb_shared->classes[i];

			r->mem_bytes = (float4) pgb_memory_entry_peak(i);

			/*
			 * What the once-a-second CPU reading (cgroup.c) added since the
			 * last frame; a reset in between counts from 0.
			 */
			r->cpu_ms = (float4) (c->cpu_ms >= prev_cpu_ms[i] ?
								  c->cpu_ms - prev_cpu_ms[i] : c->cpu_ms);
			r->run_delay_ms = (float4) (c->run_delay_ms >= prev_delay_ms[i] ?
										c->run_delay_ms - prev_delay_ms[i] :
										c->run_delay_ms);
			prev_cpu_ms[i] = c->cpu_ms;
			prev_delay_ms[i] = c->run_delay_ms;
			/* a reset in between makes a counter go back: count from 0 */
			r->admitted = (uint32) (adm >= prev_admitted[i] ? adm - prev_admitted[i] : adm);
			r->rejected = (uint32) (rej >= prev_rejected[i] ? rej - prev_rejected[i] : rej);
			r->shed = (uint32) (shed >= prev_shed[i] ? shed - prev_shed[i] : shed);
			prev_admitted[i] = adm;
			prev_rejected[i] = rej;
			prev_shed[i] = shed;
			r->limit = pgb_shared->classes[i].effective_max;
			r->queue_timeouts = (uint32) (gates[i].timeouts >= prev_timeouts[i] ?
										  gates[i].timeouts - prev_timeouts[i] :
										  gates[i].timeouts);
			prev_timeouts[i] = gates[i].timeouts;
			r->active_limit = pgb_gate_limit(active_conf[i], gates[i].effective);
		}
	}
	LWLockRelease(pgb_shared->lock);

	/* ... then copied into the ring under rings_lock alone (shmem.h) */
	LWLockAcquire(pgb_shared->rings_lock, LW_EXCLUSIVE);
	memcpy(&pgb_history->frames[pgb_history->written % pgb_history->size],
		   f, offsetof(PgbHistoryFrame, rows) + f->nrows * sizeof(PgbHistoryRow));
	pgb_history->written++;
	LWLockRelease(pgb_shared->rings_lock);

	memset(second_sum, 0, sizeof(second_sum));
	second_ticks = 0;
	second_start_ms += 1000;
	if (tick->snap.now_ms - second_start_ms >= 1000)
		second_start_ms = tick->snap.now_ms;
}
