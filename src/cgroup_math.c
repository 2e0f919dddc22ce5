/*-------------------------------------------------------------------------
 *
 * cgroup_math.c
 *	  Weights, versions, paths and /proc/<pid>/cgroup for CPU weights by
 *	  class.  Pure C with no server calls, so it is unit-tested alone.
 *
 *-------------------------------------------------------------------------
 */
#include "cgroup_math.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

int
pgb_cpu_shares(int weight)
{
	int64		shares = (int64) weight * 1024 / 100;

	return (int) Max(shares, 2);
}

int
pgb_cpu_weight_v2(int weight)
{
	return weight;
}

PgbCgroupVersion
pgb_cgroup_version(bool has_controllers, bool has_cpu_shares)
{
	if (has_controllers)
		return PGB_CGROUP_V2;
	if (has_cpu_shares)
		return PGB_CGROUP_V1;
	return PGB_CGROUP_NONE;
}

const char *
pgb_cgroup_version_name(PgbCgroupVersion version)
{
	switch (version)
	{
		case PGB_CGROUP_V1:
			return "v1";
		case PGB_CGROUP_V2:
			return "v2";
		case PGB_CGROUP_NONE:
			break;
	}
	return "none";
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool
pgb_cgroup_word_listed(const char *list, const char *name)
{
	size_t		len = strlen(name);
	const char *p = list;

	if (list == NULL || len == 0)
		return false;
	while (*p)
	{
		size_t		n = 0;

		while (is_space(*p))
			p++;
		while (p[n] && !is_space(p[n]))
			n++;
		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p += n;
	}
	return false;
}

int
pgb_cpu_weight_in_force(const PgbClass *cls)
{
	return cls->warn ? PGB_CPU_WEIGHT_DEFAULT : cls->cpu_weight;
}

bool
pgb_cpu_idle_in_force(const PgbClass *cls)
{
	return cls->cpu_idle && !cls->warn;
}

int
pgb_cgroup_class_writes(PgbCgroupVersion version, const PgbClass *cls,
						PgbCgroupWrite *out)
{
	int			n = 0;

	if (version == PGB_CGROUP_NONE)
		return 0;
	if (pgb_cpu_idle_in_force(cls))
	{
		out[n].file = "cpu.idle";
		snprintf(out[n].value, sizeof(out[n].value), "1");
		out[n].optional = false;
		return n + 1;
	}
	out[n].file = "cpu.idle";
	snprintf(out[n].value, sizeof(out[n].value), "0");
	out[n].optional = true;
	n++;
	if (version == PGB_CGROUP_V2)
	{
		out[n].file = "cpu.weight";
		snprintf(out[n].value, sizeof(out[n].value), "%d",
				 pgb_cpu_weight_v2(pgb_cpu_weight_in_force(cls)));
	}
	else
	{
		out[n].file = "cpu.shares";
		snprintf(out[n].value, sizeof(out[n].value), "%d",
				 pgb_cpu_shares(pgb_cpu_weight_in_force(cls)));
	}
	out[n].optional = false;
	return n + 1;
}

bool
pgb_cgroup_join(const char *dir, const char *name, char *buf, size_t buflen)
{
	size_t		dlen = strlen(dir);
	int			n;

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (dlen == 0)
		return false;
	n = snprintf(buf, buflen, "%.*s%s%s", (int) dlen, dir,
				 dir[dlen - 1] == '/' ? "" : "/", name);
	return n >= 0 && (size_t) n < buflen;
}

bool
pgb_cgroup_stale(const char *name, const PgbClassTable *table)
{
	return pgb_valid_class_name(name) && pgb_find_class(table, name) < 0;
}

/* Does the comma-separated controller list [p, end) name controller? */
static bool
lists_controller(const char *p, const char *end, const char *controller)
{
	size_t		clen = strlen(controller);

	while (p < end)
	{
		const char *comma = memchr(p, ',', end - p);
		const char *stop = comma ? comma : end;

		if ((size_t) (stop - p) == clen && memcmp(p, controller, clen) == 0)
			return true;
		p = stop + 1;
	}
	return false;
}

bool
pgb_cgroup_line_path(const char *proc_cgroup, const char *controller,
					 const char **path, size_t *len, bool *v2)
{
	const char *line = proc_cgroup;
	const char *v2path = NULL;
	size_t		v2len = 0;

	if (proc_cgroup == NULL)
		return false;
	while (*line)
	{
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *c1 = memchr(line, ':', end - line);
		const char *c2 = c1 ? memchr(c1 + 1, ':', end - c1 - 1) : NULL;

		if (c2 != NULL)
		{
			if (c2 == c1 + 1 && c1 - line == 1 && line[0] == '0')
			{
				v2path = c2 + 1;
				v2len = end - v2path;
			}
			else if (lists_controller(c1 + 1, c2, controller))
			{
				*path = c2 + 1;
				*len = end - *path;
				*v2 = false;
				return true;
			}
		}
		line = eol ? eol + 1 : end;
	}
	if (v2path == NULL)
		return false;
	*path = v2path;
	*len = v2len;
	*v2 = true;
	return true;
}

bool
pgb_cgroup_cpu_path(const char *proc_cgroup, char *buf, size_t buflen)
{
	const char *found;
	size_t		foundlen;
	bool		v2;

	if (buflen == 0 ||
		!pgb_cgroup_line_path(proc_cgroup, "cpu", &found, &foundlen, &v2))
		return false;
	if (foundlen >= buflen)
		foundlen = buflen - 1;
	memcpy(buf, found, foundlen);
	buf[foundlen] = '\0';
	return true;
}

bool
pgb_cgroup_parent_of(const char *path, const char *leaf, char *buf,
					 size_t buflen)
{
	const char *slash;
	size_t		plen;

	if (path == NULL || (slash = strrchr(path, '/')) == NULL ||
		strcmp(slash + 1, leaf) != 0 || leaf[0] == '\0')
		return false;
	plen = slash == path ? 1 : (size_t) (slash - path);
	if (plen >= buflen)
		return false;
	memcpy(buf, path, plen);
	buf[plen] = '\0';
	return true;
}

int
pgb_cgroup_parse_pids(const char *text, int *pids, int max)
{
	const char *p = text;
	int			n = 0;

	while (p != NULL && *p != '\0' && n < max)
	{
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		long		v = 0;
		const char *q = p;

		while (q < end && *q >= '0' && *q <= '9' && v <= INT_MAX / 10)
			v = v * 10 + (*q++ - '0');
		if (q == end && q > p && v > 0 && v <= INT_MAX)
			pids[n++] = (int) v;
		p = eol ? eol + 1 : NULL;
	}
	return n;
}

/* Read an unsigned decimal at *p, then skip blanks; false if none. */
static bool
read_u64(const char **p, uint64 *v)
{
	const char *q = *p;
	uint64		n = 0;

	if (*q < '0' || *q > '9')
		return false;
	while (*q >= '0' && *q <= '9')
	{
		/* no kernel counter of these is near 2^64: stop growing, no UB */
		if (n < PG_UINT64_MAX / 10 - 10)
			n = n * 10 + (uint64) (*q - '0');
		q++;
	}
	while (*q == ' ')
		q++;
	*p = q;
	*v = n;
	return true;
}

/* Skip one blank-separated field at *p; false at the end. */
static bool
skip_field(const char **p)
{
	const char *q = *p;

	if (*q == '\0' || *q == '\n')
		return false;
	while (*q && *q != ' ' && *q != '\n')
		q++;
	while (*q == ' ')
		q++;
	*p = q;
	return true;
}

bool
pgb_proc_stat_cpu_ticks(const char *stat, uint64 *ticks)
{
	const char *p;
	uint64		utime;
	uint64		stime;
	int			f;

	if (stat == NULL || (p = strrchr(stat, ')')) == NULL)
		return false;
	p++;
	while (*p == ' ')
		p++;
	/* fields 3 (state) to 13 (cmajflt), then utime and stime */
	for (f = 3; f <= 13; f++)
		if (!skip_field(&p))
			return false;
	if (!read_u64(&p, &utime) || !read_u64(&p, &stime))
		return false;
	*ticks = utime + stime;
	return true;
}

bool
pgb_proc_schedstat(const char *schedstat, uint64 *cpu_ns, uint64 *delay_ns)
{
	const char *p = schedstat;

	if (p == NULL)
		return false;
	return read_u64(&p, cpu_ns) && read_u64(&p, delay_ns);
}

const char *
pgb_cpu_source_file(PgbCpuSource source)
{
	switch (source)
	{
		case PGB_CPU_SOURCE_CPUACCT:
			return "cpuacct.usage";
		case PGB_CPU_SOURCE_CPU_STAT:
			return "cpu.stat";
		case PGB_CPU_SOURCE_PROC:
			break;
	}
	return NULL;
}

const char *
pgb_cpu_source_name(PgbCpuSource source)
{
	switch (source)
	{
		case PGB_CPU_SOURCE_CPUACCT:
			return "cpuacct.usage of each class's cgroup";
		case PGB_CPU_SOURCE_CPU_STAT:
			return "cpu.stat (usage_usec) of each class's cgroup";
		case PGB_CPU_SOURCE_PROC:
			break;
	}
	return "/proc/<pid>/stat of each session";
}

bool
pgb_cgroup_usage_ns(PgbCpuSource source, const char *text, uint64 *ns)
{
	const char *p = text;
	uint64		v;

	if (p == NULL)
		return false;
	switch (source)
	{
		case PGB_CPU_SOURCE_CPUACCT:
			if (!read_u64(&p, &v))
				return false;
			*ns = v;
			return true;
		case PGB_CPU_SOURCE_CPU_STAT:
			/* "key value" lines; usage_usec is the first in practice */
			while (*p != '\0')
			{
				if (strncmp(p, "usage_usec ", 11) == 0)
				{
					p += 11;
					if (!read_u64(&p, &v))
						return false;
					*ns = v * 1000;
					return true;
				}
				p = strchr(p, '\n');
				if (p == NULL)
					break;
				p++;
			}
			return false;
		case PGB_CPU_SOURCE_PROC:
			break;
	}
	return false;
}

void
pgb_cpu_track(PgbCpuTrack *t, int pid, uint64 cpu_ns, uint64 delay_ns,
			  bool priming, uint64 *dcpu_ns, uint64 *ddelay_ns)
{
	if (t->pid != pid)
	{
		t->pid = pid;
		t->cpu_ns = priming ? cpu_ns : 0;
		t->delay_ns = priming ? delay_ns : 0;
	}
	*dcpu_ns = cpu_ns > t->cpu_ns ? cpu_ns - t->cpu_ns : 0;
	*ddelay_ns = delay_ns > t->delay_ns ? delay_ns - t->delay_ns : 0;
	t->cpu_ns = Max(t->cpu_ns, cpu_ns);
	t->delay_ns = Max(t->delay_ns, delay_ns);
}
