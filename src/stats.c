/*-------------------------------------------------------------------------
 *
 * stats.c
 *		  Per-server state shared by the cluster: the cumulative counters of
 *		  contact_list_fdw_stats, and the request slots that hold the
 *		  requests to one server to its max_concurrent_requests.
 *
 * A server is a (database, server) pair: servers are per database.  The
 * entries are a fixed array; when it is full, a page received, or a
 * request to a capped server, makes room in place of an entry with no
 * request in flight, one of a server that has received no page first, else
 * the least recently used (its counters are lost, which
 * contact_list_fdw_shared_info() counts).  Nothing else makes room: a
 * request that ends without a page (a wrong secret's failed gettoken) and
 * finds no entry is not counted, so requests that keep failing cannot push
 * out the counters of servers that work (server_entry).  Its backend keeps
 * what it would have counted (PendingCounts) until the server has an entry:
 * a server that gets a page is counted from its first request and its first
 * scan, one that gets none not at all.  A request never fails for want of room.
 *
 * The view shows the catalog's name of a server of the reader's database,
 * and the name last seen by a scan for the others.  A dropped server's
 * entry is freed when the dropping transaction commits (object access hook,
 * in sessions that have loaded the library: all of them on 15 and 16 with
 * the preload), else when the view is read or the counters are reset in its
 * database; an entry whose database is gone is freed at the next read or
 * reset anywhere.  So a server made later with the same OID starts from
 * zero.  A server made in a transaction not yet committed keeps its entry
 * (server_gone).
 *
 * A request slot is taken just before a request and given back when it
 * ends, however it ends: clf_request_done, or on error and exit the release
 * registered with shmem.c (clf_shmem_on_release).  What a backend holds or
 * waits for is kept per claim: the synchronous path has one of its own
 * (clf_request_slot_try), and each asynchronous scan takes one
 * (clf_request_slot_claim), so that the scans of an Append each hold a
 * slot or a ticket at once.  A backend must therefore never wait
 * (clf_request_slot_wait) while one of its claims holds a slot of the same
 * server, or a ticket ahead of it: only this backend could give it back.
 * Waiters take a ticket and are served in ticket order: a slot given back
 * goes to the oldest ticket (grant_slots), never to whoever grabs the lock
 * first, and a newcomer queues behind the tickets already out.  A request
 * that needs a slot and finds every entry busy waits for one to free up
 * rather than go unlimited: waiting holds nothing, and every entry frees up
 * once its requests end and its queue drains, so this cannot deadlock.  But
 * a request ends only when its holder polls it (below), and a full table
 * of idle holders (one role's open cursors over many servers) would stall
 * every other server for as long as they stay open: so that wait is
 * bounded as a slot's is, and then the request runs without an entry, over
 * no cap, since there is none to hold it to (no_entry_may_go).
 *
 * A slot is given back when its request ends, but an asynchronous scan's
 * request ends only when its backend polls it: an open cursor between
 * FETCHes, or a query busy elsewhere, holds its slot (or a ticket granted
 * meanwhile) with nothing running.  So each claim also says in the shared
 * state (ClfSlotHold) until when its request must be over at the latest:
 * its server's timeout_ms, which libcurl holds every running request to,
 * plus SLOT_HOLD_MARGIN_MS, from when it took the slot (a granted ticket:
 * from when a waiter first saw it granted).  A waiter may go one over the
 * cap for each slot held past that, and only then: under normal load every
 * holder is within its deadline and the cap holds, however long the queue
 * is; a holder that does not run its request stalls the others for its
 * server's timeout_ms at most, never until its session goes on.  The
 * requests of a server without a cap take no slot and have no deadline,
 * only a count (count_request): a cap set on it later leaves out the ones
 * already out (cap_of), which an idle cursor's would otherwise fill.
 *
 * What a scan is doing meanwhile (waiting for a slot, requesting) is not
 * this file's to show: scan_events.c takes the slot through
 * clf_request_slot_try and clf_request_slot_wait and tells progress.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "stats.h"
#include "redact.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_foreign_server.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/*
 * A claim: the slot it holds, or the ticket it waits with, or neither.  A
 * fixed static array, not palloc'd: the release at abort may run after
 * the owners' memory is gone, and must not follow pointers into it.
 * owner.subid is the subtransaction whose abort gives back what it holds
 * (as does the abort of one that subtransaction was started in; a later
 * one's does not).  For the synchronous claim, the one current when it
 * took a ticket or a slot while holding nothing: its request begins and
 * ends within that statement.  For an asynchronous claim, the one its scan
 * began in, whatever subtransaction polls it: a cursor's FETCH inside a
 * savepoint starts a request that goes on after the savepoint's rollback,
 * while the rollback of the subtransaction the cursor was opened in ends
 * the scan too.  Unless that FETCH failed: its portal is dead then, and
 * owner's portal says so (clf_shmem_claim_goes).
 */
typedef struct SlotClaim
{
	bool		in_use;
	int			held_entry;
	Oid			held_dbid;
	Oid			held_serverid;
	int			waiting_entry;
	uint64		waiting_ticket;
	const void *poller;			/* who drives its scan (an Append), or NULL */
	ClfClaimOwner owner;		/* when it began to hold what it holds */
	/* a request to a server without a cap, counted in in_flight: no slot */
	int			counted_entry;
	Oid			counted_dbid;
	Oid			counted_serverid;
	/* a capped request that found no entry: since when (0: it has not) */
	TimestampTz no_entry_since;
	bool		no_entry_runs;	/* ... and runs without one now */
} SlotClaim;

/*
 * claim 0 is the synchronous path's; 1 .. CLF_SLOT_CLAIMS are handed out
 * for capped servers, each with a ClfSlotHold; the COUNT_CLAIMS after them
 * for servers without a cap, which only count their request in flight and
 * need no hold: they never take a capped server's claim.
 */
#define SYNC_CLAIM 0
#define COUNT_CLAIMS 64
#define ALL_CLAIMS (CLF_SLOT_CLAIMS + 1 + COUNT_CLAIMS)
static SlotClaim claims[ALL_CLAIMS] = {
	[SYNC_CLAIM] = {.in_use = true, .held_entry = -1, .waiting_entry = -1,
	.counted_entry = -1}
};

/* where clf_request_slot_wait sleeps: the entry last tried, or NULL */
static ClfServerEntry *sleep_entry = NULL;
static bool slept = false;		/* since the slot was asked for */

/* how often a request with no entry to wait on looks again */
#define NO_ENTRY_WAIT_MS 20

/* a held slot's request is over by its timeout_ms and this (see above) */
#define SLOT_HOLD_MARGIN_MS 1000

StaticAssertDecl(CLF_SLOT_CLAIMS + 1 <= CLF_SLOT_HOLDS_PER_BACKEND,
				 "every claim of a backend has a ClfSlotHold");

/*
 * What this backend's requests (and their retries) to a server that had no
 * entry would have counted, kept until the server has one (server_entry
 * adds them in): made by its first page, or found made by another session.
 * Otherwise the requests before a server's first page (its gettoken, the
 * first page's own, their retries) would be lost whenever the table is
 * full, and its counters would say fewer requests than pages.  A few
 * servers at once (an Append over several); a newer server's take the
 * place of the least recently added to, whose counts are lost.  In this
 * backend's memory: nobody else's counters are pushed out for them.
 */
typedef struct PendingCounts
{
	Oid			serverid;		/* of this database; InvalidOid: unused */
	uint64		age;			/* pending_clock when last added to */
	int64		requests;
	int64		token_fetches;
	int64		bytes;
	double		network_ms;
	int64		retries[3];		/* by ClfRetryKind */
	ClfRetryCause causes[CLF_RETRY_CAUSES];
	int64		other_causes;
	int64		scans_complete;
	int64		scans_stopped_early;
	int64		scans_failed;
} PendingCounts;

StaticAssertDecl(lengthof(((PendingCounts *) 0)->retries) ==
				 lengthof(((ClfServerEntry *) 0)->retries),
				 "a pending count for every kind of retry");

#define PENDING_SERVERS 8
static PendingCounts pending[PENDING_SERVERS];
static uint64 pending_clock = 0;

static object_access_hook_type prev_object_access_hook = NULL;
static bool servers_dropped = false;	/* in this transaction */
static bool xact_callback_registered = false;

static void
clear_counters(ClfServerEntry *e)
{
	e->scans_complete = e->scans_stopped_early = e->scans_failed = 0;
	e->pages = e->rows = e->requests = 0;
	memset(e->retries, 0, sizeof(e->retries));
	for (int i = 0; i < CLF_RETRY_CAUSES; i++)
	{
		e->causes[i].kind = -1;
		e->causes[i].code = 0;
		e->causes[i].count = 0;
	}
	e->other_causes = 0;
	e->token_fetches = 0;
	e->bytes = 0;
	e->network_ms = 0;
	e->stats_reset = GetCurrentTimestamp();
}

/* Count n retries of (kind, code) in causes, or in *other if they are full. */
static void
add_retry_cause(ClfRetryCause *causes, int64 *other, int kind, int code, int64 n)
{
	for (int i = 0; i < CLF_RETRY_CAUSES; i++)
	{
		if (causes[i].kind < 0)
		{
			causes[i].kind = kind;
			causes[i].code = code;
		}
		if (causes[i].kind == kind && causes[i].code == code)
		{
			causes[i].count += n;
			return;
		}
	}
	*other += n;
}

/*
 * This backend's pending counts of serverid, made (create) if missing.  Its
 * eight places are searched every time, under a lock already held, rather
 * than skipped by a flag that would have to be kept true as they empty.
 */
static PendingCounts *
pending_of(Oid serverid, bool create)
{
	PendingCounts *victim = NULL;

	for (int i = 0; i < PENDING_SERVERS; i++)
	{
		PendingCounts *p = &pending[i];

		if (p->serverid == serverid)
			return p;
		if (victim == NULL || (OidIsValid(victim->serverid) &&
							   (!OidIsValid(p->serverid) || p->age < victim->age)))
			victim = p;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	for (int i = 0; i < CLF_RETRY_CAUSES; i++)
		victim->causes[i].kind = -1;
	victim->serverid = serverid;
	return victim;
}

/*
 * e, this database's entry of a server, has turned up: what this backend
 * counted for it meanwhile goes in.  Caller holds the lock exclusively.
 */
static void
add_pending(ClfShared *s, ClfServerEntry *e)
{
	PendingCounts *p = pending_of(e->serverid, false);

	if (p == NULL)
		return;
	e->requests += p->requests;
	e->token_fetches += p->token_fetches;
	e->bytes += p->bytes;
	e->network_ms += p->network_ms;
	for (int k = 0; k < lengthof(e->retries); k++)
		e->retries[k] += p->retries[k];
	for (int i = 0; i < CLF_RETRY_CAUSES && p->causes[i].kind >= 0; i++)
		add_retry_cause(e->causes, &e->other_causes, p->causes[i].kind,
						p->causes[i].code, p->causes[i].count);
	e->other_causes += p->other_causes;
	e->scans_complete += p->scans_complete;
	e->scans_stopped_early += p->scans_stopped_early;
	e->scans_failed += p->scans_failed;
	s->servers_untracked -= p->requests;
	p->serverid = InvalidOid;
}

/* No request holds or waits for a slot of e: it may be freed or reused. */
static bool
entry_idle(const ClfServerEntry *e)
{
	return e->in_flight == 0 && e->ticket_next == e->ticket_granted;
}

static uint64 *
abandoned_word(ClfServerEntry *e, uint64 ticket)
{
	return &e->abandoned[(ticket % CLF_SLOT_QUEUE) / 64];
}

/*
 * Hand the free slots of e, up to limit in flight, to the oldest tickets,
 * skipping the ones given up.  True if a ticket was granted or skipped:
 * waiters should look.  Caller holds the lock exclusively.
 */
static bool
grant_slots_up_to(ClfServerEntry *e, int limit)
{
	bool		changed = false;

	while (e->ticket_granted < e->ticket_next)
	{
		uint64	   *word = abandoned_word(e, e->ticket_granted);
		uint64		bit = UINT64CONST(1) << (e->ticket_granted % 64);

		if (*word & bit)
			*word &= ~bit;
		else if (e->in_flight < limit)
		{
			e->in_flight++;
			/* its deadline is set by the next waiter that looks */
			e->holds_fresh_until = 0;
		}
		else
			break;
		e->ticket_granted++;
		changed = true;
	}
	return changed;
}

/*
 * The cap of e's requests in flight, over those counted when it had none:
 * a cap set later holds from the next request on, and would otherwise be
 * filled, for as long as its cursor stays open, by a request that has no
 * deadline (an idle cursor's, which only its session can end).
 */
static int
cap_of(const ClfServerEntry *e)
{
	return e->max_in_flight + e->uncapped;
}

/* grant_slots_up_to the cap */
static bool
grant_slots(ClfServerEntry *e)
{
	return grant_slots_up_to(e, cap_of(e));
}

/*
 * The entry of (this database, serverid), made if missing: in a free
 * entry, else, only if may_evict, in place of an idle one (no request in
 * flight or waiting), that of a server that has received no page first,
 * then the least recently used.  NULL if there is none.
 *
 * Only a page received (clf_stats_page) and the slot of a request to a
 * capped server (claim_try) may evict; a request's end and a retry only
 * count, in an entry of their own or none (servers_untracked): a server
 * whose requests all fail (a wrong secret) never gets to a page, and a
 * flood of those must not cost other servers their counters.  A capped
 * request needs an entry for its cap to hold; if it could take only
 * entries of servers without a page, it would wait for ever once every
 * entry had received pages.  Taking those first, it recycles the entries
 * of failing servers (a role's wrong secrets, capped) among themselves,
 * and costs servers with pages at most as many entries as there are such
 * requests in flight at once.  Caller holds the lock exclusively.
 */
static ClfServerEntry *
server_entry(ClfShared *s, Oid serverid, const char *name, bool may_evict)
{
	ClfServerEntry *victim = NULL;
	ClfServerEntry *e;

	for (int i = 0; i < CLF_SHARED_SERVERS; i++)
	{
		e = &s->servers[i];
		if (e->dbid == MyDatabaseId && e->serverid == serverid)
		{
			e->last_used = GetCurrentTimestamp();
			/* the name other databases see: the latest one used here */
			if (name && strncmp(e->server_name, name, sizeof(e->server_name) - 1) != 0)
				clf_copy_text(e->server_name, sizeof(e->server_name), name);
			add_pending(s, e);
			return e;
		}
		if (!entry_idle(e))
			continue;
		if (victim == NULL || !OidIsValid(e->serverid))
			victim = e;
		else if (!OidIsValid(victim->serverid))
			continue;
		else if ((e->pages == 0) != (victim->pages == 0))
		{
			/* a server without a page goes first */
			if (e->pages == 0)
				victim = e;
		}
		else if (e->last_used < victim->last_used)
			victim = e;
	}
	if (victim == NULL)
		return NULL;
	if (OidIsValid(victim->serverid))
	{
		if (!may_evict)
			return NULL;
		s->servers_evicted++;
	}
	victim->dbid = MyDatabaseId;
	victim->serverid = serverid;
	clf_copy_text(victim->server_name, sizeof(victim->server_name), name);
	victim->last_used = GetCurrentTimestamp();
	victim->in_flight = 0;
	victim->uncapped = 0;
	victim->max_in_flight = 0;
	victim->cap_read_at = 0;
	victim->holds_fresh_until = 0;
	victim->holds_stale = 0;
	victim->ticket_next = victim->ticket_granted = 0;
	memset(victim->abandoned, 0, sizeof(victim->abandoned));
	clear_counters(victim);
	add_pending(s, victim);
	return victim;
}

static void request_slot_release(SubTransactionId from);
static ConditionVariable *give_up_ticket(ClfShared *s, SlotClaim *c);

/* The shared record of claim c of this backend, or NULL (not a backend). */
static ClfSlotHold *
hold_of(ClfShared *s, const SlotClaim *c)
{
	int			n = clf_backend_index(s);

	/* a claim for an uncapped server holds no slot, and has no record */
	if (n < 0 || c - claims > CLF_SLOT_CLAIMS)
		return NULL;
	return &clf_slot_holds(s)[n * CLF_SLOT_HOLDS_PER_BACKEND + (c - claims)];
}

/*
 * Record what c holds now, for the waiters: a slot, whose request is over
 * by limit_ms from now, or a ticket, or nothing.  Caller holds the lock
 * exclusively.
 */
static void
note_hold(ClfShared *s, const SlotClaim *c, int limit_ms)
{
	ClfSlotHold *h = hold_of(s, c);

	if (h == NULL)
		return;
	if (h->entry >= 0)
		s->servers[h->entry].holds_fresh_until = 0;
	h->entry = -1;
	if (c->held_entry >= 0)
	{
		h->entry = c->held_entry;
		h->ticket = false;
		h->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), limit_ms);
	}
	else if (c->waiting_entry >= 0)
	{
		h->entry = c->waiting_entry;
		h->ticket = true;
		h->limit_ms = limit_ms;
		h->waiting_ticket = c->waiting_ticket;
		h->deadline = 0;
	}
	if (h->entry >= 0)
		s->servers[h->entry].holds_fresh_until = 0;
}

/*
 * When hold's slot of e is due back; DT_NOEND while its ticket still waits
 * (it holds no slot yet).  A slot granted but not yet taken up holds from
 * the first time anybody looks, and e's count of stale holds is redone.
 */
static TimestampTz
hold_deadline(ClfSlotHold *hold, ClfServerEntry *e, TimestampTz now)
{
	if (hold->ticket)
	{
		if (hold->waiting_ticket >= e->ticket_granted)
			return DT_NOEND;
		if (hold->deadline == 0)
		{
			hold->deadline = TimestampTzPlusMilliseconds(now, hold->limit_ms);
			e->holds_fresh_until = 0;
		}
	}
	return hold->deadline;
}

/*
 * The cap of e's requests in flight, plus one for each slot held past its
 * deadline (see the header): its holder is not running its request.  A
 * ticket granted and not taken up yet gets its deadline here, the first
 * time a waiter sees it.  Caller holds the lock exclusively.
 */
static int
slot_limit(ClfShared *s, ClfServerEntry *e)
{
	ClfSlotHold *h = clf_slot_holds(s);
	int			nholds = (s->nprogress / CLF_PROGRESS_PER_BACKEND) * CLF_SLOT_HOLDS_PER_BACKEND;
	int			index = e - s->servers;
	int			limit = cap_of(e);
	TimestampTz now;
	TimestampTz next_deadline = DT_NOEND;
	int			stale = 0;

	/* the holds are read only when the cap is reached */
	if (e->in_flight < limit)
		return limit;
	/* ... and only when they may have changed since they were last read */
	now = GetCurrentTimestamp();
	if (now < e->holds_fresh_until)
		return limit + e->holds_stale;
	for (int i = 0; i < nholds; i++)
	{
		TimestampTz deadline;

		if (h[i].entry != index)
			continue;
		deadline = hold_deadline(&h[i], e, now);
		if (deadline == DT_NOEND)
			continue;			/* still waiting: holds no slot */
		if (now >= deadline)
			stale++;
		else if (deadline < next_deadline)
			next_deadline = deadline;
	}
	e->holds_stale = stale;
	e->holds_fresh_until = next_deadline;
	return limit + stale;
}

/* c has not met a full table (or is done with it). */
static void
forget_no_entry(SlotClaim *c)
{
	c->no_entry_since = 0;
	c->no_entry_runs = false;
}

/*
 * c's request to opts's capped server found every entry busy (server_entry
 * gave NULL): may it run now without an entry, and so without its cap (no
 * entry, nothing to count it against), rather than wait on for one?
 * Yes once some slot, of whatever server, is held past its deadline (see
 * the header): that entry is kept busy by a holder that is not running its
 * request, such as another role's idle cursor, for as long as that session
 * likes, and a full table of those would stall every other server for
 * good.  So a slot that nobody uses holds a request without an entry up
 * no longer than it holds the waiters of its own server.  And yes once c
 * has waited its own server's timeout_ms and the margin: an entry is also
 * kept busy by requests of servers without a cap, only counted, which have
 * no deadline to look at (an idle cursor's among them).  Until then no:
 * while every entry's requests run within their deadlines, they end soon
 * and free their entries, and the cap holds.  Going over no cap beats
 * waiting on: the shared state must never be worse than none, where no
 * request waits for another.  Caller holds the lock exclusively.
 */
static bool
no_entry_may_go(ClfShared *s, SlotClaim *c, const ClfOptions *opts)
{
	ClfSlotHold *h = clf_slot_holds(s);
	int			nholds = (s->nprogress / CLF_PROGRESS_PER_BACKEND) * CLF_SLOT_HOLDS_PER_BACKEND;
	TimestampTz now = GetCurrentTimestamp();

	if (c->no_entry_since == 0)
		c->no_entry_since = now;
	if (now >= TimestampTzPlusMilliseconds(c->no_entry_since,
										   opts->timeout_ms + SLOT_HOLD_MARGIN_MS))
		return true;
	for (int i = 0; i < nholds; i++)
	{
		if (h[i].entry >= 0 &&
			hold_deadline(&h[i], &s->servers[h[i].entry], now) <= now)
			return true;
	}
	return false;
}

/*
 * Does one of this backend's asynchronous claims that c's caller does not
 * drive hold a slot of entry, or a ticket for one (granted, maybe, and not
 * yet taken up)?  Those of another poller (the other Append of a join, a
 * cursor's) go on only once c's caller has returned, as do all of them for
 * the synchronous claim; claims of c's own poller are driven with it.
 */
static bool
sibling_holds(int entry, const SlotClaim *c)
{
	for (int i = SYNC_CLAIM + 1; i <= CLF_SLOT_CLAIMS; i++)
	{
		const SlotClaim *other = &claims[i];

		if (other == c || !other->in_use)
			continue;
		if (c != &claims[SYNC_CLAIM] && other->poller == c->poller)
			continue;
		if (other->held_entry == entry || other->waiting_entry == entry)
			return true;
	}
	return false;
}

/*
 * c's request to opts's server, which has no cap, begins: it takes no slot
 * and never waits, but counts in the entry's in_flight (requests_in_flight)
 * until it ends, given back as a slot is (give_back_count).  It may not
 * push out another server's counters to do so (as a request's end, see
 * server_entry): with no entry to be had, or without a claim (this
 * backend's are all out), it goes uncounted.  Caller has registered the
 * release.
 */
static void
count_request(ClfShared *s, SlotClaim *c, const ClfOptions *opts)
{
	ClfServerEntry *e;

	/* asked again while counted: an asynchronous caller polling */
	if (c == NULL || c->counted_entry >= 0)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	e = server_entry(s, opts->serverid, opts->server_name, false);
	if (e != NULL)
	{
		e->in_flight++;
		e->uncapped++;
		c->counted_entry = e - s->servers;
		c->counted_dbid = e->dbid;
		c->counted_serverid = e->serverid;
		/* an asynchronous claim keeps its scan's subtransaction */
		if (c == &claims[SYNC_CLAIM] && c->held_entry < 0 && c->waiting_entry < 0)
			clf_shmem_claim_owner(&c->owner, GetCurrentSubTransactionId());
	}
	LWLockRelease(&s->lock);
}

/*
 * Take a slot for c's request to opts's server if it is its turn, else
 * queue c for one, in the order the waiters came, and return false.  True
 * also when no slot is needed (no cap: the request is only counted; no
 * shared state).  *tried is the entry tried, or NULL.
 */
static bool
claim_try(SlotClaim *c, const ClfOptions *opts, ClfServerEntry **tried)
{
	ClfShared  *s = clf_shared();
	ClfServerEntry *e;
	bool		got = false;
	bool		held_nothing;
	ConditionVariable *wake = NULL;

	*tried = NULL;
	if (s == NULL)
		return true;
	clf_shmem_on_release(request_slot_release, CLF_RELEASE_AT_ABORT);
	if (opts->max_concurrent_requests <= 0)
	{
		count_request(s, c, opts);
		return true;
	}
	/* asked again while running without an entry: the same */
	if (c->no_entry_runs)
		return true;
	/* asked again while holding: an asynchronous caller polling */
	if (c->held_entry >= 0)
	{
		Assert(c->held_serverid == opts->serverid);
		return true;
	}
	held_nothing = c->waiting_entry < 0;

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	e = server_entry(s, opts->serverid, opts->server_name, true);
	if (e == NULL && no_entry_may_go(s, c, opts))
	{
		/* nothing held: claim_done, or the release, only resets the flag */
		c->no_entry_runs = true;
		got = true;
	}
	if (e != NULL)
	{
		int			i = e - s->servers;

		c->no_entry_since = 0;

		/*
		 * A changed cap applies from the next request on, and the cap of the
		 * options read last holds whoever asks: a scan that read them before
		 * an ALTER SERVER (an open cursor) does not bring the old cap back
		 * for everyone each time it asks for a slot.
		 */
		if (opts->read_at >= e->cap_read_at)
		{
			e->max_in_flight = opts->max_concurrent_requests;
			e->cap_read_at = opts->read_at;
		}
		if (sibling_holds(i, c))
		{
			/*
			 * Only this backend could give that slot back, and it would be
			 * waiting here: the request goes over the cap instead, by this
			 * backend's own overlap, rather than wait for ever.
			 */
			if (c->waiting_entry == i)
				wake = give_up_ticket(s, c);
			e->in_flight++;
			got = true;
		}
		else if (c->waiting_entry == i)
		{
			/* an older ticket granted over the cap is woken to take it */
			if (grant_slots_up_to(e, slot_limit(s, e)))
				wake = &e->cv;
			got = c->waiting_ticket < e->ticket_granted;
		}
		else if (e->ticket_next == e->ticket_granted &&
				 e->in_flight < slot_limit(s, e))
		{
			e->in_flight++;
			got = true;
		}
		else if (e->ticket_next - e->ticket_granted < CLF_SLOT_QUEUE)
		{
			Assert(c->waiting_entry < 0);
			c->waiting_entry = i;
			c->waiting_ticket = e->ticket_next++;
		}
		/* else more than CLF_SLOT_QUEUE wait: look again when woken */
		if (c == &claims[SYNC_CLAIM] && held_nothing && (got || c->waiting_entry >= 0))
			clf_shmem_claim_owner(&c->owner, GetCurrentSubTransactionId());
		if (got)
		{
			c->held_entry = i;
			c->held_dbid = e->dbid;
			c->held_serverid = e->serverid;
			c->waiting_entry = -1;
		}
		note_hold(s, c, opts->timeout_ms + SLOT_HOLD_MARGIN_MS);
	}
	LWLockRelease(&s->lock);
	if (wake)
		ConditionVariableBroadcast(wake);
	*tried = e;
	return got;
}

/*
 * Take a slot for one request to opts's server if it is its turn, else
 * queue for one, in the order the waiters came, and return false: then
 * the caller waits with clf_request_slot_wait() and asks again.  True also
 * when no slot is needed (no cap, no shared state).
 */
bool
clf_request_slot_try(const ClfOptions *opts)
{
	ClfServerEntry *e;
	bool		got;

	Assert(claims[SYNC_CLAIM].held_entry < 0);
	Assert(claims[SYNC_CLAIM].counted_entry < 0);
	got = claim_try(&claims[SYNC_CLAIM], opts, &e);
	sleep_entry = got ? NULL : e;
	if (got && slept)
	{
		ConditionVariableCancelSleep();
		slept = false;
	}
	return got;
}

/*
 * Wait, cancellably and as wait event ContactListFdwSlot, until a slot of
 * the server clf_request_slot_try() queued for may have come free.
 */
void
clf_request_slot_wait(void)
{
	ClfServerEntry *e = sleep_entry;

	slept = true;
	if (e != NULL)
	{
		/* the timeout guards against a wakeup lost to a cancelled waiter */
		(void) ConditionVariableTimedSleep(&e->cv, 1000, clf_wait_event_slot());
	}
	else
	{
		/*
		 * Every entry has requests in flight or waiting: wait for one to free
		 * up, until no_entry_may_go lets the request run without one.
		 */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 NO_ENTRY_WAIT_MS, clf_wait_event_slot());
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Caller holds the lock exclusively; returns the cv to wake, or NULL. */
static ConditionVariable *
give_back_slot(ClfShared *s, SlotClaim *c)
{
	ClfServerEntry *e;

	if (c->held_entry < 0)
		return NULL;
	e = &s->servers[c->held_entry];
	c->held_entry = -1;
	note_hold(s, c, 0);
	/* an entry with a request in flight is never reused, but be sure */
	if (e->dbid != c->held_dbid || e->serverid != c->held_serverid || e->in_flight <= 0)
		return NULL;
	e->in_flight--;
	(void) grant_slots(e);
	return &e->cv;
}

/*
 * The request c counted (count_request) is over: it leaves in_flight, and
 * no slot with it (cap_of), so no waiter is woken.  Caller holds the lock
 * exclusively.
 */
static void
give_back_count(ClfShared *s, SlotClaim *c)
{
	ClfServerEntry *e;

	if (c->counted_entry < 0)
		return;
	e = &s->servers[c->counted_entry];
	c->counted_entry = -1;
	/* an entry with a request in flight is never reused, but be sure */
	if (e->dbid != c->counted_dbid || e->serverid != c->counted_serverid ||
		e->in_flight <= 0 || e->uncapped <= 0)
		return;
	e->in_flight--;
	e->uncapped--;
}

/*
 * An error or exit while waiting with a ticket: give it up, or the slot it
 * was granted meanwhile.  Caller holds the lock exclusively; returns the cv
 * to wake, or NULL.
 */
static ConditionVariable *
give_up_ticket(ClfShared *s, SlotClaim *c)
{
	ClfServerEntry *e;
	uint64		ticket = c->waiting_ticket;

	if (c->waiting_entry < 0)
		return NULL;
	e = &s->servers[c->waiting_entry];
	c->waiting_entry = -1;
	note_hold(s, c, 0);
	/* an entry with tickets out is never reused */
	if (ticket >= e->ticket_next)
		return NULL;
	if (ticket < e->ticket_granted)
	{
		if (e->in_flight > 0)
			e->in_flight--;
	}
	else
		*abandoned_word(e, ticket) |= UINT64CONST(1) << (ticket % 64);
	(void) grant_slots(e);
	return &e->cv;
}

static void
claim_done(SlotClaim *c, const ClfOptions *opts, bool gettoken, size_t bytes,
		   double ms)
{
	ClfShared  *s = clf_shared();
	ClfServerEntry *e;
	ConditionVariable *wake;

	if (c)
		forget_no_entry(c);
	if (s == NULL)
		return;

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	/* without a claim no slot was taken; the request counts all the same */
	wake = c ? give_back_slot(s, c) : NULL;
	if (c && wake == NULL)
		give_back_count(s, c);
	e = server_entry(s, opts->serverid, opts->server_name, false);
	if (e)
	{
		e->requests++;
		e->token_fetches += gettoken ? 1 : 0;
		e->bytes += bytes;
		e->network_ms += ms;
	}
	else
	{
		/* counted once the server has an entry, if ever */
		PendingCounts *p = pending_of(opts->serverid, true);

		p->age = ++pending_clock;
		p->requests++;
		p->token_fetches += gettoken ? 1 : 0;
		p->bytes += bytes;
		p->network_ms += ms;
		s->servers_untracked++;
	}
	LWLockRelease(&s->lock);
	if (wake)
		ConditionVariableBroadcast(wake);
}

/* A request to opts's server ended, however: give its slot back and count it. */
void
clf_request_done(const ClfOptions *opts, bool gettoken, size_t bytes, double ms)
{
	claim_done(&claims[SYNC_CLAIM], opts, gettoken, bytes, ms);
}

/*
 * A request to opts's server that ended with no code of its own left to
 * run, its slot given back already by the release at exit (its backend
 * was terminated while it ran): count it, give back nothing.
 */
void
clf_request_counted(const ClfOptions *opts, bool gettoken, size_t bytes,
					double ms)
{
	claim_done(NULL, opts, gettoken, bytes, ms);
}

/* c's slot, or its ticket, goes back. */
static void
claim_give_back(SlotClaim *c)
{
	ClfShared  *s;
	ConditionVariable *wake;
	ConditionVariable *wake_waiters;

	forget_no_entry(c);
	if (c->held_entry < 0 && c->waiting_entry < 0 && c->counted_entry < 0)
		return;
	s = clf_shared();
	if (s == NULL)
	{
		c->held_entry = -1;
		c->waiting_entry = -1;
		c->counted_entry = -1;
		return;
	}
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	wake = give_back_slot(s, c);
	wake_waiters = give_up_ticket(s, c);
	give_back_count(s, c);		/* wakes nobody: it held no slot */
	LWLockRelease(&s->lock);
	if (wake)
		ConditionVariableBroadcast(wake);
	if (wake_waiters && wake_waiters != wake)
		ConditionVariableBroadcast(wake_waiters);
}

/*
 * On error and exit: the synchronous path's slot or ticket if taken since
 * subtransaction from began, and those of asynchronous scans begun since,
 * go back (all of them for InvalidSubTransactionId: a top-level abort,
 * exit).  Those of scans begun before (an open cursor's, in the outer
 * transaction, even when a FETCH in the subtransaction took them) are
 * still in use: their requests go on after the subtransaction's
 * rollback, and the owner gives them back (clf_request_done_claim,
 * clf_request_slot_unclaim, also when its memory goes).  But not those of
 * a scan whose portal failed (a FETCH that the error escaped from): it
 * never polls its request again nor runs its end, and its memory goes
 * only when the cursor is closed or the transaction ends.  The claims stay
 * their owners' until unclaimed: an owner that outlives a subtransaction's
 * abort still has its claim, holding nothing, so that claim's number is
 * not handed out again and the owner's later unclaim gives back nothing of
 * another's.
 */
static void
request_slot_release(SubTransactionId from)
{
	sleep_entry = NULL;
	slept = false;				/* the abort cancelled the sleep */
	/* a synchronous request never outlives an abort, whatever its owner */
	forget_no_entry(&claims[SYNC_CLAIM]);
	for (int i = 0; i < ALL_CLAIMS; i++)
	{
		if (claims[i].in_use && clf_shmem_claim_goes(&claims[i].owner, from))
			claim_give_back(&claims[i]);
	}
}

/*
 * A claim for an asynchronous caller's requests to opts's server, holding
 * nothing yet, or CLF_NO_SLOT_CLAIM when this backend has CLF_SLOT_CLAIMS
 * out already: then it cannot take a slot (see clf_request_slot_try_claim)
 * and asks again later, once another claim is given back.  A server
 * without a cap gets a claim of its own pool, which only counts its request
 * in flight; with none of those left, its requests go uncounted.  subid is
 * the subtransaction the caller's scan began in: only its abort (or an
 * enclosing one's) gives back what the claim holds, or the abort after an
 * error escaped the portal running the scan now.
 */
ClfSlotClaim
clf_request_slot_claim(const void *poller, const ClfOptions *opts,
					   SubTransactionId subid)
{
	bool		capped = opts->max_concurrent_requests > 0;
	int			first = capped ? SYNC_CLAIM + 1 : CLF_SLOT_CLAIMS + 1;
	int			end = capped ? CLF_SLOT_CLAIMS + 1 : ALL_CLAIMS;

	for (int i = first; i < end; i++)
	{
		SlotClaim  *c = &claims[i];

		if (c->in_use)
			continue;
		c->in_use = true;
		c->held_entry = -1;
		c->waiting_entry = -1;
		c->counted_entry = -1;
		forget_no_entry(c);
		c->poller = poller;
		clf_shmem_claim_owner(&c->owner, subid);
		return i;
	}
	return CLF_NO_SLOT_CLAIM;
}

static SlotClaim *
claim_of(ClfSlotClaim c)
{
	if (c <= SYNC_CLAIM || c >= ALL_CLAIMS || !claims[c].in_use)
		return NULL;
	return &claims[c];
}

/* The owner is done with c: whatever it still holds or waits for goes back. */
void
clf_request_slot_unclaim(ClfSlotClaim c)
{
	SlotClaim  *claim = claim_of(c);

	if (claim == NULL)
		return;
	claim_give_back(claim);
	claim->in_use = false;
}

/*
 * clf_request_slot_try for claim c, never waiting: true if c now holds a
 * slot of opts's server (or none is needed), false if c holds a ticket,
 * or could not get one yet: ask again later, each call seeing whether the
 * ticket was granted.  A slot given back (clf_request_done_claim and
 * clf_request_done) wakes the server's waiters.  CLF_NO_SLOT_CLAIM gets
 * true only when no slot is needed: without a claim no slot is taken, so
 * the cap holds.
 */
bool
clf_request_slot_try_claim(ClfSlotClaim c, const ClfOptions *opts)
{
	SlotClaim  *claim = claim_of(c);
	ClfServerEntry *e;

	if (claim == NULL)
		return clf_shared() == NULL || opts->max_concurrent_requests <= 0;
	return claim_try(claim, opts, &e);
}

/* clf_request_done for claim c: c's slot goes back, c stays its owner's. */
void
clf_request_done_claim(ClfSlotClaim c, const ClfOptions *opts, bool gettoken,
					   size_t bytes, double ms)
{
	claim_done(claim_of(c), opts, gettoken, bytes, ms);
}

/*
 * A request failed in a way worth retrying.  The cause is the transport
 * error if there was one, else the HTTP status if not 200, else WeCom's
 * errcode.
 */
void
clf_stats_retry(const ClfOptions *opts, int curl_result, long http_status,
				int64 errcode)
{
	ClfShared  *s = clf_shared();
	int			kind;
	int			code;

	if (s == NULL)
		return;
	if (curl_result != 0)
	{
		kind = CLF_RETRY_TRANSPORT;
		code = curl_result;
	}
	else if (http_status != 200)
	{
		kind = CLF_RETRY_HTTP;
		code = (int) http_status;
	}
	else
	{
		kind = CLF_RETRY_ERRCODE;
		code = (int) errcode;
	}

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	{
		ClfServerEntry *e = server_entry(s, opts->serverid, opts->server_name, false);

		if (e)
		{
			e->retries[kind]++;
			add_retry_cause(e->causes, &e->other_causes, kind, code, 1);
		}
		else
		{
			/* counted once the server has an entry, if ever */
			PendingCounts *p = pending_of(opts->serverid, true);

			p->age = ++pending_clock;
			p->retries[kind]++;
			add_retry_cause(p->causes, &p->other_causes, kind, code, 1);
		}
	}
	LWLockRelease(&s->lock);
}

void
clf_stats_page(const ClfOptions *opts, int64 rows)
{
	ClfShared  *s = clf_shared();
	ClfServerEntry *e;

	if (s == NULL)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	e = server_entry(s, opts->serverid, opts->server_name, true);
	if (e)
	{
		e->pages++;
		e->rows += rows;
	}
	LWLockRelease(&s->lock);
}

/* One more scan ended with outcome, in a server's three counters. */
static void
count_outcome(int64 *complete, int64 *stopped_early, int64 *failed,
			  ClfScanOutcome outcome)
{
	if (outcome == CLF_SCAN_COMPLETE)
		(*complete)++;
	else if (outcome == CLF_SCAN_STOPPED_EARLY)
		(*stopped_early)++;
	else if (outcome == CLF_SCAN_ERROR)
		(*failed)++;
}

/*
 * A scan of serverid ended with outcome.  A scan makes no room (it ends
 * after its pages did, or with none): a server without an entry has it
 * kept with its requests, so that one that gets a page is counted from its
 * first scan as from its first request.
 */
void
clf_stats_scan_finished(Oid serverid, ClfScanOutcome outcome)
{
	ClfShared  *s = clf_shared();
	ClfServerEntry *e = NULL;

	if (s == NULL)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (int i = 0; i < CLF_SHARED_SERVERS && e == NULL; i++)
	{
		if (s->servers[i].dbid == MyDatabaseId && s->servers[i].serverid == serverid)
			e = &s->servers[i];
	}
	if (e)
	{
		add_pending(s, e);
		count_outcome(&e->scans_complete, &e->scans_stopped_early, &e->scans_failed,
					  outcome);
	}
	else
	{
		PendingCounts *p = pending_of(serverid, true);

		p->age = ++pending_clock;
		count_outcome(&p->scans_complete, &p->scans_stopped_early, &p->scans_failed,
					  outcome);
	}
	LWLockRelease(&s->lock);
}

static char *
retry_causes_json(const ClfServerEntry *e)
{
	static const char *const kinds[] = {"errcode", "http", "curl"};
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < CLF_RETRY_CAUSES; i++)
	{
		if (e->causes[i].kind < 0)
			break;
		appendStringInfo(&buf, "%s\"%s %d\": " INT64_FORMAT, buf.len > 1 ? ", " : "",
						 kinds[e->causes[i].kind], e->causes[i].code, e->causes[i].count);
	}
	if (e->other_causes > 0)
		appendStringInfo(&buf, "%s\"other\": " INT64_FORMAT, buf.len > 1 ? ", " : "",
						 e->other_causes);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Is serverid's row of pg_foreign_server (rel) gone?  Not by this
 * transaction's snapshot, nor the catalog cache's, which see nothing of
 * another session's transaction: a server made in one not yet committed
 * has counted its scans already, and must keep them when another session
 * reads the view.  A dirty snapshot sees inserts and deletes in progress,
 * so a server is gone only once its drop has committed, or its creation
 * rolled back; this transaction's own drop (stats_xact_callback at
 * PRE_COMMIT) is gone too.
 */
static bool
server_gone(Relation rel, Oid serverid)
{
	SnapshotData dirty;
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	InitDirtySnapshot(dirty);
	ScanKeyInit(&key, Anum_pg_foreign_server_oid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(serverid));
	scan = systable_beginscan(rel, ForeignServerOidIndexId, true, &dirty, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	return !found;
}

/*
 * Free the entries of servers of this database that no longer exist, and of
 * databases that no longer exist, so that their rows go and a server or
 * database made later with the same OID starts from zero.  Catalog lookups
 * happen outside the lock; an entry is freed only if it is still the one
 * looked up and nothing waits on it.
 */
static void
forget_dropped(ClfShared *s)
{
	Oid			dbids[CLF_SHARED_SERVERS];
	Oid			serverids[CLF_SHARED_SERVERS];
	bool		gone[CLF_SHARED_SERVERS];
	int			n = 0;
	Relation	servers = NULL;

	LWLockAcquire(&s->lock, LW_SHARED);
	for (int i = 0; i < CLF_SHARED_SERVERS; i++)
	{
		dbids[i] = s->servers[i].dbid;
		serverids[i] = s->servers[i].serverid;
	}
	LWLockRelease(&s->lock);

	for (int i = 0; i < CLF_SHARED_SERVERS; i++)
	{
		gone[i] = false;
		if (!OidIsValid(serverids[i]))
			continue;
		if (dbids[i] == MyDatabaseId)
		{
			if (servers == NULL)
				servers = table_open(ForeignServerRelationId, AccessShareLock);
			gone[i] = server_gone(servers, serverids[i]);
		}
		else
			gone[i] = !SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(dbids[i]));
		n += gone[i];
	}
	if (servers != NULL)
		table_close(servers, AccessShareLock);
	if (n == 0)
		return;

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (int i = 0; i < CLF_SHARED_SERVERS; i++)
	{
		ClfServerEntry *e = &s->servers[i];

		if (!gone[i] || e->dbid != dbids[i] || e->serverid != serverids[i] ||
			!entry_idle(e))
			continue;
		e->dbid = InvalidOid;
		e->serverid = InvalidOid;
		e->server_name[0] = '\0';
		clear_counters(e);
	}
	LWLockRelease(&s->lock);
}

/*
 * DROP SERVER: free the entry when the transaction commits (before, the
 * catalog lookup of forget_dropped() sees the drop; a rolled back
 * subtransaction's drop is not seen, so its server keeps its counters).
 */
static void
stats_xact_callback(XactEvent event, void *arg)
{
	if (!servers_dropped)
		return;
	if (event == XACT_EVENT_PRE_COMMIT)
	{
		ClfShared  *s = clf_shared();

		if (s)
			forget_dropped(s);
	}
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PRE_PREPARE || event == XACT_EVENT_PARALLEL_ABORT)
		servers_dropped = false;
}

static void
stats_object_access(ObjectAccessType access, Oid classId, Oid objectId,
					int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_DROP && classId == ForeignServerRelationId)
	{
		if (!xact_callback_registered)
		{
			RegisterXactCallback(stats_xact_callback, NULL);
			xact_callback_registered = true;
		}
		servers_dropped = true;

		/* a server made later with its OID starts from zero */
		{
			PendingCounts *p = pending_of(objectId, false);

			if (p)
				p->serverid = InvalidOid;
		}
	}
}

void
clf_stats_init(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = stats_object_access;
}

#define STATS_COLS 19

PG_FUNCTION_INFO_V1(contact_list_fdw_get_stats);

/*
 * The counters of the servers of this database, and, for members of
 * pg_read_all_stats, of every database: as PostgreSQL's own statistics
 * views, one database's object names stay in that database.
 */
Datum
contact_list_fdw_get_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ClfShared  *s;
	ClfServerEntry *copy;
	int			n = 0;
	bool		read_all;

	clf_shared_require();
	s = clf_shared();
	InitMaterializedSRF(fcinfo, 0);
	read_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	forget_dropped(s);
	copy = palloc(sizeof(ClfServerEntry) * CLF_SHARED_SERVERS);
	LWLockAcquire(&s->lock, LW_SHARED);
	for (int i = 0; i < CLF_SHARED_SERVERS; i++)
	{
		if (OidIsValid(s->servers[i].serverid) &&
			(read_all || s->servers[i].dbid == MyDatabaseId))
			memcpy(&copy[n++], &s->servers[i], sizeof(ClfServerEntry));
	}
	LWLockRelease(&s->lock);

	for (int i = 0; i < n; i++)
	{
		ClfServerEntry *e = &copy[i];
		Datum		values[STATS_COLS];
		bool		nulls[STATS_COLS] = {0};
		char	   *datname = get_database_name(e->dbid);
		HeapTuple	tuple = NULL;

		if (datname == NULL)
			continue;			/* dropped since forget_dropped() */
		if (e->dbid == MyDatabaseId)
		{
			/* its name now, renamed or not; none if dropped since */
			tuple = SearchSysCache1(FOREIGNSERVEROID, ObjectIdGetDatum(e->serverid));
			if (!HeapTupleIsValid(tuple))
				continue;
		}
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(datname));
		if (tuple)
		{
			values[1] = CStringGetTextDatum(NameStr(((Form_pg_foreign_server) GETSTRUCT(tuple))->srvname));
			ReleaseSysCache(tuple);
		}
		else
			values[1] = CStringGetTextDatum(clf_text_of_database(e->server_name, e->dbid));
		values[2] = ObjectIdGetDatum(e->serverid);
		values[3] = Int64GetDatum(e->scans_complete);
		values[4] = Int64GetDatum(e->scans_stopped_early);
		values[5] = Int64GetDatum(e->scans_failed);
		values[6] = Int64GetDatum(e->pages);
		values[7] = Int64GetDatum(e->rows);
		values[8] = Int64GetDatum(e->requests);
		values[9] = Int32GetDatum(e->in_flight);
		values[10] = Int64GetDatum(e->retries[0] + e->retries[1] + e->retries[2]);
		values[11] = Int64GetDatum(e->retries[CLF_RETRY_ERRCODE]);
		values[12] = Int64GetDatum(e->retries[CLF_RETRY_HTTP]);
		values[13] = Int64GetDatum(e->retries[CLF_RETRY_TRANSPORT]);
		values[14] = DirectFunctionCall1(jsonb_in, CStringGetDatum(retry_causes_json(e)));
		values[15] = Int64GetDatum(e->token_fetches);
		values[16] = Int64GetDatum(e->bytes);
		values[17] = Float8GetDatum(e->network_ms);
		values[18] = TimestampTzGetDatum(e->stats_reset);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(contact_list_fdw_stats_reset);

/*
 * Zero the counters of this database's servers, as pg_stat_reset(): EXECUTE
 * is granted per database (by superusers only), so the grant reaches no
 * other database's counters.
 */
Datum
contact_list_fdw_stats_reset(PG_FUNCTION_ARGS)
{
	ClfShared  *s;

	clf_shared_require();
	s = clf_shared();
	forget_dropped(s);
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (int i = 0; i < CLF_SHARED_SERVERS; i++)
	{
		if (OidIsValid(s->servers[i].serverid) &&
			s->servers[i].dbid == MyDatabaseId)
			clear_counters(&s->servers[i]);
	}
	LWLockRelease(&s->lock);

	/*
	 * This backend's pending counts are of this database's servers, from
	 * before the reset; other sessions' are theirs, and may still be added.
	 */
	for (int i = 0; i < PENDING_SERVERS; i++)
		pending[i].serverid = InvalidOid;
	PG_RETURN_VOID();
}

#ifdef CLF_FAULT_INJECTION
PG_FUNCTION_INFO_V1(contact_list_fdw_test_slot_claims);

/*
 * Test builds only, declared by the test itself: drive this backend's
 * claims on server serverid with max_concurrent_requests cap, as an
 * Append's asynchronous scans would, before any scan uses them.  script is
 * words run in turn: cN takes claim N (of the test's own numbering, kept
 * across calls), tN tries it ("t" got a slot, "f" waits), dN ends its
 * request, uN unclaims it, i shows the entry's "in_flight/queued", full
 * takes every claim left ("full N": how many; "f": a try without a claim
 * when none is left), e fails the call.  Returns what the words showed.
 */
Datum
contact_list_fdw_test_slot_claims(PG_FUNCTION_ARGS)
{
	static ClfSlotClaim mine[CLF_SLOT_CLAIMS];
	ClfOptions	opts = {0};
	char	   *script = text_to_cstring(PG_GETARG_TEXT_PP(2));
	StringInfoData out;

	clf_shared_require();
	opts.serverid = PG_GETARG_OID(0);
	opts.server_name = "claims";
	opts.max_concurrent_requests = PG_GETARG_INT32(1);
	initStringInfo(&out);
	for (char *w = strtok(script, " "); w != NULL; w = strtok(NULL, " "))
	{
		int			n = (w[0] != '\0') ? atoi(w + 1) : 0;

		if (n < 0 || n >= CLF_SLOT_CLAIMS)
			elog(ERROR, "no claim %d", n);
		if (strcmp(w, "full") == 0)
		{
			ClfSlotClaim all[CLF_SLOT_CLAIMS + 1];
			int			k = 0;

			while (k <= CLF_SLOT_CLAIMS &&
				   (all[k] = clf_request_slot_claim(NULL, &opts, GetCurrentSubTransactionId())) != CLF_NO_SLOT_CLAIM)
				k++;
			appendStringInfo(&out, "full %d %s ", k,
							 clf_request_slot_try_claim(CLF_NO_SLOT_CLAIM, &opts) ? "t" : "f");
			while (k > 0)
				clf_request_slot_unclaim(all[--k]);
		}
		else if (w[0] == 'c')
			mine[n] = clf_request_slot_claim(NULL, &opts, GetCurrentSubTransactionId());
		else if (w[0] == 't')
			appendStringInfoString(&out, clf_request_slot_try_claim(mine[n], &opts) ? "t " : "f ");
		else if (w[0] == 'd')
			clf_request_done_claim(mine[n], &opts, false, 0, 0);
		else if (w[0] == 'u')
			clf_request_slot_unclaim(mine[n]);
		else if (w[0] == 'e')
			elog(ERROR, "failed on purpose");
		else if (w[0] == 'i')
		{
			ClfShared  *s = clf_shared();

			LWLockAcquire(&s->lock, LW_SHARED);
			for (int j = 0; j < CLF_SHARED_SERVERS; j++)
			{
				ClfServerEntry *e = &s->servers[j];

				if (e->dbid == MyDatabaseId && e->serverid == opts.serverid)
					appendStringInfo(&out, "%d/" UINT64_FORMAT " ", e->in_flight,
									 e->ticket_next - e->ticket_granted);
			}
			LWLockRelease(&s->lock);
		}
	}
	if (out.len > 0)
		out.data[--out.len] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}
#endif
