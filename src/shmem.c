/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Creates pg_budget's shared memory and maps class names to entries.
 *
 * The layout and its locking rules are in shmem.h.  Entries are found by
 * name; the callers of pgb_class_entry and pgb_map_classes hold the lock
 * (exclusively when they may create an entry).
 *
 * The main struct and the history are made here; every other file's part
 * (the events rings, the gate, the prepared transactions' ring, the CPU
 * weights' state) is registered from its own init in _PG_init
 * (pgb_shmem_register): this file calls their callbacks and knows no more
 * of them, so that dependencies go one way, towards it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"

#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "text.h"

PgbShared  *pgb_shared = NULL;
PgbHistory *pgb_history = NULL;

/* the registered parts, in the order of registration (process-local) */
#define PGB_MAX_SHMEM_PARTS 8
static const PgbShmemPart *parts[PGB_MAX_SHMEM_PARTS];
static int	nparts = 0;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static int
pgb_num_slots(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS;
}

static Size
pgb_shmem_size(void)
{
	return add_size(offsetof(PgbShared, slots),
					mul_size(pgb_num_slots(), sizeof(PgbBackendSlot)));
}

static Size
pgb_history_size(void)
{
	return add_size(offsetof(PgbHistory, frames),
					mul_size(pgb_history_seconds, sizeof(PgbHistoryFrame)));
}

void
pgb_shmem_register(const PgbShmemPart *part)
{
	if (nparts >= PGB_MAX_SHMEM_PARTS)
		elog(ERROR, "pg_budget: too many shared memory parts");
	parts[nparts++] = part;
}

static void
pgb_shmem_request(void)
{
	int			i;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(pgb_shmem_size());
	RequestAddinShmemSpace(pgb_history_size());
	RequestNamedLWLockTranche("pg_budget", 2);
	for (i = 0; i < nparts; i++)
	{
		if (parts[i]->size)
			RequestAddinShmemSpace(parts[i]->size());
		if (parts[i]->tranche)
			RequestNamedLWLockTranche(parts[i]->tranche, parts[i]->nlocks);
	}
}

/* A class entry's warn counters, from zero (atomics: shmem.h). */
static void
init_warned(PgbClassState *c)
{
	int			r;

	for (r = 0; r < PGB_NUM_WARN_REASONS; r++)
		pg_atomic_init_u64(&c->warned[r], 0);
}

static void
pgb_shmem_startup(void)
{
	bool		found;
	bool		first;
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgb_shared = ShmemInitStruct("pg_budget", pgb_shmem_size(), &found);
	first = !found;
	if (!found)
	{
		memset(pgb_shared, 0, pgb_shmem_size());
		pgb_shared->lock = &(GetNamedLWLockTranche("pg_budget"))[0].lock;
		pgb_shared->rings_lock = &(GetNamedLWLockTranche("pg_budget"))[1].lock;
		pgb_shared->nslots = pgb_num_slots();
		pgb_shared->reset_at = GetCurrentTimestamp();
		pg_atomic_init_u32(&pgb_shared->worker_calm, 0);
		for (i = 0; i < PGB_HIST_BUCKETS; i++)
			pg_atomic_init_u64(&pgb_shared->hist[i], 0);
		for (i = 0; i < pgb_shared->nslots; i++)
		{
			pg_atomic_init_u32(&pgb_shared->slots[i].shed_pending, 0);
			pg_atomic_init_u32(&pgb_shared->slots[i].cpu_boost, 0);
			pg_atomic_init_u32(&pgb_shared->slots[i].switched_to, 0);
			pg_atomic_init_u32(&pgb_shared->slots[i].statements, 0);
		}
		for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		{
			pgb_shared->classes[i].effective_max = PGB_UNLIMITED;
			init_warned(&pgb_shared->classes[i]);
		}
		for (i = 0; i < PGB_WAIT_STATS_SIZE; i++)
			pgb_shared->waits[i].group = -1;
	}
	pgb_history = ShmemInitStruct("pg_budget history", pgb_history_size(), &found);
	if (!found)
	{
		memset(pgb_history, 0, pgb_history_size());
		pgb_history->size = pgb_history_seconds;
	}
	for (i = 0; i < nparts; i++)
		if (parts[i]->startup)
			parts[i]->startup(first);
	LWLockRelease(AddinShmemInitLock);
}

void
pgb_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgb_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgb_shmem_startup;
}

void
pgb_require_shmem(void)
{
	if (pgb_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_budget must be loaded via shared_preload_libraries"),
				 errhint("Add pg_budget to shared_preload_libraries in postgresql.conf and restart the server.")));
}


/*
 * Index of the entry called name, or -1.  With create, a missing entry is
 * made, reusing one that is free or that only a removed class left behind
 * with no session (then -1 only if every entry holds sessions).
 */
int
pgb_class_entry(const char *name, bool create)
{
	PgbClassState *classes = pgb_shared->classes;
	int			free_idx = -1;
	int			i;

	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		if (classes[i].name[0] == '\0')
		{
			if (free_idx < 0)
				free_idx = i;
		}
		else if (strcmp(classes[i].name, name) == 0)
			return i;
	}
	if (!create)
		return -1;
	if (free_idx < 0)
	{
		int			default_idx;
		const PgbClassTable *table = pgb_current_table(&default_idx);

		for (i = 0; i < PGB_MAX_SHARED_CLASSES && free_idx < 0; i++)
			if (classes[i].connected == 0 &&
				pgb_find_class(table, classes[i].name) < 0)
				free_idx = i;
		if (free_idx < 0)
			return -1;
	}
	memset(&classes[free_idx], 0, sizeof(PgbClassState));
	init_warned(&classes[free_idx]);
	pgb_strlcpy_mb(classes[free_idx].name, name, NAMEDATALEN);
	classes[free_idx].effective_max = PGB_UNLIMITED;
	classes[free_idx].incarnation = ++pgb_shared->incarnations;
	pgb_forget_group(free_idx);
	return free_idx;
}

/*
 * Fill map[i] with the entry of table->classes[i] (-1 when it has none and
 * create is false).  Entries are usually in table order, so the first
 * guess is the same position.
 */
void
pgb_map_classes(const PgbClassTable *table, int *map, bool create)
{
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		const char *name = table->classes[i].name;

		if (i < PGB_MAX_SHARED_CLASSES &&
			strcmp(pgb_shared->classes[i].name, name) == 0)
			map[i] = i;
		else
			map[i] = pgb_class_entry(name, create);
	}
}

PgbBackendSlot *
pgb_my_slot(void)
{
	int			procno;

	if (pgb_shared == NULL || MyProc == NULL)
		return NULL;
	procno = PGB_PROCNO(MyProc);
	if (procno < 0 || procno >= pgb_shared->nslots)
		return NULL;
	return &pgb_shared->slots[procno];
}

/* Name of a group: its class, or a pseudo-class in parentheses. */
const char *
pgb_group_name(int group)
{
	switch (group)
	{
		case PGB_GROUP_AUTOVACUUM:
			return "(autovacuum)";
		case PGB_GROUP_BGWORKER:
			return "(background worker)";
		case PGB_GROUP_SYSTEM:
			return "(system)";
		case PGB_GROUP_UNJUDGED:
			return "(unjudged)";
		case PGB_GROUP_WALSENDER:
			return "(walsender)";
	}
	if (group >= 0 && group < PGB_MAX_SHARED_CLASSES)
		return pgb_shared->classes[group].name;
	return "(unknown)";
}

/*
 * A class entry is being reused for another name: drop what the previous
 * class left in the statistics.  Caller holds the lock exclusively.
 */
void
pgb_forget_group(int group)
{
	int			i;

	memset(&pgb_shared->groups[group], 0, sizeof(PgbGroupStats));
	for (i = 0; i < PGB_NUM_GROUPS; i++)
	{
		memset(&pgb_shared->locks[group][i], 0, sizeof(PgbLockStat));
		memset(&pgb_shared->locks[i][group], 0, sizeof(PgbLockStat));
	}
	for (i = 0; i < nparts; i++)
		if (parts[i]->forget)
			parts[i]->forget(group);
}

/*
 * Count the time since start in a histogram of PGB_HIST_BUCKETS buckets of
 * PGB_HIST_BUCKET_NS (the last one is the overflow): atomics, no lock.
 */
void
pgb_hist_record(pg_atomic_uint64 *hist, instr_time start)
{
	instr_time	elapsed;
	double		ns;
	int			bucket;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	ns = INSTR_TIME_GET_DOUBLE(elapsed) * 1e9;
	if (ns >= (double) PGB_HIST_BUCKET_NS * (PGB_HIST_BUCKETS - 1))
		bucket = PGB_HIST_BUCKETS - 1;
	else
		bucket = (int) (ns / PGB_HIST_BUCKET_NS);
	pg_atomic_fetch_add_u64(&hist[bucket], 1);
}

/*
 * Have the worker look now if its tick is stretched by calm (shmem.h:
 * worker_calm): the first caller takes the armed wake (an exchange) and
 * sets the worker's latch; no lock.
 */
void
pgb_wake_worker(void)
{
	uint32		calm;

	if (pgb_shared == NULL)
		return;
	/* a read first: no atomic exchange on every call while not armed */
	if (pg_atomic_read_u32(&pgb_shared->worker_calm) == 0)
		return;
	calm = pg_atomic_exchange_u32(&pgb_shared->worker_calm, 0);
	if (calm != 0 && calm <= (uint32) ProcGlobal->allProcCount)
		SetLatch(&ProcGlobal->allProcs[calm - 1].procLatch);
}
