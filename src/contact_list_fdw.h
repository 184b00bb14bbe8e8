/*-------------------------------------------------------------------------
 *
 * contact_list_fdw.h
 *		  What crosses files in contact_list_fdw, the foreign data wrapper
 *		  over WeCom's externalcontact/contact_list API.
 *
 * Layering, top down: a file of the stack calls only the ones below it,
 * and the files beside the stack call none of it.
 *	contact_list_fdw.c	the FDW callbacks.
 *	scan.c			one traversal of the cursor chain, page by page.
 *	wecom.c			WeCom's protocol: gettoken and contact_list URLs and
 *					bodies, errcodes, retries and backoff (Retry-After,
 *					45009), API error reports.
 *	tokens.c		access tokens (tokens.h): get one, one was rejected,
 *					one was fetched or its fetch failed; this backend's own
 *					cache and its invalidation on ALTER USER MAPPING.
 *	shared_tokens.c	beneath tokens.c only: the cluster's token table.
 *	http.c			the transport (http.h): one libcurl request on
 *					PostgreSQL's latch and wait set, the libcurl handle kept
 *					per server and dropped on ALTER SERVER, libcurl's
 *					failures, cancellable sleeps.  It knows nothing of WeCom,
 *					of scans and of the request slots (wecom.c reports each
 *					request around it).
 * Beside the stack:
 *	option.c		option validation and lookup.
 *	convert.c		JSON values to column Datums.
 *	page_parser.c	json-c only (no PostgreSQL): incremental parse and shape
 *					checks of one response body; shared with the fuzz target.
 *	json_validate.c	plain C, under page_parser.c only: strict JSON and
 *					UTF-8, checked byte by byte as the body arrives.
 *	redact.c		(redact.h) credentials kept out of messages, and wiped
 *					from our copies; the secret digest that keys the token
 *					caches; text from the network made printable.  Calls
 *					nothing of ours.
 * A scan's events, floors bottom up (each calls only the floors below):
 *	shmem.c			creates and attaches the shared area, degrades to
 *					per-backend, runs the releases the modules register;
 *					calls nothing above it (shared_state.h: the layout and
 *					its API).
 *	progress.c, stats.c, scan_log.c
 *					each its own view, and none calls another:
 *					contact_list_fdw_progress (progress.h); the per-server
 *					counters and request slots (stats.h); this session's and
 *					the cluster's ended scans (scan_log.h).
 *	scan_events.c	the one place a scan reports to (scan_events.h):
 *					started, page done, request begins and done, retry,
 *					waiting for..., finished; it feeds the three above.
 *					Called by scan.c, wecom.c, the callbacks and
 *					shared_tokens.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONTACT_LIST_FDW_H
#define CONTACT_LIST_FDW_H

#include "postgres.h"

#include <curl/curl.h>

#include "clf_common.h"
#include "convert.h"
#include "option.h"
#include "page_parser.h"
#include "scan.h"
#include "wecom.h"

#include "access/tupdesc.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/palloc.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"


/*
 * Transitional, until this header is split: modules that have their own
 * header, for the files that still find everything here.
 */
#include "redact.h"
#include "http.h"
#include "tokens.h"

#endif							/* CONTACT_LIST_FDW_H */
