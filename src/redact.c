/*-------------------------------------------------------------------------
 *
 * redact.c
 *		  Keeping credentials out of what is shown, and out of memory we
 *		  free: every text that came from the network or from libcurl is
 *		  scrubbed of the corp_secret, the access tokens and the proxy
 *		  password, in the forms they take on the wire, before it reaches a
 *		  message; our own copies of credentials are wiped before they are
 *		  freed.
 *
 * libcurl's and json-c's own copies (the request line libcurl builds, the
 * parsed gettoken response) are outside our reach: they are freed, not
 * wiped.  The README says so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "contact_list_fdw.h"

#include "common/base64.h"

/* Wipe a palloc'd copy of a credential and free it. */
void
clf_wipe(char *copy)
{
	if (copy == NULL)
		return;
	explicit_bzero(copy, strlen(copy));
	pfree(copy);
}

static void
add_secret_forms(List **forms, const char *secret)
{
	char	   *escaped;

	if (secret == NULL || secret[0] == '\0')
		return;
	*forms = lappend(*forms, pstrdup(secret));
	/* the form it takes in a query string */
	escaped = curl_easy_escape(NULL, secret, 0);
	if (escaped)
	{
		if (strcmp(escaped, secret) != 0)
			*forms = lappend(*forms, pstrdup(escaped));
		explicit_bzero(escaped, strlen(escaped));
		curl_free(escaped);
	}
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
	plain = psprintf("%s:%s", user, password);
	len = strlen(plain);
	enclen = pg_b64_enc_len(len);
	encoded = palloc(enclen + 1);
	enclen = pg_b64_encode((const void *) plain, len, encoded, enclen);
	clf_wipe(plain);
	if (enclen <= 0)
	{
		pfree(encoded);
		return;
	}
	encoded[enclen] = '\0';
	*forms = lappend(*forms, encoded);
}

/*
 * text with every occurrence of the credentials replaced, as they are and
 * as they appear in a URL or a header.  A text that was cut short (an
 * excerpt of a body) and ends inside a credential loses that end too.  The
 * result is palloc'd.
 */
char *
clf_redact(const char *text, const ClfOptions *opts, const char *token,
		   bool cut_short)
{
	List	   *forms = NIL;
	StringInfoData out;
	const char *p = text;
	ListCell   *lc;

	add_secret_forms(&forms, token);
	add_secret_forms(&forms, opts->corp_secret);
	add_secret_forms(&forms, opts->access_token);
	add_secret_forms(&forms, opts->proxy_password);
	add_basic_auth_form(&forms, opts->proxy_user, opts->proxy_password);

	initStringInfo(&out);
	while (*p)
	{
		bool		matched = false;

		foreach(lc, forms)
		{
			const char *secret = lfirst(lc);
			size_t		len = strlen(secret);
			size_t		left = strnlen(p, len);

			if ((left == len || cut_short) && strncmp(p, secret, left) == 0)
			{
				appendStringInfoString(&out, "[redacted]");
				p += left;
				matched = true;
				break;
			}
		}
		if (!matched)
			appendStringInfoChar(&out, *p++);
	}

	foreach(lc, forms)
		clf_wipe(lfirst(lc));
	list_free(forms);
	return out.data;
}
