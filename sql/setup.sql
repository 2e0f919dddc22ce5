-- The objects CREATE EXTENSION pg_budget makes.
CREATE EXTENSION pg_budget;

SELECT p.oid::regprocedure AS function, pg_get_function_result(p.oid) AS result
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_budget')
   AND d.classid = 'pg_proc'::regclass
 ORDER BY 1, 2;

SELECT table_name, column_name, data_type
  FROM information_schema.columns
 WHERE table_name IN ('pg_budget_status', 'pg_budget_backends', 'pg_budget_wait_stats',
					  'pg_budget_lock_stats', 'pg_budget_history', 'pg_budget_events',
					  'pg_budget_memory')
 ORDER BY table_name, ordinal_position;

-- the extension creates no role
SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pg_budget%';
