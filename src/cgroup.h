/*-------------------------------------------------------------------------
 *
 * cgroup.h
 *	  CPU by class through the kernel's cgroups: the class cgroups under
 *	  pg_budget.cgroup and their weights (cgroup.c), a backend's placement,
 *	  CPU boosts of lock holders (cgroup_boost.c) and CPU time and run delay
 *	  by class (cgroup_cpu.c).  What needs no kernel is pure (cgroup_math.c,
 *	  boost_math.c); the file operations are in cgroup_fs.c.
 *
 * Locking rules
 * -------------
 * - The CPU weights in force (cpu: what cgroup.c last set up under
 *	 pg_budget.cgroup) are written by the postmaster when it creates
 *	 shared memory (no other process exists then) and by the worker after
 *	 each reload, in one exclusive hold of the main lock that copies a
 *	 struct built in local memory.  The file work (mkdir, writes, rmdir)
 *	 is done before, under no lock.  Admission reads its class's entry
 *	 in the exclusive hold it takes anyway (a name lookup); the views read
 *	 it under the shared lock.  A backend moves itself into its class's
 *	 cgroup after admission has released the lock: one write(2) to
 *	 cgroup.procs, under no pg_budget lock.
 *
 * - A CPU boost (boost_math.h) is the one write of the worker into a
 *	 backend slot: cgroup.c checks the slot's pid, writes the pid into
 *	 the cgroup's procs file and sets cpu_boost, all under one SHARED hold
 *	 of the main lock, so that the pid moved is the session checked (a
 *	 slot is cleared under the exclusive lock before its process exits)
 *	 and no login waits on more than that one write.  cpu_boost is an
 *	 atomic, read without the lock by the session itself (which does not
 *	 place itself once boosted) and by the views under the shared lock;
 *	 the backend zeroes it at admission and release, under the exclusive
 *	 lock.
 *
 * - A class entry's cpu_ms and run_delay_ms are added to by the worker
 *	 once a second (cgroup.c: the files of /proc are read under no lock,
 *	 the sums added in one exclusive hold) and zeroed by reset.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_CGROUP_H
#define PGB_CGROUP_H

#include "postgres.h"

#include "boost_math.h"
#include "shmem.h"
#include "snapshot.h"

/* set-up and placement (cgroup.c) */
extern void pgb_cgroup_init(void);
extern void pgb_cgroup_worker_start(void);
extern void pgb_cgroup_reload(void);
extern bool pgb_cgroup_in_force(const char *class_name);
extern void pgb_cgroup_place(const char *class_name);

/* what is in force, and CPU time by class (cgroup_cpu.c) */
extern bool pgb_cgroup_configured(void);
extern bool pgb_cpu_state_has(const PgbCpuState *state, const char *name);
extern void pgb_cgroup_tick(PgbSnapshot *snap);
extern void pgb_cpu_sample(PgbSnapshot *snap);

/* CPU boosts (cgroup_boost.c) */
extern bool pgb_cgroup_move_slot(int procno, int pid, int entry, int boost,
								 bool *gone, char *err, size_t errlen);
extern void pgb_cgroup_boost(PgbBoostPlan *plan, PgbSnapshot *snap);
extern void pgb_cgroup_unboost_all(void);


#endif							/* PGB_CGROUP_H */
