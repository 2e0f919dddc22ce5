/*-------------------------------------------------------------------------
 *
 * units.c
 *	  Readers of numbers with units: durations, login rates, byte rates and
 *	  sizes, for the class keys and the settings that take them.  Pure: no
 *	  server calls, unit-tested in test/unit/test_classes.c.
 *
 * Numbers are read by hand rather than with strtod so that the decimal
 * point does not depend on the locale: the integer part and the fraction
 * are read as exact integers, then divided once.
 *
 *-------------------------------------------------------------------------
 */
#include "classes.h"
#include "lexer.h"

#include <string.h>

/*
 * Digits after the decimal point a number keeps: to the nanosecond of a
 * second, so that rounding a duration up to the millisecond is exact.  A
 * rate ignores the digits after these; a duration refuses them.
 */
#define PGB_FRAC_DIGITS		9

/* Bound of the integer part of a size in bytes: 1 TB. */
#define PGB_SIZE_LIMIT		(INT64CONST(1024) * 1024 * 1024 * 1024)

/* A number as written, ipart + frac / scale. */
typedef struct Decimal
{
	int64		ipart;			/* stops growing once past the reader's limit */
	int64		frac;			/* the first PGB_FRAC_DIGITS digits after "." */
	int64		scale;			/* 10 to the power of frac's digits */
	int			ndigits;		/* digits after ".", counted up to
								 * PGB_FRAC_DIGITS + 1 */
} Decimal;

/*
 * Read digits with an optional fraction (digits "." digits) at tok[*i],
 * within tok[0..len).  The integer part stops growing past limit (at most
 * PGB_SIZE_LIMIT), so that it can not overflow.  Leaves *i after the
 * number; false when there is none.
 */
static bool
read_decimal(const char *tok, size_t len, size_t *i, int64 limit, Decimal *d)
{
	size_t		k = *i;

	d->ipart = 0;
	d->frac = 0;
	d->scale = 1;
	d->ndigits = 0;
	if (k >= len || !pgb_is_digit(tok[k]))
		return false;
	while (k < len && pgb_is_digit(tok[k]))
	{
		if (d->ipart <= limit)
			d->ipart = d->ipart * 10 + (tok[k] - '0');
		k++;
	}
	if (k < len && tok[k] == '.')
	{
		k++;
		if (k >= len || !pgb_is_digit(tok[k]))
			return false;
		while (k < len && pgb_is_digit(tok[k]))
		{
			if (d->ndigits < PGB_FRAC_DIGITS)
			{
				d->frac = d->frac * 10 + (tok[k] - '0');
				d->scale *= 10;
			}
			if (d->ndigits <= PGB_FRAC_DIGITS)
				d->ndigits++;
			k++;
		}
	}
	*i = k;
	return true;
}

static double
decimal_value(const Decimal *d)
{
	return (double) d->ipart + (double) d->frac / (double) d->scale;
}

/* Seconds in the unit of a rate after its "/": s or min; 0 for others. */
static int
per_seconds(const char *u, size_t ulen)
{
	if (ulen == 1 && u[0] == 's')
		return 1;
	if (ulen == 3 && memcmp(u, "min", 3) == 0)
		return 60;
	return 0;
}

PgbNumResult
pgb_parse_login_rate(const char *tok, size_t len, double *per_s)
{
	size_t		i = 0;
	Decimal		d;
	int64		per;

	if (!read_decimal(tok, len, &i, PGB_INT_LIMIT, &d))
		return PGB_NUM_SYNTAX;
	if (i >= len || tok[i] != '/')
		return PGB_NUM_SYNTAX;
	i++;
	if (len - i == 1 && tok[i] == 'm')
		per = 60;				/* N/m, as N/min */
	else
		per = per_seconds(tok + i, len - i);
	if (per == 0)
		return PGB_NUM_SYNTAX;

	if ((d.ipart == 0 && d.frac == 0) ||
		d.ipart > PGB_INT_LIMIT ||
		(d.ipart == PGB_INT_LIMIT && d.frac > 0))
		return PGB_NUM_RANGE;

	/* ipart * scale + frac < 2^53 and scale * per is exact: one rounding */
	*per_s = (double) (d.ipart * d.scale + d.frac) / (double) (d.scale * per);
	return PGB_NUM_OK;
}

/* Bytes in a memory unit (B, kB, MB, GB, TB: powers of 1024); false if none. */
static bool
unit_bytes(const char *u, size_t ulen, double *bytes)
{
	if (ulen == 1 && u[0] == 'B')
		*bytes = 1;
	else if (ulen == 2 && memcmp(u, "kB", 2) == 0)
		*bytes = 1024.0;
	else if (ulen == 2 && memcmp(u, "MB", 2) == 0)
		*bytes = 1024.0 * 1024;
	else if (ulen == 2 && memcmp(u, "GB", 2) == 0)
		*bytes = 1024.0 * 1024 * 1024;
	else if (ulen == 2 && memcmp(u, "TB", 2) == 0)
		*bytes = 1024.0 * 1024 * 1024 * 1024;
	else
		return false;
	return true;
}

/* A WAL rate in bytes a second, or false when it is out of bounds. */
static bool
wal_rate_in_range(double rate, double *bytes_per_s)
{
	/* below a byte a second the budget would show, and be, nothing */
	if (!(rate >= PGB_WAL_RATE_MIN) || rate > PGB_WAL_RATE_MAX)
		return false;
	*bytes_per_s = rate;
	return true;
}

bool
pgb_parse_byte_rate(const char *tok, size_t len, double *bytes_per_s)
{
	size_t		i = 0;
	Decimal		d;
	double		unit;
	int			per;
	size_t		slash;

	if (!read_decimal(tok, len, &i, PGB_INT_LIMIT, &d))
		return false;
	if (d.ipart > PGB_INT_LIMIT)
		return false;
	for (slash = i; slash < len && tok[slash] != '/'; slash++)
		;
	if (slash >= len)
		return false;
	if (slash == i)
		unit = 1;
	else if (!unit_bytes(tok + i, slash - i, &unit))
		return false;
	per = per_seconds(tok + slash + 1, len - slash - 1);
	if (per == 0)
		return false;
	return wal_rate_in_range(decimal_value(&d) * unit / per, bytes_per_s);
}

bool
pgb_parse_size(const char *tok, size_t len, int64 *bytes)
{
	size_t		i = 0;
	Decimal		d;
	double		unit;
	double		v;

	if (!read_decimal(tok, len, &i, PGB_SIZE_LIMIT, &d) ||
		d.ipart > PGB_SIZE_LIMIT)
		return false;
	while (i < len && pgb_is_blank(tok[i]))
		i++;
	if (i == len || !unit_bytes(tok + i, len - i, &unit))
		return false;
	v = decimal_value(&d) * unit;
	if (!(v >= (double) PGB_MEM_SIZE_MIN) || v > (double) PGB_MEM_SIZE_MAX)
		return false;
	*bytes = (int64) v;
	return true;
}

bool
pgb_parse_rate_setting(const char *str, double *bytes_per_s)
{
	const char *p = pgb_skip_blanks(str);
	size_t		len = strlen(p);
	size_t		i = 0;
	Decimal		d;
	double		unit;

	while (len > 0 && pgb_is_blank(p[len - 1]))
		len--;
	if (memchr(p, '/', len) != NULL)
		return pgb_parse_byte_rate(p, len, bytes_per_s);

	/* a size, a second's worth, whose bare number is kB */
	if (!read_decimal(p, len, &i, PGB_SIZE_LIMIT, &d) ||
		d.ipart > PGB_SIZE_LIMIT)
		return false;
	while (i < len && pgb_is_blank(p[i]))
		i++;
	if (i == len)
		unit = 1024.0;
	else if (!unit_bytes(p + i, len - i, &unit))
		return false;
	return wal_rate_in_range(decimal_value(&d) * unit, bytes_per_s);
}

bool
pgb_parse_duration_ms(const char *tok, size_t len, int *ms)
{
	size_t		i = 0;
	size_t		end = len;
	Decimal		d;
	int64		per;
	int64		total;
	const char *unit;
	size_t		ulen;

	while (i < end && pgb_is_blank(tok[i]))
		i++;
	while (end > i && pgb_is_blank(tok[end - 1]))
		end--;

	/* -1, and only -1 written so, is "no limit"; no other negative */
	if (end - i == 2 && tok[i] == '-' && tok[i + 1] == '1')
	{
		*ms = PGB_QUEUE_TIMEOUT_NONE;
		return true;
	}

	if (!read_decimal(tok, end, &i, PGB_QUEUE_TIMEOUT_MAX, &d) ||
		d.ndigits > PGB_FRAC_DIGITS)
		return false;
	while (i < end && pgb_is_blank(tok[i]))
		i++;

	unit = tok + i;
	ulen = end - i;
	if (ulen == 0 || (ulen == 2 && memcmp(unit, "ms", 2) == 0))
		per = 1;
	else if (ulen == 1 && unit[0] == 's')
		per = 1000;
	else if (ulen == 3 && memcmp(unit, "min", 3) == 0)
		per = 60 * 1000;
	else if (ulen == 1 && unit[0] == 'h')
		per = 3600 * 1000;
	else if (ulen == 1 && unit[0] == 'd')
		per = 24 * 3600 * 1000;
	else
		return false;

	if (d.ipart > PGB_QUEUE_TIMEOUT_MAX / per)
		return false;
	/* frac < 10^9 and per <= 8.64e7: exact in 64 bits, rounded up */
	total = d.ipart * per + (d.frac * per + d.scale - 1) / d.scale;
	if (total > PGB_QUEUE_TIMEOUT_MAX)
		return false;
	*ms = (int) total;
	return true;
}
