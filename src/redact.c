/*-------------------------------------------------------------------------
 *
 * redact.c
 *		  Keeping credentials out of what is shown, and out of memory we
 *		  free: every text that came from the network or from libcurl is
 *		  scrubbed of the corp_secret, the access tokens and the proxy
 *		  password, in the forms they take on the wire, and of the user
 *		  mapping's corp_id and proxy_user, before it reaches a message;
 *		  our own copies of credentials are wiped before they are freed.
 *		  Also what a message or a cache key needs besides: text from the
 *		  network made printable, a name clipped to whole characters for a
 *		  fixed-size shared slot, and the SHA-256 digest that keys the token
 *		  caches by a secret without keeping the secret.
 *
 * libcurl's and json-c's own copies (the request line libcurl builds, the
 * parsed gettoken response) are outside our reach: they are freed, not
 * wiped.  The README says so.
 *
 * The ground floor: nothing here calls another file of contact_list_fdw,
 * so any of them may use it, error context callbacks included.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "redact.h"

#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/pg_list.h"

/* Wipe a palloc'd copy of a credential and free it. */
void
clf_wipe(char *copy)
{
	if (copy == NULL)
		return;
	explicit_bzero(copy, strlen(copy));
	pfree(copy);
}

/*
 * Every copy of a credential made here goes into a list entry that exists
 * before the copy does, so that clf_redact's cleanup finds and wipes it
 * whatever fails after.
 */

/*
 * Append libcurl's percent-encoding of form (uppercase hex, as it writes a
 * query string) if it differs from form; return it, or NULL if it does not.
 */
static char *
add_escaped_form(List **forms, const char *form, const char *fault_point)
{
	char	   *escaped;
	size_t		len;
	bool		differs;

	if (form == NULL)
		return NULL;
	*forms = lappend(*forms, NULL);
	FAULT_ERROR(fault_point);
	escaped = curl_easy_escape(NULL, form, 0);
	if (escaped == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	len = strlen(escaped);
	differs = strcmp(escaped, form) != 0;
	/* libcurl's copy is wiped and freed before anything can fail */
	if (differs)
	{
		char	   *copy = palloc_extended(len + 1, MCXT_ALLOC_NO_OOM);

		if (copy)
			memcpy(copy, escaped, len + 1);
		llast(*forms) = copy;
	}
	explicit_bzero(escaped, len);
	curl_free(escaped);
	if (!differs)
	{
		*forms = list_delete_last(*forms);
		return NULL;
	}
	if (llast(*forms) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	return llast(*forms);
}

/*
 * An escaped form with the hex digits of its escapes in lowercase, if that
 * differs: percent-encoding is case-insensitive, and a server or proxy
 * quoting the URL back may write it so (Python's and Go's quoting differ).
 */
static void
add_lowercase_form(List **forms, const char *escaped)
{
	char	   *copy;
	bool		changed = false;

	if (escaped == NULL)
		return;
	*forms = lappend(*forms, NULL);
	copy = pstrdup(escaped);
	llast(*forms) = copy;
	/*
	 * A '%' in an escaped form always begins an escape; in one escaped
	 * twice, "%25" is the '%' of an inner escape, whose digits follow it.
	 */
	for (char *c = copy; *c; c++)
	{
		int			ndigits;

		if (*c != '%')
			continue;
		ndigits = strncmp(c, "%25", 3) == 0 ? 4 : 2;
		for (int i = 1; i <= ndigits && isxdigit((unsigned char) c[i]); i++)
		{
			char		lower = pg_ascii_tolower((unsigned char) c[i]);

			changed |= lower != c[i];
			c[i] = lower;
		}
	}
	if (!changed)
	{
		*forms = list_delete_last(*forms);
		clf_wipe(copy);
	}
}

/*
 * The form a JSON string gives form, if it differs: many encoders (PHP's)
 * write "/" as "\/", and every one writes "\" and '"' escaped.  (An
 * escaped form has none of them: libcurl leaves only letters, digits and
 * "-._~" unescaped.)
 */
static void
add_json_form(List **forms, const char *form)
{
	size_t		extra = 0;
	char	   *copy;
	char	   *out;

	for (const char *c = form; *c; c++)
		extra += (*c == '/' || *c == '\\' || *c == '"');
	if (extra == 0)
		return;
	*forms = lappend(*forms, NULL);
	copy = palloc0(strlen(form) + extra + 1);
	llast(*forms) = copy;
	out = copy;
	for (const char *c = form; *c; c++)
	{
		if (*c == '/' || *c == '\\' || *c == '"')
			*out++ = '\\';
		*out++ = *c;
	}
}

/*
 * A credential's forms: as it is; escaped as libcurl sends it, and so in
 * lowercase hex; escaped twice (a URL quoted in a URL: a redirect's
 * parameter, a proxy's log), in either case; and as a JSON string.
 */
static void
add_secret_forms(List **forms, const char *secret, const char *fault_point)
{
	char	   *escaped;
	char	   *twice;

	if (secret == NULL || secret[0] == '\0')
		return;
	*forms = lappend(*forms, NULL);
	llast(*forms) = pstrdup(secret);

	escaped = add_escaped_form(forms, secret, fault_point);
	add_lowercase_form(forms, escaped);
	twice = add_escaped_form(forms, escaped, fault_point);
	add_lowercase_form(forms, twice);
	add_json_form(forms, secret);
}

/*
 * The form the proxy credentials take in a Proxy-Authorization header: a
 * proxy's error page may quote the request's headers.
 */
static void
add_basic_auth_form(List **forms, const char *user, const char *password)
{
	char	   *plain;
	char	   *encoded;
	int			len;
	int			enclen;

	if (user == NULL || password == NULL)
		return;
	len = strlen(user) + 1 + strlen(password);
	enclen = pg_b64_enc_len(len);
	*forms = lappend(*forms, NULL);
	encoded = palloc0(enclen + 1);
	llast(*forms) = encoded;
	/* written in place, and nothing fails between this copy and its wiping */
	plain = palloc(len + 1);
	snprintf(plain, len + 1, "%s:%s", user, password);
	enclen = pg_b64_encode((const void *) plain, len, encoded, enclen);
	clf_wipe(plain);
	if (enclen <= 0)
	{
		*forms = list_delete_last(*forms);
		pfree(encoded);
		return;
	}
	encoded[enclen] = '\0';
}

/*
 * The longer of two forms first: where one credential's form begins another
 * (a secret ending in "%25" begins its own escaped form; one credential may
 * begin another), the shorter matching first would leave the rest shown.
 */
static int
longest_first(const ListCell *a, const ListCell *b)
{
	size_t		len_a = strlen((const char *) lfirst(a));
	size_t		len_b = strlen((const char *) lfirst(b));

	return (len_a < len_b) - (len_a > len_b);
}

/* ASCII letters, digits and underscore: what a word is made of */
static bool
is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_';
}

/* Whether the text before p ends in lead and ndigits hex digits */
static bool
follows_escape(const char *text, const char *p, const char *lead, int ndigits)
{
	size_t		lead_len = strlen(lead);

	if ((size_t) (p - text) < lead_len + ndigits ||
		strncmp(p - ndigits - lead_len, lead, lead_len) != 0)
		return false;
	for (int i = 1; i <= ndigits; i++)
	{
		if (!isxdigit((unsigned char) p[-i]))
			return false;
	}
	return true;
}

/*
 * Whether an identifier's form found at p in text (left bytes of it: fewer
 * than its length where a cut-short text ends inside it) stands as a token
 * of its own, no word character running into either end of it.  A
 * one-letter corp_id or proxy_user is then hidden in "corpid=w&", "\"w\""
 * or "w:" without its letter going out of every word around it.  An escape
 * just before it separates, rather than making a word of its hex digits:
 * "%3Dw" or "%3dw" (a URL quoted in a URL), "%253Dw" (quoted twice),
 * "\u003dw" (JSON that escapes "="), "\nw" (a JSON string's line break,
 * quoted as it stands in a body or a JSON log line).  A
 * form the text ends inside of is taken: what followed it is unknown.
 */
static bool
stands_alone(const char *text, const char *p, const char *form, size_t left)
{
	size_t		len = strlen(form);
	bool		starts = p == text || !is_word_char(form[0]) ||
		!is_word_char(p[-1]) || follows_escape(text, p, "%", 2) ||
		follows_escape(text, p, "%25", 2) ||
		follows_escape(text, p, "\\u", 4) ||
		(p - text >= 2 && p[-2] == '\\' && strchr("bfnrt", p[-1]) != NULL);
	bool		ends = left < len || !is_word_char(form[len - 1]) ||
		!is_word_char(p[len]);

	return starts && ends;
}

/*
 * Append text to out with every occurrence of forms (sorted longest first)
 * replaced; with cut_short, also a form the text ends inside of.  With
 * whole_tokens (identifiers), only where one stands alone; a secret goes
 * wherever it occurs, whatever surrounds it: showing a piece of a secret
 * is worse than hiding a piece of a word.
 */
static void
replace_forms(StringInfo out, const char *text, List *forms, bool cut_short,
			  bool whole_tokens)
{
	const char *p = text;
	ListCell   *lc;

	while (*p)
	{
		bool		matched = false;

		foreach(lc, forms)
		{
			const char *secret = lfirst(lc);
			size_t		len = strlen(secret);
			size_t		left = strnlen(p, len);

			if ((left == len || cut_short) && strncmp(p, secret, left) == 0 &&
				(!whole_tokens || stands_alone(text, p, secret, left)))
			{
				appendStringInfoString(out, "[redacted]");
				p += left;
				matched = true;
				break;
			}
		}
		if (!matched)
			appendStringInfoChar(out, *p++);
	}
}

/*
 * text with every occurrence of the credentials replaced, as they are and
 * as they appear in a URL or a header.  A text that was cut short (an
 * excerpt of a body) and ends inside a credential loses that end too.  The
 * result is palloc'd.
 *
 * The user mapping's corp_id and proxy_user go as well: the corp_id is not
 * a credential and the proxy_user is half of one, but both are kept from
 * other roles (option.c), while the role that sees a message may be
 * scanning with a mapping it may not read (PUBLIC's, a view owner's) and a
 * response (an echo of the gettoken URL, a proxy's error page) can quote
 * them.  They go in a pass of their own after the credentials, so that an
 * occurrence running into a credential (its end being a secret's start)
 * can never take that start and leave the rest shown; and only where they
 * stand as tokens of their own (stands_alone), so that a corp_id "e" does
 * not take the e out of every word of the message.
 */
char *
clf_redact(const char *text, const ClfOptions *opts, const char *token,
		   bool cut_short)
{
	/* in memory, not registers: the cleanup reads them after an error */
	List	  **forms = palloc0(sizeof(List *));
	List	  **id_forms = palloc0(sizeof(List *));
	StringInfoData scrubbed;
	StringInfoData out;
	ListCell   *lc;

	initStringInfo(&scrubbed);
	initStringInfo(&out);
	PG_TRY();
	{
		add_secret_forms(forms, token, "redact_secret_form");
		add_secret_forms(forms, opts->corp_secret, "redact_secret_form");
		add_secret_forms(forms, opts->access_token, "redact_secret_form");
		add_secret_forms(forms, opts->proxy_password, "redact_secret_form");
		add_basic_auth_form(forms, opts->proxy_user, opts->proxy_password);
		add_secret_forms(id_forms, opts->corp_id, "redact_corp_id_form");
		add_secret_forms(id_forms, opts->proxy_user, "redact_proxy_user_form");
		FAULT_ERROR("redact_forms");
		list_sort(*forms, longest_first);
		list_sort(*id_forms, longest_first);

		replace_forms(&scrubbed, text, *forms, cut_short, false);
		replace_forms(&out, scrubbed.data, *id_forms, cut_short, true);
	}
	PG_FINALLY();
	{
		foreach(lc, *forms)
			clf_wipe(lfirst(lc));
		list_free(*forms);
		/* an entry whose copy failed is NULL, as in forms */
		foreach(lc, *id_forms)
		{
			if (lfirst(lc) != NULL)
				pfree(lfirst(lc));
		}
		list_free(*id_forms);
	}
	PG_END_TRY();
	pfree(forms);
	pfree(id_forms);
	pfree(scrubbed.data);
	return out.data;
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

/*
 * Text from the network made fit for a message, at most maxbytes of it:
 * control characters as one space, bytes that are not valid UTF-8 (and, in
 * a database of another encoding, every non-ASCII byte) as \xNN, and a
 * character cut off at the end dropped.  Never raises an error of its own,
 * so error context callbacks may use it.
 */
char *
clf_printable_text(const char *text, size_t maxbytes)
{
	bool		keep_utf8 = GetDatabaseEncoding() == PG_UTF8;
	StringInfoData out;
	const unsigned char *p = (const unsigned char *) text;
	const unsigned char *end = p + strnlen(text, maxbytes);

	initStringInfo(&out);
	while (p < end)
	{
		if (*p < 0x80)
		{
			char		c = (*p < 0x20 || *p == 0x7f) ? ' ' : (char) *p;

			/* an HTML page's line breaks and indentation: one space */
			if (c != ' ' || (out.len > 0 && out.data[out.len - 1] != ' '))
				appendStringInfoChar(&out, c);
			p++;
			continue;
		}
		{
			int			len = pg_utf_mblen(p);

			if (end - p < len)
				break;
			if (keep_utf8 && pg_utf8_islegal(p, len))
			{
				appendBinaryStringInfo(&out, (const char *) p, len);
				p += len;
			}
			else
				appendStringInfo(&out, "\\x%02x", *p++);
		}
	}
	while (out.len > 0 && out.data[out.len - 1] == ' ')
		out.data[--out.len] = '\0';
	return out.data;
}

/*
 * Text from the network as a message shows it: redacted (clf_redact, with
 * cut_short as there), then made printable.
 */
char *
clf_redact_printable(const char *text, const ClfOptions *opts,
					 const char *token, bool cut_short)
{
	return clf_printable_text(clf_redact(text, opts, token, cut_short), SIZE_MAX);
}

/* Copy whole characters of src that fit in size bytes, terminated. */
void
clf_copy_text(char *dst, size_t size, const char *src)
{
	int			len;

	if (src == NULL)
	{
		dst[0] = '\0';
		return;
	}
	len = pg_mbcliplen(src, strlen(src), size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}
