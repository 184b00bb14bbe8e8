/*-------------------------------------------------------------------------
 *
 * tokens.c
 *		  Access tokens for wecom.c: the user mapping's fixed one, or one
 *		  fetched with its corp_id and corp_secret and cached, and when to
 *		  fetch the next.  Owns this backend's own token cache and its
 *		  invalidation on ALTER USER MAPPING, and decides what goes to the
 *		  cluster's shared table (shared_tokens.c, the floor below, which
 *		  never calls back up here).
 *
 * Tokens are keyed by (api_url, corp_id, SHA-256 of corp_secret): each WeCom
 * app has its own secret, and one user must never be handed a token fetched
 * with another user's secret.  The secret itself is not kept.
 *
 * The shared table answers first: it hands out the cluster's token, makes
 * this backend wait while another fetches one, or raises the error of a
 * fetch that just failed.  This backend's own cache is the fallback: in
 * per-backend mode (no shared state), for a token too long to share, and
 * when the table has no entry to spare.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tokens.h"
#include "redact.h"
#include "shared_tokens.h"

#include "access/xact.h"
#include "common/sha2.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

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
		return clf_shared_token(opts, pending == NULL, waiting_since, pending, subid, poller);
	return pstrdup(entry->token);
}

/* The fetch clf_token_try_get left to the caller will not be made after all. */
void
clf_token_fetch_abandoned(const ClfOptions *opts)
{
	clf_shared_token_abandoned(opts);
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

	if (clf_shared_remember_token(opts, token, expires_in, refresh_in))
		return refresh_in;

	/*
	 * Every allocation comes before the cache changes: running out of memory
	 * half-way must leave the cache as it was, never an entry without its
	 * token.
	 */
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	if (entry == NULL)
	{
		ClfTokenEntry *volatile new_entry = palloc0(sizeof(ClfTokenEntry));

		/*
		 * lappend allocates before it links: if anything fails, nothing of
		 * the entry is left in TopMemoryContext, and no copy of the token
		 */
		PG_TRY();
		{
			new_entry->api_url = pstrdup(opts->api_url);
			new_entry->corp_id = pstrdup(opts->corp_id);
			memcpy(new_entry->secret_digest, opts->secret_digest, PG_SHA256_DIGEST_LENGTH);
			new_entry->refresh_at = refresh_at;
			new_entry->token = pstrdup(token);
			FAULT_ERROR("token_cache_entry");
			tokens = lappend(tokens, new_entry);
		}
		PG_CATCH();
		{
			clf_wipe(new_entry->token);
			if (new_entry->api_url)
				pfree(new_entry->api_url);
			if (new_entry->corp_id)
				pfree(new_entry->corp_id);
			pfree(new_entry);
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
 * answer, or the transport's after its retries): every backend waiting for
 * it, and the next few seconds' callers, get the same error.  Not an error
 * of this backend's own, which says nothing of gettoken: a cancel, or
 * memory or descriptors running out while the failure was being reported.
 * Its claim is given back at abort, and a waiter fetches.  Alone, there is
 * nobody to tell.
 */
void
clf_token_fetch_failed(const ClfOptions *opts, const ErrorData *edata)
{
	if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		edata->sqlerrcode == ERRCODE_FDW_OUT_OF_MEMORY ||
		ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_INSUFFICIENT_RESOURCES)
		return;
	clf_shared_token_failed(opts, edata);
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
	clf_shared_forget_token(opts, token);
}
