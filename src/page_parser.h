/*-------------------------------------------------------------------------
 *
 * page_parser.h
 *		  Incremental parsing and shape checks of one WeCom API response.
 *
 * Deliberately free of PostgreSQL: the fuzz target links this file and
 * json_validate.c alone with json-c, so what it exercises is exactly what a
 * scan runs.  Nothing here longjmps; errors come back as a code and a
 * message.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_PAGE_PARSER_H
#define CLF_PAGE_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_validate.h"

struct json_object;
struct json_tokener;

typedef enum ClfResponseError
{
	CLF_RESP_OK = 0,
	CLF_RESP_NOT_JSON,			/* not JSON, or invalid JSON */
	CLF_RESP_TRUNCATED,			/* the body ended inside the JSON value, or
								 * before it (empty) */
	CLF_RESP_TOO_LARGE,			/* more than max_bytes */
	CLF_RESP_TOO_MUCH_MEMORY,	/* its tree would take more than max_bytes */
	CLF_RESP_OUT_OF_MEMORY,		/* json-c could not get the memory to parse
								 * it */
	CLF_RESP_NOT_OBJECT,		/* valid JSON, but not an object */
	CLF_RESP_BAD_SHAPE			/* an object, but a key has the wrong type */
} ClfResponseError;

typedef struct ClfResponse
{
	struct json_tokener *tok;
	struct json_object *root;	/* complete value, once parsed */
	size_t		bytes;			/* body bytes fed so far */
	size_t		max_bytes;
	bool		complete;		/* root holds the whole object */
	ClfResponseError error;
	char		message[256];
	ClfJsonValidator check;		/* every byte, before json-c sees it */

	/*
	 * json-c refused or misplaced bytes the check had accepted: a bug in one
	 * of the two.  Still reported as CLF_RESP_NOT_JSON; the tests fail on it.
	 */
	bool		tokener_disagreed;

	/* filled by clf_response_check_status() */
	int64_t		errcode;
	const char *errmsg;			/* "" when absent */

	/* filled by clf_response_check_page() */
	struct json_object *info_list;
	size_t		nitems;
	const char *next_cursor;	/* NULL at the end of the chain */

	/* filled by clf_response_check_token() */
	const char *access_token;
	int64_t		expires_in;
} ClfResponse;

extern void clf_response_init(ClfResponse *resp, size_t max_bytes);
extern void clf_response_reset(ClfResponse *resp);
extern void clf_response_release(ClfResponse *resp);
extern bool clf_response_feed(ClfResponse *resp, const char *data, size_t len);
extern bool clf_response_finish(ClfResponse *resp);
extern bool clf_response_check_status(ClfResponse *resp);
extern bool clf_response_check_page(ClfResponse *resp);
extern bool clf_response_check_token(ClfResponse *resp);
extern struct json_object *clf_response_item(const ClfResponse *resp, size_t index);

/*
 * A test build may name its own maker of json-c tokeners, one that fails as
 * an allocation would: nothing else can make json-c run out of memory.
 */
#ifdef CLF_JSON_TOKENER_NEW
extern struct json_tokener *CLF_JSON_TOKENER_NEW(int depth);
#endif

#endif							/* CLF_PAGE_PARSER_H */
