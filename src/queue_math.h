/*-------------------------------------------------------------------------
 *
 * queue_math.h
 *	  The transaction gate's arithmetic: a class's FIFO queue of waiting
 *	  backends (links by procno) and when a transaction may enter.
 *
 * c.h only: unit-tested without a server.  gate.c keeps the queues in
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

/* Position of id from the head (0 = next to enter), or -1. */
extern int	pgb_queue_position(const PgbQueue *q, const PgbQueueLink *links, int id);

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

/*
 * The WAL budget: a bucket of bytes refilled at rate bytes a second up to
 * its burst, charged with the WAL a class's transactions wrote, which may
 * put it in debt (below 0).  The burst is one second of budget, at least
 * 64 kB: a class writes in bursts of up to a second's worth, and a
 * transaction bigger than that leaves a debt its next ones wait out.
 */
#define PGB_WAL_BURST_MIN		(64.0 * 1024)
extern double pgb_wal_burst(double rate);
extern double pgb_wal_refill(double tokens, double rate, double elapsed_us);

/* How long a transaction waits before the bucket is out of debt (ms). */
extern double pgb_wal_wait_ms(double tokens, double rate);

/* The rate in force: the lower of the configured and the worker's (0: none). */
extern double pgb_wal_limit(double configured, double effective);

#endif							/* PGB_QUEUE_MATH_H */
