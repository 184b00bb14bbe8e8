/*
 * floor_client.c: the two reference lines of `make bench`.
 *
 * The floor: the least a client can do to read every contact_list page the
 * way the wrapper reads it.  libcurl with one easy handle (so one keep-alive
 * connection, and one TLS session over HTTPS), the same request as the FDW
 * (POST {"cursor":"...","limit":N}, Content-Type: application/json,
 * Accept-Encoding: gzip), and the wrapper's own parser, src/page_parser.c,
 * linked in: each body goes through the strict RFC 8259/UTF-8 check and
 * json-c's incremental tokener from the write callback as it arrives, then
 * the same errcode and page checks, every info_list item fetched, and
 * next_cursor followed.  What the wrapper does beyond this (tuples, the
 * executor, shared state) is its overhead over the floor.
 *
 * The loopback limit (--transfer-only): the same requests on the same
 * handle, bodies decompressed by libcurl and thrown away unparsed.  Only
 * the last bytes of each body are kept, to find next_cursor, which the
 * mock writes last; so the line is transfer plus gunzip and nothing else.
 *
 * usage: floor_client [--transfer-only] URL TOKEN [LIMIT [CA_FILE]]
 *   URL is the API base, e.g. http://127.0.0.1:18642/cgi-bin
 * prints: rows=<n> pages=<n> bytes=<n> seconds=<s> connections=<n>
 *   (rows=-1 with --transfer-only: nothing counts them)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "page_parser.h"

/* the FDW's default max_response_bytes (CLF_DEFAULT_MAX_RESPONSE_BYTES) */
#define FLOOR_MAX_RESPONSE_BYTES (64 * 1024 * 1024)

/* enough for the mock's tail: ],"next_cursor":"<cursor>"} */
#define TAIL_BYTES 512

typedef struct Body
{
	bool		transfer_only;
	ClfResponse resp;			/* the floor's parser */
	char		tail[TAIL_BYTES + 1];	/* --transfer-only: the last bytes */
	size_t		tail_len;
	size_t		bytes;
} Body;

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	Body	   *body = arg;
	size_t		len = size * nmemb;

	body->bytes += len;
	if (body->transfer_only)
	{
		if (len >= TAIL_BYTES)
		{
			memcpy(body->tail, data + len - TAIL_BYTES, TAIL_BYTES);
			body->tail_len = TAIL_BYTES;
		}
		else
		{
			size_t		keep = body->tail_len + len > TAIL_BYTES ? TAIL_BYTES - len : body->tail_len;

			memmove(body->tail, body->tail + body->tail_len - keep, keep);
			memcpy(body->tail + keep, data, len);
			body->tail_len = keep + len;
		}
		return len;
	}
	/* as the wrapper's transport does: a body that cannot be valid stops */
	return clf_response_feed(&body->resp, data, len) ? len : 0;
}

/*
 * --transfer-only: the cursor from the body's last bytes, malloc'd ("" at
 * the end of the chain), or NULL if the tail holds none.
 */
static char *
tail_cursor(Body *body)
{
	static const char key[] = "\"next_cursor\":\"";
	char	   *start, *end;

	body->tail[body->tail_len] = '\0';
	start = strstr(body->tail, key);
	if (start == NULL)
		return NULL;
	start += sizeof(key) - 1;
	end = strchr(start, '"');
	if (end == NULL)
		return NULL;
	return strndup(start, end - start);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	const char *base, *token, *ca_file;
	bool		transfer_only = false;
	int			limit;
	char		url[4096];
	char		request[8192];
	char	   *cursor;
	CURL	   *easy;
	struct curl_slist *headers;
	Body		body;
	long		rows = 0, pages = 0, connects = 0;
	size_t		bytes = 0;
	double		start, elapsed;

	if (argc > 1 && strcmp(argv[1], "--transfer-only") == 0)
	{
		transfer_only = true;
		argc--;
		argv++;
	}
	if (argc < 3)
	{
		fprintf(stderr, "usage: floor_client [--transfer-only] URL TOKEN [LIMIT [CA_FILE]]\n");
		return 2;
	}
	base = argv[1];
	token = argv[2];
	limit = argc > 3 ? atoi(argv[3]) : 1000;
	ca_file = argc > 4 && argv[4][0] ? argv[4] : NULL;

	curl_global_init(CURL_GLOBAL_ALL);
	easy = curl_easy_init();
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	snprintf(url, sizeof(url), "%s/externalcontact/contact_list?access_token=%s", base, token);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(easy, CURLOPT_PROXY, "");
	if (ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file);

	memset(&body, 0, sizeof(body));
	body.transfer_only = transfer_only;
	clf_response_init(&body.resp, FLOOR_MAX_RESPONSE_BYTES);
	cursor = strdup("");
	start = now();
	for (;;)
	{
		CURLcode	rc;
		long		status = 0, nconn = 0;
		char	   *next;

		/* the mock's cursors need no JSON escaping */
		snprintf(request, sizeof(request), "{\"cursor\":\"%s\",\"limit\":%d}", cursor, limit);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request);
		clf_response_reset(&body.resp);
		body.tail_len = 0;
		body.bytes = 0;

		rc = curl_easy_perform(easy);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &nconn);
		connects += nconn;
		bytes += body.bytes;
		if (rc != CURLE_OK || status != 200)
		{
			fprintf(stderr, "floor_client: page %ld failed: %s, HTTP %ld%s%s\n", pages + 1,
					curl_easy_strerror(rc), status,
					body.resp.error != CLF_RESP_OK ? ", " : "", body.resp.message);
			return 1;
		}
		if (transfer_only)
		{
			next = tail_cursor(&body);
			if (next == NULL)
			{
				fprintf(stderr, "floor_client: page %ld has no next_cursor in its last %zu bytes\n",
						pages + 1, body.tail_len);
				return 1;
			}
		}
		else
		{
			if (!clf_response_finish(&body.resp) || !clf_response_check_status(&body.resp) ||
				body.resp.errcode != 0 || !clf_response_check_page(&body.resp))
			{
				fprintf(stderr, "floor_client: page %ld is not a page: errcode %lld, %s\n",
						pages + 1, (long long) body.resp.errcode, body.resp.message);
				return 1;
			}
			/* the wrapper takes each item in turn, even for count(*) */
			for (size_t i = 0; i < body.resp.nitems; i++)
				if (clf_response_item(&body.resp, i) != NULL)
					rows++;
			next = strdup(body.resp.next_cursor ? body.resp.next_cursor : "");
		}
		pages++;
		free(cursor);
		cursor = next;
		if (cursor[0] == '\0')
			break;
	}
	elapsed = now() - start;
	printf("rows=%ld pages=%ld bytes=%zu seconds=%.6f connections=%ld\n",
		   transfer_only ? -1L : rows, pages, bytes, elapsed, connects);

	free(cursor);
	clf_response_release(&body.resp);
	curl_slist_free_all(headers);
	curl_easy_cleanup(easy);
	curl_global_cleanup();
	return 0;
}
