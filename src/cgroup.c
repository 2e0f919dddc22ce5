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
	if (!pgb_cgroup_configured())
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
		in_force->weight = pgb_cpu_weight_in_force(c);
		in_force->idle = pgb_cpu_idle_in_force(c);
		if (c->warn)
			appendStringInfo(&summary, "%s%s %d (warn: %s not in force)",
							 summary.len ? ", " : "", c->name,
							 PGB_CPU_WEIGHT_DEFAULT,
							 c->cpu_idle ? "idle" : psprintf("%d", c->cpu_weight));
		else if (c->cpu_idle)
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
	if (IsUnderPostmaster || !IsPostmasterEnvironment || !pgb_cgroup_configured())
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

	if (!pgb_cgroup_configured())
		return;
	as_started = start_classes != NULL && start_default != NULL &&
		strcmp(start_classes, GetConfigOption("pg_budget.classes", false, false)) == 0 &&
		strcmp(start_default, GetConfigOption("pg_budget.default_class", false, false)) == 0;
	sync_cgroups(pgb_current_table(NULL), &state, PostmasterPid,
				 as_started ? DEBUG1 : WARNING);
	publish(&state);
	pgb_cgroup_unboost_all();
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

		/*
		 * a boosted session goes home when its boost ends, a switched one
		 * when its statement ends
		 */
		if (slot->pid == 0 || slot->walsender ||
			pg_atomic_read_u32(&slot->cpu_boost) != 0 ||
			pg_atomic_read_u32(&slot->switched_to) != 0)
			continue;
		name = pgb_shared->classes[slot->class_idx].name;
		if (!pgb_cpu_state_has(now, name) || pgb_cpu_state_has(before, name))
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

	if (!pgb_cgroup_configured())
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
	return pgb_shared != NULL && pgb_cpu_state_has(&pgb_shared->cpu, class_name);
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

