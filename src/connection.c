/*-------------------------------------------------------------------------
 *
 * connection.c
 *		  Per-backend caches: one libcurl handle per foreign server (so one
 *		  keep-alive connection and TLS session serve every page and query)
 *		  and access tokens, and their invalidation when options change.
 *
 * Tokens are keyed by (api_url, corp_id, SHA-256 of corp_secret): each WeCom
 * app has its own secret, and one user must never be handed a token fetched
 * with another user's secret.  The secret itself is not kept.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "contact_list_fdw.h"
#include "shared_state.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "storage/latch.h"
#include "utils/hsearch.h"
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

static HTAB *connections = NULL;
static List *tokens = NIL;		/* of ClfTokenEntry *, in TopMemoryContext */

static int
socket_callback(CURL *easy, curl_socket_t sock, int what, void *userp, void *socketp)
{
	ClfConnection *conn = (ClfConnection *) userp;
	int			i;

	for (i = 0; i < conn->nsockets; i++)
		if (conn->sockets[i] == sock)
			break;

	conn->sockets_changed = true;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < conn->nsockets)
		{
			conn->nsockets--;
			conn->sockets[i] = conn->sockets[conn->nsockets];
			conn->socket_what[i] = conn->socket_what[conn->nsockets];
		}
		return 0;
	}
	if (i == conn->nsockets)
	{
		if (conn->nsockets == CLF_MAX_WATCHED_SOCKETS)
			return -1;			/* makes libcurl fail the transfer cleanly */
		conn->nsockets++;
		conn->sockets[i] = sock;
	}
	conn->socket_what[i] = what;
	return 0;
}

static int
timer_callback(CURLM *multi, long timeout_ms, void *userp)
{
	ClfConnection *conn = (ClfConnection *) userp;

	conn->timer_deadline = timeout_ms < 0 ? 0
		: TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	return 0;
}

static void
close_connection(ClfConnection *conn)
{
	if (conn->wait_set)
		FreeWaitEventSet(conn->wait_set);
	conn->wait_set = NULL;
	if (conn->multi)
		curl_multi_cleanup(conn->multi);
	if (conn->easy)
		curl_easy_cleanup(conn->easy);
	conn->multi = NULL;
	conn->easy = NULL;
	conn->nsockets = 0;
	conn->timer_deadline = 0;
}

static void
open_connection(ClfConnection *conn)
{
	CURLMcode	rc;

	conn->easy = curl_easy_init();
	conn->multi = curl_multi_init();
	if (conn->easy == NULL || conn->multi == NULL)
	{
		close_connection(conn);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	}
	if ((rc = curl_multi_setopt(conn->multi, CURLMOPT_SOCKETFUNCTION, socket_callback)) != CURLM_OK ||
		(rc = curl_multi_setopt(conn->multi, CURLMOPT_SOCKETDATA, conn)) != CURLM_OK ||
		(rc = curl_multi_setopt(conn->multi, CURLMOPT_TIMERFUNCTION, timer_callback)) != CURLM_OK ||
		(rc = curl_multi_setopt(conn->multi, CURLMOPT_TIMERDATA, conn)) != CURLM_OK)
	{
		close_connection(conn);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not set up a libcurl handle: %s", curl_multi_strerror(rc))));
	}
	conn->nsockets = 0;
	conn->timer_deadline = 0;
	conn->invalidated = false;
}

static void
server_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	ClfConnection *conn;

	if (connections == NULL)
		return;
	hash_seq_init(&scan, connections);
	while ((conn = (ClfConnection *) hash_seq_search(&scan)) != NULL)
	{
		if (hashvalue == 0 || conn->server_hash == hashvalue)
			conn->invalidated = true;
	}
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
clf_connection_init(void)
{
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, server_changed, (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, user_mapping_changed, (Datum) 0);
}

ClfConnection *
clf_get_connection(const ClfOptions *opts)
{
	ClfConnection *conn;
	bool		found;

	if (connections == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ClfConnection);
		ctl.hcxt = TopMemoryContext;
		connections = hash_create("contact_list_fdw connections", 8, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	conn = hash_search(connections, &opts->serverid, HASH_ENTER, &found);
	if (!found)
	{
		conn->easy = NULL;
		conn->multi = NULL;
		conn->wait_set = NULL;
		conn->server_hash = GetSysCacheHashValue1(FOREIGNSERVEROID,
												  ObjectIdGetDatum(opts->serverid));
		conn->invalidated = false;
	}
	if (conn->invalidated)
		close_connection(conn);
	if (conn->easy == NULL)
	{
		PG_TRY();
		{
			open_connection(conn);
		}
		PG_CATCH();
		{
			hash_search(connections, &opts->serverid, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return conn;
}

/*
 * SHA-256 of the concatenation of nparts pieces: the token caches' keys,
 * which must never hold a secret itself.
 */
void
clf_sha256(int nparts, const void *const *parts, const size_t *lengths, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	bool		ok = ctx != NULL && pg_cryptohash_init(ctx) == 0;

	for (int i = 0; ok && i < nparts; i++)
		ok = pg_cryptohash_update(ctx, (const uint8 *) parts[i], lengths[i]) == 0;
	if (!ok || pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *reason = ctx ? pg_cryptohash_error(ctx) : "out of memory";

		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-256 digest: %s", reason)));
	}
	pg_cryptohash_free(ctx);
}

/* Computed once per scan, when the user mapping is read. */
void
clf_digest_secret(const char *secret, uint8 *digest)
{
	const void *parts[] = {secret};
	size_t		lengths[] = {strlen(secret)};

	clf_sha256(1, parts, lengths, digest);
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
 * A cached token, as a palloc'd copy the caller wipes, or NULL.  With the
 * shared cache, NULL means this backend is to fetch one for everybody
 * (which may follow a wait for another backend's fetch).  Alone, a token
 * due for refresh is fetched again by the query that finds it so: nobody
 * else waits for it, and if that fetch fails the query fails, as a new
 * session's would.
 */
char *
clf_cached_token(const ClfOptions *opts)
{
	ClfTokenEntry *entry = find_token(opts);

	if (entry == NULL || GetCurrentTimestamp() >= entry->refresh_at)
		return clf_shared_token(opts);
	return pstrdup(entry->token);
}

/*
 * Cache a new token.  It is refreshed a little before WeCom says it expires
 * (five minutes for the usual two hours), so no request races its expiry.
 */
void
clf_remember_token(const ClfOptions *opts, const char *token, int expires_in)
{
	ClfTokenEntry *entry = find_token(opts);
	MemoryContext oldcxt;
	int			margin = clf_token_refresh_margin(expires_in);
	TimestampTz refresh_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														 (int64) (expires_in - margin) * 1000);
	char	   *copy;

	if (clf_shared_remember_token(opts, token, expires_in))
		return;

	/*
	 * Every allocation comes before the cache changes: running out of memory
	 * half-way must leave the cache as it was, never an entry without its
	 * token.
	 */
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	if (entry == NULL)
	{
		ClfTokenEntry *new_entry = palloc0(sizeof(ClfTokenEntry));

		new_entry->api_url = pstrdup(opts->api_url);
		new_entry->corp_id = pstrdup(opts->corp_id);
		memcpy(new_entry->secret_digest, opts->secret_digest, PG_SHA256_DIGEST_LENGTH);
		new_entry->refresh_at = refresh_at;
		new_entry->token = copy = pstrdup(token);
		/* lappend allocates before it links; if it fails, no copy is left */
		PG_TRY();
		{
			tokens = lappend(tokens, new_entry);
		}
		PG_CATCH();
		{
			clf_wipe(copy);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	else
	{
		copy = pstrdup(token);
		clf_wipe(entry->token);
		entry->token = copy;
		entry->refresh_at = refresh_at;
	}
	MemoryContextSwitchTo(oldcxt);
}

/* WeCom rejected the cached token: the next request fetches a new one. */
void
clf_forget_token(const ClfOptions *opts)
{
	ClfTokenEntry *entry = find_token(opts);

	if (entry)
	{
		/* never handed out again: due at once, and wiped now */
		entry->refresh_at = 0;
		explicit_bzero(entry->token, strlen(entry->token));
	}
	clf_shared_forget_token(opts);
}
