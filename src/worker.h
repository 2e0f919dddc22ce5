/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The background worker (worker.c): the tick's loop.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_WORKER_H
#define PGB_WORKER_H

#include "postgres.h"

extern void pgb_worker_register(void);

#endif							/* PGB_WORKER_H */
