/*-------------------------------------------------------------------------
 *
 * lexer.h
 *	  The one tokenizer of pg_budget.classes and pg_budget.rules: blanks,
 *	  words, punctuation and "=>", and the messages that name the token
 *	  at fault.
 *
 * Pure logic: includes nothing from the server beyond c.h.  A word runs
 * up to a blank, a punctuation character or the end of the string; what
 * makes a word acceptable is decided by the parser that reads it.  The
 * parsers read a PgbLexer only through the functions below.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_LEXER_H
#define PGB_LEXER_H

#include "c.h"

#include "text_util.h"

/* Room for a message prefix: "class \"<63 bytes>\": " or "rule N: ". */
#define PGB_LEX_CONTEXT_LEN	80

typedef struct PgbLexer
{
	const char *p;				/* the current token: never a blank */
	const char *punct;			/* characters that are tokens by themselves */
	bool		arrow;			/* "=>" is one token rather than "=" and ">" */
	char	   *errbuf;			/* where pgb_lex_error writes, or NULL */
	size_t		errlen;
	char		context[PGB_LEX_CONTEXT_LEN];	/* prefix of messages, or "" */
	char		found[PGB_QUOTE_BUF];	/* what pgb_lex_found returns */
} PgbLexer;

/*
 * Character classes, tested by hand so that the result never depends on
 * the locale.
 */
static inline bool
pgb_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

static inline bool
pgb_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

extern const char *pgb_skip_blanks(const char *p);

/* Is s[0..len) a lower-case identifier, [a-z_][a-z0-9_]* (no length limit)? */
extern bool pgb_is_identifier(const char *s, size_t len);

/*
 * Start reading str (NULL reads as "") at its first token.  punct holds
 * the characters that are tokens by themselves; with arrow, "=>" is one
 * token.  errbuf is emptied.
 */
extern void pgb_lex_init(PgbLexer *lex, const char *str, const char *punct,
						 bool arrow, char *errbuf, size_t errlen);

/* Is the input used up? */
extern bool pgb_lex_at_end(const PgbLexer *lex);

/*
 * Take the word at the current token: *word points at it, the lexer moves
 * past it and the blanks after it, and its length is returned.  At
 * punctuation or the end, returns 0 and does not move.
 */
extern size_t pgb_lex_word(PgbLexer *lex, const char **word);

/*
 * Take the current token when it is tok (a punctuation character or
 * "=>"), and the blanks after it; false, not moving, when it is not.
 */
extern bool pgb_lex_accept(PgbLexer *lex, const char *tok);

/*
 * The current token for "... but found X" messages: end of input, or the
 * token in double quotes.  Valid until the next call.
 */
extern const char *pgb_lex_found(PgbLexer *lex);

/* Set the prefix of the messages that follow ("class \"web\": "). */
extern void pgb_lex_context(PgbLexer *lex, const char *fmt,...) pg_attribute_printf(2, 3);

/* Messages that follow have no prefix. */
extern void pgb_lex_clear_context(PgbLexer *lex);

/* Write the prefix and the message into the error buffer; returns false. */
extern bool pgb_lex_error(PgbLexer *lex, const char *fmt,...) pg_attribute_printf(2, 3);

#endif							/* PGB_LEXER_H */
