/*-------------------------------------------------------------------------
 *
 * altersystem.h
 *	  ALTER SYSTEM SET of pg_budget's settings checked before it is written
 *	  (altersystem.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_ALTERSYSTEM_H
#define PGB_ALTERSYSTEM_H

#include "postgres.h"

extern void pgb_altersystem_init(void);

#endif							/* PGB_ALTERSYSTEM_H */
