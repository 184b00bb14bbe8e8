/*-------------------------------------------------------------------------
 *
 * contact_list_fdw.h
 *		  What crosses files in contact_list_fdw, the foreign data wrapper
 *		  over WeCom's externalcontact/contact_list API.
 *
 * Layering, top down: a file of the stack calls only the ones below it,
 * and the files beside the stack call none of it.
 *	contact_list_fdw.c	the FDW callbacks.
 *	scan.c			one traversal of the cursor chain, page by page.
 *	wecom.c			WeCom's protocol: gettoken and contact_list URLs and
 *					bodies, access tokens, errcodes, retries and backoff
 *					(Retry-After, 45009), API error reports.
 *	http.c			the transport: one libcurl request on PostgreSQL's
 *					latch and wait set, libcurl's failures, cancellable
 *					sleeps.  It knows nothing of WeCom.
 * Beside the stack:
 *	option.c		option validation and lookup.
 *	convert.c		JSON values to column Datums.
 *	page_parser.c	json-c only (no PostgreSQL): incremental parse and shape
 *					checks of one response body; shared with the fuzz target.
 *	redact.c		credentials kept out of messages, and wiped from our copies.
 *	connection.c	per-backend caches of curl handles and access tokens, and
 *					their invalidation on ALTER SERVER / USER MAPPING.
 *	scan_log.c		this session's recent scans, for contact_list_fdw_scans().
 *	shmem.c, shared_tokens.c, progress.c, stats.c
 *					state shared by every backend (shared_state.h): tokens,
 *					running scans, per-server counters, request slots.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONTACT_LIST_FDW_H
#define CONTACT_LIST_FDW_H

#include "postgres.h"

#include <curl/curl.h>

#include "clf_common.h"
#include "convert.h"
#include "option.h"
#include "page_parser.h"
#include "scan.h"
#include "wecom.h"

#include "access/tupdesc.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/palloc.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

/* connection.c */

/* The sockets libcurl asked us to watch for one transfer (happy eyeballs may use two). */
#define CLF_MAX_WATCHED_SOCKETS 4

typedef struct ClfConnection
{
	Oid			serverid;		/* hash key */
	uint32		server_hash;	/* syscache hash of the server, for invalidation */
	bool		invalidated;	/* server options changed: rebuild before use */
	CURL	   *easy;
	CURLM	   *multi;
	int			nsockets;
	curl_socket_t sockets[CLF_MAX_WATCHED_SOCKETS];
	int			socket_what[CLF_MAX_WATCHED_SOCKETS];	/* CURL_POLL_* */
	TimestampTz timer_deadline; /* when libcurl wants its timeout action; 0:
								 * none */
	struct WaitEventSet *wait_set;	/* the latch and the sockets above */
	bool		sockets_changed;	/* wait_set must be built again */
} ClfConnection;

extern ClfConnection *clf_get_connection(const ClfOptions *opts);
extern char *clf_cached_token(const ClfOptions *opts);
extern void clf_remember_token(const ClfOptions *opts, const char *token,
							   int expires_in);
extern void clf_forget_token(const ClfOptions *opts);
extern void clf_sha256(int nparts, const void *const *parts, const size_t *lengths,
					   uint8 *digest);
extern void clf_digest_secret(const char *secret, uint8 *digest);
extern void clf_connection_init(void);

/* http.c */

/* What to send, and how to speak of it. */
typedef struct ClfHttpRequest
{
	const ClfOptions *opts;		/* timeouts, proxy, ca_file; the server's
								 * request slots */
	const char *url;			/* may hold a credential: never shown */
	const char *body;			/* a JSON body to POST, or NULL for a GET */
	const char *what;			/* what is fetched, for messages */
	const char *token;			/* also kept out of messages, or NULL */
	size_t		max_bytes;		/* of the body, and of what its parse holds */
	bool		token_request;	/* counted apart by contact_list_fdw_stats */
	ClfScanStats *stats;		/* requests, bytes and network time added */
} ClfHttpRequest;

/* The start of a body kept for messages, in bytes. */
#define CLF_BODY_HEAD_LEN			200

/* What came of one request. */
typedef struct ClfHttpOutcome
{
	CURLcode	result;			/* libcurl's result */
	char		curl_error[CURL_ERROR_SIZE];
	long		http_status;	/* 0 if no response began */
	long		proxy_status;	/* the proxy's answer to CONNECT, or 0 */
	int64		retry_after_s;	/* the server's Retry-After, or 0 */
	size_t		bytes;			/* of the body */
	char		head[CLF_BODY_HEAD_LEN + 1];	/* the body's start */
	size_t		head_len;
	bool		resolved;		/* the host name was resolved */
	bool		connected;		/* a connection was made */
	bool		too_large;		/* the body passed max_bytes: stopped */
	bool		too_much_memory;	/* too_large, by the parsed tree's size */
	bool		parse_failed;	/* a 200 body the page parser refused: stopped */
	/* libcurl's own failures (clf_http_report_failure reports them) */
	bool		proxy_refused;	/* the proxy refused proxy_user/password */
	bool		failed;			/* libcurl could not complete the request */
	bool		transient;		/* failed, and another try may succeed */
} ClfHttpOutcome;

extern void clf_http_init(void);
extern void clf_http_perform(const ClfHttpRequest *hreq, ClfResponse *resp,
							 ClfHttpOutcome *out);
extern char *clf_http_describe_failure(const ClfHttpRequest *hreq,
									   const ClfHttpOutcome *out);
extern void clf_http_report_failure(const ClfHttpRequest *hreq,
									const ClfHttpOutcome *out, int attempts);
extern void clf_http_sleep(int ms);
extern char *clf_http_escape(const char *value);

/* redact.c */
extern char *clf_redact(const char *text, const ClfOptions *opts,
						const char *token, bool cut_short);
extern void clf_wipe(char *copy);

/* scan_log.c */
typedef enum ClfScanOutcome
{
	CLF_SCAN_RUNNING,
	CLF_SCAN_COMPLETE,
	CLF_SCAN_STOPPED_EARLY,
	CLF_SCAN_ERROR
} ClfScanOutcome;

extern int64 clf_scan_log_start(ClfTraversal *trav, Oid relid);
extern void clf_scan_log_finish(int64 id, const ClfScanStats *stats,
								ClfScanOutcome outcome, const char *error);

#endif							/* CONTACT_LIST_FDW_H */
