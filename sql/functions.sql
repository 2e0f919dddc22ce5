-- pause, resume, reset and the admission-time histogram.
SELECT pg_budget_pause('ai');
SELECT class, paused, pause_mode, paused_since IS NOT NULL AS has_since
  FROM pg_budget_status WHERE class = 'ai';
-- pausing twice is harmless
SELECT pg_budget_pause('ai', 'reject');
SELECT pg_budget_resume('ai');
SELECT class, paused, pause_mode, paused_since FROM pg_budget_status WHERE class = 'ai';
SELECT pg_budget_resume('ai');

-- bad calls
SELECT pg_budget_pause('nosuch');
SELECT pg_budget_pause('ai', 'bogus');
-- cancel and terminate also signal the class's sessions: ai has none here
SELECT pg_budget_pause('ai', 'cancel') AS signalled;
SELECT class, paused, pause_mode FROM pg_budget_status WHERE class = 'ai';
SELECT pg_budget_pause('ai', 'terminate') AS signalled;
SELECT class, paused, pause_mode FROM pg_budget_status WHERE class = 'ai';
SELECT pg_budget_resume('ai');
SELECT action, signal, class FROM pg_budget_events WHERE action IN ('pause', 'resume') ORDER BY at;
SELECT pg_budget_pause(NULL);
SELECT pg_budget_resume('nosuch');

-- logins so far were timed; reset clears counters and timings, not sessions
SELECT count(*) > 0 AS timed FROM pg_budget_admission_histogram();
SELECT sum(logins) >= 1 AS logins_timed FROM pg_budget_admission_histogram();
SELECT pg_budget_reset();
SELECT count(*) AS buckets FROM pg_budget_admission_histogram();
SELECT class, admitted, rejected, connected >= 1 AS still_counted
  FROM pg_budget_status WHERE class = 'default';
SELECT count(*) AS lock_stats_rows FROM pg_budget_lock_stats;
