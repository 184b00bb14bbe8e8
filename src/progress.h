/*-------------------------------------------------------------------------
 *
 * progress.h
 *		  progress.c: a scan's row in contact_list_fdw_progress.
 *
 * Only scan_events.c reports to these.  A row is taken when the scan
 * starts and goes with the scan's memory or its backend; the states land on
 * the row of the scan that said it is fetching (clf_progress_enter).
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
	CLF_STATE_RETURNING_ROWS
} ClfProgressState;

struct ClfTraversal;

extern void clf_progress_begin(struct ClfTraversal *trav, Oid relid,
							   const char *table_name);
extern void clf_progress_enter(struct ClfTraversal *trav);
extern void clf_progress_page_done(struct ClfTraversal *trav);
extern void clf_progress_set_state(ClfProgressState state, TimestampTz until,
								   const char *reason, const char *error);
extern void clf_progress_publish(const ClfScanStats *stats);

#endif							/* CLF_PROGRESS_H */
