/*-------------------------------------------------------------------------
 *
 * http.h
 *		  The transport: one HTTP request through libcurl on PostgreSQL's
 *		  latch, over a libcurl handle kept per foreign server; libcurl's
 *		  failures; cancellable sleeps.
 *
 * It knows nothing of WeCom: a body goes, as it arrives, to whatever the
 * caller hands it to.  It calls only redact.c below it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_HTTP_H
#define CLF_HTTP_H

/* ClfOptions, ClfScanStats: clf_common.h once the main header is split */
#include "clf_common.h"

#include "datatype/timestamp.h"

#include <curl/curl.h>

/*
 * Takes a 200 response's body a piece at a time, as it arrives, so that it
 * can be parsed while the rest is on the wire.  Only the consumer can tell
 * what its parse of the body would take: a body may pass max_bytes that
 * way long before its size does, and the caller hears of it as of a body
 * too large.
 */
typedef enum ClfBodyVerdict
{
	CLF_BODY_TAKEN,				/* go on */
	CLF_BODY_REFUSED,			/* refused, the consumer says why: stops
								 * (parse_failed) */
	CLF_BODY_TOO_LARGE			/* its parse would take more than max_bytes:
								 * stops (too_large, parse_too_large) */
} ClfBodyVerdict;

typedef ClfBodyVerdict (*ClfBodyConsumer) (void *arg, const char *data, size_t len);

/* What to send, where its answer goes, and how to speak of it. */
typedef struct ClfHttpRequest
{
	const ClfOptions *opts;		/* timeouts, proxy, ca_file */
	const char *url;			/* may hold a credential: never shown */
	const char *body;			/* a JSON body to POST, or NULL for a GET */
	const char *what;			/* what is fetched, for messages */
	const char *token;			/* also kept out of messages, or NULL */
	size_t		max_bytes;		/* of the body, and of what its parse holds */
	ClfBodyConsumer consume;	/* a 200 body goes there */
	void	   *consume_arg;
	bool		token_request;	/* a gettoken: the caller's report counts it
								 * apart, and stats its token_fetches */
	ClfScanStats *stats;		/* requests (token_fetches), bytes and
								 * network time added */
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
	long		proxy_error;	/* a SOCKS proxy's failure (CURLproxycode),
								 * or 0 */
	int64		retry_after_s;	/* the server's Retry-After, or 0 */
	size_t		bytes;			/* of the body */
	double		ms;				/* the exchange's wall time, once it ran */
	char		head[CLF_BODY_HEAD_LEN + 1];	/* the body's start */
	size_t		head_len;
	bool		resolved;		/* the host name was resolved */
	bool		connected;		/* a connection was made, or one kept alive
								 * took the request */
	bool		length_given;	/* the response said where its body ends
								 * (Content-Length, chunked, HTTP/2 or later) */
	bool		too_large;		/* a 200 body passed max_bytes: stopped */
	bool		parse_too_large;	/* too_large: by what its parse would
									 * take, before its size did */
	bool		body_dropped;	/* another status's body passed max_bytes:
								 * not read on, the status stands */
	bool		parse_failed;	/* a 200 body the consumer refused: stopped */
	/* libcurl's own failures (clf_http_report_failure reports them) */
	bool		proxy_refused;	/* the proxy (HTTP or SOCKS5) refused
								 * proxy_user/password, or wants them */
	bool		failed;			/* libcurl could not complete the request */
	bool		transient;		/* failed, and another try may succeed */
	bool		closed_early;	/* failed: a body without a length that the
								 * consumer found cut short */
	bool		proxy_cert_refused; /* failed: the certificate refused was the
									 * https:// proxy's, not the API's */
} ClfHttpOutcome;

extern void clf_http_init(void);
extern void clf_http_prepare(const ClfHttpRequest *hreq, ClfHttpOutcome *out);
extern void clf_http_perform(const ClfHttpRequest *hreq, ClfHttpOutcome *out);
extern bool clf_http_mark_cut_short(ClfHttpOutcome *out);
extern bool clf_http_request_went_out(Oid serverid);
extern char *clf_http_describe_failure(const ClfHttpRequest *hreq,
									   const ClfHttpOutcome *out);
extern void clf_http_report_failure(const ClfHttpRequest *hreq,
									const ClfHttpOutcome *out, int attempts);
extern void clf_http_sleep(int ms);

/* a transfer of a scan's own, driven from an asynchronous foreign scan */
typedef struct ClfHttpAsync ClfHttpAsync;

extern ClfHttpAsync *clf_http_async_create(MemoryContext cxt);
extern void clf_http_async_start(ClfHttpAsync *a, const ClfHttpRequest *hreq,
								 ClfHttpOutcome *out);
extern bool clf_http_async_step(ClfHttpAsync *a);
extern bool clf_http_async_drop(ClfHttpAsync *a);
extern bool clf_http_async_counts(const ClfHttpAsync *a);
extern bool clf_http_async_in_flight(const ClfHttpAsync *a);
extern bool clf_http_async_started(const ClfHttpAsync *a);
extern int	clf_http_async_socket(const ClfHttpAsync *a);
extern void clf_http_async_idle(ClfHttpAsync *a);
extern void clf_http_async_wake_at(ClfHttpAsync *a, TimestampTz when);
extern void clf_http_async_wait(ClfHttpAsync *a, long timeout_ms);
extern char *clf_http_url(const char *base, int nparams,
						  const char *const *names, const char *const *values);

#endif							/* CLF_HTTP_H */
