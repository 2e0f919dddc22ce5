/* pg_budget--0.2.0--0.3.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_budget UPDATE TO '0.3.0'" to load this file. \quit

-- The one update script of release 0.3.0, and its install script too:
-- there is no pg_budget--0.3.0.sql, so CREATE EXTENSION pg_budget runs
-- pg_budget--0.2.0.sql and then this file.  A fresh 0.3.0 and an updated
-- 0.2.0 are thus made by the same statements, and a change is written
-- once.  t/030_dump_restore.pl compares the two (members, ACLs, initial
-- privileges) and t/034_release.pl the versions of the control file,
-- META.json and the chain of scripts.
--
-- Layout: the prologue notes the privileges as they are; then one section
-- per change of the release (add yours before the epilogue, with a
-- heading); the epilogue gives back the grants and revokes the DBA made
-- on objects that a section dropped and made anew or whose privileges it
-- changed.  A section that re-creates an object needs nothing more than
-- DROP and CREATE (and the extension's own GRANTs): the epilogue matches
-- objects by their description (pg_describe_object).

------------------------------------------------------------------------
-- Prologue: the privileges before the update
------------------------------------------------------------------------

-- The functions and relations of the extension with their ACL and the
-- ACL the extension scripts gave them (pg_init_privs; the default ACL
-- where there is none, as pg_dump reads it).  What differs is the DBA's
-- doing, and pg_dump dumps exactly that difference.  A helper of this
-- script only: dropped in the epilogue.
CREATE FUNCTION pg_budget_acl_objects(
	OUT classid oid, OUT objid oid, OUT object text,
	OUT acl aclitem[], OUT init aclitem[])
RETURNS SETOF record
LANGUAGE sql STABLE
AS $$
	SELECT d.classid, d.objid,
		   pg_catalog.pg_describe_object(d.classid, d.objid, 0),
		   coalesce(CASE WHEN d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
						 THEN p.proacl ELSE c.relacl END,
					CASE WHEN d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
						 THEN pg_catalog.acldefault('f', p.proowner)
						 ELSE pg_catalog.acldefault('r', c.relowner) END),
		   coalesce(i.initprivs,
					CASE WHEN d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
						 THEN pg_catalog.acldefault('f', p.proowner)
						 ELSE pg_catalog.acldefault('r', c.relowner) END)
	  FROM pg_catalog.pg_depend d
	  LEFT JOIN pg_catalog.pg_proc p
		ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.objid
	  LEFT JOIN pg_catalog.pg_class c
		ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = d.objid
	  LEFT JOIN pg_catalog.pg_init_privs i
		ON i.objoid = d.objid AND i.classoid = d.classid AND i.objsubid = 0
	 WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_budget')
	   AND d.deptype = 'e'
	   AND (p.oid IS NOT NULL OR c.oid IS NOT NULL)
	   AND p.proname IS DISTINCT FROM 'pg_budget_acl_objects'
$$;

-- the privileges before the update, one row per grantee and privilege of
-- the ACL (in_init false) and of the initial privileges (in_init true)
CREATE TEMPORARY TABLE pg_budget_acl_before AS
	SELECT o.classid, o.objid, o.object,
		   e.grantor, e.grantee, e.privilege_type, e.is_grantable, false AS in_init
	  FROM pg_budget_acl_objects() o, pg_catalog.aclexplode(o.acl) e
	UNION ALL
	SELECT o.classid, o.objid, o.object,
		   e.grantor, e.grantee, e.privilege_type, e.is_grantable, true
	  FROM pg_budget_acl_objects() o, pg_catalog.aclexplode(o.init) e;

------------------------------------------------------------------------
-- Finding 14: what a role sees of others' sessions
------------------------------------------------------------------------

-- How long other sessions' logins and transactions took is statistics
-- about them: readable by pg_read_all_stats (so pg_monitor) and by whom
-- the DBA grants EXECUTE, like pg_budget_wait_stats.  What each session
-- shows of others in pg_budget_backends and pg_budget_status is decided
-- in C, by pg_stat_activity's rules (README, Privileges).
REVOKE ALL ON FUNCTION pg_budget_admission_histogram() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_budget_gate_histogram() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_budget_admission_histogram() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_budget_gate_histogram() TO pg_read_all_stats;

------------------------------------------------------------------------
-- Finding 13: refusals aggregated, operator actions kept
------------------------------------------------------------------------

-- pg_budget_events gains count: refusals and queue timeouts are one row
-- per class, action, reason and second, with how many it stands for;
-- every other event is a row of its own (count 1).
DROP VIEW pg_budget_events;
DROP FUNCTION pg_budget_events();

CREATE FUNCTION pg_budget_events(
	OUT at timestamptz,
	OUT class text,
	OUT pid int,
	OUT role text,
	OUT action text,
	OUT signal text,
	OUT reason text,
	OUT count int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_events'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pg_budget_events AS
	SELECT * FROM pg_budget_events();

COMMENT ON VIEW pg_budget_events IS
	'pg_budget: recent sheds, limit changes, pauses and reloads, and refusals counted by class, reason and second, oldest first';

REVOKE ALL ON FUNCTION pg_budget_events() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_budget_events() TO pg_read_all_stats;
GRANT SELECT ON pg_budget_events TO pg_read_all_stats;

------------------------------------------------------------------------
-- CPU by class: the weights in force and each session's cgroup
------------------------------------------------------------------------

-- pg_budget_status gains cpu_weight (the class key cpu, NULL when its
-- cgroup has no weight in force: no pg_budget.cgroup, a directory that
-- could not be set up, or cpu=idle), cpu_idle, and cpu_ms and
-- run_delay_ms (the CPU time of its sessions since reset, and the time
-- they were runnable but waiting for a CPU); pg_budget_backends
-- gains cgroup (the session's cgroup for the cpu controller, as
-- /proc/<pid>/cgroup gives it) and cpu_boost (the class whose cgroup the
-- worker moved it into while it blocks a session of that class, NULL
-- when it runs in its own).  The views are replaced, not dropped:
-- their columns, comments and grants stay, new columns come last.
CREATE FUNCTION pg_budget_cpu(
	OUT class text,
	OUT cpu_weight int,
	OUT cpu_idle bool,
	OUT cgroup text,
	OUT cpu_ms float8,
	OUT run_delay_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_cpu'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_cpu() IS
	'pg_budget: by class, the CPU weight in force (NULL for none or cpu=idle), idle, directory, and the CPU time and run delay of its sessions since reset';

CREATE FUNCTION pg_budget_backend_cgroups(
	OUT pid int,
	OUT cgroup text,
	OUT cpu_boost text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_backend_cgroups'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_backend_cgroups() IS
	'pg_budget: the cgroup (cpu controller) of every counted session, and the class whose cgroup a CPU boost moved it into (NULL: none)';

CREATE OR REPLACE VIEW pg_budget_status AS
	SELECT s.*,
		   c.cpu_weight,
		   c.cpu_idle,
		   c.cpu_ms,
		   c.run_delay_ms
	  FROM pg_budget_status() s
	  LEFT JOIN pg_budget_cpu() c ON c.class = s.class;

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
		   g.cpu_boost
	  FROM pg_budget_backend_classes() b
	  JOIN pg_catalog.pg_stat_activity a ON a.pid = b.pid
	  LEFT JOIN pg_budget_backend_cgroups() g ON g.pid = b.pid;

------------------------------------------------------------------------
-- Classes beyond the role: pg_budget.rules
------------------------------------------------------------------------

-- pg_budget_rules: one row per rule of pg_budget.rules in force, with the
-- logins it classified and those it matched but skipped because it would
-- have raised their priority, since reset.  Statistics, like
-- pg_budget_wait_stats: readable by pg_read_all_stats and by whom the DBA
-- grants.  pg_budget_backends gains classified_by (role, database,
-- default, or the rule's text; NULL where pg_stat_activity hides the
-- session's details), last, the view replaced as the CPU section does.
CREATE FUNCTION pg_budget_rules(
	OUT "position" int,
	OUT attribute text,
	OUT pattern text,
	OUT class text,
	OUT rule text,
	OUT in_force bool,
	OUT classified bigint,
	OUT raised bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_rules'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pg_budget_rules AS
	SELECT * FROM pg_budget_rules();

COMMENT ON VIEW pg_budget_rules IS
	'pg_budget: the rules of pg_budget.rules in order, whether their class is defined, and the logins each classified (and skipped for raising) since reset';

REVOKE ALL ON FUNCTION pg_budget_rules() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_budget_rules() TO pg_read_all_stats;
GRANT SELECT ON pg_budget_rules TO pg_read_all_stats;

CREATE FUNCTION pg_budget_backend_rules(
	OUT pid int,
	OUT classified_by text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_backend_rules'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_budget_backend_rules() IS
	'pg_budget: how every counted session got its class: role, database, default or a rule';

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
		   r.classified_by
	  FROM pg_budget_backend_classes() b
	  JOIN pg_catalog.pg_stat_activity a ON a.pid = b.pid
	  LEFT JOIN pg_budget_backend_cgroups() g ON g.pid = b.pid
	  LEFT JOIN pg_budget_backend_rules() r ON r.pid = b.pid;

------------------------------------------------------------------------
-- CPU by class in the history
------------------------------------------------------------------------

-- pg_budget_history gains cpu_ms and run_delay_ms: the CPU time the
-- class's sessions used during the second, and the time they were
-- runnable but waiting for a CPU (NULL for the pseudo-classes, whose CPU
-- is not counted).  New columns come last; the epilogue gives back the
-- DBA's grants on the objects made anew.
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
	OUT wal_rate float8,
	OUT cpu_ms float8,
	OUT run_delay_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_budget_history'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pg_budget_history AS
	SELECT * FROM pg_budget_history();

COMMENT ON VIEW pg_budget_history IS
	'pg_budget: one row per second and class over the last pg_budget.history_size seconds (averages over the second; admitted, rejected and shed during it)';

REVOKE ALL ON FUNCTION pg_budget_history() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_budget_history() TO pg_read_all_stats;
GRANT SELECT ON pg_budget_history TO pg_read_all_stats;

------------------------------------------------------------------------
-- (sections of later changes of 0.3.0 go here, above the epilogue)
------------------------------------------------------------------------

------------------------------------------------------------------------
-- Epilogue: the DBA's grants carried over
------------------------------------------------------------------------

-- Any GRANT or REVOKE run by an extension script is recorded as the
-- object's initial privilege, and pg_dump leaves initial privileges out:
-- a DBA's grant re-made here naively would be lost at the next dump and
-- restore.  So, per object that a section made anew, or whose initial
-- privileges a section changed, and that has grants or revokes of the
-- DBA's (the prologue's difference):
--   1. on an object that survived, undo them (REVOKE ... CASCADE of what
--	  the owner granted takes what others granted on its grant option
--	  with it), so that its ACL is what the scripts alone give it;
--   2. note that ACL;
--   3. make the DBA's grants again, each by its grantor (a grant on a
--	  grant option after the one it rests on), and the revokes;
--   4. record the ACL of 2 as the initial privileges.
-- An object that survived with its initial privileges as they were keeps
-- the DBA's grants untouched.
DO $$
DECLARE
	o record;
	g record;
	target text;
	owner oid;
	kept aclitem[];
	progress bool;
	role_was text := pg_catalog.current_setting('role');
BEGIN
	FOR o IN
		SELECT n.classid, n.objid, n.object, n.init, b.objid AS old_objid
		  FROM pg_budget_acl_objects() n
		  JOIN (SELECT DISTINCT classid, objid, object FROM pg_budget_acl_before) b
			ON b.classid = n.classid AND b.object = n.object
	LOOP
		IF o.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
			target := 'FUNCTION ' || o.objid::pg_catalog.regprocedure::text;
			SELECT proowner INTO owner FROM pg_catalog.pg_proc WHERE oid = o.objid;
		ELSE
			target := 'TABLE ' || o.objid::pg_catalog.regclass::text;
			SELECT relowner INTO owner FROM pg_catalog.pg_class WHERE oid = o.objid;
		END IF;
		-- the DBA's difference: sign 1 granted, -1 revoked
		CREATE TEMPORARY TABLE pg_budget_acl_delta AS
			SELECT grantor, grantee, privilege_type, is_grantable,
				   CASE WHEN bool_or(NOT in_init) THEN 1 ELSE -1 END AS sign,
				   false AS done
			  FROM pg_budget_acl_before
			 WHERE classid = o.classid AND objid = o.old_objid
			 GROUP BY grantor, grantee, privilege_type, is_grantable
			HAVING bool_or(in_init) <> bool_or(NOT in_init);
		IF EXISTS (SELECT FROM pg_budget_acl_delta)
		   AND (o.objid <> o.old_objid OR EXISTS (
				(SELECT grantor, grantee, privilege_type, is_grantable
				   FROM pg_budget_acl_before
				  WHERE classid = o.classid AND objid = o.old_objid AND in_init
				 EXCEPT
				 SELECT e.grantor, e.grantee, e.privilege_type, e.is_grantable
				   FROM pg_catalog.aclexplode(o.init) e)
				UNION ALL
				(SELECT e.grantor, e.grantee, e.privilege_type, e.is_grantable
				   FROM pg_catalog.aclexplode(o.init) e
				 EXCEPT
				 SELECT grantor, grantee, privilege_type, is_grantable
				   FROM pg_budget_acl_before
				  WHERE classid = o.classid AND objid = o.old_objid AND in_init))) THEN
			-- 1. (a superuser grants and revokes as the owner)
			IF o.objid = o.old_objid THEN
				FOR g IN SELECT * FROM pg_budget_acl_delta WHERE grantor = owner LOOP
					EXECUTE pg_catalog.format(CASE WHEN g.sign > 0 THEN 'REVOKE %s ON %s FROM %s CASCADE'
												   ELSE 'GRANT %s ON %s TO %s' END,
											  g.privilege_type, target,
											  CASE WHEN g.grantee = 0 THEN 'PUBLIC'
												   ELSE g.grantee::pg_catalog.regrole::text END);
				END LOOP;
			END IF;
			-- 2.
			SELECT a.acl INTO kept FROM pg_budget_acl_objects() a
			 WHERE a.classid = o.classid AND a.objid = o.objid;
			-- 3. the grants, in passes: the owner's first, then those whose
			-- grantor holds the grant option again
			LOOP
				progress := false;
				FOR g IN SELECT * FROM pg_budget_acl_delta WHERE sign > 0 AND NOT done LOOP
					CONTINUE WHEN g.grantor <> owner AND NOT EXISTS (
						SELECT FROM pg_budget_acl_objects() a, pg_catalog.aclexplode(a.acl) e
						 WHERE a.classid = o.classid AND a.objid = o.objid
						   AND e.grantee = g.grantor AND e.privilege_type = g.privilege_type
						   AND e.is_grantable);
					IF g.grantor <> owner THEN
						EXECUTE pg_catalog.format('SET ROLE %s', g.grantor::pg_catalog.regrole);
					END IF;
					EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s',
											  g.privilege_type, target,
											  CASE WHEN g.grantee = 0 THEN 'PUBLIC'
												   ELSE g.grantee::pg_catalog.regrole::text END,
											  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
					IF g.grantor <> owner THEN
						IF role_was = 'none' THEN
							RESET ROLE;
						ELSE
							EXECUTE pg_catalog.format('SET ROLE %I', role_was);
						END IF;
					END IF;
					UPDATE pg_budget_acl_delta SET done = true
					 WHERE grantor = g.grantor AND grantee = g.grantee
					   AND privilege_type = g.privilege_type AND is_grantable = g.is_grantable;
					progress := true;
				END LOOP;
				EXIT WHEN NOT progress;
			END LOOP;
			FOR g IN SELECT * FROM pg_budget_acl_delta WHERE sign > 0 AND NOT done LOOP
				RAISE WARNING 'pg_budget: the grant of % on % to % by % was not made again',
					g.privilege_type, target,
					CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::pg_catalog.regrole::text END,
					g.grantor::pg_catalog.regrole
					USING HINT = 'Its grantor no longer holds the grant option: grant it again by hand.';
			END LOOP;
			FOR g IN SELECT * FROM pg_budget_acl_delta WHERE sign < 0 LOOP
				EXECUTE pg_catalog.format('REVOKE %s ON %s FROM %s CASCADE',
										  g.privilege_type, target,
										  CASE WHEN g.grantee = 0 THEN 'PUBLIC'
											   ELSE g.grantee::pg_catalog.regrole::text END);
			END LOOP;
			-- 4. (steps 1 and 3 made the initial privileges row, if none was)
			UPDATE pg_catalog.pg_init_privs SET initprivs = kept
			 WHERE objoid = o.objid AND classoid = o.classid AND objsubid = 0;
		END IF;
		DROP TABLE pg_budget_acl_delta;
	END LOOP;
END
$$;

DROP TABLE pg_budget_acl_before;
DROP FUNCTION pg_budget_acl_objects();
