/*-------------------------------------------------------------------------
 *
 * queue_math.c
 *	  The transaction gate's FIFO queues and entry arithmetic.  Pure C
 *	  with no server calls; the caller holds whatever guards the queue.
 *
 *-------------------------------------------------------------------------
 */
#include "queue_math.h"

#include <math.h>

#include "classes.h"

void
pgb_queue_init(PgbQueue *q)
{
	q->head = -1;
	q->tail = -1;
	q->count = 0;
}

void
pgb_queue_link_init(PgbQueueLink *link)
{
	link->prev = -1;
	link->next = -1;
	link->queued = false;
}

bool
pgb_queue_push(PgbQueue *q, PgbQueueLink *links, int id)
{
	PgbQueueLink *l = &links[id];

	if (l->queued)
		return false;
	l->prev = q->tail;
	l->next = -1;
	l->queued = true;
	if (q->tail >= 0)
		links[q->tail].next = id;
	else
		q->head = id;
	q->tail = id;
	q->count++;
	return true;
}

bool
pgb_queue_remove(PgbQueue *q, PgbQueueLink *links, int id)
{
	PgbQueueLink *l = &links[id];

	if (!l->queued)
		return false;
	if (l->prev >= 0)
		links[l->prev].next = l->next;
	else
		q->head = l->next;
	if (l->next >= 0)
		links[l->next].prev = l->prev;
	else
		q->tail = l->prev;
	pgb_queue_link_init(l);
	q->count--;
	return true;
}

int
pgb_queue_pop(PgbQueue *q, PgbQueueLink *links)
{
	int			id = q->head;

	if (id < 0)
		return -1;
	(void) pgb_queue_remove(q, links, id);
	return id;
}

int
pgb_gate_limit(int configured, int effective)
{
	if (configured == PGB_UNLIMITED)
		return effective;
	if (effective == PGB_UNLIMITED)
		return configured;
	return Min(configured, effective);
}

bool
pgb_gate_may_enter(int in_progress, int limit, int queued)
{
	if (queued > 0)
		return false;
	return limit == PGB_UNLIMITED || in_progress < limit;
}

int
pgb_gate_grantable(int in_progress, int limit, int queued)
{
	if (queued <= 0)
		return 0;
	if (limit == PGB_UNLIMITED)
		return queued;
	if (in_progress >= limit)
		return 0;
	return Min(queued, limit - in_progress);
}

int
pgb_gate_retry_after_ms(int base_ms, double unit)
{
	double		ms;

	if (isnan(unit) || unit < 0)
		unit = 0;
	if (unit >= 1)
		unit = 0.999999;
	ms = (double) base_ms * (0.5 + unit);
	if (isnan(ms) || ms < 1)
		return 1;
	if (ms > 86400000.0)
		return 86400000;
	return (int) ms;
}
