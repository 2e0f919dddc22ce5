/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  A tiny TAP-emitting harness for the server-free unit tests: ok(),
 *	  is_int(), is_str(), like(), is_double(), skip(), diag() and
 *	  done_testing().
 *
 * Header-only; include it after the header under test (which brings in
 * c.h).  Tests need no plan: done_testing() prints "1..N" at the end and
 * returns the exit code for main (1 if any test failed), so a test file
 * ends with "return done_testing();".  Failure diagnostics are "#" lines
 * on stdout, in order with the results.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_UNIT_H
#define PGB_UNIT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int	unit_run = 0;
static int	unit_failed = 0;

/* Print a test name on one line, escaping "#" so TAP cannot misread it. */
static inline void
unit_print_name(const char *name)
{
	const char *c;

	for (c = name ? name : ""; *c; c++)
	{
		if (*c == '#')
			fputs("\\#", stdout);
		else if (*c == '\n' || *c == '\r')
			putchar(' ');
		else
			putchar(*c);
	}
}

/* Record one result; returns cond so callers can add diagnostics. */
static inline int
unit_result(int cond, const char *name, const char *file, int line)
{
	unit_run++;
	if (!cond)
		unit_failed++;
	printf("%sok %d - ", cond ? "" : "not ", unit_run);
	unit_print_name(name);
	putchar('\n');
	if (!cond)
		printf("#   Failed test at %s line %d.\n", file, line);
	fflush(stdout);
	return cond;
}

static inline int
unit_is_int(long long got, long long expected, const char *name,
			const char *file, int line)
{
	int			cond = unit_result(got == expected, name, file, line);

	if (!cond)
		printf("#          got: %lld\n#     expected: %lld\n", got, expected);
	return cond;
}

static inline int
unit_is_str(const char *got, const char *expected, const char *name,
			const char *file, int line)
{
	int			cond;

	if (got == NULL || expected == NULL)
		cond = (got == expected);
	else
		cond = (strcmp(got, expected) == 0);
	unit_result(cond, name, file, line);
	if (!cond)
	{
		printf("#          got: %s%s%s\n", got ? "'" : "", got ? got : "NULL",
			   got ? "'" : "");
		printf("#     expected: %s%s%s\n", expected ? "'" : "",
			   expected ? expected : "NULL", expected ? "'" : "");
	}
	return cond;
}

static inline int
unit_like(const char *got, const char *substring, const char *name,
		  const char *file, int line)
{
	int			cond = (got != NULL && substring != NULL &&
						strstr(got, substring) != NULL);

	unit_result(cond, name, file, line);
	if (!cond)
		printf("#                   '%s'\n#     doesn't contain '%s'\n",
			   got ? got : "(null)", substring ? substring : "(null)");
	return cond;
}

static inline int
unit_is_double(double got, double expected, double tolerance,
			   const char *name, const char *file, int line)
{
	int			cond = unit_result(fabs(got - expected) <= tolerance,
								   name, file, line);

	if (!cond)
		printf("#          got: %.17g\n#     expected: %.17g (+- %g)\n",
			   got, expected, tolerance);
	return cond;
}

/* Record a skipped test (counts as passed). */
static inline void
skip(const char *reason)
{
	unit_run++;
	printf("ok %d # skip ", unit_run);
	unit_print_name(reason);
	putchar('\n');
	fflush(stdout);
}

/* Print a "#" comment line (no newline needed). */
static inline void
diag(const char *msg)
{
	printf("# %s\n", msg);
	fflush(stdout);
}

/* Print the plan; returns the exit status for main. */
static inline int
done_testing(void)
{
	printf("1..%d\n", unit_run);
	if (unit_failed > 0)
		printf("# Looks like you failed %d test%s of %d.\n",
			   unit_failed, unit_failed == 1 ? "" : "s", unit_run);
	fflush(stdout);
	return unit_failed > 0 ? 1 : 0;
}

#define ok(cond, name) \
	unit_result((cond) ? 1 : 0, (name), __FILE__, __LINE__)
#define is_int(got, expected, name) \
	unit_is_int((long long) (got), (long long) (expected), (name), \
				__FILE__, __LINE__)
#define is_str(got, expected, name) \
	unit_is_str((got), (expected), (name), __FILE__, __LINE__)
#define like(got, substring, name) \
	unit_like((got), (substring), (name), __FILE__, __LINE__)
#define is_double(got, expected, tolerance, name) \
	unit_is_double((got), (expected), (tolerance), (name), __FILE__, __LINE__)

#endif							/* PGB_UNIT_H */
