/*-------------------------------------------------------------------------
 *
 * visibility.h
 *	  Who may see what of other sessions (visibility.c): pg_stat_activity's
 *	  rule, applied by every view that shows a session.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_VISIBILITY_H
#define PGB_VISIBILITY_H

#include "postgres.h"

/* May the caller see every session's state (pg_read_all_stats)? */
extern bool pgb_can_read_all_stats(void);

/*
 * May the caller see the details of a session of role roleid?  all_stats
 * is pgb_can_read_all_stats(), asked once per scan.  Catalog lookups: never
 * under a pg_budget lock.
 */
extern bool pgb_may_see_session(Oid roleid, bool all_stats);

#endif							/* PGB_VISIBILITY_H */
