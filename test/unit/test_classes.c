/*-------------------------------------------------------------------------
 *
 * test_classes.c
 *	  Unit tests for the pg_budget.classes parser (src/class_parse.c), the
 *	  budget check and the class table helpers (src/class_table.c), and
 *	  the readers of durations and rates (src/units.c).  No server needed.
 *
 *-------------------------------------------------------------------------
 */
// SOURCES: src/class_parse.c src/class_table.c src/units.c src/lexer.c src/text_util.c
#include "classes.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define EXPECT_PARSED "(no error: the string parsed)"

static PgbClassTable tab;
static char errbuf[256];

/* Parse str into tab; on failure print the message as a diagnostic. */
static bool
parses(const char *str)
{
	bool		result = pgb_parse_classes(str, &tab, errbuf, sizeof(errbuf));

	if (!result)
	{
		char		line[400];

		snprintf(line, sizeof(line), "unexpected parse error: %s", errbuf);
		diag(line);
	}
	return result;
}

/* Parse str expecting failure: the message, or EXPECT_PARSED. */
static const char *
error_of(const char *str)
{
	if (pgb_parse_classes(str, &tab, errbuf, sizeof(errbuf)))
		return EXPECT_PARSED;
	return errbuf;
}

/* Budget check of tab: the message, or "" when it passes. */
static const char *
budget_error(int usable)
{
	if (pgb_check_budget(&tab, usable, errbuf, sizeof(errbuf)))
		return "";
	return errbuf;
}

/* The class called name in tab, or a sentinel that fails every check. */
static const PgbClass *
cls(const char *name)
{
	static PgbClass missing = {"(missing)", -999, -999, -999, -999.0, -999,
	PGB_SHED_NEVER, -999, -999, -999, -999.0, -999, false, true, -999, -999,
	-999, PGB_SWITCH_NONE, "", -999, false};
	int			i = pgb_find_class(&tab, name);

	return i >= 0 ? &tab.classes[i] : &missing;
}

/* "c0(),c1(),..." with n classes, plus extra appended. */
static void
many_classes(char *buf, size_t len, int n, const char *extra)
{
	size_t		used = 0;
	int			i;

	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++)
		used += snprintf(buf + used, len - used, "%sc%d()", i ? "," : "", i);
	if (used < len)
		snprintf(buf + used, len - used, "%s", extra);
}

static void
test_example(void)
{
	const char *example =
		"web(max=80, reserve=50, priority=100), admin(max=5, reserve=5, priority=1000),\n"
		"maint(max=10, priority=50), ai(max=60, priority=10, rate=20/s, shed=terminate),\n"
		"bulk(max=20, priority=0, shed=terminate)";
	const PgbClass *c;

	ok(parses(example), "example table parses");
	is_int(tab.nclasses, 5, "example: 5 classes");
	is_str(tab.classes[0].name, "web", "example: classes keep their order (first)");
	is_str(tab.classes[4].name, "bulk", "example: classes keep their order (last)");

	c = cls("web");
	is_int(c->max, 80, "web max");
	is_int(c->reserve, 50, "web reserve");
	is_int(c->priority, 100, "web priority");
	is_double(c->rate, 0.0, 0.0, "web has no rate");
	is_int(c->burst, 0, "web has no burst");
	is_int(c->shed, PGB_SHED_NEVER, "web shed defaults to never");
	ok(!c->implicit, "web is not implicit");

	c = cls("admin");
	is_int(c->max, 5, "admin max");
	is_int(c->reserve, 5, "admin reserve = max is allowed");
	is_int(c->priority, 1000, "admin priority");

	c = cls("maint");
	is_int(c->max, 10, "maint max");
	is_int(c->reserve, 0, "maint reserve defaults to 0");
	is_int(c->priority, 50, "maint priority");

	c = cls("ai");
	is_int(c->max, 60, "ai max");
	is_int(c->priority, 10, "ai priority");
	is_double(c->rate, 20.0, 0.0, "ai rate 20/s");
	is_int(c->burst, 20, "ai burst defaults to ceil(rate)");
	is_int(c->shed, PGB_SHED_TERMINATE, "ai shed terminate");

	c = cls("bulk");
	is_int(c->max, 20, "bulk max");
	is_int(c->priority, 0, "bulk priority 0");
	is_int(c->shed, PGB_SHED_TERMINATE, "bulk shed terminate");

	ok(pgb_check_budget(&tab, 97, errbuf, sizeof(errbuf)),
	   "example table fits in 97 usable connections");
}

static void
test_defaults_and_empty(void)
{
	const PgbClass *c;

	ok(parses("web()"), "empty parentheses parse");
	c = cls("web");
	is_int(tab.nclasses, 1, "one class");
	is_int(c->max, PGB_UNLIMITED, "default max is unlimited");
	is_int(c->reserve, 0, "default reserve 0");
	is_int(c->priority, 0, "default priority 0");
	is_double(c->rate, 0.0, 0.0, "default rate 0");
	is_int(c->burst, 0, "default burst 0 without rate");
	is_int(c->shed, PGB_SHED_NEVER, "default shed never");
	ok(!c->implicit, "parsed class is not implicit");
	is_int(c->floor, 1, "floor defaults to 1");

	ok(parses("web(  )"), "blank parentheses parse");

	tab.nclasses = 7;
	ok(parses(""), "empty string parses");
	is_int(tab.nclasses, 0, "empty string gives an empty table");
	tab.nclasses = 7;
	ok(parses(" \t\n\r\n  "), "all-blank string parses");
	is_int(tab.nclasses, 0, "all-blank string gives an empty table");
	tab.nclasses = 7;
	ok(pgb_parse_classes(NULL, &tab, errbuf, sizeof(errbuf)) && tab.nclasses == 0,
	   "NULL string is an empty table");

	strcpy(errbuf, "stale");
	ok(pgb_parse_classes("a(max=1)", &tab, errbuf, sizeof(errbuf)) &&
	   errbuf[0] == '\0', "success clears errbuf");
}

static void
test_keys(void)
{
	const PgbClass *c;

	ok(parses("k(shed=terminate, burst=7, rate=3/s, priority=-5, reserve=2, max=9)"),
	   "keys in any order");
	c = cls("k");
	is_int(c->max, 9, "any order: max");
	is_int(c->reserve, 2, "any order: reserve");
	is_int(c->priority, -5, "any order: negative priority");
	is_double(c->rate, 3.0, 0.0, "any order: rate");
	is_int(c->burst, 7, "any order: explicit burst wins over the default");
	is_int(c->shed, PGB_SHED_TERMINATE, "any order: shed");

	ok(parses("a(shed=never), b(shed=cancel), c(shed=terminate)"), "every shed mode parses");
	is_int(cls("a")->shed, PGB_SHED_NEVER, "shed=never");
	is_int(cls("b")->shed, PGB_SHED_CANCEL, "shed=cancel");
	is_int(cls("c")->shed, PGB_SHED_TERMINATE, "shed=terminate");

	ok(parses("a(reserve=50)"), "reserve without max");
	is_int(cls("a")->max, PGB_UNLIMITED, "reserve without max: max unlimited");
	is_int(cls("a")->reserve, 50, "reserve without max: reserve kept");

	ok(parses("a(max=0)"), "max=0 is valid");
	is_int(cls("a")->max, 0, "max=0 is stored as 0, not unlimited");
	ok(parses("a(max=0, reserve=0)"), "max=0 with reserve=0 is valid");
	ok(parses("a(max=007)"), "leading zeros are accepted");
	is_int(cls("a")->max, 7, "leading zeros: value");
	ok(parses("max(max=1), rate(), shed()"), "key words are valid class names");
}

static void
test_rates(void)
{
	ok(parses("a(rate=0.5/s), b(rate=30/min), c(rate=30/m), d(rate=90/min), "
			  "e(rate=2.5/s), f(rate=60/min), g(rate=1/s, burst=10), h(rate=0.05/s)"),
	   "rate forms parse");
	is_double(cls("a")->rate, 0.5, 0.0, "0.5/s is 0.5 per second");
	is_int(cls("a")->burst, 1, "0.5/s: burst at least 1");
	is_double(cls("b")->rate, 0.5, 0.0, "30/min is 0.5 per second");
	is_double(cls("c")->rate, 0.5, 0.0, "30/m is 0.5 per second");
	is_double(cls("d")->rate, 1.5, 0.0, "90/min is 1.5 per second");
	is_int(cls("d")->burst, 2, "90/min: burst ceil(1.5) = 2");
	is_double(cls("e")->rate, 2.5, 0.0, "2.5/s");
	is_int(cls("e")->burst, 3, "2.5/s: burst 3");
	is_int(cls("f")->burst, 1, "60/min: burst exactly 1");
	is_int(cls("g")->burst, 10, "explicit burst kept");
	is_double(cls("h")->rate, 0.05, 1e-15, "0.05/s");
	is_int(cls("h")->burst, 1, "0.05/s: burst 1");

	ok(parses("a(rate=1000000/s)"), "rate N = 1000000 is the upper bound");
	is_int(cls("a")->burst, 1000000, "rate 1000000/s: burst 1000000");
	ok(parses("a(rate=0.000001/s)"), "tiny positive rate is accepted");
	is_int(cls("a")->burst, 1, "tiny rate: burst 1");

	is_str(error_of("ai(rate=0/s)"),
		   "class \"ai\": invalid value \"0/s\" for key \"rate\" (N must be greater than 0 and at most 1000000)",
		   "rate=0/s is an error");
	like(error_of("ai(rate=0.000/min)"), "invalid value \"0.000/min\" for key \"rate\"",
		 "rate=0.000/min is an error");
	like(error_of("ai(rate=1000000.5/s)"), "invalid value \"1000000.5/s\" for key \"rate\"",
		 "rate above 1000000 is an error");
	like(error_of("ai(rate=99999999999999999999999/s)"), "invalid value \"99999999999999999999999/s\"",
		 "huge rate does not overflow into acceptance");
	is_str(error_of("ai(rate=20)"),
		   "class \"ai\": invalid value \"20\" for key \"rate\" (expected N/s or N/min)",
		   "rate without unit is an error");
	like(error_of("ai(rate=20/h)"), "invalid value \"20/h\" for key \"rate\"", "rate per hour is an error");
	like(error_of("ai(rate=20/S)"), "invalid value \"20/S\" for key \"rate\"", "upper-case unit is an error");
	like(error_of("ai(rate=20/sec)"), "invalid value \"20/sec\"", "rate unit sec is an error");
	like(error_of("ai(rate=20/)"), "invalid value \"20/\"", "rate with empty unit is an error");
	like(error_of("ai(rate=/s)"), "invalid value \"/s\"", "rate without number is an error");
	like(error_of("ai(rate=.5/s)"), "invalid value \".5/s\"", "rate without leading digit is an error");
	like(error_of("ai(rate=5./s)"), "invalid value \"5./s\"", "rate with empty fraction is an error");
	like(error_of("ai(rate=-1/s)"), "invalid value \"-1/s\"", "negative rate is an error");
	like(error_of("ai(rate=1e3/s)"), "invalid value \"1e3/s\"", "exponent notation is an error");
	like(error_of("ai(rate=20/ss)"), "invalid value \"20/ss\"", "junk after unit is an error");
	like(error_of("ai(rate=0,5/s)"), "class \"ai\":",
		 "decimal comma is not a decimal point");

	is_str(error_of("ai(burst=5)"), "class \"ai\": key \"burst\" requires key \"rate\"",
		   "burst without rate is an error");
	like(error_of("ai(rate=1/s, burst=0)"), "invalid value \"0\" for key \"burst\"",
		 "burst=0 is an error");
	ok(parses("ai(rate=1/s, burst=1)"), "burst=1 is the lower bound");
	ok(parses("ai(rate=1/s, burst=1000000)"), "burst=1000000 is accepted");
	is_int(cls("ai")->burst, 1000000, "burst=1000000 stored");
}

static void
test_locale(void)
{
	static const char *const locales[] = {
		"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8"
	};
	const char *set = NULL;
	int			i;

	for (i = 0; i < (int) lengthof(locales) && set == NULL; i++)
		set = setlocale(LC_ALL, locales[i]);
	if (set == NULL)
	{
		skip("no decimal-comma locale installed");
		return;
	}
	ok(parses("a(rate=0.5/s)") && cls("a")->rate == 0.5,
	   "rate parsing ignores a decimal-comma locale");
	setlocale(LC_ALL, "C");
}

static void
test_blanks(void)
{
	const PgbClass *c;

	ok(parses("\n\t web \t(\n max \t= \n 80 ,\r\n reserve= 5 ) \n,\n ai ( rate =0.5/s ,shed= cancel\t)\t\n"),
	   "blanks and newlines between every token");
	is_int(tab.nclasses, 2, "blanks: two classes");
	c = cls("web");
	is_int(c->max, 80, "blanks: web max");
	is_int(c->reserve, 5, "blanks: web reserve");
	is_double(cls("ai")->rate, 0.5, 0.0, "blanks: ai rate");
	is_int(cls("ai")->shed, PGB_SHED_CANCEL, "blanks: ai shed");

	ok(parses("a(max=1,reserve=1),b(priority=2)"), "no blanks at all");
	is_int(cls("b")->priority, 2, "no blanks: values read");
}

static void
test_errors(void)
{
	/* the messages the syntax promises */
	is_str(error_of("ai(maxx=1)"), "class \"ai\": unknown key \"maxx\"", "unknown key");
	is_str(error_of("ai(MAX=1)"), "class \"ai\": unknown key \"MAX\"", "keys are case-sensitive");
	is_str(error_of("ai(max=10x)"), "class \"ai\": invalid value \"10x\" for key \"max\"",
		   "trailing junk in a number");
	is_str(error_of("web(), ai(), web()"), "duplicate class \"web\"", "duplicate class");
	is_str(error_of("Web()"), "invalid class name \"Web\"", "upper-case class name");
	is_str(error_of("web(max=80, reserve=90)"), "class \"web\": reserve 90 exceeds max 80",
		   "reserve exceeds max");
	is_str(error_of("web(reserve=90, max=80)"), "class \"web\": reserve 90 exceeds max 80",
		   "reserve exceeds max, keys reversed");
	like(error_of("web(max=0, reserve=1)"), "reserve 1 exceeds max 0", "reserve exceeds max=0");
	is_str(error_of("ai(max(80))"), "class \"ai\": expected \"=\" after key \"max\" but found \"(\"",
		   "missing = before (");
	is_str(error_of("ai(max 80)"), "class \"ai\": expected \"=\" after key \"max\" but found \"80\"",
		   "missing = before a value");
	is_str(error_of("ai(max"), "class \"ai\": expected \"=\" after key \"max\" but found end of input",
		   "string ends after a key");
	is_str(error_of("web max=1"), "expected \"(\" after class name \"web\"", "missing (");
	is_str(error_of("a(), web"), "expected \"(\" after class name \"web\"", "string ends after a name");
	is_str(error_of("web(), "), "unexpected \",\" at end of class list", "trailing comma");
	is_str(error_of("web(),\n\t"), "unexpected \",\" at end of class list", "trailing comma and blanks");
	is_str(error_of("web(max=1, max=2)"), "class \"web\": duplicate key \"max\"", "duplicate key");
	is_str(error_of("web(shed=never, shed=cancel)"), "class \"web\": duplicate key \"shed\"",
		   "duplicate key shed");

	/* missing or misplaced punctuation */
	is_str(error_of("web(max=1"),
		   "class \"web\": expected \",\" or \")\" after the value of key \"max\" but found end of input",
		   "missing )");
	is_str(error_of("web("), "class \"web\": expected a key but found end of input", "string ends after (");
	is_str(error_of("web(max=1 reserve=1)"),
		   "class \"web\": expected \",\" or \")\" after the value of key \"max\" but found \"reserve\"",
		   "missing comma between keys");
	is_str(error_of("web(max=1,)"), "class \"web\": expected a key but found \")\"",
		   "trailing comma inside parentheses");
	is_str(error_of("web(,max=1)"), "class \"web\": expected a key but found \",\"",
		   "leading comma inside parentheses");
	is_str(error_of("web(max=)"), "class \"web\": expected a value for key \"max\" but found \")\"",
		   "empty value");
	is_str(error_of("web(max=, reserve=1)"), "class \"web\": expected a value for key \"max\" but found \",\"",
		   "empty value before comma");
	like(error_of("web(max==1)"), "expected a value for key \"max\" but found \"=\"", "double =");
	is_str(error_of("web() ai()"), "expected \",\" after class \"web\" but found \"ai\"",
		   "junk between classes: missing comma");
	is_str(error_of("web();ai()"), "expected \",\" after class \"web\" but found \";ai\"",
		   "junk between classes: semicolon");
	is_str(error_of("web(max=1))"), "expected \",\" after class \"web\" but found \")\"", "extra )");
	is_str(error_of(",web()"), "expected a class name but found \",\"", "leading comma");
	is_str(error_of("web(),,ai()"), "expected a class name but found \",\"", "double comma");
	is_str(error_of("(max=1)"), "expected a class name but found \"(\"", "missing class name");

	/* names */
	is_str(error_of("1web()"), "invalid class name \"1web\"", "name starting with a digit");
	is_str(error_of("my-class()"), "invalid class name \"my-class\"", "name with a dash");
	is_str(error_of("w\xc3\xa9" "b()"), "invalid class name \"w\xc3\xa9" "b\"", "non-ASCII name");
	ok(parses("_x9()"), "name with underscore and digit");

	/* numbers */
	like(error_of("web(max=99999999999999999999)"),
		 "class \"web\": invalid value \"99999999999999999999\" for key \"max\"", "max overflow");
	like(error_of("web(priority=-99999999999999999999)"),
		 "class \"web\": invalid value \"-99999999999999999999\" for key \"priority\"", "priority overflow");
	is_str(error_of("web(max=+5)"), "class \"web\": invalid value \"+5\" for key \"max\"", "plus sign");
	is_str(error_of("web(max=-)"), "class \"web\": invalid value \"-\" for key \"max\"", "bare minus");
	is_str(error_of("web(max=1.5)"), "class \"web\": invalid value \"1.5\" for key \"max\"",
		   "fraction in an integer key");
	is_str(error_of("web(shed=kill)"),
		   "class \"web\": invalid value \"kill\" for key \"shed\" (expected never, cancel or terminate)",
		   "unknown shed mode");
	like(error_of("web(shed=Terminate)"), "invalid value \"Terminate\" for key \"shed\"",
		 "shed modes are case-sensitive");
}

static void
test_bounds(void)
{
	ok(parses("a(max=1000000)"), "max 1000000 accepted");
	is_int(cls("a")->max, 1000000, "max 1000000 stored");
	is_str(error_of("a(max=1000001)"),
		   "class \"a\": invalid value \"1000001\" for key \"max\" (must be between 0 and 1000000)",
		   "max 1000001 rejected");
	like(error_of("a(max=-1)"), "invalid value \"-1\" for key \"max\"", "max -1 rejected");
	ok(parses("a(reserve=1000000)"), "reserve 1000000 accepted");
	like(error_of("a(reserve=1000001)"), "invalid value \"1000001\" for key \"reserve\"",
		 "reserve 1000001 rejected");
	like(error_of("a(reserve=-1)"), "invalid value \"-1\" for key \"reserve\"", "negative reserve rejected");
	ok(parses("a(priority=-1000000), b(priority=1000000)"), "priority bounds accepted");
	is_int(cls("a")->priority, -1000000, "priority -1000000 stored");
	is_int(cls("b")->priority, 1000000, "priority 1000000 stored");
	is_str(error_of("a(priority=-1000001)"),
		   "class \"a\": invalid value \"-1000001\" for key \"priority\" (must be between -1000000 and 1000000)",
		   "priority -1000001 rejected");
	like(error_of("a(priority=1000001)"), "invalid value \"1000001\" for key \"priority\"",
		 "priority 1000001 rejected");
	like(error_of("a(rate=1/s, burst=1000001)"), "invalid value \"1000001\" for key \"burst\"",
		 "burst 1000001 rejected");
}

static void
test_names_and_counts(void)
{
	char		name63[PGB_CLASS_NAME_LEN + 1];
	char		name64[PGB_CLASS_NAME_LEN + 2];
	char		str[512];
	char		expected[512];
	char		big[4096];
	char		longkey[201];

	memset(name63, 'a', 63);
	name63[63] = '\0';
	memset(name64, 'b', 64);
	name64[64] = '\0';

	snprintf(str, sizeof(str), "%s(max=1)", name63);
	ok(parses(str), "63-character name accepted");
	is_str(tab.classes[0].name, name63, "63-character name stored whole");
	snprintf(str, sizeof(str), "%s(max=1)", name64);
	snprintf(expected, sizeof(expected), "class name \"%s\" is longer than 63 characters", name64);
	is_str(error_of(str), expected, "64-character name rejected");

	ok(pgb_valid_class_name(name63), "valid_class_name: 63 characters");
	ok(!pgb_valid_class_name(name64), "valid_class_name: 64 characters");
	ok(pgb_valid_class_name("web"), "valid_class_name: web");
	ok(pgb_valid_class_name("_a1"), "valid_class_name: _a1");
	ok(pgb_valid_class_name("a"), "valid_class_name: one letter");
	ok(!pgb_valid_class_name("Web"), "valid_class_name: upper case");
	ok(!pgb_valid_class_name("1a"), "valid_class_name: leading digit");
	ok(!pgb_valid_class_name("a-b"), "valid_class_name: dash");
	ok(!pgb_valid_class_name("a b"), "valid_class_name: space");
	ok(!pgb_valid_class_name(""), "valid_class_name: empty");
	ok(!pgb_valid_class_name(NULL), "valid_class_name: NULL");

	many_classes(big, sizeof(big), 32, "");
	ok(parses(big), "32 classes accepted");
	is_int(tab.nclasses, 32, "32 classes stored");
	is_str(tab.classes[31].name, "c31", "32nd class stored");
	many_classes(big, sizeof(big), 33, "");
	is_str(error_of(big), "more than 32 classes", "33 classes rejected");
	ok(tab.nclasses <= PGB_MAX_CLASSES, "failed parse leaves a safe class count");

	memset(longkey, 'k', 200);
	longkey[200] = '\0';
	snprintf(str, sizeof(str), "web(%s=1)", longkey);
	error_of(str);
	like(errbuf, "class \"web\": unknown key \"kkkk", "long token is quoted");
	like(errbuf, "kkk...\"", "long token is shortened with ...");
	ok(strlen(errbuf) < 120, "long token does not flood the message");
}

/* Is s valid UTF-8 (RFC 3629 lead and continuation bytes)? */
static bool
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		int			n = *p < 0x80 ? 1 : *p >= 0xC2 && *p <= 0xDF ? 2 :
			*p >= 0xE0 && *p <= 0xEF ? 3 : *p >= 0xF0 && *p <= 0xF4 ? 4 : 0;
		int			k;

		if (n == 0)
			return false;
		for (k = 1; k < n; k++)
			if ((p[k] & 0xC0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

static void
test_errbuf_utf8(void)
{
	char		str[512];
	char		small[40];
	int			i;

	/* a long token of 2-byte characters after one ASCII byte */
	strcpy(str, "a(max=x");
	for (i = 0; i < 40; i++)
		strcat(str, "\xc3\xa9");
	strcat(str, ")");
	error_of(str);
	like(errbuf, "invalid value \"x\xc3\xa9", "a long non-ASCII token is quoted");
	like(errbuf, "...\"", "and shortened");
	ok(valid_utf8(errbuf), "shortened on a character boundary");

	/* a message cut by a small buffer inside a character */
	strcpy(str, "a(max=");
	for (i = 0; i < 10; i++)
		strcat(str, "\xe6\xbc\xa2");
	strcat(str, ")");
	for (i = 24; i < 40; i++)
	{
		ok(!pgb_parse_classes(str, &tab, small, i), "error into a small buffer");
		ok(valid_utf8(small), "a message cut by its buffer keeps whole characters");
	}
	is_str(small, "class \"a\": invalid value \"\xe6\xbc\xa2\xe6\xbc\xa2\xe6\xbc\xa2\xe6\xbc\xa2",
		   "39 bytes: the four whole characters that fit");
}

static void
test_errbuf(void)
{
	char		small[16];

	memset(small, 'X', sizeof(small));
	ok(!pgb_parse_classes("ai(maxx=1)", &tab, small, 8), "error with an 8-byte errbuf");
	is_int(small[7], '\0', "8-byte errbuf is NUL-terminated");
	is_int((int) strlen(small), 7, "8-byte errbuf holds the start of the message");
	is_int(small[8], 'X', "nothing written past errlen");
	is_str(small, "class \"", "truncated message is the prefix");

	memset(small, 'X', sizeof(small));
	ok(!pgb_parse_classes("Web()", &tab, small, 8), "unprefixed error with an 8-byte errbuf");
	is_int(small[7], '\0', "unprefixed message NUL-terminated");

	memset(small, 'X', sizeof(small));
	ok(!pgb_parse_classes("Web()", &tab, small, 1) && small[0] == '\0' && small[1] == 'X',
	   "1-byte errbuf gets only the terminator");
	ok(!pgb_parse_classes("Web()", &tab, NULL, 0), "NULL errbuf is tolerated");

	ok(parses("web(max=300, reserve=10)"), "budget table for small errbuf");
	memset(small, 'X', sizeof(small));
	ok(!pgb_check_budget(&tab, 97, small, 8) && small[7] == '\0' && small[8] == 'X',
	   "budget check NUL-terminates an 8-byte errbuf");
}

static void
test_budget(void)
{
	int			idx;

	ok(parses("web(max=300)"), "budget: table with a big max");
	is_str(budget_error(97), "class \"web\": max 300 exceeds the 97 usable connections",
		   "max above usable is an error");
	is_str(budget_error(300), "", "max equal to usable passes");

	ok(parses("a(reserve=60), b(reserve=60)"), "budget: table with big reservations");
	is_str(budget_error(97),
		   "reservations total 120 (a 60, b 60) but only 97 connections are usable (max_connections less the reserved slots)",
		   "reservations above usable is an error");
	is_str(budget_error(120), "", "reservations equal to usable pass");

	ok(parses("a(), b(max=0)"), "budget: unlimited and zero");
	is_str(budget_error(0), "", "unlimited max never exceeds usable");

	ok(parses("a(reserve=10), b(max=10)"), "budget: table plus implicit class");
	idx = pgb_ensure_default_class(&tab, "default");
	is_str(budget_error(10), "", "implicit default class adds no reservation");
	tab.classes[idx].reserve = 5;
	is_str(budget_error(14),
		   "reservations total 15 (a 10, default 5) but only 14 connections are usable (max_connections less the reserved slots)",
		   "implicit classes count in the reservation total");
	tab.classes[idx].reserve = 0;
	tab.classes[idx].max = 20;
	like(budget_error(15), "class \"default\": max 20 exceeds", "implicit classes are checked against usable");

	/* the least number of usable connections a table fits in */
	ok(parses("web(max=20, reserve=5), admin(max=3, reserve=2), ai(max=4)"), "budget: the regress table");
	is_int(pgb_budget_needed(&tab), 20, "needed: the largest max, above the reservations");
	is_str(budget_error(pgb_budget_needed(&tab)), "", "it fits in what it needs");
	like(budget_error(pgb_budget_needed(&tab) - 1), "class \"web\": max 20 exceeds the 19 usable",
		 "and not in one less, naming the class");
	ok(parses("a(reserve=30), b(reserve=30), c(max=40)"), "budget: reservations above every max");
	is_int(pgb_budget_needed(&tab), 60, "needed: the reservations");
	is_str(budget_error(59),
		   "reservations total 60 (a 30, b 30) but only 59 connections are usable (max_connections less the reserved slots)",
		   "one less: the classes holding reservations are named");
	ok(parses("a(), b(max=0)"), "budget: no cap, no reservation");
	is_int(pgb_budget_needed(&tab), 0, "needed: nothing");
	ok(parses(""), "budget: empty table");
	is_int(pgb_budget_needed(&tab), 0, "needed by an empty table: nothing");
}

static void
test_helpers(void)
{
	char		big[4096];
	int			idx;
	const PgbClass *c;

	ok(parses("web(max=80), we(max=1), ai()"), "helpers: table");
	is_int(pgb_find_class(&tab, "web"), 0, "find_class: first");
	is_int(pgb_find_class(&tab, "we"), 1, "find_class: exact match, not prefix");
	is_int(pgb_find_class(&tab, "ai"), 2, "find_class: last");
	is_int(pgb_find_class(&tab, "w"), -1, "find_class: missing prefix");
	is_int(pgb_find_class(&tab, "WEB"), -1, "find_class: case-sensitive");
	is_int(pgb_find_class(&tab, "webx"), -1, "find_class: longer name");

	idx = pgb_ensure_default_class(&tab, "web");
	is_int(idx, 0, "ensure_default_class: existing class returns its index");
	is_int(tab.nclasses, 3, "ensure_default_class: existing class adds nothing");
	is_int(tab.classes[0].max, 80, "ensure_default_class: existing class unchanged");
	ok(!tab.classes[0].implicit, "ensure_default_class: existing class stays explicit");

	idx = pgb_ensure_default_class(&tab, "default");
	is_int(idx, 3, "ensure_default_class: new class appended");
	is_int(tab.nclasses, 4, "ensure_default_class: count grows");
	c = &tab.classes[3];
	is_str(c->name, "default", "implicit class name");
	is_int(c->max, PGB_UNLIMITED, "implicit class: unlimited");
	is_int(c->reserve, 0, "implicit class: reserve 0");
	is_int(c->priority, 0, "implicit class: priority 0");
	is_double(c->rate, 0.0, 0.0, "implicit class: no rate");
	is_int(c->burst, 0, "implicit class: burst 0");
	is_int(c->shed, PGB_SHED_NEVER, "implicit class: never shed");
	ok(c->implicit, "implicit class is marked implicit");
	is_int(pgb_ensure_default_class(&tab, "default"), 3, "ensure_default_class: second call finds it");
	is_int(tab.nclasses, 4, "ensure_default_class: second call adds nothing");

	/* one set of defaults: for a class with no keys and the implicit one */
	{
		PgbClass	init;

		pgb_class_init(&init, "default", 7);
		init.implicit = true;
		ok(memcmp(c, &init, sizeof(init)) == 0, "class_init: the implicit class");
		pgb_class_init(&init, "ai", 2);
		ok(parses("ai()") && memcmp(&tab.classes[0], &init, sizeof(init)) == 0,
		   "class_init: a class with no keys");
	}

	ok(parses(""), "helpers: empty table");
	is_int(pgb_ensure_default_class(&tab, "default"), 0, "ensure_default_class on an empty table");

	many_classes(big, sizeof(big), 32, "");
	ok(parses(big), "helpers: full table");
	is_int(pgb_ensure_default_class(&tab, "default"), 32, "ensure_default_class uses the spare slot");
	is_int(tab.nclasses, 33, "full table plus default: 33 entries");
	ok(tab.classes[32].implicit, "spare-slot class is implicit");

	is_str(pgb_shed_mode_name(PGB_SHED_NEVER), "never", "shed_mode_name never");
	is_str(pgb_shed_mode_name(PGB_SHED_CANCEL), "cancel", "shed_mode_name cancel");
	is_str(pgb_shed_mode_name(PGB_SHED_TERMINATE), "terminate", "shed_mode_name terminate");
}

static void
test_floor(void)
{
	ok(parses("ai(max=60, floor=5)"), "floor parses");
	is_int(cls("ai")->floor, 5, "floor value");
	ok(parses("ai(floor=0)"), "floor 0 is allowed");
	is_int(cls("ai")->floor, 0, "floor 0 kept");
	ok(parses("ai(max=0)"), "max 0 without floor");
	is_int(cls("ai")->floor, 0, "the default floor is clamped to a smaller max");
	ok(!parses("ai(max=4, floor=5)"), "an explicit floor above max is refused");
	is_str(errbuf, "class \"ai\": floor 5 exceeds max 4", "floor error names the class");
	ok(!parses("ai(floor=-1)"), "negative floor refused");
	like(errbuf, "for key \"floor\"", "the error names the key");
}

/* The duration of the queue_timeout key and of pg_budget.queue_timeout. */
static int	dur_ms;

static bool
duration(const char *s)
{
	dur_ms = -12345;
	return pgb_parse_duration_ms(s, strlen(s), &dur_ms);
}

static void
test_durations(void)
{
	ok(duration("500ms") && dur_ms == 500, "500ms");
	ok(duration("5s") && dur_ms == 5000, "5s");
	ok(duration("2min") && dur_ms == 120000, "2min");
	ok(duration("1h") && dur_ms == 3600000, "1h");
	ok(duration("1d") && dur_ms == 86400000, "1d is the most");
	ok(duration("24h") && dur_ms == 86400000, "24h");
	ok(duration("1440min") && dur_ms == 86400000, "1440min");
	ok(duration("250") && dur_ms == 250, "a bare number is ms");
	ok(duration("0") && dur_ms == 0, "0 refuses at once");
	ok(duration("0s") && dur_ms == 0, "0s is 0");
	ok(duration("0.0s") && dur_ms == 0, "0.0s is 0 (0 was written)");
	ok(duration("-1") && dur_ms == PGB_QUEUE_TIMEOUT_NONE, "-1 waits without limit");
	is_int(PGB_QUEUE_TIMEOUT_NONE, -1, "no limit is -1");
	ok(PGB_QUEUE_TIMEOUT_DEFAULT != PGB_QUEUE_TIMEOUT_NONE,
	   "not set in the table is not the same as no limit");

	/* decimals, rounded up to the next millisecond */
	ok(duration("1.5s") && dur_ms == 1500, "1.5s");
	ok(duration("0.4ms") && dur_ms == 1, "0.4ms rounds up to 1, never to 0");
	ok(duration("0.4") && dur_ms == 1, "a bare 0.4 (ms) rounds up to 1");
	ok(duration("1.0001s") && dur_ms == 1001, "1.0001s rounds up to 1001");
	ok(duration("0.000000001s") && dur_ms == 1, "a nanosecond rounds up to 1 ms");
	ok(duration("0.5min") && dur_ms == 30000, "0.5min");
	ok(duration("1.5h") && dur_ms == 5400000, "1.5h");
	ok(duration("0.5d") && dur_ms == 43200000, "0.5d");
	ok(duration("0.999999999d") && dur_ms == 86400000, "0.999999999d rounds up to a day");
	ok(duration("86399999.1") && dur_ms == 86400000, "86399999.1 ms rounds up to a day");
	ok(duration("10.000ms") && dur_ms == 10, "trailing zeros after the point");
	ok(duration("007s") && dur_ms == 7000, "leading zeros");

	/* blanks around the value and before the unit, as in core's settings */
	ok(duration(" 10s ") && dur_ms == 10000, "blanks around");
	ok(duration("10 s") && dur_ms == 10000, "a blank between number and unit");
	ok(duration(" -1 ") && dur_ms == -1, "-1 with blanks");

	/* refused */
	ok(!duration("1d1ms"), "1d1ms refused");
	ok(!duration("1.0000001d"), "more than a day refused");
	ok(!duration("86400001"), "86400001 ms refused");
	ok(!duration("86400000.1"), "a day and a fraction of a ms refused");
	ok(!duration("25h"), "25h refused");
	ok(!duration("2days"), "2days refused");
	ok(!duration("-0.5"), "-0.5 refused");
	ok(!duration("-1ms"), "-1ms refused: only a bare -1 means no limit");
	ok(!duration("-1s"), "-1s refused");
	ok(!duration("-2"), "-2 refused");
	ok(!duration("-1.0"), "-1.0 refused");
	ok(!duration("-"), "a bare minus refused");
	ok(!duration("+5s"), "a plus sign refused");
	ok(!duration("5m"), "m is not a unit (minutes are min)");
	ok(!duration("5S"), "units are case-sensitive");
	ok(!duration("5us"), "us is not a unit");
	ok(!duration(".5s"), "a leading point refused");
	ok(!duration("5.s"), "an empty fraction refused");
	ok(!duration("1e3"), "no exponent");
	ok(!duration("0x10"), "no hex");
	ok(!duration("0.0000000001s"), "more than 9 digits after the point refused");
	ok(!duration("s"), "a unit alone refused");
	ok(!duration(""), "empty refused");
	ok(!duration("   "), "blank refused");
	ok(!duration("5 s s"), "two units refused");
	ok(!duration("99999999999999999999999s"), "huge refused without overflow");
	ok(!duration("99999999999999999999999.5d"), "huge with a fraction refused without overflow");
	ok(!pgb_parse_duration_ms("10s", 2, &dur_ms) || dur_ms == 10,
	   "only len bytes are read");
	ok(pgb_parse_duration_ms("10sXYZ", 3, &dur_ms) && dur_ms == 10000,
	   "bytes past len are not read");

	/* the class key reads the same values */
	ok(parses("ai(queue_timeout=-1), b(queue_timeout=1.5s), c(queue_timeout=1d), d(queue_timeout=0.4ms)"),
	   "the key takes -1, 1.5s, 1d and 0.4ms");
	is_int(cls("ai")->queue_timeout, -1, "key: -1 waits without limit");
	is_int(cls("b")->queue_timeout, 1500, "key: 1.5s");
	is_int(cls("c")->queue_timeout, 86400000, "key: 1d");
	is_int(cls("d")->queue_timeout, 1, "key: 0.4ms rounds up to 1");
	ok(parses("ai()"), "no queue_timeout key");
	is_int(cls("ai")->queue_timeout, PGB_QUEUE_TIMEOUT_DEFAULT, "no key: the setting applies");
	is_str(error_of("ai(queue_timeout=-0.5)"),
		   "class \"ai\": invalid value \"-0.5\" for key \"queue_timeout\" (expected -1 or a duration such as 500ms, 1.5s, 1min or 1d, at most 1d)",
		   "key: -0.5 refused, naming the class and the token");
	like(error_of("ai(queue_timeout=1d1ms)"), "invalid value \"1d1ms\" for key \"queue_timeout\"",
		 "key: 1d1ms refused");
}

/* The wal key's rates, and pg_budget.wal_rate_floor's. */
static double rate_bps;

static bool
byte_rate(const char *s)
{
	rate_bps = -1;
	return pgb_parse_byte_rate(s, strlen(s), &rate_bps);
}

static bool
rate_setting(const char *s)
{
	rate_bps = -1;
	return pgb_parse_rate_setting(s, &rate_bps);
}

static void
test_byte_rates(void)
{
	double		mb = 1024.0 * 1024;

	ok(byte_rate("1B/s") && rate_bps == 1, "1B/s is the least");
	ok(byte_rate("1/s") && rate_bps == 1, "a bare 1/s is a byte a second");
	ok(byte_rate("60B/min") && rate_bps == 1, "60B/min is a byte a second");
	ok(byte_rate("1.5B/s") && rate_bps == 1.5, "1.5B/s");
	ok(byte_rate("0.001kB/s") && rate_bps >= 1, "0.001kB/s is a byte a second and a bit");
	ok(byte_rate("1TB/s") && rate_bps == PGB_WAL_RATE_MAX, "1TB/s is the most");
	ok(!byte_rate("0.1B/s"), "0.1B/s rounds to nothing: refused");
	ok(!byte_rate("0.999B/s"), "0.999B/s refused");
	ok(!byte_rate("59B/min"), "59B/min is under a byte a second: refused");
	ok(!byte_rate("0.0001kB/s"), "0.0001kB/s is 0.1 byte a second: refused");
	is_str(error_of("bulk(wal=0.1B/s)"),
		   "class \"bulk\": invalid value \"0.1B/s\" for key \"wal\" (expected a rate such as 500kB/s, 20MB/s or 1GB/min, at least 1B/s and at most 1TB/s)",
		   "wal=0.1B/s refused, naming the class and the token");
	like(error_of("bulk(wal=0B/s)"), "invalid value \"0B/s\" for key \"wal\"", "wal=0B/s refused");

	/* pg_budget.wal_rate_floor: the key's rates, or a size a second */
	ok(rate_setting("10MB/s") && rate_bps == 10 * mb, "setting: 10MB/s");
	ok(rate_setting("600MB/min") && rate_bps == 10 * mb, "setting: 600MB/min");
	ok(rate_setting(" 10MB/s ") && rate_bps == 10 * mb, "setting: blanks around");
	ok(rate_setting("1MB") && rate_bps == mb, "setting: a size, 1MB, is a second's");
	ok(rate_setting("1 MB") && rate_bps == mb, "setting: 1 MB");
	ok(rate_setting("1024") && rate_bps == mb, "setting: a bare number is kB");
	ok(rate_setting("512B") && rate_bps == 512, "setting: 512B");
	ok(rate_setting("1.5GB") && rate_bps == 1.5 * 1024 * mb, "setting: 1.5GB");
	ok(!rate_setting("0.1B/s"), "setting: 0.1B/s refused");
	ok(!rate_setting("0"), "setting: 0 refused");
	ok(!rate_setting("0.5B"), "setting: 0.5B refused");
	ok(!rate_setting("2TB/s"), "setting: 2TB/s refused");
	ok(!rate_setting("2TB"), "setting: 2TB refused");
	ok(!rate_setting("10MB/h"), "setting: per hour refused");
	ok(!rate_setting("10mb/s"), "setting: units are case-sensitive");
	ok(!rate_setting("10MB/s/s"), "setting: junk after the rate refused");
	ok(!rate_setting("-1MB/s"), "setting: negative refused");
	ok(!rate_setting(""), "setting: empty refused");
	ok(!rate_setting("MB/s"), "setting: a number is needed");
}

static void
test_cpu(void)
{
	ok(parses("web(cpu=100), ai(cpu=1), bulk(cpu=idle), top(cpu=10000), d()"),
	   "cpu forms parse");
	is_int(cls("web")->cpu_weight, 100, "cpu=100");
	ok(!cls("web")->cpu_idle, "cpu=100 is not idle");
	is_int(cls("ai")->cpu_weight, 1, "cpu=1 is the least");
	is_int(cls("top")->cpu_weight, 10000, "cpu=10000 is the most");
	ok(cls("bulk")->cpu_idle, "cpu=idle");
	is_int(cls("d")->cpu_weight, PGB_CPU_WEIGHT_DEFAULT, "no cpu key: weight 100");
	ok(!cls("d")->cpu_idle, "no cpu key: not idle");
	ok(parses("a(cpu=007)"), "cpu: leading zeros accepted");
	is_int(cls("a")->cpu_weight, 7, "cpu=007 is 7");
	is_str(error_of("ai(cpu=0)"),
		   "class \"ai\": invalid value \"0\" for key \"cpu\" (expected a weight from 1 to 10000, or idle)",
		   "cpu=0 refused, naming the class and the token");
	is_str(error_of("web(max=5), ai(cpu=10001)"),
		   "class \"ai\": invalid value \"10001\" for key \"cpu\" (expected a weight from 1 to 10000, or idle)",
		   "cpu=10001 refused");
	like(error_of("ai(cpu=-5)"), "invalid value \"-5\" for key \"cpu\"", "cpu=-5 refused");
	like(error_of("ai(cpu=Idle)"), "class \"ai\": invalid value \"Idle\" for key \"cpu\"", "cpu=Idle refused (case matters)");
	like(error_of("ai(cpu=1.5)"), "invalid value \"1.5\" for key \"cpu\"", "cpu=1.5 refused");
	like(error_of("ai(cpu=99999999999999999999)"), "invalid value \"99999999999999999999\" for key \"cpu\"",
		 "a huge cpu refused");
	is_str(error_of("ai(cpu=5, cpu=idle)"), "class \"ai\": duplicate key \"cpu\"",
		   "cpu twice refused");
	like(error_of("ai(cpu=)"), "class \"ai\": expected a value for key \"cpu\"", "cpu without a value");
	ok(pgb_ensure_default_class(&tab, "zz") >= 0 &&
	   cls("zz")->cpu_weight == PGB_CPU_WEIGHT_DEFAULT && !cls("zz")->cpu_idle,
	   "the implicit default class has weight 100");
}

static void
test_memory(void)
{
	int64		b = 0;

	ok(parses("web(session_mem=200MB), ai(mem=1.5GB, session_mem=512MB), bulk(mem=1TB), d()"),
	   "mem and session_mem parse");
	ok(cls("ai")->mem == INT64CONST(1536) * 1024 * 1024, "mem=1.5GB in bytes");
	ok(cls("ai")->session_mem == INT64CONST(512) * 1024 * 1024, "session_mem=512MB in bytes");
	ok(cls("web")->mem == 0 && cls("web")->session_mem == INT64CONST(200) * 1024 * 1024,
	   "session_mem alone: no class budget");
	ok(cls("bulk")->mem == INT64CONST(1024) * 1024 * 1024 * 1024, "mem=1TB is the most");
	ok(cls("d")->mem == 0 && cls("d")->session_mem == 0, "no key: no budget");
	ok(pgb_ensure_default_class(&tab, "zz") >= 0 && cls("zz")->mem == 0 &&
	   cls("zz")->session_mem == 0, "the implicit default class has no memory budget");
	is_str(error_of("ai(mem=12)"),
		   "class \"ai\": invalid value \"12\" for key \"mem\" (expected a size such as 512MB or 2GB, at least 1MB and at most 1TB)",
		   "a size needs its unit");
	is_str(error_of("ai(session_mem=0.5MB)"),
		   "class \"ai\": invalid value \"0.5MB\" for key \"session_mem\" (expected a size such as 512MB or 2GB, at least 1MB and at most 1TB)",
		   "below 1MB refused");
	like(error_of("ai(mem=2TB)"), "invalid value \"2TB\" for key \"mem\"", "above 1TB refused");
	like(error_of("ai(mem=5mb)"), "invalid value \"5mb\" for key \"mem\"", "units are case-sensitive");
	like(error_of("ai(mem=-5MB)"), "invalid value \"-5MB\" for key \"mem\"", "negative refused");
	like(error_of("ai(mem=5MB/s)"), "invalid value \"5MB/s\" for key \"mem\"", "a rate is not a size");
	is_str(error_of("ai(mem=100MB, session_mem=200MB)"),
		   "class \"ai\": session_mem exceeds mem (200 MB > 100 MB)",
		   "session_mem above mem refused");
	is_str(error_of("ai(mem=1GB, mem=2GB)"), "class \"ai\": duplicate key \"mem\"",
		   "mem twice refused");
	ok(pgb_parse_size("1MB", 3, &b) && b == 1024 * 1024, "1MB, the least");
	ok(pgb_parse_size("2048 kB", 7, &b) && b == 2048 * 1024, "a blank between number and unit");
	ok(!pgb_parse_size("1023kB", 6, &b), "1023kB is below the least");
	ok(!pgb_parse_size("1GBx", 4, &b), "junk after the unit refused");
}

int
main(void)
{
	test_memory();
	test_cpu();
	test_durations();
	test_byte_rates();
	test_example();
	test_floor();
	test_defaults_and_empty();
	test_keys();
	test_rates();
	test_locale();
	test_blanks();
	test_errors();
	test_bounds();
	test_names_and_counts();
	test_errbuf();
	test_errbuf_utf8();
	test_budget();
	test_helpers();
	return done_testing();
}
