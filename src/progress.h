/*-------------------------------------------------------------------------
 *
 * progress.h
 *		  progress.c: a scan's row in contact_list_fdw_progress.
 *
 * Only scan_events.c reports to these.  A row is taken when the scan
 * starts and goes with the scan's memory (the ClfProgressRow lives there),
 * when scan_events.c says its query failed (clf_progress_end: a cursor's,
 * or a SQL function's that PL/pgSQL calls, keeps that memory long after),
 * with the failure of the portal running it, or with its backend; the
 * states land on the row of the scan that said it is fetching
 * (clf_progress_enter).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_PROGRESS_H
#define CLF_PROGRESS_H

#include "shared_state.h"

/* ClfProgressSlot.state */
typedef enum ClfProgressState
{
	CLF_STATE_STARTING,
	CLF_STATE_REQUESTING,
	CLF_STATE_WAITING_TO_RETRY,
	CLF_STATE_WAITING_FOR_SLOT,
	CLF_STATE_WAITING_FOR_TOKEN,
	CLF_STATE_RETURNING_ROWS,
	CLF_STATE_ALL_ROWS_RETURNED
} ClfProgressState;

/* A scan's row, as the scan holds it. */
typedef struct ClfProgressRow
{
	int			slot;			/* in ClfShared.progress, or -1: none */
	uint64		serial;			/* tells a reused slot from the old one */
} ClfProgressRow;

extern void clf_progress_begin(ClfProgressRow *row, MemoryContext scan_cxt,
							   const ClfOptions *opts, Oid relid,
							   const char *table_name);
extern void clf_progress_end(ClfProgressRow *row);
extern void clf_progress_enter(const ClfProgressRow *row);
extern void clf_progress_page_done(const ClfProgressRow *row,
								   const ClfScanStats *stats);
extern void clf_progress_all_returned(const ClfProgressRow *row);
extern void clf_progress_set_state(ClfProgressState state, TimestampTz until,
								   const char *reason, const char *error);
extern void clf_progress_publish(const ClfScanStats *stats);

#endif							/* CLF_PROGRESS_H */
