/*-------------------------------------------------------------------------
 *
 * test_text_util.c
 *	  Unit tests of cutting strings on UTF-8 character boundaries and of
 *	  writing messages into fixed buffers (src/text_util.c).  No server
 *	  needed.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/text_util.c
#include "text_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

/* U+6F22, three bytes; U+00E9, two; U+1F600, four */
#define CJK		"\xe6\xbc\xa2"
#define E_ACUTE	"\xc3\xa9"
#define EMOJI	"\xf0\x9f\x98\x80"

static char buf[256];

static const char *
copy(const char *src, size_t size)
{
	memset(buf, 'X', sizeof(buf));
	pgb_strlcpy_utf8(buf, src, size);
	return buf;
}

static void
test_cliplen(void)
{
	const char *s = "ab" CJK "cd";	/* 7 bytes */

	is_int(pgb_utf8_cliplen(s, 7, 7), 7, "fits: all of it");
	is_int(pgb_utf8_cliplen(s, 7, 100), 7, "fits with room: all of it");
	is_int(pgb_utf8_cliplen(s, 7, 6), 6, "a cut between ASCII bytes stays");
	is_int(pgb_utf8_cliplen(s, 7, 5), 5, "a cut right after the character stays");
	is_int(pgb_utf8_cliplen(s, 7, 4), 2, "a cut 2 bytes into the character backs up to it");
	is_int(pgb_utf8_cliplen(s, 7, 3), 2, "a cut 1 byte into the character backs up to it");
	is_int(pgb_utf8_cliplen(s, 7, 2), 2, "a cut right before the character stays");
	is_int(pgb_utf8_cliplen(s, 7, 0), 0, "a limit of 0 keeps nothing");
	is_int(pgb_utf8_cliplen(CJK, 3, 2), 0, "a character alone, cut: nothing");
	is_int(pgb_utf8_cliplen(EMOJI EMOJI, 8, 7), 4, "a 4-byte character cut 3 bytes in");
	is_int(pgb_utf8_cliplen(EMOJI EMOJI, 8, 5), 4, "a 4-byte character cut 1 byte in");
	is_int(pgb_utf8_cliplen(E_ACUTE E_ACUTE, 4, 3), 2, "a 2-byte character cut 1 byte in");
	/* not UTF-8: never more than three bytes given back */
	is_int(pgb_utf8_cliplen("a\x80\x80\x80\x80\x80", 6, 5), 5,
		   "five continuation bytes in a row: cut where asked");
	is_int(pgb_utf8_cliplen("\x80\x80x", 3, 1), 1, "continuation bytes from the start: cut where asked");
	is_int(pgb_utf8_cliplen("\xe9\xe9\xe9", 3, 2), 2, "LATIN1 bytes that are no continuation: cut where asked");
}

static void
test_copy(void)
{
	char		name[64];
	char		reason[160];
	char		expected[200];
	int			i;

	is_str(copy("web", 64), "web", "short: copied whole");
	is_str(copy("ab" CJK "cd", 5), "ab", "cut before the character");
	is_int(buf[2], '\0', "terminated right after what is kept");
	is_int(buf[5], 'X', "nothing written past size");
	is_str(copy("ab" CJK "cd", 6), "ab" CJK, "cut right after the character");
	is_str(copy("ab" CJK "cd", 7), "ab" CJK "c", "cut after the character and one more");
	is_str(copy("abc", 1), "", "size 1: only the terminator");
	memset(buf, 'X', sizeof(buf));
	pgb_strlcpy_utf8(buf, "abc", 0);
	is_int(buf[0], 'X', "size 0: nothing written");

	/* the pause reason of a 63-character class paused by a CJK-named role */
	snprintf(expected, sizeof(expected), "class \"%s\" paused (mode terminate) by role \"s",
			 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
	{
		char		role[64] = "s";
		char		full[300];

		for (i = 0; i < 20; i++)
			strcat(role, CJK);
		snprintf(full, sizeof(full), "class \"%s\" paused (mode terminate) by role \"%s\"",
				 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", role);
		pgb_strlcpy_utf8(reason, full, sizeof(reason));
		for (i = 0; i < 17; i++)
			strcat(expected, CJK);
		is_str(reason, expected, "the pause reason keeps 17 whole characters of the role");
		is_int(strlen(reason), 157, "157 of the 159 bytes it may take");

		pgb_strlcpy_utf8(name, role, sizeof(name));
		is_str(name, role, "a 61-byte role name fits a NAMEDATALEN buffer whole");
	}
}

static void
test_trim(void)
{
	char		s[32];

	strcpy(s, "ab" CJK);
	pgb_utf8_trim_partial(s);
	is_str(s, "ab" CJK, "a whole character at the end stays");
	strcpy(s, "ab\xe6\xbc");
	pgb_utf8_trim_partial(s);
	is_str(s, "ab", "two bytes of three: dropped");
	strcpy(s, "ab\xe6");
	pgb_utf8_trim_partial(s);
	is_str(s, "ab", "a lead byte alone: dropped");
	strcpy(s, "a\xf0\x9f\x98");
	pgb_utf8_trim_partial(s);
	is_str(s, "a", "three bytes of four: dropped");
	strcpy(s, "a" E_ACUTE);
	pgb_utf8_trim_partial(s);
	is_str(s, "a" E_ACUTE, "a whole 2-byte character stays");
	strcpy(s, "abc");
	pgb_utf8_trim_partial(s);
	is_str(s, "abc", "ASCII stays");
	strcpy(s, "");
	pgb_utf8_trim_partial(s);
	is_str(s, "", "empty stays");
	strcpy(s, "a\x80\x80\x80\x80");
	pgb_utf8_trim_partial(s);
	is_str(s, "a\x80\x80\x80\x80", "not UTF-8: left alone");
}

static void
test_error(void)
{
	char		buf[16];

	ok(!pgb_error(buf, sizeof(buf), "%d items", 3), "pgb_error returns false");
	is_str(buf, "3 items", "a message");
	pgb_error(buf, sizeof(buf), "%s", "0123456789abcdefghij");
	is_str(buf, "0123456789abcde", "cut by its buffer");
	pgb_error(buf, 8, "ab" CJK CJK);
	is_str(buf, "ab" CJK, "never inside a character");
	memset(buf, 'x', sizeof(buf));
	pgb_error(buf, 1, "abc");
	is_str(buf, "", "a buffer of one byte holds the terminator");
	pgb_error(NULL, 0, "abc");
	ok(true, "no buffer: nothing is written");
	pgb_error(buf, sizeof(buf), "x");
	pgb_clear_error(buf, sizeof(buf));
	is_str(buf, "", "cleared");
}

/* pgb_vformat_error through a varargs wrapper */
static void prefixed(char *buf, size_t len, const char *prefix,
					 const char *fmt,...) pg_attribute_printf(4, 5);

static void
prefixed(char *buf, size_t len, const char *prefix, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	pgb_vformat_error(buf, len, prefix, fmt, ap);
	va_end(ap);
}

static void
test_prefix(void)
{
	char		buf[16];

	prefixed(buf, sizeof(buf), "rule 3: ", "bad %s", "x");
	is_str(buf, "rule 3: bad x", "the prefix, then the message");
	prefixed(buf, sizeof(buf), NULL, "bad %s", "x");
	is_str(buf, "bad x", "no prefix");
	prefixed(buf, 6, "rule 3: ", "bad %s", "x");
	is_str(buf, "rule ", "a prefix longer than the buffer is cut");
	prefixed(buf, 12, "rule 3: ", "bad %s", "xyz");
	is_str(buf, "rule 3: bad", "so is the message after it");
}

int
main(void)
{
	test_cliplen();
	test_copy();
	test_trim();
	test_error();
	test_prefix();
	return done_testing();
}
