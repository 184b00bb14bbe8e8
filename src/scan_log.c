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
 * A scan that ends is also copied into a ring shared by the cluster, for
 * contact_list_fdw_recent_scans: the outcome of a run nobody watched (a
 * pg_cron job's background worker) is kept there.  Its names are taken
 * when the scan starts, as the end may come in an aborted transaction,
 * where the catalogs cannot be read.
 *
 * Told by scan_events.c, which also sees to it that a scan whose memory
 * goes while it still runs is recorded as failed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scan_log.h"
#include "redact.h"

#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#define CLF_SCAN_LOG_SIZE 100
#define CLF_SCAN_LOG_ERROR_LEN 500

typedef struct ClfScanLogEntry
{
	int64		serial;			/* 0: unused */
	Oid			relid;
	Oid			session_user;
	Oid			reader;			/* the current user when it started */
	TimestampTz started;
	TimestampTz ended;			/* 0 while running */
	ClfScanStats stats;			/* once it ended */
	const ClfScanStats *live;	/* while it runs: its own counters, in its
								 * memory, which reports its end before it
								 * goes */
	ClfScanOutcome outcome;
	char		error[CLF_SCAN_LOG_ERROR_LEN];
} ClfScanLogEntry;

static ClfScanLogEntry *scan_log = NULL;
static int64 next_serial = 1;

/*
 * Record a new scan of relid by opts's server, shown as table_name (quoted,
 * or NULL), in start, which the scan keeps until it ends; until then its
 * entry shows stats, the scan's own counters as they grow.  The ring holds
 * the last CLF_SCAN_LOG_SIZE scans to start: a scan still running when
 * that many more have started loses its entry, not its end's record in the
 * cluster's ring (clf_scan_log_finish).
 */
void
clf_scan_log_start(ClfScanLogStart *start, const ClfOptions *opts, Oid relid,
				   const char *table_name, const ClfScanStats *stats)
{
	ClfScanLogEntry *entry;

	if (scan_log == NULL)
		scan_log = MemoryContextAllocZero(TopMemoryContext,
										  sizeof(ClfScanLogEntry) * CLF_SCAN_LOG_SIZE);
	memset(start, 0, sizeof(*start));
	start->id = next_serial++;
	start->relid = relid;
	start->session_user = GetSessionUserId();
	start->reader = GetUserId();
	start->started = GetCurrentTimestamp();
	clf_copy_text(start->table_name, sizeof(start->table_name), table_name);
	clf_copy_text(start->server_name, sizeof(start->server_name),
				  opts->server_name);

	entry = &scan_log[start->id % CLF_SCAN_LOG_SIZE];
	memset(entry, 0, sizeof(*entry));
	entry->serial = start->id;
	entry->relid = relid;
	entry->session_user = start->session_user;
	entry->reader = start->reader;
	entry->started = start->started;
	entry->live = stats;
	entry->outcome = CLF_SCAN_RUNNING;
}

/* What this process is, as pg_stat_activity.backend_type says it. */
static const char *
backend_type_name(void)
{
	if (MyBackendType == B_BG_WORKER && MyBgworkerEntry != NULL)
		return MyBgworkerEntry->bgw_type;
	return GetBackendTypeDesc(MyBackendType);
}

/*
 * Copy an ended scan into the cluster's ring.  Called where errors may be
 * being cleaned up: nothing here allocates or looks at the catalogs.
 */
static void
add_recent_scan(const ClfScanLogStart *start, TimestampTz ended,
				const ClfScanStats *stats, ClfScanOutcome outcome,
				const char *error)
{
	ClfShared  *s = clf_shared();
	ClfRecentScan *r;

	if (s == NULL)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	r = &s->recent[s->next_recent % CLF_RECENT_SCANS];
	r->serial = s->next_recent++;
	r->pid = MyProcPid;
	strlcpy(r->backend_type, backend_type_name(), sizeof(r->backend_type));
	r->dbid = MyDatabaseId;
	r->userid = start->session_user;
	r->reader = start->reader;
	r->relid = start->relid;
	r->started = start->started;
	r->ended = ended;
	r->stats = *stats;
	r->outcome = outcome;
	strlcpy(r->table_name, start->table_name, sizeof(r->table_name));
	strlcpy(r->server_name, start->server_name, sizeof(r->server_name));
	clf_copy_text(r->error, sizeof(r->error), error);
	LWLockRelease(&s->lock);
}

/*
 * Record how start's scan ended, once (scan_events.c sees to that): in the
 * cluster's ring always, in the session's if its entry is still the
 * scan's.
 */
void
clf_scan_log_finish(const ClfScanLogStart *start, const ClfScanStats *stats,
					ClfScanOutcome outcome, const char *error)
{
	TimestampTz ended = GetCurrentTimestamp();

	if (start->id <= 0)
		return;
	if (error && error[0] == '\0')
		error = NULL;
	if (scan_log != NULL)
	{
		ClfScanLogEntry *entry = &scan_log[start->id % CLF_SCAN_LOG_SIZE];

		if (entry->serial == start->id && entry->outcome == CLF_SCAN_RUNNING)
		{
			entry->ended = ended;
			entry->stats = *stats;
			entry->live = NULL;
			entry->outcome = outcome;
			clf_copy_text(entry->error, sizeof(entry->error), error);
		}
	}
	add_recent_scan(start, ended, stats, outcome, error);
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

/*
 * A scan's error may quote a value it read (an input function's "invalid
 * input syntax for type integer: ..."), and pg_read_all_stats is no right
 * to the table's contents: the error of a scan that read as another user
 * (reader, the current user when it started: a SECURITY DEFINER function's
 * owner, not the session's user) is shown to whoever may SELECT the table,
 * which can be told only in its own database.
 */
static bool
may_read_error(Oid reader, Oid dbid, Oid relid)
{
	bool		missing = false;

	if (has_privs_of_role(GetUserId(), reader))
		return true;
	if (dbid != MyDatabaseId)
		return false;
	return pg_class_aclcheck_ext(relid, GetUserId(), ACL_SELECT, &missing) == ACLCHECK_OK &&
		!missing;
}

PG_FUNCTION_INFO_V1(contact_list_fdw_scans);

/*
 * The recorded scans, oldest first.  The current user changes within a
 * session (SET ROLE, SET SESSION AUTHORIZATION, a SECURITY DEFINER
 * function), so each scan is shown as contact_list_fdw_recent_scans shows
 * it: to members of pg_read_all_stats and of its session's user, and here
 * also of the role it read as (a role's own scans after SET ROLE); its
 * error as may_read_error says.
 */
Datum
contact_list_fdw_scans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		read_all;

	InitMaterializedSRF(fcinfo, 0);
	if (scan_log == NULL)
		return (Datum) 0;
	read_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	for (int64 serial = Max(1, next_serial - CLF_SCAN_LOG_SIZE); serial < next_serial; serial++)
	{
		ClfScanLogEntry *entry = &scan_log[serial % CLF_SCAN_LOG_SIZE];
		Datum		values[13];
		bool		nulls[13] = {0};
		TimestampTz end = entry->ended ? entry->ended : GetCurrentTimestamp();
		const ClfScanStats *stats = entry->live ? entry->live : &entry->stats;

		if (entry->serial != serial)
			continue;
		if (!read_all && !has_privs_of_role(GetUserId(), entry->session_user) &&
			!has_privs_of_role(GetUserId(), entry->reader))
			continue;
		values[0] = ObjectIdGetDatum(entry->relid);
		values[1] = TimestampTzGetDatum(entry->started);
		values[2] = Float8GetDatum((double) (end - entry->started) / 1000.0);
		values[3] = Int64GetDatum(stats->pages);
		values[4] = Int64GetDatum(stats->requests);
		values[5] = Int64GetDatum(stats->retries);
		values[6] = Int64GetDatum(stats->token_fetches);
		values[7] = Int64GetDatum(stats->rows);
		values[8] = Int64GetDatum(stats->bytes);
		values[9] = Float8GetDatum(stats->network_ms);
		values[10] = CStringGetTextDatum(outcome_name(entry->outcome));
		if (entry->error[0] && may_read_error(entry->reader, MyDatabaseId, entry->relid))
			values[11] = CStringGetTextDatum(entry->error);
		else
			nulls[11] = true;
		values[12] = Int64GetDatum(entry->serial);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

#define RECENT_COLS 18

PG_FUNCTION_INFO_V1(contact_list_fdw_get_recent_scans);

/*
 * The cluster's last scans, oldest first.  As contact_list_fdw_progress,
 * other users' scans only for members of pg_read_all_stats (or of the
 * scan's user); their errors as may_read_error says.
 */
Datum
contact_list_fdw_get_recent_scans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ClfShared  *s;
	ClfRecentScan *copy;
	uint64		first;
	uint64		next;
	bool		read_all;

	clf_shared_require();
	s = clf_shared();
	InitMaterializedSRF(fcinfo, 0);
	read_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	copy = palloc(sizeof(ClfRecentScan) * CLF_RECENT_SCANS);
	LWLockAcquire(&s->lock, LW_SHARED);
	memcpy(copy, s->recent, sizeof(ClfRecentScan) * CLF_RECENT_SCANS);
	next = s->next_recent;
	LWLockRelease(&s->lock);
	first = next > CLF_RECENT_SCANS ? next - CLF_RECENT_SCANS : 1;

	for (uint64 serial = first; serial < next; serial++)
	{
		ClfRecentScan *r = &copy[serial % CLF_RECENT_SCANS];
		Datum		values[RECENT_COLS];
		bool		nulls[RECENT_COLS] = {0};
		char	   *name;

		if (r->serial != serial)
			continue;
		if (!read_all && !has_privs_of_role(GetUserId(), r->userid))
			continue;
		values[0] = Int32GetDatum(r->pid);
		values[1] = CStringGetTextDatum(r->backend_type);
		name = get_database_name(r->dbid);
		if (name)
			values[2] = DirectFunctionCall1(namein, CStringGetDatum(name));
		else
			nulls[2] = true;
		name = GetUserNameFromId(r->userid, true);
		if (name)
			values[3] = DirectFunctionCall1(namein, CStringGetDatum(name));
		else
			nulls[3] = true;
		values[4] = CStringGetTextDatum(clf_text_of_database(r->table_name, r->dbid));
		values[5] = ObjectIdGetDatum(r->relid);
		values[6] = CStringGetTextDatum(clf_text_of_database(r->server_name, r->dbid));
		values[7] = TimestampTzGetDatum(r->started);
		values[8] = TimestampTzGetDatum(r->ended);
		values[9] = CStringGetTextDatum(outcome_name((ClfScanOutcome) r->outcome));
		values[10] = Int64GetDatum(r->stats.pages);
		values[11] = Int64GetDatum(r->stats.rows);
		values[12] = Int64GetDatum(r->stats.requests);
		values[13] = Int64GetDatum(r->stats.retries);
		values[14] = Int64GetDatum(r->stats.token_fetches);
		values[15] = Int64GetDatum(r->stats.bytes);
		values[16] = Float8GetDatum(r->stats.network_ms);
		if (r->error[0] && may_read_error(r->reader, r->dbid, r->relid))
			values[17] = CStringGetTextDatum(clf_text_of_database(r->error, r->dbid));
		else
			nulls[17] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
