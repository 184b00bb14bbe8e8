/*-------------------------------------------------------------------------
 *
 * stats.h
 *		  stats.c: the per-server counters of contact_list_fdw_stats, and
 *		  the request slots of max_concurrent_requests, in the shared state.
 *
 * Only scan_events.c reports to these (and _PG_init sets up the hook that
 * frees a dropped server's entry).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_STATS_H
#define CLF_STATS_H

#include "shared_state.h"

extern void clf_stats_init(void);

/* a request's slot: try, wait and try again; given back by clf_request_done */
extern bool clf_request_slot_try(const ClfOptions *opts);
extern void clf_request_slot_wait(void);
extern void clf_request_done(const ClfOptions *opts, bool gettoken, size_t bytes,
							 double ms);

/* what the server's counters count */
extern void clf_stats_retry(const ClfOptions *opts, int curl_result,
							long http_status, int64 errcode);
extern void clf_stats_page(const ClfOptions *opts, int64 rows);
extern void clf_stats_scan_finished(Oid serverid, ClfScanOutcome outcome);

#endif							/* CLF_STATS_H */
