/* pg_budget--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_budget UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 creates no role (see pg_budget--0.2.0.sql).  The grants 0.1.0 made
-- to pg_budget_admin are revoked; the role is dropped when nothing else
-- needs it, else kept with a NOTICE that says what the DBA has to do.
DO $$
DECLARE
	members int;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pg_budget_admin') THEN
		RETURN;
	END IF;
	REVOKE ALL ON FUNCTION @extschema@.pg_budget_pause(text, text) FROM pg_budget_admin;
	REVOKE ALL ON FUNCTION @extschema@.pg_budget_resume(text) FROM pg_budget_admin;
	REVOKE ALL ON FUNCTION @extschema@.pg_budget_reset() FROM pg_budget_admin;
	REVOKE ALL ON FUNCTION @extschema@.pg_budget_wait_stats() FROM pg_budget_admin;
	REVOKE ALL ON FUNCTION @extschema@.pg_budget_lock_stats() FROM pg_budget_admin;
	REVOKE ALL ON FUNCTION @extschema@.pg_budget_history() FROM pg_budget_admin;
	REVOKE ALL ON FUNCTION @extschema@.pg_budget_events() FROM pg_budget_admin;
	REVOKE ALL ON @extschema@.pg_budget_wait_stats, @extschema@.pg_budget_lock_stats,
		@extschema@.pg_budget_history, @extschema@.pg_budget_events FROM pg_budget_admin;

	SELECT count(*) INTO members
	  FROM pg_catalog.pg_auth_members m
	  JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
	 WHERE r.rolname = 'pg_budget_admin';
	IF members > 0 THEN
		RAISE WARNING 'pg_budget: role "pg_budget_admin" is kept: it has % members', members
			USING HINT = 'Grant EXECUTE on pg_budget_pause, pg_budget_resume and pg_budget_reset to those roles, then DROP ROLE pg_budget_admin: pg_dumpall and pg_upgrade can not carry a role whose name starts with "pg_".';
		RETURN;
	END IF;
	BEGIN
		DROP ROLE pg_budget_admin;
	EXCEPTION WHEN dependent_objects_still_exist THEN
		-- grants in another database that still has pg_budget 0.1.0
		RAISE WARNING 'pg_budget: role "pg_budget_admin" is kept: %', SQLERRM
			USING HINT = 'Run ALTER EXTENSION pg_budget UPDATE in every database that has pg_budget, then DROP ROLE pg_budget_admin.';
	END;
END
$$;

-- The transaction gate and the WAL budget add columns to pg_budget_status
-- and pg_budget_backends: their functions and views are made anew (both
-- views are readable by PUBLIC, as in 0.1.0).
DROP VIEW pg_budget_status;
DROP FUNCTION pg_budget_status();
DROP VIEW pg_budget_backends;
DROP FUNCTION pg_budget_backend_classes();

CREATE FUNCTION pg_budget_status(
	OUT class text,
	OUT max int,
	OUT effective_max int,
	OUT reserve int,
	OUT floor int,
	OUT priority int,
	OUT rate float8,
	OUT burst int,
	OUT shed_policy text,
	OUT connected int,
	OUT active int,
	OUT idle int,
	OUT idle_in_transaction int,
	OUT lock_waiting int,
	OUT wal_waiting int,
	OUT wal_wait_share float8,
	OUT lock_wait_share float8,
	OUT pressure text,
	OUT admitted bigint,
	OUT rejected bigint,
	OUT rejected_cap bigint,
	OUT rejected_reserve bigint,
	OUT rejected_paused bigint,
	OUT rejected_rate bigint,
	OUT shed bigint,
	OUT shed_cancel bigint,
	OUT shed_terminate bigint,
	OUT paused bool,
	OUT pause_mode text,
	OUT paused_since timestamptz,
	OUT is_default bool,
	OUT configured bool,
	OUT active_limit int,
	OUT effective_active int,
	OUT in_progress int,
	OUT queued int,
	OUT queue_timeouts bigint,
	OUT queue_wait_ms float8,
	OUT queue_timeout_ms int,
	OUT transactions bigint,
	OUT queue_waits bigint,
	OUT let_through bigint,
	OUT in_progress_peak int,
	OUT wal_budget bigint,
	OUT effective_wal bigint,
	OUT wal_rate float8,
	OUT wal_bytes bigint,
	OUT wal_throttles bigint,
	OUT wal_throttled_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_status'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pg_budget_status AS
	SELECT * FROM pg_budget_status();

COMMENT ON VIEW pg_budget_status IS
	'pg_budget: one row per connection class: limits, sessions, admissions and refusals';

CREATE FUNCTION pg_budget_backend_classes(
	OUT pid int,
	OUT class text,
	OUT roleid oid,
	OUT superuser bool,
	OUT admitted_at timestamptz,
	OUT queued bool)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_backend_classes'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- Built on pg_stat_activity so that what a role may see of other sessions
-- (state, wait event) is exactly what pg_stat_activity shows it.
CREATE VIEW pg_budget_backends AS
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
		   b.queued
	  FROM pg_budget_backend_classes() b
	  JOIN pg_catalog.pg_stat_activity a ON a.pid = b.pid;

COMMENT ON VIEW pg_budget_backends IS
	'pg_budget: one row per session counted against a class';

CREATE FUNCTION pg_budget_gate_histogram(
	OUT lower_us float8,
	OUT upper_us float8,
	OUT transactions bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_gate_histogram'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_gate_histogram() IS
	'pg_budget: time transactions that did not queue spent in the transaction gate since the last reset (one in 16 timed), in 0.1 us buckets';

CREATE FUNCTION pg_budget_wal(
	OUT class text,
	OUT wal_bytes bigint,
	OUT pseudo_class bool)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_wal'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pg_budget_wal AS
	SELECT * FROM pg_budget_wal();

COMMENT ON VIEW pg_budget_wal IS
	'pg_budget: WAL bytes written since the last reset by each class and pseudo-class (their sum is the server''s)';

GRANT SELECT ON pg_budget_status TO PUBLIC;
GRANT SELECT ON pg_budget_backends TO PUBLIC;
GRANT SELECT ON pg_budget_wal TO PUBLIC;

-- pg_budget_history gains the gate's and the WAL budget's columns.  Its
-- function and view are readable only by pg_read_all_stats and by whom the
-- DBA granted them: those grants are kept across the re-creation.
CREATE TEMPORARY TABLE pg_budget_history_grants AS
	SELECT 'FUNCTION @extschema@.pg_budget_history()' AS object, a.grantee::regrole::text AS grantee
	  FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
	 WHERE p.oid = '@extschema@.pg_budget_history()'::regprocedure
	   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
	UNION
	SELECT 'TABLE @extschema@.pg_budget_history', a.grantee::regrole::text
	  FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
	 WHERE c.oid = '@extschema@.pg_budget_history'::regclass
	   AND a.privilege_type = 'SELECT' AND a.grantee <> 0 AND a.grantee <> c.relowner;
DROP VIEW pg_budget_history;
DROP FUNCTION pg_budget_history();

CREATE FUNCTION pg_budget_history(
	OUT at timestamptz,
	OUT class text,
	OUT connected real,
	OUT active real,
	OUT wal_waiting real,
	OUT lock_waiting real,
	OUT admitted bigint,
	OUT rejected bigint,
	OUT shed bigint,
	OUT admission_limit int,
	OUT in_progress real,
	OUT queued real,
	OUT queue_timeouts bigint,
	OUT active_limit int,
	OUT wal_rate float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_history'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pg_budget_history AS
	SELECT * FROM pg_budget_history();

COMMENT ON VIEW pg_budget_history IS
	'pg_budget: one row per second and class over the last pg_budget.history_size seconds (averages over the second; admitted, rejected and shed during it)';

REVOKE ALL ON FUNCTION pg_budget_history() FROM PUBLIC;
DO $$
DECLARE
	g record;
BEGIN
	FOR g IN SELECT * FROM pg_budget_history_grants LOOP
		EXECUTE format('GRANT %s ON %s TO %s',
					   CASE WHEN g.object LIKE 'FUNCTION%' THEN 'EXECUTE' ELSE 'SELECT' END,
					   g.object, g.grantee);
	END LOOP;
END
$$;
DROP TABLE pg_budget_history_grants;
