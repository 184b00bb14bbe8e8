/*-------------------------------------------------------------------------
 *
 * scan_log.c
 *		  This session's last scans, for contact_list_fdw_scans(): where a
 *		  user looks first when a scheduled refresh is slow or rate-limited.
 *
 * A ring of fixed size in TopMemoryContext; a scan writes its entry when it
 * starts and again when it ends, so a scan that is still running, or whose
 * query was cancelled, shows as such.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "contact_list_fdw.h"
#include "shared_state.h"

#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#define CLF_SCAN_LOG_SIZE 100
#define CLF_SCAN_LOG_ERROR_LEN 500

typedef struct ClfScanLogEntry
{
	int64		serial;			/* 0: unused */
	Oid			relid;
	Oid			serverid;
	TimestampTz started;
	TimestampTz ended;			/* 0 while running */
	ClfScanStats stats;
	ClfScanOutcome outcome;
	char		error[CLF_SCAN_LOG_ERROR_LEN];
} ClfScanLogEntry;

static ClfScanLogEntry *scan_log = NULL;
static int64 next_serial = 1;

/*
 * If the traversal's memory goes away while its entry still says running,
 * the query failed or was cancelled somewhere we did not see.
 */
static void
scan_context_gone(void *arg)
{
	ClfTraversal *trav = (ClfTraversal *) arg;

	clf_scan_log_finish(trav->log_id, &trav->stats, CLF_SCAN_ERROR,
						"the query failed or was cancelled while the scan was running; see the query's error");
}

/* Record a new scan of relid by trav; returns its id. */
int64
clf_scan_log_start(ClfTraversal *trav, Oid relid)
{
	ClfScanLogEntry *entry;
	MemoryContextCallback *callback;

	if (scan_log == NULL)
		scan_log = MemoryContextAllocZero(TopMemoryContext,
										  sizeof(ClfScanLogEntry) * CLF_SCAN_LOG_SIZE);
	entry = &scan_log[next_serial % CLF_SCAN_LOG_SIZE];
	memset(entry, 0, sizeof(*entry));
	entry->serial = next_serial++;
	entry->relid = relid;
	entry->serverid = trav->opts.serverid;
	entry->started = GetCurrentTimestamp();
	entry->outcome = CLF_SCAN_RUNNING;

	trav->log_id = entry->serial;
	callback = MemoryContextAlloc(trav->scan_cxt, sizeof(MemoryContextCallback));
	callback->func = scan_context_gone;
	callback->arg = trav;
	MemoryContextRegisterResetCallback(trav->scan_cxt, callback);
	clf_progress_begin(trav, relid);
	return entry->serial;
}

/* Record how scan id ended, unless that is already recorded. */
void
clf_scan_log_finish(int64 id, const ClfScanStats *stats, ClfScanOutcome outcome,
					const char *error)
{
	ClfScanLogEntry *entry;

	if (scan_log == NULL || id <= 0)
		return;
	entry = &scan_log[id % CLF_SCAN_LOG_SIZE];
	if (entry->serial != id || entry->outcome != CLF_SCAN_RUNNING)
		return;
	entry->ended = GetCurrentTimestamp();
	entry->stats = *stats;
	entry->outcome = outcome;
	clf_stats_scan_finished(entry->serverid, outcome);
	if (error)
	{
		/* whole characters only */
		int			len = pg_mbcliplen(error, strlen(error), sizeof(entry->error) - 1);

		memcpy(entry->error, error, len);
		entry->error[len] = '\0';
	}
}

static const char *
outcome_name(ClfScanOutcome outcome)
{
	switch (outcome)
	{
		case CLF_SCAN_RUNNING:
			return "running";
		case CLF_SCAN_COMPLETE:
			return "complete";
		case CLF_SCAN_STOPPED_EARLY:
			return "stopped early";
		case CLF_SCAN_ERROR:
			return "error";
	}
	return "unknown";
}

PG_FUNCTION_INFO_V1(contact_list_fdw_scans);

/* The recorded scans, oldest first. */
Datum
contact_list_fdw_scans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (scan_log == NULL)
		return (Datum) 0;

	for (int64 serial = Max(1, next_serial - CLF_SCAN_LOG_SIZE); serial < next_serial; serial++)
	{
		ClfScanLogEntry *entry = &scan_log[serial % CLF_SCAN_LOG_SIZE];
		Datum		values[13];
		bool		nulls[13] = {0};
		TimestampTz end = entry->ended ? entry->ended : GetCurrentTimestamp();

		if (entry->serial != serial)
			continue;
		values[0] = ObjectIdGetDatum(entry->relid);
		values[1] = TimestampTzGetDatum(entry->started);
		values[2] = Float8GetDatum((double) (end - entry->started) / 1000.0);
		values[3] = Int64GetDatum(entry->stats.pages);
		values[4] = Int64GetDatum(entry->stats.requests);
		values[5] = Int64GetDatum(entry->stats.retries);
		values[6] = Int64GetDatum(entry->stats.token_fetches);
		values[7] = Int64GetDatum(entry->stats.rows);
		values[8] = Int64GetDatum(entry->stats.bytes);
		values[9] = Float8GetDatum(entry->stats.network_ms);
		values[10] = CStringGetTextDatum(outcome_name(entry->outcome));
		if (entry->error[0])
			values[11] = CStringGetTextDatum(entry->error);
		else
			nulls[11] = true;
		values[12] = Int64GetDatum(entry->serial);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
