/*-------------------------------------------------------------------------
 *
 * state.h
 *	  pg_budget's shared memory: per-class counters and per-backend slots.
 *
 * Locking rules
 * -------------
 * One LWLock (tranche "pg_budget") protects everything below except the
 * admission-time histogram, which is atomics only.
 *
 * - Admission, slot release, pause/resume and reset take the lock
 *	 EXCLUSIVE, do O(classes) arithmetic and release it.  Nothing that can
 *	 throw an error, allocate memory or read a catalog runs while it is held:
 *	 the refusal FATAL is raised after the lock is released.
 * - Readers (the views) take it SHARED, copy what they need into local
 *	 memory, release, and only then build their rows.
 * - A class entry's name changes only under the exclusive lock, and an
 *	 entry with connected > 0 is never renamed or recycled, so a backend
 *	 slot may keep the index of its class entry for its whole life.
 * - A backend slot is written only by its own backend (at admission and at
 *	 exit), under the exclusive lock.
 *
 * After a crash of any backend the postmaster re-creates shared memory, so
 * every count starts again from zero together with the sessions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_STATE_H
#define PGB_STATE_H

#include "postgres.h"

#include "admit.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/* Configured classes plus room for removed ones that still hold sessions. */
#define PGB_MAX_SHARED_CLASSES	(2 * (PGB_MAX_CLASSES + 1))

/* Admission-time histogram: 0.1 us buckets up to 200 us, then overflow. */
#define PGB_HIST_BUCKET_NS		100
#define PGB_HIST_BUCKETS		2001

typedef enum PgbPauseMode
{
	PGB_PAUSE_NONE = 0,
	PGB_PAUSE_REJECT,
	PGB_PAUSE_CANCEL,
	PGB_PAUSE_TERMINATE
} PgbPauseMode;

typedef struct PgbClassState
{
	char		name[NAMEDATALEN];	/* "" = free entry */
	int			connected;		/* sessions admitted and not yet gone */
	PgbPauseMode paused;
	TimestampTz paused_at;
	double		tokens;			/* rate bucket */
	TimestampTz tokens_at;		/* when tokens was last refilled */
	uint64		admitted;
	uint64		rejected[PGB_NUM_REJECT_REASONS];	/* by PgbVerdict - 1 */
	uint64		shed;
} PgbClassState;

typedef struct PgbBackendSlot
{
	int			pid;			/* 0 = slot not in use */
	int			class_idx;		/* index into classes[] */
	Oid			roleid;
	bool		superuser;
	TimestampTz admitted_at;
} PgbBackendSlot;

typedef struct PgbShared
{
	LWLock	   *lock;
	uint32		generation;		/* bumped when an entry is named or freed */
	int			total_connected;	/* sum of classes[].connected */
	TimestampTz reset_at;
	PgbClassState classes[PGB_MAX_SHARED_CLASSES];
	pg_atomic_uint64 hist[PGB_HIST_BUCKETS];
	int			nslots;
	PgbBackendSlot slots[FLEXIBLE_ARRAY_MEMBER];
} PgbShared;

#endif							/* PGB_STATE_H */
