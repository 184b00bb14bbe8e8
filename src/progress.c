/*-------------------------------------------------------------------------
 *
 * progress.c
 *		  A row per scan running anywhere in the cluster, for the view
 *		  contact_list_fdw_progress: how far it is, what it waits for, what
 *		  last went wrong.
 *
 * A scan takes a slot when it starts and gives it back when its memory goes
 * (end, error or cancel: a memory context callback), when scan_events.c
 * sees a rollback end its own query in an error (clf_progress_end), when
 * the portal that ran it failed (at the abort of the subtransaction it
 * failed in), or when its backend exits (both: the release registered with
 * shmem.c).  A failed query or portal never returns another row, but its
 * scan's memory may stay far longer: a cursor's until it is closed or the
 * transaction ends, a SQL function's whose error a PL/pgSQL exception
 * block caught as long as the transaction.  The two rules see different
 * failures: a query fails in the executor, and a portal also outside it (a
 * NO SCROLL cursor's FETCH BACKWARD, a rewind); a SQL function's query
 * fails without its portal.  Each backend has its own
 * CLF_PROGRESS_PER_BACKEND slots, by its number among the backends: a
 * session with many open scans (cursors) runs the extra ones untracked,
 * counted in contact_list_fdw_shared_info(), and never takes the slot
 * another session's scan would need.
 *
 * Only the owner writes its slot, bracketed by changecount as
 * PgBackendStatus is, so readers never block a scan and never see half a
 * row.  As PgBackendStatus's, the bracket is a critical section holding
 * plain stores only: whatever can fail (a palloc, a catalog lookup) is done
 * before it, since an error inside would leave changecount odd for good.
 * Readers still give up on a slot after a bounded number of tries
 * (PROGRESS_READ_TRIES) and leave it out of that read, so nothing a writer
 * does can make them spin.
 *
 * Everything here is told by scan_events.c, the one place a scan reports
 * to.  The network code knows nothing of scans: the scan says which of them
 * is fetching (clf_progress_enter), and the states reported meanwhile land
 * on that scan's row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "progress.h"
#include "redact.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/pquery.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/*
 * A reader tries a slot this many times, sleeping 1 ms between tries after
 * the first few, then leaves it out: about 0.1 s per slot at worst.  A
 * writer's bracket is a few stores, so a slot still changing after that
 * belongs to a writer that is not running (descheduled on a loaded machine).
 */
#define PROGRESS_READ_TRIES 100
#define PROGRESS_READ_SPINS 10

#ifdef CLF_FAULT_INJECTION
static bool fault_stalled = false;	/* once per backend */
#define FAULT_STALL(point) \
	do { \
		if (!fault_stalled && fault_at(point)) \
		{ \
			fault_stalled = true; \
			pg_usleep(15000000L); \
		} \
	} while (0)
#else
#define FAULT_STALL(point) ((void) 0)
#endif

/* the slot of the scan fetching now, or -1 */
static int	current_slot = -1;
static uint64 current_serial = 0;

/*
 * Whose each of this backend's rows is, by its place among the backend's
 * own slots, for the release at a subtransaction's abort: kept here, by
 * value, since the scan's memory may be gone by then.  A failed query is
 * not looked for here: scan_events.c, which knows the queries running,
 * ends its scans' rows.
 */
typedef struct RowOwner
{
	uint64		serial;
	ClfClaimOwner owner;
} RowOwner;

static RowOwner row_owners[CLF_PROGRESS_PER_BACKEND];

/*
 * A critical section, as PGSTAT_BEGIN_WRITE_ACTIVITY: an error before
 * end_write() would leave changecount odd, so it must be a PANIC.
 */
static void
begin_write(ClfProgressSlot *slot)
{
	START_CRIT_SECTION();
	pg_atomic_fetch_add_u32(&slot->changecount, 1);
	pg_write_barrier();
}

static void
end_write(ClfProgressSlot *slot)
{
	pg_write_barrier();
	pg_atomic_fetch_add_u32(&slot->changecount, 1);
	END_CRIT_SECTION();
}

/*
 * The first of this backend's own slots, or -1 if it has none (not a
 * regular backend: those never scan).
 */
static int
first_own_slot(ClfShared *s)
{
	int			n = clf_backend_index(s);

	return n < 0 ? -1 : n * CLF_PROGRESS_PER_BACKEND;
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

/*
 * row's scan is over: its memory is going, or a rollback saw its own query
 * fail while it ran (it can never return another row, though its memory
 * may stay until its cursor is closed or the transaction ends).  Ending a
 * row twice is harmless: the second finds no slot.
 */
void
clf_progress_end(ClfProgressRow *row)
{
	release_slot(row->slot, row->serial);
	row->slot = -1;
}

/* the scan's memory is going: it ended, failed or was cancelled */
static void
scan_memory_gone(void *arg)
{
	clf_progress_end((ClfProgressRow *) arg);
}

static void progress_release(SubTransactionId from);

/*
 * A scan of relid by opts's server, shown as table_name (quoted, or NULL),
 * starts; row, in scan_cxt, is its row until that memory goes.
 */
void
clf_progress_begin(ClfProgressRow *row, MemoryContext scan_cxt,
				   const ClfOptions *opts, Oid relid, const char *table_name_in)
{
	ClfShared  *s = clf_shared();
	ClfProgressSlot *slot = NULL;
	MemoryContextCallback *callback;
	char		table_name[sizeof(slot->table_name)];
	char		server_name[sizeof(slot->server_name)];
	Oid			userid = GetSessionUserId();
	TimestampTz started = GetCurrentTimestamp();
	int			first;
	ClfClaimOwner owner;

	row->slot = -1;
	if (s == NULL)
		return;

	clf_shmem_on_release(progress_release, CLF_RELEASE_AT_ABORT);

	/*
	 * The scan lives at most as long as the portal running it (a cursor's,
	 * for a FETCH), made in createSubid; the abort of that subtransaction
	 * drops the portal, and the scan's memory with it.  A later savepoint's
	 * rollback does not end it: a cursor whose first FETCH ran in the
	 * savepoint goes on after ROLLBACK TO.
	 */
	clf_shmem_claim_owner(&owner, ActivePortal ? ActivePortal->createSubid :
						  GetCurrentSubTransactionId());

	/* whatever can fail, before the lock and the write bracket */
	FAULT_ERROR("progress_begin");
	clf_copy_text(table_name, sizeof(table_name), table_name_in);
	clf_copy_text(server_name, sizeof(server_name), opts->server_name);
	callback = MemoryContextAlloc(scan_cxt, sizeof(MemoryContextCallback));
	first = first_own_slot(s);

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (int i = first; first >= 0 && i < first + CLF_PROGRESS_PER_BACKEND; i++)
	{
		if (s->progress[i].pid == 0)
		{
			slot = &s->progress[i];
			row->slot = i;
			row->serial = s->next_serial++;
			row_owners[i - first].serial = row->serial;
			row_owners[i - first].owner = owner;
			break;
		}
	}
	if (slot == NULL)
		s->scans_untracked++;
	else
	{
		begin_write(slot);
		slot->pid = MyProcPid;
		slot->serial = row->serial;
		slot->dbid = MyDatabaseId;
		slot->userid = userid;
		slot->relid = relid;
		slot->serverid = opts->serverid;
		slot->started = started;
		memset(&slot->stats, 0, sizeof(slot->stats));
		slot->state = CLF_STATE_STARTING;
		slot->until = 0;
		memcpy(slot->table_name, table_name, sizeof(table_name));
		memcpy(slot->server_name, server_name, sizeof(server_name));
		slot->reason[0] = '\0';
		slot->last_error[0] = '\0';
		end_write(slot);
	}
	LWLockRelease(&s->lock);

	if (slot)
	{
		callback->func = scan_memory_gone;
		callback->arg = row;
		MemoryContextRegisterResetCallback(scan_cxt, callback);
	}
}

/* row's scan is about to fetch a page: what happens now shows on its row */
void
clf_progress_enter(const ClfProgressRow *row)
{
	current_slot = row->slot;
	current_serial = row->serial;
}

/* row's scan got a page of rows; stats are its counters now */
void
clf_progress_page_done(const ClfProgressRow *row, const ClfScanStats *stats)
{
	ClfProgressSlot *slot;

	slot = my_slot(row->slot, row->serial);
	if (slot == NULL)
		return;
	begin_write(slot);
	FAULT_STALL("progress_page_done");
	slot->stats = *stats;
	slot->state = CLF_STATE_RETURNING_ROWS;
	slot->until = 0;
	slot->reason[0] = '\0';
	end_write(slot);
}

/*
 * row's scan has handed out the last row of its last page: it requests
 * nothing more (a rescan that starts again fetches, and says so), however
 * long its cursor stays open.
 */
void
clf_progress_all_returned(const ClfProgressRow *row)
{
	ClfProgressSlot *slot = my_slot(row->slot, row->serial);

	if (slot == NULL)
		return;
	begin_write(slot);
	slot->state = CLF_STATE_ALL_ROWS_RETURNED;
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
	char		reason_copy[sizeof(slot->reason)];
	char		error_copy[sizeof(slot->last_error)];

	if (slot == NULL)
		return;
	/* before the bracket: clipping looks at the encoding */
	clf_copy_text(reason_copy, sizeof(reason_copy), reason);
	if (error)
		clf_copy_text(error_copy, sizeof(error_copy), error);
	begin_write(slot);
	slot->state = state;
	slot->until = until;
	memcpy(slot->reason, reason_copy, sizeof(reason_copy));
	if (error)
		memcpy(slot->last_error, error_copy, sizeof(error_copy));
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

/*
 * The backend exits (no memory callback runs on FATAL) or its transaction
 * aborts: its scans' rows go.  At the abort of subtransaction from, the
 * rows of the scans whose portal was made in it or later, or failed in it,
 * go (clf_shmem_claim_goes); the scans of the portals that live on (an
 * open cursor's) keep theirs, unless their own query failed, which
 * scan_events.c has seen to.
 */
static void
progress_release(SubTransactionId from)
{
	ClfShared  *s = clf_shared();

	if (s != NULL && from != InvalidSubTransactionId)
	{
		int			first = first_own_slot(s);

		for (int k = 0; first >= 0 && k < CLF_PROGRESS_PER_BACKEND; k++)
		{
			ClfProgressSlot *slot = my_slot(first + k, row_owners[k].serial);

			if (slot && clf_shmem_claim_goes(&row_owners[k].owner, from))
				release_slot(first + k, row_owners[k].serial);
		}
		return;
	}
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
		case CLF_STATE_ALL_ROWS_RETURNED:
			return "all rows returned";
	}
	return "unknown";
}

/*
 * A consistent copy of slot, or false if it kept changing: then the slot
 * is left out of this read rather than waited for.
 */
static bool
read_slot(ClfProgressSlot *slot, ClfProgressSlot *copy)
{
	for (int tries = 0; tries < PROGRESS_READ_TRIES; tries++)
	{
		uint32		before = pg_atomic_read_u32(&slot->changecount);
		uint32		after;

		pg_read_barrier();
		memcpy(copy, slot, sizeof(*copy));
		pg_read_barrier();
		after = pg_atomic_read_u32(&slot->changecount);
		if (before == after && (before & 1) == 0)
			return true;
		CHECK_FOR_INTERRUPTS();
		if (tries >= PROGRESS_READ_SPINS)
			pg_usleep(1000L);
	}
	return false;
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

		if (!read_slot(slot, &copy) || copy.pid == 0)
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
		values[3] = CStringGetTextDatum(clf_text_of_database(copy.table_name, copy.dbid));
		values[4] = ObjectIdGetDatum(copy.relid);
		values[5] = CStringGetTextDatum(clf_text_of_database(copy.server_name, copy.dbid));
		values[6] = TimestampTzGetDatum(copy.started);
		values[7] = CStringGetTextDatum(state_name(copy.state));
		if (copy.state == CLF_STATE_WAITING_TO_RETRY && copy.until != 0)
			values[8] = TimestampTzGetDatum(copy.until);
		else
			nulls[8] = true;
		if (copy.reason[0])
			values[9] = CStringGetTextDatum(clf_text_of_database(copy.reason, copy.dbid));
		else
			nulls[9] = true;
		values[10] = Int64GetDatum(copy.stats.pages);
		values[11] = Int64GetDatum(copy.stats.rows);
		values[12] = Int64GetDatum(copy.stats.bytes);
		values[13] = Int64GetDatum(copy.stats.requests);
		values[14] = Int64GetDatum(copy.stats.retries);
		values[15] = Int64GetDatum(copy.stats.token_fetches);
		if (copy.last_error[0])
			values[16] = CStringGetTextDatum(clf_text_of_database(copy.last_error, copy.dbid));
		else
			nulls[16] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
