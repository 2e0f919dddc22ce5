/*-------------------------------------------------------------------------
 *
 * test_lexer.c
 *	  Unit tests for the tokenizer shared by the pg_budget.classes and
 *	  pg_budget.rules parsers (src/lexer.c).  No server needed.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/lexer.c src/text_util.c
#include "lexer.h"

#include <stdio.h>
#include <string.h>

#include "unit.h"

static char errbuf[256];

/* The word at the lexer, as a string (or "" when there is none). */
static const char *
word(PgbLexer *lex)
{
	static char buf[64];
	const char *w;
	size_t		n = pgb_lex_word(lex, &w);

	snprintf(buf, sizeof(buf), "%.*s", (int) n, n > 0 ? w : "");
	return buf;
}

static void
test_classes_tokens(void)
{
	PgbLexer	lex;

	strcpy(errbuf, "stale");
	pgb_lex_init(&lex, "  web ( max = 8,cpu=idle)  ", "(),=", false,
				 errbuf, sizeof(errbuf));
	is_str(errbuf, "", "init empties the error buffer");
	ok(!pgb_lex_at_end(&lex), "leading blanks are skipped");
	is_str(word(&lex), "web", "a word ends at a blank");
	is_str(word(&lex), "", "no word at punctuation");
	is_str(pgb_lex_found(&lex), "\"(\"", "punctuation is described quoted");
	ok(!pgb_lex_accept(&lex, ")"), "another token is not taken");
	ok(pgb_lex_accept(&lex, "("), "the token is taken");
	is_str(word(&lex), "max", "blanks after a token are skipped");
	ok(pgb_lex_accept(&lex, "="), "=");
	is_str(word(&lex), "8", "a word ends at punctuation");
	ok(pgb_lex_accept(&lex, ","), ",");
	is_str(word(&lex), "cpu", "no blank needed before =");
	ok(pgb_lex_accept(&lex, "="), "= again");
	is_str(pgb_lex_found(&lex), "\"idle\"", "a word is described quoted");
	is_str(word(&lex), "idle", "the value");
	ok(pgb_lex_accept(&lex, ")"), ")");
	ok(pgb_lex_at_end(&lex), "trailing blanks are skipped to the end");
	is_str(pgb_lex_found(&lex), "end of input", "the end is described");
	ok(!pgb_lex_accept(&lex, ")"), "nothing is taken at the end");

	pgb_lex_init(&lex, "a=>b", "(),=", false, NULL, 0);
	is_str(word(&lex), "a", "a");
	ok(!pgb_lex_accept(&lex, "=>"), "without arrow, => is not one token");
	ok(pgb_lex_accept(&lex, "="), "but =");
	is_str(word(&lex), ">b", "and a word");

	pgb_lex_init(&lex, NULL, "(),=", false, NULL, 0);
	ok(pgb_lex_at_end(&lex), "NULL reads as empty");
}

static void
test_rules_tokens(void)
{
	PgbLexer	lex;

	pgb_lex_init(&lex, "application_name=f(x)* =>ai", ",=", true, NULL, 0);
	is_str(word(&lex), "application_name", "attribute");
	ok(pgb_lex_accept(&lex, "="), "=");
	is_str(word(&lex), "f(x)*", "parentheses are part of a word here");
	is_str(pgb_lex_found(&lex), "\"=>\"", "=> is described as one token");
	ok(!pgb_lex_accept(&lex, "="), "= does not take half of =>");
	ok(pgb_lex_accept(&lex, "=>"), "=>");
	is_str(word(&lex), "ai", "class");
	ok(pgb_lex_at_end(&lex), "end");
}

static void
test_messages(void)
{
	PgbLexer	lex;
	char		tiny[8];

	pgb_lex_init(&lex, "x", ",", false, errbuf, sizeof(errbuf));
	ok(!pgb_lex_error(&lex, "bad %d", 1), "pgb_lex_error returns false");
	is_str(errbuf, "bad 1", "no context: the message alone");
	pgb_lex_context(&lex, "class \"%s\": ", "web");
	pgb_lex_error(&lex, "expected a key but found %s", pgb_lex_found(&lex));
	is_str(errbuf, "class \"web\": expected a key but found \"x\"",
		   "the context prefixes the message");
	pgb_lex_clear_context(&lex);
	pgb_lex_error(&lex, "plain");
	is_str(errbuf, "plain", "a cleared context is gone");

	pgb_lex_init(&lex, "x", ",", false, tiny, sizeof(tiny));
	pgb_lex_context(&lex, "rule %d: ", 12);
	pgb_lex_error(&lex, "anything");
	is_str(tiny, "rule 12", "a message is cut by its buffer");
	pgb_lex_init(&lex, "x", ",", false, NULL, 0);
	ok(!pgb_lex_error(&lex, "nowhere"), "no buffer: nothing written");
}

static void
test_helpers(void)
{
	ok(pgb_is_identifier("web_2", 5), "an identifier");
	ok(pgb_is_identifier("_x", 2), "may start with _");
	ok(!pgb_is_identifier("2x", 2), "not with a digit");
	ok(!pgb_is_identifier("Web", 3), "lower case only");
	ok(!pgb_is_identifier("", 0), "not empty");
	ok(pgb_is_identifier("ab-", 2), "only len bytes are read");
	is_str(pgb_skip_blanks(" \t\n\r\f\vx"), "x", "every blank is skipped");
	ok(pgb_is_digit('0') && pgb_is_digit('9') && !pgb_is_digit('a'), "digits");
}

int
main(void)
{
	test_classes_tokens();
	test_rules_tokens();
	test_messages();
	test_helpers();
	return done_testing();
}
