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
