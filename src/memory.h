/*-------------------------------------------------------------------------
 *
 * memory.h
 *	  Memory by class (memory.c): the server's memory limit and use, each
 *	  session's private memory, the class budgets (mem=, session_mem=) and
 *	  the guard that cancels the lowest class's largest query before the
 *	  kernel's OOM killer ends every session.
 *
 * Locking rules
 * -------------
 * The memory part of the shared memory holds atomics only, written by the
 * worker alone and read lock-free by the views and the sampler: each value
 * is one atomic, and a reader may see one tick's value beside the next
 * one's.  A session's bytes are kept by procno and its pid beside them;
 * a reader takes the bytes only when the pid matches its own (a hint, as
 * pg_stat_activity's columns are).  The files of /proc and of the cgroup
 * are read by the worker under no lock; a cancel goes through act.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_MEMORY_H
#define PGB_MEMORY_H

#include "postgres.h"

#include "classes.h"
#include "snapshot.h"

extern void pgb_memory_init(void);

/* The worker: at its start and after each reload, find the limit. */
extern void pgb_memory_reload(bool at_start);

/* The worker, each tick: read the use, and the sessions when needed; act. */
extern void pgb_memory_tick(PgbSnapshot *snap, const PgbClassTable *table);

/*
 * The worker, after its tick: how long the guard can go without a tick (ms)
 * before its next reading of the server's memory is due; 0: every tick (a
 * growing session watched, or the use near its mark); -1: no bound (no
 * guard).  The calm tick is never longer (policy_math.h).
 */
extern int	pgb_memory_quiet_ms(int64 now_ms);

/* Readers (lock-free hints): a class entry's sessions, one session. */
extern uint64 pgb_memory_entry_bytes(int entry);

/*
 * The worker, once a second (pg_budget_history): the most a class entry's
 * sessions held together at any reading since the last call, and now.
 * Worker-local: readings of a query that grew and was cancelled within
 * the second are in it, where the second's end would miss them.
 */
extern uint64 pgb_memory_entry_peak(int entry);
extern bool pgb_memory_session_bytes(int procno, int pid, uint64 *bytes);

/* The server's use and limit as the worker last read them (0: unknown). */
extern void pgb_memory_server(uint64 *use, uint64 *limit);

#endif							/* PGB_MEMORY_H */
