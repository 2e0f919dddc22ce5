/* pg_budget--0.3.0--0.4.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_budget UPDATE TO '0.4.0'" to load this file. \quit

-- The one update script of release 0.4.0, and a step of its install too:
-- CREATE EXTENSION pg_budget runs pg_budget--0.2.0.sql, then
-- pg_budget--0.2.0--0.3.0.sql, then this file, so a fresh 0.4.0 and an
-- updated one are made by the same statements.  This release drops no
-- object: views are replaced (their columns, comments and grants stay,
-- new columns come last) and new functions get their grants here, so the
-- DBA's grants need no carrying over.

------------------------------------------------------------------------
-- Memory by class
------------------------------------------------------------------------

-- pg_budget_memory: the server's memory limit (its cgroup's, the
-- machine's, or pg_budget.memory_limit), its use as the OOM killer will
-- count it, and the guard's marks.  pg_budget_status gains mem_bytes (the
-- private memory of the class's sessions, shown as the sampled columns
-- are), mem_budget and session_mem_budget (the class keys mem and
-- session_mem, NULL when unset); pg_budget_backends gains mem_bytes (NULL
-- where pg_stat_activity hides the session's details); pg_budget_history
-- gains mem_bytes by second and class.
CREATE FUNCTION pg_budget_memory(
	OUT limit_bytes bigint,
	OUT use_bytes bigint,
	OUT guard_bytes bigint,
	OUT last_resort_bytes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_memory'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_memory() IS
	'pg_budget: the server''s memory limit and use as the worker last read them, and the memory guard''s marks (NULL when it is off)';

CREATE VIEW pg_budget_memory AS
	SELECT * FROM pg_budget_memory();

COMMENT ON VIEW pg_budget_memory IS
	'pg_budget: the server''s memory limit, its use (less the page cache the kernel can drop) and the memory guard''s marks';

GRANT SELECT ON pg_budget_memory TO PUBLIC;

CREATE FUNCTION pg_budget_class_memory(
	OUT class text,
	OUT mem_bytes bigint,
	OUT mem_budget bigint,
	OUT session_mem_budget bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_class_memory'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_class_memory() IS
	'pg_budget: by class, the private memory of its sessions and its budgets (mem, session_mem)';

CREATE FUNCTION pg_budget_backend_memory(
	OUT pid int,
	OUT mem_bytes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_backend_memory'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_backend_memory() IS
	'pg_budget: the private memory of every counted session, as the worker last read it';

CREATE FUNCTION pg_budget_memory_history(
	OUT at timestamptz,
	OUT class text,
	OUT mem_bytes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_memory_history'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_memory_history() IS
	'pg_budget: the most private memory each class''s sessions held at a reading in each second of pg_budget_history';

-- Executable by PUBLIC: who reads pg_budget_history is decided by the
-- grants on the view and on pg_budget_history() as before, so that a role
-- the DBA granted them to keeps reading the view after the update.

------------------------------------------------------------------------
-- Warn mode
------------------------------------------------------------------------

-- pg_budget_status gains enforce (the class key: on or warn) and what a
-- class in warn mode would have had done to it: warned in all, and by
-- reason (a login refused at the cap, for others' reservations or over
-- the rate; a transaction queued at active=N or held for the WAL budget;
-- a session shed under pressure; a query cancelled for memory; a
-- statement past switch_time; an idle blocker ended).
CREATE FUNCTION pg_budget_class_warned(
	OUT class text,
	OUT enforce text,
	OUT warned bigint,
	OUT warned_cap bigint,
	OUT warned_reserve bigint,
	OUT warned_rate bigint,
	OUT warned_active bigint,
	OUT warned_wal bigint,
	OUT warned_shed bigint,
	OUT warned_memory bigint,
	OUT warned_runaway bigint,
	OUT warned_idle_blocker bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_class_warned'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_class_warned() IS
	'pg_budget: by class, its enforce key and what its limits would have done in warn mode, in all and by reason';

------------------------------------------------------------------------
-- Runaway statements switched to a lower class (switch_to=CLASS)
------------------------------------------------------------------------

-- pg_budget_backends gains switched_to: the class a session's running
-- statement was switched to, past its class's switch_time, and counts as
-- until it ends (NULL: not switched, or where pg_stat_activity hides the
-- session's details).  Where it runs is the cgroup column, as before.
CREATE FUNCTION pg_budget_backend_switches(
	OUT pid int,
	OUT switched_to text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_backend_switches'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_backend_switches() IS
	'pg_budget: the class every counted session''s running statement was switched to (switch_to), NULL when it is not switched';

CREATE OR REPLACE VIEW pg_budget_status AS
	SELECT s.*,
		   c.cpu_weight,
		   c.cpu_idle,
		   c.cpu_ms,
		   c.run_delay_ms,
		   m.mem_bytes,
		   m.mem_budget,
		   m.session_mem_budget,
		   w.enforce,
		   w.warned,
		   w.warned_cap,
		   w.warned_reserve,
		   w.warned_rate,
		   w.warned_active,
		   w.warned_wal,
		   w.warned_shed,
		   w.warned_memory,
		   w.warned_runaway,
		   w.warned_idle_blocker
	  FROM pg_budget_status() s
	  LEFT JOIN pg_budget_cpu() c ON c.class = s.class
	  LEFT JOIN pg_budget_class_memory() m ON m.class = s.class
	  LEFT JOIN pg_budget_class_warned() w ON w.class = s.class;

CREATE OR REPLACE VIEW pg_budget_backends AS
	SELECT b.pid,
		   b.class,
		   a.usename::text AS role,
		   a.datname::text AS database,
		   b.superuser,
		   a.state,
		   a.wait_event_type,
		   a.wait_event,
		   a.backend_start,
		   b.admitted_at,
		   a.state_change AS since,
		   b.queued,
		   g.cgroup,
		   g.cpu_boost,
		   r.classified_by,
		   m.mem_bytes,
		   w.switched_to
	  FROM pg_budget_backend_classes() b
	  JOIN pg_catalog.pg_stat_activity a ON a.pid = b.pid
	  LEFT JOIN pg_budget_backend_cgroups() g ON g.pid = b.pid
	  LEFT JOIN pg_budget_backend_rules() r ON r.pid = b.pid
	  LEFT JOIN pg_budget_backend_memory() m ON m.pid = b.pid
	  LEFT JOIN pg_budget_backend_switches() w ON w.pid = b.pid;

CREATE OR REPLACE VIEW pg_budget_history AS
	SELECT h.*,
		   m.mem_bytes
	  FROM pg_budget_history() h
	  LEFT JOIN pg_budget_memory_history() m ON m.at = h.at AND m.class = h.class;
