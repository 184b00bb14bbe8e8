/*-------------------------------------------------------------------------
 *
 * scan_events.h
 *		  scan_events.c: the one place a scan reports what happens to it.
 *
 * The scan (scan.c, the callbacks), the protocol (wecom.c) and the shared
 * token cache say what happens; scan_events.c turns each event into what
 * the progress row (progress.c), the server's counters and request slots
 * (stats.c) and the scan logs (scan_log.c) keep of it.  Those three call
 * none of each other.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_SCAN_EVENTS_H
#define CLF_SCAN_EVENTS_H

#include "clf_common.h"
#include "progress.h"
#include "scan_log.h"
#include "stats.h"

#include "lib/ilist.h"
#include "utils/timestamp.h"

struct EState;

/*
 * What the events of one scan are told apart by: kept by the scan (in its
 * memory, which it must outlive), filled in by clf_event_scan_started.
 */
typedef struct ClfScanReport
{
	const ClfOptions *opts;		/* the scan's server */
	const ClfScanStats *stats;	/* the scan's counters, kept by the scan */
	bool		finished;		/* its end has been recorded */
	ClfScanLogStart log;		/* what the scan logs keep of its start */
	ClfProgressRow progress;	/* row in contact_list_fdw_progress */

	/*
	 * How its end is told when its memory goes without one being reported
	 * (see scan_memory_gone): the executor state of its query (compared,
	 * never read; NULL for ANALYZE's) and of the query running around it
	 * when it started until that one returns (a function's loop over a
	 * query: NULL if none), whether it has returned every row, and whether
	 * a rollback found either failed while running.
	 */
	const struct EState *query;
	const struct EState *outer;
	bool		exhausted;
	bool		failed_running;

	/*
	 * Its request out now (one at a time), from taking the slot until the
	 * request is counted: if its backend exits meanwhile (a FATAL runs no
	 * code of the request's), or an asynchronous scan's memory goes with
	 * its transfer (an error or cancel), its memory going counts the
	 * request.  Set and cleared by the request events, which wecom.c
	 * hands this report (NULL for a request of no scan's).
	 */
	bool		request_out;
	bool		request_gettoken;
	bool		request_async;	/* out through a claim: no code of its own
								 * counts it if the scan is dropped */
	TimestampTz request_since;
	dlist_node	live;			/* in scan_events.c's list of live scans */
} ClfScanReport;

/* What a scan can wait for, besides the network. */
typedef enum ClfWaitFor
{
	CLF_WAIT_TOKEN,				/* another session's fetch of the token */
	CLF_WAIT_SLOT,				/* a request slot of the server */
	CLF_WAIT_BACKOFF			/* the delay before a retry */
} ClfWaitFor;

extern void clf_event_init(void);

/* the scan as a whole */
extern void clf_event_scan_init(ClfScanReport *rep);
extern void clf_event_scan_started(ClfScanReport *rep, const ClfOptions *opts,
								   const ClfScanStats *stats,
								   MemoryContext scan_cxt, Oid relid,
								   const struct EState *query);
extern void clf_event_scan_exhausted(ClfScanReport *rep, bool exhausted);

/* a query runs (ExecutorRun, ExecutorFinish), and returned without error */
extern void clf_event_query_runs(const struct EState *query);
extern void clf_event_query_returned(const struct EState *query);
extern void clf_event_scan_finished(ClfScanReport *rep, ClfScanOutcome outcome,
									const char *error);

/* its pages: what is reported in between lands on this scan */
extern void clf_event_page_begins(ClfScanReport *rep);
extern void clf_event_page_done(ClfScanReport *rep, int64 rows);

/*
 * one HTTP request of rep's scan (NULL: of no scan), from taking the
 * server's request slot to giving it back
 */
extern void clf_event_request_begins(const ClfOptions *opts, bool gettoken,
									 ClfScanReport *rep);
extern void clf_event_request_done(const ClfOptions *opts, bool gettoken,
								   size_t bytes, double network_ms,
								   ClfScanReport *rep,
								   const ClfScanStats *scan);
extern void clf_event_request_not_made(ClfScanReport *rep);

/*
 * The same for a scan that must not wait (asynchronous): it owns a claim
 * (CLF_NO_SLOT_CLAIM when this backend has none left: ask again later),
 * and asks clf_event_request_try until its request may begin.
 */
extern ClfSlotClaim clf_event_slot_claim(const void *poller,
										 const ClfOptions *opts,
										 SubTransactionId subid);
extern void clf_event_slot_unclaim(ClfSlotClaim c);
extern bool clf_event_request_try(const ClfOptions *opts, ClfSlotClaim c,
								  bool gettoken, ClfScanReport *rep);
extern void clf_event_request_done_claim(const ClfOptions *opts, ClfSlotClaim c,
										 bool gettoken, size_t bytes,
										 double network_ms, ClfScanReport *rep,
										 const ClfScanStats *scan);

/* why the scan is held up */
extern void clf_event_retry(const ClfOptions *opts, const ClfScanStats *scan,
							int curl_result, long http_status, int64 errcode,
							int delay_ms, const char *description);
extern void clf_event_waiting(ClfWaitFor what, TimestampTz until,
							  const char *reason);
extern void clf_event_wait_over(void);

#endif							/* CLF_SCAN_EVENTS_H */
