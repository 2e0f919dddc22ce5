/*-------------------------------------------------------------------------
 *
 * act.h
 *	  Every signal pg_budget sends (act.c): the worker's plan carried out,
 *	  and pg_budget_pause's sessions.
 *
 * Locking rules
 * -------------
 * - Every signal goes through act.c, whoever sends it: the worker
 *	 carrying out its plan, or a backend running pg_budget_pause.  Both
 *	 write the victim slot's shed fields (shed_at, shed_reason, then
 *	 shed_pending) and send the signal, all under one exclusive hold after
 *	 checking the pid, the class and the exemption: a slot is cleared under
 *	 the lock before its process exits, so the pid signalled is the session
 *	 checked.  The LOG line and the event follow the release.  The victim's
 *	 emit_log_hook takes no lock: it swaps shed_pending to 0 and reads the
 *	 reason written before it was set (write barrier, then read barrier).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_ACT_H
#define PGB_ACT_H

#include "postgres.h"

#include "plan.h"
#include "shmem.h"

extern void pgb_act_init(void);
extern int	pgb_act_on_plan(PgbPlan *plan, const PgbClassTable *table);
extern bool pgb_act_cancel_for_memory(int procno, int pid, bool dry_run,
									  bool warn, bool even_exempt,
									  const char *message, const char *reason);
extern int	pgb_pause_sessions(int entry, PgbPauseMode mode, const char *reason,
							   int *refused);

#endif							/* PGB_ACT_H */
