-- pg_budget.rules: a bad rule is refused like a bad class table, with the
-- rule and the token at fault, and nothing is written.
ALTER SYSTEM SET pg_budget.rules = 'app=celery* => ai';
ALTER SYSTEM SET pg_budget.rules = 'database=analytics => bulk, user=x => ai';
ALTER SYSTEM SET pg_budget.rules = 'client_addr=10.0.5.0/33 => ai';
ALTER SYSTEM SET pg_budget.rules = 'client_addr=10.0.5.1/24 => ai';
ALTER SYSTEM SET pg_budget.rules = 'client_addr=localhost => web';
ALTER SYSTEM SET pg_budget.rules = 'application_name=celery[0-9] => ai';
ALTER SYSTEM SET pg_budget.rules = 'application_name=celery* => AI';
ALTER SYSTEM SET pg_budget.rules = 'application_name=celery* ai';
ALTER SYSTEM SET pg_budget.rules = 'application_name=celery* => ai,';
-- a class the table lacks: refused, the next start would not start
ALTER SYSTEM SET pg_budget.rules = 'application_name=celery* => ai, database=analytics => bulk';
SELECT name, setting FROM pg_file_settings
 WHERE name = 'pg_budget.rules' AND sourcefile LIKE '%postgresql.auto.conf';
-- A reload setting: no session sets it.
SET pg_budget.rules = 'database=x => ai';
-- Good rules are written, the default class included; then a class table
-- without a class they name is refused, and so is another default class.
ALTER SYSTEM SET pg_budget.rules = 'application_name=celery* => ai, client_addr=local => web, client_addr=::1 => default';
SELECT name, setting FROM pg_file_settings
 WHERE name = 'pg_budget.rules' AND sourcefile LIKE '%postgresql.auto.conf';
ALTER SYSTEM SET pg_budget.classes = 'web(max=20, reserve=5, priority=100)';
ALTER SYSTEM SET pg_budget.default_class = 'web';
ALTER SYSTEM SET pg_budget.classes = 'web(max=20), ai(max=4), admin(max=3)';
SELECT name, setting FROM pg_file_settings
 WHERE name LIKE 'pg_budget.%' AND sourcefile LIKE '%postgresql.auto.conf' ORDER BY 1;
-- RESET too: the next start would read postgresql.conf's table, without jobs
ALTER SYSTEM SET pg_budget.classes = 'web(max=20), ai(max=4), jobs(max=3)';
ALTER SYSTEM SET pg_budget.rules = 'application_name=sidekiq* => jobs';
ALTER SYSTEM RESET pg_budget.classes;
ALTER SYSTEM SET pg_budget.classes TO DEFAULT;
ALTER SYSTEM SET pg_budget.rules = 'application_name=sidekiq* => ai';
ALTER SYSTEM RESET pg_budget.classes;
ALTER SYSTEM RESET pg_budget.rules;
SELECT count(*) FROM pg_file_settings
 WHERE name LIKE 'pg_budget.%' AND sourcefile LIKE '%postgresql.auto.conf';
-- This instance has no rules: the view is empty, and this session's class
-- came from no role setting.
SELECT * FROM pg_budget_rules;
SELECT class, classified_by FROM pg_budget_backends WHERE pid = pg_backend_pid();
