/*-------------------------------------------------------------------------
 *
 * text_util.h
 *	  Cutting a string to a byte limit without splitting a UTF-8 character,
 *	  quoting a token and writing a message into a fixed buffer.
 *
 * Pure logic: includes nothing from the server beyond c.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_TEXT_UTIL_H
#define PGB_TEXT_UTIL_H

#include "c.h"

#include <stdarg.h>

/*
 * The bytes of s[0..len) to keep within limit bytes: len when it fits,
 * else limit moved back to the start of the UTF-8 character the cut would
 * split (a lead byte followed by 10xxxxxx bytes).  A cut inside bytes that
 * are not UTF-8 (more than three 10xxxxxx bytes in a row) stays at limit.
 */
extern size_t pgb_utf8_cliplen(const char *s, size_t len, size_t limit);

/*
 * strlcpy that cuts with pgb_utf8_cliplen: dst gets at most size - 1
 * bytes of src, never part of a character, and a terminator.
 */
extern void pgb_strlcpy_utf8(char *dst, const char *src, size_t size);

/*
 * Drop a UTF-8 character that a cut left incomplete at the end of s (one
 * that snprintf cut, say).  Bytes that are not UTF-8 are left alone.
 */
extern void pgb_utf8_trim_partial(char *s);

/*
 * Write tok[0..len) in double quotes into buf, for a message naming a bad
 * token: longer than PGB_QUOTE_MAX bytes, it is cut (at a character's
 * start) and ends in "...".  PGB_QUOTE_BUF bytes always hold the result.
 */
#define PGB_QUOTE_MAX		64
#define PGB_QUOTE_BUF		(PGB_QUOTE_MAX + 8)
extern void pgb_quote_token(const char *tok, size_t len, char *buf, size_t buflen);

/*
 * Write a one-line message, prefix (none when NULL) and then fmt, into
 * errbuf[0..errlen): cut by the buffer at a character's start, and always
 * terminated when errlen > 0.  Nothing is written when errbuf is NULL.
 */
extern void pgb_vformat_error(char *errbuf, size_t errlen, const char *prefix,
							  const char *fmt, va_list ap) pg_attribute_printf(4, 0);

/* pgb_vformat_error with no prefix; returns false, for "return pgb_error(...)". */
extern bool pgb_error(char *errbuf, size_t errlen,
					  const char *fmt,...) pg_attribute_printf(3, 4);

/* Empty errbuf (when not NULL and errlen > 0). */
extern void pgb_clear_error(char *errbuf, size_t errlen);

#endif							/* PGB_TEXT_UTIL_H */
