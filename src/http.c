/*-------------------------------------------------------------------------
 *
 * http.c
 *		  Requests to the WeCom API: libcurl's multi interface driven by
 *		  PostgreSQL's latch, retries that never skip or repeat a page, and
 *		  access tokens.
 *
 * Waiting happens in WaitEventSetWait on libcurl's sockets and our latch, so
 * a cancel or statement_timeout interrupts a request at once and the wait
 * shows in pg_stat_activity.  libcurl callbacks never raise a PostgreSQL
 * error (a longjmp through libcurl would corrupt it): they record what
 * happened and stop the transfer, and we report once libcurl has returned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "contact_list_fdw.h"
#include "shared_state.h"

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "mb/pg_wchar.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

int			clf_retry_delay_ms = 500;
int			clf_rate_limit_delay_ms = 15000;

#define CLF_MAX_RETRY_DELAY_MS		30000
#define CLF_MAX_RATE_LIMIT_DELAY_MS 60000
#define CLF_TOKEN_RESPONSE_MAX		(64 * 1024)
#define CLF_BODY_HEAD_LEN			200
/*
 * How often (in body bytes) to look at how much memory the parse holds.
 * mallinfo2() walks the allocator's free lists, which are long right after
 * a page's tree is freed, so ordinary pages (a few hundred kB) never ask:
 * the first reading, the baseline, is taken after 1 MB of body.  What the
 * first MB's tree holds (some 10 MB) is thus not counted against the cap.
 */
#define CLF_HEAP_CHECK_INTERVAL		(1024 * 1024)

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define CLF_HAVE_MALLINFO2 1
#endif

/* WeCom errcodes with a meaning for the client */
#define WECOM_SYSTEM_BUSY			(-1)
#define WECOM_INVALID_SECRET		40001
#define WECOM_INVALID_CORPID		40013
#define WECOM_INVALID_TOKEN			40014
#define WECOM_TOKEN_MISSING			41001
#define WECOM_TOKEN_EXPIRED			42001
#define WECOM_FREQUENCY_LIMIT		45009
#define WECOM_CONCURRENCY_LIMIT		45033
#define WECOM_API_FORBIDDEN			48002
#define WECOM_IP_NOT_TRUSTED		60020
#define WECOM_INVALID_PARAMETER		40058

static uint32 clf_wait_event = PG_WAIT_EXTENSION;

/* One HTTP exchange, as seen by the libcurl callbacks. */
typedef struct ClfRequest
{
	CURL	   *easy;
	ClfResponse *resp;
	long		http_status;	/* 0 until the first body byte */
	size_t		max_bytes;
	size_t		bytes;
	bool		too_large;
	bool		too_much_memory;	/* too_large, by the parsed tree's size */
	size_t		heap_base;		/* heap in use after the first MB, or 0 */
	size_t		next_heap_check;	/* body bytes at which to look again */
	bool		parse_failed;
	char		head[CLF_BODY_HEAD_LEN + 1];	/* start of a non-JSON body */
	size_t		head_len;
	CURLcode	result;
	char		curl_error[CURL_ERROR_SIZE];
	bool		resolved;		/* the host name was resolved */
	bool		connected;		/* a connection was made */
	int64		retry_after_s;	/* the server's Retry-After, or 0 */
	long		proxy_status;	/* the proxy's answer to CONNECT, or 0 */
} ClfRequest;

/* What one attempt came to, for retry decisions and messages. */
typedef enum ClfAttemptKind
{
	CLF_ATTEMPT_OK,				/* a JSON object; errcode is in resp */
	CLF_ATTEMPT_TRANSIENT,		/* worth another try on the same cursor */
	CLF_ATTEMPT_FATAL
} ClfAttemptKind;

/* What the caller is fetching, for messages. */
typedef struct ClfCall
{
	const ClfOptions *opts;
	const char *endpoint;		/* "gettoken" or "contact_list" */
	char	   *display_url;	/* never with a token or secret */
	char	   *url;			/* with them: never shown */
	const char *body;			/* POST body, or NULL for GET */
	const char *token;			/* to redact from anything shown */
	int64		page_no;		/* 0 for gettoken */
	ClfScanStats *stats;
} ClfCall;

static char *what_was_fetched(const ClfCall *call);

/* PostgreSQL 18 replaced the trailing attribute with a leading pg_noreturn */
#if PG_VERSION_NUM >= 180000
pg_noreturn static void report_multi_error(ClfConnection *conn, const char *what,
										   const char *call, CURLMcode rc);
#else
static void report_multi_error(ClfConnection *conn, const char *what,
							   const char *call, CURLMcode rc) pg_attribute_noreturn();
#endif

void
clf_http_init(void)
{
	CURLcode	rc = curl_global_init(CURL_GLOBAL_ALL);

	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not initialize libcurl: %s", curl_easy_strerror(rc))));

	DefineCustomIntVariable("contact_list_fdw.retry_delay_ms",
							"First wait before retrying a failed request.",
							"Later retries wait twice as long each time, up to 30 s.",
							&clf_retry_delay_ms, 500, 1, CLF_MAX_RETRY_DELAY_MS,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("contact_list_fdw.rate_limit_delay_ms",
							"First wait before retrying after WeCom's frequency limit (errcode 45009).",
							"Later retries wait twice as long each time, up to 60 s.",
							&clf_rate_limit_delay_ms, 15000, 1, CLF_MAX_RATE_LIMIT_DELAY_MS,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	MarkGUCPrefixReserved("contact_list_fdw");
#if PG_VERSION_NUM >= 170000
	clf_wait_event = 0;			/* allocated on first use */
#endif
}

static uint32
wait_event_info(void)
{
#if PG_VERSION_NUM >= 170000
	if (clf_wait_event == 0)
		clf_wait_event = WaitEventExtensionNew("ContactListFdwNetwork");
#endif
	return clf_wait_event;
}

/*
 * Bytes of malloc'd memory in use.  json-c builds the parsed tree with
 * malloc, about ten times the size of the JSON text, so a cap on the body
 * alone would let a 64 MB body take some 700 MB; max_response_bytes bounds
 * the tree too.  A backend is single-threaded, so what grows during a
 * transfer is that tree (and libcurl's small buffers).  0 where the C
 * library cannot tell.
 */
static size_t
heap_in_use(void)
{
#ifdef CLF_HAVE_MALLINFO2
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#else
	return 0;
#endif
}

static char *
redact(const char *text, const ClfCall *call)
{
	return clf_redact(text, call->opts, call->token, false);
}

/* Text from the network, redacted and made fit for a message. */
static char *
shown_text(const char *raw, const ClfCall *call)
{
	return clf_printable_text(redact(raw, call), SIZE_MAX);
}

/*
 * The DETAIL for a response that is reported: how it began.  Never for
 * gettoken, whose body may hold a fresh access token.
 */
static char *
body_excerpt(const ClfCall *call, const ClfRequest *req)
{
	if (call->page_no == 0 || req->head_len == 0)
		return NULL;
	return clf_printable_text(clf_redact(req->head, call->opts, call->token,
										 req->head_len == CLF_BODY_HEAD_LEN),
							  SIZE_MAX);
}

static size_t
write_callback(char *data, size_t size, size_t nmemb, void *userdata)
{
	ClfRequest *req = (ClfRequest *) userdata;
	size_t		len = size * nmemb;

	if (req->http_status == 0)
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->http_status);

	if (req->head_len < CLF_BODY_HEAD_LEN)
	{
		size_t		n = Min(len, CLF_BODY_HEAD_LEN - req->head_len);

		memcpy(req->head + req->head_len, data, n);
		req->head_len += n;
		req->head[req->head_len] = '\0';
	}

	req->bytes += len;
	if (req->bytes > req->max_bytes)
	{
		req->too_large = true;
		return 0;				/* stops the transfer */
	}
	/* an error page is not parsed: it is reported by its status */
	if (req->http_status != 200)
		return len;
	if (!clf_response_feed(req->resp, data, len))
	{
		req->parse_failed = true;
		return 0;
	}
	if (req->bytes >= req->next_heap_check)
	{
		size_t		heap = heap_in_use();

		req->next_heap_check = req->bytes + CLF_HEAP_CHECK_INTERVAL;
		if (req->heap_base == 0)
			req->heap_base = heap;
		else if (heap > req->heap_base && heap - req->heap_base > req->max_bytes)
		{
			req->too_large = true;
			req->too_much_memory = true;
			return 0;
		}
	}
	return len;
}

/*
 * The wait set of a connection: our latch, postmaster death and the sockets
 * libcurl asked for.  It is kept while libcurl's sockets stay the same (all
 * of a page, usually), and built again when they change.  It lives in
 * TopMemoryContext with the connection, so an error raised while waiting
 * leaks nothing.
 */
static WaitEventSet *
connection_wait_set(ClfConnection *conn)
{
	WaitEventSet *volatile set = NULL;

	if (conn->wait_set != NULL && !conn->sockets_changed)
		return conn->wait_set;
	if (conn->wait_set)
		FreeWaitEventSet(conn->wait_set);
	conn->wait_set = NULL;

	PG_TRY();
	{
#if PG_VERSION_NUM >= 170000
		set = CreateWaitEventSet(NULL, conn->nsockets + 2);
#else
		set = CreateWaitEventSet(TopMemoryContext, conn->nsockets + 2);
#endif
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (int i = 0; i < conn->nsockets; i++)
		{
			uint32		events = 0;

			if (conn->socket_what[i] & CURL_POLL_IN)
				events |= WL_SOCKET_READABLE;
			if (conn->socket_what[i] & CURL_POLL_OUT)
				events |= WL_SOCKET_WRITEABLE;
			if (events)
				AddWaitEventToSet(set, events, conn->sockets[i], NULL, NULL);
		}
	}
	PG_CATCH();
	{
		if (set)
			FreeWaitEventSet(set);
		PG_RE_THROW();
	}
	PG_END_TRY();

	conn->wait_set = set;
	conn->sockets_changed = false;
	return set;
}

/*
 * libcurl's threaded resolver starts a thread while we are inside libcurl,
 * and a new thread inherits its creator's signal mask.  PostgreSQL's
 * handlers (SIGALRM's handle_sig_alarm, SIGINT, SIGUSR1) must only run on
 * the backend's own thread: on another one they race it over
 * InterruptHoldoffCount and the timeout state.  So every signal is blocked
 * while libcurl runs; what arrives meanwhile is delivered, on this thread,
 * when the mask is restored.  A libcurl call returns quickly: it never
 * waits for the network, so this delays no cancel.
 */
static void
block_signals(sigset_t *saved)
{
	sigset_t	all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, saved);
}

static void
restore_signals(const sigset_t *saved)
{
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

/*
 * A failed libcurl multi call leaves the handles in a state we cannot
 * trust: the connection is made again for the next request.
 */
static void
report_multi_error(ClfConnection *conn, const char *what, const char *call, CURLMcode rc)
{
	conn->invalidated = true;
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("could not run the request for %s: %s failed: %s",
					what, call, curl_multi_strerror(rc))));
}

static void
socket_action(ClfConnection *conn, const char *what, curl_socket_t fd,
			  int flags, int *running)
{
	sigset_t	saved;
	CURLMcode	rc;

	block_signals(&saved);
	rc = curl_multi_socket_action(conn->multi, fd, flags, running);
	restore_signals(&saved);
	if (rc != CURLM_OK)
		report_multi_error(conn, what, "curl_multi_socket_action", rc);
}

/*
 * Drive the transfer until libcurl is done, sleeping on its sockets and our
 * latch.  libcurl's timers (connect and request timeouts among them) run
 * whenever their deadline has passed, however busy the latch is.
 */
static void
run_transfer(ClfConnection *conn, const char *what)
{
	uint32		wait_event = wait_event_info();
	int			running = 0;

	socket_action(conn, what, CURL_SOCKET_TIMEOUT, 0, &running);
	while (running > 0)
	{
		WaitEvent	occurred[CLF_MAX_WATCHED_SOCKETS + 2];
		curl_socket_t ready_fd[CLF_MAX_WATCHED_SOCKETS + 2];
		int			ready_flags[CLF_MAX_WATCHED_SOCKETS + 2];
		int			nready = 0;
		bool		latch_set = false;
		long		timeout = 1000;
		int			nevents;

		/* without a timer of its own, libcurl is waiting on a socket */
		if (conn->timer_deadline != 0)
			timeout = Min(timeout, Max(0, TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
																		  conn->timer_deadline)));

		nevents = WaitEventSetWait(connection_wait_set(conn), timeout, occurred,
								   lengthof(occurred), wait_event);

		for (int i = 0; i < nevents; i++)
		{
			if (occurred[i].events & WL_LATCH_SET)
				latch_set = true;
			else if (occurred[i].events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			{
				ready_fd[nready] = occurred[i].fd;
				ready_flags[nready] =
					((occurred[i].events & WL_SOCKET_READABLE) ? CURL_CSELECT_IN : 0) |
					((occurred[i].events & WL_SOCKET_WRITEABLE) ? CURL_CSELECT_OUT : 0);
				nready++;
			}
		}
		if (latch_set)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		for (int i = 0; i < nready; i++)
			socket_action(conn, what, ready_fd[i], ready_flags[i], &running);
		if (running > 0 &&
			(nready == 0 ||
			 (conn->timer_deadline != 0 && GetCurrentTimestamp() >= conn->timer_deadline)))
			socket_action(conn, what, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

/* What the handle knows about the finished transfer, before it is reset. */
static void
collect_info(CURL *easy, ClfRequest *req)
{
	curl_off_t	usecs = 0;

	if (req->http_status == 0)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &req->http_status);
	if (curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &usecs) == CURLE_OK)
		req->resolved = usecs > 0;
	usecs = 0;
	if (curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &usecs) == CURLE_OK)
		req->connected = usecs > 0;
	curl_easy_getinfo(easy, CURLINFO_HTTP_CONNECTCODE, &req->proxy_status);
#if LIBCURL_VERSION_NUM >= 0x074200
	{
		curl_off_t	retry_after = 0;

		if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
			retry_after > 0)
			req->retry_after_s = (int64) retry_after;
	}
#endif
}

/*
 * One HTTP exchange.  Fills req; raises for cancel, out-of-memory and
 * libcurl failing to run it.
 */
static void
perform_request(ClfCall *call, ClfConnection *conn, ClfRequest *req)
{
	CURL	   *easy = conn->easy;
	struct curl_slist *volatile headers = NULL;
	const ClfOptions *opts = call->opts;
	instr_time	start,
				duration;
	CURLMsg    *msg;
	int			left;
	CURLMcode	rc;
	sigset_t	saved;
	char	   *what = what_was_fetched(call);

	req->easy = easy;
	req->result = CURLE_OK;
	req->curl_error[0] = '\0';
	req->heap_base = 0;
	req->next_heap_check = CLF_HEAP_CHECK_INTERVAL;

	/* max_concurrent_requests: may wait; clf_request_done gives it back */
	clf_request_slot_acquire(opts);

	/* reset keeps the connection, DNS and TLS session caches */
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_URL, call->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* a cancel during name resolution must not wait for the resolver */
	curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
#endif
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) opts->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) opts->connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (opts->ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, opts->ca_file);
	/* only the proxy option, never the server process's environment */
	curl_easy_setopt(easy, CURLOPT_PROXY, opts->proxy ? opts->proxy : "");
	if (opts->proxy && opts->proxy_user)
	{
		curl_easy_setopt(easy, CURLOPT_PROXYUSERNAME, opts->proxy_user);
		curl_easy_setopt(easy, CURLOPT_PROXYPASSWORD, opts->proxy_password);
	}
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "contact_list_fdw/1.0");
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->curl_error);
	curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) req->max_bytes);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_callback);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
	if (call->body)
	{
		headers = curl_slist_append(NULL, "Content-Type: application/json");
		if (headers == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) strlen(call->body));
	}
	else
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);

	INSTR_TIME_SET_CURRENT(start);
	conn->timer_deadline = 0;
	block_signals(&saved);
	rc = curl_multi_add_handle(conn->multi, easy);
	restore_signals(&saved);
	if (rc != CURLM_OK)
	{
		curl_easy_reset(easy);
		curl_slist_free_all(headers);
		report_multi_error(conn, what, "curl_multi_add_handle", rc);
	}
	PG_TRY();
	{
		run_transfer(conn, what);
		while ((msg = curl_multi_info_read(conn->multi, &left)) != NULL)
		{
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy)
				req->result = msg->data.result;
		}
		collect_info(easy, req);
	}
	PG_FINALLY();
	{
		/* also on cancel: an unfinished transfer's connection is closed */
		rc = curl_multi_remove_handle(conn->multi, easy);

		/*
		 * The handle outlives req and headers.  Resetting it also frees
		 * libcurl's copies of the URL (token or secret) and of the proxy
		 * password, so a cached handle does not hold them between requests;
		 * the connection, DNS and TLS session caches stay.
		 */
		curl_easy_reset(easy);
		curl_slist_free_all(headers);
		INSTR_TIME_SET_CURRENT(duration);
		INSTR_TIME_SUBTRACT(duration, start);
		call->stats->network_ms += INSTR_TIME_GET_MILLISEC(duration);
		call->stats->requests++;
		if (rc != CURLM_OK)
			conn->invalidated = true;
		clf_request_done(opts, call->page_no == 0, req->bytes,
						 INSTR_TIME_GET_MILLISEC(duration), call->stats);
	}
	PG_END_TRY();
	if (rc != CURLM_OK)
		report_multi_error(conn, what, "curl_multi_remove_handle", rc);

	call->stats->bytes += req->bytes;
}

static bool
is_transient_curl_error(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_GOT_NOTHING:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_BAD_CONTENT_ENCODING:
			return true;
		default:
			return false;
	}
}

static bool
is_connect_error(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
		rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR ||
		rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
		rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR ||
		rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING;
}

/*
 * Our own words for the transport failures a user meets, for the primary
 * message: libcurl's own wording differs between releases ("Couldn't" in
 * 7.x, "Could not" in 8.x), so it goes last in the detail, quoted as
 * libcurl's.
 */
static const char *
transport_failure(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_COULDNT_CONNECT:
			return "could not connect";
		case CURLE_COULDNT_RESOLVE_HOST:
			return "could not resolve the host name";
		case CURLE_COULDNT_RESOLVE_PROXY:
			return "could not resolve the proxy's host name";
		case CURLE_SSL_CONNECT_ERROR:
			return "TLS handshake failed";
		case CURLE_PEER_FAILED_VERIFICATION:
			return "the server's TLS certificate could not be verified";
		case CURLE_SSL_CACERT_BADFILE:
			return "could not read the CA certificates";
		case CURLE_SEND_ERROR:
			return "could not send the request";
		case CURLE_RECV_ERROR:
			return "the connection failed while receiving the response";
		case CURLE_PARTIAL_FILE:
			return "the response ended early";
		case CURLE_GOT_NOTHING:
			return "the server closed the connection without answering";
		case CURLE_UNSUPPORTED_PROTOCOL:
			return "unsupported protocol";
		default:
			return curl_easy_strerror(rc);
	}
}

/* "page 3 of contact_list" or "gettoken", for messages */
static char *
what_was_fetched(const ClfCall *call)
{
	if (call->page_no > 0)
		return psprintf("page " INT64_FORMAT " of %s", call->page_no, call->display_url);
	return pstrdup(call->display_url);
}

/* A short description of a failed attempt, for DEBUG1 and final messages. */
static char *
describe_attempt(const ClfCall *call, const ClfRequest *req)
{
	if (req->result != CURLE_OK && !req->too_large && !req->parse_failed)
		return psprintf("%s (%s)", redact(req->curl_error[0] ? req->curl_error :
										  curl_easy_strerror(req->result), call),
						curl_easy_strerror(req->result));
	if (req->http_status != 200 && req->retry_after_s > 0)
		return psprintf("HTTP status %ld (Retry-After: " INT64_FORMAT " s)",
						req->http_status, req->retry_after_s);
	if (req->http_status != 200)
		return psprintf("HTTP status %ld", req->http_status);
	return psprintf("errcode " INT64_FORMAT " (%s)", req->resp->errcode,
					shown_text(req->resp->errmsg, call));
}

static void
report_transport_error(const ClfCall *call, const ClfRequest *req, int attempts)
{
	char	   *what = what_was_fetched(call);

	char	   *excerpt = body_excerpt(call, req);

	if ((req->too_large || req->result == CURLE_FILESIZE_EXCEEDED) && call->page_no == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response for %s is larger than %d bytes", what, CLF_TOKEN_RESPONSE_MAX),
				 errdetail("A gettoken response is a few hundred bytes."),
				 errhint("Check api_url: something other than WeCom may be answering.")));
	if (req->too_large || req->result == CURLE_FILESIZE_EXCEEDED)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response for %s is larger than max_response_bytes (" INT64_FORMAT " bytes)",
						what, call->opts->max_response_bytes),
				 req->too_much_memory
				 ? errdetail("After %zu bytes of the body, the parsed response took more memory than that.",
							 req->bytes)
				 : 0,
				 errhint("Raise the server option max_response_bytes, or lower page_size.")));

	/* tinyproxy answers 401 to a wrong password, others 407 */
	if (req->result != CURLE_OK && (req->proxy_status == 407 || req->proxy_status == 401))
	{
		if (call->opts->proxy_user == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not fetch %s: the proxy asks for a user name and password (HTTP status %ld)",
							what, req->proxy_status),
					 errhint("Set them with ALTER USER MAPPING ... OPTIONS (ADD proxy_user '...', ADD proxy_password '...').")));
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not fetch %s: the proxy did not accept proxy_user and proxy_password (HTTP status %ld)",
						what, req->proxy_status),
				 errhint("Correct them with ALTER USER MAPPING ... OPTIONS (SET proxy_user '...', SET proxy_password '...').")));
	}

	if (req->result != CURLE_OK && !req->parse_failed)
	{
		const char *reason = redact(req->curl_error[0] ? req->curl_error :
									curl_easy_strerror(req->result), call);

		/* before a connection was made, connect_timeout_ms was the limit */
		if (req->result == CURLE_OPERATION_TIMEDOUT && !req->connected)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not fetch %s: %s timed out", what,
							req->resolved ? "connecting" : "resolving the host name"),
					 errdetail_plural("%d attempt was made, limited by connect_timeout_ms (%d ms). libcurl reported: %s.",
									  "%d attempts were made, each limited by connect_timeout_ms (%d ms). libcurl reported: %s.",
									  attempts, attempts, call->opts->connect_timeout_ms, reason),
					 req->resolved
					 ? errhint("Check the network path to the API (or to the proxy), or raise the server option connect_timeout_ms.")
					 : errhint("Check the database host's DNS resolver (/etc/resolv.conf), or raise the server option connect_timeout_ms.")));
		if (req->result == CURLE_OPERATION_TIMEDOUT)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("request for %s timed out", what),
					 errdetail_plural("%d attempt was made, limited by timeout_ms (%d ms). libcurl reported: %s.",
									  "%d attempts were made, each limited by timeout_ms (%d ms). libcurl reported: %s.",
									  attempts, attempts, call->opts->timeout_ms, reason),
					 errhint("Check the network path to the API, or raise the server option timeout_ms.")));
		ereport(ERROR,
				(errcode(is_connect_error(req->result) ? ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION
						 : ERRCODE_FDW_ERROR),
				 errmsg("could not fetch %s: %s", what, transport_failure(req->result)),
				 errdetail_plural("%d attempt was made. libcurl reported: %s.",
								  "%d attempts were made. libcurl reported: %s.",
								  attempts, attempts, reason),
				 (req->result == CURLE_PEER_FAILED_VERIFICATION || req->result == CURLE_SSL_CACERT_BADFILE)
				 ? errhint("If a proxy inspects TLS, name its CA bundle in the server option ca_file.")
				 : call->opts->proxy
				 ? errhint("Requests go through the proxy (the server option proxy, or the setting contact_list_fdw.proxy): check that it runs, and that it can reach the API.")
				 : errhint("Check that the database host can reach the API (or the proxy option's proxy).")));
	}

	if (req->http_status >= 300 && req->http_status < 400)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s answered with a redirect (HTTP status %ld), which is not followed",
						what, req->http_status),
				 errdetail("A redirect could send the access token to another host."),
				 errhint("Check api_url: it should be the API's own address, such as %s.",
						 CLF_DEFAULT_API_URL)));
	if (req->http_status != 200)
	{
		StringInfoData detail;

		initStringInfo(&detail);
		if (attempts > 1)
			appendStringInfo(&detail, "%d attempts were made.", attempts);
		if (excerpt)
			appendStringInfo(&detail, "%sThe response began with \"%s\".",
							 detail.len ? " " : "", excerpt);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s answered with HTTP status %ld", what, req->http_status),
				 detail.len ? errdetail_internal("%s", detail.data) : 0,
				 req->http_status >= 500 || req->http_status == 429
				 ? errhint("The API or a gateway in front of it is failing: try again later, or raise max_retries.")
				 : errhint("Check api_url and the proxy option: something other than the WeCom API may be answering.")));
	}

	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("invalid response for %s: %s", what, req->resp->message),
			 excerpt ? errdetail("The response began with \"%s\".", excerpt) : 0,
			 errhint("A proxy or gateway between the database and WeCom may have answered instead of WeCom.")));
}

/*
 * The wait a 429 or 503 asked for with Retry-After, honoured as a rate
 * limit: at least the ordinary backoff, at most the longest rate-limit wait
 * of this attempt (rate_limit_delay_ms doubled per retry, up to 60 s), so
 * a server cannot park a query for an hour.
 */
static int
retry_after_ms(int attempt, int64 retry_after_s, int backoff)
{
	int64		cap = clf_rate_limit_delay_ms;
	int64		wanted;

	/* the header is the server's: an absurd value must not overflow */
	wanted = retry_after_s >= CLF_MAX_RATE_LIMIT_DELAY_MS / 1000
		? CLF_MAX_RATE_LIMIT_DELAY_MS : retry_after_s * 1000;

	for (int i = 0; i < attempt && cap < CLF_MAX_RATE_LIMIT_DELAY_MS; i++)
		cap *= 2;
	cap = Min(cap, CLF_MAX_RATE_LIMIT_DELAY_MS);
	return (int) Max((int64) backoff, Min(wanted, cap));
}

static int
backoff_ms(int attempt, bool rate_limited)
{
	int64		base = rate_limited ? clf_rate_limit_delay_ms : clf_retry_delay_ms;
	int64		cap = rate_limited ? CLF_MAX_RATE_LIMIT_DELAY_MS : CLF_MAX_RETRY_DELAY_MS;
	int64		delay = base;

	for (int i = 0; i < attempt && delay < cap; i++)
		delay *= 2;
	delay = Min(delay, cap);
	/* jitter keeps concurrent backends from retrying in lockstep */
	return (int) (delay / 2 + pg_prng_double(&pg_global_prng_state) * (delay / 2));
}

/* Sleep on the latch, so cancel and statement_timeout end the wait. */
static void
interruptible_sleep(int ms)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, wait_event_info());
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Make the request until it yields a JSON object, retrying what is worth
 * retrying.  Retries always repeat the same URL and body, so a traversal
 * never skips or repeats a page.  On return resp holds the response with
 * its errcode read; errcodes other than the retried ones are the caller's.
 */
static pg_noinline void
call_with_retries(ClfCall *call, ClfResponse *resp)
{
	ClfConnection *conn;
	ClfRequest	req;
	int			attempt;

	for (attempt = 0;; attempt++)
	{
		ClfAttemptKind kind;
		bool		rate_limited = false;
		int			delay;

		memset(&req, 0, sizeof(req));
		req.resp = resp;
		req.max_bytes = call->page_no > 0 ? (size_t) call->opts->max_response_bytes
			: CLF_TOKEN_RESPONSE_MAX;
		clf_response_reset(resp);
		resp->max_bytes = req.max_bytes;

		/* looked up each time: an invalidation may have closed it */
		conn = clf_get_connection(call->opts);
		perform_request(call, conn, &req);

		if (req.too_large || req.result == CURLE_FILESIZE_EXCEEDED)
			kind = CLF_ATTEMPT_FATAL;
		else if (req.result != CURLE_OK &&
				 (req.proxy_status == 407 || req.proxy_status == 401))
			kind = CLF_ATTEMPT_FATAL;	/* the same credentials fail again */
		else if (req.result != CURLE_OK && !req.parse_failed)
			kind = is_transient_curl_error(req.result) ? CLF_ATTEMPT_TRANSIENT : CLF_ATTEMPT_FATAL;
		else if (req.http_status == 429 || (req.http_status >= 500 && req.http_status < 600))
			kind = CLF_ATTEMPT_TRANSIENT;
		else if (req.http_status != 200 || req.parse_failed ||
				 !clf_response_finish(resp) || !clf_response_check_status(resp))
			kind = CLF_ATTEMPT_FATAL;
		else if (resp->errcode == WECOM_SYSTEM_BUSY || resp->errcode == WECOM_CONCURRENCY_LIMIT)
			kind = CLF_ATTEMPT_TRANSIENT;
		else if (resp->errcode == WECOM_FREQUENCY_LIMIT)
		{
			kind = CLF_ATTEMPT_TRANSIENT;
			rate_limited = true;
		}
		else
			kind = CLF_ATTEMPT_OK;

		if (kind == CLF_ATTEMPT_OK)
			return;
		if (kind == CLF_ATTEMPT_FATAL)
			report_transport_error(call, &req, attempt + 1);

		if (attempt >= call->opts->max_retries)
		{
			if (req.http_status == 200 && req.result == CURLE_OK)
				break;			/* an API errcode: reported below */
			report_transport_error(call, &req, attempt + 1);
		}

		delay = backoff_ms(attempt, rate_limited);
		if (req.retry_after_s > 0 && (req.http_status == 429 || req.http_status == 503))
			delay = retry_after_ms(attempt, req.retry_after_s, delay);
		ereport(DEBUG1,
				(errmsg_internal("contact_list_fdw: %s failed with %s; retry %d of %d in %d ms",
								 what_was_fetched(call), describe_attempt(call, &req),
								 attempt + 1, call->opts->max_retries, delay)));
		call->stats->retries++;
		clf_note_retry(call->opts, req.result != CURLE_OK && !req.parse_failed ? (int) req.result : 0,
					   req.http_status, resp->errcode, delay, describe_attempt(call, &req));
		interruptible_sleep(delay);
	}

	/* retries ran out (or were off) on a busy or rate-limited API */
	if (attempt == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("%s failed: WeCom errcode " INT64_FORMAT ": %s",
						what_was_fetched(call), resp->errcode, shown_text(resp->errmsg, call)),
				 errdetail("It was not retried, as max_retries is 0."),
				 resp->errcode == WECOM_FREQUENCY_LIMIT
				 ? errhint("The app hit WeCom's call frequency limit; its block lasts the limit's window. Run fewer scans at once, or later.")
				 : errhint("WeCom is busy; try again later, or raise max_retries.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("%s failed after %d attempts: WeCom errcode " INT64_FORMAT ": %s",
					what_was_fetched(call), attempt + 1, resp->errcode,
					shown_text(resp->errmsg, call)),
			 resp->errcode == WECOM_FREQUENCY_LIMIT
			 ? errhint("The app hit WeCom's call frequency limit; its block lasts the limit's window. Run fewer scans at once, or later.")
			 : errhint("WeCom is busy; try again later, or raise max_retries.")));
}

static void
report_api_error(const ClfCall *call, const ClfResponse *resp)
{
	char	   *what = what_was_fetched(call);
	char	   *errmsg_text = shown_text(resp->errmsg, call);
	const char *server = call->opts->server_name;

	switch (resp->errcode)
	{
		case WECOM_INVALID_SECRET:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("WeCom rejected corp_secret for server \"%s\": errcode 40001: %s",
							server, errmsg_text),
					 errdetail("The corp_secret of the user mapping is wrong, was reset, or its app is disabled."),
					 errhint("Copy the app's current Secret from the WeCom admin console into ALTER USER MAPPING ... OPTIONS (SET corp_secret '...').")));
			break;
		case WECOM_INVALID_CORPID:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("WeCom rejected corp_id \"%s\" for server \"%s\": errcode 40013: %s",
							call->opts->corp_id, server, errmsg_text),
					 errhint("Set corp_id in the user mapping to the CorpID shown under My Company in the WeCom admin console.")));
			break;
		case WECOM_INVALID_TOKEN:
		case WECOM_TOKEN_MISSING:
		case WECOM_TOKEN_EXPIRED:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("WeCom rejected the access token for %s: errcode " INT64_FORMAT ": %s",
							what, resp->errcode, errmsg_text),
					 call->opts->access_token
					 ? errhint("The access_token in the user mapping is invalid or expired: update it with ALTER USER MAPPING, or use corp_id and corp_secret so that tokens are fetched as needed.")
					 : errhint("A fresh token was fetched and rejected as well; check that the app's Secret belongs to corp_id.")));
			break;
		case WECOM_API_FORBIDDEN:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("WeCom refused %s: errcode 48002: %s", what, errmsg_text),
					 errdetail("The app is not allowed to call the customer-contact APIs."),
					 errhint("In the WeCom admin console, add the app under Customer Contact > API > apps that may call the APIs (客户联系 可调用接口的应用), and use that app's Secret.")));
			break;
		case WECOM_IP_NOT_TRUSTED:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("WeCom refused %s: errcode 60020: %s", what, errmsg_text),
					 errdetail("The request came from an IP address that is not a trusted IP of the app."),
					 errhint("Add the database host's public egress IP (or that of the server option proxy) to the app's trusted IPs in the WeCom admin console.")));
			break;
		case WECOM_INVALID_PARAMETER:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("WeCom rejected the request for %s as invalid: errcode 40058: %s",
							what, errmsg_text),
					 call->page_no > 1
					 ? errhint("The cursor may have expired; run the query again.")
					 : 0));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("WeCom returned an error for %s: errcode " INT64_FORMAT ": %s",
							what, resp->errcode, errmsg_text),
					 errhint("Look the errcode up in WeCom's global error code list.")));
	}
}

static char *
escape_query_value(const char *value)
{
	char	   *escaped = curl_easy_escape(NULL, value, 0);
	char	   *result;

	if (escaped == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	/* a secret or a token, escaped: wiped however this ends */
	PG_TRY();
	{
		result = pstrdup(escaped);
	}
	PG_FINALLY();
	{
		explicit_bzero(escaped, strlen(escaped));
		curl_free(escaped);
	}
	PG_END_TRY();
	return result;
}

static void
forget_url(ClfCall *call)
{
	clf_wipe(call->url);
	call->url = NULL;
}

/*
 * The token to use: the user mapping's fixed one, a cached one, or a new
 * one from gettoken.  The result is a palloc'd copy.
 */
static char *
get_token(const ClfOptions *opts, ClfScanStats *stats)
{
	const char *cached;
	ClfCall		call;
	ClfResponse resp;
	char	   *volatile token = NULL;
	char	   *corp_id;
	char	   *secret;

	if (opts->access_token)
		return pstrdup(opts->access_token);
	cached = clf_cached_token(opts);
	if (cached)
		return pstrdup(cached);

	memset(&call, 0, sizeof(call));
	call.opts = opts;
	call.endpoint = "gettoken";
	call.display_url = psprintf("%s/gettoken", opts->api_url);
	corp_id = escape_query_value(opts->corp_id);
	secret = escape_query_value(opts->corp_secret);
	call.url = psprintf("%s/gettoken?corpid=%s&corpsecret=%s", opts->api_url,
						corp_id, secret);
	clf_wipe(secret);
	pfree(corp_id);
	call.stats = stats;
	clf_response_init(&resp, CLF_TOKEN_RESPONSE_MAX);

	PG_TRY();
	{
		stats->token_fetches++;
		call_with_retries(&call, &resp);
		if (resp.errcode != 0)
			report_api_error(&call, &resp);
		if (!clf_response_check_token(&resp))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("invalid response from %s: %s", call.display_url, resp.message)));
		clf_remember_token(opts, resp.access_token,
						   (int) Max(0, Min(resp.expires_in, 86400)));
		token = pstrdup(resp.access_token);
	}
	PG_FINALLY();
	{
		/* json-c's copy of the new token, in the parsed response */
		if (resp.access_token)
			explicit_bzero((char *) resp.access_token, strlen(resp.access_token));
		clf_response_release(&resp);
		forget_url(&call);
	}
	PG_END_TRY();
	return token;
}

/* The URL holds the token: wipe it whatever happens. */
static void
call_forgetting_url(ClfCall *call, ClfResponse *resp)
{
	PG_TRY();
	{
		call_with_retries(call, resp);
	}
	PG_FINALLY();
	{
		forget_url(call);
	}
	PG_END_TRY();
}

static bool
is_token_error(int64 errcode)
{
	return errcode == WECOM_INVALID_TOKEN || errcode == WECOM_TOKEN_MISSING ||
		errcode == WECOM_TOKEN_EXPIRED;
}

/*
 * Fetch one contact_list page into resp, which on return holds a checked
 * page.  A token WeCom rejects is replaced once and the page asked again.
 */
void
clf_fetch_page(const ClfOptions *opts, const char *cursor, int limit,
			   int64 page_no, ClfResponse *resp, ClfScanStats *stats)
{
	ClfCall		call;
	StringInfoData body;
	bool		token_replaced = false;

	memset(&call, 0, sizeof(call));
	call.opts = opts;
	call.endpoint = "contact_list";
	call.display_url = clf_endpoint_for_display(opts);
	call.page_no = page_no;
	call.stats = stats;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"cursor\":");
	escape_json(&body, cursor ? cursor : "");
	appendStringInfo(&body, ",\"limit\":%d}", limit);
	call.body = body.data;

	for (;;)
	{
		char	   *volatile token = get_token(opts, stats);
		volatile bool done = false;

		/* the token copy is wiped however the request ends */
		PG_TRY();
		{
			char	   *escaped = escape_query_value(token);

			call.token = token;
			call.url = psprintf("%s?access_token=%s", call.display_url, escaped);
			clf_wipe(escaped);
			call_forgetting_url(&call, resp);

			if (resp->errcode == 0)
			{
				if (!clf_response_check_page(resp))
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
							 errmsg("invalid response for page " INT64_FORMAT " of %s: %s",
									page_no, call.display_url, resp->message)));
				done = true;
			}
			else if (!is_token_error(resp->errcode) || opts->access_token != NULL ||
					 token_replaced)
				report_api_error(&call, resp);
		}
		PG_FINALLY();
		{
			call.token = NULL;
			clf_wipe(token);
		}
		PG_END_TRY();

		if (done)
		{
			stats->pages++;
			return;
		}
		ereport(DEBUG1,
				(errmsg_internal("contact_list_fdw: token rejected with errcode " INT64_FORMAT ", fetching a new one",
								 resp->errcode)));
		clf_forget_token(opts);
		token_replaced = true;
	}
}
