/*-------------------------------------------------------------------------
 *
 * shared_state.h
 *		  The cluster-wide state of contact_list_fdw: access tokens, the
 *		  progress of running scans, per-server counters and request slots.
 *
 * One fixed-size struct lives in shared memory: a named DSM segment on
 * PostgreSQL 17+, the main shared memory on 15 and 16 when the library is
 * in shared_preload_libraries.  Without either, clf_shared() is NULL and
 * every backend works alone, with its own caches (tokens.c, http.c).
 *
 *	shmem.c			setup and attach, the lock, wait events, the list of
 *					what to give back on error and backend exit,
 *					contact_list_fdw_shared_info(); its API is at the end
 *					of this file (it hands out nothing but this layout).
 *	tokens.c		one access token per (api_url, corp_id, secret digest),
 *					behind the token API of tokens.h.
 *	progress.c		a row per running scan: contact_list_fdw_progress
 *					(progress.h).
 *	stats.c			per-server counters and request slots:
 *					contact_list_fdw_stats, max_concurrent_requests (stats.h).
 *	scan_log.c		the ring of ended scans: contact_list_fdw_recent_scans
 *					(scan_log.h).
 * None of the last three calls another: a scan's events reach them through
 * scan_events.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_SHARED_STATE_H
#define CLF_SHARED_STATE_H

#include "clf_common.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#else
#include "storage/backendid.h"
#endif

#define CLF_SHARED_TOKENS			64
#define CLF_SHARED_TOKEN_MAX		1024	/* WeCom's are up to 512 bytes */
#ifdef CLF_FAULT_INJECTION
#define CLF_SHARED_SERVERS			2	/* test builds: a full table is easy to reach */
#else
#define CLF_SHARED_SERVERS			128
#endif
#define CLF_SLOT_QUEUE				1024	/* waiters per server served in order */
#define CLF_PROGRESS_PER_BACKEND	16	/* an Append of 16 corps shows every one */
#define CLF_RETRY_CAUSES			8
#define CLF_PROGRESS_TEXT			256
#define CLF_RECENT_SCANS			256

#define CLF_SHARED_ERROR_TEXT		512

typedef struct ClfSharedToken
{
	bool		in_use;
	uint8		key[PG_SHA256_DIGEST_LENGTH];	/* of api_url, corp_id, secret digest */
	bool		valid;			/* token holds one */
	TimestampTz refresh_at;		/* one backend fetches a new one from then on */
	TimestampTz expires_at;		/* everyone else uses this one until then */
	TimestampTz last_used;
	int			fetcher;		/* pid fetching a new one, or 0 */
	TimestampTz claimed_at;		/* when fetcher claimed it: waiters' bound */
	ConditionVariable cv;		/* broadcast when a fetch ends */

	/*
	 * The last fetch's failure, raised again for every caller without a
	 * usable token until retry_at, when the next fetch may be made.  Only
	 * callers whose fetch would go the same way (context) get it.  The texts
	 * were redacted when the error was made.
	 */
	int			failures;		/* in a row: the backoff grows with them */
	TimestampTz retry_at;		/* 0: no failure on record */
	int			failed_pid;
	uint8		context[PG_SHA256_DIGEST_LENGTH];	/* of the fetch's server settings */
	int			sqlerrcode;
	char		message[CLF_SHARED_ERROR_TEXT];
	char		detail[CLF_SHARED_ERROR_TEXT];
	char		hint[CLF_SHARED_ERROR_TEXT];

	char		token[CLF_SHARED_TOKEN_MAX + 1];
} ClfSharedToken;

typedef enum ClfRetryKind
{
	CLF_RETRY_ERRCODE,
	CLF_RETRY_HTTP,
	CLF_RETRY_TRANSPORT
} ClfRetryKind;

typedef struct ClfRetryCause
{
	int			kind;			/* ClfRetryKind, -1: unused */
	int			code;
	int64		count;
} ClfRetryCause;

typedef struct ClfServerEntry
{
	Oid			dbid;			/* with serverid, the key; InvalidOid: free */
	Oid			serverid;
	char		server_name[NAMEDATALEN];
	TimestampTz last_used;
	int			in_flight;		/* requests holding a slot, or granted one */
	int			uncapped;		/* of those, counted under no cap: held to none */
	ConditionVariable cv;		/* broadcast when a slot is given back */

	/*
	 * Waiters for a slot are served in ticket order: tickets below
	 * ticket_granted have been granted a slot (counted in in_flight) or
	 * were given up; bit (ticket % CLF_SLOT_QUEUE) of abandoned marks a
	 * ticket given up before its turn.  At most CLF_SLOT_QUEUE tickets are
	 * out at once.
	 */
	int			max_in_flight;	/* the cap of the options read last */
	TimestampTz cap_read_at;	/* when the options that set it were read */

	/*
	 * What the slot holds of every backend came to when a waiter last read
	 * them: holds_stale of them past their deadline, and no other before
	 * holds_fresh_until (0: read them again; a hold of this server changed).
	 * Waiters poll often, and the holds are many.
	 */
	TimestampTz holds_fresh_until;
	int			holds_stale;
	uint64		ticket_next;
	uint64		ticket_granted;
	uint64		abandoned[CLF_SLOT_QUEUE / 64];
	int64		scans_complete;
	int64		scans_stopped_early;
	int64		scans_failed;
	int64		pages;
	int64		rows;
	int64		requests;
	int64		retries[3];		/* by ClfRetryKind */
	ClfRetryCause causes[CLF_RETRY_CAUSES];
	int64		other_causes;	/* retries whose cause found no place above */
	int64		token_fetches;
	int64		bytes;
	double		network_ms;
	TimestampTz stats_reset;
} ClfServerEntry;

typedef struct ClfProgressSlot
{
	/*
	 * Written by its owner only, readers retry while it changes (as
	 * PgBackendStatus's st_changecount).  pid is set and cleared under the
	 * lock.
	 */
	pg_atomic_uint32 changecount;
	int			pid;			/* 0: free */
	uint64		serial;			/* tells a reused slot from the old one */
	Oid			dbid;
	Oid			userid;
	Oid			relid;
	Oid			serverid;
	TimestampTz started;
	ClfScanStats stats;
	int			state;			/* ClfProgressState (progress.h) */
	TimestampTz until;			/* waiting to retry until */
	char		table_name[2 * NAMEDATALEN + 2];
	char		server_name[NAMEDATALEN];
	char		reason[CLF_PROGRESS_TEXT];
	char		last_error[CLF_PROGRESS_TEXT];
} ClfProgressSlot;

/*
 * What one claim of a backend (stats.c's SlotClaim) holds of a server's
 * request slots, for the waiters to judge: a slot, or a ticket that may
 * have been granted one.  A slot held past deadline is one whose holder is
 * not running its request (an idle cursor's asynchronous scan, never
 * polled): waiters may go one over the cap for it.  Written under the lock
 * by its backend; the deadline of a granted ticket that was not taken up
 * by the first waiter that sees it.
 */
typedef struct ClfSlotHold
{
	int			entry;			/* index in servers[], -1: none */
	bool		ticket;			/* a ticket, granted once below ticket_granted */
	int			limit_ms;		/* timeout_ms plus a margin */
	uint64		waiting_ticket;
	TimestampTz deadline;		/* 0: not granted yet */
} ClfSlotHold;

#define CLF_SLOT_HOLDS_PER_BACKEND	65	/* stats.c's claims, its own included */

/* A scan that ended, for contact_list_fdw_recent_scans (scan_log.c). */
typedef struct ClfRecentScan
{
	uint64		serial;			/* 0: unused */
	int			pid;
	char		backend_type[64];
	Oid			dbid;
	Oid			userid;			/* the session user */
	Oid			reader;			/* the current user when it started */
	Oid			relid;
	TimestampTz started;
	TimestampTz ended;
	ClfScanStats stats;
	int			outcome;		/* ClfScanOutcome */
	char		table_name[2 * NAMEDATALEN + 2];
	char		server_name[NAMEDATALEN];
	char		error[CLF_PROGRESS_TEXT];
} ClfRecentScan;
/*
 * The layout of ClfShared.  Bump it whenever the struct, or any struct or
 * constant it is made of, changes: the segment's name carries it, and a
 * backend finding another version's state works alone rather than misread
 * it.  CLF_SHARED_LAYOUT_VERSION_BUMP builds a library that differs only in
 * the version, for the fault suite's upgrade case.
 */
#define CLF_SHARED_MAGIC			0x434C4653	/* "CLFS" */
#ifdef CLF_SHARED_LAYOUT_VERSION_BUMP
#define CLF_SHARED_LAYOUT_VERSION	9
#else
#define CLF_SHARED_LAYOUT_VERSION	8
#endif

typedef struct ClfShared
{
	uint32		magic;			/* CLF_SHARED_MAGIC; first, in every layout */
	uint32		layout_version; /* CLF_SHARED_LAYOUT_VERSION; second */
	LWLock		lock;			/* tokens, servers, slot ownership */
	int			tranche_id;
	uint64		next_serial;
	int64		tokens_unshared;	/* kept by their backend alone: no entry, too long */
	int64		scans_untracked;	/* started while every progress slot was taken */
	int64		servers_evicted;	/* counters dropped to make room */
	int64		servers_untracked;	/* requests with no server entry to count in */
	TimestampTz created;
	ClfSharedToken tokens[CLF_SHARED_TOKENS];
	ClfServerEntry servers[CLF_SHARED_SERVERS];
	uint64		next_recent;	/* serial of the next scan to end */
	ClfRecentScan recent[CLF_RECENT_SCANS];	/* a ring, by serial */
	int			nprogress;
	ClfProgressSlot progress[FLEXIBLE_ARRAY_MEMBER];
	/* then CLF_SLOT_HOLDS_PER_BACKEND ClfSlotHolds per backend: clf_slot_holds() */
} ClfShared;

/*
 * This backend's number among those the area has rows for (its progress
 * rows, its slot holds), or -1: not a regular backend, which never scans.
 */
static inline int
clf_backend_index(const ClfShared *s)
{
#if PG_VERSION_NUM >= 170000
	int			n = MyProcNumber;
#else
	int			n = MyBackendId - 1;
#endif

	if (n < 0 || n >= s->nprogress / CLF_PROGRESS_PER_BACKEND)
		return -1;
	return n;
}

/* The first of the slot holds, after the progress rows. */
static inline ClfSlotHold *
clf_slot_holds(ClfShared *s)
{
	return (ClfSlotHold *) ((char *) s +
							MAXALIGN(offsetof(ClfShared, progress) +
									 sizeof(ClfProgressSlot) * s->nprogress));
}

/* shmem.c */

/*
 * What a module gives back of the shared state it holds, and when: always
 * on backend exit (FATAL included), and as asked also on (sub)transaction
 * abort, or at every transaction's end, commit included.  from is the
 * aborted subtransaction: only what was taken in it or in a subtransaction
 * started after it (its children) goes back, since a scan of the outer
 * transaction (an open cursor's) outlives it and still holds what it took,
 * unless that scan's portal failed (clf_shmem_claim_goes).
 * InvalidSubTransactionId: everything (a transaction's end, exit).
 */
typedef void (*ClfSharedRelease) (SubTransactionId from);

/*
 * Whose a claim on the shared state is, for the release at a
 * subtransaction's abort: the subtransaction its scan began in, and the
 * portal that ran the scan when it claimed (PostgreSQL's ActivePortal: a
 * cursor's, for a FETCH).  Kept by value, by name and creation time: the
 * release must not follow pointers into memory that may be gone.
 */
typedef struct ClfClaimOwner
{
	SubTransactionId subid;
	bool		in_portal;		/* false: no portal ran it */
	TimestampTz portal_created;
	char		portal[NAMEDATALEN];
} ClfClaimOwner;

typedef enum ClfReleaseAt
{
	CLF_RELEASE_AT_EXIT,
	CLF_RELEASE_AT_ABORT,		/* and exit */
	CLF_RELEASE_AT_XACT_END		/* and abort, and exit */
} ClfReleaseAt;

extern void clf_shmem_init(void);
extern void clf_shmem_on_release(ClfSharedRelease release, ClfReleaseAt when);
extern void clf_shmem_claim_owner(ClfClaimOwner *owner, SubTransactionId subid);
extern bool clf_shmem_claim_goes(const ClfClaimOwner *owner, SubTransactionId from);
extern bool clf_shmem_claim_is_current(const ClfClaimOwner *owner);
extern ClfShared *clf_shared(void);
extern bool clf_shared_preloaded(void);
extern void clf_shared_require(void);
extern uint32 clf_wait_event_token(void);
extern uint32 clf_wait_event_slot(void);

#endif							/* CLF_SHARED_STATE_H */
