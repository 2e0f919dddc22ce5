/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Small shims over PostgreSQL version differences (15 through 18).
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
#include "common/pg_prng.h"
#include "utils/acl.h"

#if PG_VERSION_NUM < 150000
#error "pg_budget needs PostgreSQL 15 or later"
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

/* May the current role ALTER SYSTEM SET name? */
static inline bool
pgb_may_alter_system(const char *name)
{
	return superuser() ||
		pg_parameter_aclcheck(name, GetUserId(), ACL_ALTER_SYSTEM) == ACLCHECK_OK;
}

/* A uniform random number in [0, 1). */
static inline double
pgb_random_unit(void)
{
	return pg_prng_double(&pg_global_prng_state);
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
#include "utils/wait_event.h"
#if PG_VERSION_NUM >= 170000
#define pgb_wait_event(name)	WaitEventExtensionNew(name)
#else
#define pgb_wait_event(name)	((void) (name), (uint32) PG_WAIT_EXTENSION)
#endif

/* Materialize a set-returning function's result into rsinfo's tuplestore. */
#define pgb_init_materialized_srf(fcinfo)	InitMaterializedSRF((fcinfo), 0)

#endif							/* PGB_COMPAT_H */
