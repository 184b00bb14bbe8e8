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

/* a request whose slot went back without it (its backend exits): count it */
extern void clf_request_counted(const ClfOptions *opts, bool gettoken,
								size_t bytes, double ms);

/*
 * The same for callers that must not wait (asynchronous scans): each owns
 * a claim, which holds a slot or a ticket of its own, so that one backend
 * holds several at once.  Taken and given back by the owner; on error and
 * exit its slot and ticket go back by themselves (a subtransaction's abort:
 * only if the owner's scan began in that subtransaction or a later one),
 * the claim stays taken.
 */
typedef int ClfSlotClaim;

#define CLF_NO_SLOT_CLAIM (-1)	/* every claim of this backend is taken */
#define CLF_SLOT_CLAIMS 64		/* claims a backend can hand out at once */

extern ClfSlotClaim clf_request_slot_claim(const void *poller,
										   const ClfOptions *opts,
										   SubTransactionId subid);
extern void clf_request_slot_unclaim(ClfSlotClaim c);
extern bool clf_request_slot_try_claim(ClfSlotClaim c, const ClfOptions *opts);
extern void clf_request_done_claim(ClfSlotClaim c, const ClfOptions *opts,
								   bool gettoken, size_t bytes, double ms);

/* what the server's counters count */
extern void clf_stats_retry(const ClfOptions *opts, int curl_result,
							long http_status, int64 errcode);
extern void clf_stats_page(const ClfOptions *opts, int64 rows);
extern void clf_stats_scan_finished(Oid serverid, ClfScanOutcome outcome);

#endif							/* CLF_STATS_H */
