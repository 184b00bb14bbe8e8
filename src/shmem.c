/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		  Where contact_list_fdw's cluster-wide state lives, and its lock,
 *		  wait events and the list of what to give back on error and exit
 *		  (see shared_state.h for what it holds).
 *
 * PostgreSQL 17+: a named DSM segment, made by the first backend that needs
 * it; no configuration.  PostgreSQL 15 and 16: the main shared memory,
 * reserved at server start when the library is in shared_preload_libraries;
 * without that, clf_shared() is NULL and each backend works alone.
 *
 * The name carries the layout version (CLF_SHARED_LAYOUT_VERSION) and the
 * struct starts with a magic number and that version, checked on attach.
 * Sharing never fails a query: a backend that cannot attach, or finds
 * another layout, says so once in a WARNING and works alone (per-backend
 * mode, with the reason in contact_list_fdw_shared_info()).
 *
 * Whatever a backend holds in the shared state (a request slot, the marker
 * of a token it is fetching, progress rows) is given back on error and on
 * exit, FATAL included, so pg_terminate_backend() leaves nothing behind.
 * The module that takes it says how to give it back (clf_shmem_on_release)
 * before it takes anything; the transaction and subtransaction abort
 * callbacks and the before_shmem_exit callback here run those, so this file
 * calls nothing of the modules above it.  (Progress rows also go with their
 * scan's memory: progress.c's memory context callback.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "shared_state.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
#if PG_VERSION_NUM >= 170000
#include "storage/dsm_registry.h"
#endif

/* "contact_list_fdw" alone was the unversioned layout of release 1.1.0 */
#define CLF_SHMEM_NAME "contact_list_fdw v" CppAsString2(CLF_SHARED_LAYOUT_VERSION)
#define CLF_TRANCHE_NAME "contact_list_fdw"

static ClfShared *shared = NULL;
static bool attached = false;
static bool preloaded = false;

/* Why this backend works alone although it tried to share; NULL: it does not */
static const char *degraded_reason = NULL;
static char *degraded_detail = NULL;
static bool callbacks_registered = false;

#if PG_VERSION_NUM < 170000
/* made by the postmaster's startup hook, inherited by every backend */
static ClfShared *startup_struct = NULL;
#endif

#if PG_VERSION_NUM < 170000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#endif

static Size
shared_size(void)
{
	Size		size = add_size(offsetof(ClfShared, progress),
								mul_size(sizeof(ClfProgressSlot),
										 mul_size(MaxBackends, CLF_PROGRESS_PER_BACKEND)));

	/* the slot holds, as clf_slot_holds() finds them */
	return add_size(MAXALIGN(size),
					mul_size(sizeof(ClfSlotHold),
							 mul_size(MaxBackends, CLF_SLOT_HOLDS_PER_BACKEND)));
}

static void
init_shared(ClfShared *s)
{
	memset(s, 0, shared_size());
	s->magic = CLF_SHARED_MAGIC;
	s->layout_version = CLF_SHARED_LAYOUT_VERSION;
#if PG_VERSION_NUM >= 190000
	s->tranche_id = LWLockNewTrancheId(CLF_TRANCHE_NAME);
#else
	s->tranche_id = LWLockNewTrancheId();
#endif
	LWLockInitialize(&s->lock, s->tranche_id);
	s->next_serial = 1;
	s->next_recent = 1;
	s->created = GetCurrentTimestamp();
	for (int i = 0; i < CLF_SHARED_TOKENS; i++)
		ConditionVariableInit(&s->tokens[i].cv);
	for (int i = 0; i < CLF_SHARED_SERVERS; i++)
		ConditionVariableInit(&s->servers[i].cv);
	s->nprogress = MaxBackends * CLF_PROGRESS_PER_BACKEND;
	for (int i = 0; i < s->nprogress; i++)
		pg_atomic_init_u32(&s->progress[i].changecount, 0);
	for (int i = 0; i < MaxBackends * CLF_SLOT_HOLDS_PER_BACKEND; i++)
		clf_slot_holds(s)[i].entry = -1;
}

#if PG_VERSION_NUM >= 190000
static void
init_segment(void *ptr, void *arg)
{
	init_shared((ClfShared *) ptr);
}
#elif PG_VERSION_NUM >= 170000
static void
init_segment(void *ptr)
{
	init_shared((ClfShared *) ptr);
}
#else
static void
request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
}

static void
startup_shmem(void)
{
	bool		found;
	ClfShared  *s;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	s = ShmemInitStruct(CLF_SHMEM_NAME, shared_size(), &found);
	if (!found)
		init_shared(s);
	LWLockRelease(AddinShmemInitLock);
	startup_struct = s;
}
#endif

void
clf_shmem_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	preloaded = true;
#if PG_VERSION_NUM < 170000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup_shmem;
#endif
}

/*
 * The modules' ways to give back what they hold (a request slot, a token
 * marker, progress rows), in the order they were registered.
 */
#define CLF_MAX_RELEASES 8

static struct
{
	ClfSharedRelease release;
	ClfReleaseAt when;
}			releases[CLF_MAX_RELEASES];
static int	nreleases = 0;

/*
 * A module that is about to take something of the shared state registers
 * how to give it back, once or each time (a second registration of the same
 * function only widens when).  It runs on backend exit, and as when asks
 * also on transaction and subtransaction abort, or at commit; it must
 * cope with holding nothing, and with running outside a transaction
 * (clf_shared() is NULL
 * there before the first attach).  At a subtransaction's abort it gives
 * back only what belongs to that subtransaction or a later one, or to a
 * scan whose portal failed (ClfSharedRelease), so it records an owner
 * with whatever it takes (clf_shmem_claim_owner): the current
 * subtransaction for what a statement takes and gives back itself, the one
 * its scan began in for an asynchronous scan's (a cursor's request that a
 * FETCH in a savepoint started goes on after its rollback, unless that
 * FETCH failed), and the portal running it.
 */
void
clf_shmem_on_release(ClfSharedRelease release, ClfReleaseAt when)
{
	for (int i = 0; i < nreleases; i++)
	{
		if (releases[i].release == release)
		{
			releases[i].when = Max(releases[i].when, when);
			return;
		}
	}
	if (nreleases >= CLF_MAX_RELEASES)
		elog(ERROR, "too many release callbacks for contact_list_fdw's shared state");
	releases[nreleases].release = release;
	releases[nreleases].when = when;
	nreleases++;
}

/*
 * owner becomes the owner of a claim taken now for a scan begun in
 * subtransaction subid, run by the portal running now.
 */
void
clf_shmem_claim_owner(ClfClaimOwner *owner, SubTransactionId subid)
{
	owner->subid = subid;
	owner->in_portal = ActivePortal != NULL;
	if (owner->in_portal)
	{
		owner->portal_created = ActivePortal->creation_time;
		strlcpy(owner->portal, ActivePortal->name, sizeof(owner->portal));
	}
}

/*
 * Does owner's claim go back at the abort of subtransaction from (any
 * release: InvalidSubTransactionId)?  Yes if its scan began in from or
 * later; and also if an error escaped from the portal that ran the scan,
 * whenever it began.  A portal whose run failed is dead, whichever
 * subtransaction it was made in (PortalRun and PortalRunFetch mark it
 * failed as the error goes by): it can never run again, and, failed, never
 * runs its executor's end either, so its scans would hold their claims
 * until the cursor is closed or the transaction ends.  A portal that was
 * not running (an open cursor between FETCHes) is not failed, and keeps
 * its claims.  The name and creation time find the portal if it is still
 * there (a portal's name is unique while it lives); gone, it ran its
 * cleanup, and the claim went back with its memory.
 */
bool
clf_shmem_claim_goes(const ClfClaimOwner *owner, SubTransactionId from)
{
	Portal		portal;

	if (owner->subid >= from)
		return true;
	if (!owner->in_portal)
		return false;
	portal = GetPortalByName(owner->portal);
	return portal != NULL && portal->creation_time == owner->portal_created &&
		portal->status == PORTAL_FAILED;
}

/*
 * Was owner's claim taken by the scan finishing now, as far as can be told?
 * A module whose backend holds several claims of one kind at once (two
 * portals' scans fetching one token) must take the finishing scan's own
 * off its list, or the other's is left under the wrong owner.  A fetch is
 * answered, fails or is given up while the portal of its scan runs; or the
 * scan ends as its portal is dropped, and PortalCleanup ends the executor
 * under the portal's resource owner (ActivePortal is then whoever dropped
 * it, or none).
 */
bool
clf_shmem_claim_is_current(const ClfClaimOwner *owner)
{
	Portal		portal;

	if (!owner->in_portal)
		return ActivePortal == NULL;
	portal = GetPortalByName(owner->portal);
	return portal != NULL && portal->creation_time == owner->portal_created &&
		(portal == ActivePortal || portal->resowner == CurrentResourceOwner);
}

/* Run the releases registered for at least event. */
static void
run_releases(ClfReleaseAt event, SubTransactionId from)
{
	for (int i = 0; i < nreleases; i++)
	{
		if (releases[i].when >= event)
			releases[i].release(from);
	}
}

/* Give back what this backend holds: on exit, FATAL included. */
static void
before_exit(int code, Datum arg)
{
	run_releases(CLF_RELEASE_AT_EXIT, InvalidSubTransactionId);
}

/*
 * An error between taking a request slot or a token marker and the code
 * that gives it back (a cancel while libcurl runs, out of memory) ends in
 * one of these.  A subtransaction's abort gives back what was taken since
 * it began, by scans begun since, and what the scans of a portal that
 * failed hold (clf_shmem_claim_goes): what the outer transaction's live
 * scans hold (an open cursor's asynchronous request, its token fetch,
 * whenever taken) is still in use.  The portals have been marked failed by
 * then (AtSubAbort_Portals runs before these callbacks).
 *
 * A commit gives back what is released at every transaction's end (token
 * fetches).  Every scan has ended by then (a cursor's portal is dropped, or
 * run to its end WITH HOLD, before these callbacks), but one whose portal
 * failed never ran its end: the abort of the subtransaction it failed in
 * gave its claims back, and this is the backstop, so that nothing stays
 * claimed until this backend's next abort or exit to hold every other
 * session up.  Giving back is idempotent: what went back holds nothing.
 * PREPARE TRANSACTION is a commit here: it drops the portals the same way
 * (PostgreSQL refuses it with a cursor WITH HOLD), and nothing we hold
 * belongs to the prepared transaction, whose COMMIT PREPARED or ROLLBACK
 * PREPARED, maybe in another session, has nothing of ours to give back.
 */
static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			run_releases(CLF_RELEASE_AT_ABORT, InvalidSubTransactionId);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			run_releases(CLF_RELEASE_AT_XACT_END, InvalidSubTransactionId);
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		run_releases(CLF_RELEASE_AT_ABORT, mySubid);
}

/*
 * Find the shared state and check that it has this library's layout.
 * NULL with degraded_reason set: another layout.  May raise an ERROR.
 */
static ClfShared *
attach(void)
{
	ClfShared  *s;
	uint32		magic;
	uint32		version;

#if PG_VERSION_NUM >= 190000
	{
		bool		found;

		s = GetNamedDSMSegment(CLF_SHMEM_NAME, shared_size(), init_segment,
							   &found, NULL);
	}
#elif PG_VERSION_NUM >= 170000
	{
		bool		found;

		s = GetNamedDSMSegment(CLF_SHMEM_NAME, shared_size(), init_segment,
							   &found);
	}
#else
	s = startup_struct;
#endif
	magic = s->magic;
	version = s->layout_version;

#ifdef CLF_TEST_FAULTS

	/*
	 * Test builds only (the fault suite): a session started with
	 * -c clf_test.shared_fault=layout or =error meets another layout or a
	 * failure to attach.
	 */
	{
		const char *fault = GetConfigOption("clf_test.shared_fault", true, false);

		if (fault && strcmp(fault, "layout") == 0)
			version++;
		else if (fault && strcmp(fault, "error") == 0)
			elog(ERROR, "injected failure to attach (clf_test.shared_fault)");
	}
#endif

	if (magic != CLF_SHARED_MAGIC || version != CLF_SHARED_LAYOUT_VERSION)
	{
		degraded_reason = "layout mismatch";
		if (magic != CLF_SHARED_MAGIC)
			degraded_detail = MemoryContextStrdup(TopMemoryContext,
												  "The shared state was not made by contact_list_fdw.");
		else
			degraded_detail = MemoryContextStrdup(TopMemoryContext,
												  psprintf("The shared state has layout version %u, this library version %u, as after an upgrade of the package while the server runs.",
														   version, CLF_SHARED_LAYOUT_VERSION));
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact_list_fdw cannot use the shared state: this session works alone"),
				 errdetail("%s", degraded_detail),
				 errhint("Restart the server to share state again. Until then this session fetches its own tokens, and its requests are not counted in max_concurrent_requests, progress or statistics.")));
		return NULL;
	}
#if PG_VERSION_NUM < 190000
	/* names the lock's wait event in this backend */
	LWLockRegisterTranche(s->tranche_id, CLF_TRANCHE_NAME);
#endif
	return s;
}

/*
 * attach(), turning an ERROR into a WARNING and per-backend mode.  The
 * attempt runs in a subtransaction, so that whatever the failing code held
 * (a lock of the DSM registry, a half-made mapping) is released as on any
 * abort; in parallel mode, where no subtransaction can start, LWLocks are
 * released by hand.  A cancel is not a failure to attach: it is raised
 * again, and the next call tries again.
 */
static bool
attach_or_degrade(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	bool		subxact = !IsInParallelMode();
	ClfShared  *s = NULL;

	if (subxact)
	{
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcxt);
	}
	PG_TRY();
	{
		s = attach();

		/*
		 * The callbacks need the state.  They may be registered and the
		 * state still not taken (an error in between): they find it NULL
		 * then, and do nothing.
		 */
		if (s != NULL && !callbacks_registered)
		{
			before_shmem_exit(before_exit, (Datum) 0);
			RegisterXactCallback(xact_callback, NULL);
			RegisterSubXactCallback(subxact_callback, NULL);
			callbacks_registered = true;
		}
		if (subxact)
		{
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (subxact)
		{
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		else
			LWLockReleaseAll();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		degraded_reason = "could not attach";
		/* a detail is a sentence, the caught error's message is not */
		MemoryContextSwitchTo(TopMemoryContext);
		degraded_detail = psprintf("Attaching to it failed: %s.", edata->message);
		MemoryContextSwitchTo(oldcxt);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("contact_list_fdw cannot use the shared state: this session works alone"),
				 errdetail("%s", degraded_detail),
				 errhint("If the package was upgraded while the server runs, restart the server. Until then this session fetches its own tokens, and its requests are not counted in max_concurrent_requests, progress or statistics.")));
		FreeErrorData(edata);
		s = NULL;
	}
	PG_END_TRY();

	shared = s;
	return s != NULL;
}

/* The shared state, attached on first use; NULL in per-backend mode. */
ClfShared *
clf_shared(void)
{
	if (attached)
		return shared;
	if (!IsUnderPostmaster)
	{
		/* single-user mode: nobody to share with */
		shared = NULL;
		attached = true;
		return NULL;
	}
#if PG_VERSION_NUM < 170000
	if (startup_struct == NULL)
	{
		/* not preloaded: per-backend mode, as documented, no warning */
		attached = true;
		return NULL;
	}
#endif
	if (!IsTransactionState())
		return NULL;			/* (cleanup outside a transaction) holds nothing */

	/*
	 * Once, whatever the outcome: a backend that could not attach does not
	 * try again, so it warns once and never mixes the two modes.
	 */
	if (attach_or_degrade())
		ereport(DEBUG1,
				(errmsg_internal("contact_list_fdw: attached to the shared state \"%s\"",
								 CLF_SHMEM_NAME)));
	attached = true;
	return shared;
}

bool
clf_shared_preloaded(void)
{
	return preloaded;
}

/* For the views and functions that only the shared state can answer. */
void
clf_shared_require(void)
{
	if (!IsUnderPostmaster)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact_list_fdw's shared state is not available in single-user mode"),
				 errdetail("A server started with \"postgres --single\" has no other session to share state with: its scans work alone."),
				 errhint("Try again once the server runs normally.")));
	if (clf_shared() == NULL && degraded_reason != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact_list_fdw's shared state is not available in this session (%s)",
						degraded_reason),
				 errdetail("%s", degraded_detail),
				 errhint("Restart the server to share state again.")));
	if (clf_shared() == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("contact_list_fdw must be loaded via \"shared_preload_libraries\""),
				 errdetail("On PostgreSQL %d, the state shared by all sessions needs shared memory reserved at server start; without it each session works alone.",
						   PG_VERSION_NUM / 10000),
				 errhint("Add contact_list_fdw to shared_preload_libraries and restart the server, or use PostgreSQL 17 or later.")));
}

#if PG_VERSION_NUM >= 170000
static uint32 wait_event_token = 0;
static uint32 wait_event_slot = 0;
#endif

uint32
clf_wait_event_token(void)
{
#if PG_VERSION_NUM >= 170000
	if (wait_event_token == 0)
		wait_event_token = WaitEventExtensionNew("ContactListFdwToken");
	return wait_event_token;
#else
	return PG_WAIT_EXTENSION;
#endif
}

uint32
clf_wait_event_slot(void)
{
#if PG_VERSION_NUM >= 170000
	if (wait_event_slot == 0)
		wait_event_slot = WaitEventExtensionNew("ContactListFdwSlot");
	return wait_event_slot;
#else
	return PG_WAIT_EXTENSION;
#endif
}

PG_FUNCTION_INFO_V1(contact_list_fdw_shared_info);

/* Where the shared state lives, how full it is, and what did not fit. */
Datum
contact_list_fdw_shared_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10] = {0};
	ClfShared  *s = clf_shared();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (degraded_reason)
		values[0] = CStringGetTextDatum(psprintf("per-backend (%s)", degraded_reason));
	else if (!IsUnderPostmaster)
		values[0] = CStringGetTextDatum("per-backend (single-user mode)");
	else
#if PG_VERSION_NUM >= 170000
		values[0] = CStringGetTextDatum("named DSM segment");
#else
		values[0] = CStringGetTextDatum(s ? "shared_preload_libraries" : "per-backend");
#endif
	if (s == NULL)
	{
		for (int i = 1; i < 10; i++)
			nulls[i] = true;
	}
	else
	{
		int			tokens = 0,
					running = 0,
					servers = 0;

		LWLockAcquire(&s->lock, LW_SHARED);
		for (int i = 0; i < CLF_SHARED_TOKENS; i++)
			tokens += s->tokens[i].in_use && s->tokens[i].valid;
		for (int i = 0; i < s->nprogress; i++)
			running += s->progress[i].pid != 0;
		for (int i = 0; i < CLF_SHARED_SERVERS; i++)
			servers += OidIsValid(s->servers[i].serverid);
		values[1] = Int32GetDatum(CLF_SHARED_TOKENS);
		values[2] = Int32GetDatum(tokens);
		values[3] = Int64GetDatum(s->tokens_unshared);
		values[4] = Int32GetDatum(s->nprogress);
		values[5] = Int32GetDatum(running);
		values[6] = Int64GetDatum(s->scans_untracked);
		values[7] = Int32GetDatum(CLF_SHARED_SERVERS);
		values[8] = Int32GetDatum(servers);
		values[9] = Int64GetDatum(s->servers_evicted);
		LWLockRelease(&s->lock);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
