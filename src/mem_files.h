/*-------------------------------------------------------------------------
 *
 * mem_files.h
 *	  The kernel's memory files, read without the kernel: a process's
 *	  private memory from /proc/<pid>/statm, the machine's from
 *	  /proc/meminfo, a cgroup's limit, usage and reclaimable page cache
 *	  (v1 and v2), and the memory line of /proc/<pid>/cgroup.
 *
 * Pure logic: includes nothing from the server beyond c.h; unit-tested in
 * test/unit/test_mem_files.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_MEM_FILES_H
#define PGB_MEM_FILES_H

#include "c.h"

/* No limit: v2's "max", v1's page-rounded LONG_MAX, or nothing found. */
#define PGB_MEM_UNLIMITED		UINT64CONST(0xFFFFFFFFFFFFFFFF)

/*
 * A process's private memory, as the OOM killer counts it: resident pages
 * less the shared ones (file-backed and shared memory), in bytes, from
 * the text of /proc/<pid>/statm ("size resident shared text lib data
 * dt", in pages).  False if the text is not that.
 */
extern bool pgb_statm_private_bytes(const char *statm, uint64 page_size,
									uint64 *bytes);

/*
 * The value of key in a "key value" file (memory.stat, /proc/meminfo
 * without the "kB" and the colon taken care of by the caller's key): the
 * number after the first line that starts with key and a blank or a
 * colon.  /proc/meminfo's values are in kB: the caller multiplies.
 */
extern bool pgb_mem_keyed_value(const char *text, const char *key, uint64 *value);

/*
 * A limit file's value: a number of bytes, or "max" (v2), or a number so
 * large that it means none (v1 writes LONG_MAX rounded to a page):
 * PGB_MEM_UNLIMITED.  False if it is neither.
 */
extern bool pgb_mem_limit_value(const char *text, uint64 *bytes);

/*
 * The memory controller's path in /proc/<pid>/cgroup: v1's line that
 * lists "memory", else v2's "0::" line; *v2 says which.  False if none.
 */
extern bool pgb_cgroup_memory_path(const char *proc_cgroup, char *buf,
								   size_t buflen, bool *v2);

/*
 * What the OOM killer will count against a limit: the usage less the
 * page cache the kernel can drop first (inactive file pages), never
 * below 0.
 */
extern uint64 pgb_mem_working_set(uint64 usage, uint64 inactive_file);

#endif							/* PGB_MEM_FILES_H */
