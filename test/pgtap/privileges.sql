-- Who may do what: everyone reads the views; only superusers and the roles
-- the DBA granted EXECUTE to pause, resume and reset; nobody but a superuser puts
-- a role in a class, and no session changes its own class after login; of
-- other roles' sessions a role sees what pg_stat_activity shows it, and the
-- statistics (histograms, wait and lock statistics, history, events) are
-- for pg_read_all_stats and whom the DBA grants them.
-- Needs a class "ai" in pg_budget.classes (t/053_pgtap.pl sets it up).
BEGIN;
SELECT plan(72);

CREATE ROLE pgtap_plain NOLOGIN;
CREATE ROLE pgtap_operator NOLOGIN;
CREATE ROLE pgtap_oncall NOLOGIN IN ROLE pgtap_operator;
CREATE ROLE pgtap_monitor NOLOGIN IN ROLE pg_read_all_stats;
CREATE ROLE pgtap_granted NOLOGIN;
GRANT EXECUTE ON FUNCTION pg_budget_admission_histogram(), pg_budget_gate_histogram()
	TO pgtap_granted;
GRANT EXECUTE ON FUNCTION pg_budget_pause(text, text), pg_budget_resume(text),
	pg_budget_reset() TO pgtap_operator;

-- EXECUTE on the controls: revoked from PUBLIC, granted by the DBA
SELECT function_privs_are('public', f, a, 'public', '{}'::name[],
		'PUBLIC cannot execute ' || f)
  FROM (VALUES ('pg_budget_pause', ARRAY['text', 'text']::name[]),
			   ('pg_budget_resume', ARRAY['text']::name[]),
			   ('pg_budget_reset', '{}'::name[])) v(f, a);
SELECT function_privs_are('public', f, a, 'pgtap_oncall', ARRAY['EXECUTE']::name[],
		'a member of the role granted EXECUTE can execute ' || f)
  FROM (VALUES ('pg_budget_pause', ARRAY['text', 'text']::name[]),
			   ('pg_budget_resume', ARRAY['text']::name[]),
			   ('pg_budget_reset', '{}'::name[])) v(f, a);
SELECT function_privs_are('public', f, a, 'pgtap_plain', '{}'::name[],
		'a plain role cannot execute ' || f)
  FROM (VALUES ('pg_budget_pause', ARRAY['text', 'text']::name[]),
			   ('pg_budget_resume', ARRAY['text']::name[]),
			   ('pg_budget_reset', '{}'::name[])) v(f, a);
SELECT function_privs_are('public', f, a, 'pgtap_operator', ARRAY['EXECUTE']::name[],
		'the role granted EXECUTE can execute ' || f)
  FROM (VALUES ('pg_budget_pause', ARRAY['text', 'text']::name[]),
			   ('pg_budget_resume', ARRAY['text']::name[]),
			   ('pg_budget_reset', '{}'::name[])) v(f, a);

-- the views and what they are built on are open to everyone
SELECT table_privs_are('public', v, 'public', ARRAY['SELECT']::name[],
		'PUBLIC may only SELECT from ' || v)
  FROM (VALUES ('pg_budget_status'), ('pg_budget_backends'), ('pg_budget_wal')) t(v);
SELECT function_privs_are('public', f, '{}'::name[], 'public', ARRAY['EXECUTE']::name[],
		'PUBLIC can execute ' || f)
  FROM (VALUES ('pg_budget_status'), ('pg_budget_backend_classes'),
			   ('pg_budget_wal')) v(f);

-- the histograms time other roles' logins and transactions: statistics
SELECT function_privs_are('public', f, '{}'::name[], 'public', '{}'::name[],
		'PUBLIC cannot execute ' || f)
  FROM (VALUES ('pg_budget_admission_histogram'), ('pg_budget_gate_histogram')) v(f);
SELECT function_privs_are('public', f, '{}'::name[], 'pg_read_all_stats', ARRAY['EXECUTE']::name[],
		'pg_read_all_stats can execute ' || f)
  FROM (VALUES ('pg_budget_admission_histogram'), ('pg_budget_gate_histogram')) v(f);
SELECT function_privs_are('public', f, '{}'::name[], 'pgtap_granted', ARRAY['EXECUTE']::name[],
		'a role the DBA granted EXECUTE can execute ' || f)
  FROM (VALUES ('pg_budget_admission_histogram'), ('pg_budget_gate_histogram')) v(f);

-- a plain role
SET ROLE pgtap_plain;
SELECT is(current_user::text, 'pgtap_plain', 'now acting as the plain role');
SELECT isnt_empty('SELECT * FROM pg_budget_status',
	'a plain role can SELECT from pg_budget_status');
SELECT ok((SELECT count(*) FROM pg_budget_backends WHERE pid = pg_backend_pid()) = 1,
	'a plain role can SELECT from pg_budget_backends');
SELECT throws_ok('SELECT * FROM pg_budget_admission_histogram()', '42501',
	'permission denied for function pg_budget_admission_histogram',
	'a plain role cannot read the admission histogram');
SELECT throws_ok('SELECT * FROM pg_budget_gate_histogram()', '42501',
	'permission denied for function pg_budget_gate_histogram',
	'a plain role cannot read the gate histogram');
-- this session's role is the superuser that logged in: pg_stat_activity
-- hides its details from the plain role, and so does pg_budget
SELECT is((SELECT state IS NULL AND backend_start IS NULL FROM pg_stat_activity
			WHERE pid = pg_backend_pid()), true,
	'pg_stat_activity hides a superuser session''s state and start from a plain role');
SELECT is((SELECT row(state, wait_event_type, wait_event, backend_start, admitted_at, since, queued)::text
			 FROM pg_budget_backends WHERE pid = pg_backend_pid()),
	'(,,,,,,)', 'pg_budget_backends shows none of its details either');
SELECT is((SELECT row(admitted_at, queued)::text FROM pg_budget_backend_classes()
			WHERE pid = pg_backend_pid()),
	'(,)', 'nor does pg_budget_backend_classes() called directly');
SELECT is((SELECT row(class, role, superuser)::text FROM pg_budget_backends
			WHERE pid = pg_backend_pid()),
	(SELECT row(current_setting('pg_budget.class'), usename, true)::text
	   FROM pg_stat_activity WHERE pid = pg_backend_pid()),
	'its class, role and superuser flag are shown, as pg_stat_activity shows usename');
SELECT is((SELECT count(*)::int FROM pg_budget_status
			WHERE in_progress IS NOT NULL OR queued IS NOT NULL OR active IS NOT NULL), 0,
	'pg_budget_status: a plain role sees no class''s transactions in progress, queued or active');
SELECT is((SELECT count(*)::int FROM pg_budget_status
			WHERE transactions IS NULL OR wal_bytes IS NULL OR queue_timeouts IS NULL
			   OR connected IS NULL OR rejected IS NULL), 0,
	'... but every class''s cumulative counters and connections');
SELECT throws_ok($$SELECT pg_budget_pause('ai')$$, '42501',
	'permission denied for function pg_budget_pause',
	'a plain role cannot pause');
SELECT throws_ok($$SELECT pg_budget_pause('ai', 'reject')$$, '42501',
	'permission denied for function pg_budget_pause',
	'a plain role cannot pause, naming the mode');
SELECT throws_ok($$SELECT pg_budget_resume('ai')$$, '42501',
	'permission denied for function pg_budget_resume',
	'a plain role cannot resume');
SELECT throws_ok('SELECT pg_budget_reset()', '42501',
	'permission denied for function pg_budget_reset',
	'a plain role cannot reset');
SELECT throws_ok($$SET pg_budget.class = 'ai'$$, '42501',
	'permission denied to set parameter "pg_budget.class"',
	'a plain role cannot SET pg_budget.class');
SELECT throws_ok($$ALTER ROLE pgtap_plain SET pg_budget.class = 'ai'$$, '42501',
	'permission denied to set parameter "pg_budget.class"',
	'a plain role cannot put itself in a class');
SELECT is((SELECT paused FROM pg_budget_status WHERE class = 'ai'), false,
	'the refused pause left ai running');
RESET ROLE;

-- a member of pg_read_all_stats sees it all, as in pg_stat_activity
SET ROLE pgtap_monitor;
SELECT is((SELECT admitted_at IS NOT NULL AND queued IS NOT NULL AND backend_start IS NOT NULL
			 FROM pg_budget_backends WHERE pid = pg_backend_pid()), true,
	'a member of pg_read_all_stats sees the superuser session''s details');
SELECT is((SELECT count(*)::int FROM pg_budget_status
			WHERE configured AND (in_progress IS NULL OR queued IS NULL)), 0,
	'... and every class''s transactions in progress and queued');
SELECT lives_ok('SELECT * FROM pg_budget_admission_histogram()',
	'... and the admission histogram');
SELECT lives_ok('SELECT * FROM pg_budget_gate_histogram()',
	'... and the gate histogram');
RESET ROLE;
SET ROLE pgtap_granted;
SELECT lives_ok('SELECT * FROM pg_budget_gate_histogram()',
	'a role granted EXECUTE reads the gate histogram');
RESET ROLE;

-- the role granted EXECUTE
SET ROLE pgtap_operator;
SELECT is(current_user::text, 'pgtap_operator', 'now acting as the role granted EXECUTE');
SELECT lives_ok($$SELECT pg_budget_pause('ai')$$, 'the role granted EXECUTE can pause');
SELECT is((SELECT paused FROM pg_budget_status WHERE class = 'ai'), true,
	'ai shows paused');
SELECT is((SELECT pause_mode FROM pg_budget_status WHERE class = 'ai'), 'reject',
	'ai shows pause mode reject');
SELECT lives_ok($$SELECT pg_budget_resume('ai')$$, 'the role granted EXECUTE can resume');
SELECT is((SELECT paused FROM pg_budget_status WHERE class = 'ai'), false,
	'ai shows running again');
SELECT lives_ok('SELECT pg_budget_reset()', 'the role granted EXECUTE can reset');
SELECT throws_ok($$SET pg_budget.class = 'ai'$$, '42501',
	'permission denied to set parameter "pg_budget.class"',
	'the role granted EXECUTE cannot SET pg_budget.class either');
RESET ROLE;

-- a superuser may pause without any grant, but cannot move its own
-- session to another class after login
SELECT lives_ok($$SELECT pg_budget_pause('ai')$$, 'a superuser can pause');
SELECT lives_ok($$SELECT pg_budget_resume('ai')$$, 'a superuser can resume');
SELECT throws_ok($$SET pg_budget.class = 'ai'$$, '22023',
	'pg_budget.class can not be changed after login',
	'even a superuser cannot change the class of its session');
SELECT throws_ok($$SET pg_budget.class = ''$$, '22023',
	'pg_budget.class can not be changed after login',
	'nor clear it');
SELECT lives_ok($$ALTER ROLE pgtap_plain SET pg_budget.class = 'ai'$$,
	'a superuser can put a role in a class');
-- as core does for default_text_search_config: a NOTICE, so dumps restore
SELECT lives_ok($$ALTER ROLE pgtap_plain SET pg_budget.class = 'nosuch'$$,
	'a role can be put in a class this server lacks (a NOTICE, so dumps restore)');
SELECT throws_ok($$ALTER ROLE pgtap_plain SET pg_budget.class = 'No Such'$$, '22023',
	'invalid value for parameter "pg_budget.class": "No Such"',
	'a class name that is no identifier is refused');

-- The statistics views show what other roles' sessions wait on: only
-- pg_read_all_stats (and whom the DBA grants SELECT) may read them.
SELECT table_privs_are('public', v, 'public', '{}'::text[], 'PUBLIC can not read ' || v)
  FROM (VALUES ('pg_budget_wait_stats'), ('pg_budget_lock_stats'),
			   ('pg_budget_history'), ('pg_budget_events'), ('pg_budget_rules')) x(v);
SELECT table_privs_are('public', v, 'pg_read_all_stats', ARRAY['SELECT'],
		'pg_read_all_stats can read ' || v)
  FROM (VALUES ('pg_budget_wait_stats'), ('pg_budget_lock_stats'),
			   ('pg_budget_history'), ('pg_budget_events'), ('pg_budget_rules')) x(v);

SELECT * FROM finish();
ROLLBACK;
