/*-------------------------------------------------------------------------
 *
 * cgroup_fs.c
 *	  Reads and writes under pg_budget.cgroup: detection, the server's
 *	  leaf, the class directories and their weights, moving a process.
 *
 * Plain POSIX calls, no server state, no locks: callers decide when (see
 * cgroup.c), and get every failure back as a message naming the path.
 *
 *-------------------------------------------------------------------------
 */
#include "cgroup_fs.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int			(*pgb_cgroup_mkdir) (const char *path, mode_t mode) = mkdir;
int			(*pgb_cgroup_rmdir) (const char *path) = rmdir;

static bool fail(char *err, size_t errlen, const char *fmt,...) pg_attribute_printf(3, 4);

static bool
fail(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (err != NULL && errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool
join(const char *dir, const char *name, char *buf, char *err, size_t errlen)
{
	if (!pgb_cgroup_join(dir, name, buf, PGB_CGROUP_PATH_LEN))
		return fail(err, errlen, "path \"%s/%s\" is too long", dir, name);
	return true;
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * Write value to path, truncating (a weight) or appending (cgroup.procs,
 * where each write adds one process).  optional: a missing file is fine.
 */
static bool
write_file(const char *path, const char *value, bool append, bool optional,
		   char *err, size_t errlen)
{
	size_t		len = strlen(value);
	ssize_t		n;
	int			fd;
	int			save;

	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
	{
		if (optional && errno == ENOENT)
			return true;
		return fail(err, errlen, "could not open \"%s\": %s", path,
					strerror(errno));
	}
	n = write(fd, value, len);
	save = errno;
	if (close(fd) != 0 && n == (ssize_t) len)
		return fail(err, errlen, "could not write \"%s\" to \"%s\": %s",
					value, path, strerror(errno));
	if (n != (ssize_t) len)
		return fail(err, errlen, "could not write \"%s\" to \"%s\": %s",
					value, path, n < 0 ? strerror(save) : "short write");
	return true;
}

bool
pgb_cgroup_read(const char *path, char *buf, size_t buflen)
{
	int			fd = open(path, O_RDONLY);
	size_t		used = 0;

	if (fd < 0 || buflen == 0)
	{
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (used < buflen - 1)
	{
		ssize_t		n = read(fd, buf + used, buflen - 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n < 0)
			{
				close(fd);
				return false;
			}
			break;
		}
		used += (size_t) n;
	}
	buf[used] = '\0';
	close(fd);
	return true;
}

PgbCgroupVersion
pgb_cgroup_detect(const char *base, char *err, size_t errlen)
{
	char		path[PGB_CGROUP_PATH_LEN];
	char		controllers[1024];
	struct stat st;
	PgbCgroupVersion version;

	if (stat(base, &st) != 0)
	{
		fail(err, errlen, "could not access \"%s\": %s", base, strerror(errno));
		return PGB_CGROUP_NONE;
	}
	if (!S_ISDIR(st.st_mode))
	{
		fail(err, errlen, "\"%s\" is not a directory", base);
		return PGB_CGROUP_NONE;
	}
	if (!join(base, "cgroup.controllers", path, err, errlen))
		return PGB_CGROUP_NONE;
	version = pgb_cgroup_version(exists(path), false);
	if (version == PGB_CGROUP_NONE)
	{
		if (!join(base, "cpu.shares", path, err, errlen))
			return PGB_CGROUP_NONE;
		version = pgb_cgroup_version(false, exists(path));
	}
	if (version == PGB_CGROUP_NONE)
	{
		fail(err, errlen, "\"%s\" is not a cgroup with a cpu controller (it has neither cgroup.controllers nor cpu.shares)",
			 base);
		return PGB_CGROUP_NONE;
	}
	if (version == PGB_CGROUP_V2)
	{
		if (!join(base, "cgroup.controllers", path, err, errlen))
			return PGB_CGROUP_NONE;
		if (!pgb_cgroup_read(path, controllers, sizeof(controllers)))
		{
			fail(err, errlen, "could not read \"%s\": %s", path, strerror(errno));
			return PGB_CGROUP_NONE;
		}
		if (!pgb_cgroup_word_listed(controllers, "cpu"))
		{
			fail(err, errlen, "the cpu controller is not available in \"%s\" (its cgroup.controllers lists \"%.*s\"); enable it in the parent's cgroup.subtree_control",
				 base, (int) strcspn(controllers, "\n"), controllers);
			return PGB_CGROUP_NONE;
		}
	}
	if (access(base, W_OK | X_OK) != 0)
	{
		fail(err, errlen, "\"%s\" is not writable by the server: %s", base,
			 strerror(errno));
		return PGB_CGROUP_NONE;
	}
	return version;
}

/* mkdir dir, or reuse it if it is a directory already. */
static bool
make_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (pgb_cgroup_mkdir(dir, 0755) == 0)
		return true;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return true;
	if (errno == EEXIST)
		return fail(err, errlen, "\"%s\" exists and is not a directory", dir);
	return fail(err, errlen, "could not create \"%s\": %s", dir, strerror(errno));
}

bool
pgb_cgroup_move(const char *dir, int pid, char *err, size_t errlen)
{
	char		path[PGB_CGROUP_PATH_LEN];
	char		value[16];

	if (!join(dir, "cgroup.procs", path, err, errlen))
		return false;
	snprintf(value, sizeof(value), "%d\n", pid);
	return write_file(path, value, true, false, err, errlen);
}

PgbCpuSource
pgb_cgroup_cpu_source(const char *base, PgbCgroupVersion version)
{
	PgbCpuSource source = version == PGB_CGROUP_V2 ? PGB_CPU_SOURCE_CPU_STAT :
		PGB_CPU_SOURCE_CPUACCT;
	uint64		ns;

	if (version == PGB_CGROUP_NONE || !pgb_cgroup_read_usage(base, source, &ns))
		return PGB_CPU_SOURCE_PROC;
	return source;
}

bool
pgb_cgroup_read_usage(const char *dir, PgbCpuSource source, uint64 *ns)
{
	char		path[PGB_CGROUP_PATH_LEN];
	char		err[PGB_CGROUP_PATH_LEN + 64];
	char		buf[1024];
	const char *file = pgb_cpu_source_file(source);

	if (file == NULL || !join(dir, file, path, err, sizeof(err)) ||
		!pgb_cgroup_read(path, buf, sizeof(buf)))
		return false;
	return pgb_cgroup_usage_ns(source, buf, ns);
}

bool
pgb_cgroup_setup_server(const char *base, PgbCgroupVersion version,
						int self_pid, char *err, size_t errlen)
{
	char		leaf[PGB_CGROUP_PATH_LEN];
	char		path[PGB_CGROUP_PATH_LEN];
	char		procs[8192];

	if (!join(base, PGB_CGROUP_SERVER_LEAF, leaf, err, errlen) ||
		!make_dir(leaf, err, errlen) ||
		!pgb_cgroup_move(leaf, self_pid, err, errlen))
		return false;

	/* what else is in base (under systemd: the service's other processes) */
	if (!join(base, "cgroup.procs", path, err, errlen))
		return false;
	if (pgb_cgroup_read(path, procs, sizeof(procs)))
	{
		char	   *p = procs;

		while (*p)
		{
			char	   *end;
			long		pid = strtol(p, &end, 10);

			if (end == p)
				break;
			p = end;
			while (*p == '\n' || *p == ' ')
				p++;
			/* a process that is gone is no failure */
			if (pid > 0 && pid != self_pid &&
				!pgb_cgroup_move(leaf, (int) pid, err, errlen) &&
				kill((pid_t) pid, 0) == 0)
				return false;
		}
	}

	if (version == PGB_CGROUP_V2)
	{
		if (!join(base, "cgroup.subtree_control", path, err, errlen) ||
			!write_file(path, "+cpu", false, false, err, errlen))
			return false;
	}
	return true;
}

bool
pgb_cgroup_setup_class(const char *base, PgbCgroupVersion version,
					   const PgbClass *cls, char *err, size_t errlen)
{
	char		dir[PGB_CGROUP_PATH_LEN];
	char		path[PGB_CGROUP_PATH_LEN];
	PgbCgroupWrite writes[PGB_CGROUP_MAX_WRITES];
	int			n;
	int			i;

	if (!join(base, cls->name, dir, err, errlen) || !make_dir(dir, err, errlen))
		return false;
	n = pgb_cgroup_class_writes(version, cls, writes);
	for (i = 0; i < n; i++)
	{
		if (!join(dir, writes[i].file, path, err, errlen) ||
			!write_file(path, writes[i].value, false, writes[i].optional,
						err, errlen))
			return false;
	}
	return true;
}

int
pgb_cgroup_remove_stale(const char *base, const PgbClassTable *table,
						PgbCgroupReport report, void *arg)
{
	DIR		   *d = opendir(base);
	struct dirent *de;
	int			removed = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
	{
		char		dir[PGB_CGROUP_PATH_LEN];
		char		msg[PGB_CGROUP_PATH_LEN + 128];
		struct stat st;

		if (!pgb_cgroup_stale(de->d_name, table) ||
			!pgb_cgroup_join(base, de->d_name, dir, sizeof(dir)) ||
			stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (pgb_cgroup_rmdir(dir) == 0)
		{
			removed++;
			continue;
		}
		snprintf(msg, sizeof(msg), "\"%s\" of a removed class is left in place: %s",
				 dir, errno == EBUSY ? "its sessions are still in it" : strerror(errno));
		if (report)
			report(arg, msg);
	}
	closedir(d);
	return removed;
}
