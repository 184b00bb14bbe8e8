/*-------------------------------------------------------------------------
 *
 * fuzz_page_parser.c
 *		  libFuzzer target for src/page_parser.c and the validator under it,
 *		  src/json_validate.c: the code every scan runs on every byte a
 *		  WeCom (or a hostile) server sends.
 *
 * The input is one response body.  It is handled as the scan handles it:
 * fed in pieces, as libcurl's write callback delivers them, then finished,
 * its status read, and a page (or a gettoken answer) checked; every item of
 * a page is then read the way convert.c reads columns.
 *
 * Besides memory errors, leaks and undefined behaviour, the target checks
 * that where the body is split changes nothing: the same body is fed twice
 * through one ClfResponse (reset in between, as a retry or the next page
 * reuses it), once whole and once in pieces chosen from a hash of the body,
 * and both runs must agree on the error, its message (which names a byte),
 * and for a parsed body on every value, compared through a hash of the
 * printed root.  It also fails if json-c ever refuses what the parser's own
 * strict-JSON check passed.
 *
 * Build and run with test/fuzz/run.sh.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "page_parser.h"

/* as in clf_common.h and wecom.c; the fuzzer never gets near them */
#define PAGE_MAX_BYTES		((size_t) 64 * 1024 * 1024)
#define TOKEN_MAX_BYTES		((size_t) 64 * 1024)
#define MAX_PIECES			8

/* The keys convert.c reads from an item. */
static const char *const item_keys[] = {
	"is_customer", "tmp_openid", "external_userid", "name",
	"follow_userid", "chat_id", "chat_name", "add_time", "no_such_key", NULL
};

/* What one run came to, for comparing runs. */
typedef struct Outcome
{
	ClfResponseError error;
	char		message[256];
	uint64_t	root_hash;		/* of the printed root; 0 if none */
	bool		status_ok;
	int64_t		errcode;
	bool		page_ok;
	size_t		nitems;
	char		next_cursor[64];
	size_t		next_cursor_len;
} Outcome;

static uint64_t
fnv1a(const uint8_t *data, size_t size)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < size; i++)
	{
		h ^= data[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Split points: up to MAX_PIECES - 1 ascending offsets in (0, size),
 * derived from the hash so a mutation of the body also moves the splits.
 * Some land right next to each other to make one-byte pieces.
 */
static int
choose_splits(const uint8_t *data, size_t size, size_t *splits)
{
	uint64_t	h = fnv1a(data, size);
	int			n = 0;
	size_t		prev = 0;

	if (size < 2)
		return 0;
	for (int i = 0; i < MAX_PIECES - 1 && prev + 1 < size; i++)
	{
		size_t		step;

		h = h * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((h >> 60) < 4)
			step = 1;
		else
			step = 1 + (size_t) ((h >> 16) % ((size - prev) / 2 + 1));
		if (prev + step >= size)
			break;
		prev += step;
		splits[n++] = prev;
	}
	return n;
}

/* Read every value of an item the ways convert.c may, to touch it all. */
static void
walk_value(json_object *value, int depth)
{
	size_t		sink = 0;

	if (value == NULL)
		return;
	switch (json_object_get_type(value))
	{
		case json_type_string:
			{
				const char *s = json_object_get_string(value);
				int			len = json_object_get_string_len(value);

				/* convert.c compares these to find an embedded NUL */
				sink += strlen(s) + (size_t) len;
				if (len > 0)
					sink += (unsigned char) s[len - 1];
				break;
			}
		case json_type_int:
			sink += (size_t) json_object_get_int64(value);
			sink += (size_t) json_object_get_uint64(value);
			sink += (size_t) json_object_get_boolean(value);
			break;
		case json_type_double:
			sink += (size_t) (json_object_get_double(value) != 0.0);
			break;
		case json_type_boolean:
			sink += (size_t) json_object_get_boolean(value);
			break;
		case json_type_array:
			if (depth < 4)
				for (size_t i = 0; i < json_object_array_length(value); i++)
					walk_value(json_object_array_get_idx(value, i), depth + 1);
			break;
		case json_type_object:
			if (depth < 4)
			{
				json_object_object_foreach(value, key, child)
				{
					sink += strlen(key);
					walk_value(child, depth + 1);
				}
			}
			break;
		case json_type_null:
			break;
	}
	/* the text a json/jsonb column would get */
	sink += strlen(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN |
												  JSON_C_TO_STRING_NOSLASHESCAPE));
	/* keep the reads from being optimized away */
	__asm__ volatile("" : : "r"(sink));
}

static void
walk_items(const ClfResponse *resp)
{
	for (size_t i = 0; i < resp->nitems; i++)
	{
		json_object *item = clf_response_item(resp, i);

		if (item == NULL || !json_object_is_type(item, json_type_object))
		{
			fprintf(stderr, "item %zu of %zu is missing or not an object after check_page\n",
					i + 1, resp->nitems);
			abort();
		}
		for (int k = 0; item_keys[k]; k++)
		{
			json_object *value;

			if (json_object_object_get_ex(item, item_keys[k], &value))
				walk_value(value, 0);
		}
		/* a json column with field '*' gets the whole item */
		walk_value(item, 0);
	}
	if (clf_response_item(resp, resp->nitems) != NULL)
	{
		fprintf(stderr, "clf_response_item past the end returned an item\n");
		abort();
	}
}

/*
 * One body through resp, as http.c's write callback and wecom.c's call_with_retries
 * and clf_fetch_page handle it.
 */
static void
run_page(ClfResponse *resp, const uint8_t *data, size_t size,
		 const size_t *splits, int nsplits, Outcome *out)
{
	size_t		start = 0;
	bool		fed = true;

	memset(out, 0, sizeof(*out));
	clf_response_reset(resp);
	for (int i = 0; i <= nsplits && fed; i++)
	{
		size_t		end = i < nsplits ? splits[i] : size;

		/* libcurl calls the write callback with non-empty pieces only */
		if (end > start)
			fed = clf_response_feed(resp, (const char *) data + start, end - start);
		start = end;
	}
	if (fed && clf_response_finish(resp))
	{
		const char *text = json_object_to_json_string_ext(resp->root, JSON_C_TO_STRING_PLAIN);

		out->root_hash = fnv1a((const uint8_t *) text, strlen(text)) | 1;
	}
	if (resp->tokener_disagreed)
	{
		fprintf(stderr, "json-c refused what the check passed: %s\n", resp->message);
		abort();
	}
	if (resp->error == CLF_RESP_OK && clf_response_check_status(resp))
	{
		out->status_ok = true;
		out->errcode = resp->errcode;
		/* errmsg is read for messages whatever the errcode */
		if (strlen(resp->errmsg) > 4096 * 1024)
			abort();
		if (resp->errcode == 0 && clf_response_check_page(resp))
		{
			out->page_ok = true;
			out->nitems = resp->nitems;
			if (resp->next_cursor)
			{
				out->next_cursor_len = strlen(resp->next_cursor) + 1;
				snprintf(out->next_cursor, sizeof(out->next_cursor), "%s", resp->next_cursor);
			}
			walk_items(resp);
		}
	}
	out->error = resp->error;
	snprintf(out->message, sizeof(out->message), "%s", resp->message);
	if (resp->error != CLF_RESP_OK && resp->message[0] == '\0')
	{
		fprintf(stderr, "error %d without a message\n", (int) resp->error);
		abort();
	}
}

static void
run_token(const uint8_t *data, size_t size, const size_t *splits, int nsplits)
{
	ClfResponse resp;
	size_t		start = 0;
	bool		fed = true;

	clf_response_init(&resp, TOKEN_MAX_BYTES);
	for (int i = 0; i <= nsplits && fed; i++)
	{
		size_t		end = i < nsplits ? splits[i] : size;

		if (end > start)
			fed = clf_response_feed(&resp, (const char *) data + start, end - start);
		start = end;
	}
	if (fed && clf_response_finish(&resp) && clf_response_check_status(&resp) &&
		resp.errcode == 0 && clf_response_check_token(&resp))
	{
		/* wecom.c copies the token and builds a URL from it */
		if (resp.access_token == NULL || resp.access_token[0] == '\0' ||
			strlen(resp.access_token) != (size_t) json_object_get_string_len(
				json_object_object_get(resp.root, "access_token")))
		{
			fprintf(stderr, "check_token accepted an empty or NUL-holding token\n");
			abort();
		}
	}
	if (size > TOKEN_MAX_BYTES && resp.error == CLF_RESP_OK)
	{
		fprintf(stderr, "a %zu byte token response was accepted\n", size);
		abort();
	}
	clf_response_release(&resp);
}

static void
compare(const Outcome *a, const Outcome *b, size_t size, int nsplits)
{
	if (a->error == b->error && strcmp(a->message, b->message) == 0 &&
		a->root_hash == b->root_hash && a->status_ok == b->status_ok &&
		a->errcode == b->errcode && a->page_ok == b->page_ok &&
		a->nitems == b->nitems && a->next_cursor_len == b->next_cursor_len &&
		strcmp(a->next_cursor, b->next_cursor) == 0)
		return;
	fprintf(stderr,
			"the outcome depends on where the body is split (%zu bytes, %d splits):\n"
			"  whole: error %d \"%s\" root %016llx status %d errcode %lld page %d items %zu cursor \"%s\"\n"
			"  split: error %d \"%s\" root %016llx status %d errcode %lld page %d items %zu cursor \"%s\"\n",
			size, nsplits,
			(int) a->error, a->message, (unsigned long long) a->root_hash, a->status_ok,
			(long long) a->errcode, a->page_ok, a->nitems, a->next_cursor,
			(int) b->error, b->message, (unsigned long long) b->root_hash, b->status_ok,
			(long long) b->errcode, b->page_ok, b->nitems, b->next_cursor);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ClfResponse resp;
	size_t		splits[MAX_PIECES];
	int			nsplits = choose_splits(data, size, splits);
	Outcome		whole,
				pieces;

	/* one parser for two bodies, as one scan reuses it page after page */
	clf_response_init(&resp, PAGE_MAX_BYTES);
	run_page(&resp, data, size, NULL, 0, &whole);
	run_page(&resp, data, size, splits, nsplits, &pieces);
	compare(&whole, &pieces, size, nsplits);

	/* a cap below the body's size must refuse it, wherever it splits */
	if (size > 16)
	{
		Outcome		capped;

		resp.max_bytes = size - 1 - (size_t) (fnv1a(data, size) % (size / 2));
		run_page(&resp, data, size, splits, nsplits, &capped);
		if (capped.page_ok || capped.status_ok)
		{
			fprintf(stderr, "a %zu byte body was accepted under a %zu byte cap\n",
					size, resp.max_bytes);
			abort();
		}
	}
	clf_response_release(&resp);

	run_token(data, size, splits, nsplits);
	return 0;
}
