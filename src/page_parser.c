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
	if (resp->tok)
		json_tokener_reset(resp->tok);
	resp->root = NULL;
	resp->bytes = 0;
	resp->complete = false;
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

/*
 * Feed the next piece of the body.  Returns false once the body cannot be a
 * valid response; the caller should then stop the transfer.
 */
bool
clf_response_feed(ClfResponse *resp, const char *data, size_t len)
{
	enum json_tokener_error jerr;
	json_object *value;
	size_t		consumed;

	if (resp->error != CLF_RESP_OK)
		return false;
	if (len > resp->max_bytes - resp->bytes || resp->bytes > resp->max_bytes)
	{
		resp->bytes += len;
		return fail(resp, CLF_RESP_TOO_LARGE, "response is larger than max_response_bytes");
	}
	resp->bytes += len;

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
		json_tokener_set_flags(resp->tok, JSON_TOKENER_VALIDATE_UTF8);
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
		if (jerr != json_tokener_success || value == NULL)
			return fail(resp, CLF_RESP_NOT_JSON, "%s", json_tokener_error_desc(jerr));

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

/* The body has ended: did it hold one complete JSON value? */
bool
clf_response_finish(ClfResponse *resp)
{
	if (resp->error != CLF_RESP_OK)
		return false;
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
