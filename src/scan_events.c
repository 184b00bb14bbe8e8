/*-------------------------------------------------------------------------
 *
 * scan_events.c
 *		  The one place a scan reports to: started, page done, request begins
 *		  and done, retry because..., waiting for..., finished or failed.
 *
 * Each event is handed on to the views that keep something of it: the
 * scan's row in contact_list_fdw_progress (progress.c), the server's
 * counters and request slots (stats.c), and the session's and the
 * cluster's scan logs (scan_log.c).  They call none of each other: what one
 * event means for each of them is decided here, once, and so is whatever
 * they share (the table's quoted name, looked up when the scan starts).
 *
 * Shared state taken through these events is given back by the module that
 * holds it, on error, cancel and exit alike (see shmem.c); the scan's own
 * memory going before its end was reported is recorded here: as a failed
 * scan if its query, or the one it runs inside (a function's loop over a
 * query), was running then (an error or cancel anywhere in it), else as
 * stopped early or complete (an idle cursor's transaction or savepoint
 * rolled back).  A request out when the backend exits (a FATAL: none of
 * the request's own code runs again) is counted then too, if any of it
 * went out (the transport says), in the server's counters and in the
 * scan's end, the one place that sees both.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scan_events.h"
#include "http.h"
#include "progress.h"
#include "scan_log.h"
#include "stats.h"

#include "access/xact.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/*
 * The queries running now, innermost last: each ExecutorRun, ExecutorFinish
 * and ExecutorEnd under way (a node's end failing before a scan's
 * EndForeignScan fails the query as an AFTER trigger's error does), with
 * the subtransaction it began in.  An error
 * leaves its query here until its (sub)transaction's rollback, which tells
 * the live scans of the queries it ends that they failed while running (a
 * scan's memory may go after that: a cursor declared before the savepoint,
 * an SPI query's executor state) and forgets those queries.
 */
typedef struct RunningQuery
{
	const struct EState *query;
	SubTransactionId subid;
} RunningQuery;

static RunningQuery *running;
static int	n_running;
static int	max_running;

/* every scan started whose memory has not gone yet */
static dlist_head live_scans = DLIST_STATIC_INIT(live_scans);

/*
 * The quoted schema-qualified name of relid, or NULL if it cannot be
 * found.  Taken when the scan starts: its end may come in an aborted
 * transaction, where the catalogs cannot be read.
 */
static char *
table_name_of(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname = relname ? get_namespace_name(get_rel_namespace(relid)) : NULL;

	return nspname ? quote_qualified_identifier(nspname, relname) : NULL;
}

/* Is query running, or did an error end it that no rollback has seen yet? */
static bool
query_running(const struct EState *query)
{
	for (int i = n_running - 1; i >= 0; i--)
	{
		if (running[i].query == query)
			return true;
	}
	return false;
}

/*
 * The queries from running[first] on ended in an error: live scans of
 * theirs are marked failed, the progress rows of those whose own query it
 * was go, and the queries are forgotten (their executor states may go, and
 * others come at the same addresses).  This is the one place a failed
 * query ends its scans' rows: a scan's memory may outlive its failed query
 * by far (a cursor declared before the savepoint its FETCH failed in, until
 * it is closed; a SQL function's query whose error a PL/pgSQL exception
 * block caught, as long as the transaction).  A portal that fails outside
 * its query (a NO SCROLL cursor's FETCH BACKWARD), and the scans it runs
 * (a set-returning SQL function's under a failed cursor), progress.c sees
 * to at the rollback.
 */
static void
queries_failed(int first)
{
	dlist_iter	iter;

	if (first >= n_running)
		return;
	dlist_foreach(iter, &live_scans)
	{
		ClfScanReport *rep = dlist_container(ClfScanReport, live, iter.cur);

		for (int i = first; i < n_running; i++)
		{
			if (rep->query != NULL &&
				(rep->query == running[i].query || rep->outer == running[i].query))
			{
				rep->failed_running = true;

				/*
				 * Its own query failed: it can never return another row.
				 * Not so a cursor whose FETCH ran inside the failed query
				 * and returned: it goes on after the rollback.
				 */
				if (rep->query == running[i].query)
					clf_progress_end(&rep->progress);
			}
		}
	}
	n_running = first;
}

static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/* no query outlives its transaction: any left failed */
			queries_failed(0);
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	int			first = n_running;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* the queries begun in the subtransaction or under it, innermost last */
	while (first > 0 && running[first - 1].subid >= mySubid)
		first--;
	queries_failed(first);
}

/* Once per backend, when the library is loaded. */
void
clf_event_init(void)
{
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}

/* query's executor starts (or goes on) running it. */
void
clf_event_query_runs(const struct EState *query)
{
	if (n_running == max_running)
	{
		int			newmax = Max(8, max_running * 2);

		running = running
			? repalloc(running, newmax * sizeof(RunningQuery))
			: MemoryContextAlloc(TopMemoryContext, newmax * sizeof(RunningQuery));
		max_running = newmax;
	}
	running[n_running].query = query;
	running[n_running].subid = GetCurrentSubTransactionId();
	n_running++;
}

/*
 * query's run returned without error.  Queries above it that are still
 * here ended in an error someone caught without a rollback.  A scan that
 * started inside it (a cursor fetched from in a function) no longer fails
 * with it: its executor state may go, and another come at its address.
 */
void
clf_event_query_returned(const struct EState *query)
{
	dlist_iter	iter;

	dlist_foreach(iter, &live_scans)
	{
		ClfScanReport *rep = dlist_container(ClfScanReport, live, iter.cur);

		if (rep->outer == query)
			rep->outer = NULL;
	}
	for (int i = n_running - 1; i >= 0; i--)
	{
		if (running[i].query == query)
		{
			queries_failed(i + 1);
			n_running = i;
			return;
		}
	}
}

/* rep's request (a gettoken or not) begins; rep NULL: a request of no scan's. */
static void
request_out(ClfScanReport *rep, bool gettoken, bool async)
{
	if (rep)
	{
		rep->request_out = true;
		rep->request_gettoken = gettoken;
		rep->request_async = async;
		rep->request_since = GetCurrentTimestamp();
	}
}

/*
 * rep's request is settled: counted by its own code, or never made.  Its
 * scan's memory going no longer counts it.
 */
static void
request_settled(ClfScanReport *rep)
{
	if (rep)
		rep->request_out = false;
}

/*
 * rep's scan ends with outcome: its logs get stats as its counters (its
 * own, or those with a request its exit cut short).
 */
static void
scan_ended(ClfScanReport *rep, const ClfScanStats *stats,
		   ClfScanOutcome outcome, const char *error)
{
	if (rep->opts == NULL || rep->finished)
		return;					/* never started, or its end recorded */
	rep->finished = true;
	clf_scan_log_finish(&rep->log, stats, outcome, error);
	clf_stats_scan_finished(rep->opts->serverid, outcome);
}

/*
 * The scan's memory goes with no end reported: the executor never ended
 * it.  If its query, or the query it started inside, was running, that
 * failed or was cancelled somewhere we did not see; if not, the scan sat
 * idle (an open cursor) while its transaction or savepoint rolled back,
 * and it stopped there.
 */
static void
scan_memory_gone(void *arg)
{
	ClfScanReport *rep = (ClfScanReport *) arg;
	ClfScanStats stats;

	dlist_delete(&rep->live);
	stats = *rep->stats;

	/*
	 * Its request is out (or answered and not yet read, an idle
	 * asynchronous cursor's) while its backend exits (pg_terminate_backend:
	 * a FATAL runs none of the request's own code, and the release at exit
	 * gave its slot back uncounted), or while an asynchronous scan is
	 * dropped by an error or cancel (its transfer goes with its memory).  It
	 * counts here as a request that ran, for the network time it had, with
	 * no bytes (what had come of the body went with it).  A synchronous
	 * request cut short by an error or cancel is not counted here: its own
	 * code counted it on the way out, if any of it had gone out.  Nor is one
	 * cut short before any of it went out (still connecting; a slot or a
	 * token fetch handed on to a waiter that was being ended): the server
	 * never saw it.  An asynchronous one of those the fetcher settled as its
	 * own memory went, before this.
	 */
	if (rep->request_out && (proc_exit_inprogress || rep->request_async) && rep->opts &&
		(rep->request_async || clf_http_request_went_out(rep->opts->serverid)))
	{
		double		ms = (GetCurrentTimestamp() - rep->request_since) / 1000.0;

		rep->request_out = false;
		stats.requests++;
		if (rep->request_gettoken)
			stats.token_fetches++;
		stats.network_ms += Max(ms, 0);
		clf_request_counted(rep->opts, rep->request_gettoken, 0, Max(ms, 0));
	}
	if (rep->query == NULL || rep->failed_running || query_running(rep->query) ||
		(rep->outer != NULL && query_running(rep->outer)))
		scan_ended(rep, &stats, CLF_SCAN_ERROR,
				   "the query failed or was cancelled while the scan was running; see the query's error");
	else
		scan_ended(rep, &stats, rep->exhausted ? CLF_SCAN_COMPLETE : CLF_SCAN_STOPPED_EARLY,
				   NULL);
}

/* rep stands for no scan yet: its events reach nobody's row or entry. */
void
clf_event_scan_init(ClfScanReport *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->progress.slot = -1;
}

/*
 * A scan of relid by opts's server starts, counting in stats, in the query
 * whose executor state is query (NULL: no executor, as in ANALYZE; its end
 * unreported is always an error).  rep, opts and stats live in scan_cxt,
 * whose end is the scan's end.
 */
void
clf_event_scan_started(ClfScanReport *rep, const ClfOptions *opts,
					   const ClfScanStats *stats, MemoryContext scan_cxt,
					   Oid relid, const struct EState *query)
{
	char	   *table_name = table_name_of(relid);
	MemoryContextCallback *callback;

	rep->opts = opts;
	rep->stats = stats;
	rep->query = query;
	rep->outer = NULL;
	for (int i = n_running - 1; query != NULL && i > 0; i--)
	{
		if (running[i].query == query)
		{
			rep->outer = running[i - 1].query;
			break;
		}
	}
	/*
	 * Made before the log's entry starts: from then on the entry points into
	 * scan_cxt (a running scan's counters), so nothing may fail until the
	 * callback that ends the entry with scan_cxt is in place.
	 */
	FAULT_ERROR("scan_callback");
	callback = MemoryContextAlloc(scan_cxt, sizeof(MemoryContextCallback));
	callback->func = scan_memory_gone;
	callback->arg = rep;
	clf_scan_log_start(&rep->log, opts, relid, table_name, stats);
	MemoryContextRegisterResetCallback(scan_cxt, callback);
	dlist_push_head(&live_scans, &rep->live);
	clf_progress_begin(&rep->progress, scan_cxt, opts, relid, table_name);
}

/*
 * rep's scan ended with outcome; error, free of credentials, says why it
 * failed.  Only the first report of a scan's end counts.  Called where
 * errors may be being cleaned up: nothing on this path looks at the
 * catalogs.
 */
void
clf_event_scan_finished(ClfScanReport *rep, ClfScanOutcome outcome,
						const char *error)
{
	scan_ended(rep, rep->stats, outcome, error);
}

/*
 * Whether rep's scan has returned every row of its traversal (the last row
 * of its last page handed out, or a rescan starting again): if its end is
 * not reported, this says complete or stopped early, and its progress row
 * says it requests nothing more.
 */
void
clf_event_scan_exhausted(ClfScanReport *rep, bool exhausted)
{
	rep->exhausted = exhausted;
	if (exhausted)
		clf_progress_all_returned(&rep->progress);
}

/* rep's scan is about to fetch a page: what is reported now concerns it. */
void
clf_event_page_begins(ClfScanReport *rep)
{
	clf_progress_enter(&rep->progress);
}

/* rep's scan got a page of rows, its counters updated. */
void
clf_event_page_done(ClfScanReport *rep, int64 rows)
{
	if (rep->opts)
		clf_stats_page(rep->opts, rows);
	clf_progress_page_done(&rep->progress, rep->stats);
}

/*
 * A request to opts's server is about to be made (a gettoken or not, for
 * rep's scan; NULL: of no scan): take one of the server's request slots
 * (max_concurrent_requests), waiting for it cancellably in the order the
 * waiters came.  clf_event_request_done gives it back; an error or exit
 * before that, stats.c's release.  Until then the request is the scan's
 * request out, counted if its backend exits meanwhile (scan_memory_gone),
 * unless clf_event_request_not_made says an error came before it began.
 */
void
clf_event_request_begins(const ClfOptions *opts, bool gettoken,
						 ClfScanReport *rep)
{
	bool		waited = false;

	while (!clf_request_slot_try(opts))
	{
		if (!waited)
		{
			clf_event_waiting(CLF_WAIT_SLOT, 0, NULL);
			waited = true;
		}
		clf_request_slot_wait();
	}
	clf_event_wait_over();
	request_out(rep, gettoken, false);
}

/*
 * rep's request ended, however: its connection was closed or given back to
 * the handle's cache.  Its slot goes back, and it is counted: a token
 * fetch (gettoken) or a page, bytes of body, network_ms inside the
 * transport.  scan is the scan's counters with this request in them.
 */
void
clf_event_request_done(const ClfOptions *opts, bool gettoken, size_t bytes,
					   double network_ms, ClfScanReport *rep,
					   const ClfScanStats *scan)
{
	request_settled(rep);		/* counted below, not at exit */
	clf_progress_publish(scan);
	clf_request_done(opts, gettoken, bytes, network_ms);
}

/*
 * rep's request, begun with clf_event_request_begins or
 * clf_event_request_try, ended in an error before the transport started
 * it, or was dropped before any of it went out (an asynchronous scan's,
 * still connecting): the server never saw it, and it is counted nowhere
 * (its slot goes back with the abort, or with the scan's claim), not even
 * when the scan's memory goes later (an asynchronous scan's, or any at the
 * backend's exit).
 */
void
clf_event_request_not_made(ClfScanReport *rep)
{
	request_settled(rep);
}

/*
 * A claim for an asynchronous scan's requests to opts's server, whose slot
 * and ticket are its own (with no cap, its request in flight is counted in
 * it); or CLF_NO_SLOT_CLAIM when this backend has none left (it asks again
 * while it waits; with no cap it goes on uncounted).  The scan gives it
 * back with clf_event_slot_unclaim once its page is done, or when it ends,
 * however it ends; subid is the subtransaction the scan began in, whose
 * abort gives them back too.
 */
ClfSlotClaim
clf_event_slot_claim(const void *poller, const ClfOptions *opts,
					 SubTransactionId subid)
{
	return clf_request_slot_claim(poller, opts, subid);
}

void
clf_event_slot_unclaim(ClfSlotClaim c)
{
	clf_request_slot_unclaim(c);
}

/*
 * clf_event_request_begins for an asynchronous scan with claim c, never
 * waiting: true if its request to opts's server may begin now (c holds a
 * slot, or none is needed), false if it waits for a slot: ask again later
 * (a slot given back wakes nobody here: the caller must look again on its
 * own, as after a timeout).  The scan's progress row says which.
 */
bool
clf_event_request_try(const ClfOptions *opts, ClfSlotClaim c, bool gettoken,
					  ClfScanReport *rep)
{
	if (!clf_request_slot_try_claim(c, opts))
	{
		clf_event_waiting(CLF_WAIT_SLOT, 0, NULL);
		return false;
	}
	clf_event_wait_over();
	request_out(rep, gettoken, true);
	return true;
}

/* clf_event_request_done for a request whose slot c holds: c's slot goes back. */
void
clf_event_request_done_claim(const ClfOptions *opts, ClfSlotClaim c,
							 bool gettoken, size_t bytes, double network_ms,
							 ClfScanReport *rep, const ClfScanStats *scan)
{
	request_settled(rep);		/* counted below, not when its memory goes */
	clf_progress_publish(scan);
	clf_request_done_claim(c, opts, gettoken, bytes, network_ms);
}

/*
 * A request failed in a way worth retrying, and the scan now waits
 * delay_ms.  The cause is curl_result if not 0, else http_status if not
 * 200, else WeCom's errcode; description says it without credentials.
 * scan is the scan's counters, this retry counted.
 */
void
clf_event_retry(const ClfOptions *opts, const ClfScanStats *scan,
				int curl_result, long http_status, int64 errcode,
				int delay_ms, const char *description)
{
	/* the progress row counts this retry while it waits, not after */
	clf_progress_publish(scan);
	clf_progress_set_state(CLF_STATE_WAITING_TO_RETRY,
						   TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_ms),
						   description, description);
	clf_stats_retry(opts, curl_result, http_status, errcode);
}

/* The scan fetching now waits for what, until then (0: unknown), because reason. */
void
clf_event_waiting(ClfWaitFor what, TimestampTz until, const char *reason)
{
	ClfProgressState state = CLF_STATE_WAITING_FOR_TOKEN;

	switch (what)
	{
		case CLF_WAIT_TOKEN:
			state = CLF_STATE_WAITING_FOR_TOKEN;
			break;
		case CLF_WAIT_SLOT:
			state = CLF_STATE_WAITING_FOR_SLOT;
			break;
		case CLF_WAIT_BACKOFF:
			state = CLF_STATE_WAITING_TO_RETRY;
			break;
	}
	clf_progress_set_state(state, until, reason, NULL);
}

/* The wait is over: the scan fetching now goes on with its request. */
void
clf_event_wait_over(void)
{
	clf_progress_set_state(CLF_STATE_REQUESTING, 0, NULL, NULL);
}
