/*
 * floor_client.c: the floor of `make bench`.
 *
 * The least a client can do to read every contact_list page: libcurl with
 * one easy handle (so one keep-alive connection, and one TLS session over
 * HTTPS), the same request as the FDW (POST {"cursor":"...","limit":N},
 * Content-Type: application/json, Accept-Encoding: gzip), each body fed to
 * json-c's incremental tokener from the write callback as it arrives, then
 * next_cursor followed and the info_list items counted.  Nothing else.
 *
 * usage: floor_client URL TOKEN [LIMIT [CA_FILE]]
 *   URL is the API base, e.g. http://127.0.0.1:18642/cgi-bin
 * prints: rows=<n> pages=<n> seconds=<s> connections=<n>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

typedef struct Page
{
	json_tokener *tok;
	json_object *root;
	int			failed;
} Page;

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	Page	   *page = arg;
	size_t		len = size * nmemb;
	json_object *value;

	if (page->failed || page->root)
		return page->failed ? 0 : len;	/* trailing whitespace after the value */
	value = json_tokener_parse_ex(page->tok, data, (int) len);
	if (value)
		page->root = value;
	else if (json_tokener_get_error(page->tok) != json_tokener_continue)
	{
		page->failed = 1;
		return 0;
	}
	return len;
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
	int			limit;
	char		url[4096];
	char		body[8192];
	char	   *cursor;
	CURL	   *easy;
	struct curl_slist *headers;
	Page		page;
	long		rows = 0, pages = 0, connects = 0;
	double		start, elapsed;

	if (argc < 3)
	{
		fprintf(stderr, "usage: %s URL TOKEN [LIMIT [CA_FILE]]\n", argv[0]);
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
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &page);
	curl_easy_setopt(easy, CURLOPT_PROXY, "");
	if (ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file);

	page.tok = json_tokener_new();
	cursor = strdup("");
	start = now();
	for (;;)
	{
		CURLcode	rc;
		long		status = 0, nconn = 0;
		json_object *list, *next, *errcode;

		/* the mock's cursors need no JSON escaping */
		snprintf(body, sizeof(body), "{\"cursor\":\"%s\",\"limit\":%d}", cursor, limit);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
		json_tokener_reset(page.tok);
		page.root = NULL;
		page.failed = 0;

		rc = curl_easy_perform(easy);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &nconn);
		connects += nconn;
		if (rc != CURLE_OK || status != 200 || page.root == NULL)
		{
			fprintf(stderr, "floor_client: page %ld failed: %s, HTTP %ld%s\n", pages + 1,
					curl_easy_strerror(rc), status, page.failed ? ", invalid JSON" : "");
			return 1;
		}
		if (!json_object_object_get_ex(page.root, "errcode", &errcode) ||
			json_object_get_int64(errcode) != 0 ||
			!json_object_object_get_ex(page.root, "info_list", &list) ||
			!json_object_is_type(list, json_type_array))
		{
			fprintf(stderr, "floor_client: page %ld is not a page: %.200s\n", pages + 1,
					json_object_to_json_string(page.root));
			return 1;
		}
		rows += (long) json_object_array_length(list);
		pages++;
		free(cursor);
		cursor = NULL;
		if (json_object_object_get_ex(page.root, "next_cursor", &next) &&
			json_object_is_type(next, json_type_string) && json_object_get_string_len(next) > 0)
			cursor = strdup(json_object_get_string(next));
		json_object_put(page.root);
		if (cursor == NULL)
			break;
	}
	elapsed = now() - start;
	printf("rows=%ld pages=%ld seconds=%.6f connections=%ld\n", rows, pages, elapsed, connects);

	json_tokener_free(page.tok);
	curl_slist_free_all(headers);
	curl_easy_cleanup(easy);
	curl_global_cleanup();
	return 0;
}
