/*-------------------------------------------------------------------------
 *
 * act.h
 *	  Carrying out the worker's plan (act.c); included by act.c and
 *	  worker.c.  What backends call of act.c is in pg_budget.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_ACT_H
#define PGB_ACT_H

#include "postgres.h"

#include "plan.h"

extern int	pgb_act_on_plan(PgbPlan *plan, const PgbClassTable *table);

#endif							/* PGB_ACT_H */
