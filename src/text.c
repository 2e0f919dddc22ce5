/*-------------------------------------------------------------------------
 *
 * text.c
 *	  Copies a name or a reason into a fixed-size buffer (shared memory,
 *	  an event, a plan) without cutting a character in two.
 *
 * Names and reasons in shared memory are read by backends of every
 * database, and role names are in whatever encoding the database that
 * created them had.  The rule: a cut is made at a character boundary of
 * the writing backend's database encoding when that is a multibyte
 * encoding other than UTF-8 (EUC_JP, GB18030, ...), and otherwise at a
 * UTF-8 boundary, which is right for UTF-8 and harmless for single-byte
 * encodings and SQL_ASCII (the worker has no database: UTF-8).  No shared
 * state.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "text.h"
#include "text_util.h"

void
pgb_strlcpy_mb(char *dst, const char *src, size_t size)
{
	size_t		len = strlen(src);
	size_t		n = len;
	int			encoding;

	if (size == 0)
		return;
	if (len >= size)
	{
		encoding = GetDatabaseEncoding();
		if (encoding != PG_UTF8 && pg_encoding_max_length(encoding) > 1)
			n = (size_t) pg_mbcliplen(src, (int) len, (int) (size - 1));
		else
			n = pgb_utf8_cliplen(src, len, size - 1);
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}
