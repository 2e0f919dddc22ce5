/*
 * preload.c
 *	Lets AddressSanitizer's runtime start inside Debian's postgres.
 *
 * With libasan in LD_PRELOAD, a library constructor of the server's
 * dependencies (libgpg-error's bindtextdomain, p11-kit's newlocale) makes
 * the process's first malloc while glibc holds its locale lock; ASan
 * initialises lazily at that malloc, takes the same lock and the process
 * hangs (even "postgres -V").  Placed after libasan in LD_PRELOAD, this
 * library wraps those two functions: the first call of either mallocs and
 * frees once, before any lock is held, so that ASan is initialised, then
 * every call goes on to the real function.
 *
 * Built without sanitizers by scripts/sanitize.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <locale.h>
#include <stdlib.h>

static void
pgb_warm_malloc(void)
{
	static volatile int done;

	if (!done)
	{
		void	   *volatile p = malloc(16);

		free(p);
		done = 1;
	}
}

char *
bindtextdomain(const char *domainname, const char *dirname)
{
	static char *(*real) (const char *, const char *);

	pgb_warm_malloc();
	if (!real)
		real = (char *(*) (const char *, const char *)) dlsym(RTLD_NEXT, "bindtextdomain");
	return real(domainname, dirname);
}

locale_t
newlocale(int category_mask, const char *locale, locale_t base)
{
	static locale_t (*real) (int, const char *, locale_t);

	pgb_warm_malloc();
	if (!real)
		real = (locale_t (*) (int, const char *, locale_t)) dlsym(RTLD_NEXT, "newlocale");
	return real(category_mask, locale, base);
}
