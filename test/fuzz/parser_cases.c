/*-------------------------------------------------------------------------
 *
 * parser_cases.c
 *		  Deterministic cases for src/page_parser.c and src/json_validate.c:
 *		  each body is fed whole, cut in two at every byte, and one byte at
 *		  a time, and every way must give the expected verdict, error kind,
 *		  message and values.
 *
 * The fuzz target checks that splits agree with each other; this checks
 * that they agree with what RFC 8259 says, on whichever json-c the program
 * is built against (0.16 to 0.19 all must pass).  It also holds the verdict
 * of every input in regressions/, whose directory is the one argument.
 *
 * Build and run with test/fuzz/cases.sh (test/fuzz/run.sh runs it first).
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "page_parser.h"

#define OK			CLF_RESP_OK
#define NOT_JSON	CLF_RESP_NOT_JSON
#define TRUNCATED	CLF_RESP_TRUNCATED
#define NOT_OBJECT	CLF_RESP_NOT_OBJECT

typedef struct Case
{
	const char *name;
	const char *body;
	size_t		len;
	ClfResponseError error;
	/* exact message, or for OK the root as json-c prints it; NULL: unchecked */
	const char *expect;
} Case;

/* sizeof keeps NUL bytes inside a body */
#define C(name, body, error, expect) {name, body, sizeof(body) - 1, error, expect}

static const Case cases[] = {
	/* accepted: the values json-c builds must not depend on the split */
	C("cjk", "{\"name\":\"\xe5\xbc\xa0\xe4\xb8\x89\"}", OK, "{\"name\":\"\xe5\xbc\xa0\xe4\xb8\x89\"}"),
	C("emoji", "{\"n\":\"a\xf0\x9f\x98\x80z\"}", OK, "{\"n\":\"a\xf0\x9f\x98\x80z\"}"),
	C("utf8 edges",
	  "{\"a\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\x7f\"}",
	  OK, "{\"a\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\x7f\"}"),
	C("cjk key", "{\"\xe5\x90\x8d\":1}", OK, "{\"\xe5\x90\x8d\":1}"),
	C("escapes", "{\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u4E2D\\ud83d\\ude00\"}", OK,
	  "{\"e\":\"\\\"\\\\/\\b\\f\\n\\r\\t\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"}"),
	C("nul escape", "{\"n\":\"a\\u0000b\"}", OK, "{\"n\":\"a\\u0000b\"}"),
	C("numbers", "{\"a\":[0,-0,1.5,-1.5e10,1E+2,1e-2,0.0,10,123456789012]}", OK,
	  "{\"a\":[0,0,1.5,-1.5e10,1E+2,1e-2,0.0,10,123456789012]}"),
	/* the ends of 64 bits; beyond them only with a fraction or an exponent */
	C("64-bit ends",
	  "{\"u\":18446744073709551615,\"n\":-9223372036854775808,\"m\":9223372036854775808,\"z\":-0}",
	  OK, "{\"u\":18446744073709551615,\"n\":-9223372036854775808,\"m\":9223372036854775808,\"z\":0}"),
	C("big doubles",
	  "{\"d\":1e400,\"f\":123456789012345678901234567890.5,\"e\":-123456789012345678901E-3}",
	  OK, "{\"d\":1e400,\"f\":123456789012345678901234567890.5,\"e\":-123456789012345678901E-3}"),
	/* a key twice in different objects is no duplicate */
	C("same key in other objects",
	  "{\"k\":{\"k\":1},\"b\":{\"k\":2},\"c\":[{\"k\":3},{\"k\":4}],\"K\":5,\"\\u006b1\":6}", OK,
	  "{\"k\":{\"k\":1},\"b\":{\"k\":2},\"c\":[{\"k\":3},{\"k\":4}],\"K\":5,\"k1\":6}"),
	C("literals", "{\"a\":[true,false,null]}", OK, "{\"a\":[true,false,null]}"),
	C("whitespace", " \t\r\n{ \"a\" :\t[ 1 , \"x\" ] ,\"b\":{ } } \r\n\t", OK,
	  "{\"a\":[1,\"x\"],\"b\":{}}"),
	C("empty", "{}", OK, "{}"),
	C("empty key", "{\"\":\"\"}", OK, "{\"\":\"\"}"),
	C("depth 32",
	  "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", OK, NULL),
	C("depth 32 scalar",
	  "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", OK, NULL),

	/* invalid UTF-8, class by class */
	C("stray continuation", "{\"a\":\"x\x80\"}", NOT_JSON, "invalid UTF-8 in a string at byte 8"),
	C("overlong 2 c0", "{\"a\":\"\xc0\x80\"}", NOT_JSON, "invalid UTF-8 in a string at byte 7"),
	C("overlong 2 c1", "{\"a\":\"\xc1\xbf\"}", NOT_JSON, "invalid UTF-8 in a string at byte 7"),
	C("overlong 3", "{\"a\":\"\xe0\x9f\xbf\"}", NOT_JSON, "invalid UTF-8 in a string at byte 8"),
	C("overlong 4", "{\"a\":\"\xf0\x8f\xbf\xbf\"}", NOT_JSON, "invalid UTF-8 in a string at byte 8"),
	C("surrogate d800", "{\"a\":\"\xed\xa0\x80\"}", NOT_JSON, "invalid UTF-8 in a string at byte 8"),
	C("surrogate dfff", "{\"a\":\"\xed\xbf\xbf\"}", NOT_JSON, "invalid UTF-8 in a string at byte 8"),
	C("above 10ffff", "{\"a\":\"\xf4\x90\x80\x80\"}", NOT_JSON, "invalid UTF-8 in a string at byte 8"),
	C("lead f5", "{\"a\":\"\xf5\x80\x80\x80\"}", NOT_JSON, "invalid UTF-8 in a string at byte 7"),
	C("byte ff", "{\"a\":\"\xff\xfe\"}", NOT_JSON, "invalid UTF-8 in a string at byte 7"),
	C("cut by quote", "{\"a\":\"\xe5\xbc\"}", NOT_JSON, "invalid UTF-8 in a string at byte 9"),
	C("cut by ascii", "{\"a\":\"\xf0\x9f\x98x\"}", NOT_JSON, "invalid UTF-8 in a string at byte 10"),
	C("cut by end", "{\"a\":\"\xe5\xbc", TRUNCATED, "the JSON value ends early (after 8 bytes)"),
	C("utf8 outside string", "{\"a\":\xe5\xbc\xa0}", NOT_JSON, "unexpected byte 0xe5 at byte 6"),
	C("nbsp as space", "{\xc2\xa0}", NOT_JSON, "unexpected byte 0xc2 where an object key should be at byte 2"),
	C("bom", "\xef\xbb\xbf{}", NOT_JSON, "unexpected byte 0xef at byte 1"),

	/* control characters */
	C("raw newline", "{\"a\":\"x\ny\"}", NOT_JSON, "control character 0x0a in a string at byte 8"),
	C("raw tab", "{\"a\":\"\t\"}", NOT_JSON, "control character 0x09 in a string at byte 7"),
	C("raw nul", "{\"a\":\"\0\"}", NOT_JSON, "control character 0x00 in a string at byte 7"),
	C("raw 1f in key", "{\"\x1f\":1}", NOT_JSON, "control character 0x1f in a string at byte 3"),
	C("form feed as space", "{\f}", NOT_JSON, "unexpected byte 0x0c where an object key should be at byte 2"),
	C("nul outside", "{}\0", NOT_JSON, "unexpected byte 0x00 after the JSON value at byte 3"),

	/* escapes and surrogates */
	C("lone high", "{\"a\":\"\\ud800\"}", NOT_JSON, "unpaired surrogate in a \\u escape at byte 13"),
	C("lone high then char", "{\"a\":\"\\ud800x\"}", NOT_JSON, "unpaired surrogate in a \\u escape at byte 13"),
	C("high then escape", "{\"a\":\"\\ud800\\n\"}", NOT_JSON, "unpaired surrogate in a \\u escape at byte 14"),
	C("high then bmp", "{\"a\":\"\\ud800\\u0041\"}", NOT_JSON, "unpaired surrogate in a \\u escape at byte 18"),
	C("high then high", "{\"a\":\"\\udbff\\udbff\"}", NOT_JSON, "unpaired surrogate in a \\u escape at byte 18"),
	C("lone low", "{\"a\":\"\\udc00\"}", NOT_JSON, "unpaired surrogate in a \\u escape at byte 12"),
	C("lone high in key", "{\"\\ud83d\":1}", NOT_JSON, "unpaired surrogate in a \\u escape at byte 9"),
	C("bad escape", "{\"a\":\"\\x\"}", NOT_JSON, "unexpected character 'x' after a backslash at byte 8"),
	C("upper U", "{\"a\":\"\\U0041\"}", NOT_JSON, "unexpected character 'U' after a backslash at byte 8"),
	C("short hex", "{\"a\":\"\\u12G4\"}", NOT_JSON, "unexpected character 'G' in a \\u escape at byte 11"),
	C("escaped quote then end", "{\"a\":\"\\\"}", TRUNCATED, "the JSON value ends early (after 9 bytes)"),

	/* lenient syntax that json-c takes outside strict mode */
	C("block comment", "{/* c */}", NOT_JSON, "unexpected character '/' where an object key should be at byte 2"),
	C("line comment after", "{}// c", NOT_JSON, "unexpected character '/' after the JSON value at byte 3"),
	C("comment in array", "{\"a\":[/**/1]}", NOT_JSON, "unexpected character '/' at byte 7"),
	C("trailing comma array", "{\"a\":[1,]}", NOT_JSON, "unexpected character ']' at byte 9"),
	C("trailing comma object", "{\"a\":1,}", NOT_JSON, "unexpected character '}' where an object key should be at byte 8"),
	C("single quoted value", "{\"a\":'x'}", NOT_JSON, "unexpected character \"'\" at byte 6"),
	C("single quoted key", "{'a':1}", NOT_JSON, "unexpected character \"'\" where an object key should be at byte 2"),
	C("unquoted key", "{a:1}", NOT_JSON, "unexpected character 'a' where an object key should be at byte 2"),
	C("NaN", "{\"a\":NaN}", NOT_JSON, "unexpected character 'N' at byte 6"),
	C("Infinity", "{\"a\":Infinity}", NOT_JSON, "unexpected character 'I' at byte 6"),
	C("minus Infinity", "{\"a\":-Infinity}", NOT_JSON, "unexpected character 'I' in a number at byte 7"),
	C("True", "{\"a\":True}", NOT_JSON, "unexpected character 'T' at byte 6"),
	C("nul literal", "{\"a\":nul}", NOT_JSON, "unexpected character '}' at byte 9"),
	C("literal then letter", "{\"a\":truex}", NOT_JSON, "unexpected character 'x' at byte 10"),

	/* numbers outside the RFC grammar */
	C("leading zero", "{\"a\":01}", NOT_JSON, "number with a leading zero at byte 7"),
	C("negative leading zero", "{\"a\":-00}", NOT_JSON, "number with a leading zero at byte 8"),
	C("plus", "{\"a\":+1}", NOT_JSON, "unexpected character '+' at byte 6"),
	C("bare dot", "{\"a\":.5}", NOT_JSON, "unexpected character '.' at byte 6"),
	C("dot end", "{\"a\":1.}", NOT_JSON, "unexpected character '}' in a number at byte 8"),
	C("dot exponent", "{\"a\":1.e5}", NOT_JSON, "unexpected character 'e' in a number at byte 8"),
	C("empty exponent", "{\"a\":1e}", NOT_JSON, "unexpected character '}' in a number at byte 8"),
	C("signed empty exponent", "{\"a\":1e+}", NOT_JSON, "unexpected character '}' in a number at byte 9"),
	C("bare minus", "{\"a\":-}", NOT_JSON, "unexpected character '}' in a number at byte 7"),
	C("hex", "{\"a\":0x1F}", NOT_JSON, "unexpected character 'x' at byte 7"),
	C("two dots", "{\"a\":1.2.3}", NOT_JSON, "unexpected character '.' at byte 9"),
	C("minus after number", "{\"a\":1-3}", NOT_JSON, "unexpected character '-' at byte 7"),

	/* structure */
	C("missing colon", "{\"a\" 1}", NOT_JSON, "unexpected character '1' after an object key at byte 6"),
	C("missing comma", "{\"a\":1 \"b\":2}", NOT_JSON, "unexpected character '\"' at byte 8"),
	C("mismatched", "{\"a\":[1}", NOT_JSON, "unexpected character '}' at byte 8"),
	C("key not string", "{1:2}", NOT_JSON, "unexpected character '1' where an object key should be at byte 2"),
	C("two values", "{}{}", NOT_JSON, "unexpected character '{' after the JSON value at byte 3"),
	C("depth 33",
	  "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", NOT_JSON,
	  "JSON nested deeper than 32 levels at byte 37"),
	C("depth 32 plus scalar",
	  "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", NOT_JSON,
	  "JSON nested deeper than 32 levels at byte 37"),

	/* integers json-c releases build differently: clamped, or refused */
	C("above uint64", "{\"u\":18446744073709551616}", NOT_JSON, "an integer beyond 64 bits at byte 6"),
	C("below int64", "{\"n\":-9223372036854775809}", NOT_JSON, "an integer beyond 64 bits at byte 6"),
	C("20 digits", "{\"a\":[1,19999999999999999999]}", NOT_JSON, "an integer beyond 64 bits at byte 9"),
	C("30 digits", "{\"a\":123456789012345678901234567890,\"b\":1}", NOT_JSON,
	  "an integer beyond 64 bits at byte 6"),
	C("30 digits negative", "{\"a\":-123456789012345678901234567890}", NOT_JSON,
	  "an integer beyond 64 bits at byte 6"),
	C("big integer at the top", "123456789012345678901234567890", NOT_JSON,
	  "an integer beyond 64 bits at byte 1"),
	C("big negative at the top", " -9223372036854775809 ", NOT_JSON,
	  "an integer beyond 64 bits at byte 2"),

	/* a NUL in a key: json-c would cut the key there */
	C("nul in key", "{\"errcode\":0,\"info_list\":[{\"name\\u0000evil\":\"injected\"}]}", NOT_JSON,
	  "\\u0000 in an object key at byte 38"),
	C("nul key", "{\"\\u0000\":1}", NOT_JSON, "\\u0000 in an object key at byte 8"),

	/* a key twice in one object: json-c would keep the last value only */
	C("duplicate errcode", "{\"errcode\":60020,\"errmsg\":\"not allow\",\"errcode\":0,\"info_list\":[]}",
	  NOT_JSON, "an object has a key twice"),
	C("duplicate info_list",
	  "{\"errcode\":0,\"info_list\":[{\"name\":\"row1\"},{\"name\":\"row2\"}],\"info_list\":[],\"next_cursor\":\"\"}",
	  NOT_JSON, "an object has a key twice"),
	C("duplicate in an item",
	  "{\"errcode\":0,\"info_list\":[{\"name\":\"row1\",\"name\":\"row2\"}],\"next_cursor\":\"\"}",
	  NOT_JSON, "an object has a key twice"),
	C("duplicate escaped", "{\"a\":1,\"\\u0061\":2}", NOT_JSON, "an object has a key twice"),
	C("duplicate escaped non-ascii", "{\"\xc3\xa9\":1,\"\\u00e9\":2}", NOT_JSON, "an object has a key twice"),
	C("duplicate empty key", "{\"\":1,\"\":2}", NOT_JSON, "an object has a key twice"),
	C("duplicate deep", "{\"a\":[[{\"x\":{\"k\":1,\"j\":[],\"k\":{}}}]]}", NOT_JSON,
	  "an object has a key twice"),
	C("duplicate three times", "{\"a\":{\"b\":1},\"a\":{\"c\":2},\"a\":null}", NOT_JSON,
	  "an object has a key twice"),

	/* bodies that end early, or are no object */
	C("empty body", "", TRUNCATED, "the response body is empty"),
	C("only whitespace", " \n", TRUNCATED, "the JSON value ends early (after 2 bytes)"),
	C("unclosed object", "{\"a\":1", TRUNCATED, "the JSON value ends early (after 6 bytes)"),
	C("unclosed string", "{\"a\":\"x", TRUNCATED, "the JSON value ends early (after 7 bytes)"),
	C("cut in literal", "{\"a\":tr", TRUNCATED, "the JSON value ends early (after 7 bytes)"),
	C("cut after minus", "-", TRUNCATED, "the JSON value ends early (after 1 bytes)"),
	C("cut in exponent", "1e", TRUNCATED, "the JSON value ends early (after 2 bytes)"),
	C("null", "null", NOT_OBJECT, "the JSON value is null, not an object"),
	C("array", "[1,2,3]", NOT_OBJECT, "the JSON value is not an object"),
	C("number", " 123 ", NOT_OBJECT, "the JSON value is not an object"),
	C("number at end", "-0.5e3", NOT_OBJECT, "the JSON value is not an object"),
	C("string", "\"s\"", NOT_OBJECT, "the JSON value is not an object"),
	C("number then letter", "-3I", NOT_JSON, "unexpected character 'I' after the JSON value at byte 3"),
	C("html", "<html>", NOT_JSON, "unexpected character '<' at byte 1"),
};

/* The verdict of every committed fuzz input. */
static const struct
{
	const char *file;
	ClfResponseError error;
} regressions[] = {
	{"bad-escape.json", NOT_JSON},
	{"bare-number-then-letter.json", NOT_JSON},
	{"bare-number.json", NOT_OBJECT},
	{"big-numbers.json", NOT_JSON},
	{"bom.json", NOT_JSON},
	{"busy.json", OK},
	{"capital-true.json", NOT_JSON},
	{"cjk-names.json", OK},
	{"comment.json", NOT_JSON},
	{"control-char.json", NOT_JSON},
	{"cursor-number.json", OK},
	{"cursor-nul.json", OK},
	{"deep-nesting.json", NOT_JSON},
	{"duplicate-escaped-key.json", NOT_JSON},
	{"duplicate-keys.json", NOT_JSON},
	{"emoji-4byte.json", OK},
	{"errcode-double.json", OK},
	{"errcode-huge.json", NOT_JSON},
	{"exponent-empty.json", NOT_JSON},
	{"hex-number.json", NOT_JSON},
	{"infinity.json", NOT_JSON},
	{"integer-64-ends.json", OK},
	{"integer-beyond-64.json", NOT_JSON},
	{"item-not-object.json", OK},
	{"leading-zero.json", NOT_JSON},
	{"lenient-syntax.json", NOT_JSON},
	{"line-comment.json", NOT_JSON},
	{"lone-high-escape.json", NOT_JSON},
	{"lone-low-escape.json", NOT_JSON},
	{"lone-surrogate.json", NOT_JSON},
	{"minus-after-cjk-split.json", TRUNCATED},
	{"nan.json", NOT_JSON},
	{"nul-escape.json", OK},
	{"nul-in-key.json", NOT_JSON},
	{"number-dot-end.json", NOT_JSON},
	{"number-split-before-minus.json", NOT_JSON},
	{"only-ws.json", TRUNCATED},
	{"plus-number.json", NOT_JSON},
	{"raw-nul.json", NOT_JSON},
	{"single-quotes.json", NOT_JSON},
	{"slash-after-value.json", NOT_JSON},
	{"surrogate-pair-escape.json", OK},
	{"token-empty.json", OK},
	{"token-negative-expiry.json", OK},
	{"token-nul.json", OK},
	{"trailing-comma-object.json", NOT_JSON},
	{"trailing-comma.json", NOT_JSON},
	{"trailing-ws.json", OK},
	{"two-values.json", NOT_JSON},
	{"utf8-above-max.json", NOT_JSON},
	{"utf8-bad-lead.json", NOT_JSON},
	{"utf8-cut-at-end.json", TRUNCATED},
	{"utf8-cut.json", NOT_JSON},
	{"utf8-edges.json", OK},
	{"utf8-overlong-4.json", NOT_JSON},
	{"utf8-overlong.json", NOT_JSON},
	{"utf8-split-in-name-object.json", OK},
	{"utf8-stray-continuation.json", NOT_JSON},
	{"utf8-surrogate.json", NOT_JSON},
	{"utf8-truncated-seq.json", NOT_JSON},
	{"very-deep.json", NOT_JSON},
};

/*
 * Bodies that parse, and what clf_response_check_page() makes of them: the
 * next cursor (NULL: the chain ends), or the message of a page refused.
 */
typedef struct PageCase
{
	const char *name;
	const char *body;
	size_t		len;
	bool		ok;
	const char *expect;
} PageCase;

#define P(name, body, ok, expect) {name, body, sizeof(body) - 1, ok, expect}

static const PageCase page_cases[] = {
	P("cursor", "{\"errcode\":0,\"info_list\":[{}],\"next_cursor\":\"page2\"}", true, "page2"),
	P("empty cursor", "{\"errcode\":0,\"info_list\":[],\"next_cursor\":\"\"}", true, NULL),
	P("no cursor", "{\"errcode\":0,\"info_list\":[]}", true, NULL),
	P("null cursor", "{\"errcode\":0,\"info_list\":[],\"next_cursor\":null}", true, NULL),
	/* cut at the NUL, the cursor would name another page, or the first */
	P("cursor with nul", "{\"errcode\":0,\"info_list\":[{\"name\":\"a\\u0000b\"}],\"next_cursor\":\"page2\\u0000junk\"}",
	  false, "\"next_cursor\" contains a NUL character"),
	P("cursor nul alone", "{\"errcode\":0,\"info_list\":[],\"next_cursor\":\"\\u0000\"}",
	  false, "\"next_cursor\" contains a NUL character"),
	P("cursor not a string", "{\"errcode\":0,\"info_list\":[],\"next_cursor\":7}",
	  false, "\"next_cursor\" is not a string"),
};

static int	failures;
static int	checks;
static int	ncases_run;

/* The outcome of one way of feeding a body, as text to compare. */
static void
run(ClfResponse *resp, const char *body, size_t len, size_t cut, bool bytewise,
	ClfResponseError *error, char *text, size_t textlen)
{
	bool		ok = true;

	clf_response_reset(resp);
	if (bytewise)
		for (size_t i = 0; i < len && ok; i++)
			ok = clf_response_feed(resp, body + i, 1);
	else
	{
		if (cut > 0)
			ok = clf_response_feed(resp, body, cut);
		if (ok && len > cut)
			ok = clf_response_feed(resp, body + cut, len - cut);
	}
	if (ok)
		ok = clf_response_finish(resp);
	*error = resp->error;
	if (resp->tokener_disagreed)
	{
		printf("json-c disagreed with the check: %s\n", resp->message);
		failures++;
	}
	if (ok)
		snprintf(text, textlen, "%s",
				 json_object_to_json_string_ext(resp->root, JSON_C_TO_STRING_PLAIN |
												JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		snprintf(text, textlen, "%s", resp->message);
}

static void
check_case(ClfResponse *resp, const char *name, const char *body, size_t len,
		   ClfResponseError want, const char *expect)
{
	static char whole[1 << 16];
	static char other[1 << 16];
	ClfResponseError error;

	ncases_run++;
	run(resp, body, len, 0, false, &error, whole, sizeof(whole));
	checks++;
	if (error != want || (expect && strcmp(whole, expect) != 0))
	{
		printf("FAIL %s: whole body gives error %d \"%s\", expected %d \"%s\"\n",
			   name, (int) error, whole, (int) want, expect ? expect : "(any)");
		failures++;
		return;
	}
	/* every cut in two, then one byte at a time (cut == len) */
	for (size_t cut = 1; cut <= len; cut++)
	{
		run(resp, body, len, cut, cut == len, &error, other, sizeof(other));
		checks++;
		if (error != want || strcmp(whole, other) != 0)
		{
			printf("FAIL %s: %s gives error %d \"%s\", whole body %d \"%s\"\n",
				   name, cut == len ? "byte by byte" : "a cut", (int) error, other,
				   (int) want, whole);
			if (cut < len)
				printf("     cut after byte %zu\n", cut);
			failures++;
			return;
		}
	}
}

static void
check_regressions(ClfResponse *resp, const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	size_t		nknown = sizeof(regressions) / sizeof(regressions[0]);

	if (d == NULL)
	{
		perror(dir);
		failures++;
		return;
	}
	while ((e = readdir(d)) != NULL)
	{
		char		path[4096];
		static char body[1 << 20];
		size_t		len;
		FILE	   *f;
		size_t		k;

		if (e->d_name[0] == '.')
			continue;
		for (k = 0; k < nknown; k++)
			if (strcmp(regressions[k].file, e->d_name) == 0)
				break;
		if (k == nknown)
		{
			printf("FAIL regressions/%s has no verdict in parser_cases.c\n", e->d_name);
			failures++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
		{
			perror(path);
			failures++;
			continue;
		}
		len = fread(body, 1, sizeof(body), f);
		fclose(f);
		check_case(resp, e->d_name, body, len, regressions[k].error, NULL);
	}
	closedir(d);
}

/*
 * A body cut inside a surrogate pair, then another through the same
 * ClfResponse: json_tokener_reset() alone would carry the half pair over.
 */
static void
check_no_carry_over(ClfResponse *resp)
{
	static const char cut[] = "{\"a\":\"\\ud83d";
	static const char next[] = "{\"t\":\"x\\u0000y\"}";
	const char *text;

	clf_response_reset(resp);
	ncases_run++;
	checks++;
	if (!clf_response_feed(resp, cut, sizeof(cut) - 1) || clf_response_finish(resp))
	{
		printf("FAIL carry-over: the cut body was not refused as truncated\n");
		failures++;
		return;
	}
	clf_response_reset(resp);
	if (!clf_response_feed(resp, next, sizeof(next) - 1) || !clf_response_finish(resp))
	{
		printf("FAIL carry-over: the next body was refused: %s\n", resp->message);
		failures++;
		return;
	}
	text = json_object_to_json_string_ext(resp->root, JSON_C_TO_STRING_PLAIN);
	if (strcmp(text, "{\"t\":\"x\\u0000y\"}") != 0)
	{
		printf("FAIL carry-over: the next body reads %s\n", text);
		failures++;
	}
}

static void
check_page_cases(ClfResponse *resp)
{
	for (size_t i = 0; i < sizeof(page_cases) / sizeof(page_cases[0]); i++)
	{
		const PageCase *c = &page_cases[i];
		bool		ok;
		const char *got;

		clf_response_reset(resp);
		ncases_run++;
		checks++;
		if (!clf_response_feed(resp, c->body, c->len) || !clf_response_finish(resp) ||
			!clf_response_check_status(resp))
		{
			printf("FAIL page %s: refused before the page check: %s\n", c->name, resp->message);
			failures++;
			continue;
		}
		ok = clf_response_check_page(resp);
		got = ok ? resp->next_cursor : resp->message;
		if (ok != c->ok || (ok && resp->error != CLF_RESP_OK) ||
			(!ok && resp->error != CLF_RESP_BAD_SHAPE) ||
			(got == NULL) != (c->expect == NULL) ||
			(got != NULL && strcmp(got, c->expect) != 0))
		{
			printf("FAIL page %s: %s \"%s\", expected %s \"%s\"\n", c->name,
				   ok ? "accepted with cursor" : "refused", got ? got : "(none)",
				   c->ok ? "accepted with cursor" : "refused", c->expect ? c->expect : "(none)");
			failures++;
		}
	}
}

/*
 * errcode at the ends of a 64-bit integer: read as sent, or refused, never
 * read as another number (json-c gives 2^63 and above as 2^63-1).
 */
static void
check_status_cases(ClfResponse *resp)
{
	static const struct
	{
		const char *body;
		bool		ok;
		int64_t		errcode;
	}			status_cases[] = {
		{"{\"errcode\":9223372036854775807,\"errmsg\":\"x\"}", true, INT64_MAX},
		{"{\"errcode\":-9223372036854775808,\"errmsg\":\"x\"}", true, INT64_MIN},
		{"{\"errcode\":9223372036854775808,\"errmsg\":\"x\"}", false, 0},
		{"{\"errcode\":18446744073709551615,\"errmsg\":\"x\"}", false, 0},
	};

	for (size_t i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++)
	{
		bool		ok;

		clf_response_reset(resp);
		ncases_run++;
		checks++;
		ok = clf_response_feed(resp, status_cases[i].body, strlen(status_cases[i].body)) &&
			clf_response_finish(resp) && clf_response_check_status(resp);
		if (ok != status_cases[i].ok || (ok && resp->errcode != status_cases[i].errcode) ||
			(!ok && strcmp(resp->message, "\"errcode\" is out of range") != 0))
		{
			printf("FAIL status %s: %s, errcode %lld: %s\n", status_cases[i].body,
				   ok ? "accepted" : "refused", (long long) resp->errcode, resp->message);
			failures++;
		}
	}
}

int
main(int argc, char **argv)
{
	ClfResponse resp;
	size_t		ncases = sizeof(cases) / sizeof(cases[0]);

	clf_response_init(&resp, 1 << 20);
	for (size_t i = 0; i < ncases; i++)
		check_case(&resp, cases[i].name, cases[i].body, cases[i].len, cases[i].error,
				   cases[i].expect);
	check_no_carry_over(&resp);
	check_page_cases(&resp);
	check_status_cases(&resp);
	if (argc > 1)
		check_regressions(&resp, argv[1]);
	clf_response_release(&resp);

	printf("json-c %s: %d bodies, each whole, cut at every byte and byte by byte: %d feeds\n",
		   json_c_version(), ncases_run, checks);
	printf("%d passed, %d failed\n", ncases_run - failures, failures);
	return failures == 0 ? 0 : 1;
}
