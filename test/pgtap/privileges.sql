-- Who may do what: everyone reads the views; only superusers and the roles
-- the DBA granted EXECUTE to pause, resume and reset; nobody but a superuser puts
-- a role in a class, and no session changes its own class after login.
-- Needs a class "ai" in pg_budget.classes (t/005_pgtap.pl sets it up).
BEGIN;
SELECT plan(55);

CREATE ROLE pgtap_plain NOLOGIN;
CREATE ROLE pgtap_operator NOLOGIN;
CREATE ROLE pgtap_oncall NOLOGIN IN ROLE pgtap_operator;
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
			   ('pg_budget_admission_histogram'), ('pg_budget_gate_histogram'),
			   ('pg_budget_wal')) v(f);

-- a plain role
SET ROLE pgtap_plain;
SELECT is(current_user::text, 'pgtap_plain', 'now acting as the plain role');
SELECT isnt_empty('SELECT * FROM pg_budget_status',
	'a plain role can SELECT from pg_budget_status');
SELECT ok((SELECT count(*) FROM pg_budget_backends WHERE pid = pg_backend_pid()) = 1,
	'a plain role can SELECT from pg_budget_backends');
SELECT lives_ok('SELECT * FROM pg_budget_admission_histogram()',
	'a plain role can read the admission histogram');
SELECT lives_ok('SELECT * FROM pg_budget_gate_histogram()',
	'a plain role can read the gate histogram');
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
			   ('pg_budget_history'), ('pg_budget_events')) x(v);
SELECT table_privs_are('public', v, 'pg_read_all_stats', ARRAY['SELECT'],
		'pg_read_all_stats can read ' || v)
  FROM (VALUES ('pg_budget_wait_stats'), ('pg_budget_lock_stats'),
			   ('pg_budget_history'), ('pg_budget_events')) x(v);

SELECT * FROM finish();
ROLLBACK;
