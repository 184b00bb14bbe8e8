/*-------------------------------------------------------------------------
 *
 * page_parser.c
 *		  Incremental parsing and shape checks of one WeCom API response.
 *
 * The body is checked (json_validate.c) and fed to json-c's tokener as
 * libcurl delivers it, so a page is parsed while it is still arriving and a
 * body that cannot be a valid response is refused at its first bad byte
 * instead of after a download.  What is WeCom's is here: the size limit,
 * building the object, and the shapes of its answers.
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
	clf_json_validator_reset(&resp->check);
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
	clf_json_validator_reset(&resp->check);
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
 * Why every byte goes through json_validate.c first: json-c's own strict
 * mode cannot be trusted across releases.  0.18 and 0.19 refuse every byte
 * >= 0x80 in a string under JSON_TOKENER_STRICT (json-c issues #875 and
 * #892), 0.16 lets NaN, Infinity and single-quoted keys through it, 0.18
 * turns integers beyond 64 bits from clamped values into errors, and
 * JSON_TOKENER_VALIDATE_UTF8 misreads a character split between two pieces.
 * So the validator checks each piece against RFC 8259, in the same feed call
 * and before json-c sees it, and json-c, with no flags, only builds the
 * values of what passed.  What json-c cannot build faithfully is refused too
 * (integers beyond 64 bits, \u0000 in a key), and a key given twice in an
 * object, which json-c would quietly keep the last of, is refused at
 * clf_response_finish(); every release then builds the same values.
 */

/* json-c's tokener, unless a test build names its own (page_parser.h) */
#ifndef CLF_JSON_TOKENER_NEW
#define CLF_JSON_TOKENER_NEW json_tokener_new_ex
#endif

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
		resp->tok = CLF_JSON_TOKENER_NEW(2 * CLF_JSON_MAX_DEPTH);
		if (resp->tok == NULL)
			return fail(resp, CLF_RESP_OUT_OF_MEMORY, "json-c could not get the memory for its parser");
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
#if JSON_C_VERSION_NUM >= 0x001100
		/* 0.17 and later say so; 0.16 fails another way, or not at all */
		if (jerr == json_tokener_error_memory)
			return fail(resp, CLF_RESP_OUT_OF_MEMORY, "json-c could not get the memory to parse the response");
#endif
		resp->tokener_disagreed = true;
		return fail(resp, CLF_RESP_NOT_JSON, "the JSON parser failed on valid JSON (%s)",
					json_tokener_error_desc(jerr));
	}
	return true;
}

/*
 * What json-c's tree of a text takes, as an upper bound from what the check
 * counted (measured with json-c 0.16 and 0.19, 64-bit): each value about
 * 100 bytes (a double keeps its text: 104), an object 700 more for its
 * table of 16 members, an array 60 more, a member up to 128 (its key's
 * copy, and its share of the tables an object of more than 10 members
 * grows into), and the text itself twice: the tree copies its strings and
 * keys, and the tokener's buffer keeps the longest string as long as the
 * tokener.  An empty object in a list, 3 bytes of JSON, takes some 800, a
 * page of contacts about 8 times its JSON: the body's size alone does not
 * bound the memory.
 */
#define CLF_TREE_VALUE_BYTES	104
#define CLF_TREE_OBJECT_BYTES	700
#define CLF_TREE_ARRAY_BYTES	60
#define CLF_TREE_MEMBER_BYTES	128

static uint64_t
tree_bytes(const ClfResponse *resp)
{
	uint64_t	values;
	uint64_t	objects;
	uint64_t	arrays;

	clf_json_validator_counts(&resp->check, &values, &objects, &arrays);
	return 2 * (uint64_t) resp->bytes + values * CLF_TREE_VALUE_BYTES +
		objects * CLF_TREE_OBJECT_BYTES + arrays * CLF_TREE_ARRAY_BYTES +
		clf_json_validator_members(&resp->check) * CLF_TREE_MEMBER_BYTES;
}

/*
 * Feed the next piece of the body.  Returns false once the body cannot be a
 * valid response; the caller should then stop the transfer.
 *
 * libcurl splits a body wherever the network did, often inside a CJK
 * character or an emoji; neither the check nor json-c (for valid JSON)
 * depends on where, so an unsplit body and the same body in any pieces give
 * the same result.  The fuzz target and test/fuzz/parser_cases.c check that.
 * Only which of two refusals comes first may depend on it: a body past
 * max_bytes (or whose tree would be), invalid after that point, is too
 * large when cut there and invalid when whole.
 */
bool
clf_response_feed(ClfResponse *resp, const char *data, size_t len)
{
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

	was_done = clf_json_validator_complete(&resp->check);
	if (!clf_json_validator_feed(&resp->check, data, len, &value_len))
		return fail(resp, CLF_RESP_NOT_JSON, "%s", clf_json_validator_message(&resp->check));

	/*
	 * Only an object is worth building: anything else is refused at the end
	 * of the body, which must still be checked to the end so that the error
	 * does not depend on the split.
	 */
	if (was_done || clf_json_validator_top(&resp->check) != '{')
		return true;
	/* refused before json-c builds it: a page of empty objects is a bomb */
	if (tree_bytes(resp) > resp->max_bytes)
		return fail(resp, CLF_RESP_TOO_MUCH_MEMORY,
					"the parsed response would take more than max_response_bytes");
	return parse_bytes(resp, data, value_len, clf_json_validator_complete(&resp->check));
}

/*
 * The members of every object in value, as json-c keeps them: one per key.
 * The check counted every member the text had, so a smaller sum here means
 * some object had a key twice, and json-c kept only the last value (for
 * "errcode", "info_list" or "next_cursor", or a column's key, a silently
 * different answer).  Keys are compared as json-c decoded them, so "a" and
 * "\u0061" are the same key.  Counting costs a walk over the containers of
 * the tree, without hashing or comparing a key; the validator, which cannot
 * keep every key of an object, only counts.
 */
static uint64_t
object_members(json_object *value, enum json_type type)
{
	uint64_t	n = 0;

	/* one call per value, and none into a leaf: most values are leaves */
	if (type == json_type_object)
	{
		json_object_object_foreach(value, key, child)
		{
			enum json_type t = json_object_get_type(child);

			(void) key;
			n++;
			if (t == json_type_object || t == json_type_array)
				n += object_members(child, t);
		}
	}
	else
	{
		size_t		len = json_object_array_length(value);

		for (size_t i = 0; i < len; i++)
		{
			json_object *child = json_object_array_get_idx(value, i);
			enum json_type t = json_object_get_type(child);

			if (t == json_type_object || t == json_type_array)
				n += object_members(child, t);
		}
	}
	return n;
}

/*
 * The body has ended: did it hold one complete JSON object, with no key
 * twice in any object?
 */
bool
clf_response_finish(ClfResponse *resp)
{
	if (resp->error != CLF_RESP_OK)
		return false;
	/* ended before its value began: as one that ended inside it */
	if (resp->bytes == 0)
		return fail(resp, CLF_RESP_TRUNCATED, "the response body is empty");
	if (!clf_json_validator_finish(&resp->check))
		return fail(resp, clf_json_validator_complete(&resp->check) ? CLF_RESP_NOT_JSON
					: CLF_RESP_TRUNCATED,
					"%s", clf_json_validator_message(&resp->check));
	if (clf_json_validator_top(&resp->check) == 'n')
		return fail(resp, CLF_RESP_NOT_OBJECT, "the JSON value is null, not an object");
	if (clf_json_validator_top(&resp->check) != '{')
		return fail(resp, CLF_RESP_NOT_OBJECT, "the JSON value is not an object");
	if (!resp->complete)
	{
		resp->tokener_disagreed = true;
		return fail(resp, CLF_RESP_NOT_JSON, "the JSON parser did not finish a valid object");
	}
	/* the members the text had against those json-c kept */
	if (clf_json_validator_members(&resp->check) !=
		object_members(resp->root, json_type_object))
		return fail(resp, CLF_RESP_NOT_JSON, "an object has a key twice");
	return true;
}

/* Read errcode and errmsg, common to every WeCom response. */
bool
clf_response_check_status(ClfResponse *resp)
{
	json_object *value;

	resp->errcode = 0;
	resp->errmsg = "";

	/*
	 * WeCom says how every call went in errcode, 0 for success: an answer
	 * without one (or with null) says nothing, and is not taken for a 0.
	 */
	if (!json_object_object_get_ex(resp->root, "errcode", &value))
		return fail(resp, CLF_RESP_BAD_SHAPE, "the response has no \"errcode\"");
	if (value == NULL || !json_object_is_type(value, json_type_int))
		return fail(resp, CLF_RESP_BAD_SHAPE, "\"errcode\" is not an integer");
	resp->errcode = json_object_get_int64(value);
	/* json-c keeps 2^63 .. 2^64-1 unsigned, and gives them as 2^63-1 */
	if (resp->errcode == INT64_MAX && json_object_get_uint64(value) != (uint64_t) INT64_MAX)
	{
		resp->errcode = 0;
		return fail(resp, CLF_RESP_BAD_SHAPE, "\"errcode\" is out of range");
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
		/*
		 * The cursor goes back to WeCom as a C string: cut at a NUL, it
		 * would ask for another page than the one named ("\u0000" alone
		 * would start the traversal over).
		 */
		if (strlen(json_object_get_string(cursor)) !=
			(size_t) json_object_get_string_len(cursor))
		{
			resp->info_list = NULL;
			resp->nitems = 0;
			return fail(resp, CLF_RESP_BAD_SHAPE, "\"next_cursor\" contains a NUL character");
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
