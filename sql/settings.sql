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

-- A bad value of any setting is refused, like core's own, and nothing is
-- written; queue_timeout and wal_rate_floor read what the class keys read.
ALTER SYSTEM SET pg_budget.queue_timeout = '1d1ms';
ALTER SYSTEM SET pg_budget.queue_timeout = '-0.5';
ALTER SYSTEM SET pg_budget.queue_timeout = '-1ms';
ALTER SYSTEM SET pg_budget.queue_timeout = '25h';
ALTER SYSTEM SET pg_budget.cpu_pressure_threshold = -1;
ALTER SYSTEM SET pg_budget.run_delay_target = -1;
ALTER SYSTEM SET pg_budget.wal_rate_floor = '0.1B/s';
ALTER SYSTEM SET pg_budget.wal_rate_floor = '10MB/h';
ALTER SYSTEM SET pg_budget.classes = 'ai(queue_timeout=-0.5)';
ALTER SYSTEM SET pg_budget.classes = 'ai(queue_timeout=1d1ms)';
ALTER SYSTEM SET pg_budget.classes = 'bulk(wal=0.1B/s)';
-- The cpu key: a weight from 1 to 10000, or idle; pg_budget.cgroup: an
-- absolute path (whether it is a cgroup is judged at start, never fatal).
ALTER SYSTEM SET pg_budget.classes = 'web(cpu=100), ai(cpu=0)';
ALTER SYSTEM SET pg_budget.classes = 'ai(cpu=10001)';
ALTER SYSTEM SET pg_budget.classes = 'ai(cpu=Idle)';
ALTER SYSTEM SET pg_budget.classes = 'ai(cpu=1, cpu=idle)';
ALTER SYSTEM SET pg_budget.cgroup = 'sys/fs/cgroup/cpu/pg';
-- Memory: the mem and session_mem keys and pg_budget.memory_limit read a
-- size with its unit, 1MB to 1TB; session_mem at most mem; the guard is a
-- share of the limit.
ALTER SYSTEM SET pg_budget.classes = 'ai(mem=12)';
ALTER SYSTEM SET pg_budget.classes = 'ai(session_mem=0.5MB)';
ALTER SYSTEM SET pg_budget.classes = 'ai(mem=100MB, session_mem=200MB)';
ALTER SYSTEM SET pg_budget.memory_limit = 'lots';
ALTER SYSTEM SET pg_budget.memory_limit = '512';
ALTER SYSTEM SET pg_budget.memory_guard = 1.5;
-- Runaways: switch_time needs switch_to (cancel, or a class of the table
-- of lower priority); durations above 0.
ALTER SYSTEM SET pg_budget.classes = 'ai(switch_time=30s)';
ALTER SYSTEM SET pg_budget.classes = 'ai(switch_time=0, switch_to=cancel)';
ALTER SYSTEM SET pg_budget.classes = 'web(), ai(switch_time=30s, switch_to=web)';
ALTER SYSTEM SET pg_budget.classes = 'ai(priority=10, switch_time=30s, switch_to=bulk)';
ALTER SYSTEM SET pg_budget.classes = 'ai(idle_blocker_timeout=-1)';
-- Warn mode: enforce=on or enforce=warn, nothing else.
ALTER SYSTEM SET pg_budget.classes = 'ai(max=2, enforce=off)';
SELECT name, setting FROM pg_file_settings
 WHERE name LIKE 'pg_budget.%' AND sourcefile LIKE '%postgresql.auto.conf' ORDER BY 1;
-- Good values are written: 10MB/s as the wal key writes it, -1 and 1.5s.
ALTER SYSTEM SET pg_budget.wal_rate_floor = '10MB/s';
ALTER SYSTEM SET pg_budget.queue_timeout = '1.5s';
ALTER SYSTEM SET pg_budget.classes = 'ai(queue_timeout=-1), b(queue_timeout=1.5s, wal=1B/s)';
SELECT name, setting FROM pg_file_settings
 WHERE name LIKE 'pg_budget.%' AND sourcefile LIKE '%postgresql.auto.conf' ORDER BY 1;
ALTER SYSTEM SET pg_budget.classes = 'web(cpu=10000), ai(cpu=1), bulk(cpu=idle)';
ALTER SYSTEM SET pg_budget.cgroup = '/sys/fs/cgroup/cpu/pg';
SELECT name, setting FROM pg_file_settings
 WHERE name IN ('pg_budget.classes', 'pg_budget.cgroup') AND sourcefile LIKE '%postgresql.auto.conf' ORDER BY 1;
ALTER SYSTEM RESET pg_budget.cgroup;
ALTER SYSTEM SET pg_budget.classes = 'ai(mem=1.5GB, session_mem=512MB), web(session_mem=1TB)';
ALTER SYSTEM SET pg_budget.memory_limit = '16GB';
ALTER SYSTEM SET pg_budget.memory_guard = 0.8;
SELECT name, setting FROM pg_file_settings
 WHERE name IN ('pg_budget.classes', 'pg_budget.memory_limit', 'pg_budget.memory_guard')
   AND sourcefile LIKE '%postgresql.auto.conf' ORDER BY 1;
ALTER SYSTEM RESET pg_budget.memory_limit;
ALTER SYSTEM RESET pg_budget.memory_guard;
ALTER SYSTEM SET pg_budget.queue_timeout = -1;
SELECT name, setting FROM pg_file_settings
 WHERE name = 'pg_budget.queue_timeout' AND sourcefile LIKE '%postgresql.auto.conf';
ALTER SYSTEM RESET pg_budget.wal_rate_floor;
ALTER SYSTEM RESET pg_budget.queue_timeout;
ALTER SYSTEM RESET pg_budget.classes;
SELECT count(*) FROM pg_file_settings
 WHERE name LIKE 'pg_budget.%' AND sourcefile LIKE '%postgresql.auto.conf';

-- ALTER SYSTEM refuses a max_connections or a number of reserved slots that
-- the class table would not fit in at the next start (web has max=20, the
-- reservations total 7), naming the class, and writes nothing.
ALTER SYSTEM SET max_connections = 15;
ALTER SYSTEM SET max_connections = 8;
ALTER SYSTEM SET superuser_reserved_connections = 25;
ALTER SYSTEM SET "Max_Connections" = '22';
ALTER SYSTEM SET max_connections = 0;
-- A role that may not ALTER SYSTEM gets core's refusal, not the budget's.
CREATE ROLE regress_pgb_plain;
SET ROLE regress_pgb_plain;
ALTER SYSTEM SET max_connections = 15;
RESET ROLE;
DROP ROLE regress_pgb_plain;
SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf';
-- What still fits is written; RESET and other settings are not judged.
-- Each is judged against what the next start reads: with max_connections
-- = 23 written, 20 reserved slots leave 3, and web(max=21) does not fit.
ALTER SYSTEM SET max_connections = 23;
ALTER SYSTEM SET superuser_reserved_connections = 20;
ALTER SYSTEM SET pg_budget.classes = 'web(max=21)';
ALTER SYSTEM SET pg_budget.classes = 'web(max=20)';
ALTER SYSTEM SET work_mem = '8MB';
SELECT name, setting FROM pg_file_settings
 WHERE sourcefile LIKE '%postgresql.auto.conf' ORDER BY 1;
ALTER SYSTEM RESET max_connections;
ALTER SYSTEM SET superuser_reserved_connections TO DEFAULT;
ALTER SYSTEM RESET ALL;
SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf';

-- Only a reload changes the table.
SET pg_budget.classes = 'web(max=1)';
SET pg_budget.enabled = off;
