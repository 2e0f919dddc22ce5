-- The objects CREATE EXTENSION pg_budget makes: views, their columns and
-- types, the functions with their signatures and results, the admin role.
-- Run by t/053_pgtap.pl through pg_prove in a database that has pgtap and
-- pg_budget installed.
BEGIN;
SELECT plan(223);

SELECT has_extension('pg_budget', 'pg_budget is installed');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'pg_budget'),
	'0.4.0', 'pg_budget is at version 0.4.0');

-- pg_budget_status
SELECT has_view('public', 'pg_budget_status', 'view pg_budget_status exists');
SELECT has_column('public', 'pg_budget_status', c, 'pg_budget_status has column ' || c)
  FROM (VALUES ('class'),
			   ('max'),
			   ('effective_max'),
			   ('reserve'),
			   ('floor'),
			   ('priority'),
			   ('rate'),
			   ('burst'),
			   ('shed_policy'),
			   ('connected'),
			   ('active'),
			   ('idle'),
			   ('idle_in_transaction'),
			   ('lock_waiting'),
			   ('wal_waiting'),
			   ('wal_wait_share'),
			   ('lock_wait_share'),
			   ('pressure'),
			   ('admitted'),
			   ('rejected'),
			   ('rejected_cap'),
			   ('rejected_reserve'),
			   ('rejected_paused'),
			   ('rejected_rate'),
			   ('shed'),
			   ('shed_cancel'),
			   ('shed_terminate'),
			   ('paused'),
			   ('pause_mode'),
			   ('paused_since'),
			   ('is_default'),
			   ('configured'),
			   ('active_limit'),
			   ('effective_active'),
			   ('in_progress'),
			   ('queued'),
			   ('queue_timeouts'),
			   ('queue_wait_ms'),
			   ('queue_timeout_ms'),
			   ('transactions'),
			   ('queue_waits'),
			   ('let_through'),
			   ('in_progress_peak'),
			   ('wal_budget'),
			   ('effective_wal'),
			   ('wal_rate'),
			   ('wal_bytes'),
			   ('wal_throttles'),
			   ('wal_throttled_ms'),
			   ('cpu_weight'),
			   ('cpu_idle'),
			   ('cpu_ms'),
			   ('run_delay_ms'),
			   ('mem_bytes'),
			   ('mem_budget'),
			   ('session_mem_budget'),
			   ('enforce'),
			   ('warned'),
			   ('warned_cap'),
			   ('warned_reserve'),
			   ('warned_rate'),
			   ('warned_active'),
			   ('warned_wal'),
			   ('warned_shed'),
			   ('warned_memory'),
			   ('warned_runaway'),
			   ('warned_idle_blocker')) v(c);
SELECT col_type_is('public', 'pg_budget_status', c, t,
		'pg_budget_status.' || c || ' is ' || t)
  FROM (VALUES ('class', 'text'),
			   ('max', 'integer'),
			   ('effective_max', 'integer'),
			   ('reserve', 'integer'),
			   ('floor', 'integer'),
			   ('priority', 'integer'),
			   ('rate', 'double precision'),
			   ('burst', 'integer'),
			   ('shed_policy', 'text'),
			   ('connected', 'integer'),
			   ('active', 'integer'),
			   ('idle', 'integer'),
			   ('idle_in_transaction', 'integer'),
			   ('lock_waiting', 'integer'),
			   ('wal_waiting', 'integer'),
			   ('wal_wait_share', 'double precision'),
			   ('lock_wait_share', 'double precision'),
			   ('pressure', 'text'),
			   ('admitted', 'bigint'),
			   ('rejected', 'bigint'),
			   ('rejected_cap', 'bigint'),
			   ('rejected_reserve', 'bigint'),
			   ('rejected_paused', 'bigint'),
			   ('rejected_rate', 'bigint'),
			   ('shed', 'bigint'),
			   ('shed_cancel', 'bigint'),
			   ('shed_terminate', 'bigint'),
			   ('paused', 'boolean'),
			   ('pause_mode', 'text'),
			   ('paused_since', 'timestamp with time zone'),
			   ('is_default', 'boolean'),
			   ('configured', 'boolean'),
			   ('active_limit', 'integer'),
			   ('effective_active', 'integer'),
			   ('in_progress', 'integer'),
			   ('queued', 'integer'),
			   ('queue_timeouts', 'bigint'),
			   ('queue_wait_ms', 'double precision'),
			   ('queue_timeout_ms', 'integer'),
			   ('transactions', 'bigint'),
			   ('queue_waits', 'bigint'),
			   ('let_through', 'bigint'),
			   ('in_progress_peak', 'integer'),
			   ('wal_budget', 'bigint'),
			   ('effective_wal', 'bigint'),
			   ('wal_rate', 'double precision'),
			   ('wal_bytes', 'bigint'),
			   ('wal_throttles', 'bigint'),
			   ('wal_throttled_ms', 'double precision'),
			   ('cpu_weight', 'integer'),
			   ('cpu_idle', 'boolean'),
			   ('cpu_ms', 'double precision'),
			   ('run_delay_ms', 'double precision'),
			   ('mem_bytes', 'bigint'),
			   ('mem_budget', 'bigint'),
			   ('session_mem_budget', 'bigint'),
			   ('enforce', 'text'),
			   ('warned', 'bigint'),
			   ('warned_cap', 'bigint'),
			   ('warned_reserve', 'bigint'),
			   ('warned_rate', 'bigint'),
			   ('warned_active', 'bigint'),
			   ('warned_wal', 'bigint'),
			   ('warned_shed', 'bigint'),
			   ('warned_memory', 'bigint'),
			   ('warned_runaway', 'bigint'),
			   ('warned_idle_blocker', 'bigint')) v(c, t);
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_status'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['class', 'max', 'effective_max', 'reserve', 'floor', 'priority', 'rate', 'burst', 'shed_policy', 'connected', 'active', 'idle', 'idle_in_transaction', 'lock_waiting', 'wal_waiting', 'wal_wait_share', 'lock_wait_share', 'pressure', 'admitted', 'rejected', 'rejected_cap', 'rejected_reserve', 'rejected_paused', 'rejected_rate', 'shed', 'shed_cancel', 'shed_terminate', 'paused', 'pause_mode', 'paused_since', 'is_default', 'configured', 'active_limit', 'effective_active', 'in_progress', 'queued', 'queue_timeouts', 'queue_wait_ms', 'queue_timeout_ms', 'transactions', 'queue_waits', 'let_through', 'in_progress_peak', 'wal_budget', 'effective_wal', 'wal_rate', 'wal_bytes', 'wal_throttles', 'wal_throttled_ms', 'cpu_weight', 'cpu_idle', 'cpu_ms', 'run_delay_ms', 'mem_bytes', 'mem_budget', 'session_mem_budget', 'enforce', 'warned', 'warned_cap', 'warned_reserve', 'warned_rate', 'warned_active', 'warned_wal', 'warned_shed', 'warned_memory', 'warned_runaway', 'warned_idle_blocker'],
	'pg_budget_status has exactly these columns in this order');

-- pg_budget_backends
SELECT has_view('public', 'pg_budget_backends', 'view pg_budget_backends exists');
SELECT has_column('public', 'pg_budget_backends', c, 'pg_budget_backends has column ' || c)
  FROM (VALUES ('pid'), ('class'), ('role'), ('database'), ('superuser'), ('state'),
			   ('wait_event_type'), ('wait_event'), ('backend_start'),
			   ('admitted_at'), ('since'), ('queued'), ('cgroup'), ('cpu_boost'),
			   ('switched_to')) v(c);
SELECT col_type_is('public', 'pg_budget_backends', c, t,
		'pg_budget_backends.' || c || ' is ' || t)
  FROM (VALUES ('pid', 'integer'), ('class', 'text'), ('role', 'text'),
			   ('database', 'text'), ('superuser', 'boolean'), ('state', 'text'),
			   ('wait_event_type', 'text'), ('wait_event', 'text'),
			   ('backend_start', 'timestamp with time zone'),
			   ('admitted_at', 'timestamp with time zone'),
			   ('since', 'timestamp with time zone'),
			   ('queued', 'boolean'),
			   ('cgroup', 'text'), ('cpu_boost', 'text'), ('switched_to', 'text')) v(c, t);
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_backends'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['pid', 'class', 'role', 'database', 'superuser', 'state',
		  'wait_event_type', 'wait_event', 'backend_start', 'admitted_at', 'since',
		  'queued', 'cgroup', 'cpu_boost', 'classified_by', 'mem_bytes', 'switched_to'],
	'pg_budget_backends has exactly these columns in this order');

-- functions: signature and result
SELECT has_function('public', 'pg_budget_status', '{}'::name[],
	'pg_budget_status() exists');
SELECT function_returns('public', 'pg_budget_status', '{}'::name[], 'setof record',
	'pg_budget_status() returns setof record');
SELECT has_function('public', 'pg_budget_backend_classes', '{}'::name[],
	'pg_budget_backend_classes() exists');
SELECT function_returns('public', 'pg_budget_backend_classes', '{}'::name[], 'setof record',
	'pg_budget_backend_classes() returns setof record');
SELECT is(pg_get_function_arguments('public.pg_budget_backend_classes()'::regprocedure),
	'OUT pid integer, OUT class text, OUT roleid oid, OUT superuser boolean, OUT admitted_at timestamp with time zone, OUT queued boolean',
	'pg_budget_backend_classes() has these OUT columns');
SELECT has_function('public', 'pg_budget_pause', ARRAY['text', 'text'],
	'pg_budget_pause(text, text) exists');
SELECT function_returns('public', 'pg_budget_pause', ARRAY['text', 'text'], 'integer',
	'pg_budget_pause(text, text) returns integer, the sessions signalled');
SELECT is(pg_get_function_arguments('public.pg_budget_pause(text, text)'::regprocedure),
	'class text, mode text DEFAULT ''reject''::text',
	'pg_budget_pause takes class and mode, mode defaulting to reject');
SELECT hasnt_function('public', 'pg_budget_pause', ARRAY['text'],
	'there is no one-argument pg_budget_pause (the mode has a default instead)');
SELECT has_function('public', 'pg_budget_resume', ARRAY['text'],
	'pg_budget_resume(text) exists');
SELECT function_returns('public', 'pg_budget_resume', ARRAY['text'], 'void',
	'pg_budget_resume(text) returns void');
SELECT is(pg_get_function_arguments('public.pg_budget_resume(text)'::regprocedure),
	'class text', 'pg_budget_resume takes class');
SELECT has_function('public', 'pg_budget_reset', '{}'::name[],
	'pg_budget_reset() exists');
SELECT function_returns('public', 'pg_budget_reset', '{}'::name[], 'void',
	'pg_budget_reset() returns void');
SELECT has_function('public', 'pg_budget_admission_histogram', '{}'::name[],
	'pg_budget_admission_histogram() exists');
SELECT function_returns('public', 'pg_budget_admission_histogram', '{}'::name[], 'setof record',
	'pg_budget_admission_histogram() returns setof record');
SELECT is(pg_get_function_arguments('public.pg_budget_admission_histogram()'::regprocedure),
	'OUT lower_us double precision, OUT upper_us double precision, OUT logins bigint',
	'pg_budget_admission_histogram() has columns lower_us, upper_us, logins');
SELECT has_function('public', 'pg_budget_gate_histogram', '{}'::name[],
	'pg_budget_gate_histogram() exists');
SELECT function_returns('public', 'pg_budget_gate_histogram', '{}'::name[], 'setof record',
	'pg_budget_gate_histogram() returns setof record');
SELECT is(pg_get_function_arguments('public.pg_budget_gate_histogram()'::regprocedure),
	'OUT lower_us double precision, OUT upper_us double precision, OUT transactions bigint',
	'pg_budget_gate_histogram() has columns lower_us, upper_us, transactions');
SELECT has_function('public', 'pg_budget_cpu', '{}'::name[], 'pg_budget_cpu() exists');
SELECT is(pg_get_function_arguments('public.pg_budget_cpu()'::regprocedure),
	'OUT class text, OUT cpu_weight integer, OUT cpu_idle boolean, OUT cgroup text, OUT cpu_ms double precision, OUT run_delay_ms double precision',
	'pg_budget_cpu() has columns class, cpu_weight, cpu_idle, cgroup, cpu_ms, run_delay_ms');
SELECT has_function('public', 'pg_budget_backend_cgroups', '{}'::name[], 'pg_budget_backend_cgroups() exists');
SELECT is(pg_get_function_arguments('public.pg_budget_backend_cgroups()'::regprocedure),
	'OUT pid integer, OUT cgroup text, OUT cpu_boost text',
	'pg_budget_backend_cgroups() has columns pid, cgroup, cpu_boost');
SELECT has_function('public', 'pg_budget_backend_switches', '{}'::name[], 'pg_budget_backend_switches() exists');
SELECT is(pg_get_function_arguments('public.pg_budget_backend_switches()'::regprocedure),
	'OUT pid integer, OUT switched_to text',
	'pg_budget_backend_switches() has columns pid, switched_to');
SELECT has_function('public', 'pg_budget_rules', '{}'::name[], 'pg_budget_rules() exists');
SELECT is(pg_get_function_arguments('public.pg_budget_rules()'::regprocedure),
	'OUT "position" integer, OUT attribute text, OUT pattern text, OUT class text, OUT rule text, OUT in_force boolean, OUT classified bigint, OUT raised bigint',
	'pg_budget_rules() has columns position, attribute, pattern, class, rule, in_force, classified, raised');
SELECT has_function('public', 'pg_budget_backend_rules', '{}'::name[], 'pg_budget_backend_rules() exists');
SELECT is(pg_get_function_arguments('public.pg_budget_backend_rules()'::regprocedure),
	'OUT pid integer, OUT classified_by text',
	'pg_budget_backend_rules() has columns pid, classified_by');
SELECT has_view('public', 'pg_budget_rules', 'view pg_budget_rules exists');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_rules'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['position', 'attribute', 'pattern', 'class', 'rule', 'in_force', 'classified', 'raised'],
	'pg_budget_rules has exactly these columns in this order');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text
				  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
				 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_budget')
				   AND d.classid = 'pg_proc'::regclass
				 ORDER BY 1),
	ARRAY['pg_budget_admission_histogram()', 'pg_budget_backend_cgroups()', 'pg_budget_backend_classes()',
		  'pg_budget_backend_memory()', 'pg_budget_backend_rules()', 'pg_budget_backend_switches()',
		  'pg_budget_class_memory()', 'pg_budget_class_warned()', 'pg_budget_cpu()',
		  'pg_budget_events()', 'pg_budget_gate_histogram()', 'pg_budget_history()', 'pg_budget_lock_stats()',
		  'pg_budget_memory()', 'pg_budget_memory_history()',
		  'pg_budget_pause(text,text)', 'pg_budget_reset()', 'pg_budget_resume(text)', 'pg_budget_rules()',
		  'pg_budget_status()', 'pg_budget_wait_stats()', 'pg_budget_wal()'],
	'the extension has exactly these functions');

-- the statistics views
SELECT has_view('public', 'pg_budget_wait_stats', 'view pg_budget_wait_stats exists');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_wait_stats'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['class', 'wait_event_type', 'wait_event', 'category', 'samples', 'is_wal', 'is_lock'],
	'pg_budget_wait_stats has exactly these columns in this order');
SELECT function_returns('public', 'pg_budget_wait_stats', '{}'::name[], 'setof record',
	'pg_budget_wait_stats() returns setof record');
SELECT has_view('public', 'pg_budget_lock_stats', 'view pg_budget_lock_stats exists');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_lock_stats'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['waiter_class', 'blocker_class', 'waits', 'longest_wait_ms', 'inversions_acted'],
	'pg_budget_lock_stats has exactly these columns in this order');
SELECT function_returns('public', 'pg_budget_lock_stats', '{}'::name[], 'setof record',
	'pg_budget_lock_stats() returns setof record');
SELECT has_view('public', 'pg_budget_history', 'view pg_budget_history exists');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_history'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['at', 'class', 'connected', 'active', 'wal_waiting', 'lock_waiting', 'admitted', 'rejected', 'shed', 'admission_limit',
		  'in_progress', 'queued', 'queue_timeouts', 'active_limit', 'wal_rate', 'cpu_ms', 'run_delay_ms', 'mem_bytes'],
	'pg_budget_history has exactly these columns in this order');
SELECT function_returns('public', 'pg_budget_history', '{}'::name[], 'setof record',
	'pg_budget_history() returns setof record');
SELECT has_view('public', 'pg_budget_events', 'view pg_budget_events exists');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_events'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['at', 'class', 'pid', 'role', 'action', 'signal', 'reason', 'count'],
	'pg_budget_events has exactly these columns in this order');
SELECT function_returns('public', 'pg_budget_events', '{}'::name[], 'setof record',
	'pg_budget_events() returns setof record');

SELECT has_view('public', 'pg_budget_memory', 'view pg_budget_memory exists');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_memory'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['limit_bytes', 'use_bytes', 'guard_bytes', 'last_resort_bytes'],
	'pg_budget_memory has exactly these columns in this order');

SELECT has_view('public', 'pg_budget_wal', 'view pg_budget_wal exists');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
				 WHERE attrelid = 'public.pg_budget_wal'::regclass AND attnum > 0
				 ORDER BY attnum),
	ARRAY['class', 'wal_bytes', 'pseudo_class'],
	'pg_budget_wal has exactly these columns in this order');

-- the views answer
SELECT isnt_empty('SELECT * FROM pg_budget_status', 'pg_budget_status has rows');
SELECT ok((SELECT count(*) FROM pg_budget_backends WHERE pid = pg_backend_pid()) = 1,
	'pg_budget_backends shows this session');

-- no role: pg_dumpall skips roles named pg_*, and grants to them break restores
SELECT hasnt_role('pg_budget_admin', 'the extension creates no role pg_budget_admin');
SELECT is((SELECT count(*)::int FROM pg_roles WHERE rolname LIKE 'pg\_budget%'),
	0, 'no role named pg_budget* at all');

SELECT * FROM finish();
ROLLBACK;
