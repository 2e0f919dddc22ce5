/*-------------------------------------------------------------------------
 *
 * fuzz_classes.c
 *	  libFuzzer target: the class-table parser and the admission arithmetic.
 *
 * Per input: the parser must not crash and must give the same verdict and
 * table with error buffers of every small size; a table it accepts has
 * every field in range, reserve and floor at most max, valid and unique
 * names, a CPU weight in range and cgroup writes the kernel takes.  The
 * readers of /proc files take the same input without crashing.  The trailing bytes of the input then drive one admission
 * decision and one retry-after hint over that table, whose verdict must
 * agree with the numbers it was given.  The same input is also read as a
 * duration (the queue_timeout key and setting) and as a WAL rate setting:
 * a duration read must be -1 only for a written -1, 0 only for a written
 * zero, and otherwise the written value rounded up to the millisecond; a
 * rate must be within its bounds.  Cutting the input at every length on
 * a UTF-8 boundary never gives back more than three bytes, and a cut of
 * valid UTF-8 is valid UTF-8.  The input is also read as pg_budget.rules:
 * the same verdict with every small error buffer; a list it accepts has
 * at most PGB_MAX_RULES rules, each pattern within its length and a
 * network that contains itself, and the rules' own texts joined parse
 * back to the same rules; every glob matches itself with its wildcards
 * written out, and the input's bytes as an address or CIDR are read
 * within their length.
 *
 * SOURCES: src/class_parse.c src/class_table.c src/units.c src/lexer.c src/cgroup_math.c src/admit_math.c src/queue_math.c src/wal_bucket.c src/text_util.c src/rules_parse.c src/rules_match.c src/mem_files.c
 *
 *-------------------------------------------------------------------------
 */
#include "c.h"

#include <math.h>
#include <stdlib.h>

#include "admit_math.h"
#include "cgroup_math.h"
#include "classes.h"
#include "mem_files.h"
#include "queue_math.h"
#include "rules_match.h"
#include "rules_parse.h"
#include "text_util.h"
#include "wal_bucket.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
	do { if (!(cond)) { fprintf(stderr, "fuzz_classes: check failed: %s (line %d)\n", #cond, __LINE__); abort(); } } while (0)

static void
check_table(const PgbClassTable *t)
{
	int			i,
				j;

	CHECK(t->nclasses >= 0 && t->nclasses <= PGB_MAX_CLASSES);
	for (i = 0; i < t->nclasses; i++)
	{
		const PgbClass *c = &t->classes[i];

		CHECK(pgb_valid_class_name(c->name));
		CHECK(c->max == PGB_UNLIMITED || c->max >= 0);
		CHECK(c->reserve >= 0);
		CHECK(c->max == PGB_UNLIMITED || c->reserve <= c->max);
		CHECK(c->floor >= 0);
		CHECK(c->max == PGB_UNLIMITED || c->floor <= c->max);
		CHECK(c->rate >= 0 && !isnan(c->rate) && !isinf(c->rate));
		CHECK(c->rate == 0 || c->burst >= 1);
		CHECK(c->shed == PGB_SHED_NEVER || c->shed == PGB_SHED_CANCEL ||
			  c->shed == PGB_SHED_TERMINATE);
		CHECK(c->active == PGB_UNLIMITED || c->active >= 1);
		CHECK(c->wal == 0 || (c->wal > 0 && c->wal <= PGB_WAL_RATE_MAX));
		CHECK(c->queue_timeout == PGB_QUEUE_TIMEOUT_DEFAULT ||
			  c->queue_timeout == PGB_QUEUE_TIMEOUT_NONE ||
			  (c->queue_timeout >= 0 && c->queue_timeout <= PGB_QUEUE_TIMEOUT_MAX));
		CHECK(c->cpu_weight >= PGB_CPU_WEIGHT_MIN && c->cpu_weight <= PGB_CPU_WEIGHT_MAX);
		CHECK(c->cpu_idle == true || c->cpu_idle == false);
		CHECK(c->mem == 0 || (c->mem >= PGB_MEM_SIZE_MIN && c->mem <= PGB_MEM_SIZE_MAX));
		CHECK(c->session_mem == 0 ||
			  (c->session_mem >= PGB_MEM_SIZE_MIN && c->session_mem <= PGB_MEM_SIZE_MAX));
		CHECK(c->mem == 0 || c->session_mem <= c->mem);
		/* switch_time and switch_to come together; durations above 0 */
		CHECK((c->switch_time == 0) == (c->switch_to == PGB_SWITCH_NONE));
		CHECK(c->switch_time >= 0 && c->switch_time <= PGB_QUEUE_TIMEOUT_MAX);
		/* switch_to a class: one of the table, of lower priority */
		if (c->switch_to == PGB_SWITCH_CLASS)
		{
			int			k = pgb_find_class(t, c->switch_class);

			CHECK(k >= 0 && k != i);
			CHECK(k < 0 || t->classes[k].priority < c->priority);
		}
		CHECK(c->idle_blocker_timeout >= 0 &&
			  c->idle_blocker_timeout <= PGB_QUEUE_TIMEOUT_MAX);
		/* what a class's cgroup gets: in the kernel's ranges */
		{
			PgbCgroupWrite w[PGB_CGROUP_MAX_WRITES];
			int			n1 = pgb_cgroup_class_writes(PGB_CGROUP_V1, c, w);
			int			n2 = pgb_cgroup_class_writes(PGB_CGROUP_V2, c, w);

			CHECK(n1 >= 1 && n1 <= PGB_CGROUP_MAX_WRITES);
			CHECK(n2 >= 1 && n2 <= PGB_CGROUP_MAX_WRITES);
			CHECK(pgb_cpu_shares(c->cpu_weight) >= 2 &&
				  pgb_cpu_shares(c->cpu_weight) <= 262144);
			CHECK(!pgb_cgroup_stale(c->name, t));
		}
		for (j = 0; j < i; j++)
			CHECK(strcmp(c->name, t->classes[j].name) != 0);
		CHECK(pgb_find_class(t, c->name) == i);
	}
}

static int
take(const uint8_t **p, size_t *n, int mod)
{
	int			v = 0;

	if (*n > 0)
	{
		v = **p;
		(*p)++;
		(*n)--;
	}
	if (*n > 0)
	{
		v = (v << 8) | **p;
		(*p)++;
		(*n)--;
	}
	return mod > 0 ? v % mod : v;
}

static void
check_admission(const PgbClassTable *t, const uint8_t *p, size_t n)
{
	int			connected[PGB_MAX_CLASSES + 1];
	PgbAdmitInput in;
	PgbAdmitDetail d;
	PgbVerdict v;
	int			i;
	int			retry;
	int			mine;

	if (t->nclasses == 0)
		return;
	in.table = t;
	in.self = take(&p, &n, t->nclasses);
	in.usable = take(&p, &n, 2000);
	in.total_connected = 0;
	for (i = 0; i < t->nclasses; i++)
	{
		connected[i] = take(&p, &n, 300);
		in.total_connected += connected[i];
	}
	in.connected = connected;
	in.limit = take(&p, &n, 4) == 0 ? PGB_UNLIMITED : take(&p, &n, 300);
	in.paused = take(&p, &n, 8) == 0;
	in.tokens = take(&p, &n, 0) / 16384.0;

	memset(&d, 0x7f, sizeof(d));
	v = pgb_admit_decide(&in, &d);
	mine = connected[in.self];
	CHECK(v >= PGB_ADMIT && v <= PGB_REJECT_RATE);
	if (in.paused)
		CHECK(v == PGB_REJECT_PAUSED);
	else if (v == PGB_ADMIT)
	{
		/* never past the cap or the worker's limit */
		CHECK(t->classes[in.self].max == PGB_UNLIMITED || mine < t->classes[in.self].max);
		CHECK(in.limit == PGB_UNLIMITED || mine < in.limit);
		CHECK(t->classes[in.self].rate == 0 || in.tokens >= 1.0);
		/* outside its reserve, others' unused reserves stay free */
		if (mine >= t->classes[in.self].reserve)
		{
			int			held = 0;

			for (i = 0; i < t->nclasses; i++)
				if (i != in.self && t->classes[i].reserve > connected[i])
					held += t->classes[i].reserve - connected[i];
			CHECK(in.total_connected + 1 + held <= in.usable);
		}
	}
	CHECK(d.cap == PGB_UNLIMITED || d.cap >= 0);
	CHECK(d.nblockers >= 0 && d.nblockers <= t->nclasses);

	retry = pgb_retry_after_ms(v == PGB_ADMIT ? PGB_REJECT_CAP : v, take(&p, &n, 0) * 10,
							   t->classes[in.self].rate, in.tokens,
							   take(&p, &n, 0) / 65536.0);
	CHECK(retry >= 0 && retry <= PGB_RETRY_MAX_MS);
	CHECK(pgb_verdict_name(v) != NULL);

	/* the gate: entry and hand-off never go past the limit */
	{
		const PgbClass *c = &t->classes[in.self];
		int			effective = take(&p, &n, 3) == 0 ? PGB_UNLIMITED : take(&p, &n, 64);
		int			limit = pgb_gate_limit(c->active, effective);
		int			in_progress = take(&p, &n, 128);
		int			queued = take(&p, &n, 128);
		int			granted = pgb_gate_grantable(in_progress, limit, queued);

		CHECK(limit == PGB_UNLIMITED || limit <= Max(c->active, effective));
		CHECK(c->active == PGB_UNLIMITED || (limit != PGB_UNLIMITED && limit <= c->active));
		if (pgb_gate_may_enter(in_progress, limit, queued))
			CHECK(queued == 0 && (limit == PGB_UNLIMITED || in_progress < limit));
		CHECK(granted >= 0 && granted <= queued);
		CHECK(limit == PGB_UNLIMITED || in_progress + granted <= Max(limit, in_progress));
		retry = pgb_gate_retry_after_ms(take(&p, &n, 0) * 1000, take(&p, &n, 0) / 65536.0);
		CHECK(retry >= 1 && retry <= 86400000);
	}

	/* the WAL bucket: never above its burst, debt paid back at the rate */
	{
		const PgbClass *c = &t->classes[in.self];
		double		rate = pgb_wal_limit(c->wal, take(&p, &n, 0) * 1024.0);
		double		tokens = pgb_wal_burst(rate) - take(&p, &n, 0) * 4096.0;
		double		after = pgb_wal_refill(tokens, rate, take(&p, &n, 0) * 1000.0);
		double		wait = pgb_wal_wait_ms(after, rate);

		CHECK(c->wal == 0 || rate <= c->wal);
		CHECK(after <= pgb_wal_burst(rate) && after >= tokens - 1e-6);
		CHECK(wait >= 0 && !isnan(wait));
		if (rate > 0 && after < 0)
			CHECK(pgb_wal_refill(after, rate, wait * 1000.0) >= -1e-6 * Max(1.0, -after));
		/* a debit never goes below the bounded debt; a sleep is one step */
		{
			double		debited = pgb_wal_debit(after, take(&p, &n, 0) * 65536.0, rate, true);
			long		sleep_ms = pgb_wal_sleep_ms(pgb_wal_wait_ms(debited, rate));

			CHECK(debited <= after);
			CHECK(debited >= Min(after, pgb_wal_debt_floor(rate)));
			CHECK(sleep_ms >= 1 && sleep_ms <= PGB_WAL_WAIT_STEP_MS);
		}
	}

	/* the rate bucket stays within [its start, burst] */
	{
		const PgbClass *c = &t->classes[in.self];
		double		before = Min(in.tokens, (double) Max(c->burst, 1));
		double		after = pgb_bucket_refill(before, c->rate, c->burst,
											  (int64) take(&p, &n, 0) * take(&p, &n, 0));

		if (c->rate > 0)
			CHECK(after >= before && after <= Max((double) c->burst, before));
		else
			CHECK(after == 1.0);
	}
}

/*
 * The duration reader against a slower oracle: the number's value in long
 * double times the unit, which the result must round up (within the
 * oracle's own precision).
 */
static void
check_duration(const char *str, size_t len)
{
	int			ms = -12345;
	char	   *exact = malloc(len + 1);
	bool		ok;
	size_t		b = 0;
	size_t		e = len;
	size_t		i;
	bool		nonzero = false;

	/* no terminator: AddressSanitizer catches a read past len */
	memcpy(exact, str, len);
	ok = pgb_parse_duration_ms(exact, len, &ms);
	free(exact);
	if (!ok)
	{
		CHECK(ms == -12345);
		return;
	}
	while (b < e && (str[b] == ' ' || str[b] == '\t' || str[b] == '\n' ||
					 str[b] == '\r' || str[b] == '\f' || str[b] == '\v'))
		b++;
	while (e > b && (str[e - 1] == ' ' || str[e - 1] == '\t' || str[e - 1] == '\n' ||
					 str[e - 1] == '\r' || str[e - 1] == '\f' || str[e - 1] == '\v'))
		e--;
	if (ms == PGB_QUEUE_TIMEOUT_NONE)
	{
		CHECK(e - b == 2 && memcmp(str + b, "-1", 2) == 0);
		return;
	}
	CHECK(ms >= 0 && ms <= PGB_QUEUE_TIMEOUT_MAX);
	CHECK(str[b] >= '0' && str[b] <= '9');
	for (i = b; i < e && ((str[i] >= '0' && str[i] <= '9') || str[i] == '.'); i++)
		if (str[i] >= '1' && str[i] <= '9')
			nonzero = true;
	/* 0 only when zero was written, never a rounded-down fraction */
	CHECK((ms == 0) == !nonzero);
	{
		size_t		n = i - b;
		char	   *num = malloc(n + 1);
		const char *u;
		long double per;
		long double v;

		memcpy(num, str + b, n);
		num[n] = '\0';
		while (i < e && (str[i] == ' ' || str[i] == '\t' || str[i] == '\n' ||
						 str[i] == '\r' || str[i] == '\f' || str[i] == '\v'))
			i++;
		u = str + i;
		n = e - i;
		if (n == 0 || (n == 2 && memcmp(u, "ms", 2) == 0))
			per = 1;
		else if (n == 1 && u[0] == 's')
			per = 1000;
		else if (n == 3 && memcmp(u, "min", 3) == 0)
			per = 60000;
		else if (n == 1 && u[0] == 'h')
			per = 3600000;
		else
		{
			CHECK(n == 1 && u[0] == 'd');
			per = 86400000;
		}
		v = strtold(num, NULL) * per;
		free(num);
		CHECK(v <= (long double) ms + 1e-6L && v > (long double) ms - 1 - 1e-6L);
	}
}

/* Length of the valid UTF-8 prefix of s[0..len) (RFC 3629, no surrogates). */
static size_t
utf8_valid_prefix(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		size_t		n;
		size_t		k;

		if (c < 0x80)
			n = 1;
		else if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4;
		else
			return i;
		if (i + n > len)
			return i;
		for (k = 1; k < n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
			(c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F))
			return i;
		i += n;
	}
	return i;
}

static void
check_utf8_cut(const char *str, size_t len)
{
	size_t		valid = utf8_valid_prefix((const unsigned char *) str, len);
	size_t		limit;

	for (limit = 0; limit <= len && limit < 80; limit++)
	{
		size_t		n = pgb_utf8_cliplen(str, len, limit);

		CHECK(n <= limit && n + 3 >= limit);
		/* within the valid part, the cut keeps whole characters */
		if (limit <= valid)
			CHECK(utf8_valid_prefix((const unsigned char *) str, n) == n);
	}
	CHECK(pgb_utf8_cliplen(str, len, len) == len);
}

static void
check_rate_setting(const char *str)
{
	double		r = -1;

	if (pgb_parse_rate_setting(str, &r))
		CHECK(r >= PGB_WAL_RATE_MIN && r <= PGB_WAL_RATE_MAX && !isnan(r));
	else
		CHECK(r == -1);
}

/*
 * The readers of /proc/<pid>/cgroup, stat, schedstat and statm, and of the
 * cgroup memory files, on any text: no
 * crash, a path that fits its buffer and is a suffix of a line.
 */
static void
check_proc_files(const char *str)
{
	char		path[16];
	uint64		v;
	uint64		w;

	if (pgb_cgroup_cpu_path(str, path, sizeof(path)))
		CHECK(strlen(path) < sizeof(path));
	if (pgb_proc_stat_cpu_ticks(str, &v))
		CHECK(strrchr(str, ')') != NULL);
	if (pgb_proc_schedstat(str, &v, &w))
		CHECK(str[0] >= '0' && str[0] <= '9');
	/* the memory files: statm, memory.stat and meminfo, limits, the path */
	{
		bool		v2;

		if (pgb_cgroup_memory_path(str, path, sizeof(path), &v2))
			CHECK(strlen(path) < sizeof(path) && strstr(str, path) != NULL);
		if (pgb_statm_private_bytes(str, 4096, &v))
			CHECK(v % 4096 == 0);
		if (pgb_mem_limit_value(str, &v))
			CHECK(v == PGB_MEM_UNLIMITED || v < (UINT64CONST(1) << 62));
		(void) pgb_mem_keyed_value(str, "inactive_file", &v);
	}
}

/* a glob with each * left out and each ? written as x: it must match */
static void
check_glob_self(const char *pattern)
{
	char		s[PGB_RULE_PATTERN_LEN + 1];
	size_t		n = 0;
	const char *p;

	for (p = pattern; *p; p++)
	{
		if (*p == '*')
			continue;
		s[n++] = *p == '?' ? 'x' : *p;
	}
	s[n] = '\0';
	CHECK(pgb_glob_match(pattern, s));
	CHECK(pgb_glob_match("*", s));
	if (strchr(pattern, '*') == NULL)
		CHECK(strlen(s) == strlen(pattern));
}

static void
check_rules(const char *str, size_t len)
{
	static PgbRuleSet r1;
	static PgbRuleSet r2;
	char		err1[256];
	char		err2[16];
	bool		ok1;
	size_t		e;
	int			i;

	ok1 = pgb_parse_rules(str, &r1, err1, sizeof(err1));
	if (!ok1)
		CHECK(err1[0] != '\0' && strlen(err1) < sizeof(err1));
	for (e = 1; e <= 8; e++)
	{
		memset(err2, 'x', sizeof(err2));
		CHECK(pgb_parse_rules(str, &r2, err2, e) == ok1);
		CHECK(strnlen(err2, e) < e);
	}
	if (ok1)
	{
		char	   *joined = malloc(PGB_MAX_RULES * (PGB_RULE_TEXT_LEN + 2) + 1);
		size_t		used = 0;

		CHECK(r1.nrules >= 0 && r1.nrules <= PGB_MAX_RULES);
		for (i = 0; i < r1.nrules; i++)
		{
			const PgbRule *r = &r1.rules[i];
			size_t		tl = strlen(r->text);

			CHECK(strlen(r->pattern) >= 1 && strlen(r->pattern) <= PGB_RULE_PATTERN_LEN);
			CHECK(pgb_valid_class_name(r->class_name));
			CHECK(tl < PGB_RULE_TEXT_LEN);
			if (r->attr == PGB_RULE_APPLICATION_NAME)
				check_glob_self(r->pattern);
			if (r->attr == PGB_RULE_CLIENT_ADDR)
			{
				CHECK(pgb_addr_in(&r->net, r->prefix, &r->net));
				CHECK(r->net.family == PGB_ADDR_LOCAL ||
					  (r->net.family == PGB_ADDR_V4 && r->prefix <= 32) ||
					  (r->net.family == PGB_ADDR_V6 && r->prefix <= 128));
			}
			if (i > 0)
			{
				memcpy(joined + used, ", ", 2);
				used += 2;
			}
			memcpy(joined + used, r->text, tl);
			used += tl;
		}
		joined[used] = '\0';
		CHECK(pgb_parse_rules(joined, &r2, err1, sizeof(err1)));
		CHECK(r2.nrules == r1.nrules);
		for (i = 0; i < r1.nrules; i++)
		{
			CHECK(strcmp(r1.rules[i].text, r2.rules[i].text) == 0);
			CHECK(r1.rules[i].hash == r2.rules[i].hash);
			CHECK(r1.rules[i].prefix == r2.rules[i].prefix);
		}
		free(joined);
	}

	/* the input as an address, read within len only */
	{
		char	   *exact = malloc(len > 0 ? len : 1);
		PgbAddr		a;
		int			prefix = -1;

		memcpy(exact, str, len);
		if (pgb_parse_cidr(exact, len, &a, &prefix))
		{
			CHECK(prefix >= 0 && prefix <= (a.family == PGB_ADDR_V4 ? 32 : 128));
			CHECK(pgb_addr_in(&a, prefix, &a));
		}
		free(exact);
	}
	/* the input as a glob and as a name: no crash, * takes all */
	if (len <= PGB_RULE_PATTERN_LEN)
	{
		(void) pgb_glob_match(str, "celery-worker-1");
		CHECK(pgb_glob_match("*", str));
		CHECK(pgb_glob_match(str, str) || strchr(str, '*') || strchr(str, '?'));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *str;
	size_t		len;
	PgbClassTable t1;
	PgbClassTable t2;
	char		err1[256];
	char		err2[256];
	bool		ok1;
	size_t		e;

	/* the table is the input up to the first NUL; the rest drives admission */
	len = strnlen((const char *) data, size);
	str = malloc(len + 1);
	memcpy(str, data, len);
	str[len] = '\0';

	ok1 = pgb_parse_classes(str, &t1, err1, sizeof(err1));
	if (ok1)
		check_table(&t1);
	else
		CHECK(err1[0] != '\0' && strlen(err1) < sizeof(err1));

	/* every small error buffer: the same verdict, a terminated message */
	for (e = 1; e <= 8; e++)
	{
		memset(err2, 'x', sizeof(err2));
		CHECK(pgb_parse_classes(str, &t2, err2, e) == ok1);
		CHECK(strnlen(err2, e) < e);
		if (ok1)
			CHECK(t2.nclasses == t1.nclasses &&
				  memcmp(t1.classes, t2.classes, sizeof(PgbClass) * t1.nclasses) == 0);
	}

	check_duration(str, len);
	check_rate_setting(str);
	check_utf8_cut(str, len);
	check_proc_files(str);
	check_rules(str, len);

	if (ok1)
	{
		pgb_check_budget(&t1, 100, err2, sizeof(err2));
		/* the bytes after the NUL, or the whole input when there is none */
		if (len < size)
			check_admission(&t1, data + len + 1, size - len - 1);
		else
			check_admission(&t1, data, size);
	}
	free(str);
	return 0;
}
