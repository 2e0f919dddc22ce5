/*-------------------------------------------------------------------------
 *
 * prepwatch.c
 *	  Prepared transactions by class (see prepwatch.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "guc.h"
#include "shmem.h"
#include "prepwatch.h"

typedef struct PgbPreparedRing
{
	slock_t		mutex;
	int			size;
	uint64		next;
	PgbPrepared items[FLEXIBLE_ARRAY_MEMBER];
} PgbPreparedRing;

static PgbPreparedRing *ring = NULL;

/* the same holder: the virtual transaction of its PGPROC */
#if PG_VERSION_NUM >= 170000
#define PGB_LOCKINST_SAME(a, b) \
	((a)->vxid.procNumber == (b)->vxid.procNumber && \
	 (a)->vxid.localTransactionId == (b)->vxid.localTransactionId)
#else
#define PGB_LOCKINST_SAME(a, b) \
	((a)->backend == (b)->backend && (a)->lxid == (b)->lxid)
#endif

static Size
prepwatch_shmem_size(void)
{
	return add_size(offsetof(PgbPreparedRing, items),
					mul_size(Max(max_prepared_xacts, 0), sizeof(PgbPrepared)));
}

/* Called with AddinShmemInitLock held (shmem.c). */
static void
prepwatch_shmem_startup(bool first pg_attribute_unused())
{
	bool		found;

	ring = ShmemInitStruct("pg_budget prepared", prepwatch_shmem_size(), &found);
	if (found)
		return;
	memset(ring, 0, prepwatch_shmem_size());
	SpinLockInit(&ring->mutex);
	ring->size = Max(max_prepared_xacts, 0);
}

static const PgbShmemPart prepwatch_shmem_part = {
	.size = prepwatch_shmem_size,
	.startup = prepwatch_shmem_startup,
};

static void
prepwatch_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	PgbBackendSlot *bslot;
	PgbPrepared rec;

	if (event != XACT_EVENT_PREPARE || ring == NULL || ring->size == 0 ||
		!pgb_admitted)
		return;
	rec.xid = GetTopTransactionIdIfAny();
	if (!TransactionIdIsValid(rec.xid))
		return;
	bslot = pgb_my_slot();
	if (bslot == NULL || bslot->pid != MyProcPid)
		return;
	rec.entry = bslot->class_idx;
	strlcpy(rec.role, bslot->rolename, sizeof(rec.role));
	rec.prepared_at = GetCurrentTimestamp();

	SpinLockAcquire(&ring->mutex);
	ring->items[ring->next % ring->size] = rec;
	ring->next++;
	SpinLockRelease(&ring->mutex);
}

static bool
find_xid(TransactionId xid, PgbPrepared *out)
{
	bool		found = false;
	int			i;

	SpinLockAcquire(&ring->mutex);
	for (i = 0; i < ring->size && !found; i++)
		if (ring->items[i].xid == xid)
		{
			*out = ring->items[i];
			found = true;
		}
	SpinLockRelease(&ring->mutex);
	return found;
}

bool
pgb_prepwatch_blocker(int procno, PgbPrepared *out)
{
	PGPROC	   *proc = &ProcGlobal->allProcs[procno];
	LOCK	   *lock = proc->waitLock;
	LOCKTAG		tag;
	LockData   *data;
	int			i;

	if (ring == NULL || ring->size == 0 || lock == NULL)
		return false;
	/* read without the partition lock: a hint, checked against the table */
	memcpy(&tag, &lock->tag, sizeof(LOCKTAG));
	data = GetLockStatusData();
	for (i = 0; i < data->nelements; i++)
	{
		LockInstanceData *inst = &data->locks[i];
		int			j;

		if (inst->pid != 0 || inst->holdMask == 0 ||
			memcmp(&inst->locktag, &tag, sizeof(LOCKTAG)) != 0)
			continue;

		/*
		 * A prepared transaction's PGPROC (pid 0) holds the lock: its xid
		 * is the tag of the transaction lock the same PGPROC holds.
		 */
		for (j = 0; j < data->nelements; j++)
		{
			LockInstanceData *own = &data->locks[j];

			if (own->pid == 0 && own->holdMask != 0 &&
				own->locktag.locktag_type == LOCKTAG_TRANSACTION &&
				PGB_LOCKINST_SAME(own, inst) &&
				find_xid((TransactionId) own->locktag.locktag_field1, out))
				return true;
		}
	}
	return false;
}

void
pgb_prepwatch_init(void)
{
	pgb_shmem_register(&prepwatch_shmem_part);
	RegisterXactCallback(prepwatch_xact_callback, NULL);
}
