/*-------------------------------------------------------------------------
 *
 * queue_math.h
 *	  The transaction gate's arithmetic: a class's FIFO queue of waiting
 *	  backends (links by procno) and when a transaction may enter.
 *
 * c.h only: unit-tested without a server.  the gate (gate_shmem.c) keeps the queues in
 * shared memory and calls these under its own lock (rules in gate.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_QUEUE_MATH_H
#define PGB_QUEUE_MATH_H

#include "c.h"

/* A FIFO of ids (procnos); -1 ends a list. */
typedef struct PgbQueue
{
	int			head;
	int			tail;
	int			count;
} PgbQueue;

/* One link per id; an id is in at most one queue at a time. */
typedef struct PgbQueueLink
{
	int			prev;
	int			next;
	bool		queued;
} PgbQueueLink;

extern void pgb_queue_init(PgbQueue *q);
extern void pgb_queue_link_init(PgbQueueLink *link);

/* Append id at the tail; false if id is already queued. */
extern bool pgb_queue_push(PgbQueue *q, PgbQueueLink *links, int id);

/* Remove id wherever it is; false if it was not queued. */
extern bool pgb_queue_remove(PgbQueue *q, PgbQueueLink *links, int id);

/* Remove and return the head, or -1 when empty. */
extern int	pgb_queue_pop(PgbQueue *q, PgbQueueLink *links);


/*
 * The limit a class's transactions enter under: the configured active
 * limit, or the worker's lower effective one (PGB_UNLIMITED = none).
 */
extern int	pgb_gate_limit(int configured, int effective);

/*
 * May a transaction enter at once?  Only when the class is under its
 * limit and nobody is queued before it (first come, first served).
 */
extern bool pgb_gate_may_enter(int in_progress, int limit, int queued);

/* How many queued transactions a free slot count lets in now. */
extern int	pgb_gate_grantable(int in_progress, int limit, int queued);

/*
 * The retry-after hint of a queue timeout, in ms: base scaled by a jitter
 * factor in [0.5, 1.5) from unit in [0, 1), clamped to [1, one day].
 */
extern int	pgb_gate_retry_after_ms(int base_ms, double unit);

#endif							/* PGB_QUEUE_MATH_H */
