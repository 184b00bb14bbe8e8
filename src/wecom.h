/*-------------------------------------------------------------------------
 *
 * wecom.h
 *		  WeCom's protocol: one page of contact_list, with its access token,
 *		  retries and backoff, and the errors WeCom's answers become.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_WECOM_H
#define CLF_WECOM_H

#include "clf_common.h"
#include "page_parser.h"

/* how scan_events.c knows the scan a page is for (scan_events.h) */
struct ClfScanReport;

extern void clf_wecom_init(void);
extern void clf_fetch_page(const ClfOptions *opts, const char *cursor,
						   int limit, int64 page_no, ClfResponse *resp,
						   ClfScanStats *stats, struct ClfScanReport *report);
extern char *clf_endpoint_for_display(const ClfOptions *opts);

/* one page at a time without waiting, for an asynchronous foreign scan */
typedef struct ClfPageFetcher ClfPageFetcher;

extern ClfPageFetcher *clf_fetcher_create(MemoryContext parent, const void *poller,
										  SubTransactionId subid);
extern void clf_fetcher_start(ClfPageFetcher *f, const ClfOptions *opts,
							  const char *cursor, int limit, int64 page_no,
							  ClfResponse *resp, ClfScanStats *stats,
							  struct ClfScanReport *report);
extern bool clf_fetcher_continue(ClfPageFetcher *f);
extern void clf_fetcher_wait(ClfPageFetcher *f);
extern int	clf_fetcher_socket(const ClfPageFetcher *f);
extern bool clf_fetcher_busy(const ClfPageFetcher *f);
extern void clf_fetcher_abandon(ClfPageFetcher *f);

#endif							/* CLF_WECOM_H */
