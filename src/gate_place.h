/*-------------------------------------------------------------------------
 *
 * gate_place.h
 *	  Inside the gate (gate_*.c only): this backend's place and its waits.
 *	  The backend-local state below is this process's own; the shared
 *	  state these functions write is under the gate lock (gate.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_GATE_PLACE_H
#define PGB_GATE_PLACE_H

#include "postgres.h"

#include "classes.h"
#include "gate.h"

/* The entry whose in_progress this backend counts in, or -1. */
extern int	pgb_gate_held_entry;

/* The entry whose queue (or WAL wait) this backend may be in, or -1. */
extern int	pgb_gate_queued_entry;

/*
 * This transaction was found exempt (a superuser while exempt_superusers
 * is on): it is not looked at again until it ends, so that the function
 * executions of an exempt session cost one test each.
 */
extern bool pgb_gate_xact_exempt;

/* gate_shmem.c */
extern void pgb_gate_shmem_init(void);

/* gate_shmem.c: steps under the gate lock held exclusively */
extern int	pgb_gate_my_procno(void);
extern void pgb_gate_unqueue_locked(PgbGateClass *gc, int procno, bool popped,
									TimestampTz now);
extern void pgb_gate_counted_in(PgbGateClass *gc, uint32 now_in);
extern int	pgb_gate_grant_locked(int entry, int limit);

/* gate_place.c */
extern void pgb_gate_hold_place(int entry, uint32 now_in);
extern void pgb_gate_set_holding(bool holding);
extern void pgb_gate_leave_wait(void);
extern void pgb_gate_leave(void);
extern void pgb_gate_register_exit(void);
extern void pgb_gate_check_client(void);
extern void pgb_gate_slot_wait_locked(PgbGateSlot *slot, int entry,
									  PgbGateState state);
extern void pgb_gate_slot_out(PgbGateSlot *slot);
extern void pgb_gate_run_wait(void (*loop) (void *arg), void *arg);

/* gate_queue.c */
extern void pgb_gate_wait_for_turn(const PgbClass *c, int entry, int procno,
								   int limit, int timeout_ms);
extern void pgb_gate_refuse(const PgbClass *c, int limit, int waited_ms,
							int in_progress, int queued, int timeout_ms);

/* gate_walwait.c */
extern void pgb_gate_wait_for_wal(const PgbClass *c, int entry, int procno,
								  double rate);

#endif							/* PGB_GATE_PLACE_H */
