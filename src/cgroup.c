/*-------------------------------------------------------------------------
 *
 * cgroup.c
 *	  CPU weights by class, through the kernel: sets up pg_budget.cgroup
 *	  at start (the postmaster, once the class table is known) and at each
 *	  reload (the worker, so that no login waits on it), moves each
 *	  admitted client backend into its class's cgroup, moves the holders
 *	  of the worker's CPU boosts (boost_math.h) there and back, and shows
 *	  what is in force and where each session is.
 *
 * The file work is cgroup_fs.c's and runs under no lock; what is in force
 * is published in pgb_shared->cpu under the main lock (rules in shmem.h).
 * A directory that is missing, unwritable or without the cpu controller,
 * or a write that fails, is a WARNING naming the path and the reason;
 * pg_budget then goes on without CPU weights (for the class, or for all)
 * and refuses no login for it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "boost_math.h"
#include "cgroup_fs.h"
#include "cgroup_math.h"
#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "visibility.h"
#include "events.h"
#include "cgroup.h"
#include "sampler.h"

PG_FUNCTION_INFO_V1(pg_budget_cpu);
PG_FUNCTION_INFO_V1(pg_budget_backend_cgroups);

static void unboost_all(void);

/* What the postmaster set up at start, and for which settings. */
static PgbCpuState start_state;
static char *start_classes = NULL;
static char *start_default = NULL;

/*
 * The server's processes are in its leaf: set by whoever set it up (the
 * postmaster at start, or the worker at a reload) and inherited by the
 * processes the postmaster forks afterwards.
 */
static bool server_placed = false;

static bool
cgroup_configured(void)
{
	return pgb_cgroup != NULL && pgb_cgroup[0] != '\0';
}

static void
report_left(void *arg, const char *msg)
{
	int			elevel = *(int *) arg;

	ereport(elevel == WARNING ? LOG : elevel,
			(errmsg("pg_budget: %s", msg),
			 errdetail("It is removed at the next reload or start once its sessions are gone.")));
}

/*
 * Set up pg_budget.cgroup for table: the server's leaf (once), a directory
 * and weight per class, the directories of removed classes gone.  What
 * ends in force is put in *state.  Failures are reported at elevel.
 */
static void
sync_cgroups(const PgbClassTable *table, PgbCpuState *state, int server_pid,
			 int elevel)
{
	char		err[PGB_CGROUP_PATH_LEN + 256];
	PgbCgroupVersion version;
	StringInfoData summary;
	int			i;

	memset(state, 0, sizeof(*state));
	if (!cgroup_configured())
		return;

	version = pgb_cgroup_detect(pgb_cgroup, err, sizeof(err));
	if (version == PGB_CGROUP_NONE)
	{
		ereport(elevel,
				(errmsg("pg_budget: no CPU weights: %s", err),
				 errdetail("pg_budget goes on without CPU weights; no login is refused for it."),
				 errhint("Make pg_budget.cgroup a cgroup directory the server's OS user owns, then reload.")));
		return;
	}
	if (!server_placed)
	{
		if (!pgb_cgroup_setup_server(pgb_cgroup, version, server_pid,
									 err, sizeof(err)))
		{
			ereport(elevel,
					(errmsg("pg_budget: no CPU weights: %s", err),
					 errdetail("pg_budget goes on without CPU weights; no login is refused for it.")));
			return;
		}
		server_placed = true;
	}

	initStringInfo(&summary);
	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		PgbCpuClass *in_force;

		if (!pgb_cgroup_setup_class(pgb_cgroup, version, c, err, sizeof(err)))
		{
			ereport(elevel,
					(errmsg("pg_budget: no CPU weight for class \"%s\": %s",
							c->name, err),
					 errdetail("Its sessions stay in the server's cgroup; no login is refused for it.")));
			continue;
		}
		in_force = &state->classes[state->nclasses++];
		strlcpy(in_force->name, c->name, sizeof(in_force->name));
		in_force->weight = c->cpu_weight;
		in_force->idle = c->cpu_idle;
		if (c->cpu_idle)
			appendStringInfo(&summary, "%s%s idle", summary.len ? ", " : "", c->name);
		else
			appendStringInfo(&summary, "%s%s %d", summary.len ? ", " : "",
							 c->name, c->cpu_weight);
	}
	(void) pgb_cgroup_remove_stale(pgb_cgroup, table, report_left, &elevel);
	state->version = version;
	state->cpu_source = pgb_cgroup_cpu_source(pgb_cgroup, version);
	if (elevel >= LOG)
		ereport(LOG,
				(errmsg("pg_budget: CPU weights in force under \"%s\" (cgroup %s): %s; CPU time by class from %s",
						pgb_cgroup, pgb_cgroup_version_name(version),
						summary.len ? summary.data : "no class",
						pgb_cpu_source_name(state->cpu_source))));
	pfree(summary.data);
}

/* Has name its weight in force in state? */
static bool
state_has(const PgbCpuState *state, const char *name)
{
	int			i;

	if (state->version == PGB_CGROUP_NONE)
		return false;
	for (i = 0; i < state->nclasses; i++)
		if (strcmp(state->classes[i].name, name) == 0)
			return true;
	return false;
}

static void
publish(const PgbCpuState *state)
{
	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	memcpy(&pgb_shared->cpu, state, sizeof(PgbCpuState));
	LWLockRelease(pgb_shared->lock);
}

/*
 * Shared memory is being made (postmaster): what start set up is in force.
 * The state lives in the main struct; made anew (first), it is start's.
 */
static void
cgroup_shmem_startup(bool first)
{
	if (first)
		memcpy(&pgb_shared->cpu, &start_state, sizeof(PgbCpuState));
}

static const PgbShmemPart cgroup_shmem_part = {
	.startup = cgroup_shmem_startup,
};

/*
 * At start, in the postmaster: its children, forked later, start in the
 * server's leaf.  A crash restart does not come here again: the tree is
 * left as it is and the worker's next start puts it in step.
 */
void
pgb_cgroup_init(void)
{
	pgb_shmem_register(&cgroup_shmem_part);
	if (IsUnderPostmaster || !IsPostmasterEnvironment || !cgroup_configured())
		return;
	sync_cgroups(pgb_current_table(NULL), &start_state, (int) getpid(), WARNING);
	start_classes = MemoryContextStrdup(TopMemoryContext,
										GetConfigOption("pg_budget.classes", false, false));
	start_default = MemoryContextStrdup(TopMemoryContext,
										GetConfigOption("pg_budget.default_class", false, false));
}

/*
 * The worker starts (after the server's start, a crash restart, or its
 * own exit): the tree is put in step with the table.  When the table is
 * the one the postmaster set up at start, that was said already: failures
 * are not said twice.
 */
void
pgb_cgroup_worker_start(void)
{
	PgbCpuState state;
	bool		as_started;

	if (!cgroup_configured())
		return;
	as_started = start_classes != NULL && start_default != NULL &&
		strcmp(start_classes, GetConfigOption("pg_budget.classes", false, false)) == 0 &&
		strcmp(start_default, GetConfigOption("pg_budget.default_class", false, false)) == 0;
	sync_cgroups(pgb_current_table(NULL), &state, PostmasterPid,
				 as_started ? DEBUG1 : WARNING);
	publish(&state);
	unboost_all();
}

/*
 * The sessions of classes whose weight came into force at this reload (a
 * class added, a directory fixed) were admitted before their cgroup was
 * there: the worker moves them in.  Slots are copied under the shared
 * lock, the moves made after it is released.
 */
static void
move_sessions(const PgbCpuState *before, const PgbCpuState *now)
{
	int		   *pids;
	char	  (*names)[NAMEDATALEN];
	int			n = 0;
	int			moved = 0;
	int			i;

	if (now->version == PGB_CGROUP_NONE)
		return;
	pids = palloc(sizeof(int) * pgb_shared->nslots);
	names = palloc(NAMEDATALEN * pgb_shared->nslots);
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < pgb_shared->nslots; i++)
	{
		PgbBackendSlot *slot = &pgb_shared->slots[i];
		const char *name;

		/* a boosted session goes home when its boost ends */
		if (slot->pid == 0 || slot->walsender ||
			pg_atomic_read_u32(&slot->cpu_boost) != 0)
			continue;
		name = pgb_shared->classes[slot->class_idx].name;
		if (!state_has(now, name) || state_has(before, name))
			continue;
		pids[n] = slot->pid;
		strlcpy(names[n], name, NAMEDATALEN);
		n++;
	}
	LWLockRelease(pgb_shared->lock);

	for (i = 0; i < n; i++)
	{
		char		dir[PGB_CGROUP_PATH_LEN];
		char		err[PGB_CGROUP_PATH_LEN + 256];

		/* a session that exited meanwhile is no failure */
		if (!pgb_cgroup_join(pgb_cgroup, names[i], dir, sizeof(dir)))
			continue;
		if (pgb_cgroup_move(dir, pids[i], err, sizeof(err)))
			moved++;
		else if (kill(pids[i], 0) == 0)
			ereport(LOG,
					(errmsg("pg_budget: session %d of class \"%s\" stays in the server's cgroup: %s",
							pids[i], names[i], err)));
	}
	if (moved > 0)
		ereport(LOG,
				(errmsg("pg_budget: %d sessions moved into the cgroups of their classes, whose weights came into force at this reload",
						moved)));
	pfree(pids);
	pfree(names);
}

/* A reload, in the worker: weights, classes added and removed. */
void
pgb_cgroup_reload(void)
{
	PgbCpuState before;
	PgbCpuState state;

	if (!cgroup_configured())
		return;
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	memcpy(&before, &pgb_shared->cpu, sizeof(PgbCpuState));
	LWLockRelease(pgb_shared->lock);
	sync_cgroups(pgb_current_table(NULL), &state, PostmasterPid, WARNING);
	publish(&state);
	move_sessions(&before, &state);
}

/* Has class_name's cgroup its weight in force?  Caller holds the main lock. */
bool
pgb_cgroup_in_force(const char *class_name)
{
	return pgb_shared != NULL && state_has(&pgb_shared->cpu, class_name);
}

/*
 * An admitted client backend moves itself into its class's cgroup: one
 * write, under no lock.  A failure leaves it where the server is.
 */
void
pgb_cgroup_place(const char *class_name)
{
	char		dir[PGB_CGROUP_PATH_LEN];
	char		err[PGB_CGROUP_PATH_LEN + 256];
	PgbBackendSlot *slot = pgb_my_slot();

	/* boosted by the worker already (it holds a lock of its login): stay */
	if (slot != NULL && pg_atomic_read_u32(&slot->cpu_boost) != 0)
		return;
	if (!pgb_cgroup_join(pgb_cgroup, class_name, dir, sizeof(dir)))
		return;
	if (!pgb_cgroup_move(dir, MyProcPid, err, sizeof(err)))
		ereport(LOG,
				(errmsg("pg_budget: session of class \"%s\" stays in the server's cgroup: %s",
						class_name, err)));
}

/* Where the worker reads cpu_ms from, as of this tick (worker-local) */
static PgbCpuSource cpu_source = PGB_CPU_SOURCE_PROC;

/*
 * Each tick, in the worker: which class entries have their weight in
 * force, for the boosts and the CPU time, and where CPU time comes from
 * (one shared hold, names compared).
 */
void
pgb_cgroup_tick(PgbSnapshot *snap)
{
	int			e;

	memset(snap->cpu_in_force, 0, sizeof(snap->cpu_in_force));
	cpu_source = PGB_CPU_SOURCE_PROC;
	if (!cgroup_configured())
		return;
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
		snap->cpu_in_force[e] = pgb_shared->classes[e].name[0] != '\0' &&
			state_has(&pgb_shared->cpu, pgb_shared->classes[e].name);
	if (pgb_shared->cpu.version != PGB_CGROUP_NONE)
		cpu_source = (PgbCpuSource) pgb_shared->cpu.cpu_source;
	LWLockRelease(pgb_shared->lock);
}

/*
 * Move the session of slot procno, if it is still pid, into class entry
 * entry's cgroup (or the server's leaf when entry < 0), and set its
 * cpu_boost to boost.  The pid is checked and written under one shared
 * hold of the main lock (shmem.h), so the pid moved is the session's.
 * Returns false with *gone when the session is no longer there, or with
 * a message in err when the write failed.
 */
static bool
move_slot(int procno, int pid, int entry, uint32 boost, bool *gone,
		  char *err, size_t errlen)
{
	PgbBackendSlot *slot = &pgb_shared->slots[procno];
	char		dir[PGB_CGROUP_PATH_LEN];
	bool		ok;

	*gone = false;
	err[0] = '\0';
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	if (slot->pid != pid)
	{
		LWLockRelease(pgb_shared->lock);
		*gone = true;
		return false;
	}
	if (!pgb_cgroup_join(pgb_cgroup, entry >= 0 ? pgb_shared->classes[entry].name :
						 PGB_CGROUP_SERVER_LEAF, dir, sizeof(dir)))
	{
		LWLockRelease(pgb_shared->lock);
		snprintf(err, errlen, "the cgroup path is too long");
		return false;
	}
	ok = pgb_cgroup_move(dir, pid, err, errlen);
	if (ok)
		pg_atomic_write_u32(&slot->cpu_boost, boost);
	LWLockRelease(pgb_shared->lock);
	return ok;
}

/*
 * Carry out the worker's CPU boosts of this tick: a holder into its
 * waiter's class's cgroup, or back into its own (into the server's leaf
 * if its own can not take it), each move an event "cpu boost" and a LOG
 * line; the rows learn the outcome (pgb_boost_done).
 */
void
pgb_cgroup_boost(PgbBoostPlan *plan, PgbSnapshot *snap)
{
	int			i;

	for (i = 0; i < plan->nmoves; i++)
	{
		const PgbBoostMove *m = &plan->moves[i];
		char		err[PGB_CGROUP_PATH_LEN + 256];
		char		home[NAMEDATALEN];
		bool		ok = false;
		bool		gone = false;

		strlcpy(home, pgb_group_name(m->home_entry), sizeof(home));
		switch (m->kind)
		{
			case PGB_BOOST_TO:
				ok = move_slot(m->procno, m->pid, m->to_entry,
							   (uint32) m->to_entry + 1, &gone, err, sizeof(err));
				break;
			case PGB_BOOST_BACK:
				ok = move_slot(m->procno, m->pid, m->home_entry, 0, &gone,
							   err, sizeof(err));
				if (!ok && !gone)
				{
					ereport(LOG,
							(errmsg("pg_budget: pid %d of class \"%s\" could not go back into the cgroup of its class, so it goes to the server's: %s",
									m->pid, home, err)));
					ok = move_slot(m->procno, m->pid, -1, 0, &gone, err, sizeof(err));
				}
				break;
			case PGB_BOOST_GONE:
				ok = true;
				break;
		}
		pgb_boost_done(snap, m, ok);
		if (gone && m->kind == PGB_BOOST_BACK)
		{
			char		reason[PGB_REASON_LEN];

			/* it exited (its slot cleared) before the worker saw it gone */
			snprintf(reason, sizeof(reason),
					 "it exited while it ran in the cgroup of class \"%s\"",
					 pgb_group_name(m->from_entry));
			pgb_event(home, m->pid, NULL, "cpu boost", "lock", reason);
			continue;
		}
		if (gone)
			continue;
		if (!ok)
		{
			ereport(LOG,
					(errmsg("pg_budget: pid %d of class \"%s\" could not be moved for a CPU boost: %s",
							m->pid, home, err)));
			continue;
		}
		ereport(LOG,
				(errmsg("pg_budget: pid %d of class \"%s\": %s", m->pid, home, m->reason)));
		pgb_event(home, m->pid, NULL, "cpu boost", "lock", m->reason);
	}
}

/*
 * A new worker does not know the boosts of the one before it (it exited
 * or crashed): their sessions go back into their classes' cgroups.
 */
static void
unboost_all(void)
{
	int			i;

	for (i = 0; i < pgb_shared->nslots; i++)
	{
		PgbBackendSlot *slot = &pgb_shared->slots[i];
		char		err[PGB_CGROUP_PATH_LEN + 256];
		char		home[NAMEDATALEN];
		char		reason[PGB_REASON_LEN];
		int			pid = slot->pid;
		int			entry = slot->class_idx;
		bool		gone;

		if (pid == 0 || pg_atomic_read_u32(&slot->cpu_boost) == 0)
			continue;
		if (!move_slot(i, pid, entry, 0, &gone, err, sizeof(err)) &&
			!gone && !move_slot(i, pid, -1, 0, &gone, err, sizeof(err)))
		{
			if (!gone)
				ereport(LOG,
						(errmsg("pg_budget: pid %d stays in the cgroup of a CPU boost: %s",
								pid, err)));
			continue;
		}
		if (gone)
			continue;
		strlcpy(home, pgb_group_name(entry), sizeof(home));
		snprintf(reason, sizeof(reason),
				 "back in the cgroup of its class \"%s\": the worker that boosted it restarted",
				 home);
		ereport(LOG, (errmsg("pg_budget: pid %d of class \"%s\": %s", pid, home, reason)));
		pgb_event(home, pid, NULL, "cpu boost", "lock", reason);
	}
}

/* CPU time and run delay, read once a second (worker-local) */
#define CPU_SAMPLE_MS	1000
static PgbCpuTrack *cpu_tracks = NULL;
static int	cpu_ntracks = 0;
static int64 cpu_sampled_ms = 0;
static bool cpu_primed = false;

/* Read a /proc/<pid>/<file> of a session into buf; false if it is gone. */
static bool
read_proc(int pid, const char *file, char *buf, size_t buflen)
{
	char		path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return pgb_cgroup_read(path, buf, buflen);
}

/* The cgroup accounting of each class entry at the last reading */
static uint64 usage_prev[PGB_MAX_SHARED_CLASSES];
static char usage_name[PGB_MAX_SHARED_CLASSES][NAMEDATALEN];

/*
 * The CPU time (ms) class entry e's cgroup used since the last reading,
 * into *ms; false when its cgroup is not read (not in force, the source
 * is /proc, or the file is unreadable).  A first reading, a class entry
 * named anew, or a counter that went back (a directory made again) counts
 * nothing and starts from there.
 */
static bool
cgroup_cpu_ms(const PgbSnapshot *snap, int e, double *ms)
{
	char		dir[PGB_CGROUP_PATH_LEN];
	const char *name = pgb_group_name(e);
	uint64		ns;
	bool		fresh;

	*ms = 0;
	if (cpu_source == PGB_CPU_SOURCE_PROC || !snap->cpu_in_force[e] ||
		!pgb_cgroup_join(pgb_cgroup, name, dir, sizeof(dir)) ||
		!pgb_cgroup_read_usage(dir, cpu_source, &ns))
	{
		usage_name[e][0] = '\0';
		return false;
	}
	fresh = strcmp(usage_name[e], name) != 0 || ns < usage_prev[e];
	if (!fresh)
		*ms = (double) (ns - usage_prev[e]) / 1e6;
	usage_prev[e] = ns;
	strlcpy(usage_name[e], name, NAMEDATALEN);
	return true;
}

/*
 * Once a second, in the worker: the CPU time and run delay
 * (/proc/<pid>/schedstat) each counted session added since the last
 * reading, summed by class entry.  CPU time is the cgroup's own
 * accounting for a class whose cgroup has its weight in force where the
 * hierarchy keeps one (cpu_source: the CPU time spent in the class's
 * cgroup, that of a boosted holder included, of sessions that exited
 * too), else /proc/<pid>/stat's utime + stime of its sessions (what a
 * session used in the second before it exited is not counted).  The
 * files are read under no lock; the sums are added in one exclusive hold
 * (shmem.h).
 */
void
pgb_cpu_sample(PgbSnapshot *snap)
{
	static double clk_tck = 0;
	double		cpu_ms[PGB_MAX_SHARED_CLASSES];
	double		delay_ms[PGB_MAX_SHARED_CLASSES];
	int			moved[PGB_MAX_SHARED_CLASSES];
	bool		from_cgroup[PGB_MAX_SHARED_CLASSES];
	bool		any = false;
	int			i;

	if (cpu_sampled_ms != 0 && snap->now_ms - cpu_sampled_ms < CPU_SAMPLE_MS)
		return;
	cpu_sampled_ms = snap->now_ms;
	if (cpu_tracks == NULL)
	{
		cpu_ntracks = snap->nrows;
		cpu_tracks = MemoryContextAllocZero(TopMemoryContext,
											sizeof(PgbCpuTrack) * cpu_ntracks);
		clk_tck = (double) sysconf(_SC_CLK_TCK);
		if (clk_tck <= 0)
			clk_tck = 100;
	}
	memset(cpu_ms, 0, sizeof(cpu_ms));
	memset(delay_ms, 0, sizeof(delay_ms));
	memset(moved, 0, sizeof(moved));
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		from_cgroup[i] = cgroup_cpu_ms(snap, i, &cpu_ms[i]);
		if (cpu_ms[i] > 0)
			any = true;
	}
	for (i = 0; i < snap->nrows && i < cpu_ntracks; i++)
	{
		const PgbSessionRow *r = &snap->rows[i];
		char		buf[1024];
		uint64		ticks = 0;
		uint64		delay = 0;
		uint64		dticks;
		uint64		ddelay;

		if (r->pid == 0 || !r->judged || r->entry >= PGB_MAX_SHARED_CLASSES)
			continue;
		if (!read_proc(r->pid, "stat", buf, sizeof(buf)) ||
			!pgb_proc_stat_cpu_ticks(buf, &ticks))
			continue;
		/* kernels without schedstats: CPU time alone */
		if (read_proc(r->pid, "schedstat", buf, sizeof(buf)))
			(void) pgb_proc_schedstat_delay_ns(buf, &delay);
		pgb_cpu_track(&cpu_tracks[i], r->pid, ticks, delay, !cpu_primed,
					  &dticks, &ddelay);
		if (dticks == 0 && ddelay == 0)
			continue;
		if (!from_cgroup[r->entry])
			cpu_ms[r->entry] += (double) dticks * 1000.0 / clk_tck;
		delay_ms[r->entry] += (double) ddelay / 1e6;
		moved[r->entry]++;
		any = true;
	}
	cpu_primed = true;

	/* what the plan judges run-delay pressure from (snapshot.h) */
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		snap->entries[i].run_delay_ms += delay_ms[i];
		snap->entries[i].run_delay_sessions = moved[i];
		snap->entries[i].run_delay_at_ms = snap->now_ms;
	}
	if (!any)
		return;
	LWLockAcquire(pgb_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGB_MAX_SHARED_CLASSES; i++)
	{
		pgb_shared->classes[i].cpu_ms += cpu_ms[i];
		pgb_shared->classes[i].run_delay_ms += delay_ms[i];
	}
	LWLockRelease(pgb_shared->lock);
}

/*
 * One row per class entry (configured classes, and removed ones still
 * named): its weight in force (NULL when none, or for cpu=idle), idle
 * (NULL when none), directory, and the CPU time and run delay of its
 * sessions since reset (to whom may read all statistics, as the sampled
 * columns of pg_budget_status).
 */
Datum
pg_budget_cpu(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgbCpuState *cpu;
	PgbClassState *classes;
	bool		all_stats = pgb_can_read_all_stats();
	int			e;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	cpu = palloc(sizeof(PgbCpuState));
	classes = palloc(sizeof(pgb_shared->classes));
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	memcpy(cpu, &pgb_shared->cpu, sizeof(PgbCpuState));
	memcpy(classes, pgb_shared->classes, sizeof(pgb_shared->classes));
	LWLockRelease(pgb_shared->lock);

	for (e = 0; e < PGB_MAX_SHARED_CLASSES; e++)
	{
		Datum		values[6];
		bool		nulls[6] = {true, true, true, true, true, true};
		char		dir[PGB_CGROUP_PATH_LEN];
		int			k;

		if (classes[e].name[0] == '\0')
			continue;
		values[0] = CStringGetTextDatum(classes[e].name);
		nulls[0] = false;
		for (k = 0; cpu->version != PGB_CGROUP_NONE && k < cpu->nclasses; k++)
		{
			if (strcmp(cpu->classes[k].name, classes[e].name) != 0)
				continue;
			values[1] = Int32GetDatum(cpu->classes[k].weight);
			nulls[1] = cpu->classes[k].idle;
			values[2] = BoolGetDatum(cpu->classes[k].idle);
			nulls[2] = false;
			if (pgb_cgroup_join(pgb_cgroup, cpu->classes[k].name, dir, sizeof(dir)))
			{
				values[3] = CStringGetTextDatum(dir);
				nulls[3] = false;
			}
			break;
		}
		values[4] = Float8GetDatum(classes[e].cpu_ms);
		nulls[4] = !all_stats;
		values[5] = Float8GetDatum(classes[e].run_delay_ms);
		nulls[5] = !all_stats;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pid, cgroup (for the cpu controller, from /proc/<pid>/cgroup) and CPU
 * boost (the class whose cgroup the worker moved it into, or NULL) of
 * every counted session; the files are read after the lock is released.
 */
Datum
pg_budget_backend_cgroups(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int		   *pids;
	char	  (*boosts)[NAMEDATALEN];
	int			n = 0;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	pids = palloc(sizeof(int) * pgb_shared->nslots);
	boosts = palloc(NAMEDATALEN * pgb_shared->nslots);
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	for (i = 0; i < pgb_shared->nslots; i++)
		if (pgb_shared->slots[i].pid != 0)
		{
			uint32		boost = pg_atomic_read_u32(&pgb_shared->slots[i].cpu_boost);

			boosts[n][0] = '\0';
			if (boost > 0 && boost <= PGB_MAX_SHARED_CLASSES)
				strlcpy(boosts[n], pgb_shared->classes[boost - 1].name, NAMEDATALEN);
			pids[n++] = pgb_shared->slots[i].pid;
		}
	LWLockRelease(pgb_shared->lock);

	for (i = 0; i < n; i++)
	{
		char		path[64];
		char		content[4096];
		char		cgroup[PGB_CGROUP_PATH_LEN];
		Datum		values[3];
		bool		nulls[3] = {false, false, true};

		snprintf(path, sizeof(path), "/proc/%d/cgroup", pids[i]);
		values[0] = Int32GetDatum(pids[i]);
		if (pgb_cgroup_read(path, content, sizeof(content)) &&
			pgb_cgroup_cpu_path(content, cgroup, sizeof(cgroup)))
			values[1] = CStringGetTextDatum(cgroup);
		else
			nulls[1] = true;
		if (boosts[i][0] != '\0')
		{
			values[2] = CStringGetTextDatum(boosts[i]);
			nulls[2] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
