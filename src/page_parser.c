/*-------------------------------------------------------------------------
 *
 * page_parser.c
 *		  Incremental parsing and shape checks of one WeCom API response.
 *
 * The body is checked and fed to json-c's tokener as libcurl delivers it,
 * so a page is parsed while it is still arriving and a body that cannot be
 * a valid response is refused at its first bad byte instead of after a
 * download.
 *
 *-------------------------------------------------------------------------
 */
#include "page_parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static bool
fail(ClfResponse *resp, ClfResponseError error, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

static bool
fail(ClfResponse *resp, ClfResponseError error, const char *fmt,...)
{
	va_list		args;

	resp->error = error;
	va_start(args, fmt);
	vsnprintf(resp->message, sizeof(resp->message), fmt, args);
	va_end(args);
	return false;
}

void
clf_response_init(ClfResponse *resp, size_t max_bytes)
{
	memset(resp, 0, sizeof(*resp));
	resp->max_bytes = max_bytes;
}

/* Drop the parsed value and get ready for the next body. */
void
clf_response_reset(ClfResponse *resp)
{
	if (resp->root)
		json_object_put(resp->root);
	/*
	 * json_tokener_reset() leaves the state of a \u escape behind (up to
	 * json-c 0.19 at least): a body cut after a high surrogate would put
	 * U+FFFD into the next one.  A tokener that stopped inside a value is
	 * replaced; one that finished its value has none pending.
	 */
	if (resp->tok && !resp->complete)
	{
		json_tokener_free(resp->tok);
		resp->tok = NULL;
	}
	else if (resp->tok)
		json_tokener_reset(resp->tok);
	resp->root = NULL;
	resp->bytes = 0;
	resp->complete = false;
	resp->error = CLF_RESP_OK;
	resp->message[0] = '\0';
	memset(&resp->check, 0, sizeof(resp->check));
	resp->tokener_disagreed = false;
	resp->errcode = 0;
	resp->errmsg = "";
	resp->info_list = NULL;
	resp->nitems = 0;
	resp->next_cursor = NULL;
	resp->access_token = NULL;
	resp->expires_in = 0;
}

void
clf_response_release(ClfResponse *resp)
{
	clf_response_reset(resp);
	if (resp->tok)
		json_tokener_free(resp->tok);
	resp->tok = NULL;
}

/*
 * The strict-JSON check.
 *
 * json-c's own strict mode cannot be trusted across releases: 0.18 and 0.19
 * refuse every byte >= 0x80 in a string under JSON_TOKENER_STRICT (json-c
 * issues #875 and #892), 0.16 lets NaN, Infinity and single-quoted keys
 * through it, 0.18 turns integers beyond 64 bits from clamped values into
 * errors, and JSON_TOKENER_VALIDATE_UTF8 misreads a character split between
 * two pieces.
 * So every byte is checked here against RFC 8259, in the same feed call and
 * before json-c sees it, and json-c, with no flags, only builds the values
 * of what passed.  The check is a byte-driven state machine whose whole
 * state is in ClfJsonCheck, so where the body is split cannot change its
 * verdict, its error or the byte it names.
 *
 * Choices beyond the RFC's grammar:
 * - a \u escape of a lone surrogate ("\ud800" not followed by a low one, or
 *	 a low one alone) is refused: json-c would put U+FFFD in its place, so
 *	 the text stored would not be the text sent, and PostgreSQL's jsonb
 *	 refuses such escapes too;
 * - a byte order mark is refused, as the RFC allows and as the parser did
 *	 before;
 * - nesting deeper than CLF_JSON_MAX_DEPTH is refused, as json-c did.
 */
enum
{
	JV_VALUE,					/* a value: at the top, after ':' or after ','
								 * in an array */
	JV_VALUE_OR_END,			/* a value or ']', just after '[' */
	JV_KEY_OR_END,				/* a key or '}', just after '{' */
	JV_KEY,						/* a key, after ',' in an object */
	JV_COLON,
	JV_AFTER_VALUE,				/* ',' or the end of the container */
	JV_DONE,					/* the value is complete: whitespace only */
	JV_STRING,
	JV_ESCAPE,					/* after a backslash */
	JV_HEX,						/* in the digits of \uXXXX */
	JV_LOW_BACKSLASH,			/* a high surrogate needs "\u" and a low one */
	JV_LOW_U,
	JV_UTF8,					/* inside a multi-byte character */
	JV_LITERAL,					/* inside true, false or null */
	JV_MINUS,					/* number states, after: '-' */
	JV_ZERO,					/* a leading '0' */
	JV_INT,						/* a digit of the integer part */
	JV_DOT,						/* '.' */
	JV_FRAC,					/* a digit of the fraction */
	JV_EXP_MARK,				/* 'e' or 'E' */
	JV_EXP_SIGN,				/* the exponent's sign */
	JV_EXP						/* a digit of the exponent */
};

/*
 * Bytes a string may hold as they are: printable ASCII but '"' and '\\'.
 * The hot path skips runs of them with one table look-up per byte.
 */
static const bool plain_string_byte[256] = {
	[0x20] = true, [0x21] = true, [0x23 ... 0x5B] = true, [0x5D ... 0x7E] = true,
	[0x7F] = true
};

/* Bytes in a UTF-8 sequence that lead byte starts, or 0 if it starts none. */
static const uint8_t utf8_length[256] = {
	[0xC2 ... 0xDF] = 2, [0xE0 ... 0xEF] = 3, [0xF0 ... 0xF4] = 4
};

/*
 * The range of the byte after lead byte c (Unicode's table 3-7): narrower
 * than 0x80..0xBF after the leads that could start an overlong form, a
 * surrogate (0xED 0xA0..) or a code point above U+10FFFF.
 */
static inline void
utf8_second_range(unsigned char c, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c == 0xE0)
		*lo = 0xA0;
	else if (c == 0xED)
		*hi = 0x9F;
	else if (c == 0xF0)
		*lo = 0x90;
	else if (c == 0xF4)
		*hi = 0x8F;
}

/*
 * The first byte of p[0..7] that a string may not hold as it is (see
 * plain_string_byte), or 8: eight bytes tested at once, word-wise.  The
 * zero-byte test of each lane can also flag lanes above a true hit, never
 * below it, so the lowest flag is exact.
 */
static inline int
first_special_of_8(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t	x;
	uint64_t	hit;

	memcpy(&x, p, 8);
	hit = x | ((x - ones * 0x20) & ~x);	/* >= 0x80, or < 0x20 */
	hit |= ((x ^ (ones * '"')) - ones) & ~(x ^ (ones * '"'));
	hit |= ((x ^ (ones * '\\')) - ones) & ~(x ^ (ones * '\\'));
	hit &= highs;
	return hit ? __builtin_ctzll(hit) >> 3 : 8;
#else
	for (int i = 0; i < 8; i++)
		if (!plain_string_byte[p[i]])
			return i;
	return 8;
#endif
}

static inline bool
is_json_whitespace(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An unexpected byte, named so a reader can find it; pos counts from 1. */
static bool
fail_unexpected(ClfResponse *resp, unsigned char c, size_t pos, const char *where)
{
	if (c == '\'')
		return fail(resp, CLF_RESP_NOT_JSON, "unexpected character \"'\"%s at byte %zu",
					where, pos);
	if (c > 0x20 && c < 0x7F)
		return fail(resp, CLF_RESP_NOT_JSON, "unexpected character '%c'%s at byte %zu",
					c, where, pos);
	return fail(resp, CLF_RESP_NOT_JSON, "unexpected byte 0x%02x%s at byte %zu",
				c, where, pos);
}

/*
 * Check len more bytes of the body, which start at byte offset base.
 * Returns false, with the error set, at the first byte that cannot be part
 * of a strict JSON text.  *value_len is set to how many of the bytes belong
 * to the top-level value: len, unless it ends within them.
 */
static bool
check_bytes(ClfResponse *resp, const unsigned char *data, size_t len,
			size_t base, size_t *value_len)
{
	ClfJsonCheck *st = &resp->check;
	const unsigned char *p = data;
	const unsigned char *end = data + len;

	/* in locals, not behind st, which fail() could alias */
	int			state = st->state;
	int			depth = st->depth;

	*value_len = len;
	if (state == JV_DONE)
		*value_len = 0;

#define POS(ptr) (base + (size_t) ((ptr) - data) + 1)
	/* a value has just ended: what may follow it */
#define END_VALUE() (state = depth == 0 ? JV_DONE : JV_AFTER_VALUE)

	while (p < end)
	{
		unsigned char c = *p;

		switch (state)
		{
			case JV_STRING:
				/* the hot path: most of a page is string content */
				for (;;)
				{
					int			n;

					while (end - p >= 8)
					{
						int			k = first_special_of_8(p);

						p += k;
						if (k < 8)
							break;
					}
					while (p < end && plain_string_byte[*p])
						p++;
					if (p == end)
						break;
					c = *p;
					if (c == '"')
					{
						p++;
						/* the usual next byte, without a trip round the switch */
						if (st->in_key)
						{
							state = JV_COLON;
							if (p < end && *p == ':')
							{
								state = JV_VALUE;
								p++;
							}
						}
						else
						{
							END_VALUE();
							if (state == JV_DONE)
								*value_len = p - data;
							else if (p < end && *p == ',')
							{
								state = (st->objects >> (depth - 1)) & 1 ? JV_KEY : JV_VALUE;
								p++;
							}
						}
						break;
					}
					if (c == '\\')
					{
						p++;
						state = JV_ESCAPE;
						break;
					}
					if (c < 0x20)
						return fail(resp, CLF_RESP_NOT_JSON,
									"control character 0x%02x in a string at byte %zu",
									c, POS(p));
					n = utf8_length[c];
					if (n == 0)
						return fail(resp, CLF_RESP_NOT_JSON,
									"invalid UTF-8 in a string at byte %zu", POS(p));
					utf8_second_range(c, &st->utf8_lo, &st->utf8_hi);
					if (end - p >= n)
					{
						/* the whole character is here */
						if (p[1] < st->utf8_lo || p[1] > st->utf8_hi)
							return fail(resp, CLF_RESP_NOT_JSON,
										"invalid UTF-8 in a string at byte %zu", POS(p + 1));
						for (int i = 2; i < n; i++)
							if ((p[i] & 0xC0) != 0x80)
								return fail(resp, CLF_RESP_NOT_JSON,
											"invalid UTF-8 in a string at byte %zu",
											POS(p + i));
						p += n;
						continue;
					}
					/* the piece ends inside the character */
					st->utf8_need = n - 1;
					state = JV_UTF8;
					p++;
					break;
				}
				continue;

			case JV_UTF8:
				if (c < st->utf8_lo || c > st->utf8_hi)
					return fail(resp, CLF_RESP_NOT_JSON,
								"invalid UTF-8 in a string at byte %zu", POS(p));
				st->utf8_lo = 0x80;
				st->utf8_hi = 0xBF;
				if (--st->utf8_need == 0)
					state = JV_STRING;
				p++;
				continue;

			case JV_ESCAPE:
				switch (c)
				{
					case '"':
					case '\\':
					case '/':
					case 'b':
					case 'f':
					case 'n':
					case 'r':
					case 't':
						state = JV_STRING;
						break;
					case 'u':
						state = JV_HEX;
						st->nhex = 0;
						st->hex = 0;
						break;
					default:
						return fail_unexpected(resp, c, POS(p), " after a backslash");
				}
				p++;
				continue;

			case JV_HEX:
				{
					int			v = hex_value(c);

					if (v < 0)
						return fail_unexpected(resp, c, POS(p), " in a \\u escape");
					st->hex = (uint16_t) ((st->hex << 4) | v);
					p++;
					if (++st->nhex < 4)
						continue;
					if (st->hex >= 0xDC00 && st->hex <= 0xDFFF)
					{
						if (!st->want_low)
							return fail(resp, CLF_RESP_NOT_JSON,
										"unpaired surrogate in a \\u escape at byte %zu",
										POS(p - 1));
						st->want_low = false;
						state = JV_STRING;
					}
					else if (st->want_low)
						return fail(resp, CLF_RESP_NOT_JSON,
									"unpaired surrogate in a \\u escape at byte %zu", POS(p - 1));
					else if (st->hex >= 0xD800 && st->hex <= 0xDBFF)
					{
						st->want_low = true;
						state = JV_LOW_BACKSLASH;
					}
					else
						state = JV_STRING;
					continue;
				}

			case JV_LOW_BACKSLASH:
				if (c != '\\')
					return fail(resp, CLF_RESP_NOT_JSON,
								"unpaired surrogate in a \\u escape at byte %zu", POS(p));
				state = JV_LOW_U;
				p++;
				continue;

			case JV_LOW_U:
				if (c != 'u')
					return fail(resp, CLF_RESP_NOT_JSON,
								"unpaired surrogate in a \\u escape at byte %zu", POS(p));
				state = JV_HEX;
				st->nhex = 0;
				st->hex = 0;
				p++;
				continue;

			case JV_LITERAL:
				if (c != (unsigned char) *st->literal)
					return fail_unexpected(resp, c, POS(p), "");
				p++;
				if (*++st->literal == '\0')
				{
					END_VALUE();
					if (state == JV_DONE)
						*value_len = p - data;
				}
				continue;

			case JV_MINUS:
				if (c == '0')
					state = JV_ZERO;
				else if (c >= '1' && c <= '9')
					state = JV_INT;
				else
					return fail_unexpected(resp, c, POS(p), " in a number");
				p++;
				continue;

			case JV_DOT:
			case JV_EXP_SIGN:
				if (c < '0' || c > '9')
					return fail_unexpected(resp, c, POS(p), " in a number");
				state = state == JV_DOT ? JV_FRAC : JV_EXP;
				p++;
				continue;

			case JV_EXP_MARK:
				if (c == '+' || c == '-')
					state = JV_EXP_SIGN;
				else if (c >= '0' && c <= '9')
					state = JV_EXP;
				else
					return fail_unexpected(resp, c, POS(p), " in a number");
				p++;
				continue;

			case JV_ZERO:
			case JV_INT:
			case JV_FRAC:
			case JV_EXP:
				if (c >= '0' && c <= '9')
				{
					if (state == JV_ZERO)
						return fail(resp, CLF_RESP_NOT_JSON,
									"number with a leading zero at byte %zu", POS(p));
					do
						p++;
					while (p < end && *p >= '0' && *p <= '9');
					continue;
				}
				if (c == '.' && state <= JV_INT)
				{
					state = JV_DOT;
					p++;
					continue;
				}
				if ((c == 'e' || c == 'E') && state <= JV_FRAC)
				{
					state = JV_EXP_MARK;
					p++;
					continue;
				}
				/* the number ended before c: c is read again after it */
				END_VALUE();
				continue;

			case JV_DONE:
				if (!is_json_whitespace(c))
					return fail_unexpected(resp, c, POS(p), " after the JSON value");
				p++;
				continue;

			case JV_COLON:
				if (is_json_whitespace(c))
				{
					p++;
					continue;
				}
				if (c != ':')
					return fail_unexpected(resp, c, POS(p), " after an object key");
				state = JV_VALUE;
				p++;
				continue;

			case JV_KEY:
			case JV_KEY_OR_END:
				if (is_json_whitespace(c))
				{
					p++;
					continue;
				}
				if (c == '"')
				{
					st->in_key = true;
					state = JV_STRING;
					p++;
					continue;
				}
				if (c == '}' && state == JV_KEY_OR_END)
					break;		/* closed below */
				return fail_unexpected(resp, c, POS(p), " where an object key should be");

			case JV_AFTER_VALUE:
				if (is_json_whitespace(c))
				{
					p++;
					continue;
				}
				if (c == ',')
				{
					state = (st->objects >> (depth - 1)) & 1 ? JV_KEY : JV_VALUE;
					p++;
					continue;
				}
				if (c != ((st->objects >> (depth - 1)) & 1 ? '}' : ']'))
					return fail_unexpected(resp, c, POS(p), "");
				break;			/* closed below */

			case JV_VALUE:
			case JV_VALUE_OR_END:
				if (is_json_whitespace(c))
				{
					p++;
					continue;
				}
				if (c == ']' && state == JV_VALUE_OR_END)
					break;		/* closed below */
				if (depth >= CLF_JSON_MAX_DEPTH)
					return fail(resp, CLF_RESP_NOT_JSON,
								"JSON nested deeper than %d levels at byte %zu",
								CLF_JSON_MAX_DEPTH, POS(p));
				if (depth == 0)
					st->top = c;
				switch (c)
				{
					case '{':
						st->objects |= (uint32_t) 1 << depth;
						depth++;
						state = JV_KEY_OR_END;
						break;
					case '[':
						st->objects &= ~((uint32_t) 1 << depth);
						depth++;
						state = JV_VALUE_OR_END;
						break;
					case '"':
						st->in_key = false;
						state = JV_STRING;
						break;
					case 't':
						st->literal = "rue";
						state = JV_LITERAL;
						break;
					case 'f':
						st->literal = "alse";
						state = JV_LITERAL;
						break;
					case 'n':
						st->literal = "ull";
						state = JV_LITERAL;
						break;
					case '-':
						state = JV_MINUS;
						break;
					case '0':
						state = JV_ZERO;
						break;
					default:
						if (c >= '1' && c <= '9')
						{
							state = JV_INT;
							break;
						}
						return fail_unexpected(resp, c, POS(p), "");
				}
				p++;
				continue;
		}

		/* c closes the innermost container */
		depth--;
		p++;
		END_VALUE();
		if (state == JV_DONE)
			*value_len = p - data;
	}
	st->state = state;
	st->depth = depth;
#undef END_VALUE
#undef POS
	return true;
}

/*
 * Hand json-c the bytes of the top-level object that the check passed.  It
 * must take them all and end the object exactly where the check did.
 */
static bool
parse_bytes(ClfResponse *resp, const char *data, size_t len, bool value_ends)
{
	if (resp->tok == NULL)
	{
		/*
		 * Deeper than the check allows, so that json-c's own limit, counted
		 * its own way in each release, never decides.  No flags: the check
		 * has done what STRICT and VALIDATE_UTF8 would, which are what
		 * differs between releases.
		 */
		resp->tok = json_tokener_new_ex(2 * CLF_JSON_MAX_DEPTH);
		if (resp->tok == NULL)
			return fail(resp, CLF_RESP_NOT_JSON, "out of memory in the JSON parser");
		json_tokener_set_flags(resp->tok, 0);
	}

	/* json-c takes an int length: feed huge pieces in slices */
	while (len > 0)
	{
		int			slice = len > (1 << 30) ? (1 << 30) : (int) len;
		json_object *value;
		enum json_tokener_error jerr;

		value = json_tokener_parse_ex(resp->tok, data, slice);
		jerr = json_tokener_get_error(resp->tok);
		data += slice;
		len -= slice;
		if (jerr == json_tokener_continue && !(value_ends && len == 0))
			continue;
		if (jerr == json_tokener_success && value != NULL && value_ends && len == 0 &&
			json_tokener_get_parse_end(resp->tok) == (size_t) slice)
		{
			resp->root = value;
			resp->complete = true;
			return true;
		}
		if (value != NULL)
			json_object_put(value);
		resp->tokener_disagreed = true;
		return fail(resp, CLF_RESP_NOT_JSON, "the JSON parser failed on valid JSON (%s)",
					json_tokener_error_desc(jerr));
	}
	return true;
}

/*
 * Feed the next piece of the body.  Returns false once the body cannot be a
 * valid response; the caller should then stop the transfer.
 *
 * libcurl splits a body wherever the network did, often inside a CJK
 * character or an emoji; neither the check nor json-c (for valid JSON)
 * depends on where, so an unsplit body and the same body in any pieces give
 * the same result.  The fuzz target and test/fuzz/parser_cases.c check that.
 */
bool
clf_response_feed(ClfResponse *resp, const char *data, size_t len)
{
	size_t		base = resp->bytes;
	size_t		value_len;
	bool		was_done;

	if (resp->error != CLF_RESP_OK)
		return false;
	if (len > resp->max_bytes - resp->bytes || resp->bytes > resp->max_bytes)
	{
		resp->bytes += len;
		return fail(resp, CLF_RESP_TOO_LARGE, "response is larger than max_response_bytes");
	}
	resp->bytes += len;
	if (len == 0)
		return true;

	was_done = resp->check.state == JV_DONE;
	if (!check_bytes(resp, (const unsigned char *) data, len, base, &value_len))
		return false;

	/*
	 * Only an object is worth building: anything else is refused at the end
	 * of the body, which must still be checked to the end so that the error
	 * does not depend on the split.
	 */
	if (was_done || resp->check.top != '{')
		return true;
	return parse_bytes(resp, data, value_len, resp->check.state == JV_DONE);
}

/* The body has ended: did it hold one complete JSON object? */
bool
clf_response_finish(ClfResponse *resp)
{
	ClfJsonCheck *st = &resp->check;

	if (resp->error != CLF_RESP_OK)
		return false;
	if (resp->bytes == 0)
		return fail(resp, CLF_RESP_NOT_JSON, "the response body is empty");

	/* a top-level number ends only with the body */
	if (st->depth == 0 && (st->state == JV_ZERO || st->state == JV_INT ||
						   st->state == JV_FRAC || st->state == JV_EXP))
		st->state = JV_DONE;
	if (st->state != JV_DONE)
		return fail(resp, CLF_RESP_TRUNCATED, "the JSON value ends early (after %zu bytes)",
					resp->bytes);
	if (st->top == 'n')
		return fail(resp, CLF_RESP_NOT_OBJECT, "the JSON value is null, not an object");
	if (st->top != '{')
		return fail(resp, CLF_RESP_NOT_OBJECT, "the JSON value is not an object");
	if (!resp->complete)
	{
		resp->tokener_disagreed = true;
		return fail(resp, CLF_RESP_NOT_JSON, "the JSON parser did not finish a valid object");
	}
	return true;
}

/* Read errcode and errmsg, common to every WeCom response. */
bool
clf_response_check_status(ClfResponse *resp)
{
	json_object *value;

	resp->errcode = 0;
	resp->errmsg = "";
	if (json_object_object_get_ex(resp->root, "errcode", &value) && value != NULL)
	{
		if (!json_object_is_type(value, json_type_int))
			return fail(resp, CLF_RESP_BAD_SHAPE, "\"errcode\" is not an integer");
		resp->errcode = json_object_get_int64(value);
	}
	if (json_object_object_get_ex(resp->root, "errmsg", &value) && value != NULL &&
		json_object_is_type(value, json_type_string))
		resp->errmsg = json_object_get_string(value);
	return true;
}

/* A successful contact_list page: info_list of objects, optional next_cursor. */
bool
clf_response_check_page(ClfResponse *resp)
{
	json_object *list;
	json_object *cursor;

	if (!json_object_object_get_ex(resp->root, "info_list", &list) || list == NULL)
		return fail(resp, CLF_RESP_BAD_SHAPE, "the response has no \"info_list\"");
	if (!json_object_is_type(list, json_type_array))
		return fail(resp, CLF_RESP_BAD_SHAPE, "\"info_list\" is not an array");

	resp->info_list = list;
	resp->nitems = json_object_array_length(list);
	for (size_t i = 0; i < resp->nitems; i++)
	{
		if (!json_object_is_type(json_object_array_get_idx(list, i), json_type_object))
		{
			resp->info_list = NULL;
			resp->nitems = 0;
			return fail(resp, CLF_RESP_BAD_SHAPE, "item %zu of \"info_list\" is not an object", i + 1);
		}
	}

	resp->next_cursor = NULL;
	if (json_object_object_get_ex(resp->root, "next_cursor", &cursor) && cursor != NULL)
	{
		if (!json_object_is_type(cursor, json_type_string))
		{
			resp->info_list = NULL;
			resp->nitems = 0;
			return fail(resp, CLF_RESP_BAD_SHAPE, "\"next_cursor\" is not a string");
		}
		if (json_object_get_string_len(cursor) > 0)
			resp->next_cursor = json_object_get_string(cursor);
	}
	return true;
}

/* A successful gettoken response. */
bool
clf_response_check_token(ClfResponse *resp)
{
	json_object *value;

	if (!json_object_object_get_ex(resp->root, "access_token", &value) || value == NULL ||
		!json_object_is_type(value, json_type_string) ||
		json_object_get_string_len(value) == 0)
		return fail(resp, CLF_RESP_BAD_SHAPE, "the response has no \"access_token\" string");
	resp->access_token = json_object_get_string(value);
	if (strlen(resp->access_token) != (size_t) json_object_get_string_len(value))
		return fail(resp, CLF_RESP_BAD_SHAPE, "\"access_token\" contains a NUL character");

	resp->expires_in = 7200;
	if (json_object_object_get_ex(resp->root, "expires_in", &value) && value != NULL)
	{
		if (!json_object_is_type(value, json_type_int))
			return fail(resp, CLF_RESP_BAD_SHAPE, "\"expires_in\" is not an integer");
		resp->expires_in = json_object_get_int64(value);
	}
	return true;
}

struct json_object *
clf_response_item(const ClfResponse *resp, size_t index)
{
	if (resp->info_list == NULL || index >= resp->nitems)
		return NULL;
	return json_object_array_get_idx(resp->info_list, index);
}
