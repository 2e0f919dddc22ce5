/*-------------------------------------------------------------------------
 *
 * lockwatch.h
 *	  Who blocks whom (lockwatch.c): the worker looks up the blockers of the
 *	  longest lock waits, only when a wait is long.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_LOCKWATCH_H
#define PGB_LOCKWATCH_H

#include "postgres.h"

#include "sampler.h"

extern void pgb_lookup_blockers(PgbTick *tick);

#endif							/* PGB_LOCKWATCH_H */
