/*-------------------------------------------------------------------------
 *
 * http.c
 *		  The transport: one HTTP request through libcurl's multi interface,
 *		  driven by PostgreSQL's latch, and cancellable sleeps.  Owns the
 *		  libcurl handle kept per foreign server (so one keep-alive
 *		  connection and TLS session serve every page and query), its
 *		  invalidation when the server's options change and its closing at
 *		  the end of the transaction that dropped (or rolled back) the server.
 *
 * It is handed what to send, the limits and the words for its messages
 * (ClfHttpRequest), and says what came of one request (ClfHttpOutcome).  It
 * knows nothing of WeCom: which URL to ask, what the answer means and
 * whether to try again are wecom.c's.  It reports the failures libcurl
 * itself met (clf_http_report_failure).  A 200 body goes, as it arrives, to
 * the consumer the request names (the page parser, for wecom.c).  Below it
 * is only redact.c.
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
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "http.h"
#include "redact.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

static uint32 clf_wait_event = PG_WAIT_EXTENSION;

/* One HTTP exchange, as seen by the libcurl callbacks. */
typedef struct ClfTransfer
{
	CURL	   *easy;
	ClfBodyConsumer consume;
	void	   *consume_arg;
	size_t		max_bytes;
	ClfHttpOutcome *out;		/* what the callbacks saw */
} ClfTransfer;

/*
 * The sockets libcurl asks us to watch have no fixed number.  Besides the
 * transfer's own (happy eyeballs may use two, and libcurl 8.23 adds one of
 * its own handle's), libcurl 8.9 and later hand us those of the
 * connections they are closing: a TLS connection the server said it would
 * close (Connection: close) is shut down properly (close_notify), its
 * socket watched until the server's side ends or about 2 s have passed,
 * and let go only when libcurl next runs (8.23 sometimes later still).  A
 * server that answers every page with "Connection: close" and is slow to
 * let go so leaves one socket for each page of those seconds, however
 * many: a fixed number failed the page after them.  So the list grows as
 * needed, from room for this many.
 */
#define CLF_FIRST_WATCHED_SOCKETS 4

/*
 * At most this many events one wait returns: the wait sets are
 * level-triggered, so what is still ready comes with the next wait.
 */
#define CLF_EVENTS_PER_WAIT 8

/* A socket libcurl asked us to watch, and for what (CURL_POLL_*). */
typedef struct ClfWatchedSocket
{
	curl_socket_t sock;
	int			what;
} ClfWatchedSocket;

/*
 * Names the release (META.json's version), so that the owner of a proxy or
 * of the API's logs can tell which build called.  test/check_meta.py fails
 * when the two differ.
 */
#define CLF_USER_AGENT "contact_list_fdw/1.4.0"

/*
 * A libcurl handle kept per foreign server, in TopMemoryContext: one
 * keep-alive connection and TLS session serve every page and query.
 *
 * An invalidated handle is closed, and its entry removed, at the end of the
 * transaction (or by the next request for its server, whichever comes
 * first): a dropped server has no next request, and its keep-alive
 * connection and libcurl's own descriptors would stay for the session's
 * life.  Never while a transfer runs on it.
 */
typedef struct ClfConnection
{
	Oid			serverid;		/* hash key */
	uint32		server_hash;	/* syscache hash of the server, for invalidation */
	bool		invalidated;	/* server options changed: rebuild before use */
	bool		server_uncommitted; /* made from a server row this transaction
									 * wrote: goes if it rolls back */
	bool		in_transfer;	/* clf_http_perform is running on it */
	CURL	   *easy;
	CURLM	   *multi;
	int			nsockets;
	int			max_sockets;	/* room in sockets */
	ClfWatchedSocket *sockets;	/* in TopMemoryContext, or NULL */
	TimestampTz timer_deadline; /* when libcurl wants its timeout action; 0:
								 * none */
	struct WaitEventSet *wait_set;	/* the latch and the sockets above */
	bool		sockets_changed;	/* wait_set must be built again */
	bool		sockets_out_of_memory;	/* why socket_callback failed libcurl */
	/* digest of the credentials (the mapping's, its proxy's) its requests carried */
	uint8		credentials[PG_SHA256_DIGEST_LENGTH];
} ClfConnection;

static HTAB *connections = NULL;

/* libcurl tells the callbacks, with data, what to wait for and until when. */
static CURLMcode
hand_over_waits(CURLM *multi, curl_socket_callback on_socket,
				curl_multi_timer_callback on_timer, void *data)
{
	CURLMcode	rc;

	if ((rc = curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket)) != CURLM_OK ||
		(rc = curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, data)) != CURLM_OK ||
		(rc = curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer)) != CURLM_OK)
		return rc;
	return curl_multi_setopt(multi, CURLMOPT_TIMERDATA, data);
}

/* When libcurl wants its timeout action, timeout_ms from now; 0: never. */
static TimestampTz
curl_deadline(long timeout_ms)
{
	return timeout_ms < 0 ? 0
		: TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
}

/*
 * Room for twice as many sockets as conn has room for (or the first few).
 * It runs inside libcurl, so it raises no error: false when there is no
 * memory for it.
 */
static bool
grow_sockets(ClfConnection *conn)
{
	int			n = conn->max_sockets > 0 ? conn->max_sockets * 2 : CLF_FIRST_WATCHED_SOCKETS;
	ClfWatchedSocket *sockets;

#ifdef CLF_FAULT_INJECTION
	if (fault_at("watch_socket"))
		return false;
#endif
	sockets = MemoryContextAllocExtended(TopMemoryContext, n * sizeof(ClfWatchedSocket),
										 MCXT_ALLOC_NO_OOM);
	if (sockets == NULL)
		return false;
	if (conn->sockets)
	{
		memcpy(sockets, conn->sockets, conn->nsockets * sizeof(ClfWatchedSocket));
		pfree(conn->sockets);
	}
	conn->sockets = sockets;
	conn->max_sockets = n;
	return true;
}

static int
socket_callback(CURL *easy, curl_socket_t sock, int what, void *userp, void *socketp)
{
	ClfConnection *conn = (ClfConnection *) userp;
	int			i;

	for (i = 0; i < conn->nsockets; i++)
		if (conn->sockets[i].sock == sock)
			break;

	conn->sockets_changed = true;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < conn->nsockets)
			conn->sockets[i] = conn->sockets[--conn->nsockets];
		return 0;
	}
	if (i == conn->nsockets)
	{
		/* libcurl aborts, and socket_action reports why */
		if (conn->nsockets == conn->max_sockets && !grow_sockets(conn))
		{
			conn->sockets_out_of_memory = true;
			return -1;
		}
		conn->nsockets++;
		conn->sockets[i].sock = sock;
	}
	conn->sockets[i].what = what;
	return 0;
}

static int
timer_callback(CURLM *multi, long timeout_ms, void *userp)
{
	ClfConnection *conn = (ClfConnection *) userp;

	conn->timer_deadline = curl_deadline(timeout_ms);
	return 0;
}

static void
close_connection(ClfConnection *conn)
{
	if (conn->wait_set)
		FreeWaitEventSet(conn->wait_set);
	conn->wait_set = NULL;
	if (conn->multi)
		curl_multi_cleanup(conn->multi);
	if (conn->easy)
		curl_easy_cleanup(conn->easy);
	/* after libcurl's cleanup, which may still tell us of sockets it closes */
	if (conn->sockets)
		pfree(conn->sockets);
	conn->sockets = NULL;
	conn->max_sockets = 0;
	conn->multi = NULL;
	conn->easy = NULL;
	conn->nsockets = 0;
	conn->timer_deadline = 0;
}

static void
open_connection(ClfConnection *conn)
{
	CURLMcode	rc;

	conn->easy = curl_easy_init();
	conn->multi = curl_multi_init();
	if (conn->easy == NULL || conn->multi == NULL)
	{
		close_connection(conn);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	}
	if ((rc = hand_over_waits(conn->multi, socket_callback, timer_callback, conn)) != CURLM_OK)
	{
		close_connection(conn);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not set up a libcurl handle: %s", curl_multi_strerror(rc))));
	}
	conn->nsockets = 0;
	conn->timer_deadline = 0;
	conn->invalidated = false;
	conn->in_transfer = false;
}

static void
server_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	ClfConnection *conn;

	if (connections == NULL)
		return;
	hash_seq_init(&scan, connections);
	while ((conn = (ClfConnection *) hash_seq_search(&scan)) != NULL)
	{
		if (hashvalue == 0 || conn->server_hash == hashvalue)
			conn->invalidated = true;
	}
}

/*
 * At the end of a transaction, close the handles of servers that changed or
 * went, so that a session creating and dropping servers does not keep a
 * connection per dropped server.  A server created (or altered) by a
 * transaction that rolls back is invalidated only after the abort's
 * callbacks ran, so such a handle is told by the row it was made from.  A
 * transfer still running here (a FATAL raised inside it exits without
 * unwinding) keeps its handle: the process is ending anyway.
 */
static void
connections_at_xact_end(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS scan;
	ClfConnection *conn;
	bool		commit;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			commit = true;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction may yet roll back */
			commit = false;
			break;
		default:
			return;
	}
	if (connections == NULL)
		return;
	hash_seq_init(&scan, connections);
	while ((conn = (ClfConnection *) hash_seq_search(&scan)) != NULL)
	{
		if (!commit && conn->server_uncommitted)
			conn->invalidated = true;
		conn->server_uncommitted = false;
		if (conn->invalidated && !conn->in_transfer)
		{
			close_connection(conn);
			/* removing the entry just returned is allowed during a scan */
			hash_search(connections, &conn->serverid, HASH_REMOVE, NULL);
		}
	}
}

/* Whether serverid's catalog row was written by this transaction. */
static bool
server_row_uncommitted(Oid serverid)
{
	HeapTuple	tup = SearchSysCache1(FOREIGNSERVEROID, ObjectIdGetDatum(serverid));
	bool		mine;

	if (!HeapTupleIsValid(tup))
		return true;			/* gone already: let the transaction's end close it */
	mine = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
	ReleaseSysCache(tup);
	return mine;
}

/*
 * The digest of every credential a request of opts can carry: the user
 * mapping's corp_id, corp_secret and access_token, and what it gives its
 * proxy (proxy_user and proxy_password, or none: no proxy, or no
 * proxy_user).  Never the credentials themselves: the handle outlives the
 * request.
 */
static void
credentials_digest(const ClfOptions *opts, uint8 *digest)
{
	bool		given = opts->proxy != NULL && opts->proxy_user != NULL;
	const char *user = given ? opts->proxy_user : "";
	const char *password = given && opts->proxy_password ? opts->proxy_password : "";
	const char *corp_id = opts->corp_id ? opts->corp_id : "";
	const char *corp_secret = opts->corp_secret ? opts->corp_secret : "";
	const char *access_token = opts->access_token ? opts->access_token : "";
	const void *parts[] = {&given, user, password, corp_id, corp_secret, access_token};

	/* each terminator too: "ab" + "c" is not "a" + "bc" */
	size_t		lengths[] = {sizeof(given), strlen(user) + 1, strlen(password) + 1,
		strlen(corp_id) + 1, strlen(corp_secret) + 1, strlen(access_token)};

	clf_sha256(lengthof(parts), parts, lengths, digest);
}

/*
 * The handle kept for opts's server, made (again) if there is none, the
 * server's options changed since, or its requests carried other
 * credentials.
 */
static ClfConnection *
get_connection(const ClfOptions *opts)
{
	ClfConnection *conn;
	bool		found;
	uint8		credentials[PG_SHA256_DIGEST_LENGTH];

	if (connections == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ClfConnection);
		ctl.hcxt = TopMemoryContext;
		connections = hash_create("contact_list_fdw connections", 8, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	conn = hash_search(connections, &opts->serverid, HASH_ENTER, &found);
	if (!found)
	{
		conn->easy = NULL;
		conn->multi = NULL;
		conn->wait_set = NULL;
		conn->sockets = NULL;
		conn->max_sockets = 0;
		conn->nsockets = 0;
		conn->server_hash = GetSysCacheHashValue1(FOREIGNSERVEROID,
												  ObjectIdGetDatum(opts->serverid));
		conn->invalidated = false;
		conn->in_transfer = false;
	}
	if (conn->invalidated)
		close_connection(conn);

	/*
	 * A proxy that asks for a password lets a connection in once, with the
	 * credentials of the request that opened it (a CONNECT tunnel, a SOCKS5
	 * handshake), and libcurl before 8.19 (CVE-2026-3784) reuses that
	 * connection for a request giving other ones: a role reading the server
	 * after another role, through a view of the other's say, would go out on
	 * the other's proxy account, its own wrong password never tried.  So all
	 * the handle keeps was made with one set of proxy credentials, whatever
	 * libcurl's matching: a request with another set closes it, and with it
	 * every connection it kept, first.  The same goes for the mapping's own
	 * credentials: a gateway that quotes a connection's earlier requests in
	 * its answer (its diagnostics, say) would show one role the corp_secret
	 * or token of another, and a role's redaction knows only its own.
	 */
	credentials_digest(opts, credentials);
	if (conn->easy != NULL &&
		memcmp(conn->credentials, credentials, sizeof(credentials)) != 0)
		close_connection(conn);
	if (conn->easy == NULL)
	{
		PG_TRY();
		{
			conn->server_uncommitted = server_row_uncommitted(opts->serverid);
			open_connection(conn);
		}
		PG_CATCH();
		{
			hash_search(connections, &opts->serverid, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
		memcpy(conn->credentials, credentials, sizeof(credentials));
	}
	return conn;
}

/* PostgreSQL 18 replaced the trailing attribute with a leading pg_noreturn */
#if PG_VERSION_NUM >= 180000
pg_noreturn static void report_multi_error(const char *what, const char *call,
										   CURLMcode rc);
#else
static void report_multi_error(const char *what, const char *call,
							   CURLMcode rc) pg_attribute_noreturn();
#endif

void
clf_http_init(void)
{
	CURLcode	rc;
	char	   *keylog = getenv("SSLKEYLOGFILE");

	/*
	 * libcurl opens the file SSLKEYLOGFILE names when it starts, and writes
	 * every TLS session's keys there: anybody who can read it can read the
	 * corp_secret and the tokens off the wire.  So it starts without it; the
	 * environment is put back for everybody else.
	 */
	if (keylog)
	{
		keylog = pstrdup(keylog);
		unsetenv("SSLKEYLOGFILE");
	}
#ifdef CLF_FAULT_INJECTION
	if (fault_at("curl_global_init"))
		rc = CURLE_FAILED_INIT;
	else
#endif
		rc = curl_global_init(CURL_GLOBAL_ALL);
	if (keylog)
	{
		setenv("SSLKEYLOGFILE", keylog, 1);
		pfree(keylog);
	}
	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not initialize libcurl: %s", curl_easy_strerror(rc))));
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, server_changed, (Datum) 0);
	RegisterXactCallback(connections_at_xact_end, NULL);
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

static char *
redact(const char *text, const ClfHttpRequest *hreq)
{
	return clf_redact(text, hreq->opts, hreq->token, false);
}

static size_t
write_callback(char *data, size_t size, size_t nmemb, void *userdata)
{
	ClfTransfer *t = (ClfTransfer *) userdata;
	ClfHttpOutcome *out = t->out;
	size_t		len = size * nmemb;

	if (out->http_status == 0)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &out->http_status);

	if (out->head_len < CLF_BODY_HEAD_LEN)
	{
		size_t		n = Min(len, CLF_BODY_HEAD_LEN - out->head_len);

		memcpy(out->head + out->head_len, data, n);
		out->head_len += n;
		out->head[out->head_len] = '\0';
	}

	out->bytes += len;

	/*
	 * An error page is not parsed: it is reported by its status, and only
	 * its start is kept.  However large (a gateway's page), it is not a
	 * response too large: its status is the answer.  What is past the cap
	 * is not worth waiting for, so the transfer stops there.
	 */
	if (out->http_status != 200)
	{
		if (out->bytes <= t->max_bytes)
			return len;
		out->body_dropped = true;	/* the status stands */
		return 0;
	}
	if (out->bytes > t->max_bytes)
	{
		out->too_large = true;
		return 0;				/* stops the transfer */
	}
	switch (t->consume(t->consume_arg, data, len))
	{
		case CLF_BODY_TAKEN:
			return len;
		case CLF_BODY_REFUSED:
			out->parse_failed = true;
			return 0;
		case CLF_BODY_TOO_LARGE:
			out->too_large = true;
			out->parse_too_large = true;
			return 0;
	}
	pg_unreachable();
}

/*
 * Whether the header line data (len bytes, not terminated) is a name header,
 * and, if word is given, whether its value holds word (both case-blind).
 */
static bool
header_holds(const char *data, size_t len, const char *name, const char *word)
{
	size_t		nlen = strlen(name);
	size_t		wlen = word ? strlen(word) : 0;

	if (len <= nlen || data[nlen] != ':' || pg_strncasecmp(data, name, nlen) != 0)
		return false;
	if (word == NULL)
		return true;
	for (size_t i = nlen + 1; i + wlen <= len; i++)
		if (pg_strncasecmp(data + i, word, wlen) == 0)
			return true;
	return false;
}

/*
 * Whether the Content-Length header line data (len bytes, not terminated)
 * gives more than limit bytes.
 */
static bool
length_over(const char *data, size_t len, size_t limit)
{
	size_t		i = strlen("Content-Length:");
	uint64		n = 0;

	while (i < len && (data[i] == ' ' || data[i] == '\t'))
		i++;
	for (; i < len && data[i] >= '0' && data[i] <= '9'; i++)
	{
		n = n * 10 + (data[i] - '0');
		if (n > limit)
			return true;		/* before n can overflow */
	}
	return false;
}

/*
 * Whether the response whose headers are arriving is a 200 (not a proxy's
 * answer to CONNECT, which libcurl keeps apart).
 */
static bool
status_is_200(ClfTransfer *t)
{
	long		status = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	return status == 200;
}

/*
 * Note whether the response says where its body ends.  Without a length an
 * HTTP/1 body ends where the connection closes, so libcurl takes a
 * connection lost mid-body for the body's end and reports success; only the
 * consumer can tell then (clf_http_mark_cut_short).  libcurl hands us every
 * header line, those of a proxy's answer to CONNECT and of a 1xx too: a
 * status line starts a response afresh.
 *
 * A 200 whose Content-Length passes the cap is refused here, before its
 * body, as libcurl's CURLOPT_MAXFILESIZE would; that option is not used, as
 * it refuses any status's body so (and, from libcurl 8.4, one without a
 * length as it arrives): another status is the answer whatever its body's
 * size, and write_callback keeps the start of it for the message.
 */
static size_t
header_callback(char *data, size_t size, size_t nitems, void *userdata)
{
	ClfTransfer *t = (ClfTransfer *) userdata;
	size_t		len = size * nitems;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		t->out->length_given = false;
	else if (header_holds(data, len, "Content-Length", NULL) ||
			 header_holds(data, len, "Transfer-Encoding", "chunked"))
		t->out->length_given = true;
	if (header_holds(data, len, "Content-Length", NULL) &&
		length_over(data, len, t->max_bytes) && status_is_200(t))
	{
		t->out->too_large = true;
		return 0;				/* stops the transfer before the body */
	}
	return len;
}

/*
 * The wait set of a connection: our latch, postmaster death (where there is
 * a postmaster) and the sockets libcurl asked for.  It is kept while libcurl's sockets stay the same (all
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
		/* a single-user backend has no postmaster to watch (EBADF) */
		if (IsUnderPostmaster)
			AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (int i = 0; i < conn->nsockets; i++)
		{
			uint32		events = 0;

			if (conn->sockets[i].what & CURL_POLL_IN)
				events |= WL_SOCKET_READABLE;
			if (conn->sockets[i].what & CURL_POLL_OUT)
				events |= WL_SOCKET_WRITEABLE;
			if (events)
				AddWaitEventToSet(set, events, conn->sockets[i].sock, NULL, NULL);
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
 * trust: the caller marks a cached connection to be made again first (a
 * scan's own handles end with the scan).
 */
static void
report_multi_error(const char *what, const char *call, CURLMcode rc)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("could not run the request for %s: %s failed: %s",
					what, call, curl_multi_strerror(rc))));
}

/* libcurl's work on fd (or its timeouts), with every signal held off */
static CURLMcode
act_on_socket(CURLM *multi, curl_socket_t fd, int flags, int *running)
{
	sigset_t	saved;
	CURLMcode	rc;

	block_signals(&saved);
	rc = curl_multi_socket_action(multi, fd, flags, running);
	restore_signals(&saved);
	return rc;
}

static void
socket_action(ClfConnection *conn, const char *what, curl_socket_t fd,
			  int flags, int *running)
{
	CURLMcode	rc;

	conn->sockets_out_of_memory = false;
	rc = act_on_socket(conn->multi, fd, flags, running);
	if (rc != CURLM_OK)
	{
		conn->invalidated = true;
		/* libcurl's own word for it would be "aborted by an application callback" */
		if (conn->sockets_out_of_memory)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("The request for %s could not get the memory to wait on another of libcurl's sockets.",
							   what)));
		report_multi_error(what, "curl_multi_socket_action", rc);
	}
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
		WaitEvent	occurred[CLF_EVENTS_PER_WAIT];
		curl_socket_t ready_fd[CLF_EVENTS_PER_WAIT];
		int			ready_flags[CLF_EVENTS_PER_WAIT];
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

/*
 * Whether easy made a new connection and set it up.  Over https that is
 * once its TLS handshake is done: connect_timeout_ms covers the handshake,
 * and one that stalls is still connecting.  libcurl 8.23 gives the connect
 * time as soon as TCP connects (7.88 and 8.14 only once the handshake is
 * done).
 */
static bool
new_connection_made(CURL *easy)
{
	curl_off_t	usecs = 0;
	char	   *scheme = NULL;

	if (curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &usecs) != CURLE_OK || usecs <= 0)
		return false;
	if (curl_easy_getinfo(easy, CURLINFO_SCHEME, &scheme) != CURLE_OK || scheme == NULL ||
		pg_strcasecmp(scheme, "https") != 0)
		return true;
	usecs = 0;
	return curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &usecs) == CURLE_OK && usecs > 0;
}

/*
 * Whether any of easy's request has gone out.  A transfer cut short while
 * still connecting (a cancel, a timeout, its backend's exit) did not send
 * it, and the server never saw it.  Bytes sent say it went out on a
 * connection kept alive from an earlier request, which has no connect time
 * (none was made); on a new connection only once it is made: libcurl 7.88
 * counts a proxy's CONNECT among the bytes sent, and a tunnel the proxy
 * never opened is still connecting.  Not the pretransfer time: libcurl 8.21
 * sets that for a transfer that failed while connecting too.
 */
static bool
request_went_out(CURL *easy)
{
	long		request_bytes = 0;
	long		new_connections = 0;

	if (curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes) != CURLE_OK ||
		request_bytes <= 0)
		return false;
	if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &new_connections) == CURLE_OK &&
		new_connections == 0)
		return true;
	return new_connection_made(easy);
}

/*
 * Whether any of the request running now on serverid's handle
 * (clf_http_perform) went out, for a backend exiting in the middle of it:
 * a FATAL runs none of clf_http_perform's own code again, and the handle
 * is as the request left it.  False when none runs.
 */
bool
clf_http_request_went_out(Oid serverid)
{
	ClfConnection *conn;

	if (connections == NULL)
		return false;
	conn = hash_search(connections, &serverid, HASH_FIND, NULL);
	return conn != NULL && conn->in_transfer && conn->easy != NULL &&
		request_went_out(conn->easy);
}

/* What the handle knows about the finished transfer, before it is reset. */
static void
collect_info(CURL *easy, ClfHttpOutcome *out)
{
	curl_off_t	usecs = 0;
	long		http_version = 0;

	if (out->http_status == 0)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &out->http_status);
	if (curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &usecs) == CURLE_OK)
		out->resolved = usecs > 0;
	out->connected = new_connection_made(easy) || request_went_out(easy);
	/* HTTP/2 and later frame every body */
	if (curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &http_version) == CURLE_OK &&
		http_version >= CURL_HTTP_VERSION_2_0)
		out->length_given = true;
	curl_easy_getinfo(easy, CURLINFO_HTTP_CONNECTCODE, &out->proxy_status);
	if (out->result == CURLE_PROXY)
		curl_easy_getinfo(easy, CURLINFO_PROXY_ERROR, &out->proxy_error);
#if LIBCURL_VERSION_NUM >= 0x074200
	{
		curl_off_t	retry_after = 0;

		if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
			retry_after > 0)
			out->retry_after_s = (int64) retry_after;
	}
#endif
}

/* What a SOCKS proxy's failure (CURLE_PROXY) tells us to do. */
typedef enum ClfSocksFailure
{
	CLF_SOCKS_FATAL,			/* asking again gets the same answer */
	CLF_SOCKS_TRANSIENT,		/* the path beyond the proxy, or to it, failed */
	CLF_SOCKS_CREDENTIALS		/* proxy_user and proxy_password, to fix */
} ClfSocksFailure;

/*
 * An HTTP proxy says why it failed in its CONNECT status; a SOCKS5 proxy in
 * its method choice, its answer to our user name and password and the REP
 * code of its CONNECT reply, which libcurl gives as CURLINFO_PROXY_ERROR.
 */
static ClfSocksFailure
socks_failure(long proxy_error)
{
	switch (proxy_error)
	{
			/* none of our methods, or our user name and password, will do */
		case CURLPX_NO_AUTH:
		case CURLPX_USER_REJECTED:
			return CLF_SOCKS_CREDENTIALS;

			/*
			 * The proxy could not reach the API this time (REP 01, 03-06), or
			 * the connection to the proxy broke during the handshake: as a
			 * connection to the API that fails.
			 */
		case CURLPX_REPLY_GENERAL_SERVER_FAILURE:
		case CURLPX_REPLY_NETWORK_UNREACHABLE:
		case CURLPX_REPLY_HOST_UNREACHABLE:
		case CURLPX_REPLY_CONNECTION_REFUSED:
		case CURLPX_REPLY_TTL_EXPIRED:
		case CURLPX_CLOSED:
		case CURLPX_RECV_ADDRESS:
		case CURLPX_RECV_AUTH:
		case CURLPX_RECV_CONNECT:
		case CURLPX_RECV_REQACK:
		case CURLPX_SEND_AUTH:
		case CURLPX_SEND_CONNECT:
		case CURLPX_SEND_REQUEST:
			return CLF_SOCKS_TRANSIENT;

			/* the ruleset's refusal (REP 02), a protocol we cannot speak */
		default:
			return CLF_SOCKS_FATAL;
	}
}

/*
 * An HTTP proxy answered our CONNECT with an error of its own, other than
 * asking for credentials (proxy_refused).  libcurl reports only that the
 * tunnel failed (a failed receive before 8.20, a failed connect since), so
 * the proxy's status says what went wrong.
 */
static bool
tunnel_refused(const ClfHttpOutcome *out)
{
	return out->result != CURLE_OK && out->proxy_status >= 300 && !out->proxy_refused;
}

/*
 * A refused tunnel that may open at the next attempt: the path beyond the
 * proxy failing (squid's 503 and 504, tinyproxy's 500), or the proxy busy
 * (408, 429).  Not 501 or 505: a proxy that cannot tunnel at all.
 */
static bool
tunnel_may_open_later(long status)
{
	return status == 408 || status == 429 ||
		(status >= 500 && status != 501 && status != 505);
}

/*
 * The proxy (HTTP or SOCKS5) is not allowed to connect us to the API: its
 * ruleset's answer (403 for a port squid's SSL_ports or tinyproxy's
 * ConnectPort leave out), which asking again does not change.
 */
static bool
proxy_rules_refused(const ClfHttpOutcome *out)
{
	if (tunnel_refused(out))
		return out->proxy_status == 403;
	return out->result == CURLE_PROXY && out->proxy_error == CURLPX_REPLY_NOT_ALLOWED;
}

/* The HTTP proxy's own connection to the API failed (a 5xx worth retrying). */
static bool
proxy_could_not_reach(const ClfHttpOutcome *out)
{
	return tunnel_refused(out) && out->proxy_status >= 500 &&
		tunnel_may_open_later(out->proxy_status);
}

static bool
is_transient_curl_error(CURLcode rc, long proxy_error)
{
	switch (rc)
	{
		case CURLE_PROXY:
			return socks_failure(proxy_error) == CLF_SOCKS_TRANSIENT;
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

/*
 * What comes before an exchange and needs no request slot: the server's
 * handle made (again, after ALTER SERVER).  The caller takes the slot after
 * this, so that a session waiting for one does not hold it while it
 * connects nothing.
 */
void
clf_http_prepare(const ClfHttpRequest *hreq, ClfHttpOutcome *out)
{
	memset(out, 0, sizeof(*out));
	(void) get_connection(hreq->opts);
}

#ifdef CLF_FAULT_INJECTION
/*
 * Test builds: the backend is descheduled after each part of a request
 * goes out, so that the answer is there by the time libcurl looks for it.
 */
static int
fault_descheduled_after_send(CURL *easy, curl_infotype type, char *data, size_t size,
							 void *userp)
{
	if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT)
		pg_usleep(20000L);
	return 0;
}
#endif

/*
 * Set easy up for hreq, its body going to transfer.  Returns the request's
 * header list, for the caller to free once the handle is reset.
 */
static struct curl_slist *
configure_easy(CURL *easy, const ClfHttpRequest *hreq, ClfTransfer *transfer)
{
	struct curl_slist *headers = NULL;
	const ClfOptions *opts = hreq->opts;

	/* reset keeps the connection, DNS and TLS session caches */
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_URL, hreq->url);
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

	/*
	 * An https:// proxy's certificate is verified as the API's is, and
	 * ca_file is trusted for it too: an egress proxy with a private CA.
	 * Only the CA file is replaced, for both: libcurl's default CA path
	 * (the system's, /etc/ssl/certs on Debian) stays, for the proxy as well.
	 */
	curl_easy_setopt(easy, CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
	if (opts->ca_file)
	{
		curl_easy_setopt(easy, CURLOPT_CAINFO, opts->ca_file);
		curl_easy_setopt(easy, CURLOPT_PROXY_CAINFO, opts->ca_file);
	}
	/*
	 * Only the proxy option, never the server process's environment: libcurl
	 * reads http_proxy and the like unless CURLOPT_PROXY is set, and
	 * no_proxy unless CURLOPT_NOPROXY is.
	 */
	curl_easy_setopt(easy, CURLOPT_PROXY, opts->proxy ? opts->proxy : "");
	curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
	/*
	 * Only proxy_user and proxy_password speak for us to a proxy, never the
	 * server host's own Kerberos credentials, which libcurl offers a SOCKS5
	 * proxy (GSS-API) unless told otherwise.
	 */
	curl_easy_setopt(easy, CURLOPT_SOCKS5_AUTH, (long) CURLAUTH_BASIC);
	if (opts->proxy && opts->proxy_user)
	{
		curl_easy_setopt(easy, CURLOPT_PROXYUSERNAME, opts->proxy_user);
		curl_easy_setopt(easy, CURLOPT_PROXYPASSWORD, opts->proxy_password);
	}
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, CLF_USER_AGENT);
#ifdef CLF_FAULT_INJECTION
	if (fault_at("descheduled_after_send"))
	{
		/* only for the debug callback: nothing is printed */
		curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, fault_descheduled_after_send);
		curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
	}
#endif
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->out->curl_error);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_callback);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_callback);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer);
	if (hreq->body)
	{
#ifdef CLF_FAULT_INJECTION
		if (!fault_at("request_headers"))
#endif
			headers = curl_slist_append(NULL, "Content-Type: application/json");
		if (headers == NULL)
		{
			curl_easy_reset(easy);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("The request for %s could not be set up: libcurl ran out of memory for its headers.",
							   hreq->what)));
		}
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, hreq->body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) strlen(hreq->body));
	}
	else
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	return headers;
}

static void
begin_transfer(ClfTransfer *transfer, CURL *easy, const ClfHttpRequest *hreq,
			   ClfHttpOutcome *out)
{
	transfer->easy = easy;
	transfer->consume = hreq->consume;
	transfer->consume_arg = hreq->consume_arg;
	transfer->max_bytes = hreq->max_bytes;
	transfer->out = out;
	out->result = CURLE_OK;
	out->proxy_error = 0;
	out->curl_error[0] = '\0';
}

/*
 * The handle is done with one exchange (finished or abandoned), started at
 * start: count it in the scan's counters.  A token request counts in
 * token_fetches here too, each attempt as the server's counters count it,
 * so that the scan's views and contact_list_fdw_stats agree.
 */
static void
count_exchange(const ClfHttpRequest *hreq, ClfHttpOutcome *out, instr_time start)
{
	instr_time	duration;

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	out->ms = INSTR_TIME_GET_MILLISEC(duration);
	hreq->stats->network_ms += out->ms;
	hreq->stats->requests++;
	if (hreq->token_request)
		hreq->stats->token_fetches++;
}

/* Whether requests go through an https:// proxy (TLS to the proxy itself). */
static bool
is_https_proxy(const ClfOptions *opts)
{
	return opts->proxy != NULL && pg_strncasecmp(opts->proxy, "https://", 8) == 0;
}

/* What the caller decides on, once the exchange finished and was counted. */
static void
judge_outcome(const ClfHttpRequest *hreq, ClfHttpOutcome *out)
{
	hreq->stats->bytes += out->bytes;

	/*
	 * Another status's body, stopped at the cap, or failed on the way (cut
	 * short, not decodable): the final status had come, and is the answer.
	 * Not an interim one (1xx: the answer had yet to begin), and never a
	 * proxy's answer to CONNECT, which libcurl keeps apart (proxy_status).
	 */
	if (out->body_dropped ||
		(out->result != CURLE_OK && out->http_status > 200))
	{
		out->result = CURLE_OK;
		out->curl_error[0] = '\0';
	}
	out->proxy_refused = out->result != CURLE_OK && !out->too_large &&
		(out->proxy_status == 407 || out->proxy_status == 401 ||
		 (out->result == CURLE_PROXY &&
		  socks_failure(out->proxy_error) == CLF_SOCKS_CREDENTIALS));
	out->failed = out->result != CURLE_OK && !out->too_large && !out->parse_failed;
	out->transient = out->failed &&
		(tunnel_refused(out) ? tunnel_may_open_later(out->proxy_status)
		 : is_transient_curl_error(out->result, out->proxy_error));

	/*
	 * libcurl refuses an https:// proxy's certificate with the same result
	 * as the API's.  The API's TLS handshake begins only inside the tunnel,
	 * once the proxy has answered the CONNECT, so a refusal before any
	 * answer is the proxy's.  Not CURLINFO_PROXY_SSL_VERIFYRESULT alone:
	 * libcurl's GnuTLS builds leave it 0 for a certificate made out to
	 * another host name (its OpenSSL builds do not).
	 */
	out->proxy_cert_refused = out->result == CURLE_PEER_FAILED_VERIFICATION &&
		out->proxy_status == 0 && is_https_proxy(hreq->opts);
}

/*
 * One HTTP exchange, after clf_http_prepare: a 200 body goes to the
 * request's consumer (any other is only counted and its start kept), and
 * out says what came of it.
 * Raises for cancel, out-of-memory and libcurl failing to run it; every
 * other failure is in out, for the caller to retry or report.
 */
void
clf_http_perform(const ClfHttpRequest *hreq, ClfHttpOutcome *out)
{
	ClfConnection *conn;
	ClfTransfer transfer;
	CURL	   *easy;
	struct curl_slist *volatile headers = NULL;
	volatile bool finished = false;
	bool		went_out;
	instr_time	start;
	CURLMsg    *msg;
	int			left;
	CURLMcode	rc;
	sigset_t	saved;
	const char *what = hreq->what;

	/* looked up again: an invalidation may have closed it since */
	conn = get_connection(hreq->opts);
	easy = conn->easy;

	begin_transfer(&transfer, easy, hreq, out);
	/* out of memory before the transfer starts: the server never sees it */
	FAULT_ERROR("transfer_begins");
	headers = configure_easy(easy, hreq, &transfer);

	INSTR_TIME_SET_CURRENT(start);
	conn->timer_deadline = 0;
	block_signals(&saved);
	rc = curl_multi_add_handle(conn->multi, easy);
	restore_signals(&saved);
	if (rc != CURLM_OK)
	{
		curl_easy_reset(easy);
		curl_slist_free_all(headers);
		conn->invalidated = true;
		report_multi_error(what, "curl_multi_add_handle", rc);
	}
	conn->in_transfer = true;
	PG_TRY();
	{
		run_transfer(conn, what);
		while ((msg = curl_multi_info_read(conn->multi, &left)) != NULL)
		{
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy)
				out->result = msg->data.result;
		}
		collect_info(easy, out);
		finished = true;
	}
	PG_FINALLY();
	{
		/*
		 * An exchange that ended counts, connected or not; one cut short (a
		 * cancel) only if some of its request went out: before that the
		 * server saw nothing of it.
		 */
		went_out = finished || request_went_out(easy);
		/* also on cancel: an unfinished transfer's connection is closed */
		rc = curl_multi_remove_handle(conn->multi, easy);
		conn->in_transfer = false;

		/*
		 * The handle outlives out and headers.  Resetting it also frees
		 * libcurl's copies of the URL (token or secret) and of the proxy
		 * password, so a cached handle does not hold them between requests;
		 * the connection, DNS and TLS session caches stay.
		 */
		curl_easy_reset(easy);
		curl_slist_free_all(headers);
		if (went_out)
			count_exchange(hreq, out, start);
		if (rc != CURLM_OK)
			conn->invalidated = true;
	}
	PG_END_TRY();
	if (rc != CURLM_OK)
		report_multi_error(what, "curl_multi_remove_handle", rc);

	judge_outcome(hreq, out);
}

static bool
is_connect_error(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
		rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR ||
		rc == CURLE_PEER_FAILED_VERIFICATION ||
		rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR ||
		rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING ||
		rc == CURLE_PROXY;
}

/*
 * Something answered that does not speak HTTP: an HTTP/0.9 reply (no status
 * line at all, an SSH or SMTP banner), or a status line or header libcurl
 * cannot read.  libcurl calls most of these an unsupported protocol, and a
 * header without a colon (8.x also a bad status line on a reused
 * connection) a weird server reply; both mean api_url or proxy names the
 * wrong server, and trying again will not help.
 */
static bool
is_not_http(CURLcode rc)
{
	return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_WEIRD_SERVER_REPLY;
}

/* The SQLSTATE of a failure libcurl met (other than a time-out). */
static int
transport_sqlstate(CURLcode rc)
{
	/*
	 * An unreadable CA file is the configuration's fault, and trying again
	 * later will not help: PostgreSQL itself reports an ssl_ca_file it
	 * cannot load as a configuration file error.
	 */
	if (rc == CURLE_SSL_CACERT_BADFILE)
		return ERRCODE_CONFIG_FILE_ERROR;
	if (is_not_http(rc))
		return ERRCODE_FDW_INVALID_STRING_FORMAT;
	if (is_connect_error(rc))
		return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;

	/*
	 * A body garbled on the way, or an HTTP/2 stream or session the other
	 * end broke off: retried as a body cut short is, and, still failing
	 * after every retry, the same failure of the path to the API.
	 */
	if (rc == CURLE_BAD_CONTENT_ENCODING || rc == CURLE_HTTP2_STREAM ||
		rc == CURLE_HTTP2)
		return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
	return ERRCODE_FDW_ERROR;
}

/*
 * Our own words for the transport failures a user meets, for the primary
 * message: libcurl's own wording differs between releases ("Couldn't" in
 * 7.x, "Could not" in 8.x), so it goes last in the detail, quoted as
 * libcurl's.
 */
static const char *
transport_failure(const ClfHttpOutcome *out)
{
	if (tunnel_refused(out))
		return psprintf("%s (HTTP status %ld)",
						proxy_rules_refused(out) ? "the proxy does not allow connecting to the API"
						: proxy_could_not_reach(out) ? "the proxy could not reach the API"
						: "the proxy refused the tunnel to the API",
						out->proxy_status);
	switch (out->result)
	{
		case CURLE_PROXY:
			switch (out->proxy_error)
			{
				case CURLPX_REPLY_CONNECTION_REFUSED:
					return "the proxy's connection to the API was refused";
				case CURLPX_REPLY_NETWORK_UNREACHABLE:
				case CURLPX_REPLY_HOST_UNREACHABLE:
				case CURLPX_REPLY_TTL_EXPIRED:
					return "the proxy could not reach the API";
				case CURLPX_REPLY_GENERAL_SERVER_FAILURE:
					return "the proxy failed to connect to the API";
				case CURLPX_REPLY_NOT_ALLOWED:
					return "the proxy does not allow connecting to the API";
				case CURLPX_RESOLVE_HOST:
					return "could not resolve the host name";
				default:
					return "the proxy handshake failed";
			}
		case CURLE_COULDNT_CONNECT:
			return "could not connect";
		case CURLE_COULDNT_RESOLVE_HOST:
			return "could not resolve the host name";
		case CURLE_COULDNT_RESOLVE_PROXY:
			return "could not resolve the proxy's host name";
		case CURLE_SSL_CONNECT_ERROR:
			return "TLS handshake failed";
		case CURLE_PEER_FAILED_VERIFICATION:
			if (out->proxy_cert_refused)
				return "the proxy's TLS certificate could not be verified";
			return "the server's TLS certificate could not be verified";
		case CURLE_SSL_CACERT_BADFILE:
			return "could not read the CA certificates";
		case CURLE_SEND_ERROR:
			return "could not send the request";
		case CURLE_RECV_ERROR:
			return "the connection failed while receiving the response";
		case CURLE_PARTIAL_FILE:
			if (out->closed_early && out->bytes == 0)
				return "the response ended before its body began";
			return "the response ended early";
		case CURLE_GOT_NOTHING:
			return "the server closed the connection without answering";
		case CURLE_BAD_CONTENT_ENCODING:
			return "the response's compressed body could not be decoded";
		case CURLE_HTTP2_STREAM:
			return "the HTTP/2 stream was reset";
		case CURLE_HTTP2:
			return "the HTTP/2 connection failed";
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_WEIRD_SERVER_REPLY:
			return "the server did not answer in HTTP";
		default:
			/* libcurl's own words are in the detail */
			return "the request could not be completed";
	}
}

/*
 * The consumer found the 200 body of an exchange libcurl completed to end
 * early (or to be empty).  A response that gave no length ends where its
 * connection closes, so that is a connection lost mid-body (or before it),
 * as libcurl's own "partial file": out says so (failed and transient), and
 * true is returned.  A body whose
 * length was given ended where the server meant it to: false, out as it
 * was, for the caller to report what the body holds.
 */
bool
clf_http_mark_cut_short(ClfHttpOutcome *out)
{
	if (out->failed || out->length_given)
		return false;
	out->result = CURLE_PARTIAL_FILE;
	out->failed = true;
	out->transient = true;
	out->closed_early = true;
	return true;
}

/* What libcurl said of a failed request (out->failed), for DEBUG1 and progress. */
char *
clf_http_describe_failure(const ClfHttpRequest *hreq, const ClfHttpOutcome *out)
{
	if (out->closed_early && out->bytes == 0)
		return pstrdup("the connection closed before any of the body arrived, on a response without a length");
	if (out->closed_early)
		return pstrdup("the connection closed before the body was complete, on a response without a length");
	return psprintf("%s (%s)", redact(out->curl_error[0] ? out->curl_error :
									  curl_easy_strerror(out->result), hreq),
					curl_easy_strerror(out->result));
}

/*
 * Report the failure libcurl met, after attempts tries: a proxy that refused
 * our credentials (out->proxy_refused), or a request libcurl could not
 * complete (out->failed).  Returns if there was none; a body too large, an
 * HTTP status or a body that did not parse are the caller's to report.
 */
void
clf_http_report_failure(const ClfHttpRequest *hreq, const ClfHttpOutcome *out,
						int attempts)
{
	const char *what = hreq->what;
	const ClfOptions *opts = hreq->opts;

	/*
	 * tinyproxy answers 401 to a wrong password, others 407; a SOCKS5 proxy
	 * offers no method we have, or rejects the user name and password
	 */
	if (out->proxy_refused)
	{
		bool		socks = out->result == CURLE_PROXY;
		char	   *answer = socks ? pstrdup("SOCKS5")
			: psprintf("HTTP status %ld", out->proxy_status);
		const char *reason = redact(out->curl_error[0] ? out->curl_error :
									curl_easy_strerror(out->result), hreq);

		/* credentials to fix in the user mapping, as WeCom's own rejections */
		if (opts->proxy_user == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("could not fetch %s: the proxy asks for a user name and password (%s)",
							what, answer),
					 socks ? errdetail("libcurl reported: %s.", reason) : 0,
					 errhint("Set them with ALTER USER MAPPING ... OPTIONS (ADD proxy_user '...', ADD proxy_password '...').")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PASSWORD),
				 errmsg("could not fetch %s: the proxy did not accept proxy_user and proxy_password (%s)",
						what, answer),
				 socks ? errdetail("libcurl reported: %s.", reason) : 0,
				 errhint("Correct them with ALTER USER MAPPING ... OPTIONS (SET proxy_user '...', SET proxy_password '...').")));
	}

	if (out->failed)
	{
		const char *reason = redact(out->curl_error[0] ? out->curl_error :
									curl_easy_strerror(out->result), hreq);

		/*
		 * Before a connection was made, connect_timeout_ms was the limit, or
		 * timeout_ms where it is the shorter: libcurl's limit on the whole
		 * request bounds its connecting too.
		 */
		if (out->result == CURLE_OPERATION_TIMEDOUT && !out->connected)
		{
			bool		whole = opts->timeout_ms < opts->connect_timeout_ms;
			const char *limit = whole ? "timeout_ms" : "connect_timeout_ms";
			int			limit_ms = whole ? opts->timeout_ms : opts->connect_timeout_ms;

			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not fetch %s: %s timed out", what,
							out->resolved ? "connecting" : "resolving the host name"),
					 errdetail_plural("%d attempt was made, limited by %s (%d ms). libcurl reported: %s.",
									  "%d attempts were made, each limited by %s (%d ms). libcurl reported: %s.",
									  attempts, attempts, limit, limit_ms, reason),
					 out->resolved
					 ? errhint("Check the network path to the API (or to the proxy), or raise the server option %s.", limit)
					 : errhint("Check the database host's DNS resolver (/etc/resolv.conf), or raise the server option %s.", limit)));
		}
		if (out->result == CURLE_OPERATION_TIMEDOUT)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("request for %s timed out", what),
					 errdetail_plural("%d attempt was made, limited by timeout_ms (%d ms). libcurl reported: %s.",
									  "%d attempts were made, each limited by timeout_ms (%d ms). libcurl reported: %s.",
									  attempts, attempts, opts->timeout_ms, reason),
					 errhint("Check the network path to the API, or raise the server option timeout_ms.")));
		ereport(ERROR,
				(errcode(transport_sqlstate(out->result)),
				 errmsg("could not fetch %s: %s", what,
						transport_failure(out)),
				 out->closed_early && out->bytes == 0
				 ? errdetail_plural("%d attempt was made. Its connection closed before any of the body arrived, on a response that gave no length, so libcurl saw no error.",
									"%d attempts were made. The last one's connection closed before any of the body arrived, on a response that gave no length, so libcurl saw no error.",
									attempts, attempts)
				 : out->closed_early
				 ? errdetail_plural("%d attempt was made. Its connection closed before the body was complete, on a response that gave no length, so libcurl saw no error.",
									"%d attempts were made. The last one's connection closed before the body was complete, on a response that gave no length, so libcurl saw no error.",
									attempts, attempts)
				 : errdetail_plural("%d attempt was made. libcurl reported: %s.",
									"%d attempts were made. libcurl reported: %s.",
									attempts, attempts, reason),
				 out->proxy_cert_refused
				 ? errhint("Name the CA bundle that signed the proxy's certificate in the server option ca_file (it is trusted for an https:// proxy too), and check that the certificate is made out to the host name the proxy option gives.")
				 : out->result == CURLE_PEER_FAILED_VERIFICATION
				 ? errhint("If a proxy inspects TLS, name its CA bundle in the server option ca_file.")
				 : out->result == CURLE_SSL_CACERT_BADFILE
				 ? (opts->ca_file
					? errhint("Check that the file named by ca_file (of the server, the wrapper or the setting contact_list_fdw.ca_file) exists and is readable by the database server's operating-system user, and holds PEM certificates.")
					: errhint("The default CA bundle of libcurl could not be read: check the database host's CA certificates (the ca-certificates package), or name a bundle in the server option ca_file."))
				 : is_not_http(out->result)
				 ? (opts->proxy
					? errhint("Check api_url and proxy (of the server, the wrapper or the settings contact_list_fdw.api_url and contact_list_fdw.proxy): what one of them names does not speak HTTP. The WeCom API is at %s.", CLF_DEFAULT_API_URL)
					: errhint("Check api_url (of the server, the wrapper or the setting contact_list_fdw.api_url): what answers there does not speak HTTP. The WeCom API is at %s.", CLF_DEFAULT_API_URL))
				 : proxy_rules_refused(out)
				 ? errhint("The proxy's rules refuse a connection to the API's host and port: ask its administrator to allow it.")
				 : proxy_could_not_reach(out)
				 ? errhint("The proxy runs, but could not connect to the API: check the proxy's network path to the API, and its log.")
				 : tunnel_refused(out)
				 ? errhint("Check that the proxy option names an HTTP proxy that tunnels (CONNECT) to the API's host and port; its log says why it refused.")
				 : opts->proxy
				 ? errhint("Requests go through the proxy (the option proxy of the server or of the wrapper, or the setting contact_list_fdw.proxy): check that it runs, and that it can reach the API.")
				 : errhint("Check that the database host can reach the API (or the proxy option's proxy).")));
	}
}

/*
 * A transfer of a scan's own, for an asynchronous foreign scan: started
 * here, then driven a step at a time by whoever waits on its descriptor,
 * while other scans' transfers run too.  It has its own libcurl handles
 * (two scans of one server cannot share one) and one descriptor to wait
 * on, an epoll set holding libcurl's sockets and a timer for libcurl's
 * timeouts and the caller's backoff, because an Append gives each child
 * room for a single event in its wait.
 */
struct ClfHttpAsync
{
	CURL	   *easy;
	CURLM	   *multi;
	int			epoll_fd;
	int			timer_fd;
	bool		in_flight;
	bool		started;		/* the last start handed its transfer to
								 * libcurl: the server may have seen it */
	bool		done;			/* libcurl finished the transfer in flight,
								 * not yet collected */
	CURLMcode	remove_rc;		/* of the last curl_multi_remove_handle */
	int			watch_errno;	/* why async_socket_callback failed libcurl */
	TimestampTz wake_at;		/* the caller's own deadline, or 0 */
	TimestampTz curl_deadline;	/* when libcurl wants its timeout action, or 0 */
	ClfTransfer transfer;
	struct curl_slist *headers;
	const ClfHttpRequest *hreq;
	instr_time	start;
};

/* Arm the timer for the earlier of libcurl's and the caller's deadlines. */
static void
arm_timer(ClfHttpAsync *a)
{
	struct itimerspec when;
	TimestampTz deadline = a->curl_deadline;

	if (a->wake_at != 0 && (deadline == 0 || a->wake_at < deadline))
		deadline = a->wake_at;

	/*
	 * libcurl can finish a transfer inside the action that starts it (a
	 * reused connection whose answer is already there); from 8.10 on it then
	 * also cancels the timeout it had asked for, leaving nothing to wait
	 * on.  The descriptor wakes its waiter at once, for the transfer to be
	 * collected, not at the next ceiling.
	 */
	if (a->in_flight && a->done)
		deadline = GetCurrentTimestamp();

	/*
	 * While anything is pending, wake at least every second: an Append of a
	 * minor release older than the fix that added the latch to its wait
	 * would otherwise not see a cancel until libcurl's own timeout.
	 */
	if (a->in_flight || a->wake_at != 0)
	{
		TimestampTz ceiling = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);

		if (deadline == 0 || deadline > ceiling)
			deadline = ceiling;
	}
	memset(&when, 0, sizeof(when));
	if (deadline != 0)
	{
		long		us = Max(1, (long) (deadline - GetCurrentTimestamp()));

		when.it_value.tv_sec = us / 1000000;
		when.it_value.tv_nsec = (us % 1000000) * 1000;
	}
	(void) timerfd_settime(a->timer_fd, 0, &when, NULL);
}

/* The timer fired: read its count, so the descriptor is quiet again. */
static void
drain_timer(ClfHttpAsync *a)
{
	uint64		expirations;

	if (read(a->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;					/* EAGAIN: it had not fired */
}

static int
async_socket_callback(CURL *easy, curl_socket_t sock, int what, void *userp, void *socketp)
{
	ClfHttpAsync *a = (ClfHttpAsync *) userp;
	struct epoll_event ev;
	bool		failed;

	memset(&ev, 0, sizeof(ev));
	ev.data.fd = sock;
	if (what == CURL_POLL_REMOVE)
	{
		(void) epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, sock, &ev);
		return 0;
	}
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
#ifdef CLF_FAULT_INJECTION
	if (fault_at("watch_socket"))
	{
		errno = ENOMEM;
		failed = true;
	}
	else
#endif
		failed = epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, sock, &ev) != 0 &&
			(errno != ENOENT || epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, sock, &ev) != 0);
	if (failed)
	{
		/* libcurl fails the transfer cleanly, and async_socket_action reports why */
		a->watch_errno = errno;
		return -1;
	}
	return 0;
}

static int
async_timer_callback(CURLM *multi, long timeout_ms, void *userp)
{
	ClfHttpAsync *a = (ClfHttpAsync *) userp;

	a->curl_deadline = curl_deadline(timeout_ms);
	arm_timer(a);
	return 0;
}

/* Drop what is in flight: its connection is closed, its copies freed. */
static void
async_drop_transfer(ClfHttpAsync *a)
{
	sigset_t	saved;

	if (!a->in_flight)
		return;
	a->in_flight = false;
	block_signals(&saved);
	a->remove_rc = curl_multi_remove_handle(a->multi, a->easy);
	curl_easy_reset(a->easy);
	restore_signals(&saved);
	curl_slist_free_all(a->headers);
	a->headers = NULL;
}

/*
 * The scan's memory goes (its end, or an error anywhere in the query):
 * whatever is in flight is dropped and the handles and descriptors closed.
 * Runs during cleanup: raises nothing.
 */
static void
async_release(void *arg)
{
	ClfHttpAsync *a = (ClfHttpAsync *) arg;
	sigset_t	saved;

	async_drop_transfer(a);
	block_signals(&saved);
	if (a->multi)
		curl_multi_cleanup(a->multi);
	if (a->easy)
		curl_easy_cleanup(a->easy);
	restore_signals(&saved);
	a->multi = NULL;
	a->easy = NULL;
	if (a->epoll_fd >= 0)
		close(a->epoll_fd);
	if (a->timer_fd >= 0)
		close(a->timer_fd);
	a->epoll_fd = a->timer_fd = -1;
}

/* A transfer engine living, and released, with cxt. */
ClfHttpAsync *
clf_http_async_create(MemoryContext cxt)
{
	ClfHttpAsync *a = MemoryContextAllocZero(cxt, sizeof(ClfHttpAsync));
	MemoryContextCallback *callback;
	struct epoll_event ev;
	CURLMcode	rc = CURLM_OK;

	a->epoll_fd = a->timer_fd = -1;
	callback = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	callback->func = async_release;
	callback->arg = a;
	MemoryContextRegisterResetCallback(cxt, callback);

	a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
#ifdef CLF_FAULT_INJECTION
	if (fault_at("async_descriptors"))
	{
		close(a->timer_fd);
		a->timer_fd = -1;
		errno = EMFILE;
	}
#endif
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = a->timer_fd;
	if (a->epoll_fd < 0 || a->timer_fd < 0 ||
		epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->timer_fd, &ev) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not create a descriptor to wait on for an asynchronous scan: %m"),
				 errhint("The server process may have run out of file descriptors: raise the operating system's limit, or turn async_capable off for some servers.")));

	a->easy = curl_easy_init();
	a->multi = curl_multi_init();
	if (a->easy == NULL || a->multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	if ((rc = hand_over_waits(a->multi, async_socket_callback, async_timer_callback, a)) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not set up a libcurl handle: %s", curl_multi_strerror(rc))));
	return a;
}

/* What to wait on (readable) for the transfer or the caller's deadline. */
int
clf_http_async_socket(const ClfHttpAsync *a)
{
	return a->epoll_fd;
}

/* What epoll says of a socket, as curl_multi_socket_action's flags. */
static int
socket_flags(uint32 events)
{
	return ((events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
		((events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
		((events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
}

static void
async_socket_action(ClfHttpAsync *a, curl_socket_t fd, int flags, int *running)
{
	CURLMcode	rc;

	a->watch_errno = 0;
	rc = act_on_socket(a->multi, fd, flags, running);

	/*
	 * With nothing in flight, what libcurl says of a connection no transfer
	 * needs is nobody's error: the next transfer meets anything that matters.
	 */
	if (!a->in_flight)
		return;

	/*
	 * The transfer stays in flight: its owner drops it, counted if some of
	 * it went out (clf_http_async_drop), or it goes with its memory.
	 */
	if (rc != CURLM_OK && a->watch_errno != 0)
	{
		int			sqlstate = a->watch_errno == ENOMEM ? ERRCODE_OUT_OF_MEMORY
			: a->watch_errno == ENOSPC ? ERRCODE_INSUFFICIENT_RESOURCES	/* max_user_watches */
			: ERRCODE_FDW_ERROR;

		errno = a->watch_errno;
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("could not wait on a socket of the request for %s: %m", a->hreq->what)));
	}
	if (rc != CURLM_OK)
		report_multi_error(a->hreq->what, "curl_multi_socket_action", rc);
	if (*running == 0)
	{
		a->done = true;
		arm_timer(a);
		/* out of memory before anyone collects the finished transfer */
		FAULT_ERROR("async_transfer_done");
	}
}

/*
 * Start hreq without waiting for it: its body will go to its consumer and
 * out say what came of it, as with clf_http_perform.
 * hreq, what its consumer writes to and out must stay where they are until
 * the transfer is done or dropped.
 * Raises for out-of-memory and libcurl failing to take or run it; whether
 * that came before the transfer was handed to libcurl (the server never saw
 * it) clf_http_async_started says.  One raised after leaves the transfer in
 * flight, as clf_http_async_step does, for the caller to drop and count.
 */
void
clf_http_async_start(ClfHttpAsync *a, const ClfHttpRequest *hreq,
					 ClfHttpOutcome *out)
{
	sigset_t	saved;
	CURLMcode	rc;
	int			running;

	Assert(!a->in_flight);
	a->started = a->done = false;
	memset(out, 0, sizeof(*out));
	a->hreq = hreq;
	a->wake_at = 0;
	begin_transfer(&a->transfer, a->easy, hreq, out);
	/* out of memory before the transfer starts: the server never sees it */
	FAULT_ERROR("async_transfer_begins");
	a->headers = configure_easy(a->easy, hreq, &a->transfer);
	INSTR_TIME_SET_CURRENT(a->start);
	block_signals(&saved);
	rc = curl_multi_add_handle(a->multi, a->easy);
	restore_signals(&saved);
	if (rc != CURLM_OK)
	{
		curl_easy_reset(a->easy);
		curl_slist_free_all(a->headers);
		a->headers = NULL;
		report_multi_error(hreq->what, "curl_multi_add_handle", rc);
	}
	a->in_flight = a->started = true;
	async_socket_action(a, CURL_SOCKET_TIMEOUT, 0, &running);
}

/*
 * Act on what the descriptor says: each socket that is ready, and libcurl's
 * timeout once the timer fired or its deadline passed.
 */
static void
serve_events(ClfHttpAsync *a, int *running)
{
	struct epoll_event events[CLF_EVENTS_PER_WAIT];
	int			nevents;
	bool		timer_fired = false;

	nevents = epoll_wait(a->epoll_fd, events, lengthof(events), 0);
	for (int i = 0; i < nevents; i++)
	{
		if (events[i].data.fd == a->timer_fd)
		{
			drain_timer(a);
			timer_fired = true;
		}
		else
			async_socket_action(a, events[i].data.fd, socket_flags(events[i].events), running);
	}
	if (timer_fired ||
		(a->curl_deadline != 0 && GetCurrentTimestamp() >= a->curl_deadline))
	{
		/* libcurl sets its next deadline, if it has one, from this action */
		if (a->curl_deadline != 0 && GetCurrentTimestamp() >= a->curl_deadline)
			a->curl_deadline = 0;
		async_socket_action(a, CURL_SOCKET_TIMEOUT, 0, running);
	}
}

/*
 * Go on with the transfer as far as it can without waiting.  True once it
 * is done: out is complete and the request counted, as clf_http_perform
 * leaves them.  An error while the transfer runs leaves it in flight: the
 * caller drops it (clf_http_async_drop), counted if the server may have
 * seen it.
 */
bool
clf_http_async_step(ClfHttpAsync *a)
{
	int			running = 1;
	CURLMsg    *msg;
	int			left;
	ClfHttpOutcome *out = a->transfer.out;

	Assert(a->in_flight);
	serve_events(a, &running);
	if (running > 0)
	{
		arm_timer(a);			/* the timer is one-shot */
		return false;
	}

	while ((msg = curl_multi_info_read(a->multi, &left)) != NULL)
	{
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == a->easy)
			out->result = msg->data.result;
	}
	collect_info(a->easy, out);
	async_drop_transfer(a);
	/* counted before raising: the transfer is no longer in flight to drop */
	count_exchange(a->hreq, out, a->start);
	if (a->remove_rc != CURLM_OK)
		report_multi_error(a->hreq->what, "curl_multi_remove_handle", a->remove_rc);
	judge_outcome(a->hreq, out);
	return true;
}

/*
 * Whether the transfer in flight counts as a request that ran, as
 * clf_http_perform counts one: libcurl finished it (a failed connect
 * included) though nobody has collected it yet, or some of its request
 * went out.  One cut short while still connecting was never seen by the
 * server.  For a caller about to drop it, or to lose it with its memory (an
 * error's abort, its backend's exit).
 */
bool
clf_http_async_counts(const ClfHttpAsync *a)
{
	return a->in_flight && (a->done || request_went_out(a->easy));
}

/*
 * Drop the transfer in flight, if any (the scan ends early, or starts
 * again).  True if it counts as a request that ran (clf_http_async_counts).
 */
bool
clf_http_async_drop(ClfHttpAsync *a)
{
	bool		counts = clf_http_async_counts(a);

	if (!a->in_flight)
		return false;
	async_drop_transfer(a);
	if (counts)
		count_exchange(a->hreq, a->transfer.out, a->start);
	return counts;
}

bool
clf_http_async_in_flight(const ClfHttpAsync *a)
{
	return a->in_flight;
}

/*
 * Whether the last clf_http_async_start handed its transfer to libcurl
 * (which may have sent the request at once), even if it raised after.
 */
bool
clf_http_async_started(const ClfHttpAsync *a)
{
	return a->started;
}

/*
 * Nothing in flight (the caller waits out a backoff): let libcurl act on
 * its sockets and its timeout all the same.  From 8.9 on it keeps a
 * connection the server would not keep (Connection: close after an error
 * page) to shut TLS down properly, its socket still watched; once the
 * server has gone that socket stays readable, and every wait on the
 * descriptor would end at once until libcurl reads it.
 */
void
clf_http_async_idle(ClfHttpAsync *a)
{
	int			running;

	Assert(!a->in_flight);
	serve_events(a, &running);
}

/* Make the descriptor readable at when (the caller's backoff), or never (0). */
void
clf_http_async_wake_at(ClfHttpAsync *a, TimestampTz when)
{
	drain_timer(a);
	a->wake_at = when;
	arm_timer(a);
}

/*
 * Wait, cancellably, until the descriptor is readable or until timeout_ms
 * (-1: no limit) has passed: for a caller that cannot go on without the
 * transfer, or its wake-up time.
 */
void
clf_http_async_wait(ClfHttpAsync *a, long timeout_ms)
{
	(void) WaitLatchOrSocket(MyLatch,
							 WL_LATCH_SET | WL_SOCKET_READABLE | WL_EXIT_ON_PM_DEATH |
							 (timeout_ms >= 0 ? WL_TIMEOUT : 0),
							 a->epoll_fd, timeout_ms, wait_event_info());
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Sleep on the latch, so cancel and statement_timeout end the wait. */
void
clf_http_sleep(int ms)
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
 * base with a query string of nparams names and values, palloc'd.  base
 * is the URL as messages show it, with no secret in it.  A value
 * may be a secret or a token: the URL is the caller's to wipe, and libcurl's
 * escaped copies are wiped here, however this ends.  The URL is written
 * once into a buffer of its final size, so no grown-out-of copy of it is
 * left behind unwiped.
 */
char *
clf_http_url(const char *base, int nparams, const char *const *names,
			 const char *const *values)
{
	char	  **escaped = palloc0(nparams * sizeof(char *));
	char	   *url = NULL;

	PG_TRY();
	{
		size_t		len = strlen(base) + 1;
		char	   *p;

		for (int i = 0; i < nparams; i++)
		{
#ifdef CLF_FAULT_INJECTION
			if (!fault_at("url_escape"))
#endif
				escaped[i] = curl_easy_escape(NULL, values[i], 0);
			if (escaped[i] == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory"),
						 errdetail("The URL for %s could not be built: libcurl ran out of memory escaping its parameters.",
								   base)));
			len += 2 + strlen(names[i]) + strlen(escaped[i]);
		}
		url = palloc(len);
		p = url + sprintf(url, "%s", base);
		for (int i = 0; i < nparams; i++)
			p += sprintf(p, "%c%s=%s", i == 0 ? '?' : '&', names[i], escaped[i]);
	}
	PG_FINALLY();
	{
		for (int i = 0; i < nparams; i++)
		{
			if (escaped[i] == NULL)
				continue;
			explicit_bzero(escaped[i], strlen(escaped[i]));
			curl_free(escaped[i]);
		}
		pfree(escaped);
	}
	PG_END_TRY();
	return url;
}
