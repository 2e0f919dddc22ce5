/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  pg_budget's settings (guc.c): the values in force in this process, the
 *	  class table they make, and the class this backend was admitted under.
 *	  Process-local; each process reads its own copy, set at start and at
 *	  each reload.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_GUC_H
#define PGB_GUC_H

#include "postgres.h"

#include "classes.h"

/* pg_budget.shedding takes PgbShedding values */
extern bool pgb_enabled;
extern bool pgb_exempt_superusers;
extern int	pgb_retry_after;
extern char *pgb_default_class;
extern int	pgb_shedding;
extern int	pgb_sample_interval;
extern int	pgb_lock_wait_threshold;
extern int	pgb_lock_stats_threshold;
extern int	pgb_pressure_window;
extern double pgb_wal_pressure_threshold;
extern double pgb_saturation_threshold;
extern double pgb_lock_pressure_threshold;
extern double pgb_aimd_decrease;
extern double pgb_aimd_increase;
extern int	pgb_aimd_interval;
extern int	pgb_calm_time;
extern int	pgb_max_actions;
extern int	pgb_history_seconds;
extern int	pgb_events_max;
extern int	pgb_queue_timeout;
extern double pgb_cpu_pressure_threshold;
extern double pgb_run_delay_target;
extern double pgb_commit_latency_target;
extern double pgb_wal_rate_floor;	/* bytes a second */
extern char *pgb_cgroup;		/* "" = no CPU weights */
extern uint64 pgb_memory_limit;	/* bytes; 0 = auto */
extern double pgb_memory_guard; /* share of the limit; 0 = off */

/*
 * This backend was admitted (admission.c sets it once): from then on its
 * pg_budget.class can not change, and the gate and the WAL budget judge
 * its transactions.
 */
extern bool pgb_admitted;

/* Define the settings; then the other files define theirs (pg_budget.c). */
extern void pgb_guc_init(void);

/* After every pg_budget.* setting is defined: reserve the prefix, check. */
extern void pgb_guc_seal(void);

extern const PgbClassTable *pgb_current_table(int *default_idx);
extern uint32 pgb_classes_generation;	/* moves when the table may have */

#endif							/* PGB_GUC_H */
