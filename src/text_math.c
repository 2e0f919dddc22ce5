/*-------------------------------------------------------------------------
 *
 * text_math.c
 *	  Cutting names and reasons to the fixed buffers they are kept in
 *	  without splitting a UTF-8 character.  Pure C, unit-tested alone.
 *
 *-------------------------------------------------------------------------
 */
#include "text_math.h"

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
pgb_strlcpy_utf8(char *dst, const char *src, size_t size)
{
	size_t		n;

	if (size == 0)
		return;
	n = pgb_utf8_cliplen(src, strlen(src), size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}
