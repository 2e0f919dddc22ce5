/*-------------------------------------------------------------------------
 *
 * visibility.c
 *	  Who may see what of other sessions: pg_stat_activity's rule, applied
 *	  by every view that shows a session or its class's live state.  No
 *	  shared state; catalog lookups, so never called under a pg_budget
 *	  lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "utils/acl.h"

#include "visibility.h"

/*
 * What the sessions of other roles are doing now (the sampled columns, the
 * gate's transactions in progress and queued) is shown to whoever
 * pg_stat_activity shows all states to.
 */
bool
pgb_can_read_all_stats(void)
{
	return has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

/*
 * pg_stat_activity's rule for the details of a session of role roleid
 * (HAS_PGSTAT_PERMISSIONS in pgstatfuncs.c): the caller has the
 * privileges of that role, or of pg_read_all_stats.
 */
bool
pgb_may_see_session(Oid roleid, bool all_stats)
{
	return all_stats || has_privs_of_role(GetUserId(), roleid);
}
