/*-------------------------------------------------------------------------
 *
 * test_policy_math.c
 *	  Unit tests of what a wait event means and of moving averages
 *	  (src/policy_math.c).
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/policy_math.c
#include "policy_math.h"
#include "unit.h"

static void
test_wait_category(void)
{
	is_int(pgb_wait_category(NULL, NULL), PGB_WAIT_RUNNING, "no wait event: running");
	is_int(pgb_wait_category("LWLock", "WALWrite"), PGB_WAIT_WAL, "LWLock WALWrite is WAL");
	is_int(pgb_wait_category("LWLock", "WALInsert"), PGB_WAIT_WAL, "LWLock WALInsert is WAL");
	is_int(pgb_wait_category("LWLock", "WALBufMapping"), PGB_WAIT_WAL, "LWLock WALBufMapping is WAL");
	is_int(pgb_wait_category("LWLock", "BufferContent"), PGB_WAIT_OTHER, "other LWLocks are other");
	is_int(pgb_wait_category("IO", "WALWrite"), PGB_WAIT_WAL, "IO WALWrite is WAL");
	is_int(pgb_wait_category("IO", "WALSync"), PGB_WAIT_WAL, "IO WALSync is WAL");
	is_int(pgb_wait_category("IO", "WALInitSync"), PGB_WAIT_WAL, "IO WALInitSync is WAL");
	is_int(pgb_wait_category("IO", "WALInitWrite"), PGB_WAIT_WAL, "IO WALInitWrite is WAL");
	is_int(pgb_wait_category("IO", "WALRead"), PGB_WAIT_OTHER, "IO WALRead is not a flush wait");
	/* 17 renamed the IO events */
	is_int(pgb_wait_category("IO", "WalWrite"), PGB_WAIT_WAL, "IO WalWrite (17+) is WAL");
	is_int(pgb_wait_category("IO", "WalSync"), PGB_WAIT_WAL, "IO WalSync (17+) is WAL");
	is_int(pgb_wait_category("IO", "WalInitSync"), PGB_WAIT_WAL, "IO WalInitSync (17+) is WAL");
	is_int(pgb_wait_category("IO", "WalInitWrite"), PGB_WAIT_WAL, "IO WalInitWrite (17+) is WAL");
	is_int(pgb_wait_category("IO", "WalRead"), PGB_WAIT_OTHER, "IO WalRead (17+) is not a flush wait");
	is_int(pgb_wait_category("IO", "WalSyncMethodAssign"), PGB_WAIT_OTHER, "IO WalSyncMethodAssign is not a flush wait");
	is_int(pgb_wait_category("IO", "DataFileRead"), PGB_WAIT_OTHER, "data file reads are other");
	is_int(pgb_wait_category("IPC", "SyncRep"), PGB_WAIT_WAL, "IPC SyncRep is WAL");
	is_int(pgb_wait_category("IPC", "ProcArrayGroupUpdate"), PGB_WAIT_OTHER, "other IPC is other");
	is_int(pgb_wait_category("Lock", "transactionid"), PGB_WAIT_LOCK, "Lock transactionid is a lock wait");
	is_int(pgb_wait_category("Lock", "advisory"), PGB_WAIT_LOCK, "Lock advisory is a lock wait");
	is_int(pgb_wait_category("Client", "ClientRead"), PGB_WAIT_IDLE, "ClientRead is idle");
	is_int(pgb_wait_category("Client", "ClientWrite"), PGB_WAIT_OTHER, "ClientWrite is working");
	is_int(pgb_wait_category("Activity", "WalWriterMain"), PGB_WAIT_IDLE, "Activity is idle");
	is_int(pgb_wait_category("Timeout", "PgSleep"), PGB_WAIT_OTHER, "pg_sleep is other");
	is_str(pgb_wait_category_name(PGB_WAIT_WAL), "wal", "category names");
	is_str(pgb_wait_category_name(PGB_WAIT_RUNNING), "running", "running name");
}

static void
test_ema(void)
{
	double		avg = 0;
	int			i;

	is_double(pgb_ema(0, 1, 1000, 1000), 1 - exp(-1), 1e-9, "one time constant moves 63%");
	is_double(pgb_ema(0.5, 1, 0, 1000), 0.5, 1e-12, "no time, no move");
	is_double(pgb_ema(0.2, 0.9, 100000, 1000), 0.9, 1e-12, "a long gap takes the sample");
	is_double(pgb_ema(0.2, 0.9, 10, 0), 0.9, 1e-12, "tau 0 takes the sample");
	/* the worker's loops take the weight once a tick: the same number */
	ok(pgb_ema_step(0.2, 0.9, pgb_ema_alpha(10, 2000)) == pgb_ema(0.2, 0.9, 10, 2000),
	   "pgb_ema_step with pgb_ema_alpha's weight is pgb_ema, to the bit");
	ok(pgb_ema_step(7.5, 0, pgb_ema_alpha(10, 250)) == pgb_ema(7.5, 0, 10, 250),
	   "pgb_ema_step decays as pgb_ema does, to the bit");
	for (i = 0; i < 200; i++)
		avg = pgb_ema(avg, 1.0, 10, 1000);
	ok(avg > 0.86 && avg < 0.87, "200 ticks of 10 ms at tau 1 s: 1 - e^-2");
	for (i = 0; i < 10; i++)
		avg = pgb_ema(avg, 0.0, 10, 1000);
	ok(avg > 0.7, "a short dip does not erase a sustained signal");
}

/* What the CPU signal counts: not a client still logging in (sampler.c) */
static void
test_counts_on_cpu(void)
{
	ok(!pgb_counts_on_cpu(false, false, 0, true),
	   "a client backend before its slot (logging in): not counted");
	ok(!pgb_counts_on_cpu(true, false, 0, true),
	   "a session with its slot, before its first statement: not counted");
	ok(pgb_counts_on_cpu(true, false, 1, true),
	   "a session running a statement: counted");
	ok(pgb_counts_on_cpu(true, true, 0, true),
	   "a walsender (no statements): counted");
	ok(pgb_counts_on_cpu(false, false, 0, false),
	   "autovacuum, a background worker, the system's processes: counted");
}

int
main(void)
{
	test_wait_category();
	test_counts_on_cpu();
	test_ema();
	/* the moving average's weight: the same for a pair asked again, after others */
	{
		double		dts[6] = {10, 10, 20, 1000, 10, 7};
		double		taus[6] = {1000, 5000, 1000, 1000, 3000, 1000};
		int			round;
		int			k;

		for (round = 0; round < 3; round++)
			for (k = 0; k < 6; k++)
				is_double(pgb_ema_alpha(dts[k], taus[k]), 1.0 - exp(-dts[k] / taus[k]), 1e-12,
						  "pgb_ema_alpha: 1 - exp(-dt/tau), whatever was asked before");
		is_double(pgb_ema_alpha(0, 1000), 0.0, 0, "no time: weight 0");
		is_double(pgb_ema_alpha(10, 0), 1.0, 0, "no window: weight 1");
	}

	/* the tick with thousands of sessions */
	is_int(pgb_tick_interval_ms(10, 0), 10, "no session: the setting");
	is_int(pgb_tick_interval_ms(10, 100), 10, "100 sessions: the setting");
	is_int(pgb_tick_interval_ms(10, 1000), 10, "1000 sessions: still the setting");
	is_int(pgb_tick_interval_ms(10, 1001), 11, "1001 sessions: 11 ms");
	is_int(pgb_tick_interval_ms(10, 2000), 20, "2000 sessions: 20 ms");
	is_int(pgb_tick_interval_ms(10, 5000), 50, "5000 sessions: 50 ms");
	is_int(pgb_tick_interval_ms(10, 20000), 100, "20000 sessions: at most 100 ms");
	is_int(pgb_tick_interval_ms(30, 2000), 30, "a longer setting is kept");
	is_int(pgb_tick_interval_ms(1, 50), 1, "a shorter setting with few sessions is kept");
	is_int(pgb_tick_interval_ms(1, 500), 5, "a shorter setting is stretched by the sessions too");
	is_int(pgb_tick_interval_ms(500, 20000), 500, "a setting past the cap is kept");

	/* the calm tick: what calm is */
	{
		PgbCalmSigns calm = {0, 0, 0, 0, true, 0, -1};
		PgbCalmSigns s;

		ok(pgb_tick_calm(&calm), "nothing seen, no memory bound: calm");
		s = calm;
		s.queued = 1;
		ok(!pgb_tick_calm(&s), "a session queued at the gate: not calm");
		s = calm;
		s.waiting = 1;
		ok(!pgb_tick_calm(&s), "a lock or WAL wait: not calm");
		s = calm;
		s.marked = 1;
		ok(!pgb_tick_calm(&s), "a boost, switch, inversion or timed statement: not calm");
		s = calm;
		s.pressure = PGB_PRESSURE_CPU;
		ok(!pgb_tick_calm(&s), "pressure: not calm");
		s = calm;
		s.plan_calm = false;
		ok(!pgb_tick_calm(&s), "the plan not calm (CPU past half its threshold): not calm");
		s = calm;
		s.planned = 1;
		ok(!pgb_tick_calm(&s), "a round, victim or limit change planned: not calm");
		s = calm;
		s.quiet_ms = 0;
		ok(!pgb_tick_calm(&s), "the memory guard reads every tick: not calm");
		s = calm;
		s.quiet_ms = 40;
		ok(pgb_tick_calm(&s), "the memory guard's next reading 40 ms away: calm");
	}

	/* the calm tick: how long it grows */
	is_int(pgb_calm_interval_ms(10, 10, false, -1), 10, "not calm: the tick in force");
	is_int(pgb_calm_interval_ms(10, 100, false, -1), 10, "not calm after a calm stretch: back at once");
	is_int(pgb_calm_interval_ms(10, 10, true, -1), 20, "calm: twice as late");
	is_int(pgb_calm_interval_ms(10, 20, true, -1), 40, "calm again: 40 ms");
	is_int(pgb_calm_interval_ms(10, 80, true, -1), 100, "at most 100 ms");
	is_int(pgb_calm_interval_ms(10, 100, true, -1), 100, "and stays there");
	is_int(pgb_calm_interval_ms(10, 80, true, 35), 35, "never past the memory guard's next reading");
	is_int(pgb_calm_interval_ms(10, 80, true, 3), 10, "nor below the tick in force");
	is_int(pgb_calm_interval_ms(30, 30, true, -1), 60, "a longer setting grows too");
	is_int(pgb_calm_interval_ms(100, 100, true, -1), 100, "a setting of 100 ms: unchanged");
	is_int(pgb_calm_interval_ms(500, 500, true, -1), 500, "a setting past 100 ms: unchanged");
	is_int(pgb_calm_interval_ms(20, 10, true, -1), 40, "a stretched tick is the base");
	{
		int			ms = 10;
		int			n;

		for (n = 0; n < 4; n++)
			ms = pgb_calm_interval_ms(10, ms, true, -1);
		is_int(ms, 100, "four calm ticks from 10 ms: 100 ms (10, 20, 40, 80, 100)");
	}
	is_int(pgb_calm_weight(10, 10), 1, "a tick at the base: weight 1");
	is_int(pgb_calm_weight(100, 10), 10, "a 100 ms calm tick stands for ten");
	is_int(pgb_calm_weight(35, 10), 4, "35 ms: rounded, 4");
	is_int(pgb_calm_weight(5, 10), 1, "never below 1");
	is_int(pgb_calm_weight(100, 0), 1, "no base: 1");

	/* light ticks: settled sessions read every 50 ms or so */
	is_int(pgb_full_walk_every(10), 5, "10 ms: every fifth tick reads every session");
	is_int(pgb_full_walk_every(20), 2, "20 ms: every second tick");
	is_int(pgb_full_walk_every(11), 4, "11 ms: every fourth (44 ms)");
	is_int(pgb_full_walk_every(1), 50, "1 ms: every fiftieth");
	is_int(pgb_full_walk_every(50), 1, "50 ms: every tick");
	is_int(pgb_full_walk_every(100), 1, "100 ms: every tick");
	is_int(pgb_full_walk_every(0), 1, "no interval: every tick");

	return done_testing();
}
