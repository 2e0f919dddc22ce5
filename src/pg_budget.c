/*-------------------------------------------------------------------------
 *
 * pg_budget.c
 *	  Module entry point: _PG_init only delegates to the subsystems.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "gate.h"
#include "memory.h"
#include "rules.h"
#include "runaway.h"
#include "guc.h"
#include "shmem.h"
#include "admission.h"
#include "events.h"
#include "sampler.h"
#include "act.h"
#include "cgroup.h"
#include "altersystem.h"
#include "worker.h"
#include "prepwatch.h"
#include "walbudget.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	/*
	 * Everything pg_budget does needs shared memory and hooks installed in
	 * the postmaster; loaded any other way, the SQL functions say so.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;
	if (IsBinaryUpgrade)
		return;

	pgb_guc_init();
	/* after the class table, which its start check reads */
	pgb_rules_init();
	pgb_guc_seal();
	pgb_cgroup_init();
	pgb_events_init();
	pgb_wait_stats_init();
	pgb_admission_init();
	pgb_act_init();
	pgb_memory_init();
	pgb_gate_init();
	pgb_walbudget_init();
	pgb_runaway_switch_init();
	pgb_prepwatch_init();
	pgb_altersystem_init();
	pgb_worker_register();
	/* last: the files above have registered their shared memory parts */
	pgb_shmem_init();
}
