/*-------------------------------------------------------------------------
 *
 * json_validate.c
 *		  An incremental validator of strict JSON (RFC 8259) in UTF-8.
 *
 * The text arrives in pieces, split wherever the network split it (often
 * inside a CJK character or an emoji).  Each byte is checked once, as it
 * arrives, by a byte-driven state machine whose whole state is in
 * ClfJsonValidator, so where the text is split cannot change its verdict,
 * its message or the byte the message names.
 *
 * The machine is one small function per state (or per group of states that
 * read alike), and clf_json_validator_feed() a dispatch of one line per
 * state; each step reads as many bytes as it can decide alone and returns
 * where the next state starts.  The steps are inline, so the compiler still
 * builds one loop, as from the single switch this replaced (a table of
 * pointers to them cost 1 to 2% more of a whole parse on bodies dense with
 * short values).
 * Most of a real body is string content, so step_string() is the hot path:
 * it skips runs of plain bytes eight at a time and whole UTF-8 characters
 * without leaving the function.
 *
 * Choices beyond the RFC's grammar:
 * - a \u escape of a lone surrogate ("\ud800" not followed by a low one, or
 *	 a low one alone) is refused: json-c would put U+FFFD in its place, so
 *	 the text stored would not be the text sent, and PostgreSQL's jsonb
 *	 refuses such escapes too;
 * - a byte order mark is refused, as the RFC allows and as the parser did
 *	 before;
 * - nesting deeper than CLF_JSON_MAX_DEPTH is refused, as json-c did;
 * - an integer (no fraction, no exponent) outside [INT64_MIN, UINT64_MAX]
 *	 is refused: json-c clamps it to the nearest end without a word (its
 *	 strict mode refuses it, from 0.17 on), and a clamped value read as text
 *	 or numeric would be a number nobody sent;
 * - \u0000 in an object key is refused: json-c holds keys as C strings, so
 *	 "a\u0000b" would become the key "a" (and could then take the place of
 *	 a real "a").
 *
 * Duplicate keys are the RFC's "should be unique", left to the caller: the
 * validator only counts the members of every object (see
 * clf_json_validator_members()), and page_parser.c compares that with what
 * json-c, which keeps one member per key, built.
 *
 *-------------------------------------------------------------------------
 */
#include "json_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
	JV_EXP,						/* a digit of the exponent */
	JV_NSTATES
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

/* The RFC's whitespace; one look-up, as most bodies have none. */
static const bool json_whitespace[256] = {
	[' '] = true, ['\n'] = true, ['\r'] = true, ['\t'] = true
};

static inline const unsigned char *
skip_whitespace(const unsigned char *p, const unsigned char *end)
{
	while (p < end && json_whitespace[*p])
		p++;
	return p;
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

/* The position of the byte at p in the whole text, counting from 1. */
static inline size_t
byte_number(const ClfJsonValidator *v, const unsigned char *p)
{
	return v->bytes + (size_t) (p - v->piece) + 1;
}

static const unsigned char *
invalid(ClfJsonValidator *v, const unsigned char *at, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

/*
 * The text cannot be strict JSON because of the byte at "at": the message
 * is fmt, then the byte's position.  Returns NULL, for the steps to return.
 */
static const unsigned char *
invalid(ClfJsonValidator *v, const unsigned char *at, const char *fmt,...)
{
	va_list		args;
	int			n;

	va_start(args, fmt);
	n = vsnprintf(v->message, sizeof(v->message), fmt, args);
	va_end(args);
	if (n >= 0 && (size_t) n < sizeof(v->message))
		snprintf(v->message + n, sizeof(v->message) - n, " at byte %zu",
				 byte_number(v, at));
	v->failed = true;
	return NULL;
}

/* An unexpected byte, named so a reader can find it. */
static const unsigned char *
unexpected(ClfJsonValidator *v, const unsigned char *at, const char *where)
{
	unsigned char c = *at;

	if (c == '\'')
		return invalid(v, at, "unexpected character \"'\"%s", where);
	if (c > 0x20 && c < 0x7F)
		return invalid(v, at, "unexpected character '%c'%s", c, where);
	return invalid(v, at, "unexpected byte 0x%02x%s", c, where);
}

/* Whether the innermost open container is an object (else an array). */
static inline bool
in_object(const ClfJsonValidator *v)
{
	return (v->objects >> (v->depth - 1)) & 1;
}

/* A value has just ended, before p: what may follow it. */
static inline void
end_value(ClfJsonValidator *v, const unsigned char *p)
{
	if (v->depth == 0)
	{
		v->state = JV_DONE;
		v->value_end = v->bytes + (size_t) (p - v->piece);
	}
	else
		v->state = JV_AFTER_VALUE;
}

/* The byte at p closes the innermost container (the caller checked which). */
static inline const unsigned char *
close_container(ClfJsonValidator *v, const unsigned char *p)
{
	v->depth--;
	end_value(v, p + 1);
	return p + 1;
}

/*
 * The steps.  Each is called in its state with p < end, reads from p on,
 * and returns where it stopped (end, or the first byte of the next state),
 * or NULL once the text is invalid.  The structural steps (value, key,
 * colon, after a value) take p == end too: the others call them directly
 * for the byte that usually comes next.  Those calls never go round in a
 * circle, so the stack stays shallow whatever the text.
 */

/* JV_VALUE, JV_VALUE_OR_END: the first byte of a value (or a ']'). */
static inline const unsigned char *
step_value(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	if ((p = skip_whitespace(p, end)) == end)
		return p;
	if (*p == ']' && v->state == JV_VALUE_OR_END)
		return close_container(v, p);
	if (v->depth >= CLF_JSON_MAX_DEPTH)
		return invalid(v, p, "JSON nested deeper than %d levels", CLF_JSON_MAX_DEPTH);
	if (v->depth == 0)
		v->top = *p;
	v->nvalues++;
	switch (*p)
	{
		case '{':
			v->nobjects++;
			v->objects |= (uint32_t) 1 << v->depth;
			v->depth++;
			v->state = JV_KEY_OR_END;
			break;
		case '[':
			v->narrays++;
			v->objects &= ~((uint32_t) 1 << v->depth);
			v->depth++;
			v->state = JV_VALUE_OR_END;
			break;
		case '"':
			v->in_key = false;
			v->state = JV_STRING;
			break;
		case 't':
			v->literal = "rue";
			v->state = JV_LITERAL;
			break;
		case 'f':
			v->literal = "alse";
			v->state = JV_LITERAL;
			break;
		case 'n':
			v->literal = "ull";
			v->state = JV_LITERAL;
			break;
		case '-':
			v->state = JV_MINUS;
			v->negative = true;
			v->int_beyond = false;
			v->int_value = 0;
			v->number_start = v->bytes + (size_t) (p - v->piece);
			break;
		case '0':
			v->state = JV_ZERO;
			break;
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			v->state = JV_INT;
			v->negative = false;
			v->int_beyond = false;
			v->int_value = *p - '0';
			v->number_start = v->bytes + (size_t) (p - v->piece);
			break;
		default:
			return unexpected(v, p, "");
	}
	return p + 1;
}

/* JV_KEY, JV_KEY_OR_END: the opening quote of a key (or a '}'). */
static inline const unsigned char *
step_key(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	if ((p = skip_whitespace(p, end)) == end)
		return p;
	if (*p == '"')
	{
		v->in_key = true;
		v->state = JV_STRING;
		v->members++;
		return p + 1;
	}
	if (*p == '}' && v->state == JV_KEY_OR_END)
		return close_container(v, p);
	return unexpected(v, p, " where an object key should be");
}

/* JV_COLON: the ':' after a key. */
static inline const unsigned char *
step_colon(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	if ((p = skip_whitespace(p, end)) == end)
		return p;
	if (*p != ':')
		return unexpected(v, p, " after an object key");
	v->state = JV_VALUE;
	return step_value(v, p + 1, end);
}

/* JV_AFTER_VALUE: a ',' or the end of the innermost container. */
static inline const unsigned char *
step_after_value(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	if ((p = skip_whitespace(p, end)) == end)
		return p;
	if (*p == ',')
	{
		if (in_object(v))
		{
			v->state = JV_KEY;
			return step_key(v, p + 1, end);
		}
		v->state = JV_VALUE;
		return step_value(v, p + 1, end);
	}
	if (*p != (in_object(v) ? '}' : ']'))
		return unexpected(v, p, "");
	return close_container(v, p);
}

/* JV_DONE: the value is complete, and only whitespace may follow. */
static inline const unsigned char *
step_done(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	if ((p = skip_whitespace(p, end)) == end)
		return p;
	return unexpected(v, p, " after the JSON value");
}

/*
 * The closing quote of a string has just been read, before p.  What usually
 * follows (':' and a value, or ',' and the next key or value) is read here,
 * without a trip through the dispatch: most of a page is strings and the
 * bytes between them.
 */
static inline const unsigned char *
string_closed(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	if (v->in_key)
	{
		v->state = JV_COLON;
		if (p < end && *p == ':')
		{
			v->state = JV_VALUE;
			return step_value(v, p + 1, end);
		}
		return p;
	}
	end_value(v, p);
	if (v->state == JV_AFTER_VALUE)
		return step_after_value(v, p, end);
	return p;
}

/* JV_STRING, the hot path: most of a page is string content. */
static inline const unsigned char *
step_string(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	for (;;)
	{
		unsigned char c;
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
			return p;
		c = *p;
		if (c == '"')
			return string_closed(v, p + 1, end);
		if (c == '\\')
		{
			v->state = JV_ESCAPE;
			return p + 1;
		}
		if (c < 0x20)
			return invalid(v, p, "control character 0x%02x in a string", c);
		n = utf8_length[c];
		if (n == 0)
			return invalid(v, p, "invalid UTF-8 in a string");
		utf8_second_range(c, &v->utf8_lo, &v->utf8_hi);
		if (end - p < n)
		{
			/* the piece ends inside the character */
			v->utf8_need = n - 1;
			v->state = JV_UTF8;
			return p + 1;
		}
		/* the whole character is here */
		if (p[1] < v->utf8_lo || p[1] > v->utf8_hi)
			return invalid(v, p + 1, "invalid UTF-8 in a string");
		for (int i = 2; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return invalid(v, p + i, "invalid UTF-8 in a string");
		p += n;
	}
}

/* JV_UTF8: the rest of a character that the previous piece cut. */
static inline const unsigned char *
step_utf8(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	while (p < end)
	{
		if (*p < v->utf8_lo || *p > v->utf8_hi)
			return invalid(v, p, "invalid UTF-8 in a string");
		v->utf8_lo = 0x80;
		v->utf8_hi = 0xBF;
		p++;
		if (--v->utf8_need == 0)
		{
			v->state = JV_STRING;
			break;
		}
	}
	return p;
}

/* JV_ESCAPE: the byte after a backslash. */
static inline const unsigned char *
step_escape(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	(void) end;
	switch (*p)
	{
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			v->state = JV_STRING;
			break;
		case 'u':
			v->state = JV_HEX;
			v->nhex = 0;
			v->hex = 0;
			break;
		default:
			return unexpected(v, p, " after a backslash");
	}
	return p + 1;
}

/*
 * JV_HEX: the four digits of \uXXXX.  A high surrogate must be followed by
 * a second escape, of a low one; p - 1 is the last digit, named by an error.
 */
static inline const unsigned char *
step_hex(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	while (p < end)
	{
		int			d = hex_value(*p);

		if (d < 0)
			return unexpected(v, p, " in a \\u escape");
		v->hex = (uint16_t) ((v->hex << 4) | d);
		p++;
		if (++v->nhex < 4)
			continue;

		if (v->hex >= 0xDC00 && v->hex <= 0xDFFF)
		{
			if (!v->want_low)
				return invalid(v, p - 1, "unpaired surrogate in a \\u escape");
			v->want_low = false;
			v->state = JV_STRING;
		}
		else if (v->want_low)
			return invalid(v, p - 1, "unpaired surrogate in a \\u escape");
		else if (v->hex == 0 && v->in_key)
			return invalid(v, p - 1, "\\u0000 in an object key");
		else if (v->hex >= 0xD800 && v->hex <= 0xDBFF)
		{
			v->want_low = true;
			v->state = JV_LOW_BACKSLASH;
		}
		else
			v->state = JV_STRING;
		break;
	}
	return p;
}

/* JV_LOW_BACKSLASH, JV_LOW_U: the "\u" a high surrogate's escape needs next. */
static inline const unsigned char *
step_low_surrogate(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	(void) end;
	if (*p != (v->state == JV_LOW_BACKSLASH ? '\\' : 'u'))
		return invalid(v, p, "unpaired surrogate in a \\u escape");
	if (v->state == JV_LOW_BACKSLASH)
		v->state = JV_LOW_U;
	else
	{
		v->state = JV_HEX;
		v->nhex = 0;
		v->hex = 0;
	}
	return p + 1;
}

/* JV_LITERAL: the rest of true, false or null. */
static inline const unsigned char *
step_literal(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	while (p < end)
	{
		if (*p != (unsigned char) *v->literal)
			return unexpected(v, p, "");
		p++;
		if (*++v->literal == '\0')
		{
			end_value(v, p);
			if (v->state == JV_AFTER_VALUE)
				return step_after_value(v, p, end);
			break;
		}
	}
	return p;
}

/*
 * Numbers: RFC 8259's grammar as a table, one row per number state, one
 * column per class of the next byte.  An entry is the next state, or what
 * the byte means instead: the number ended before it (NUM_END: the byte is
 * read again in the state after the value), it cannot come here (NUM_BAD),
 * or it is a digit after a leading zero (NUM_LEADING_ZERO).
 */
enum
{
	NUM_END = JV_NSTATES,
	NUM_BAD,
	NUM_LEADING_ZERO
};

enum
{
	NC_OTHER,
	NC_ZERO,
	NC_DIGIT,					/* 1 to 9 */
	NC_DOT,
	NC_E,						/* e or E */
	NC_SIGN,					/* + or - */
	NC_NCLASSES
};

static const uint8_t number_class[256] = {
	['0'] = NC_ZERO, ['1' ... '9'] = NC_DIGIT, ['.'] = NC_DOT,
	['e'] = NC_E, ['E'] = NC_E, ['+'] = NC_SIGN, ['-'] = NC_SIGN
};

#define NUM_ROW(state) ((state) - JV_MINUS)

static const uint8_t number_next[NUM_ROW(JV_EXP) + 1][NC_NCLASSES] = {
	/*                        other    '0'               '1'..'9'          '.'      'e' 'E'      '+' '-' */
	[NUM_ROW(JV_MINUS)] =    {NUM_BAD, JV_ZERO,          JV_INT,           NUM_BAD, NUM_BAD,     NUM_BAD},
	[NUM_ROW(JV_ZERO)] =     {NUM_END, NUM_LEADING_ZERO, NUM_LEADING_ZERO, JV_DOT,  JV_EXP_MARK, NUM_END},
	[NUM_ROW(JV_INT)] =      {NUM_END, JV_INT,           JV_INT,           JV_DOT,  JV_EXP_MARK, NUM_END},
	[NUM_ROW(JV_DOT)] =      {NUM_BAD, JV_FRAC,          JV_FRAC,          NUM_BAD, NUM_BAD,     NUM_BAD},
	[NUM_ROW(JV_FRAC)] =     {NUM_END, JV_FRAC,          JV_FRAC,          NUM_END, JV_EXP_MARK, NUM_END},
	[NUM_ROW(JV_EXP_MARK)] = {NUM_BAD, JV_EXP,           JV_EXP,           NUM_BAD, NUM_BAD,     JV_EXP_SIGN},
	[NUM_ROW(JV_EXP_SIGN)] = {NUM_BAD, JV_EXP,           JV_EXP,           NUM_BAD, NUM_BAD,     NUM_BAD},
	[NUM_ROW(JV_EXP)] =      {NUM_END, JV_EXP,           JV_EXP,           NUM_END, NUM_END,     NUM_END},
};

/*
 * The digits of an integer part from p on (the first at p), added to its
 * value: once that is beyond 64 bits it stays so, whatever the rest.
 */
static inline const unsigned char *
int_digits(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	uint64_t	value = v->int_value;
	bool		beyond = false;

	for (; p < end && *p >= '0' && *p <= '9'; p++)
		beyond |= __builtin_mul_overflow(value, 10, &value) ||
			__builtin_add_overflow(value, (uint64_t) (*p - '0'), &value);
	v->int_value = value;
	v->int_beyond |= beyond;
	return p;
}

/*
 * A number that ended in state JV_INT (an integer: no fraction, no
 * exponent) is outside [INT64_MIN, UINT64_MAX], which json-c would clamp.
 */
static inline bool
int_out_of_range(const ClfJsonValidator *v)
{
	return v->int_beyond ||
		(v->negative && v->int_value > (uint64_t) INT64_MAX + 1);
}

static const unsigned char *
int_too_big(ClfJsonValidator *v)
{
	snprintf(v->message, sizeof(v->message), "an integer beyond 64 bits at byte %zu",
			 v->number_start + 1);
	v->failed = true;
	return NULL;
}

/* JV_MINUS to JV_EXP: inside a number. */
static inline const unsigned char *
step_number(ClfJsonValidator *v, const unsigned char *p, const unsigned char *end)
{
	int			state = v->state;

	while (p < end)
	{
		int			next = number_next[NUM_ROW(state)][number_class[*p]];

		if (next < JV_NSTATES)
		{
			state = next;
			p++;
			/* the rest of a run of digits, in one go */
			if (state == JV_INT)
				p = int_digits(v, p - 1, end);
			else if (state == JV_FRAC || state == JV_EXP)
				while (p < end && *p >= '0' && *p <= '9')
					p++;
			continue;
		}
		v->state = state;
		if (next == NUM_END)
		{
			if (state == JV_INT && int_out_of_range(v))
				return int_too_big(v);
			end_value(v, p);
			if (v->state == JV_AFTER_VALUE)
				return step_after_value(v, p, end);
			return p;
		}
		if (next == NUM_BAD)
			return unexpected(v, p, " in a number");
		return invalid(v, p, "number with a leading zero");
	}
	v->state = state;
	return p;
}


/* Get ready for a new text (and for the first: zeroed memory is ready too). */
void
clf_json_validator_reset(ClfJsonValidator *v)
{
	memset(v, 0, sizeof(*v));
	v->state = JV_VALUE;
}

/*
 * Validate the next len bytes of the text.  Returns false, with the message
 * set, at the first byte that cannot be part of a strict JSON text; every
 * later call then returns false too.  *value_len is set to how many of the
 * bytes belong to the top-level value: len, unless it ends within them (0
 * if it had ended before them).
 */
bool
clf_json_validator_feed(ClfJsonValidator *v, const char *data, size_t len,
						size_t *value_len)
{
	const unsigned char *p = (const unsigned char *) data;
	const unsigned char *end = p + len;
	bool		was_done = v->state == JV_DONE;

	if (v->failed)
		return false;
	v->piece = p;
	while (p < end)
	{
		switch (v->state)
		{
			case JV_VALUE:
			case JV_VALUE_OR_END:
				p = step_value(v, p, end);
				break;
			case JV_KEY_OR_END:
			case JV_KEY:
				p = step_key(v, p, end);
				break;
			case JV_COLON:
				p = step_colon(v, p, end);
				break;
			case JV_AFTER_VALUE:
				p = step_after_value(v, p, end);
				break;
			case JV_DONE:
				p = step_done(v, p, end);
				break;
			case JV_STRING:
				p = step_string(v, p, end);
				break;
			case JV_ESCAPE:
				p = step_escape(v, p, end);
				break;
			case JV_HEX:
				p = step_hex(v, p, end);
				break;
			case JV_LOW_BACKSLASH:
			case JV_LOW_U:
				p = step_low_surrogate(v, p, end);
				break;
			case JV_UTF8:
				p = step_utf8(v, p, end);
				break;
			case JV_LITERAL:
				p = step_literal(v, p, end);
				break;
			default:
				p = step_number(v, p, end);
				break;
		}
		if (p == NULL)
			return false;
	}
	if (was_done)
		*value_len = 0;
	else if (v->state == JV_DONE)
		*value_len = v->value_end - v->bytes;
	else
		*value_len = len;
	v->bytes += len;
	v->piece = NULL;
	return true;
}

/*
 * The text has ended: false, with the message set, if its value has not
 * (after a failed feed, false with that feed's message), or if it was an
 * integer beyond 64 bits (then the value is complete, but refused).
 */
bool
clf_json_validator_finish(ClfJsonValidator *v)
{
	if (v->failed)
		return false;
	/* a top-level number ends only with the text */
	if (v->depth == 0 && (v->state == JV_ZERO || v->state == JV_INT ||
						  v->state == JV_FRAC || v->state == JV_EXP))
	{
		bool		too_big = v->state == JV_INT && int_out_of_range(v);

		v->state = JV_DONE;
		v->value_end = v->bytes;
		if (too_big)
		{
			int_too_big(v);
			return false;
		}
	}
	if (v->state != JV_DONE)
	{
		snprintf(v->message, sizeof(v->message),
				 "the JSON value ends early (after %zu bytes)", v->bytes);
		v->failed = true;
		return false;
	}
	return true;
}

/* Whether the top-level value has ended (only whitespace may follow). */
bool
clf_json_validator_complete(const ClfJsonValidator *v)
{
	return v->state == JV_DONE;
}

/*
 * The first byte of the top-level value, which tells its type ('{', '[',
 * '"', 't', 'f', 'n', or a number's first byte); 0 before it.
 */
char
clf_json_validator_top(const ClfJsonValidator *v)
{
	return (char) v->top;
}

/*
 * How many members all the objects of the text have had so far, a key
 * repeated in an object counted each time: a parser that keeps one member
 * per key builds fewer exactly when some object has a key twice.
 */
uint64_t
clf_json_validator_members(const ClfJsonValidator *v)
{
	return v->members;
}

/*
 * How many values (containers included), objects and arrays the text has
 * begun so far, one that is invalid included: what a parser's tree of it
 * would hold, known before the parser sees the bytes.
 */
void
clf_json_validator_counts(const ClfJsonValidator *v, uint64_t *values,
						  uint64_t *objects, uint64_t *arrays)
{
	*values = v->nvalues;
	*objects = v->nobjects;
	*arrays = v->narrays;
}

/* Why the last feed or finish returned false. */
const char *
clf_json_validator_message(const ClfJsonValidator *v)
{
	return v->message;
}
