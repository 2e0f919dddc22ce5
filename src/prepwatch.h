/*-------------------------------------------------------------------------
 *
 * prepwatch.h
 *	  Prepared transactions by class: at PREPARE TRANSACTION a session
 *	  records its transaction's xid, class, role and time, so that a
 *	  prepared transaction that blocks another session can be named with
 *	  its class and age (a prepared transaction has no backend: core shows
 *	  it as pid 0).
 *
 * Locking rules
 * -------------
 * The table is a ring of max_prepared_transactions records guarded by its
 * own spinlock, held only to copy one record in or out; the lookup of the
 * blocker (GetLockStatusData) runs without it.  The oldest record is
 * overwritten when the ring is full; records are in shared memory only,
 * so a transaction prepared before a restart is not known (its blocker
 * shows as "(system)").
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_PREPWATCH_H
#define PGB_PREPWATCH_H

#include "postgres.h"

#include "storage/proc.h"
#include "utils/timestamp.h"

typedef struct PgbPrepared
{
	TransactionId xid;			/* InvalidTransactionId: free */
	int			entry;			/* class entry of the session that prepared */
	char		role[NAMEDATALEN];
	TimestampTz prepared_at;
} PgbPrepared;

extern void pgb_prepwatch_init(void);

/*
 * The prepared transaction that holds a lock on what the backend at
 * procno waits for, if one is known: true and *out filled.  Takes every
 * lock partition (GetLockStatusData): call it only when core named a
 * prepared transaction (pid 0) among the blockers.
 */
extern bool pgb_prepwatch_blocker(int procno, PgbPrepared *out);

#endif							/* PGB_PREPWATCH_H */
