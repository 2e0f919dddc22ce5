/*-------------------------------------------------------------------------
 *
 * mem_files.c
 *	  Readers of the kernel's memory files, from their text (mem_files.h).
 *	  Pure: no server calls, no file access; unit-tested in
 *	  test/unit/test_mem_files.c.
 *
 *-------------------------------------------------------------------------
 */
#include "mem_files.h"
#include "cgroup_math.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* v1 writes this (LONG_MAX rounded down to a page) for "no limit". */
#define V1_UNLIMITED_FLOOR		(UINT64CONST(1) << 62)

/* A decimal number at *p, advancing past it; false if there is none. */
static bool
read_u64(const char **p, uint64 *out)
{
	const char *s = *p;
	uint64		v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char) *s))
		return false;
	while (isdigit((unsigned char) *s))
	{
		if (v > (PG_UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64) (*s - '0');
		s++;
	}
	*p = s;
	*out = v;
	return true;
}

bool
pgb_statm_private_bytes(const char *statm, uint64 page_size, uint64 *bytes)
{
	const char *p = statm;
	uint64		size;
	uint64		resident;
	uint64		shared;

	if (statm == NULL || page_size == 0)
		return false;
	if (!read_u64(&p, &size) || !read_u64(&p, &resident) ||
		!read_u64(&p, &shared))
		return false;
	*bytes = (resident > shared ? resident - shared : 0) * page_size;
	return true;
}

bool
pgb_mem_keyed_value(const char *text, const char *key, uint64 *value)
{
	size_t		klen;
	const char *line = text;

	if (text == NULL || key == NULL || (klen = strlen(key)) == 0)
		return false;
	while (*line)
	{
		const char *eol = strchr(line, '\n');

		if (strncmp(line, key, klen) == 0 &&
			(line[klen] == ' ' || line[klen] == ':' || line[klen] == '\t'))
		{
			const char *p = line + klen;

			if (*p == ':')
				p++;
			return read_u64(&p, value);
		}
		if (eol == NULL)
			break;
		line = eol + 1;
	}
	return false;
}

bool
pgb_mem_limit_value(const char *text, uint64 *bytes)
{
	const char *p = text;
	uint64		v;

	if (text == NULL)
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "max", 3) == 0 && (p[3] == '\0' || p[3] == '\n'))
	{
		*bytes = PGB_MEM_UNLIMITED;
		return true;
	}
	if (!read_u64(&p, &v))
		return false;
	if (*p != '\0' && *p != '\n')
		return false;
	*bytes = v >= V1_UNLIMITED_FLOOR ? PGB_MEM_UNLIMITED : v;
	return true;
}

bool
pgb_cgroup_memory_path(const char *proc_cgroup, char *buf, size_t buflen,
					   bool *v2)
{
	const char *found;
	size_t		foundlen;

	/* a path cut short would name another cgroup: refused */
	if (!pgb_cgroup_line_path(proc_cgroup, "memory", &found, &foundlen, v2) ||
		foundlen >= buflen)
		return false;
	memcpy(buf, found, foundlen);
	buf[foundlen] = '\0';
	return true;
}

uint64
pgb_mem_working_set(uint64 usage, uint64 inactive_file)
{
	return usage > inactive_file ? usage - inactive_file : 0;
}
