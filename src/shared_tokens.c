/*-------------------------------------------------------------------------
 *
 * shared_tokens.c
 *		  One access token per (api_url, corp_id, SHA-256 of corp_secret) for
 *		  the whole cluster: every backend and background worker uses it, one
 *		  backend fetches a new one while the others wait for it.
 *
 * An entry is found by a SHA-256 of the three, so a backend can only reach
 * a token fetched with the very secret its own user mapping holds.  WeCom
 * throttles gettoken, and a pooled application or a pg_cron job starts new
 * backends all the time: without sharing each would fetch its own.
 *
 * A token WeCom rejects is dropped only if it is still the one the entry
 * holds (same generation), so twenty backends rejecting the same token
 * cause one fetch.  A backend that claimed the fetch and then failed, was
 * cancelled or died gives the claim back (shmem.c's callbacks); a waiter
 * also takes over from a claimant whose process is gone.
 *
 * connection.c's per-backend cache stays the fallback: in per-backend mode,
 * for a token too long to keep here, and when every entry is being fetched.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "shared_state.h"

#include "miscadmin.h"
#include "utils/timestamp.h"

/* the entry this backend claimed for fetching, or -1 */
static int	claimed = -1;

/* the token this backend last took from the cache, for clf_shared_forget_token */
static uint8 last_key[PG_SHA256_DIGEST_LENGTH];
static uint64 last_generation = 0;

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
 * A free entry, or the least recently used one that nobody is fetching.
 * NULL when every entry is being fetched.  Caller holds the lock
 * exclusively.
 */
static ClfSharedToken *
new_entry(ClfShared *s, const uint8 *key)
{
	ClfSharedToken *victim = NULL;

	for (int i = 0; i < CLF_SHARED_TOKENS; i++)
	{
		ClfSharedToken *e = &s->tokens[i];

		if (!e->in_use)
		{
			victim = e;
			break;
		}
		if (e->fetcher == 0 && (victim == NULL || e->last_used < victim->last_used))
			victim = e;
	}
	if (victim == NULL)
		return NULL;
	explicit_bzero(victim->token, sizeof(victim->token));
	victim->in_use = true;
	memcpy(victim->key, key, PG_SHA256_DIGEST_LENGTH);
	victim->valid = false;
	victim->generation = 0;
	victim->refresh_at = 0;
	victim->fetcher = 0;
	victim->last_used = GetCurrentTimestamp();
	return victim;
}

static bool
process_is_gone(int pid)
{
	return kill(pid, 0) != 0 && errno == ESRCH;
}

/*
 * The cluster's token for opts, as a palloc'd copy; or NULL, and then this
 * backend has claimed the fetch (or cannot share: per-backend mode, every
 * entry busy) and must fetch one and hand it to clf_remember_token.  Waits,
 * cancellably, while another backend fetches it.
 */
char *
clf_shared_token(const ClfOptions *opts)
{
	ClfShared  *s = clf_shared();
	uint8		key[PG_SHA256_DIGEST_LENGTH];
	bool		waited = false;
	char	   *result = NULL;

	if (s == NULL)
		return NULL;
	token_key(opts, key);

	for (;;)
	{
		ClfSharedToken *e;
		int			fetcher;

		LWLockAcquire(&s->lock, LW_EXCLUSIVE);
		e = find_entry(s, key);
		if (e && e->valid && GetCurrentTimestamp() < e->refresh_at)
		{
			result = pstrdup(e->token);
			e->last_used = GetCurrentTimestamp();
			memcpy(last_key, key, sizeof(last_key));
			last_generation = e->generation;
			LWLockRelease(&s->lock);
			break;
		}
		if (e == NULL)
			e = new_entry(s, key);
		if (e == NULL)
		{
			/* every entry is being fetched: fetch our own, unshared */
			s->tokens_unshared++;
			LWLockRelease(&s->lock);
			break;
		}
		fetcher = e->fetcher;
		if (fetcher == 0 || fetcher == MyProcPid || process_is_gone(fetcher))
		{
			e->fetcher = MyProcPid;
			claimed = e - s->tokens;
			LWLockRelease(&s->lock);
			break;
		}
		LWLockRelease(&s->lock);

		if (!waited)
		{
			clf_progress_set_state(CLF_STATE_WAITING_FOR_TOKEN, 0, NULL, NULL);
			waited = true;
		}
		/* the timeout rechecks a fetcher that died without a word */
		(void) ConditionVariableTimedSleep(&e->cv, 1000, clf_wait_event_token());
	}
	if (waited)
	{
		ConditionVariableCancelSleep();
		clf_progress_set_state(CLF_STATE_REQUESTING, 0, NULL, NULL);
	}
	return result;
}

/*
 * Keep a new token for everyone and wake the waiters.  False if it cannot
 * be shared (per-backend mode, too long, no entry): the caller keeps it.
 */
bool
clf_shared_remember_token(const ClfOptions *opts, const char *token, int expires_in)
{
	ClfShared  *s = clf_shared();
	uint8		key[PG_SHA256_DIGEST_LENGTH];
	ClfSharedToken *e;
	int			margin = Min(300, expires_in / 10);
	bool		kept = false;

	if (s == NULL)
		return false;
	token_key(opts, key);

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	e = find_entry(s, key);
	if (e == NULL && strlen(token) <= CLF_SHARED_TOKEN_MAX)
		e = new_entry(s, key);
	if (e)
	{
		if (strlen(token) <= CLF_SHARED_TOKEN_MAX)
		{
			explicit_bzero(e->token, sizeof(e->token));
			memcpy(e->token, token, strlen(token) + 1);
			e->valid = true;
			e->generation = s->next_generation++;
			e->refresh_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														(int64) (expires_in - margin) * 1000);
			e->last_used = GetCurrentTimestamp();
			memcpy(last_key, key, sizeof(last_key));
			last_generation = e->generation;
			kept = true;
		}
		else
			s->tokens_unshared++;
		if (e->fetcher == MyProcPid)
			e->fetcher = 0;
	}
	else
		s->tokens_unshared++;
	LWLockRelease(&s->lock);
	if (e)
		ConditionVariableBroadcast(&e->cv);
	claimed = -1;
	return kept;
}

/*
 * WeCom rejected the token this backend last took: drop it, unless another
 * backend has already put a newer one in its place.
 */
void
clf_shared_forget_token(const ClfOptions *opts)
{
	ClfShared  *s = clf_shared();
	uint8		key[PG_SHA256_DIGEST_LENGTH];
	ClfSharedToken *e;

	if (s == NULL)
		return;
	token_key(opts, key);
	if (memcmp(key, last_key, sizeof(key)) != 0)
		return;

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	e = find_entry(s, key);
	if (e && e->valid && e->generation == last_generation)
	{
		e->valid = false;
		explicit_bzero(e->token, sizeof(e->token));
	}
	LWLockRelease(&s->lock);
}

/* Give back a fetch claim this backend did not complete. */
void
clf_shared_tokens_cleanup(void)
{
	ClfShared  *s = clf_shared();
	ClfSharedToken *e;

	if (claimed < 0 || s == NULL)
	{
		claimed = -1;
		return;
	}
	e = &s->tokens[claimed];
	claimed = -1;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	if (e->fetcher == MyProcPid)
		e->fetcher = 0;
	LWLockRelease(&s->lock);
	ConditionVariableBroadcast(&e->cv);
}
