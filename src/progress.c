/*-------------------------------------------------------------------------
 *
 * progress.c
 *		  A row per scan running anywhere in the cluster, for the view
 *		  contact_list_fdw_progress: how far it is, what it waits for, what
 *		  last went wrong.
 *
 * A scan takes a slot when it starts and gives it back when its memory goes
 * (end, error or cancel: a memory context callback) or its backend exits
 * (shmem.c).  Only the owner writes its slot, bracketed by changecount as
 * PgBackendStatus is, so readers never block a scan and never see half a
 * row.  When every slot is taken the scan runs untracked, and that is
 * counted (contact_list_fdw_shared_info()).
 *
 * The network code knows nothing of scans: scan.c says which scan is
 * fetching (clf_progress_enter), and the states wecom.c, http.c and the
 * shared caches report land on that scan's row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "shared_state.h"

#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/* the slot of the scan fetching now, or -1 */
static int	current_slot = -1;
static uint64 current_serial = 0;

static void
begin_write(ClfProgressSlot *slot)
{
	pg_atomic_fetch_add_u32(&slot->changecount, 1);
	pg_write_barrier();
}

static void
end_write(ClfProgressSlot *slot)
{
	pg_write_barrier();
	pg_atomic_fetch_add_u32(&slot->changecount, 1);
}

static ClfProgressSlot *
my_slot(int index, uint64 serial)
{
	ClfShared  *s = clf_shared();
	ClfProgressSlot *slot;

	if (s == NULL || index < 0 || index >= s->nprogress)
		return NULL;
	slot = &s->progress[index];
	if (slot->pid != MyProcPid || slot->serial != serial)
		return NULL;
	return slot;
}

static void
release_slot(int index, uint64 serial)
{
	ClfShared  *s = clf_shared();
	ClfProgressSlot *slot;

	if (index == current_slot && serial == current_serial)
		current_slot = -1;
	if (s == NULL)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	slot = my_slot(index, serial);
	if (slot)
	{
		begin_write(slot);
		slot->pid = 0;
		end_write(slot);
	}
	LWLockRelease(&s->lock);
}

/* the scan's memory is going: it ended, failed or was cancelled */
static void
scan_memory_gone(void *arg)
{
	ClfTraversal *trav = (ClfTraversal *) arg;

	release_slot(trav->progress_slot, trav->progress_serial);
	trav->progress_slot = -1;
}

void
clf_progress_begin(ClfTraversal *trav, Oid relid)
{
	ClfShared  *s = clf_shared();
	ClfProgressSlot *slot = NULL;
	MemoryContextCallback *callback;
	char	   *nspname;
	char	   *relname;

	trav->progress_slot = -1;
	if (s == NULL)
		return;

	/* catalog lookups before the lock */
	relname = get_rel_name(relid);
	nspname = get_namespace_name(get_rel_namespace(relid));
	callback = MemoryContextAlloc(trav->scan_cxt, sizeof(MemoryContextCallback));

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (int i = 0; i < s->nprogress; i++)
	{
		if (s->progress[i].pid == 0)
		{
			slot = &s->progress[i];
			trav->progress_slot = i;
			trav->progress_serial = s->next_serial++;
			break;
		}
	}
	if (slot == NULL)
		s->scans_untracked++;
	else
	{
		begin_write(slot);
		slot->pid = MyProcPid;
		slot->serial = trav->progress_serial;
		slot->dbid = MyDatabaseId;
		slot->userid = GetSessionUserId();
		slot->relid = relid;
		slot->serverid = trav->opts.serverid;
		slot->started = GetCurrentTimestamp();
		memset(&slot->stats, 0, sizeof(slot->stats));
		slot->rows_received = 0;
		slot->state = CLF_STATE_STARTING;
		slot->until = 0;
		if (relname && nspname)
			clf_copy_text(slot->table_name, sizeof(slot->table_name),
						  quote_qualified_identifier(nspname, relname));
		else
			slot->table_name[0] = '\0';
		clf_copy_text(slot->server_name, sizeof(slot->server_name), trav->opts.server_name);
		slot->reason[0] = '\0';
		slot->last_error[0] = '\0';
		end_write(slot);
	}
	LWLockRelease(&s->lock);

	if (slot)
	{
		callback->func = scan_memory_gone;
		callback->arg = trav;
		MemoryContextRegisterResetCallback(trav->scan_cxt, callback);
	}
}

/* trav is about to fetch a page: what happens now shows on its row */
void
clf_progress_enter(ClfTraversal *trav)
{
	current_slot = trav->progress_slot;
	current_serial = trav->progress_serial;
}

void
clf_progress_page_done(ClfTraversal *trav)
{
	ClfProgressSlot *slot;

	clf_stats_page(&trav->opts, (int64) trav->resp.nitems);
	slot = my_slot(trav->progress_slot, trav->progress_serial);
	if (slot == NULL)
		return;
	begin_write(slot);
	slot->stats = trav->stats;
	slot->rows_received += trav->resp.nitems;
	slot->state = CLF_STATE_RETURNING_ROWS;
	slot->until = 0;
	slot->reason[0] = '\0';
	end_write(slot);
}

/*
 * The scan fetching now is in state; reason says why it waits, error is a
 * failure it got past (both already free of credentials).  NULL leaves
 * last_error as it was.
 */
void
clf_progress_set_state(ClfProgressState state, TimestampTz until,
					   const char *reason, const char *error)
{
	ClfProgressSlot *slot = my_slot(current_slot, current_serial);

	if (slot == NULL)
		return;
	begin_write(slot);
	slot->state = state;
	slot->until = until;
	clf_copy_text(slot->reason, sizeof(slot->reason), reason);
	if (error)
		clf_copy_text(slot->last_error, sizeof(slot->last_error), error);
	end_write(slot);
}

void
clf_progress_publish(const ClfScanStats *stats)
{
	ClfProgressSlot *slot = my_slot(current_slot, current_serial);

	if (slot == NULL)
		return;
	begin_write(slot);
	slot->stats = *stats;
	end_write(slot);
}

/* The backend exits: its scans' rows go (no memory callback runs on FATAL). */
void
clf_progress_cleanup(void)
{
	ClfShared  *s = clf_shared();

	current_slot = -1;
	if (s == NULL)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (int i = 0; i < s->nprogress; i++)
	{
		ClfProgressSlot *slot = &s->progress[i];

		if (slot->pid == MyProcPid)
		{
			begin_write(slot);
			slot->pid = 0;
			end_write(slot);
		}
	}
	LWLockRelease(&s->lock);
}

static const char *
state_name(int state)
{
	switch ((ClfProgressState) state)
	{
		case CLF_STATE_STARTING:
			return "starting";
		case CLF_STATE_REQUESTING:
			return "requesting";
		case CLF_STATE_WAITING_TO_RETRY:
			return "waiting to retry";
		case CLF_STATE_WAITING_FOR_SLOT:
			return "waiting for a slot";
		case CLF_STATE_WAITING_FOR_TOKEN:
			return "waiting for token";
		case CLF_STATE_RETURNING_ROWS:
			return "returning rows";
	}
	return "unknown";
}

#define PROGRESS_COLS 17

PG_FUNCTION_INFO_V1(contact_list_fdw_get_progress);

/*
 * Every running scan.  As pg_stat_activity, other users' scans only for
 * members of pg_read_all_stats (or of the scan's user).
 */
Datum
contact_list_fdw_get_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ClfShared  *s;
	bool		read_all;

	clf_shared_require();
	s = clf_shared();
	InitMaterializedSRF(fcinfo, 0);
	read_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	for (int i = 0; i < s->nprogress; i++)
	{
		ClfProgressSlot *slot = &s->progress[i];
		ClfProgressSlot copy;
		Datum		values[PROGRESS_COLS];
		bool		nulls[PROGRESS_COLS] = {0};
		char	   *name;

		for (;;)
		{
			uint32		before = pg_atomic_read_u32(&slot->changecount);
			uint32		after;

			pg_read_barrier();
			memcpy(&copy, slot, sizeof(copy));
			pg_read_barrier();
			after = pg_atomic_read_u32(&slot->changecount);
			if (before == after && (before & 1) == 0)
				break;
			CHECK_FOR_INTERRUPTS();
		}
		if (copy.pid == 0)
			continue;
		if (!read_all && !has_privs_of_role(GetUserId(), copy.userid))
			continue;

		values[0] = Int32GetDatum(copy.pid);
		name = get_database_name(copy.dbid);
		if (name)
			values[1] = DirectFunctionCall1(namein, CStringGetDatum(name));
		else
			nulls[1] = true;
		name = GetUserNameFromId(copy.userid, true);
		if (name)
			values[2] = DirectFunctionCall1(namein, CStringGetDatum(name));
		else
			nulls[2] = true;
		values[3] = CStringGetTextDatum(copy.table_name);
		values[4] = ObjectIdGetDatum(copy.relid);
		values[5] = CStringGetTextDatum(copy.server_name);
		values[6] = TimestampTzGetDatum(copy.started);
		values[7] = CStringGetTextDatum(state_name(copy.state));
		if (copy.state == CLF_STATE_WAITING_TO_RETRY && copy.until != 0)
			values[8] = TimestampTzGetDatum(copy.until);
		else
			nulls[8] = true;
		if (copy.reason[0])
			values[9] = CStringGetTextDatum(copy.reason);
		else
			nulls[9] = true;
		values[10] = Int64GetDatum(copy.stats.pages);
		values[11] = Int64GetDatum(copy.rows_received);
		values[12] = Int64GetDatum(copy.stats.bytes);
		values[13] = Int64GetDatum(copy.stats.requests);
		values[14] = Int64GetDatum(copy.stats.retries);
		values[15] = Int64GetDatum(copy.stats.token_fetches);
		if (copy.last_error[0])
			values[16] = CStringGetTextDatum(copy.last_error);
		else
			nulls[16] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
