-- What the views show for the class table of test/regress.conf.
SELECT class, max, effective_max, reserve, floor, priority, rate, burst,
	   shed_policy, paused, pause_mode, is_default, configured
  FROM pg_budget_status ORDER BY priority DESC, class;

-- The transaction gate: ai has active=2 and its own queue_timeout; the
-- others wait up to pg_budget.queue_timeout.  This exempt superuser
-- session never enters the gate.
SELECT class, active_limit, effective_active, queue_timeout_ms, in_progress,
	   queued, queue_timeouts, let_through
  FROM pg_budget_status ORDER BY priority DESC, class;
SELECT queued FROM pg_budget_backends WHERE pid = pg_backend_pid();

-- Without pg_budget.cgroup no CPU weight is in force.
SELECT class, cpu_weight, cpu_idle FROM pg_budget_status ORDER BY priority DESC, class;
SELECT count(*) AS weights_in_force FROM pg_budget_cpu() WHERE cpu_weight IS NOT NULL OR cpu_idle;
-- CPU time and run delay by class, since reset (a superuser reads them).
SELECT class, cpu_ms >= 0 AS cpu_ms, run_delay_ms >= 0 AS run_delay_ms
  FROM pg_budget_status ORDER BY priority DESC, class;

-- This superuser session has no class: it is counted in the default class.
SHOW pg_budget.class;
SELECT class, superuser, role = current_user AS is_me
  FROM pg_budget_backends WHERE pid = pg_backend_pid();
SELECT connected >= 1 AS counted, admitted >= 1 AS admitted
  FROM pg_budget_status WHERE class = 'default';

-- The worker is running and samples this session.
SELECT count(*) AS workers FROM pg_stat_activity WHERE backend_type = 'pg_budget worker';

-- The settings pg_budget defines, with their defaults.
SELECT name, setting, unit, context FROM pg_settings
 WHERE name LIKE 'pg_budget.%' AND name <> 'pg_budget.classes' ORDER BY name;
