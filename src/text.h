/*-------------------------------------------------------------------------
 *
 * text.h
 *	  Server-side text helpers (text.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_TEXT_H
#define PGB_TEXT_H

#include "postgres.h"

/* strlcpy that never cuts a character in two (rule in text.c) */
extern void pgb_strlcpy_mb(char *dst, const char *src, size_t size);

#endif							/* PGB_TEXT_H */
