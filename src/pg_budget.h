/*-------------------------------------------------------------------------
 *
 * pg_budget.h
 *	  What the server-side files of pg_budget share, one section per file.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BUDGET_H
#define PG_BUDGET_H

#include "postgres.h"

#include "classes.h"
#include "state.h"

/* guc.c */
extern bool pgb_enabled;
extern bool pgb_exempt_superusers;
extern int	pgb_retry_after;
extern char *pgb_default_class;
extern void pgb_guc_init(void);
extern const PgbClassTable *pgb_current_table(int *default_idx);

/* shmem.c */
extern PgbShared *pgb_shared;
extern void pgb_shmem_init(void);
extern void pgb_require_shmem(void);
extern int	pgb_class_entry(const char *name, bool create);
extern void pgb_map_classes(const PgbClassTable *table, int *map, bool create);
extern PgbBackendSlot *pgb_my_slot(void);

/* admission.c */
extern bool pgb_admitted;
extern void pgb_admission_init(void);

#endif							/* PG_BUDGET_H */
