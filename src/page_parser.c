/*-------------------------------------------------------------------------
 *
 * page_parser.c
 *		  Incremental parsing and shape checks of one WeCom API response.
 *
 * The body is fed to json-c's tokener as libcurl delivers it, so a page is
 * parsed while it is still arriving and a body that cannot be a valid
 * response is refused at its first bad byte instead of after a download.
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
	resp->npending = 0;
	resp->error = CLF_RESP_OK;
	resp->message[0] = '\0';
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

static bool
only_whitespace(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		char		c = data[i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return false;
	}
	return true;
}

/* Length of the UTF-8 sequence lead byte c starts, or 1 if c is not a lead. */
static int
utf8_sequence_length(unsigned char c)
{
	if (c >= 0xC0 && c < 0xE0)
		return 2;
	if (c >= 0xE0 && c < 0xF0)
		return 3;
	if (c >= 0xF0 && c < 0xF8)
		return 4;
	return 1;
}

static bool
is_utf8_continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

static bool
is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
		c == '+' || c == '-';
}

/*
 * How many bytes at the end of a piece to hold back for the next one, so
 * that json-c never sees a split it gets wrong (json-c 0.16):
 *
 * - an incomplete UTF-8 character: with JSON_TOKENER_VALIDATE_UTF8 it is
 *	 rejected as invalid UTF-8, though the next piece completes it;
 * - the end of a number: json-c resumes a number with a minus sign allowed
 *	 whatever came before, so "1" then "-3]" is taken as one number where
 *	 "1-3]" at once is an error.  Holding back the last character (and any
 *	 signs before it) makes every resumed number start with the character
 *	 that decides which signs may follow, as in an unsplit body.
 *
 * Holding back more than needed is harmless: the bytes are parsed with the
 * next piece, or by clf_response_finish.
 */
static size_t
bytes_to_hold_back(const char *data, size_t len)
{
	size_t		keep = 0;

	if (len == 0)
		return 0;
	for (size_t k = 1; k <= 3 && k <= len; k++)
	{
		unsigned char c = (unsigned char) data[len - k];

		if (is_utf8_continuation(c))
			continue;
		if (utf8_sequence_length(c) > (int) k)
			return k;
		break;
	}
	if (is_number_char(data[len - 1]))
	{
		/* the trailing signs and the character before them */
		keep = 1;
		while (keep < len && keep < CLF_RESPONSE_MAX_PENDING &&
			   (data[len - keep] == '-' || data[len - keep] == '+'))
			keep++;
		/* never part of a UTF-8 character: that is no number, but a string */
		if ((unsigned char) data[len - keep] >= 0x80)
			keep--;
	}
	return keep;
}

/* Hand bytes to the tokener; anything after the complete value must be blank. */
static bool
parse_bytes(ClfResponse *resp, const char *data, size_t len)
{
	enum json_tokener_error jerr;
	json_object *value;
	size_t		consumed;

	if (len == 0)
		return true;
	if (resp->complete)
	{
		if (only_whitespace(data, len))
			return true;
		return fail(resp, CLF_RESP_NOT_JSON, "unexpected data after the JSON value");
	}

	if (resp->tok == NULL)
	{
		resp->tok = json_tokener_new();
		if (resp->tok == NULL)
			return fail(resp, CLF_RESP_NOT_JSON, "out of memory in the JSON parser");
		/*
		 * Strict: WeCom sends plain JSON, and json-c's lenient extras
		 * (comments after the value, for one) parse differently when the
		 * body arrives split, so a response could be taken or refused
		 * depending on how the network cut it.
		 */
		json_tokener_set_flags(resp->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	}

	/* json-c takes an int length: feed huge pieces in slices */
	while (len > 0)
	{
		int			slice = len > (1 << 30) ? (1 << 30) : (int) len;

		value = json_tokener_parse_ex(resp->tok, data, slice);
		jerr = json_tokener_get_error(resp->tok);
		if (jerr == json_tokener_continue)
		{
			data += slice;
			len -= slice;
			continue;
		}
		if (jerr != json_tokener_success)
			return fail(resp, CLF_RESP_NOT_JSON, "%s", json_tokener_error_desc(jerr));
		if (value == NULL)		/* json-c's null */
			return fail(resp, CLF_RESP_NOT_OBJECT, "the JSON value is null, not an object");

		resp->root = value;
		resp->complete = true;
		consumed = json_tokener_get_parse_end(resp->tok);
		if (!only_whitespace(data + consumed, slice - consumed) ||
			!only_whitespace(data + slice, len - slice))
			return fail(resp, CLF_RESP_NOT_JSON, "unexpected data after the JSON value");
		break;
	}
	return true;
}

/*
 * Feed the next piece of the body.  Returns false once the body cannot be a
 * valid response; the caller should then stop the transfer.
 *
 * libcurl splits a body wherever the network did, often inside a CJK
 * character or an emoji, so the end of a piece that json-c could misread
 * across the split is held back and parsed together with the next piece
 * (see bytes_to_hold_back).  An unsplit body and the same body in any
 * pieces give the same result; the fuzz target checks that.
 */
bool
clf_response_feed(ClfResponse *resp, const char *data, size_t len)
{
	char	   *joined = NULL;
	size_t		keep;
	bool		ok;

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

	/* what was held back goes first, in the same call */
	if (resp->npending > 0)
	{
		joined = malloc(resp->npending + len);
		if (joined == NULL)
			return fail(resp, CLF_RESP_NOT_JSON, "out of memory in the JSON parser");
		memcpy(joined, resp->pending, resp->npending);
		memcpy(joined + resp->npending, data, len);
		len += resp->npending;
		data = joined;
		resp->npending = 0;
	}

	keep = resp->complete ? 0 : bytes_to_hold_back(data, len);
	ok = parse_bytes(resp, data, len - keep);
	if (ok)
	{
		memcpy(resp->pending, data + len - keep, keep);
		resp->npending = (int) keep;
	}
	free(joined);
	return ok;
}

/* The body has ended: did it hold one complete JSON value? */
bool
clf_response_finish(ClfResponse *resp)
{
	if (resp->error != CLF_RESP_OK)
		return false;
	if (resp->npending > 0)
	{
		int			n = resp->npending;

		/* a character the body never completed: json-c reports it */
		resp->npending = 0;
		if (!parse_bytes(resp, resp->pending, n))
			return false;
	}
	if (!resp->complete)
	{
		enum json_tokener_error jerr;
		json_object *value;

		if (resp->bytes == 0 || resp->tok == NULL)
			return fail(resp, CLF_RESP_NOT_JSON, "the response body is empty");

		/*
		 * A bare number at the very end is only known complete once the
		 * tokener sees the end of input.
		 */
		value = json_tokener_parse_ex(resp->tok, "", 1);
		jerr = json_tokener_get_error(resp->tok);
		if (jerr == json_tokener_success && value != NULL)
		{
			resp->root = value;
			resp->complete = true;
		}
		else
			return fail(resp, CLF_RESP_TRUNCATED, "the JSON value ends early (after %zu bytes)",
						resp->bytes);
	}
	if (!json_object_is_type(resp->root, json_type_object))
		return fail(resp, CLF_RESP_NOT_OBJECT, "the JSON value is not an object");
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
