/*-------------------------------------------------------------------------
 *
 * rules.h
 *	  pg_budget.rules in the server (rules.c): the setting, the login's
 *	  attributes matched against it, and its counters.
 *
 * Locking rules
 * -------------
 * Logins a rule classified, and those it matched but skipped because it
 * would have raised their priority, are counted in PgbShared.rules[]
 * under the main lock held exclusively at admission, by position, for the
 * rule whose hash (its text and position) is stored: a different rule at
 * that position starts again from zero.  Readers take the lock shared.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_RULES_H
#define PGB_RULES_H

#include "postgres.h"

#include "classes.h"
#include "rules_match.h"

extern void pgb_rules_init(void);
extern const PgbRuleSet *pgb_current_rules(void);
extern int	pgb_rules_classify(const PgbClassTable *table, int *self,
							   uint64 *raised);
extern const char *pgb_rules_text(int pos);
extern void pgb_rules_count(int pos, uint64 raised);
extern void pgb_rules_reset(void);
extern void pgb_rules_report(void);
extern const char *pgb_class_source(bool named_class_found);

/* Each rule's class in table, by position (-1: the table lacks it). */
extern const int *pgb_rules_resolved(const PgbClassTable *table);

#endif							/* PGB_RULES_H */
