/*-------------------------------------------------------------------------
 *
 * policy_math.c
 *	  Pure decisions of the shedding worker: wait-event meaning, moving
 *	  averages, AIMD limits, the class that gives way and victim order.
 *
 * Owns no state; the worker keeps the PgbAimdState of each class.
 *
 *-------------------------------------------------------------------------
 */
#include "policy_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

static bool
name_in_nocase(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcasecmp(name, *list) == 0)
			return true;
	return false;
}

const char *
pgb_pressure_names(uint32 bits)
{
	static const char *const names[] = {
		"none", "connections", "wal", "connections+wal", "lock",
		"connections+lock", "wal+lock", "connections+wal+lock",
		"cpu", "connections+cpu", "wal+cpu", "connections+wal+cpu",
		"lock+cpu", "connections+lock+cpu", "wal+lock+cpu",
		"connections+wal+lock+cpu"
	};

	return names[bits & 15];
}

PgbWaitCategory
pgb_wait_category(const char *type, const char *name)
{
	static const char *const wal_lwlocks[] = {"WALWrite", "WALInsert", "WALBufMapping", NULL};
	static const char *const wal_io[] = {"WALWrite", "WALSync", NULL};

	if (type == NULL || name == NULL)
		return PGB_WAIT_RUNNING;
	if (strcmp(type, "LWLock") == 0)
		return name_in(name, wal_lwlocks) ? PGB_WAIT_WAL : PGB_WAIT_OTHER;
	/* IO names are spelt WALSync before 17 and WalSync from 17 on */
	if (strcmp(type, "IO") == 0)
		return (name_in_nocase(name, wal_io) || strncasecmp(name, "WALInit", 7) == 0) ?
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

double
pgb_ema_alpha(double dt_ms, double tau_ms)
{
	if (tau_ms <= 0 || dt_ms >= 20 * tau_ms)
		return 1.0;
	if (dt_ms <= 0)
		return 0.0;
	return 1.0 - exp(-dt_ms / tau_ms);
}

double
pgb_connection_calm_line(double saturation_threshold)
{
	return Max(saturation_threshold - 0.1, saturation_threshold / 2);
}

double
pgb_ema(double avg, double sample, double dt_ms, double tau_ms)
{
	return avg + pgb_ema_alpha(dt_ms, tau_ms) * (sample - avg);
}

static int
victim_cmp(const void *a, const void *b)
{
	const PgbVictim *x = (const PgbVictim *) a;
	const PgbVictim *y = (const PgbVictim *) b;

	if (x->state != y->state)
		return (int) x->state - (int) y->state;
	if (x->state_since_ms != y->state_since_ms)
		return x->state_since_ms < y->state_since_ms ? -1 : 1;
	return x->pid - y->pid;
}

void
pgb_order_victims(PgbVictim *victims, int n)
{
	if (n > 1)
		qsort(victims, n, sizeof(PgbVictim), victim_cmp);
}

PgbShedAction
pgb_shed_action(PgbShedMode mode, const PgbVictim *v)
{
	if (mode == PGB_SHED_NEVER)
		return PGB_ACTION_NONE;
	if (v->state != PGB_STATE_ACTIVE)
		return mode == PGB_SHED_TERMINATE ? PGB_ACTION_TERMINATE : PGB_ACTION_NONE;
	if (!v->cancelled)
		return PGB_ACTION_CANCEL;
	return mode == PGB_SHED_TERMINATE ? PGB_ACTION_TERMINATE : PGB_ACTION_CANCEL;
}

bool
pgb_aimd_step(PgbAimdState *st, const PgbAimdParams *p, bool pressure,
			  bool calm, int connected, int max, int floor_limit, int usable,
			  int64 now_ms)
{
	int			ceiling = (max == PGB_UNLIMITED || max > usable) ? usable : max;
	int			current = st->limit == PGB_UNLIMITED ? ceiling : st->limit;
	int			next;

	if (!calm)
		st->calm_since_ms = -1;
	else if (st->calm_since_ms < 0)
		st->calm_since_ms = now_ms;

	if (now_ms - st->last_step_ms < p->step_ms)
		return false;

	if (pressure)
	{
		/* start from what the class really uses, or halving does nothing */
		if (connected < current)
			current = connected;
		next = (int) floor(current * p->decrease);
		if (next < floor_limit)
			next = floor_limit;
		if (next >= (st->limit == PGB_UNLIMITED ? ceiling + 1 : st->limit))
			return false;
		st->limit = next;
		st->last_step_ms = now_ms;
		return true;
	}

	if (calm && st->limit != PGB_UNLIMITED &&
		now_ms - st->calm_since_ms >= p->calm_ms)
	{
		next = st->limit + p->increase;
		st->limit = next >= ceiling ? PGB_UNLIMITED : next;
		st->last_step_ms = now_ms;
		return true;
	}
	return false;
}

int
pgb_class_to_decrease(const PgbClassTable *table, const int *limits,
					  const int *connected)
{
	int			best = -1;
	int			i;

	for (i = 0; i < table->nclasses; i++)
	{
		const PgbClass *c = &table->classes[i];
		int			eff = limits[i];

		if (c->shed == PGB_SHED_NEVER)
			continue;
		if (eff == PGB_UNLIMITED || eff > connected[i])
			eff = connected[i];
		if (eff <= c->floor)
			continue;
		if (best < 0 ||
			c->priority < table->classes[best].priority ||
			(c->priority == table->classes[best].priority &&
			 connected[i] > connected[best]))
			best = i;
	}
	return best;
}
