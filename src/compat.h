/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Small shims over PostgreSQL version differences (14 through 18).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_COMPAT_H
#define PGB_COMPAT_H

#include "postgres.h"

#include "funcapi.h"
#include "portability/instr_time.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/proc.h"
#include "utils/guc.h"

#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#include "utils/acl.h"
#endif

/* Connections a non-superuser role may use at all. */
static inline int
pgb_usable_connections(void)
{
#if PG_VERSION_NUM >= 160000
	return MaxConnections - SuperuserReservedConnections - ReservedConnections;
#else
	return MaxConnections - ReservedBackends;
#endif
}

/*
 * The running max_connections and the slots held back from ordinary roles:
 * superuser_reserved_connections, and from 16 reserved_connections (0
 * before).
 */
static inline void
pgb_connection_settings(int *max_connections, int *superuser_reserved,
						int *reserved)
{
	*max_connections = MaxConnections;
#if PG_VERSION_NUM >= 160000
	*superuser_reserved = SuperuserReservedConnections;
	*reserved = ReservedConnections;
#else
	*superuser_reserved = ReservedBackends;
	*reserved = 0;
#endif
}

/* May the current role ALTER SYSTEM SET name?  (Grants of it from 15.) */
static inline bool
pgb_may_alter_system(const char *name)
{
#if PG_VERSION_NUM >= 150000
	return superuser() ||
		pg_parameter_aclcheck(name, GetUserId(), ACL_ALTER_SYSTEM) == ACLCHECK_OK;
#else
	return superuser();
#endif
}

/* A uniform random number in [0, 1). */
static inline double
pgb_random_unit(void)
{
#if PG_VERSION_NUM >= 150000
	return pg_prng_double(&pg_global_prng_state);
#else
	return (double) random() / ((double) MAX_RANDOM_VALUE + 1.0);
#endif
}

/*
 * Milliseconds on the monotonic clock: every interval the worker measures
 * (AIMD steps, shed rounds, re-examination, moving averages), so that a
 * step of the wall clock neither freezes nor hurries them.
 */
static inline int64
pgb_monotonic_ms(void)
{
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	return (int64) (INSTR_TIME_GET_DOUBLE(t) * 1000.0);
}

/* Index of a PGPROC in ProcGlobal->allProcs. */
#define PGB_PROCNO(proc)	((int) ((proc) - ProcGlobal->allProcs))

/* One aligned read of a field another process writes, as core does. */
#ifndef UINT32_ACCESS_ONCE
#define UINT32_ACCESS_ONCE(var)		((uint32)(*((volatile uint32 *)&(var))))
#endif

/*
 * Before 17 a PGPROC keeps its pid after its process exits; the latch
 * owner is cleared, so that tells a live one.  17 clears the pid.
 */
#if PG_VERSION_NUM >= 170000
#define PGB_PROC_IS_LIVE(proc)	true
#define PGB_PROC_LXID(proc)		((proc)->vxid.lxid)
#else
#define PGB_PROC_IS_LIVE(proc)	((proc)->procLatch.owner_pid != 0)
#define PGB_PROC_LXID(proc)		((proc)->lxid)
#endif

/*
 * GUC "extra" comes from guc_malloc (GUCMemoryContext) from 16 on, and must
 * be released with guc_free: free() on it corrupts the postmaster's heap.
 */
#if PG_VERSION_NUM >= 160000
#define pgb_guc_malloc(sz)	guc_malloc(LOG, (sz))
#define pgb_guc_free(ptr)	guc_free(ptr)
#else
#define pgb_guc_malloc(sz)	malloc(sz)
#define pgb_guc_free(ptr)	free(ptr)
#endif

/*
 * pg_budget's own wait events: from 17 on they have names of their own in
 * pg_stat_activity (type Extension); before, they show as "Extension".
 * Call after shared memory is attached (it registers the name there).
 */
#if PG_VERSION_NUM >= 170000
#include "utils/wait_event.h"
#define pgb_wait_event(name)	WaitEventExtensionNew(name)
#else
#define pgb_wait_event(name)	((void) (name), (uint32) PG_WAIT_EXTENSION)
#endif

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix)	EmitWarningsOnPlaceholders(prefix)
#endif

/* Materialize a set-returning function's result into rsinfo's tuplestore. */
#if PG_VERSION_NUM >= 150000
#define pgb_init_materialized_srf(fcinfo)	InitMaterializedSRF((fcinfo), 0)
#else
#include "miscadmin.h"
#include "utils/tuplestore.h"
static inline void
pgb_init_materialized_srf(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcontext;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));
	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(oldcontext);
}
#endif

#endif							/* PGB_COMPAT_H */
