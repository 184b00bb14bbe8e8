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
 *					sleeps.  It knows nothing of WeCom, of scans and of the
 *					request slots (wecom.c reports each request around it).
 * Beside the stack:
 *	option.c		option validation and lookup.
 *	convert.c		JSON values to column Datums.
 *	page_parser.c	json-c only (no PostgreSQL): incremental parse and shape
 *					checks of one response body; shared with the fuzz target.
 *	redact.c		credentials kept out of messages, and wiped from our copies.
 *	connection.c	per-backend caches of curl handles and access tokens, and
 *					their invalidation on ALTER SERVER / USER MAPPING.
 * A scan's events, floors bottom up (each calls only the floors below):
 *	shmem.c			creates and attaches the shared area, degrades to
 *					per-backend, runs the releases the modules register;
 *					calls nothing above it (shared_state.h: the layout and
 *					its API).
 *	progress.c, stats.c, scan_log.c
 *					each its own view, and none calls another:
 *					contact_list_fdw_progress (progress.h); the per-server
 *					counters and request slots (stats.h); this session's and
 *					the cluster's ended scans (scan_log.h).
 *	scan_events.c	the one place a scan reports to (scan_events.h):
 *					started, page done, request begins and done, retry,
 *					waiting for..., finished; it feeds the three above.
 *					Called by scan.c, wecom.c, the callbacks and
 *					shared_tokens.c.
 *	shared_tokens.c	the cluster's token cache (shared_state.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONTACT_LIST_FDW_H
#define CONTACT_LIST_FDW_H

#include "postgres.h"

#include <curl/curl.h>

#include "page_parser.h"

#include "access/tupdesc.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/palloc.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

/* InitMaterializedSRF was called SetSingleFuncCall in PostgreSQL 15.0 */
#if PG_VERSION_NUM < 150001
#define InitMaterializedSRF(fcinfo, flags) SetSingleFuncCall(fcinfo, flags)
#endif

#define CLF_DEFAULT_API_URL			"https://qyapi.weixin.qq.com/cgi-bin"
#define CLF_DEFAULT_TIMEOUT_MS		30000
#define CLF_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define CLF_DEFAULT_PAGE_SIZE		1000
#define CLF_MAX_PAGE_SIZE			1000
#define CLF_DEFAULT_MAX_RETRIES		3
#define CLF_DEFAULT_MAX_RESPONSE_BYTES (64 * 1024 * 1024)
#define CLF_DEFAULT_REQUEST_COST	200.0
#define CLF_DEFAULT_ROW_COST		0.01
#define CLF_DEFAULT_ROWS_ESTIMATE	10000.0

/* The remote "schema" IMPORT FOREIGN SCHEMA understands, and its table. */
#define CLF_REMOTE_SCHEMA			"wecom"
#define CLF_REMOTE_TABLE			"contact_list"

/*
 * Everything a scan needs to know from the server, user mapping and table
 * options, resolved once per scan.
 */
typedef struct ClfOptions
{
	Oid			serverid;
	Oid			userid;			/* whose user mapping supplied the secrets */
	char	   *server_name;
	char	   *api_url;		/* without trailing slash */
	int			timeout_ms;
	int			connect_timeout_ms;
	int			page_size;
	int			max_retries;
	int64		max_response_bytes;
	char	   *proxy;
	char	   *ca_file;
	double		request_cost;
	double		row_cost;
	double		rows_estimate;	/* negative when not set */
	int			max_concurrent_requests;	/* across the cluster; 0: no limit */

	/* from the user mapping: corp_id + corp_secret, or access_token */
	char	   *corp_id;
	char	   *corp_secret;
	char	   *access_token;
	char	   *proxy_user;		/* for a proxy that asks for a password */
	char	   *proxy_password;
	uint8		secret_digest[PG_SHA256_DIGEST_LENGTH];	/* of corp_secret: the token
									 * cache's key */
	bool		have_user_mapping;
} ClfOptions;

/* Counters of one scan, shown by EXPLAIN ANALYZE and contact_list_fdw_scans(). */
typedef struct ClfScanStats
{
	int64		pages;
	int64		requests;		/* every HTTP request: pages, retries, tokens */
	int64		retries;
	int64		token_fetches;
	int64		rows;
	int64		bytes;
	double		network_ms;		/* wall time spent inside HTTP requests */
} ClfScanStats;

/* option.c */
extern void clf_options_init(void);
extern Datum contact_list_fdw_validator(PG_FUNCTION_ARGS);
extern void clf_options_for_server(Oid serverid, ClfOptions *opts);
extern void clf_options_for_table(Oid foreigntableid, ClfOptions *opts);
extern void clf_options_add_user_mapping(ClfOptions *opts, Oid userid);
extern char *clf_column_json_key(Oid relid, AttrNumber attnum,
								 const char *attname, bool *explicit_field);
extern bool clf_url_is_loopback_http(const char *url);

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
	const ClfOptions *opts;		/* timeouts, proxy, ca_file */
	const char *url;			/* may hold a credential: never shown */
	const char *body;			/* a JSON body to POST, or NULL for a GET */
	const char *what;			/* what is fetched, for messages */
	const char *token;			/* also kept out of messages, or NULL */
	size_t		max_bytes;		/* of the body, and of what its parse holds */
	bool		token_request;	/* a gettoken: the caller's report counts it
								 * apart */
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

/* wecom.c */
extern void clf_wecom_init(void);
extern void clf_fetch_page(const ClfOptions *opts, const char *cursor,
						   int limit, int64 page_no, ClfResponse *resp,
						   ClfScanStats *stats);
extern char *clf_endpoint_for_display(const ClfOptions *opts);
extern int	clf_retry_delay_ms;
extern int	clf_rate_limit_delay_ms;

/* redact.c */
extern char *clf_redact(const char *text, const ClfOptions *opts,
						const char *token, bool cut_short);
extern void clf_wipe(char *copy);

/* convert.c */
typedef enum ClfColumnKind
{
	CLF_COL_SKIP,				/* not needed by the query */
	CLF_COL_TEXT,
	CLF_COL_BOOL,
	CLF_COL_INT8,
	CLF_COL_INT4,
	CLF_COL_INT2,
	CLF_COL_TIMESTAMPTZ,
	CLF_COL_TIMESTAMP,
	CLF_COL_JSON_VALUE,			/* json/jsonb holding the key's value */
	CLF_COL_JSON_ITEM,			/* json/jsonb holding the whole item */
	CLF_COL_OTHER				/* through the type's input function */
} ClfColumnKind;

typedef struct ClfColumn
{
	ClfColumnKind kind;
	char	   *attname;
	char	   *json_key;
	Oid			typid;
	int32		typmod;
	FmgrInfo	input_fn;
	Oid			typioparam;
} ClfColumn;

typedef struct ClfRowConverter
{
	Oid			relid;
	char	   *relname;
	int			natts;
	ClfColumn  *columns;		/* natts entries, by attnum - 1 */
	int		   *needed;			/* attnums - 1 of the columns to convert */
	int			nneeded;
	/* where we are, for error context */
	int64		page_no;
	int64		item_no;
	int			current_column;	/* index into columns, or -1 */
	void	   *current_value;	/* json_object * being converted */
} ClfRowConverter;

extern ClfRowConverter *clf_converter_create(Relation rel, Bitmapset *attrs_used,
											 bool all_columns);
extern void clf_convert_item(ClfRowConverter *conv, void *item,
							 Datum *values, bool *isnull);
extern bool clf_is_known_json_key(const char *key);
extern char *clf_printable_text(const char *text, size_t maxbytes);

/* scan.c */
typedef struct ClfTraversal
{
	ClfOptions	opts;
	MemoryContext scan_cxt;		/* lives as long as the traversal */
	MemoryContext page_cxt;		/* reset for every page */
	MemoryContext cursor_cxt;	/* the cursors of the current traversal */
	ClfResponse resp;			/* the current page (json-c, malloc'd) */
	char	   *cursor;			/* for the next request; NULL before the first */
	struct HTAB *seen_cursors;	/* detects a cursor chain that loops */
	bool		started;
	bool		at_end;			/* the last page has been fetched */
	size_t		item_index;		/* next item of resp to return */
	int64		rows_wanted;	/* rows the executor will take at most; -1: all */
	int64		rows_returned;
	int64		pages_in_traversal;
	int64		log_id;			/* entry in contact_list_fdw_scans() */
	ClfScanStats stats;
	int			progress_slot;	/* row in contact_list_fdw_progress, or -1 */
	uint64		progress_serial;
} ClfTraversal;

extern ClfTraversal *clf_traversal_begin(const ClfOptions *opts,
										 MemoryContext parent, int64 rows_wanted);
extern void *clf_traversal_next(ClfTraversal *trav);
extern void clf_traversal_restart(ClfTraversal *trav);
extern void clf_traversal_end(ClfTraversal *trav);

/* how a scan ended: scan_events.c, scan_log.c, stats.c */
typedef enum ClfScanOutcome
{
	CLF_SCAN_RUNNING,
	CLF_SCAN_COMPLETE,
	CLF_SCAN_STOPPED_EARLY,
	CLF_SCAN_ERROR
} ClfScanOutcome;

#endif							/* CONTACT_LIST_FDW_H */
