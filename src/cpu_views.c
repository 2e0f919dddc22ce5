/*-------------------------------------------------------------------------
 *
 * cpu_views.c
 *	  pg_budget_cpu and the cgroup column of pg_budget_backends: the CPU
 *	  weights in force by class, and where each session runs.  Copies under
 *	  the main lock held shared; the files are read after release.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "postmaster/postmaster.h"
#include "utils/builtins.h"

#include "cgroup.h"
#include "cgroup_fs.h"
#include "cgroup_math.h"
#include "compat.h"
#include "guc.h"
#include "shmem.h"
#include "visibility.h"

PG_FUNCTION_INFO_V1(pg_budget_cpu);
PG_FUNCTION_INFO_V1(pg_budget_backend_cgroups);


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
 * Where the counted sessions are, without reading each one's
 * /proc/<pid>/cgroup: the cgroup.procs of the directories they are
 * expected in (each class's under pg_budget.cgroup and the server's leaf
 * while weights are in force, else the postmaster's own cgroup), a few
 * reads for any number of sessions.  The cgroup path of a directory (as
 * /proc/<pid>/cgroup gives it) comes from the postmaster's own, read
 * once per call: a directory that does not list the postmaster where it
 * should be is not used.  A session in none of them (moved by someone
 * else, or between two reads) is read from its /proc/<pid>/cgroup, as
 * every session was before.
 */
typedef struct CgroupMember
{
	int			pid;
	int			dir;			/* index into the dirs' paths */
} CgroupMember;

typedef struct CgroupMembers
{
	int			ndirs;
	char	  (*paths)[PGB_CGROUP_PATH_LEN];	/* as /proc/<pid>/cgroup */
	int			n;
	CgroupMember *members;		/* sorted by pid */
} CgroupMembers;

/* Hierarchies where the postmaster's cgroup is looked for without weights. */
static const char *const cpu_mounts[] = {
	"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup"
};

static int
member_cmp(const void *a, const void *b)
{
	int			x = ((const CgroupMember *) a)->pid;
	int			y = ((const CgroupMember *) b)->pid;

	return (x > y) - (x < y);
}

/* The whole of a file (cgroup.procs may be long) into buf; false if unread. */
static bool
read_whole(const char *path, StringInfo buf)
{
	char		chunk[8192];
	int			fd;
	ssize_t		got;

	resetStringInfo(buf);
	fd = open(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	while ((got = read(fd, chunk, sizeof(chunk))) > 0)
		appendBinaryStringInfo(buf, chunk, (int) got);
	close(fd);
	return got == 0;
}

/*
 * The pids listed in dir's cgroup.procs, as members of path (a new entry
 * of m); false when the file cannot be read, or must list the postmaster
 * and does not.
 */
static bool
add_dir(CgroupMembers *m, int maxdirs, const char *dir, const char *path,
		bool has_postmaster, StringInfo buf)
{
	char		file[PGB_CGROUP_PATH_LEN];
	int		   *pids;
	int			max;
	int			n;
	int			i;
	bool		found = false;

	if (m->ndirs >= maxdirs || !pgb_cgroup_join(dir, "cgroup.procs", file, sizeof(file)) ||
		!read_whole(file, buf))
		return false;
	/* at most one pid for every two bytes ("7\n") */
	max = buf->len / 2 + 1;
	pids = palloc(sizeof(int) * max);
	n = pgb_cgroup_parse_pids(buf->data, pids, max);
	for (i = 0; i < n && !found; i++)
		found = pids[i] == (int) PostmasterPid;
	if (has_postmaster && !found)
		return false;
	m->members = repalloc(m->members, sizeof(CgroupMember) * (m->n + n + 1));
	for (i = 0; i < n; i++)
	{
		m->members[m->n].pid = pids[i];
		m->members[m->n].dir = m->ndirs;
		m->n++;
	}
	strlcpy(m->paths[m->ndirs++], path, PGB_CGROUP_PATH_LEN);
	pfree(pids);
	return true;
}

static void
cgroup_members(CgroupMembers *m, const PgbCpuState *cpu)
{
	char		procfile[64];
	char		content[4096];
	char		server[PGB_CGROUP_PATH_LEN];
	char		base[PGB_CGROUP_PATH_LEN];
	char		dir[PGB_CGROUP_PATH_LEN];
	char		path[PGB_CGROUP_PATH_LEN];
	int			maxdirs = cpu->nclasses + (int) lengthof(cpu_mounts) + 1;
	StringInfoData buf;
	int			k;

	m->ndirs = 0;
	m->n = 0;
	m->paths = palloc(PGB_CGROUP_PATH_LEN * maxdirs);
	m->members = palloc(sizeof(CgroupMember));
	snprintf(procfile, sizeof(procfile), "/proc/%d/cgroup", (int) PostmasterPid);
	if (!pgb_cgroup_read(procfile, content, sizeof(content)) ||
		!pgb_cgroup_cpu_path(content, server, sizeof(server)))
		return;
	initStringInfo(&buf);
	if (cpu->version != PGB_CGROUP_NONE && pgb_cgroup_configured() &&
		pgb_cgroup_parent_of(server, PGB_CGROUP_SERVER_LEAF, base, sizeof(base)) &&
		pgb_cgroup_join(pgb_cgroup, PGB_CGROUP_SERVER_LEAF, dir, sizeof(dir)) &&
		add_dir(m, maxdirs, dir, server, true, &buf))
	{
		/* the classes' directories beside the server's leaf */
		for (k = 0; k < cpu->nclasses; k++)
			if (pgb_cgroup_join(pgb_cgroup, cpu->classes[k].name, dir, sizeof(dir)) &&
				pgb_cgroup_join(base, cpu->classes[k].name, path, sizeof(path)))
				(void) add_dir(m, maxdirs, dir, path, false, &buf);
	}
	else
	{
		/* no weights: the postmaster's own cgroup, where it is mounted */
		for (k = 0; k < (int) lengthof(cpu_mounts); k++)
		{
			if (strcmp(server, "/") == 0)
				strlcpy(dir, cpu_mounts[k], sizeof(dir));
			else if (snprintf(dir, sizeof(dir), "%s%s", cpu_mounts[k], server) >= (int) sizeof(dir))
				continue;
			if (add_dir(m, maxdirs, dir, server, true, &buf))
				break;
		}
	}
	pfree(buf.data);
	if (m->n > 1)
		qsort(m->members, m->n, sizeof(CgroupMember), member_cmp);
}

/* pid's cgroup path from the members, or NULL. */
static const char *
member_path(const CgroupMembers *m, int pid)
{
	CgroupMember key;
	CgroupMember *found;

	if (m->n == 0)
		return NULL;
	key.pid = pid;
	found = bsearch(&key, m->members, m->n, sizeof(CgroupMember), member_cmp);
	return found ? m->paths[found->dir] : NULL;
}

/*
 * pid, cgroup (for the cpu controller, as /proc/<pid>/cgroup gives it)
 * and CPU boost (the class whose cgroup the worker moved it into, or
 * NULL) of every counted session; the files are read after the lock is
 * released.  Both are NULL for a session whose details pg_stat_activity
 * hides from the caller.
 */
Datum
pg_budget_backend_cgroups(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int		   *pids;
	Oid		   *roles;
	char	  (*boosts)[NAMEDATALEN];
	PgbCpuState *cpu;
	CgroupMembers members;
	bool		all_stats;
	int			n = 0;
	int			i;

	pgb_require_shmem();
	pgb_init_materialized_srf(fcinfo);
	pids = palloc(sizeof(int) * pgb_shared->nslots);
	roles = palloc(sizeof(Oid) * pgb_shared->nslots);
	boosts = palloc(NAMEDATALEN * pgb_shared->nslots);
	cpu = palloc(sizeof(PgbCpuState));
	LWLockAcquire(pgb_shared->lock, LW_SHARED);
	memcpy(cpu, &pgb_shared->cpu, sizeof(PgbCpuState));
	for (i = 0; i < pgb_shared->nslots; i++)
		if (pgb_shared->slots[i].pid != 0)
		{
			uint32		boost = pg_atomic_read_u32(&pgb_shared->slots[i].cpu_boost);

			boosts[n][0] = '\0';
			if (boost > 0 && boost <= PGB_MAX_SHARED_CLASSES)
				strlcpy(boosts[n], pgb_shared->classes[boost - 1].name, NAMEDATALEN);
			roles[n] = pgb_shared->slots[i].roleid;
			pids[n++] = pgb_shared->slots[i].pid;
		}
	LWLockRelease(pgb_shared->lock);

	all_stats = pgb_can_read_all_stats();
	cgroup_members(&members, cpu);

	for (i = 0; i < n; i++)
	{
		char		path[64];
		char		content[4096];
		char		cgroup[PGB_CGROUP_PATH_LEN];
		const char *known;
		Datum		values[3];
		bool		nulls[3] = {false, false, true};

		values[0] = Int32GetDatum(pids[i]);
		/* where a session runs is a detail pg_stat_activity would hide */
		if (!pgb_may_see_session(roles[i], all_stats))
		{
			nulls[1] = true;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			continue;
		}
		if ((known = member_path(&members, pids[i])) != NULL)
			values[1] = CStringGetTextDatum(known);
		else
		{
			snprintf(path, sizeof(path), "/proc/%d/cgroup", pids[i]);
			if (pgb_cgroup_read(path, content, sizeof(content)) &&
				pgb_cgroup_cpu_path(content, cgroup, sizeof(cgroup)))
				values[1] = CStringGetTextDatum(cgroup);
			else
				nulls[1] = true;
		}
		if (boosts[i][0] != '\0')
		{
			values[2] = CStringGetTextDatum(boosts[i]);
			nulls[2] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
