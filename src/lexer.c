/*-------------------------------------------------------------------------
 *
 * lexer.c
 *	  The one tokenizer of pg_budget.classes and pg_budget.rules, and the
 *	  messages naming the token at fault.  Pure: no server calls,
 *	  unit-tested in test/unit/test_lexer.c and through the parsers'.
 *
 *-------------------------------------------------------------------------
 */
#include "lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
pgb_skip_blanks(const char *p)
{
	while (pgb_is_blank(*p))
		p++;
	return p;
}

bool
pgb_is_identifier(const char *s, size_t len)
{
	size_t		i;

	if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (i = 1; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || c == '_' || pgb_is_digit(c)))
			return false;
	}
	return true;
}

static bool
is_punct(const PgbLexer *lex, char c)
{
	return c != '\0' && strchr(lex->punct, c) != NULL;
}

void
pgb_lex_init(PgbLexer *lex, const char *str, const char *punct, bool arrow,
			 char *errbuf, size_t errlen)
{
	lex->p = str != NULL ? pgb_skip_blanks(str) : "";
	lex->punct = punct;
	lex->arrow = arrow;
	lex->errbuf = errbuf;
	lex->errlen = errlen;
	lex->context[0] = '\0';
	lex->found[0] = '\0';
	pgb_clear_error(errbuf, errlen);
}

bool
pgb_lex_at_end(const PgbLexer *lex)
{
	return *lex->p == '\0';
}

/* Length of the word at the current token; 0 at punctuation or the end. */
static size_t
word_len(const PgbLexer *lex)
{
	const char *p = lex->p;
	size_t		n = 0;

	while (p[n] != '\0' && !pgb_is_blank(p[n]) && !is_punct(lex, p[n]))
		n++;
	return n;
}

/* Length of the current token: 0 at the end. */
static size_t
token_len(const PgbLexer *lex)
{
	const char *p = lex->p;

	if (*p == '\0')
		return 0;
	if (lex->arrow && p[0] == '=' && p[1] == '>')
		return 2;
	if (is_punct(lex, *p))
		return 1;
	return word_len(lex);
}

size_t
pgb_lex_word(PgbLexer *lex, const char **word)
{
	size_t		n = word_len(lex);

	*word = lex->p;
	lex->p = pgb_skip_blanks(lex->p + n);
	return n;
}

bool
pgb_lex_accept(PgbLexer *lex, const char *tok)
{
	size_t		n = token_len(lex);

	if (n == 0 || strlen(tok) != n || memcmp(lex->p, tok, n) != 0)
		return false;
	lex->p = pgb_skip_blanks(lex->p + n);
	return true;
}

const char *
pgb_lex_found(PgbLexer *lex)
{
	if (pgb_lex_at_end(lex))
		snprintf(lex->found, sizeof(lex->found), "end of input");
	else
		pgb_quote_token(lex->p, token_len(lex), lex->found, sizeof(lex->found));
	return lex->found;
}

void
pgb_lex_context(PgbLexer *lex, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(lex->context, sizeof(lex->context), fmt, ap);
	va_end(ap);
}

void
pgb_lex_clear_context(PgbLexer *lex)
{
	lex->context[0] = '\0';
}

bool
pgb_lex_error(PgbLexer *lex, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	pgb_vformat_error(lex->errbuf, lex->errlen, lex->context, fmt, ap);
	va_end(ap);
	return false;
}
