/*-------------------------------------------------------------------------
 *
 * warn.c
 *	  Warn mode: what a limit of a class with enforce=warn would have done,
 *	  counted by reason and recorded as an event, in place of doing it.
 *	  The callers judge as usual (admission.c, the gate's waits, act.c for
 *	  the worker's signals) and call here where they would have acted.
 *	  Locking rules: warn.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "events.h"
#include "shmem.h"
#include "warn.h"

void
pgb_warn_count(int entry, PgbWarnReason reason)
{
	if (pgb_shared == NULL || entry < 0 || entry >= PGB_MAX_SHARED_CLASSES ||
		reason < 0 || reason >= PGB_NUM_WARN_REASONS)
		return;
	pg_atomic_fetch_add_u64(&pgb_shared->classes[entry].warned[reason], 1);
}

void
pgb_warn_event(const char *class, int pid, const char *role,
			   const char *would, PgbWarnReason reason, const char *detail)
{
	char		action[24];

	snprintf(action, sizeof(action), "warn: %s", would);
	pgb_refusal(class, pid, role, action, pgb_warn_reason_name(reason), detail);
}

void
pgb_warn(int entry, const char *class, int pid, const char *role,
		 const char *would, PgbWarnReason reason, const char *detail)
{
	pgb_warn_count(entry, reason);
	pgb_warn_event(class, pid, role, would, reason, detail);
}
