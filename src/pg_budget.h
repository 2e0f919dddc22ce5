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

#include "portability/instr_time.h"

#include "classes.h"
#include "state.h"

/* guc.c (pg_budget.shedding takes PgbShedding values) */
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
extern void pgb_guc_init(void);
extern const PgbClassTable *pgb_current_table(int *default_idx);
extern uint32 pgb_classes_generation;	/* moves when the table may have */

/*
 * shmem.c.  A file with shared memory of its own registers its part from
 * its init in _PG_init, before pgb_shmem_init: shmem.c requests the size
 * and the tranche and calls startup (with AddinShmemInitLock held; first:
 * the main struct was made now, at start or after a crash) and forget (a
 * class entry is reused for another class: drop what the part kept of it;
 * the main lock is held exclusively) and knows nothing else of it.
 */
typedef struct PgbShmemPart
{
	Size		(*size) (void); /* bytes it needs, or NULL */
	void		(*startup) (bool first);
	void		(*forget) (int group);
	const char *tranche;		/* LWLocks of its own: the tranche, or NULL */
	int			nlocks;
} PgbShmemPart;
extern void pgb_shmem_register(const PgbShmemPart *part);
extern PgbShared *pgb_shared;
extern PgbHistory *pgb_history;
extern const char *pgb_group_name(int group);
extern void pgb_forget_group(int group);
extern void pgb_shmem_init(void);
extern void pgb_require_shmem(void);
extern int	pgb_class_entry(const char *name, bool create);
extern void pgb_map_classes(const PgbClassTable *table, int *map, bool create);
extern PgbBackendSlot *pgb_my_slot(void);
extern void pgb_hist_record(pg_atomic_uint64 *hist, instr_time start);

/* text.c: strlcpy that never cuts a character in two (rule in text.c) */
extern void pgb_strlcpy_mb(char *dst, const char *src, size_t size);

/* sqlfuncs.c */
extern bool pgb_can_read_all_stats(void);

/* admission.c */
extern bool pgb_admitted;
extern void pgb_admission_init(void);

/* events.c: the rings behind pg_budget_events */
extern PgbEventRing *pgb_actions;
extern PgbEventRing *pgb_refusals;
extern void pgb_events_init(void);
/* never with the main lock held (state.h) */
extern void pgb_event(const char *class, int pid, const char *role,
					  const char *action, const char *signal,
					  const char *reason);
/* a refusal caused by a client: counted by class, action, signal, second */
extern void pgb_refusal(const char *class, int pid, const char *role,
						const char *action, const char *signal,
						const char *reason);

/* sampler.c: the wait statistics' part of the shared memory */
extern void pgb_wait_stats_init(void);

/* act.c */
extern void pgb_act_init(void);
extern int	pgb_pause_sessions(int entry, PgbPauseMode mode, const char *reason,
							   int *refused);

/* cgroup.c: CPU weights by class (rules in cgroup.c and state.h) */
extern void pgb_cgroup_init(void);
extern void pgb_cgroup_worker_start(void);
extern void pgb_cgroup_reload(void);
extern bool pgb_cgroup_in_force(const char *class_name);
extern void pgb_cgroup_place(const char *class_name);

/* rules.c: pg_budget.rules (counters under the main lock, state.h) */
extern void pgb_rules_init(void);
extern const PgbRuleSet *pgb_current_rules(void);
extern int	pgb_rules_classify(const PgbClassTable *table, int *self,
							   uint64 *raised);
extern const char *pgb_rules_text(int pos);
extern void pgb_rules_count(int pos, uint64 raised);
extern void pgb_rules_reset(void);
extern void pgb_rules_report(void);
extern const char *pgb_class_source(bool named_class_found);

/* altersystem.c */
extern void pgb_altersystem_init(void);

/* worker.c */
extern void pgb_worker_register(void);

#endif							/* PG_BUDGET_H */
