/*-------------------------------------------------------------------------
 *
 * scan_log.h
 *		  scan_log.c: this session's last scans (contact_list_fdw_scans) and
 *		  the cluster's ring of ended scans (contact_list_fdw_recent_scans).
 *
 * Only scan_events.c reports to these.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_SCAN_LOG_H
#define CLF_SCAN_LOG_H

#include "shared_state.h"

extern int64 clf_scan_log_start(const ClfOptions *opts, Oid relid,
								const char *table_name);
extern bool clf_scan_log_finish(int64 id, const ClfScanStats *stats,
								ClfScanOutcome outcome, const char *error);

#endif							/* CLF_SCAN_LOG_H */
