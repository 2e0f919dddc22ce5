-- Everyone may read the views; only superusers and the roles the DBA
-- granted EXECUTE to may pause, resume and reset.
CREATE ROLE regress_pgb_plain LOGIN;
CREATE ROLE regress_pgb_operator LOGIN;
GRANT EXECUTE ON FUNCTION pg_budget_pause(text, text), pg_budget_resume(text),
	pg_budget_reset() TO regress_pgb_operator;

SET ROLE regress_pgb_plain;
SELECT count(*) > 0 AS sees_status FROM pg_budget_status;
SELECT count(*) > 0 AS sees_backends FROM pg_budget_backends;
-- another role's session (this one's login role): no details, as in pg_stat_activity
SELECT class IS NOT NULL AS class, role IS NOT NULL AS role, state, backend_start,
	   admitted_at, queued
  FROM pg_budget_backends WHERE pid = pg_backend_pid();
SELECT in_progress, queued, transactions >= 0 AS transactions
  FROM pg_budget_status WHERE class = 'ai';
SELECT count(*) FROM pg_budget_admission_histogram();
SELECT count(*) FROM pg_budget_gate_histogram();
SELECT count(*) FROM pg_budget_rules;
SELECT pg_budget_pause('ai');
SELECT pg_budget_resume('ai');
SELECT pg_budget_reset();
SET pg_budget.class = 'admin';
ALTER ROLE regress_pgb_plain SET pg_budget.class = 'admin';
RESET ROLE;

SET ROLE regress_pgb_operator;
SELECT pg_budget_pause('ai');
SELECT paused FROM pg_budget_status WHERE class = 'ai';
SELECT pg_budget_resume('ai');
SELECT pg_budget_reset();
RESET ROLE;

REVOKE EXECUTE ON FUNCTION pg_budget_pause(text, text), pg_budget_resume(text),
	pg_budget_reset() FROM regress_pgb_operator;
DROP ROLE regress_pgb_plain;
DROP ROLE regress_pgb_operator;
