/*-------------------------------------------------------------------------
 *
 * scan.h
 *		  One traversal of the cursor chain, page by page, for a foreign scan.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_SCAN_H
#define CLF_SCAN_H

#include "clf_common.h"
#include "page_parser.h"
#include "scan_events.h"

#include "utils/hsearch.h"

typedef struct ClfTraversal
{
	ClfOptions	opts;
	char	   *endpoint;		/* the API as messages show it */
	MemoryContext scan_cxt;		/* lives as long as the traversal */
	MemoryContext page_cxt;		/* reset for every page */
	MemoryContext cursor_cxt;	/* the traversal's cursor, digests of the
								 * earlier ones */
	ClfResponse resp;			/* the current page (json-c, malloc'd) */
	char	   *cursor;			/* for the next request; NULL before the first */
	struct HTAB *seen_cursors;	/* detects a cursor chain that loops */
	bool		started;
	bool		at_end;			/* the last page has been fetched */
	size_t		item_index;		/* next item of resp to return */
	int64		rows_wanted;	/* rows the executor will take at most; -1: all */
	int64		rows_returned;
	int64		pages_in_traversal;
	ClfScanStats stats;
	ClfScanReport report;		/* how scan_events.c knows this scan */
	struct ClfPageFetcher *fetcher; /* asynchronous fetches, made at the first */
} ClfTraversal;

extern ClfTraversal *clf_traversal_begin(const ClfOptions *opts,
										 MemoryContext parent, int64 rows_wanted);
extern void *clf_traversal_next(ClfTraversal *trav);
extern void clf_traversal_restart(ClfTraversal *trav);
extern bool clf_traversal_has_rows(const ClfTraversal *trav);
extern bool clf_traversal_complete(const ClfTraversal *trav);
extern bool clf_traversal_poll(ClfTraversal *trav, const void *poller,
							   SubTransactionId subid);
extern int	clf_traversal_socket(const ClfTraversal *trav);
extern void clf_traversal_end(ClfTraversal *trav);

#endif							/* CLF_SCAN_H */
