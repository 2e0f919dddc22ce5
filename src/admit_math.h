/*-------------------------------------------------------------------------
 *
 * admit_math.h
 *	  Admission arithmetic: may one more login of a class come in?
 *
 * Pure logic (c.h only).  The caller gathers the numbers under the
 * admission lock and acts on the verdict; nothing here touches shared
 * memory, so it is unit-tested without a server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_ADMIT_MATH_H
#define PGB_ADMIT_MATH_H

#include "classes.h"

typedef enum PgbVerdict
{
	PGB_ADMIT = 0,
	PGB_REJECT_PAUSED,
	PGB_REJECT_CAP,
	PGB_REJECT_RESERVE,
	PGB_REJECT_RATE
} PgbVerdict;

#define PGB_NUM_REJECT_REASONS	4	/* PGB_REJECT_PAUSED .. PGB_REJECT_RATE */

/* What the judge needs to know; connected[] is indexed like table. */
typedef struct PgbAdmitInput
{
	const PgbClassTable *table;
	const int  *connected;		/* sessions counted per class of table */
	int			self;			/* index of the login's class in table */
	int			total_connected;	/* all counted sessions, any class */
	int			usable;			/* max_connections - superuser reserve */
	int			limit;			/* the worker's admission limit, or PGB_UNLIMITED */
	bool		paused;			/* the class is paused (reject new logins) */
	double		tokens;			/* rate bucket of the class, refilled */
} PgbAdmitInput;

/* The numbers behind a verdict, for DETAIL and HINT. */
typedef struct PgbAdmitDetail
{
	int			cap;			/* the cap that refused: max or the worker's limit */
	int			held;			/* unused reservations of other classes */
	int			free_slots;		/* usable - total_connected */
	int			nblockers;		/* classes whose reservation blocked */
	int			blockers[PGB_MAX_CLASSES + 1];	/* their indexes */
} PgbAdmitDetail;

extern PgbVerdict pgb_admit_decide(const PgbAdmitInput *in,
								   PgbAdmitDetail *detail);

/*
 * Token bucket: add rate * elapsed_us of tokens, at most burst.  Returns
 * the new token count.  A class without a rate always has a token.
 */
extern double pgb_bucket_refill(double tokens, double rate, int burst,
								int64 elapsed_us);

/*
 * Retry-after hint in ms for a refused login: the time until the bucket
 * has a token for rate refusals, base_ms otherwise, spread by +-50% with
 * rnd in [0,1) so that refused clients do not come back in step.
 */
/* The longest retry-after hint: one day. */
#define PGB_RETRY_MAX_MS	(24 * 3600 * 1000)

extern int	pgb_retry_after_ms(PgbVerdict verdict, int base_ms, double rate,
							   double tokens, double rnd);

extern const char *pgb_verdict_name(PgbVerdict verdict);

#endif							/* PGB_ADMIT_MATH_H */
