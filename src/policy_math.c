/*-------------------------------------------------------------------------
 *
 * policy_math.c
 *	  What a wait event means, the names of the pressure signals, and
 *	  moving averages (policy_math.h).
 *
 * Pure: no server calls, no state; unit-tested in test/unit/test_policy_math.c.
 *
 *-------------------------------------------------------------------------
 */
#include "policy_math.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* Is name in the NULL-terminated list, as cmp (strcmp, strcasecmp) sees? */
static bool
name_in(const char *name, const char *const *list,
		int (*cmp) (const char *, const char *))
{
	for (; *list; list++)
		if (cmp(name, *list) == 0)
			return true;
	return false;
}

const char *
pgb_pressure_names(uint32 bits)
{
	static const char *const words[] = {"connections", "wal", "lock", "cpu", "memory"};
	static char names[1 << lengthof(words)][64];
	uint32		b = bits & ((1 << lengthof(words)) - 1);
	char	   *out = names[b];

	if (out[0] == '\0')
	{
		size_t		i;

		/* made once per combination: "none", or the words joined by + */
		strcpy(out, b == 0 ? "none" : "");
		for (i = 0; i < lengthof(words); i++)
			if (b & (1U << i))
			{
				if (out[0] != '\0')
					strcat(out, "+");
				strcat(out, words[i]);
			}
	}
	return out;
}

bool
pgb_counts_on_cpu(bool judged, bool walsender, uint32 statements, bool client)
{
	if (judged)
		return walsender || statements != 0;
	return !client;
}

PgbWaitCategory
pgb_wait_category(const char *type, const char *name)
{
	static const char *const wal_lwlocks[] = {"WALWrite", "WALInsert", "WALBufMapping", NULL};
	static const char *const wal_io[] = {"WALWrite", "WALSync", NULL};

	if (type == NULL || name == NULL)
		return PGB_WAIT_RUNNING;
	if (strcmp(type, "LWLock") == 0)
		return name_in(name, wal_lwlocks, strcmp) ? PGB_WAIT_WAL : PGB_WAIT_OTHER;
	/* IO names are spelt WALSync before 17 and WalSync from 17 on */
	if (strcmp(type, "IO") == 0)
		return (name_in(name, wal_io, strcasecmp) ||
				strncasecmp(name, "WALInit", 7) == 0) ?
			PGB_WAIT_WAL : PGB_WAIT_OTHER;
	if (strcmp(type, "IPC") == 0)
		return strcmp(name, "SyncRep") == 0 ? PGB_WAIT_WAL : PGB_WAIT_OTHER;
	if (strcmp(type, "Lock") == 0)
		return PGB_WAIT_LOCK;
	if (strcmp(type, "Activity") == 0)
		return PGB_WAIT_IDLE;
	if (strcmp(type, "Client") == 0 && strcmp(name, "ClientRead") == 0)
		return PGB_WAIT_IDLE;
	return PGB_WAIT_OTHER;
}

const char *
pgb_wait_category_name(PgbWaitCategory cat)
{
	switch (cat)
	{
		case PGB_WAIT_RUNNING:
			return "running";
		case PGB_WAIT_WAL:
			return "wal";
		case PGB_WAIT_LOCK:
			return "lock";
		case PGB_WAIT_IDLE:
			return "idle";
		case PGB_WAIT_OTHER:
			return "other";
	}
	return "other";
}

int
pgb_tick_interval_ms(int sample_interval_ms, int live_sessions)
{
	int			stretched;

	if (sample_interval_ms >= PGB_TICK_MAX_MS || live_sessions <= 0)
		return sample_interval_ms;
	stretched = (live_sessions + PGB_TICK_SESSIONS_PER_MS - 1) /
		PGB_TICK_SESSIONS_PER_MS;
	if (stretched > PGB_TICK_MAX_MS)
		stretched = PGB_TICK_MAX_MS;
	return stretched > sample_interval_ms ? stretched : sample_interval_ms;
}

bool
pgb_tick_calm(const PgbCalmSigns *s)
{
	return s->queued == 0 && s->waiting == 0 && s->marked == 0 &&
		s->pressure == 0 && s->plan_calm && s->planned == 0 &&
		s->quiet_ms != 0;
}

int
pgb_calm_interval_ms(int base_ms, int last_ms, bool calm, int quiet_ms)
{
	int			next;

	if (!calm || base_ms >= PGB_CALM_TICK_MS)
		return base_ms;
	/* doubled from the last, or from the tick in force after a busy one */
	next = 2 * Max(last_ms, base_ms);
	if (next > PGB_CALM_TICK_MS)
		next = PGB_CALM_TICK_MS;
	if (quiet_ms >= 0 && next > quiet_ms)
		next = quiet_ms;
	return Max(next, base_ms);
}

int
pgb_calm_weight(int interval_ms, int base_ms)
{
	if (base_ms <= 0 || interval_ms <= base_ms)
		return 1;
	return (interval_ms + base_ms / 2) / base_ms;
}

int
pgb_full_walk_every(int interval_ms)
{
	if (interval_ms <= 0 || interval_ms >= PGB_FULL_WALK_MS)
		return 1;
	return PGB_FULL_WALK_MS / interval_ms;
}

double
pgb_ema_alpha(double dt_ms, double tau_ms)
{
	if (tau_ms <= 0 || dt_ms >= 20 * tau_ms)
		return 1.0;
	if (dt_ms <= 0)
		return 0.0;

	/*
	 * The worker asks for the same few (dt, tau) pairs a dozen times a
	 * tick (every signal of every class): exp() once a pair.
	 */
	{
		static double memo_dt[4];
		static double memo_tau[4];
		static double memo_alpha[4];
		static int	memo_next = 0;
		int			i;

		for (i = 0; i < 4; i++)
			if (memo_dt[i] == dt_ms && memo_tau[i] == tau_ms)
				return memo_alpha[i];
		i = memo_next;
		memo_next = (memo_next + 1) % 4;
		memo_dt[i] = dt_ms;
		memo_tau[i] = tau_ms;
		memo_alpha[i] = 1.0 - exp(-dt_ms / tau_ms);
		return memo_alpha[i];
	}
}

double
pgb_ema(double avg, double sample, double dt_ms, double tau_ms)
{
	return pgb_ema_step(avg, sample, pgb_ema_alpha(dt_ms, tau_ms));
}
