/*-------------------------------------------------------------------------
 *
 * scan.c
 *		  One traversal of the contact_list cursor chain, a page at a time
 *		  and only when the caller asks for more rows: the cursors, the
 *		  check that the chain does not loop, and the memory of a page.
 *		  Each page is asked of wecom.c (clf_fetch_page).
 *
 * Memory grows with the chain only by the loop check's digest of each
 * cursor (some 50 bytes a page, however long the API makes its cursors: a
 * chain of ever longer ones must not pile up in the backend, as a page's
 * size is bounded and their number is not): what a page needs lives in a
 * context reset before the next page, and the page's json-c objects are
 * freed when the next response arrives.  If an error ends the query, the
 * scan context is deleted with the executor's and its reset callback frees
 * whatever json-c still holds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scan.h"
#include "wecom.h"
#include "scan_events.h"
#include "redact.h"

#include "common/sha2.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

/* a cursor this traversal was given, known by its SHA-256 */
typedef struct SeenCursor
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];	/* key */
} SeenCursor;

static void
release_json(void *arg)
{
	clf_response_release((ClfResponse *) arg);
}

/* Start a new set of seen cursors; the old one's memory goes with it. */
static void
forget_cursors(ClfTraversal *trav)
{
	HASHCTL		ctl;

	MemoryContextReset(trav->cursor_cxt);
	ctl.keysize = PG_SHA256_DIGEST_LENGTH;
	ctl.entrysize = sizeof(SeenCursor);
	ctl.hcxt = trav->cursor_cxt;
	trav->seen_cursors = hash_create("contact_list_fdw cursors", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	trav->cursor = NULL;
}

ClfTraversal *
clf_traversal_begin(const ClfOptions *opts, MemoryContext parent, int64 rows_wanted)
{
	MemoryContext scan_cxt;
	ClfTraversal *trav;
	MemoryContextCallback *cleanup;
	MemoryContext oldcxt;

	scan_cxt = AllocSetContextCreate(parent, "contact_list_fdw scan",
									 ALLOCSET_DEFAULT_SIZES);
	trav = MemoryContextAllocZero(scan_cxt, sizeof(ClfTraversal));
	trav->opts = *opts;
	trav->scan_cxt = scan_cxt;
	trav->page_cxt = AllocSetContextCreate(scan_cxt, "contact_list_fdw page",
										   ALLOCSET_DEFAULT_SIZES);
	trav->cursor_cxt = AllocSetContextCreate(scan_cxt, "contact_list_fdw cursors",
											 ALLOCSET_SMALL_SIZES);
	trav->rows_wanted = rows_wanted;
	clf_event_scan_init(&trav->report);
	clf_response_init(&trav->resp, (size_t) opts->max_response_bytes);

	cleanup = MemoryContextAlloc(scan_cxt, sizeof(MemoryContextCallback));
	cleanup->func = release_json;
	cleanup->arg = &trav->resp;
	MemoryContextRegisterResetCallback(scan_cxt, cleanup);

	oldcxt = MemoryContextSwitchTo(scan_cxt);
	trav->endpoint = clf_endpoint_for_display(opts);
	MemoryContextSwitchTo(oldcxt);

	forget_cursors(trav);
	return trav;
}

/*
 * Remember cursor; error if this traversal has seen it before.  Two
 * cursors are taken for one only when their SHA-256 digests are equal.
 */
static void
check_cursor_is_new(ClfTraversal *trav, const char *cursor, int64 page_no)
{
	const void *parts[] = {cursor};
	size_t		lengths[] = {strlen(cursor)};
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	bool		found;

	clf_sha256(lengthof(parts), parts, lengths, digest);
	(void) hash_search(trav->seen_cursors, digest, HASH_ENTER, &found);
	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("invalid response for page " INT64_FORMAT " of %s: next_cursor repeats a cursor already seen in this scan",
						page_no, trav->endpoint),
				 errdetail("Following it would loop forever."),
				 errhint("Run the query again; if it keeps happening, the API or a proxy in between is misbehaving.")));
}

/* How many rows to ask for in the next page. */
static int
next_page_limit(const ClfTraversal *trav)
{
	int			limit = trav->opts.page_size;

	/* a pushed-down LIMIT asks for no more rows than the query takes */
	if (trav->rows_wanted >= 0)
	{
		int64		needed = trav->rows_wanted - trav->rows_returned;

		/* asked for more than the limit: the limit was wrong, stop using it */
		if (needed > 0)
			limit = (int) Min(needed, (int64) limit);
	}
	return limit;
}

/* Page page_no is in trav->resp: its rows come next, and its cursor after. */
static void
take_page(ClfTraversal *trav, int64 page_no)
{
	trav->pages_in_traversal++;
	trav->started = true;
	trav->item_index = 0;
	if (trav->resp.next_cursor == NULL)
		trav->at_end = true;
	else
	{
		check_cursor_is_new(trav, trav->resp.next_cursor, page_no);
		if (trav->cursor)
			pfree(trav->cursor);
		trav->cursor = MemoryContextStrdup(trav->cursor_cxt, trav->resp.next_cursor);
	}
}

static void
fetch_next_page(ClfTraversal *trav)
{
	MemoryContext oldcxt;
	int64		page_no = trav->pages_in_traversal + 1;
	int			limit = next_page_limit(trav);

	MemoryContextReset(trav->page_cxt);
	oldcxt = MemoryContextSwitchTo(trav->page_cxt);
	clf_event_page_begins(&trav->report);
	clf_fetch_page(&trav->opts, trav->cursor, limit, page_no,
				   &trav->resp, &trav->stats, &trav->report);
	clf_event_page_done(&trav->report, (int64) trav->resp.nitems);
	MemoryContextSwitchTo(oldcxt);
	take_page(trav, page_no);
}

/*
 * Did the scan read the whole chain: its last page fetched and every row of
 * it returned?  A LIMIT met within the last page stopped the scan early.
 */
bool
clf_traversal_complete(const ClfTraversal *trav)
{
	return trav->at_end && trav->item_index >= trav->resp.nitems;
}

/* Can the next row be had without the network? */
bool
clf_traversal_has_rows(const ClfTraversal *trav)
{
	return (trav->started && trav->item_index < trav->resp.nitems) || trav->at_end;
}

/*
 * For an asynchronous scan, when clf_traversal_has_rows is false: start
 * fetching the next page, or go on with the one on its way, without
 * waiting.  True once it has arrived; else wait for clf_traversal_socket
 * to be readable and ask again.  poller is who drives the scan (its
 * Append), subid the subtransaction the scan began in: the first call's
 * are kept with the scan's fetcher.
 */
bool
clf_traversal_poll(ClfTraversal *trav, const void *poller, SubTransactionId subid)
{
	MemoryContext oldcxt;
	int64		page_no = trav->pages_in_traversal + 1;
	bool		arrived;

	if (trav->fetcher == NULL)
		trav->fetcher = clf_fetcher_create(trav->scan_cxt, poller, subid);
	if (!clf_fetcher_busy(trav->fetcher))
	{
		int			limit = next_page_limit(trav);

		MemoryContextReset(trav->page_cxt);
		oldcxt = MemoryContextSwitchTo(trav->page_cxt);
		clf_event_page_begins(&trav->report);
		clf_fetcher_start(trav->fetcher, &trav->opts, trav->cursor,
						  limit, page_no, &trav->resp, &trav->stats,
						  &trav->report);
		MemoryContextSwitchTo(oldcxt);
	}
	oldcxt = MemoryContextSwitchTo(trav->page_cxt);
	/* the scans of an Append take turns: what happens now is this one's */
	clf_event_page_begins(&trav->report);
	arrived = clf_fetcher_continue(trav->fetcher);
	if (arrived)
		clf_event_page_done(&trav->report, (int64) trav->resp.nitems);
	MemoryContextSwitchTo(oldcxt);
	if (arrived)
		take_page(trav, page_no);
	return arrived;
}

/* What to wait on while clf_traversal_poll says the page is on its way. */
int
clf_traversal_socket(const ClfTraversal *trav)
{
	return clf_fetcher_socket(trav->fetcher);
}

/*
 * The next info_list item (a json_object *), or NULL after the last.  The
 * item stays valid until the next call.
 */
void *
clf_traversal_next(ClfTraversal *trav)
{
	for (;;)
	{
		if (trav->started && trav->item_index < trav->resp.nitems)
		{
			trav->rows_returned++;
			return clf_response_item(&trav->resp, trav->item_index++);
		}
		if (trav->at_end)
			return NULL;
		if (trav->fetcher && clf_fetcher_busy(trav->fetcher))
		{
			/*
			 * asked for rows the ordinary way while a page is on its way:
			 * its fetcher, made by then, keeps its poller and subid
			 */
			while (!clf_traversal_poll(trav, NULL, InvalidSubTransactionId))
				clf_fetcher_wait(trav->fetcher);
			continue;
		}
		fetch_next_page(trav);
	}
}

/* Start again from an empty cursor, keeping the counters. */
void
clf_traversal_restart(ClfTraversal *trav)
{
	if (trav->fetcher && clf_fetcher_busy(trav->fetcher))
		clf_fetcher_abandon(trav->fetcher);
	forget_cursors(trav);
	trav->started = false;
	trav->at_end = false;
	trav->item_index = 0;
	trav->rows_returned = 0;
	trav->pages_in_traversal = 0;
	clf_response_reset(&trav->resp);
}

/*
 * The scan ends: complete if it returned every row, else stopped early
 * (an end reported before stays).  A request still in flight (an
 * asynchronous scan's next page, which a LIMIT made unneeded) is dropped,
 * and counted if the server may have seen it, before the end is reported,
 * so that the scan's row counts it as the server's counters do.
 */
void
clf_traversal_end(ClfTraversal *trav)
{
	/* a token fetch this scan claimed is given back for the others */
	if (trav->fetcher && clf_fetcher_busy(trav->fetcher))
		clf_fetcher_abandon(trav->fetcher);
	clf_event_scan_finished(&trav->report,
							clf_traversal_complete(trav) ? CLF_SCAN_COMPLETE : CLF_SCAN_STOPPED_EARLY,
							NULL);
	MemoryContextDelete(trav->scan_cxt);
}
