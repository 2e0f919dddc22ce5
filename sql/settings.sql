-- A session can not change its class after login, superuser included.
SET pg_budget.class = 'ai';
BEGIN;
SET LOCAL pg_budget.class = 'ai';
ROLLBACK;
SHOW pg_budget.class;

-- A class this server lacks is a NOTICE (dumps restore anywhere), as core
-- does for default_text_search_config; a name that is no class name is an error.
CREATE ROLE regress_pgb_role LOGIN;
ALTER ROLE regress_pgb_role SET pg_budget.class = 'nosuch';
ALTER ROLE regress_pgb_role SET pg_budget.class = 'Web';
ALTER ROLE regress_pgb_role SET pg_budget.class = 'ai';
ALTER ROLE regress_pgb_role IN DATABASE contrib_regression SET pg_budget.class = 'web';
ALTER ROLE regress_pgb_role SET pg_budget.class = 'default';
SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
 WHERE r.rolname = 'regress_pgb_role' ORDER BY 1;
DROP ROLE regress_pgb_role;

-- A bad class table is refused with the class and the token at fault, and
-- nothing is written.
ALTER SYSTEM SET pg_budget.classes = 'web(maxx=10)';
ALTER SYSTEM SET pg_budget.classes = 'web(max=10x)';
ALTER SYSTEM SET pg_budget.classes = 'web(max=10), web(max=5)';
ALTER SYSTEM SET pg_budget.classes = 'web(max=10, reserve=20)';
ALTER SYSTEM SET pg_budget.classes = 'web(reserve=30), admin(reserve=30)';
ALTER SYSTEM SET pg_budget.classes = 'ai(active=0)';
ALTER SYSTEM SET pg_budget.classes = 'ai(active=2, queue_timeout=2days)';
ALTER SYSTEM SET pg_budget.classes = 'web(max=1000)';
ALTER SYSTEM SET pg_budget.classes = 'ai(shed=sometimes)';
ALTER SYSTEM SET pg_budget.default_class = 'Not A Name';
SHOW pg_budget.classes;

-- Only a reload changes the table.
SET pg_budget.classes = 'web(max=1)';
SET pg_budget.enabled = off;
