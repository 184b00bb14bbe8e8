/*-------------------------------------------------------------------------
 *
 * tokens.c
 *		  Access tokens for wecom.c, the one place it asks for a token and
 *		  tells what came of using or fetching one: the user mapping's fixed
 *		  token, or one fetched with its corp_id and corp_secret, kept in the
 *		  cluster's shared table or in this backend's own cache, and when to
 *		  fetch the next.
 *
 * Tokens are keyed by (api_url, corp_id, SHA-256 of corp_secret): each WeCom
 * app has its own secret, and one user must never be handed a token fetched
 * with another user's secret.  The secret itself is not kept.  A shared
 * entry is found by a SHA-256 of the three, so a backend can only reach a
 * token fetched with the very secret its own user mapping holds.
 *
 * The shared table answers first: one token per key for the whole
 * cluster, used by every backend and background worker, one backend
 * fetching a new one while the others wait for it.  WeCom throttles
 * gettoken, and a pooled application or a pg_cron job starts new backends
 * all the time: without sharing each would fetch its own.  The table hands
 * out the cluster's token, makes this backend wait while another fetches
 * one, or raises the error of a fetch that just failed.
 *
 * This backend's own cache is the fallback: in per-backend mode (no shared
 * state), for a token too long to share, and when every entry of the table
 * is being fetched or holds a valid token of its own.  Its entries go on
 * ALTER USER MAPPING.
 *
 * A token WeCom rejects is dropped only if it is still the one the entry
 * holds (the same text), so twenty backends rejecting the same token
 * cause one fetch.  A backend that claimed the fetch and then failed, was
 * cancelled or died gives the claim back (its release, run by shmem.c's
 * callbacks); a waiter also takes over from a claimant whose process is
 * gone.
 *
 * Under failure sharing must not be worse than each backend alone:
 *	- A fetch that fails (WeCom's answer, or the transport's after its
 *	  retries) is kept with the entry until a backoff ends, and every caller
 *	  without a usable token gets that error at once: an outage costs one
 *	  gettoken per backoff, not one per waiting session in a row.
 *	- A waiter waits no longer than its own fetch could have taken:
 *	  timeout_ms for each attempt (connect_timeout_ms is part of timeout_ms
 *	  in libcurl) and the longest backoff before each retry
 *	  (wait_budget_ms), besides statement_timeout and cancel; counted from
 *	  when the claim began, or from when the waiter began to wait if that
 *	  was later.  Then it does not fail: it takes the claim over and
 *	  fetches, as it would alone.  A bound of the attempts alone would void
 *	  every claim whose gettoken times out through its retries: each
 *	  waiter would make its own attempts, and none would get the shared
 *	  failure.  Counted from the claim, a takeover gives the others a
 *	  fresh bound for the taker's fetch, rather than let each waiter whose
 *	  own time ran out void the claim the one before it just took.
 *	  The claimant may be alive and well but not running its fetch (an idle
 *	  cursor whose asynchronous scan sent gettoken and is never polled): the
 *	  claim is only a promise to the waiters, and one that has outlived a
 *	  waiter's own budget is void for everybody.  The old claimant's later
 *	  steps change nothing it no longer holds (each checks that fetcher is
 *	  still its pid); a token it brings in after all is kept, as valid as the
 *	  taker's.
 *	- A token due for refresh but not expired stays in use by everyone
 *	  while one backend fetches the next; only an expired or rejected token
 *	  makes anyone wait.
 *	- A new key only takes a free entry or one without a usable token and
 *	  without a fetch under way (this backend's own too): a flood of
 *	  fetches that fail (wrong secrets) cannot push out anybody's valid
 *	  token, nor the fetch an idle cursor has out.  Only a fetch that
 *	  succeeded may replace the least recently used valid token.
 *
 * Besides the area and its lock (shmem.c) and the digest (redact.c), this
 * file calls only scan_events.c, to say that the scan waits for another's
 * fetch: all three are on floors below this one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "tokens.h"
#include "redact.h"
#include "scan_events.h"
#include "shared_state.h"

#include "access/xact.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

/* ----------------------------------------------------------------
 *		The cluster's shared table
 * ----------------------------------------------------------------
 */

/*
 * The entries this backend claimed for fetching: one per scan fetching a
 * token, and an Append's asynchronous scans fetch several corps' at once.
 * Each with the subtransaction its scan began in: a subtransaction's abort
 * gives back only the claims of scans begun in it or in its children, not
 * an open cursor's fetch that the outer transaction goes on with, even one
 * a FETCH inside the subtransaction claimed; unless that cursor's portal
 * failed (an error escaped its FETCH), which ends its scan for good
 * (clf_shmem_claim_goes).  A failed portal never runs its scans' ends, so
 * nothing of such a scan asks for its claim later
 * (shared_token_abandoned): what the abort takes off the list here is
 * given back once, and no later claim of this backend on the same entry
 * is given away in its name.
 */
typedef struct TokenClaim
{
	int			index;			/* in the shared token table */
	uint8		key[PG_SHA256_DIGEST_LENGTH];	/* the entry's key when claimed */
	ClfClaimOwner owner;
	const void *poller;			/* who drives the claiming scan, or NULL */
} TokenClaim;

static TokenClaim claims[CLF_SHARED_TOKENS];
static int	nclaims = 0;

static void give_back_claims(SubTransactionId from);

/* A shared failure is given out this long, doubled per failure in a row. */
#define CLF_TOKEN_BACKOFF_MS		2000
#define CLF_TOKEN_BACKOFF_MAX_MS	30000

/* api_url and corp_id with their NULs, so no two pairs run together */
static void
token_key(const ClfOptions *opts, uint8 *key)
{
	const void *parts[] = {opts->api_url, opts->corp_id, opts->secret_digest};
	size_t		lengths[] = {
		strlen(opts->api_url) + 1, strlen(opts->corp_id) + 1, PG_SHA256_DIGEST_LENGTH
	};

	clf_sha256(3, parts, lengths, key);
}

static const char *
or_empty(const char *s)
{
	return s ? s : "";
}

/*
 * What, besides the key, decides how a fetch goes: a failure through one
 * proxy, password or timeout says nothing of a fetch through another, and
 * an ALTER that changes them must not be answered with the old failure.
 * The server and its database too: the message names the server, in the
 * database's encoding, and a scan of another server with the same
 * credentials must not be told of a failure that names one it may never
 * have heard of.
 */
static void
fetch_context(const ClfOptions *opts, uint8 *context)
{
	int			limits[] = {
		opts->timeout_ms, opts->connect_timeout_ms, opts->max_retries, (int) MyDatabaseId
	};
	const char *texts[] = {
		or_empty(opts->proxy), or_empty(opts->proxy_user),
		or_empty(opts->proxy_password), or_empty(opts->ca_file),
		or_empty(opts->server_name)
	};
	const void *parts[] = {texts[0], texts[1], texts[2], texts[3], texts[4], limits};
	size_t		lengths[] = {
		strlen(texts[0]) + 1, strlen(texts[1]) + 1, strlen(texts[2]) + 1,
		strlen(texts[3]) + 1, strlen(texts[4]) + 1, sizeof(limits)
	};

	clf_sha256(6, parts, lengths, context);
}

static ClfSharedToken *
find_entry(ClfShared *s, const uint8 *key)
{
	for (int i = 0; i < CLF_SHARED_TOKENS; i++)
	{
		ClfSharedToken *e = &s->tokens[i];

		if (e->in_use && memcmp(e->key, key, PG_SHA256_DIGEST_LENGTH) == 0)
			return e;
	}
	return NULL;
}

/*
 * The claim still stands for its entry: the entry still holds the key it
 * was claimed for.  Another backend may have taken the fetch over, and the
 * entry then gone to another key, while this backend's claim stayed listed
 * (an idle cursor's).  Caller holds the lock.
 */
static bool
claim_holds(ClfShared *s, const TokenClaim *c)
{
	const ClfSharedToken *e = &s->tokens[c->index];

	return e->in_use && memcmp(e->key, c->key, PG_SHA256_DIGEST_LENGTH) == 0;
}

static bool
process_is_gone(int pid)
{
	return kill(pid, 0) != 0 && errno == ESRCH;
}

static bool
usable(const ClfSharedToken *e, TimestampTz now)
{
	return e->valid && now < e->expires_at;
}

/* A live backend, this one included, is fetching this entry's next token. */
static bool
fetch_under_way(const ClfSharedToken *e)
{
	return e->fetcher != 0 && !process_is_gone(e->fetcher);
}

/* Another live backend is fetching this entry's next token. */
static bool
being_fetched(const ClfSharedToken *e)
{
	return e->fetcher != MyProcPid && fetch_under_way(e);
}

/*
 * e is being fetched for a scan that poller drives (NULL: a plain scan),
 * asking now: by another backend, or by an asynchronous sibling of the
 * same Append, whose gettoken the Append's polls carry on while this scan
 * polls too, so one gettoken serves both.  Not by a scan of another
 * Append (one a LIMIT stopped reading, an idle cursor's): its fetch moves
 * only when that Append is read again.  Never for a plain scan, which
 * would sleep: nothing polls the sibling meanwhile.  Caller holds the
 * lock.
 */
static bool
being_fetched_for(ClfShared *s, const ClfSharedToken *e, const void *poller)
{
	if (being_fetched(e))
		return true;
	if (poller == NULL || e->fetcher != MyProcPid)
		return false;
	for (int i = 0; i < nclaims; i++)
	{
		if (&s->tokens[claims[i].index] == e && claims[i].poller == poller &&
			claim_holds(s, &claims[i]))
			return true;
	}
	return false;
}

/*
 * This backend's claim on the entry of key, taken off the list: its index,
 * or -1.  Caller holds the lock, and its scan's fetch has just ended.
 *
 * Two scans of this backend may claim one key at once (being_fetched
 * ignores this backend, and an asynchronous scan's gettoken stays out
 * between FETCHes), and their claims may end in either order: the claim
 * taken off is the ending scan's own (clf_shmem_claim_is_current).  Another
 * scan's would leave the still running fetch listed under the ended scan's
 * owner, so an abort could no longer give it back when its own portal
 * fails.  None of them the scan's (no owner can be told): the first, as
 * every claim of the key stands for one fetch of this backend.
 */
static int
unclaim(ClfShared *s, const uint8 *key)
{
	int			found = -1;
	int			best = -1;
	int			index;
	bool		holds;

	for (int i = 0; i < nclaims; i++)
	{
		int			rank;

		if (memcmp(claims[i].key, key, PG_SHA256_DIGEST_LENGTH) != 0)
			continue;
		/* the ending scan's; else one that still holds its entry */
		rank = (clf_shmem_claim_is_current(&claims[i].owner) ? 2 : 0) +
			(claim_holds(s, &claims[i]) ? 1 : 0);
		if (rank > best)
		{
			found = i;
			best = rank;
		}
		if (rank == 3)
			break;
	}
	if (found < 0)
		return -1;
	index = claims[found].index;
	holds = claim_holds(s, &claims[found]);
	claims[found] = claims[--nclaims];
	/* a claim on an entry gone to another key gives nothing back */
	return holds ? index : -1;
}

/* Give the claim on e back and wake its waiters.  Caller holds the lock. */
static void
give_up_claim(ClfSharedToken *e)
{
	if (e->fetcher == MyProcPid)
		e->fetcher = 0;
}

/*
 * Make e an empty entry for key.  Caller holds the lock exclusively and
 * has checked that nobody fetches for e.
 */
static ClfSharedToken *
take_entry(ClfSharedToken *e, const uint8 *key)
{
	explicit_bzero(e->token, sizeof(e->token));
	e->in_use = true;
	memcpy(e->key, key, PG_SHA256_DIGEST_LENGTH);
	e->valid = false;
	e->refresh_at = 0;
	e->expires_at = 0;
	e->fetcher = 0;
	e->claimed_at = 0;
	e->failures = 0;
	e->retry_at = 0;
	e->sqlerrcode = 0;
	e->last_used = GetCurrentTimestamp();
	return e;
}

/*
 * An entry for a new key: a free one, else the least recently used of
 * those without a usable token and without a fetch under way, this
 * backend's own too (a failure still in its backoff goes last), else, only
 * if may_evict_valid (the token is already fetched), the least recently
 * used valid one.  NULL if there is none.  Caller holds the lock
 * exclusively.
 */
static ClfSharedToken *
new_entry(ClfShared *s, const uint8 *key, bool may_evict_valid)
{
	TimestampTz now = GetCurrentTimestamp();
	ClfSharedToken *victim = NULL;
	ClfSharedToken *valid_victim = NULL;
	bool		victim_backing_off = false;

	for (int i = 0; i < CLF_SHARED_TOKENS; i++)
	{
		ClfSharedToken *e = &s->tokens[i];
		bool		backing_off;

		if (!e->in_use)
			return take_entry(e, key);

		/*
		 * This backend's own fetch too: an idle cursor's asynchronous scan
		 * keeps its gettoken out while this backend goes on with other
		 * keys, its claim still listed, and the other sessions must go on
		 * waiting for that fetch.
		 */
		if (fetch_under_way(e))
			continue;
		if (usable(e, now))
		{
			if (valid_victim == NULL || e->last_used < valid_victim->last_used)
				valid_victim = e;
			continue;
		}
		backing_off = now < e->retry_at;
		if (victim == NULL ||
			(victim_backing_off && !backing_off) ||
			(victim_backing_off == backing_off && e->last_used < victim->last_used))
		{
			victim = e;
			victim_backing_off = backing_off;
		}
	}
	if (victim)
		return take_entry(victim, key);
	if (may_evict_valid && valid_victim)
		return take_entry(valid_victim, key);
	return NULL;
}

/* What a caller raises for a failure on record, copied out of the lock. */
typedef struct ClfTokenFailure
{
	int			sqlerrcode;
	int			pid;
	int64		retry_in_ms;
	char		message[CLF_SHARED_ERROR_TEXT];
	char		detail[CLF_SHARED_ERROR_TEXT];
	char		hint[CLF_SHARED_ERROR_TEXT];
} ClfTokenFailure;

static void
raise_failure(const ClfTokenFailure *f)
{
	char	   *note;

	note = psprintf(f->pid == MyProcPid
					? "This is the error of this session's recent attempt to fetch a token with the same credentials, shared with every session: no session asks gettoken again for %.1f s."
					: "This is another session's recent failure to fetch a token with the same credentials, shared: no session asks gettoken again for %.1f s.",
					f->retry_in_ms / 1000.0);
	ereport(ERROR,
			(errcode(f->sqlerrcode),
			 errmsg_internal("%s", f->message),
			 errdetail_internal("%s%s%s", f->detail, f->detail[0] ? " " : "", note),
			 f->hint[0] ? errhint("%s", f->hint) : 0));
}

/*
 * The longest a waiter waits for another backend's fetch (see the header):
 * what its own fetch could take, every attempt timing out and each retry
 * after the longest wait wecom.c may choose, the ordinary backoff's or a
 * rate limit's (jitter only shortens them), each doubled per retry up to
 * its cap.
 */
static int64
wait_budget_ms(const ClfOptions *opts)
{
	int64		budget = (int64) opts->timeout_ms * (opts->max_retries + 1);

	for (int i = 0; i < opts->max_retries; i++)
		budget += Max(clf_longest_backoff_ms(i, false),
					  clf_longest_backoff_ms(i, true));
	return budget;
}

/*
 * The cluster's token for opts, as a palloc'd copy; or NULL, and then this
 * backend has claimed the fetch (or cannot share: per-backend mode, no
 * entry to spare) and must fetch one and hand it to shared_token_keep, or
 * its error to shared_token_failed (or give the claim up with
 * shared_token_abandoned), as clf_token_fetched, clf_token_fetch_failed
 * and clf_token_fetch_abandoned do for wecom.c.  Waits, cancellably, while
 * another backend fetches it, and once wait_budget_ms has gone by since
 * that claim began, or since waiting_since (0: since this call began to
 * wait) if later, takes that claim over; raises the error of a fetch that
 * failed in its backoff.  With wait false, returns NULL and sets *pending
 * instead of waiting: ask again later, with the same waiting_since.  A
 * claim is given back by the abort of subtransaction subid (or of one it
 * began in): the caller's scan's; or by the abort after an error escaped
 * the portal running the scan now.  poller is who drives the caller's
 * scan, NULL for a plain scan: a fetch another scan of it has out is
 * waited for (being_fetched_for).
 */
static char *
shared_token_get(const ClfOptions *opts, bool wait, TimestampTz waiting_since,
				 bool *pending, SubTransactionId subid, const void *poller)
{
	ClfShared  *s = clf_shared();
	uint8		key[PG_SHA256_DIGEST_LENGTH];
	uint8		context[PG_SHA256_DIGEST_LENGTH];
	bool		waited = false;
	TimestampTz started = waiting_since;
	int64		budget = wait_budget_ms(opts);
	TimestampTz deadline = 0;
	bool		took_over = false;
	char	   *result = NULL;
	ClfTokenFailure failure;
	bool		failed = false;

	if (pending)
		*pending = false;
	if (s == NULL)
		return NULL;
	/* before a fetch is claimed: given back on error and exit */
	clf_shmem_on_release(give_back_claims, CLF_RELEASE_AT_XACT_END);
	token_key(opts, key);
	fetch_context(opts, context);
	/* ahead of the lock: nothing below may allocate */
	result = palloc(CLF_SHARED_TOKEN_MAX + 1);

	for (;;)
	{
		ClfSharedToken *e;
		TimestampTz now;
		long		sleep_ms;
		bool		busy;
		TimestampTz claimed_at;

		LWLockAcquire(&s->lock, LW_EXCLUSIVE);
		now = GetCurrentTimestamp();
		e = find_entry(s, key);

		/*
		 * A usable token: until it is due, while another backend fetches
		 * the next, and while a failed refresh backs off.
		 */
		if (e && usable(e, now) &&
			(now < e->refresh_at || now < e->retry_at || being_fetched_for(s, e, poller)))
		{
			strlcpy(result, e->token, CLF_SHARED_TOKEN_MAX + 1);
			e->last_used = now;
			LWLockRelease(&s->lock);
			break;
		}

		/* none, and a fetch the same way failed a moment ago */
		if (e && now < e->retry_at && e->sqlerrcode != 0 &&
			memcmp(e->context, context, sizeof(context)) == 0)
		{
			failure.sqlerrcode = e->sqlerrcode;
			failure.pid = e->failed_pid;
			failure.retry_in_ms = (e->retry_at - now) / 1000;
			memcpy(failure.message, e->message, sizeof(failure.message));
			memcpy(failure.detail, e->detail, sizeof(failure.detail));
			memcpy(failure.hint, e->hint, sizeof(failure.hint));
			e->last_used = now;
			LWLockRelease(&s->lock);
			failed = true;
			break;
		}

		if (e == NULL)
			e = new_entry(s, key, false);
		if (e == NULL)
		{
			/*
			 * Every entry holds a valid token or is being fetched: fetch
			 * alone, and shared_token_keep may then make room.
			 */
			LWLockRelease(&s->lock);
			pfree(result);
			result = NULL;
			break;
		}
		/*
		 * Another's claim that outlived this scan's budget, counted from the
		 * claim (a takeover's too) or from this scan's wait if later: void
		 */
		busy = being_fetched_for(s, e, poller);
		claimed_at = e->claimed_at;
		deadline = started == 0 ? 0 :
			TimestampTzPlusMilliseconds(Max(claimed_at, started), budget);
		took_over = busy && deadline != 0 && now >= deadline;
		if ((!busy || took_over) && nclaims < lengthof(claims))
		{
			e->fetcher = MyProcPid;
			e->claimed_at = now;
			claims[nclaims].index = e - s->tokens;
			memcpy(claims[nclaims].key, key, PG_SHA256_DIGEST_LENGTH);
			claims[nclaims].poller = poller;
			clf_shmem_claim_owner(&claims[nclaims++].owner, subid);
			LWLockRelease(&s->lock);
			pfree(result);
			result = NULL;
			break;
		}
		if (!busy || took_over)
		{
			/* every entry is this backend's to fetch already: fetch alone */
			LWLockRelease(&s->lock);
			pfree(result);
			result = NULL;
			break;
		}
		LWLockRelease(&s->lock);

		if (!wait)
		{
			pfree(result);
			result = NULL;
			*pending = true;
			break;
		}

		if (!waited)
		{
			clf_event_waiting(CLF_WAIT_TOKEN, 0, NULL);
			if (started == 0)
			{
				started = now;
				deadline = TimestampTzPlusMilliseconds(Max(claimed_at, started), budget);
			}
			waited = true;
		}
		/* the timeout rechecks a fetcher that died without a word */
		sleep_ms = Min(1000, Max(1, (deadline - now) / 1000));
		(void) ConditionVariableTimedSleep(&e->cv, sleep_ms, clf_wait_event_token());
	}
	if (waited)
	{
		ConditionVariableCancelSleep();
		clf_event_wait_over();
	}
	if (took_over)
		ereport(DEBUG1,
				(errmsg_internal("contact_list_fdw: the access token fetch of another session (or of another scan of this query) for server \"%s\" outlasted this server's own (%lld ms: timeout_ms %d ms times %d attempts and the backoffs between them): fetching here",
								 opts->server_name, (long long) budget, opts->timeout_ms, opts->max_retries + 1)));
	if (failed)
	{
		pfree(result);
		raise_failure(&failure);
	}
	return result;
}

/*
 * Keep a new token for everyone, valid expires_in seconds and due for
 * refresh after refresh_in, and wake the waiters.  False if it cannot be
 * shared (per-backend mode, too long, no entry): clf_token_fetched keeps it
 * in this backend's cache.
 */
static bool
shared_token_keep(const ClfOptions *opts, const char *token,
				  int expires_in, int refresh_in)
{
	ClfShared  *s = clf_shared();
	uint8		key[PG_SHA256_DIGEST_LENGTH];
	ClfSharedToken *e;
	bool		fits = strlen(token) <= CLF_SHARED_TOKEN_MAX;
	bool		kept = false;

	if (s == NULL)
		return false;
	token_key(opts, key);

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	(void) unclaim(s, key);
	e = find_entry(s, key);
	/* fetched: now it may take a valid token's place */
	if (e == NULL && fits)
		e = new_entry(s, key, true);
	if (e)
	{
		if (fits)
		{
			TimestampTz now = GetCurrentTimestamp();

			explicit_bzero(e->token, sizeof(e->token));
			memcpy(e->token, token, strlen(token) + 1);
			e->valid = true;
			e->expires_at = TimestampTzPlusMilliseconds(now, (int64) expires_in * 1000);
			e->refresh_at = TimestampTzPlusMilliseconds(now, (int64) refresh_in * 1000);
			e->last_used = now;
			e->failures = 0;
			e->retry_at = 0;
			e->sqlerrcode = 0;
			kept = true;
		}
		else
			s->tokens_unshared++;
		give_up_claim(e);
	}
	else
		s->tokens_unshared++;
	LWLockRelease(&s->lock);
	if (e)
		ConditionVariableBroadcast(&e->cv);
	return kept;
}

/*
 * The fetch this backend claimed failed with edata (WeCom's answer, or the
 * transport's after its retries; never a cancel): keep it for the callers
 * of the next few seconds, give the claim back and wake the waiters, who
 * raise it too.  The texts were redacted when the error was made.
 */
static void
shared_token_failed(const ClfOptions *opts, const ErrorData *edata)
{
	ClfShared  *s = clf_shared();
	uint8		key[PG_SHA256_DIGEST_LENGTH];
	uint8		context[PG_SHA256_DIGEST_LENGTH];
	ClfSharedToken *e = NULL;
	int			index;

	if (s == NULL || nclaims == 0)
		return;
	token_key(opts, key);
	fetch_context(opts, context);

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	index = unclaim(s, key);
	if (index >= 0)
		e = &s->tokens[index];
	if (e && e->fetcher == MyProcPid)
	{
		int64		backoff = CLF_TOKEN_BACKOFF_MS;

		for (int i = 0; i < e->failures && backoff < CLF_TOKEN_BACKOFF_MAX_MS; i++)
			backoff *= 2;
		backoff = Min(backoff, CLF_TOKEN_BACKOFF_MAX_MS);
		e->failures = Min(e->failures + 1, 30);
		e->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff);
		e->failed_pid = MyProcPid;
		memcpy(e->context, context, sizeof(context));
		e->sqlerrcode = edata->sqlerrcode;
		clf_copy_text(e->message, sizeof(e->message), edata->message);
		clf_copy_text(e->detail, sizeof(e->detail), edata->detail);
		clf_copy_text(e->hint, sizeof(e->hint), edata->hint);
		e->fetcher = 0;
	}
	LWLockRelease(&s->lock);
	if (e)
		ConditionVariableBroadcast(&e->cv);
}

/*
 * The fetch this backend claimed for opts will not be made (its scan
 * ended first): give the claim back, so a waiter fetches.
 */
static void
shared_token_abandoned(const ClfOptions *opts)
{
	ClfShared  *s = clf_shared();
	uint8		key[PG_SHA256_DIGEST_LENGTH];
	ClfSharedToken *e = NULL;
	int			index;

	if (s == NULL || nclaims == 0)
		return;
	token_key(opts, key);
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	index = unclaim(s, key);
	if (index >= 0)
	{
		e = &s->tokens[index];
		give_up_claim(e);
	}
	LWLockRelease(&s->lock);
	if (e)
		ConditionVariableBroadcast(&e->cv);
}

/*
 * WeCom rejected token: drop it, unless another backend has already put a
 * newer one in its place.  Told by the token itself, not by which one this
 * backend took last: the scans of an Append take tokens of several corps
 * in turn.
 */
static void
shared_token_forget(const ClfOptions *opts, const char *token)
{
	ClfShared  *s = clf_shared();
	uint8		key[PG_SHA256_DIGEST_LENGTH];
	ClfSharedToken *e;

	if (s == NULL)
		return;
	token_key(opts, key);

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	e = find_entry(s, key);
	if (e && e->valid && strcmp(e->token, token) == 0)
	{
		e->valid = false;
		explicit_bzero(e->token, sizeof(e->token));
	}
	LWLockRelease(&s->lock);
}

/*
 * Give back this backend's fetch claims not completed yet whose scans began
 * in subtransaction from or later, or whose portal failed (all of them for
 * InvalidSubTransactionId: a transaction's end, exit).  An entry that a
 * claim still kept (another scan of this backend fetching the same key,
 * from the outer transaction) stays this backend's to fetch.
 */
static void
give_back_claims(SubTransactionId from)
{
	ClfShared  *s = clf_shared();
	TokenClaim	gone[CLF_SHARED_TOKENS];
	int			ngone = 0;
	int			kept = 0;

	if (nclaims == 0 || s == NULL)
	{
		nclaims = 0;
		return;
	}
	for (int i = 0; i < nclaims; i++)
	{
		if (clf_shmem_claim_goes(&claims[i].owner, from))
			gone[ngone++] = claims[i];
		else
			claims[kept++] = claims[i];
	}
	nclaims = kept;
	if (ngone == 0)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ngone; i++)
	{
		bool		still_claimed = false;

		if (!claim_holds(s, &gone[i]))
			continue;
		for (int j = 0; j < nclaims; j++)
			still_claimed |= claims[j].index == gone[i].index && claim_holds(s, &claims[j]);
		if (!still_claimed)
			give_up_claim(&s->tokens[gone[i].index]);
	}
	LWLockRelease(&s->lock);
	for (int i = 0; i < ngone; i++)
		ConditionVariableBroadcast(&s->tokens[gone[i].index].cv);
}

/* ----------------------------------------------------------------
 *		This backend's own cache, and the token API
 * ----------------------------------------------------------------
 */

typedef struct ClfTokenEntry
{
	char	   *api_url;
	char	   *corp_id;
	uint8		secret_digest[PG_SHA256_DIGEST_LENGTH];
	char	   *token;
	TimestampTz refresh_at;		/* fetch a new one from then on */
} ClfTokenEntry;

static List *tokens = NIL;		/* of ClfTokenEntry *, in TopMemoryContext */

/*
 * Refresh this long before WeCom says a token expires: five minutes of the
 * usual two hours, half the life of a shorter one.  Until it expires the
 * old token stays in use while one backend fetches the next.
 */
static int
refresh_margin(int expires_in)
{
	return Min(300, expires_in / 2);
}

static void
forget_all_tokens(void)
{
	ListCell   *lc;

	foreach(lc, tokens)
	{
		ClfTokenEntry *entry = lfirst(lc);

		/* a token is a credential: do not leave it in freed memory */
		clf_wipe(entry->token);
		pfree(entry->api_url);
		pfree(entry->corp_id);
		pfree(entry);
	}
	list_free(tokens);
	tokens = NIL;
}

/*
 * Any change to a user mapping drops every cached token.  Mapping entries
 * and tokens cannot be matched cheaply, and a spare gettoken after an ALTER
 * costs little.
 */
static void
user_mapping_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	forget_all_tokens();
}

void
clf_tokens_init(void)
{
	CacheRegisterSyscacheCallback(USERMAPPINGOID, user_mapping_changed, (Datum) 0);
}

static ClfTokenEntry *
find_token(const ClfOptions *opts)
{
	ListCell   *lc;

	foreach(lc, tokens)
	{
		ClfTokenEntry *entry = lfirst(lc);

		if (strcmp(entry->api_url, opts->api_url) == 0 &&
			strcmp(entry->corp_id, opts->corp_id) == 0 &&
			memcmp(entry->secret_digest, opts->secret_digest, PG_SHA256_DIGEST_LENGTH) == 0)
			return entry;
	}
	return NULL;
}

/*
 * The token to use, as a palloc'd copy the caller wipes: the user
 * mapping's access_token, or a cached one.  NULL means the caller is to
 * fetch one, for everybody when there is shared state (which may follow a
 * wait for another backend's fetch).  Alone, a token due for refresh is
 * fetched again by the query that finds it so: nobody else waits for it,
 * and if that fetch fails the query fails, as a new session's would.
 */
char *
clf_token_get(const ClfOptions *opts)
{
	/* a fetch it claims is made, and given back, within this statement */
	return clf_token_try_get(opts, 0, NULL, GetCurrentSubTransactionId(), NULL);
}

/*
 * As clf_token_get, but where another backend is fetching the token,
 * returns NULL with *pending set rather than wait for it (pending NULL:
 * wait): an asynchronous scan asks again later, and the Append's other
 * scans go on meanwhile.  waiting_since is when it began to wait for that
 * fetch (0: not yet): once the wait has lasted what its own fetch could
 * take, it gets NULL without *pending, and fetches the token itself.
 * subid is the subtransaction the caller's scan began in: the fetch it
 * claims is given back at that subtransaction's abort, not at the abort of
 * a later one that polled the scan (a cursor's FETCH in a savepoint).
 * poller is who drives the caller's scan (its Append): a fetch another
 * scan of the same poller has out is waited for like another session's.
 */
char *
clf_token_try_get(const ClfOptions *opts, TimestampTz waiting_since, bool *pending,
				  SubTransactionId subid, const void *poller)
{
	ClfTokenEntry *entry;

	if (pending)
		*pending = false;
	if (opts->access_token)
		return pstrdup(opts->access_token);
	entry = find_token(opts);
	if (entry == NULL || GetCurrentTimestamp() >= entry->refresh_at)
		return shared_token_get(opts, pending == NULL, waiting_since, pending, subid, poller);
	return pstrdup(entry->token);
}

/* The fetch clf_token_try_get left to the caller will not be made after all. */
void
clf_token_fetch_abandoned(const ClfOptions *opts)
{
	shared_token_abandoned(opts);
}

/*
 * Keep a token just fetched, valid expires_in seconds; returns after how
 * many seconds it is refreshed.  It is refreshed a little before WeCom says
 * it expires (five minutes for the usual two hours), so no request races
 * its expiry.
 */
int
clf_token_fetched(const ClfOptions *opts, const char *token, int expires_in)
{
	ClfTokenEntry *entry = find_token(opts);
	MemoryContext oldcxt;
	int			refresh_in = expires_in - refresh_margin(expires_in);
	TimestampTz refresh_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														 (int64) refresh_in * 1000);

	if (shared_token_keep(opts, token, expires_in, refresh_in))
		return refresh_in;

	/*
	 * Every allocation comes before the cache changes: running out of memory
	 * half-way must leave the cache as it was, never an entry without its
	 * token.
	 */
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	if (entry == NULL)
	{
		ClfTokenEntry *volatile added = palloc0(sizeof(ClfTokenEntry));

		/*
		 * lappend allocates before it links: if anything fails, nothing of
		 * the entry is left in TopMemoryContext, and no copy of the token
		 */
		PG_TRY();
		{
			added->api_url = pstrdup(opts->api_url);
			added->corp_id = pstrdup(opts->corp_id);
			memcpy(added->secret_digest, opts->secret_digest, PG_SHA256_DIGEST_LENGTH);
			added->refresh_at = refresh_at;
			added->token = pstrdup(token);
			FAULT_ERROR("token_cache_entry");
			tokens = lappend(tokens, added);
		}
		PG_CATCH();
		{
			clf_wipe(added->token);
			if (added->api_url)
				pfree(added->api_url);
			if (added->corp_id)
				pfree(added->corp_id);
			pfree(added);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	else
	{
		char	   *copy = pstrdup(token);

		clf_wipe(entry->token);
		entry->token = copy;
		entry->refresh_at = refresh_at;
	}
	MemoryContextSwitchTo(oldcxt);
	return refresh_in;
}

/*
 * The fetch clf_token_get left to this backend failed with edata (WeCom's
 * answer, wecom_answered, or the transport's after its retries): every
 * backend waiting for it, and the next few seconds' callers, get the same
 * error.  Not an error of this backend's own, which says nothing of
 * gettoken: a cancel, or memory or descriptors running out while the
 * failure was being reported.  Its claim is given back at abort, and a
 * waiter fetches.  Alone, there is nobody to tell.  WeCom's rate limits
 * share class 53 with running out of resources, yet are the API's answer:
 * the likeliest to come again at once.
 */
void
clf_token_fetch_failed(const ClfOptions *opts, const ErrorData *edata,
					   bool wecom_answered)
{
	if (!wecom_answered &&
		(edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		 edata->sqlerrcode == ERRCODE_FDW_OUT_OF_MEMORY ||
		 ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_INSUFFICIENT_RESOURCES))
		return;
	shared_token_failed(opts, edata);
}

/*
 * WeCom rejected token: the next request fetches a new one.  Another scan
 * of this backend (an asynchronous Append's) may have sent the same token,
 * been refused first and fetched the next already: that one is kept.
 */
void
clf_token_rejected(const ClfOptions *opts, const char *token)
{
	ClfTokenEntry *entry = find_token(opts);

	if (entry && strcmp(entry->token, token) == 0)
	{
		/* never handed out again: due at once, and wiped now */
		entry->refresh_at = 0;
		explicit_bzero(entry->token, strlen(entry->token));
	}
	shared_token_forget(opts, token);
}
