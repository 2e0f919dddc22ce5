/*-------------------------------------------------------------------------
 *
 * memory.c
 *	  Memory by class: the server's limit (pg_budget.memory_limit: its
 *	  cgroup's, else the machine's) and use, read every tick from one or
 *	  two small files; each counted session's private memory
 *	  (/proc/<pid>/statm), read for the views once a second if the sampler
 *	  saw it on CPU since its last reading, else every PGB_MEM_IDLE_MS;
 *	  of active sessions every PGB_MEM_BUDGET_MS for classes with a
 *	  budget, every tick while the server is past its mark, and every
 *	  tick it ran for one holding a PGB_MEM_WATCH_SHARE-th of the limit
 *	  (its steps: mem_guard.h); and the guard, which cancels the query that
 *	  gives way (mem_guard.c decides, act.c signals).  Worker-local state
 *	  but for the atomics of memory.h; locking rules there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/proc.h"
#include "storage/shmem.h"

#include "act.h"
#include "cgroup_fs.h"
#include "cgroup_math.h"
#include "compat.h"
#include "events.h"
#include "guc.h"
#include "mem_files.h"
#include "mem_guard.h"
#include "memory.h"
#include "policy_math.h"
#include "shmem.h"

/* Sessions of classes with a budget are read this often (ms). */
#define PGB_MEM_BUDGET_MS		100

/* Sessions seen on CPU are read this often for the views (ms). */
#define PGB_MEM_VIEW_MS			1000

/*
 * An active session holding at least this share of the limit (1/16: 64
 * MB of 1 GB) is read every tick the sampler saw it on CPU, so that its
 * steps (mem_guard.h) are seen to the tick: at most 16 sessions can hold
 * that much.  A smaller one's next step is under an eighth of the limit;
 * it can pass the last-resort mark only from past the early mark, where
 * every active session is read every tick anyway.
 */
#define PGB_MEM_WATCH_SHARE		16

/* Any other session's memory is read again after this long (ms). */
#define PGB_MEM_IDLE_MS			10000

/*
 * A cancelled query's memory counts as on the way back (nobody else is
 * cancelled for it) until its statement ends, or for this long (ms): a
 * hash table being doubled when the cancel comes is copied to its end
 * first, which took up to 1.1 s in bench/memory.sh.
 */
#define PGB_MEM_RETURN_MS		2000

/* Where the v1 and v2 hierarchies are mounted. */
#define CGROUP_V1_MEMORY		"/sys/fs/cgroup/memory"
#define CGROUP_V2				"/sys/fs/cgroup"

typedef struct PgbMemProc
{
	pg_atomic_uint32 pid;		/* the session the bytes are of; 0: none */
	pg_atomic_uint64 bytes;
} PgbMemProc;

typedef struct PgbMemShared
{
	pg_atomic_uint64 use;		/* the server's use, bytes; 0: unknown */
	pg_atomic_uint64 limit;		/* its limit, bytes; 0: unknown */
	pg_atomic_uint64 entry_bytes[PGB_MAX_SHARED_CLASSES];
	int			nprocs;
	PgbMemProc	procs[FLEXIBLE_ARRAY_MEMBER];
} PgbMemShared;

static PgbMemShared *pgb_mem = NULL;

/* Where the use is read from (worker-local). */
typedef enum MemSource
{
	MEM_NONE = 0,				/* the guard is off: no file to read */
	MEM_CGROUP_V1,
	MEM_CGROUP_V2,
	MEM_MACHINE					/* /proc/meminfo */
} MemSource;

static MemSource source = MEM_NONE;
static char usage_file[PGB_CGROUP_PATH_LEN];
static char stat_file[PGB_CGROUP_PATH_LEN];
static uint64 limit_bytes = 0;
static double logged_guard = -1.0;	/* pg_budget.memory_guard when last said */
static char limit_how[PGB_CGROUP_PATH_LEN + 128];

/* The worker's readings, by procno. */
typedef struct MemRow
{
	int			pid;			/* whose bytes these are */
	uint64		bytes;
	int64		read_ms;		/* when they were read */
	bool		read_active;	/* read while its statement ran */
	uint64		idle_bytes;		/* last read while idle; 0: never */
	int64		cancelled_spell;	/* the active spell (its start) a cancel
									 * was sent in, or 0 */
	int64		cancelled_ms;	/* when */
	bool		cancel_open;	/* not seen out of that statement since */
	int64		warned_spell;	/* the active spell a cancel was counted in
								 * as a warning (warn mode), or 0 */
	int64		steps_spell;	/* the active spell the steps are of, or 0 */
	PgbMemSteps steps;			/* its readings in that spell */
} MemRow;

static MemRow *rows = NULL;
/* The most each entry's sessions held at a reading since the last frame. */
static uint64 entry_peak[PGB_MAX_SHARED_CLASSES];
static int	nrows = 0;
static uint64 page_size = 4096;
static int64 last_view_ms = 0;
static int64 last_budget_ms = 0;

/* The least an idle session held at the last readings (0: none read). */
static uint64 idle_floor = 0;

/* Active sessions watched (past the watch share) at the last readings. */
static int	nwatched = 0;

/*
 * How fast the server's use grows: a moving average over
 * PGB_MEM_RATE_WINDOW_MS of its change from tick to tick (bytes/s).
 */
#define PGB_MEM_RATE_WINDOW_MS	100
static double use_rate = 0;
static uint64 rate_use = 0;
static int64 rate_ms = 0;

static int
mem_nprocs(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS;
}

static Size
mem_shmem_size(void)
{
	return add_size(offsetof(PgbMemShared, procs),
					mul_size(mem_nprocs(), sizeof(PgbMemProc)));
}

/* Called with AddinShmemInitLock held (shmem.c). */
static void
mem_shmem_startup(bool first pg_attribute_unused())
{
	bool		found;
	int			i;

	pgb_mem = ShmemInitStruct("pg_budget memory", mem_shmem_size(), &found);
	if (found)
		return;
	pgb_mem->nprocs = mem_nprocs();
	pg_atomic_init_u64(&pgb_mem->use, 0);
	pg_atomic_init_u64(&pgb_mem->limit, 0);
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
		pg_atomic_init_u64(&pgb_mem->entry_bytes[i], 0);
	for (i = 0; i < pgb_mem->nprocs; i++)
	{
		pg_atomic_init_u32(&pgb_mem->procs[i].pid, 0);
		pg_atomic_init_u64(&pgb_mem->procs[i].bytes, 0);
	}
}

static const PgbShmemPart mem_shmem_part = {
	.size = mem_shmem_size,
	.startup = mem_shmem_startup,
};

void
pgb_memory_init(void)
{
	pgb_shmem_register(&mem_shmem_part);
}

/* Megabytes, for messages. */
static double
mb(uint64 bytes)
{
	return (double) bytes / (1024.0 * 1024.0);
}

/* The parent of a cgroup path ("/a/b" -> "/a", "/a" -> "/"); false at "/". */
static bool
parent_path(char *path)
{
	char	   *slash = strrchr(path, '/');

	if (slash == NULL || (slash == path && path[1] == '\0'))
		return false;
	if (slash == path)
		slash[1] = '\0';
	else
		*slash = '\0';
	return true;
}

/*
 * The lowest memory limit on the server's cgroup and its ancestors, and
 * the directory that sets it.  False if the controller's files are not
 * there (the hierarchy is not mounted where expected) or nothing limits.
 */
static bool
find_cgroup_limit(bool v2, const char *path, uint64 *limit, char *dir,
				  size_t dirlen, char *missing, size_t missinglen)
{
	char		p[PGB_CGROUP_PATH_LEN];
	bool		any_file = false;

	*limit = PGB_MEM_UNLIMITED;
	strlcpy(p, path, sizeof(p));
	for (;;)
	{
		char		d[PGB_CGROUP_PATH_LEN];
		char		f[PGB_CGROUP_PATH_LEN + 32];
		char		buf[64];
		uint64		v;

		snprintf(d, sizeof(d), "%s%s", v2 ? CGROUP_V2 : CGROUP_V1_MEMORY,
				 strcmp(p, "/") == 0 ? "" : p);
		snprintf(f, sizeof(f), "%s/%s", d, v2 ? "memory.max" : "memory.limit_in_bytes");
		if (pgb_cgroup_read(f, buf, sizeof(buf)) && pgb_mem_limit_value(buf, &v))
		{
			any_file = true;
			if (v < *limit)
			{
				*limit = v;
				strlcpy(dir, d, dirlen);
			}
		}
		else if (!any_file)
			strlcpy(missing, f, missinglen);
		if (!parent_path(p))
			break;
	}
	return any_file && *limit != PGB_MEM_UNLIMITED;
}

/* The machine's memory from /proc/meminfo (total and what is in use). */
static bool
read_machine(uint64 *total, uint64 *use)
{
	char		buf[4096];
	uint64		t;
	uint64		avail;

	if (!pgb_cgroup_read("/proc/meminfo", buf, sizeof(buf)) ||
		!pgb_mem_keyed_value(buf, "MemTotal", &t) ||
		!pgb_mem_keyed_value(buf, "MemAvailable", &avail))
		return false;
	*total = t * 1024;
	*use = t > avail ? (t - avail) * 1024 : 0;
	return true;
}

/* The server's use now, as the OOM killer will count it; false if unread. */
static bool
read_use(uint64 *use)
{
	char		buf[64];
	char		stat[8192];
	uint64		usage;
	uint64		inactive = 0;
	uint64		total;

	switch (source)
	{
		case MEM_NONE:
			return false;
		case MEM_MACHINE:
			return read_machine(&total, use);
		case MEM_CGROUP_V1:
		case MEM_CGROUP_V2:
			if (!pgb_cgroup_read(usage_file, buf, sizeof(buf)) ||
				!pgb_mem_limit_value(buf, &usage))
				return false;
			/* page cache the kernel drops before it kills anyone */
			if (pgb_cgroup_read(stat_file, stat, sizeof(stat)))
				(void) pgb_mem_keyed_value(stat, source == MEM_CGROUP_V1 ?
										   "total_inactive_file" : "inactive_file",
										   &inactive);
			*use = pgb_mem_working_set(usage, inactive);
			return true;
	}
	return false;
}

void
pgb_memory_reload(bool at_start)
{
	char		procfile[64];
	char		content[4096];
	char		path[PGB_CGROUP_PATH_LEN];
	char		dir[PGB_CGROUP_PATH_LEN];
	char		missing[PGB_CGROUP_PATH_LEN + 32] = "";
	char		how[sizeof(limit_how)];
	MemSource	was = source;
	uint64		was_limit = limit_bytes;
	uint64		cg_limit = 0;
	uint64		total = 0;
	uint64		use;
	bool		v2 = false;
	long		ps = sysconf(_SC_PAGESIZE);

	if (ps > 0)
		page_size = (uint64) ps;
	source = MEM_NONE;
	how[0] = '\0';

	snprintf(procfile, sizeof(procfile), "/proc/%d/cgroup", (int) PostmasterPid);
	if (pgb_cgroup_read(procfile, content, sizeof(content)) &&
		pgb_cgroup_memory_path(content, path, sizeof(path), &v2) &&
		find_cgroup_limit(v2, path, &cg_limit, dir, sizeof(dir),
						  missing, sizeof(missing)))
	{
		snprintf(usage_file, sizeof(usage_file), "%s/%s", dir,
				 v2 ? "memory.current" : "memory.usage_in_bytes");
		snprintf(stat_file, sizeof(stat_file), "%s/memory.stat", dir);
		source = v2 ? MEM_CGROUP_V2 : MEM_CGROUP_V1;
		snprintf(how, sizeof(how), "cgroup %s %s of %s", v2 ? "v2" : "v1",
				 v2 ? "memory.max" : "memory.limit_in_bytes", dir);
		if (!read_use(&use))
		{
			strlcpy(missing, usage_file, sizeof(missing));
			source = MEM_NONE;
		}
	}
	if (source == MEM_NONE && read_machine(&total, &use))
	{
		source = MEM_MACHINE;
		cg_limit = total;
		snprintf(how, sizeof(how), "the machine's memory (/proc/meminfo)%s%s",
				 missing[0] ? ": no memory limit read from " : "",
				 missing);
	}
	if (source == MEM_NONE)
	{
		limit_bytes = 0;
		if (at_start || was != MEM_NONE)
			ereport(WARNING,
					(errmsg("pg_budget: the memory guard is off: neither a cgroup's memory files nor /proc/meminfo could be read"),
					 errdetail("Missing: %s.", missing[0] ? missing : "/proc/meminfo")));
		pg_atomic_write_u64(&pgb_mem->limit, 0);
		return;
	}
	if (pgb_memory_limit > 0)
	{
		limit_bytes = pgb_memory_limit;
		snprintf(limit_how, sizeof(limit_how), "pg_budget.memory_limit (use read from %s)", how);
	}
	else
	{
		limit_bytes = cg_limit;
		strlcpy(limit_how, how, sizeof(limit_how));
	}
	pg_atomic_write_u64(&pgb_mem->limit, limit_bytes);
	/* said at start, and again when the limit, its source or the guard changed */
	if (at_start || was != source || was_limit != limit_bytes ||
		logged_guard != pgb_memory_guard)
	{
		uint64		mark;
		uint64		last;

		logged_guard = pgb_memory_guard;
		pgb_mem_marks(limit_bytes, pgb_memory_guard, &mark, &last);
		if (pgb_memory_guard > 0)
			ereport(LOG,
					(errmsg("pg_budget: memory limit %.0f MB, from %s; the guard cancels queries past %.0f MB (%.0f%%), any class's past %.0f MB",
							mb(limit_bytes), limit_how, mb(mark),
							pgb_memory_guard * 100.0, mb(last))));
		else
			ereport(LOG,
					(errmsg("pg_budget: memory limit %.0f MB, from %s; the guard is off (pg_budget.memory_guard = 0)",
							mb(limit_bytes), limit_how)));
	}
}

/*
 * Read one session's private memory into its row; false if it is gone.
 * spell: the start of its active spell (its steps are that statement's).
 */
static bool
read_session(int procno, int pid, bool active, int64 spell, int64 now_ms)
{
	char		path[64];
	char		buf[256];
	uint64		bytes;

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (!pgb_cgroup_read(path, buf, sizeof(buf)) ||
		!pgb_statm_private_bytes(buf, page_size, &bytes))
		return false;
	if (rows[procno].pid != pid)
	{
		rows[procno].cancelled_spell = 0;
		rows[procno].cancel_open = false;
		rows[procno].warned_spell = 0;
		rows[procno].idle_bytes = 0;
		rows[procno].steps_spell = 0;
	}
	rows[procno].pid = pid;
	rows[procno].bytes = bytes;
	if (!active)
		rows[procno].idle_bytes = bytes;
	if (!active || rows[procno].steps_spell != spell)
	{
		pgb_mem_steps_reset(&rows[procno].steps);
		rows[procno].steps_spell = active ? spell : 0;
	}
	if (active)
		pgb_mem_steps_note(&rows[procno].steps, bytes, now_ms);
	rows[procno].read_ms = now_ms;
	rows[procno].read_active = active;
	pg_atomic_write_u32(&pgb_mem->procs[procno].pid, (uint32) pid);
	pg_atomic_write_u64(&pgb_mem->procs[procno].bytes, bytes);
	return true;
}

/* The class of an entry in the table, or NULL. */
static const PgbClass *
class_of_entry(const PgbSnapshot *snap, const PgbClassTable *table, int entry)
{
	int			i;

	for (i = 0; i < table->nclasses; i++)
		if (snap->map[i] == entry)
			return &table->classes[i];
	return NULL;
}

/*
 * Cancel one session's query for memory; count it in its class's sheds.
 * With warn (its class is in warn mode), the cancel is counted and
 * recorded once per statement instead, and nothing is on the way back.
 */
static void
cancel(const PgbSnapshot *snap, const PgbMemSession *s, int procno,
	   const char *message, const char *reason, bool even_exempt,
	   bool dry_run, bool warn)
{
	int64		spell = snap->rows[procno].state_since_ms;

	if (warn && !dry_run)
	{
		if (rows[procno].warned_spell == spell)
			return;
		if (pgb_act_cancel_for_memory(procno, s->pid, false, true, even_exempt,
									  message, reason))
			rows[procno].warned_spell = spell;
		return;
	}
	if (pgb_act_cancel_for_memory(procno, s->pid, dry_run, false, even_exempt,
								  message, reason) && !dry_run)
	{
		rows[procno].cancelled_spell = snap->rows[procno].state_since_ms;
		rows[procno].cancelled_ms = snap->now_ms;
		rows[procno].cancel_open = true;
	}
}

int
pgb_memory_quiet_ms(int64 now_ms)
{
	int64		due;

	if (source == MEM_NONE || pgb_mem == NULL ||
		!(pgb_memory_guard > 0) || limit_bytes == 0)
		return -1;
	if (nwatched > 0 || rate_ms == 0)
		return 0;
	/* pgb_memory_tick reads the use again once this gap has passed */
	due = rate_ms + pgb_mem_use_gap_ms(rate_use, limit_bytes, pgb_memory_guard);
	return due > now_ms ? (int) Min(due - now_ms, PG_INT32_MAX) : 0;
}

void
pgb_memory_tick(PgbSnapshot *snap, const PgbClassTable *table)
{
	PgbMemSession *sess;
	int		   *procnos;
	uint64		class_limit[PGB_MAX_SHARED_CLASSES];
	uint64		session_limit[PGB_MAX_SHARED_CLASSES];
	uint64		sums[PGB_MAX_SHARED_CLASSES];
	const PgbClass *classes[PGB_MAX_SHARED_CLASSES];
	PgbMemBudgetVictim victims[8];
	uint64		use = 0;
	PgbMemLevel level;
	bool		budgets = false;
	bool		view_due;
	bool		budget_due;
	bool		watch_only;
	bool		guard_on;
	bool		chosen = false;
	uint64		watch_bytes;
	uint64		returning;
	int			watched = 0;
	bool		dry_run;
	uint64		floor_now = 0;
	int			n = 0;
	int			nv;
	int			e;
	int			i;

	if (source == MEM_NONE || pgb_mem == NULL)
		return;
	if (rows == NULL || nrows != snap->nrows)
	{
		rows = MemoryContextAllocZero(TopMemoryContext, sizeof(MemRow) * snap->nrows);
		nrows = snap->nrows;
	}
	if (rate_ms > 0 && snap->now_ms >= rate_ms && nwatched == 0 &&
		snap->now_ms - rate_ms < pgb_mem_use_gap_ms(rate_use, limit_bytes,
													 pgb_memory_guard))
		use = rate_use;			/* far under the mark, no doubling grower
								 * watched: the last reading */
	else if (read_use(&use))
	{
		pg_atomic_write_u64(&pgb_mem->use, use);
		if (rate_ms > 0 && snap->now_ms > rate_ms)
		{
			double		dt = (double) (snap->now_ms - rate_ms);

			use_rate = pgb_ema(use_rate,
							   ((double) use - (double) rate_use) * 1000.0 / dt,
							   dt, PGB_MEM_RATE_WINDOW_MS);
		}
		rate_use = use;
		rate_ms = snap->now_ms;
	}
	level = pgb_mem_level(use, limit_bytes, pgb_memory_guard);
	snap->mem_pressure = level != PGB_MEM_CALM;
	/* on course to the limit: read the sessions as past the mark */
	if (level == PGB_MEM_CALM &&
		pgb_mem_decide(use, 0, use_rate, limit_bytes, pgb_memory_guard) == PGB_MEM_EARLY)
		level = PGB_MEM_EARLY;
	/*
	 * The guard judges rows a full walk read: on a light tick (sampler.c) a
	 * settled session that has since started a query still reads idle.
	 * Past the mark, the next tick reads every row, and the guard judges
	 * then: one tick later at the first crossing.
	 */
	snap->mem_full_walk = level != PGB_MEM_CALM;
	if (level != PGB_MEM_CALM && !snap->full_walk)
		return;

	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		classes[e] = class_of_entry(snap, table, e);
		class_limit[e] = classes[e] ? (uint64) classes[e]->mem : 0;
		session_limit[e] = classes[e] ? (uint64) classes[e]->session_mem : 0;
		if (class_limit[e] > 0 || session_limit[e] > 0)
			budgets = true;
	}
	view_due = snap->now_ms - last_view_ms >= PGB_MEM_VIEW_MS;
	budget_due = budgets && snap->now_ms - last_budget_ms >= PGB_MEM_BUDGET_MS;
	guard_on = pgb_memory_guard > 0 && limit_bytes > 0;
	watch_bytes = limit_bytes / PGB_MEM_WATCH_SHARE;
	/* nothing else due: the watched sessions alone, if any ran */
	watch_only = level == PGB_MEM_CALM && !view_due && !budget_due;
	if (watch_only && !(guard_on && nwatched > 0 && snap->running > 0))
		return;

	/*
	 * Read the sessions that may have grown or given memory back.  Past
	 * the mark or at a budget's turn (of its class alone), every active
	 * one, whose query a cancel frees.  Those read while their statement
	 * ran, once it ended (or ran on, on CPU or in a new state): the memory
	 * it gave back (a cancelled query's above all) must not count in its
	 * class's sum until the next idle reading, PGB_MEM_IDLE_MS later.  For
	 * the views, those the sampler saw on CPU since their last reading (a
	 * session asleep, waiting on a lock or for its client grows nothing),
	 * and the others now and then.
	 */
	sess = palloc(sizeof(PgbMemSession) * snap->nrows);
	procnos = palloc(sizeof(int) * snap->nrows);
	for (i = 0; i < snap->nrows; i++)
	{
		const PgbSessionRow *r = &snap->rows[i];
		bool		active = r->state == PGB_STATE_ACTIVE;
		bool		fresh;
		bool		due;
		const PgbClass *c;

		if (r->pid == 0 || !r->judged || r->entry >= PGB_MAX_SHARED_CLASSES)
		{
			if (rows[i].pid != 0)
			{
				rows[i].pid = 0;
				pg_atomic_write_u32(&pgb_mem->procs[i].pid, 0);
			}
			continue;
		}
		/* at a budget's turn alone, only the classes with a budget */
		due = level != PGB_MEM_CALM ||
			(budget_due && (class_limit[r->entry] > 0 || session_limit[r->entry] > 0));
		if (watch_only)
		{
			/* one holding much that ran: its steps */
			if (rows[i].pid == r->pid && active &&
				rows[i].bytes >= watch_bytes && r->ran_ms > rows[i].read_ms)
				(void) read_session(i, r->pid, active, r->state_since_ms,
									snap->now_ms);
			fresh = rows[i].pid == r->pid;
		}
		else if (rows[i].pid != r->pid)
			fresh = read_session(i, r->pid, active, r->state_since_ms,
								 snap->now_ms);
		else if ((active && due) ||
				 (rows[i].read_active &&
				  (!active || r->ran_ms > rows[i].read_ms ||
				   r->state_since_ms > rows[i].read_ms)) ||
				 (view_due && (r->ran_ms > rows[i].read_ms ||
							   snap->now_ms - rows[i].read_ms >= PGB_MEM_IDLE_MS)))
			/* a reading that fails keeps the last one: it is still there */
			fresh = read_session(i, r->pid, active, r->state_since_ms,
								 snap->now_ms) ||
				rows[i].pid == r->pid;
		else
			fresh = true;
		if (!fresh)
			continue;
		/* out of the statement it was cancelled in: its memory is back */
		if (!active)
			rows[i].cancel_open = false;
		c = classes[r->entry];
		sess[n].pid = r->pid;
		sess[n].entry = r->entry;
		sess[n].priority = c ? c->priority : INT_MAX;
		sess[n].sheddable = c != NULL && c->shed != PGB_SHED_NEVER;
		sess[n].exempt = r->exempt;
		sess[n].active = active;
		sess[n].cancelled = active && rows[i].cancelled_spell != 0 &&
			(rows[i].cancelled_spell == r->state_since_ms ||
			 rows[i].cancel_open) &&
			snap->now_ms - rows[i].cancelled_ms < PGB_MEM_RETURN_MS;
		sess[n].bytes = rows[i].bytes;
		/* never seen idle: as much as the least idle session holds */
		sess[n].idle_bytes = rows[i].idle_bytes > 0 ? rows[i].idle_bytes : idle_floor;
		sess[n].next_step = active && rows[i].steps_spell == r->state_since_ms ?
			pgb_mem_steps_next(&rows[i].steps) : 0;
		if (active && rows[i].bytes >= watch_bytes)
			watched++;
		if (rows[i].idle_bytes > 0 &&
			(floor_now == 0 || rows[i].idle_bytes < floor_now))
			floor_now = rows[i].idle_bytes;
		procnos[n] = i;
		n++;
	}
	nwatched = watched;
	if (floor_now > 0)
		idle_floor = floor_now;
	if (view_due)
		last_view_ms = snap->now_ms;
	if (budget_due)
		last_budget_ms = snap->now_ms;

	/* the budgets at their turn (or the guard's), not at a watch's */
	nv = pgb_mem_budget_victims(sess, n, class_limit, session_limit, sums,
								PGB_MAX_SHARED_CLASSES, victims, lengthof(victims));
	if (watch_only)
		nv = 0;
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		pg_atomic_write_u64(&pgb_mem->entry_bytes[e], sums[e]);
		if (sums[e] > entry_peak[e])
			entry_peak[e] = sums[e];
	}

	/* pg_budget.enabled and pg_budget.shedding: observe only, or dry run */
	if (!pgb_enabled || pgb_shedding == PGB_SHEDDING_OFF)
		return;
	dry_run = pgb_shedding == PGB_SHEDDING_DRY_RUN;

	for (i = 0; i < nv; i++)
	{
		const PgbMemSession *s = &sess[victims[i].index];
		const PgbClass *c = classes[s->entry];
		char		message[PGB_REASON_LEN];
		char		reason[PGB_REASON_LEN];

		if (c == NULL)
			continue;
		if (victims[i].reason == PGB_MEM_OVER_SESSION)
		{
			snprintf(message, sizeof(message),
					 "pg_budget: query cancelled: the session holds more than session_mem of class \"%s\"",
					 c->name);
			snprintf(reason, sizeof(reason),
					 "memory: the session held %.0f MB, past session_mem=%.0f MB of class \"%s\"",
					 mb(s->bytes), mb(session_limit[s->entry]), c->name);
		}
		else
		{
			snprintf(message, sizeof(message),
					 "pg_budget: query cancelled: class \"%s\" holds more than its mem budget",
					 c->name);
			snprintf(reason, sizeof(reason),
					 "memory: class \"%s\" held %.0f MB, past mem=%.0f MB; the session, its largest, %.0f MB",
					 c->name, mb(sums[s->entry]), mb(class_limit[s->entry]), mb(s->bytes));
		}
		cancel(snap, s, procnos[victims[i].index], message, reason, false,
			   dry_run, c->warn);
	}

	returning = pgb_mem_returning(sess, n);
	if (level != PGB_MEM_CALM)
	{
		/* past the mark even once what is on the way back is back, or early */
		int			v;

		level = pgb_mem_decide(use, returning, use_rate, limit_bytes,
							   pgb_memory_guard);
		v = pgb_mem_guard_victim(sess, n, level);
		if (v >= 0)
		{
			const PgbMemSession *s = &sess[v];
			const PgbClass *c = classes[s->entry];
			const char *name = c ? c->name : "(removed)";
			char		message[PGB_REASON_LEN];
			char		reason[PGB_REASON_LEN];
			uint64		mark;
			uint64		last;

			pgb_mem_marks(limit_bytes, pgb_memory_guard, &mark, &last);
			if (level == PGB_MEM_EARLY)
				snprintf(message, sizeof(message),
						 "pg_budget: query of class \"%s\" cancelled: the server's memory, past %.0f MB and growing %.0f MB/s, would reach its limit (%.0f MB) within %d s",
						 name, mb(pgb_mem_early_mark(limit_bytes, pgb_memory_guard)),
						 mb((uint64) use_rate), mb(limit_bytes), PGB_MEM_HORIZON_MS / 1000);
			else
				snprintf(message, sizeof(message),
						 "pg_budget: query of class \"%s\" cancelled: the server's memory is past %s (%.0f MB)",
						 name, level == PGB_MEM_LAST_RESORT ? "its last-resort mark" :
						 "pg_budget.memory_guard", mb(level == PGB_MEM_LAST_RESORT ? last : mark));
			if (returning > 0)
				snprintf(reason, sizeof(reason),
						 "memory: the session held %.0f MB; the server used %.0f MB of its %.0f MB limit, %.0f MB of it on the way back from cancelled queries",
						 mb(s->bytes), mb(use), mb(limit_bytes), mb(returning));
			else
				snprintf(reason, sizeof(reason),
						 "memory: the session held %.0f MB; the server used %.0f MB of its %.0f MB limit",
						 mb(s->bytes), mb(use), mb(limit_bytes));
			/*
			 * A class in warn mode is judged as any, and its query is
			 * left alone; past the last-resort mark it is cancelled
			 * whatever its class or mode: that protects the server, and
			 * every session of every class, from a crash restart.
			 */
			cancel(snap, s, procnos[v], message, reason,
				   level == PGB_MEM_LAST_RESORT, dry_run,
				   c != NULL && c->warn && level != PGB_MEM_LAST_RESORT);
			chosen = true;
		}
	}

	/* a query growing by doublings, before a step it could not stop in */
	if (!chosen && guard_on)
	{
		int			v = pgb_mem_step_victim(sess, n, use, returning,
											limit_bytes, pgb_memory_guard);

		if (v >= 0)
		{
			const PgbMemSession *s = &sess[v];
			const PgbClass *c = classes[s->entry];
			const char *name = c ? c->name : "(removed)";
			char		message[PGB_REASON_LEN];
			char		reason[PGB_REASON_LEN];
			uint64		mark;
			uint64		last;
			uint64		now = use > returning ? use - returning : 0;
			bool		past_last;

			pgb_mem_marks(limit_bytes, pgb_memory_guard, &mark, &last);
			/* the mark it would pass: the guard's, or the last resort's */
			past_last = now + s->next_step >= last;
			if (!past_last)
				last = mark;
			/* both within PGB_REASON_LEN */
			snprintf(message, sizeof(message),
					 "pg_budget: query of class \"%s\" cancelled: it grows by doublings; its next, %.0f MB, would take the server past %.0f MB",
					 name, mb(s->next_step), mb(last));
			snprintf(reason, sizeof(reason),
					 "memory: the session held %.0f MB, growing by doublings; its next, %.0f MB, with the server at %.0f of %.0f MB, would pass %.0f MB",
					 mb(s->bytes), mb(s->next_step), mb(now),
					 mb(limit_bytes), mb(last));
			/* past the last resort warn mode yields, as for the marks */
			cancel(snap, s, procnos[v], message, reason, s->exempt, dry_run,
				   c != NULL && c->warn && !past_last);
		}
	}
}

uint64
pgb_memory_entry_bytes(int entry)
{
	if (pgb_mem == NULL || entry < 0 || entry >= PGB_MAX_SHARED_CLASSES)
		return 0;
	return pg_atomic_read_u64(&pgb_mem->entry_bytes[entry]);
}

uint64
pgb_memory_entry_peak(int entry)
{
	uint64		peak;
	uint64		now = pgb_memory_entry_bytes(entry);

	if (entry < 0 || entry >= PGB_MAX_SHARED_CLASSES)
		return 0;
	peak = Max(entry_peak[entry], now);
	entry_peak[entry] = 0;
	return peak;
}

bool
pgb_memory_session_bytes(int procno, int pid, uint64 *bytes)
{
	if (pgb_mem == NULL || procno < 0 || procno >= pgb_mem->nprocs ||
		pg_atomic_read_u32(&pgb_mem->procs[procno].pid) != (uint32) pid)
		return false;
	*bytes = pg_atomic_read_u64(&pgb_mem->procs[procno].bytes);
	/* the pid again: the bytes were not of a session that came after */
	return pg_atomic_read_u32(&pgb_mem->procs[procno].pid) == (uint32) pid;
}

void
pgb_memory_server(uint64 *use, uint64 *limit)
{
	*use = pgb_mem ? pg_atomic_read_u64(&pgb_mem->use) : 0;
	*limit = pgb_mem ? pg_atomic_read_u64(&pgb_mem->limit) : 0;
}
