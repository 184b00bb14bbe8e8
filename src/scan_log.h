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

/*
 * What the logs keep of a scan from its start, kept by the scan itself
 * (scan_events.c's report): its end is recorded in the cluster's ring from
 * this, even when the session's ring has given the scan's entry to later
 * scans meanwhile (an open cursor while 100 other scans run).  The names
 * are taken at the start, as the end may come in an aborted transaction,
 * where the catalogs cannot be read.
 */
typedef struct ClfScanLogStart
{
	int64		id;				/* entry in contact_list_fdw_scans(), or 0 */
	Oid			relid;
	Oid			session_user;	/* whose session ran it */
	Oid			reader;			/* the current user: whose privileges read */
	TimestampTz started;
	char		table_name[2 * NAMEDATALEN + 2];
	char		server_name[NAMEDATALEN];
} ClfScanLogStart;

extern void clf_scan_log_start(ClfScanLogStart *start, const ClfOptions *opts,
							   Oid relid, const char *table_name,
							   const ClfScanStats *stats);
extern void clf_scan_log_finish(const ClfScanLogStart *start,
								const ClfScanStats *stats,
								ClfScanOutcome outcome, const char *error);

#endif							/* CLF_SCAN_LOG_H */
