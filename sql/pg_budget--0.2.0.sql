/* pg_budget--0.2.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_budget" to load this file. \quit

-- pg_budget creates no role: a role whose name starts with "pg_" is
-- skipped by pg_dumpall while the grants to it are dumped, which breaks
-- every restore and pg_upgrade.  The DBA grants EXECUTE on pause, resume
-- and reset to whom they choose; those grants are dumped and restored with
-- the extension.

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

CREATE FUNCTION pg_budget_pause(class text, mode text DEFAULT 'reject')
RETURNS int
AS 'MODULE_PATHNAME', 'pg_budget_pause'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pg_budget_pause(text, text) IS
	'pg_budget: refuse new logins of a class until pg_budget_resume; mode cancel also cancels its queries, terminate also ends its sessions; returns the sessions signalled';

CREATE FUNCTION pg_budget_resume(class text)
RETURNS void
AS 'MODULE_PATHNAME', 'pg_budget_resume'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION pg_budget_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pg_budget_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION pg_budget_admission_histogram(
	OUT lower_us float8,
	OUT upper_us float8,
	OUT logins bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_admission_histogram'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_admission_histogram() IS
	'pg_budget: time spent judging logins since the last reset, in 0.1 us buckets';

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

CREATE FUNCTION pg_budget_wait_stats(
	OUT class text,
	OUT wait_event_type text,
	OUT wait_event text,
	OUT category text,
	OUT samples bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_wait_stats'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- category: wal (WAL flush, insert, sync rep), lock, other, or running
-- (an active session with no wait event: on CPU).  Only active sessions
-- are sampled.  Processes outside any class are under "(autovacuum)",
-- "(background worker)", "(walsender)", "(system)" and "(unjudged)".
CREATE VIEW pg_budget_wait_stats AS
	SELECT *, category = 'wal' AS is_wal, category = 'lock' AS is_lock
	  FROM pg_budget_wait_stats();

COMMENT ON VIEW pg_budget_wait_stats IS
	'pg_budget: wait-event samples of active sessions by class since the last reset';

CREATE FUNCTION pg_budget_lock_stats(
	OUT waiter_class text,
	OUT blocker_class text,
	OUT waits bigint,
	OUT longest_wait_ms float8,
	OUT inversions_acted bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_lock_stats'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pg_budget_lock_stats AS
	SELECT * FROM pg_budget_lock_stats();

COMMENT ON VIEW pg_budget_lock_stats IS
	'pg_budget: lock waits longer than pg_budget.lock_stats_threshold by waiter and blocker class';

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

CREATE FUNCTION pg_budget_events(
	OUT at timestamptz,
	OUT class text,
	OUT pid int,
	OUT role text,
	OUT action text,
	OUT signal text,
	OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_events'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pg_budget_events AS
	SELECT * FROM pg_budget_events();

COMMENT ON VIEW pg_budget_events IS
	'pg_budget: recent refusals, sheds, limit changes, pauses and reloads, oldest first';

REVOKE ALL ON FUNCTION pg_budget_pause(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_budget_resume(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_budget_reset() FROM PUBLIC;

GRANT SELECT ON pg_budget_status TO PUBLIC;
GRANT SELECT ON pg_budget_backends TO PUBLIC;
GRANT SELECT ON pg_budget_wal TO PUBLIC;

-- What other roles' sessions wait on is what pg_stat_activity shows only
-- to pg_read_all_stats: the same holds for these.
REVOKE ALL ON FUNCTION pg_budget_wait_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_budget_lock_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_budget_history() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_budget_events() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_budget_wait_stats() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_budget_lock_stats() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_budget_history() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_budget_events() TO pg_read_all_stats;
GRANT SELECT ON pg_budget_wait_stats, pg_budget_lock_stats, pg_budget_history,
	pg_budget_events TO pg_read_all_stats;
