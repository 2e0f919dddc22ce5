/*-------------------------------------------------------------------------
 *
 * text_util.c
 *	  Cutting names, reasons and messages to the fixed buffers they are
 *	  kept in without splitting a UTF-8 character.  Pure: no server calls,
 *	  unit-tested in test/unit/test_text_util.c.
 *
 *-------------------------------------------------------------------------
 */
#include "text_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A UTF-8 continuation byte, 10xxxxxx. */
static bool
is_continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t
pgb_utf8_cliplen(const char *s, size_t len, size_t limit)
{
	size_t		n = limit;
	int			back;

	if (len <= limit)
		return len;
	/* s[n] is the first byte dropped: inside a character, back up to it */
	for (back = 0; back < 3 && n > 0 && is_continuation((unsigned char) s[n]); back++)
		n--;
	if (is_continuation((unsigned char) s[n]))
		return limit;			/* not UTF-8 here (or 4 in a row): cut where asked */
	return n;
}

void
pgb_utf8_trim_partial(char *s)
{
	size_t		len = strlen(s);
	size_t		lead = len;
	unsigned char c;
	size_t		need;

	while (lead > 0 && len - lead < 3 && is_continuation((unsigned char) s[lead - 1]))
		lead--;
	if (lead == 0)
		return;
	lead--;						/* the byte before the continuation bytes */
	c = (unsigned char) s[lead];
	if (c >= 0xC0 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF7)
		need = 4;
	else
		return;					/* ASCII, or not UTF-8 */
	if (len - lead < need)
		s[lead] = '\0';
}

void
pgb_strlcpy_utf8(char *dst, const char *src, size_t size)
{
	size_t		n;

	if (size == 0)
		return;
	n = pgb_utf8_cliplen(src, strlen(src), size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
pgb_quote_token(const char *tok, size_t len, char *buf, size_t buflen)
{
	if (len > PGB_QUOTE_MAX)
		snprintf(buf, buflen, "\"%.*s...\"",
				 (int) pgb_utf8_cliplen(tok, len, PGB_QUOTE_MAX), tok);
	else
		snprintf(buf, buflen, "\"%.*s\"", (int) len, tok);
}

void
pgb_vformat_error(char *errbuf, size_t errlen, const char *prefix,
				  const char *fmt, va_list ap)
{
	size_t		used = 0;

	if (errbuf == NULL || errlen == 0)
		return;
	errbuf[0] = '\0';
	if (prefix != NULL)
	{
		int			n = snprintf(errbuf, errlen, "%s", prefix);

		if (n < 0)
			return;
		used = (size_t) n;
	}
	if (used < errlen)
		vsnprintf(errbuf + used, errlen - used, fmt, ap);
	errbuf[errlen - 1] = '\0';
	pgb_utf8_trim_partial(errbuf);
}

bool
pgb_error(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	pgb_vformat_error(errbuf, errlen, NULL, fmt, ap);
	va_end(ap);
	return false;
}

void
pgb_clear_error(char *errbuf, size_t errlen)
{
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
}
