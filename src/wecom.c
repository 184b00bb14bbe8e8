/*-------------------------------------------------------------------------
 *
 * wecom.c
 *		  WeCom's protocol: the gettoken and contact_list requests,
 *		  errcodes, retries that never skip or repeat a page, and the
 *		  reports of what went wrong.
 *
 * Each request goes through the transport (http.c), which is handed the URL,
 * body and limits and says what came of it; what the answer means, and
 * whether and when to ask again, are decided here.  Which token to use, and
 * whether to fetch one, is tokens.c's answer; this file only fetches one
 * when told to and says how the fetch, or the token, fared.  Each request
 * (it holds one of the server's request slots) and each retry is reported
 * to scan_events.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "wecom.h"
#include "http.h"
#include "redact.h"
#include "scan_events.h"
#include "tokens.h"

#include "common/pg_prng.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#ifdef CLF_FAULT_INJECTION
#include <json-c/json_tokener.h>
#endif

int			clf_retry_delay_ms = 500;
int			clf_rate_limit_delay_ms = 15000;

#define CLF_TOKEN_RESPONSE_MAX		(64 * 1024)

/* WeCom errcodes with a meaning for the client */
#define WECOM_SYSTEM_BUSY			(-1)
#define WECOM_INVALID_SECRET		40001
#define WECOM_INVALID_CORPID		40013
#define WECOM_INVALID_TOKEN			40014
#define WECOM_TOKEN_MISSING			41001
#define WECOM_TOKEN_EXPIRED			42001
#define WECOM_FREQUENCY_LIMIT		45009
#define WECOM_CONCURRENCY_LIMIT		45033
#define WECOM_API_FORBIDDEN			48002
#define WECOM_IP_NOT_TRUSTED		60020
#define WECOM_INVALID_PARAMETER		40058

/*
 * The SQLSTATE of a WeCom errcode, by what the caller can do about it, so
 * that a scheduled job or an alert can branch on it (the README's errors
 * table lists them):
 *	class 28	the credentials in the user mapping were rejected: fix them;
 *	42501		the app may not do this, or not from here: fix the app's
 *				settings in the WeCom admin console;
 *	class 53	a rate or concurrency limit: try again later;
 *	HV00N		WeCom or the network failing for now: try again later;
 *	HV000		anything else WeCom refused.
 */
static int
sqlstate_of_errcode(int64 errcode)
{
	switch (errcode)
	{
		case WECOM_INVALID_SECRET:
			return ERRCODE_INVALID_PASSWORD;
		case WECOM_INVALID_CORPID:
		case WECOM_INVALID_TOKEN:
		case WECOM_TOKEN_MISSING:
		case WECOM_TOKEN_EXPIRED:
			return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		case WECOM_API_FORBIDDEN:
		case WECOM_IP_NOT_TRUSTED:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case WECOM_FREQUENCY_LIMIT:
			return ERRCODE_INSUFFICIENT_RESOURCES;
		case WECOM_CONCURRENCY_LIMIT:
			return ERRCODE_TOO_MANY_CONNECTIONS;
		case WECOM_SYSTEM_BUSY:
			return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
		default:
			return ERRCODE_FDW_ERROR;
	}
}

/* What one attempt came to, for retry decisions and messages. */
typedef enum ClfAttemptKind
{
	CLF_ATTEMPT_OK,				/* a JSON object; errcode is in resp */
	CLF_ATTEMPT_TRANSIENT,		/* worth another try on the same cursor */
	CLF_ATTEMPT_FATAL
} ClfAttemptKind;

/* What the caller is fetching, for messages. */
typedef struct ClfCall
{
	const ClfOptions *opts;
	const char *endpoint;		/* "gettoken" or "contact_list" */
	char	   *display_url;	/* never with a token or secret */
	char	   *url;			/* with them: never shown */
	const char *body;			/* POST body, or NULL for GET */
	const char *token;			/* to redact from anything shown */
	int64		page_no;		/* 0 for gettoken */
	ClfScanStats *stats;
	ClfScanReport *report;		/* the scan's, for its request events */
	ClfHttpOutcome out;			/* of the last attempt; for gettoken, its head
								 * holds the token: wiped */
	bool		reporting;		/* the error raised is what came of the call */
	int			wecom_sqlstate; /* raised for WeCom's errcode, or 0: the
								 * reports raise it, so a token failure is
								 * told from this backend's own by it */
} ClfCall;

void
clf_wecom_init(void)
{
	DefineCustomIntVariable("contact_list_fdw.retry_delay_ms",
							"First wait before retrying a failed request.",
							"Later retries wait twice as long each time, up to 30 s.",
							&clf_retry_delay_ms, 500, 1, CLF_MAX_RETRY_DELAY_MS,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("contact_list_fdw.rate_limit_delay_ms",
							"First wait before retrying after WeCom's frequency limit (errcode 45009).",
							"Later retries wait twice as long each time, up to 60 s.",
							&clf_rate_limit_delay_ms, 15000, 1, CLF_MAX_RATE_LIMIT_DELAY_MS,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	/* the last of the settings: option.c defines its own first */
	MarkGUCPrefixReserved("contact_list_fdw");
}

/*
 * WeCom's errmsg, redacted and made fit for a message: its beginning is
 * what a message and the server log need.
 */
#define CLF_ERRMSG_SHOWN 2000

static char *
shown_text(const char *raw, const ClfCall *call)
{
	return clf_redact_printable(raw, CLF_ERRMSG_SHOWN, false, call->opts, call->token);
}

/*
 * The DETAIL for a response that is reported: how it began.  Never for
 * gettoken, whose body may hold a fresh access token.
 */
static char *
body_excerpt(const ClfCall *call, const ClfHttpOutcome *out)
{
	if (call->page_no == 0 || out->head_len == 0)
		return NULL;
	return clf_redact_printable(out->head, CLF_BODY_HEAD_LEN,
								out->head_len == CLF_BODY_HEAD_LEN,
								call->opts, call->token);
}

/* "page 3 of contact_list" or "gettoken", for messages */
static char *
what_was_fetched(const ClfCall *call)
{
	if (call->page_no > 0)
		return psprintf("page " INT64_FORMAT " of %s", call->page_no, call->display_url);
	return pstrdup(call->display_url);
}

/*
 * The transport hands a 200 body over as it arrives, and the page parser
 * takes it in at once: a page is parsed while the rest is on the wire.
 */
static ClfBodyVerdict
feed_response(void *arg, const char *data, size_t len)
{
	ClfResponse *resp = (ClfResponse *) arg;

	if (clf_response_feed(resp, data, len))
		return CLF_BODY_TAKEN;
	if (resp->error == CLF_RESP_TOO_MUCH_MEMORY)
		return CLF_BODY_TOO_LARGE;
	return CLF_BODY_REFUSED;
}

#ifdef CLF_FAULT_INJECTION
/* the page parser's json-c tokener, out of memory at fault point json_tokener */
struct json_tokener *
clf_fault_json_tokener_new(int depth)
{
	if (fault_at("json_tokener"))
		return NULL;
	return json_tokener_new_ex(depth);
}
#endif

/* Let the last attempt's body go before the next one comes into resp. */
static void
empty_response(ClfResponse *resp, const ClfHttpRequest *hreq)
{
	Assert(hreq->consume_arg == resp);
	clf_response_reset(resp);
	resp->max_bytes = hreq->max_bytes;
}

/* What the transport is handed for call, its answer going into resp. */
static void
http_request(const ClfCall *call, ClfResponse *resp, ClfHttpRequest *hreq)
{
	hreq->opts = call->opts;
	hreq->url = call->url;
	hreq->body = call->body;
	hreq->what = what_was_fetched(call);
	hreq->token = call->token;
	hreq->max_bytes = call->page_no > 0 ? (size_t) call->opts->max_response_bytes
		: CLF_TOKEN_RESPONSE_MAX;
	hreq->token_request = call->page_no == 0;
	hreq->stats = call->stats;
	hreq->consume = feed_response;
	hreq->consume_arg = resp;
}

/* A short description of a failed attempt, for DEBUG1 and final messages. */
static char *
describe_attempt(const ClfCall *call, const ClfHttpRequest *hreq,
				 const ClfHttpOutcome *out, const ClfResponse *resp)
{
	if (out->failed)
		return clf_http_describe_failure(hreq, out);
	if (out->http_status != 200 && out->retry_after_s > 0)
		return psprintf("HTTP status %ld (Retry-After: " INT64_FORMAT " s)",
						out->http_status, out->retry_after_s);
	if (out->http_status != 200)
		return psprintf("HTTP status %ld", out->http_status);
	return psprintf("errcode " INT64_FORMAT " (%s)", resp->errcode,
					shown_text(resp->errmsg, call));
}

static void
report_transport_error(ClfCall *call, const ClfHttpRequest *hreq,
					   const ClfHttpOutcome *out, const ClfResponse *resp,
					   int attempts)
{
	char	   *what = what_was_fetched(call);

	char	   *excerpt = body_excerpt(call, out);

	call->reporting = true;

	if (out->too_large && call->page_no == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response for %s is larger than %d bytes", what, CLF_TOKEN_RESPONSE_MAX),
				 out->parse_too_large
				 ? errdetail("After %zu bytes of the body, the parsed response would take more memory than that. A gettoken response is a few hundred bytes.",
							 out->bytes)
				 : errdetail("A gettoken response is a few hundred bytes."),
				 errhint("Check api_url and the proxy option: something other than the WeCom API may be answering.")));
	if (out->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("response for %s is larger than max_response_bytes (" INT64_FORMAT " bytes)",
						what, call->opts->max_response_bytes),
				 out->parse_too_large
				 ? errdetail("After %zu bytes of the body, the parsed response would take more memory than that.",
							 out->bytes)
				 : 0,
				 errhint("Raise the server option max_response_bytes, or lower page_size.")));

	/* the proxy, or libcurl, failed */
	clf_http_report_failure(hreq, out, attempts);

	if (out->http_status >= 300 && out->http_status < 400)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("%s answered with a redirect (HTTP status %ld), which is not followed",
						what, out->http_status),
				 errdetail("A redirect could send the access token to another host."),
				 errhint("Check api_url: it should be the API's own address, such as %s.",
						 CLF_DEFAULT_API_URL)));
	if (out->http_status != 200)
	{
		StringInfoData detail;
		bool		server_failing = out->http_status >= 500 || out->http_status == 429;

		initStringInfo(&detail);
		if (attempts > 1)
			appendStringInfo(&detail, "%d attempts were made.", attempts);
		if (excerpt)
			appendStringInfo(&detail, "%sThe response began with \"%s\".",
							 detail.len ? " " : "", excerpt);
		/* a failing server may recover; anything else is not the API */
		ereport(ERROR,
				(errcode(server_failing ? ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION
						 : ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("%s answered with HTTP status %ld", what, out->http_status),
				 detail.len ? errdetail_internal("%s", detail.data) : 0,
				 server_failing
				 ? errhint("The API or a gateway in front of it is failing: try again later, or raise max_retries.")
				 : out->http_status == 404
				 ? errhint("Check api_url: it must end with the API's path, /cgi-bin (WeCom's is %s), and the proxy option must not point at something else.",
						   CLF_DEFAULT_API_URL)
				 : errhint("Check api_url and the proxy option: something other than the WeCom API may be answering.")));
	}

	if (resp->error == CLF_RESP_OUT_OF_MEMORY)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("The response for %s could not be parsed: %s.", what, resp->message)));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("invalid response for %s: %s", what, resp->message),
			 excerpt ? errdetail("The response began with \"%s\".", excerpt) : 0,
			 errhint("A proxy or gateway between the database and WeCom may have answered instead of WeCom.")));
}

/*
 * The wait a 429 or 503 asked for with Retry-After, honoured as a rate
 * limit: at least the ordinary backoff, at most the longest rate-limit wait
 * of this attempt (rate_limit_delay_ms doubled per retry, up to 60 s), so
 * a server cannot park a query for an hour.
 */
static int
retry_after_ms(int attempt, int64 retry_after_s, int backoff)
{
	int64		wanted;

	/* the header is the server's: an absurd value must not overflow */
	wanted = retry_after_s >= CLF_MAX_RATE_LIMIT_DELAY_MS / 1000
		? CLF_MAX_RATE_LIMIT_DELAY_MS : retry_after_s * 1000;

	return (int) Max((int64) backoff,
					 Min(wanted, clf_longest_backoff_ms(attempt, true)));
}

static int
backoff_ms(int attempt, bool rate_limited)
{
	int64		delay = clf_longest_backoff_ms(attempt, rate_limited);

	/* jitter keeps concurrent backends from retrying in lockstep */
	return (int) (delay / 2 + pg_prng_double(&pg_global_prng_state) * (delay / 2));
}

/* The hint for a busy or rate-limited API that retries did not get past. */
static int
limit_hint(int64 errcode)
{
	if (errcode == WECOM_FREQUENCY_LIMIT)
		return errhint("The app hit WeCom's call frequency limit (about 10,000 calls a minute per corp), whose block lasts the limit's window. "
					   "Run fewer scans at once (server option max_concurrent_requests) or schedule jobs apart; "
					   "the waits are set by contact_list_fdw.rate_limit_delay_ms (doubling per retry, up to 60 s) and max_retries.");
	if (errcode == WECOM_CONCURRENCY_LIMIT)
		return errhint("Too many calls reached WeCom at the same moment: lower the server option max_concurrent_requests, or raise max_retries.");
	return errhint("WeCom is busy; try again later, or raise max_retries.");
}

/*
 * One request of report's scan through the transport, holding one of the
 * server's request slots (max_concurrent_requests) from before it starts
 * until clf_http_perform has closed its connection or put it back in the
 * handle's cache, also when that raises (a cancel): the cap counts a
 * request until its connection is closed.  The transport counts a request
 * in the scan's stats once it ran; one that never started is not counted,
 * and its slot goes back with the abort.
 */
static void
perform_request(const ClfHttpRequest *hreq, ClfScanReport *report,
				ClfResponse *resp, ClfHttpOutcome *out)
{
	ClfScanStats *stats = hreq->stats;
	int64		requests = stats->requests;

	empty_response(resp, hreq);
	clf_http_prepare(hreq, out);
	clf_event_request_begins(hreq->opts, hreq->token_request, report);
	PG_TRY();
	{
		clf_http_perform(hreq, out);
	}
	PG_CATCH();
	{
		if (stats->requests > requests)
		{
			/* the transport adds the body's bytes only when it returns */
			ClfScanStats now = *stats;

			now.bytes += out->bytes;
			clf_event_request_done(hreq->opts, hreq->token_request, out->bytes,
								   out->ms, report, &now);
		}
		else
			clf_event_request_not_made(report);
		PG_RE_THROW();
	}
	PG_END_TRY();
	clf_event_request_done(hreq->opts, hreq->token_request, out->bytes,
						   out->ms, report, stats);
}

/* What is to be done after an attempt. */
typedef enum ClfNextStep
{
	CLF_STEP_DONE,				/* resp holds a JSON object, errcode read */
	CLF_STEP_RETRY,				/* ask again, after the delay */
	CLF_STEP_GIVE_UP			/* retries ran out on a busy or rate-limited API */
} ClfNextStep;

/*
 * Judge the attempt number attempt (from 0) of call: raises what cannot be
 * retried, else says whether to ask again and after how many ms, having
 * reported the retry.
 */
static ClfNextStep
judge_attempt(ClfCall *call, const ClfHttpRequest *hreq, ClfResponse *resp,
			  int attempt, int *delay)
{
	ClfHttpOutcome *out = &call->out;
	ClfAttemptKind kind;
	bool		rate_limited = false;
	char	   *failure;

	if (out->too_large)
		kind = CLF_ATTEMPT_FATAL;
	else if (out->proxy_refused)
		kind = CLF_ATTEMPT_FATAL;	/* the same credentials fail again */
	else if (out->failed)
		kind = out->transient ? CLF_ATTEMPT_TRANSIENT : CLF_ATTEMPT_FATAL;
	else if (out->http_status == 429 || (out->http_status >= 500 && out->http_status < 600))
		kind = CLF_ATTEMPT_TRANSIENT;
	else if (out->http_status != 200 || out->parse_failed)
		kind = CLF_ATTEMPT_FATAL;
	else if (!clf_response_finish(resp))
	{
		/*
		 * A JSON value that ends early (or an empty body: WeCom always
		 * answers JSON) on a response without a length is a body cut
		 * short, though libcurl saw none: the transport says so.
		 */
		if (resp->error == CLF_RESP_TRUNCATED && clf_http_mark_cut_short(out))
			kind = CLF_ATTEMPT_TRANSIENT;
		else
			kind = CLF_ATTEMPT_FATAL;
	}
	else if (!clf_response_check_status(resp))
		kind = CLF_ATTEMPT_FATAL;
	else if (resp->errcode == WECOM_SYSTEM_BUSY || resp->errcode == WECOM_CONCURRENCY_LIMIT)
		kind = CLF_ATTEMPT_TRANSIENT;
	else if (resp->errcode == WECOM_FREQUENCY_LIMIT)
	{
		kind = CLF_ATTEMPT_TRANSIENT;
		rate_limited = true;
	}
	else
		kind = CLF_ATTEMPT_OK;

	if (kind == CLF_ATTEMPT_OK)
		return CLF_STEP_DONE;
	if (kind == CLF_ATTEMPT_FATAL)
		report_transport_error(call, hreq, out, resp, attempt + 1);

	if (attempt >= call->opts->max_retries)
	{
		if (out->http_status == 200 && !out->failed)
			return CLF_STEP_GIVE_UP;	/* an API errcode: the caller reports */
		report_transport_error(call, hreq, out, resp, attempt + 1);
	}

	*delay = backoff_ms(attempt, rate_limited);
	if (out->retry_after_s > 0 && (out->http_status == 429 || out->http_status == 503))
		*delay = retry_after_ms(attempt, out->retry_after_s, *delay);
	failure = describe_attempt(call, hreq, out, resp);
	ereport(DEBUG1,
			(errmsg_internal("contact_list_fdw: %s failed with %s; retry %d of %d in %d ms",
							 what_was_fetched(call), failure,
							 attempt + 1, call->opts->max_retries, *delay)));
	call->stats->retries++;
	clf_event_retry(call->opts, call->stats,
					out->failed ? (int) out->result : 0,
					out->http_status, resp->errcode, *delay, failure);
	return CLF_STEP_RETRY;
}

/* Retries ran out (or were off) on a busy or rate-limited API after attempts. */
static void
report_retries_exhausted(ClfCall *call, const ClfResponse *resp, int attempts,
						 int64 waited_ms)
{
	call->reporting = true;
	call->wecom_sqlstate = sqlstate_of_errcode(resp->errcode);
	if (attempts == 1)
		ereport(ERROR,
				(errcode(call->wecom_sqlstate),
				 errmsg("%s failed: WeCom errcode " INT64_FORMAT ": %s",
						what_was_fetched(call), resp->errcode, shown_text(resp->errmsg, call)),
				 errdetail("It was not retried, as max_retries is 0."),
				 limit_hint(resp->errcode)));
	ereport(ERROR,
			(errcode(call->wecom_sqlstate),
			 errmsg("%s failed after %d attempts: WeCom errcode " INT64_FORMAT ": %s",
					what_was_fetched(call), attempts, resp->errcode,
					shown_text(resp->errmsg, call)),
			 errdetail("The scan waited %.1f s in all between the attempts.",
					   waited_ms / 1000.0),
			 limit_hint(resp->errcode)));
}

/*
 * Make the request until it yields a JSON object, retrying what is worth
 * retrying.  Retries always repeat the same URL and body, so a traversal
 * never skips or repeats a page.  On return resp holds the response with
 * its errcode read; errcodes other than the retried ones are the caller's.
 */
static pg_noinline void
call_with_retries(ClfCall *call, ClfResponse *resp)
{
	ClfHttpRequest hreq;
	int			attempt;
	int64		waited_ms = 0;

	http_request(call, resp, &hreq);
	for (attempt = 0;; attempt++)
	{
		int			delay = 0;

		perform_request(&hreq, call->report, resp, &call->out);
		switch (judge_attempt(call, &hreq, resp, attempt, &delay))
		{
			case CLF_STEP_DONE:
				return;
			case CLF_STEP_GIVE_UP:
				report_retries_exhausted(call, resp, attempt + 1, waited_ms);
				break;
			case CLF_STEP_RETRY:
				break;
		}
		clf_http_sleep(delay);
		waited_ms += delay;
	}
}

static void
report_api_error(ClfCall *call, const ClfResponse *resp)
{
	char	   *what = what_was_fetched(call);
	char	   *errmsg_text = shown_text(resp->errmsg, call);
	const char *server = call->opts->server_name;

	call->reporting = true;
	call->wecom_sqlstate = sqlstate_of_errcode(resp->errcode);

	switch (resp->errcode)
	{
		case WECOM_INVALID_SECRET:
			ereport(ERROR,
					(errcode(call->wecom_sqlstate),
					 errmsg("WeCom rejected corp_secret for server \"%s\": errcode 40001: %s",
							server, errmsg_text),
					 errdetail("The corp_secret of the user mapping is wrong, was reset, or its app is disabled."),
					 errhint("Copy the app's current Secret from the WeCom admin console into ALTER USER MAPPING ... OPTIONS (SET corp_secret '...').")));
			break;
		case WECOM_INVALID_CORPID:

			/*
			 * Not the value: whoever sees this message (and the scan logs
			 * that keep it) may be scanning with a mapping that is not
			 * theirs to read, PUBLIC's or a view owner's.  Nor the role's
			 * name: a failure shared from another session (tokens.c)
			 * may have come through another role's mapping.
			 */
			ereport(ERROR,
					(errcode(call->wecom_sqlstate),
					 errmsg("WeCom rejected the corp_id of the user mapping for server \"%s\": errcode 40013: %s",
							server, errmsg_text),
					 errhint("Correct corp_id with ALTER USER MAPPING in the mapping the query used (its role's own, a view owner's, or PUBLIC's): it must be the CorpID shown under My Company in the WeCom admin console.")));
			break;
		case WECOM_INVALID_TOKEN:
		case WECOM_TOKEN_MISSING:
		case WECOM_TOKEN_EXPIRED:
			ereport(ERROR,
					(errcode(call->wecom_sqlstate),
					 errmsg("WeCom rejected the access token for %s: errcode " INT64_FORMAT ": %s",
							what, resp->errcode, errmsg_text),
					 call->opts->access_token
					 ? errhint("The access_token in the user mapping is invalid or expired: update it with ALTER USER MAPPING, or use corp_id and corp_secret so that tokens are fetched as needed.")
					 : errhint("A fresh token was fetched and rejected as well; check that the app's Secret belongs to corp_id.")));
			break;
		case WECOM_API_FORBIDDEN:
			ereport(ERROR,
					(errcode(call->wecom_sqlstate),
					 errmsg("WeCom refused %s: errcode 48002: %s", what, errmsg_text),
					 errdetail("The app is not allowed to call the customer-contact APIs."),
					 errhint("In the WeCom admin console, add the app under Customer Contact > API > apps that may call the APIs (客户联系 可调用接口的应用), and use that app's Secret.")));
			break;
		case WECOM_IP_NOT_TRUSTED:
			ereport(ERROR,
					(errcode(call->wecom_sqlstate),
					 errmsg("WeCom refused %s: errcode 60020: %s", what, errmsg_text),
					 errdetail("The request came from an IP address that is not a trusted IP of the app."),
					 errhint("Add the database host's public egress IP (or that of the server option proxy) to the app's trusted IPs in the WeCom admin console.")));
			break;
		case WECOM_INVALID_PARAMETER:
			ereport(ERROR,
					(errcode(call->wecom_sqlstate),
					 errmsg("WeCom rejected the request for %s as invalid: errcode 40058: %s",
							what, errmsg_text),
					 call->page_no > 1
					 ? errhint("The cursor may have expired; run the query again.")
					 : call->page_no == 1
					 ? errhint("Page 1 carries an empty cursor and the page size (limit: page_size, or fewer under a LIMIT): WeCom's message after the errcode says what it refused. If api_url names a relay or gateway, check that it forwards the request body unchanged.")
					 : 0));
			break;
		default:
			ereport(ERROR,
					(errcode(call->wecom_sqlstate),
					 errmsg("WeCom returned an error for %s: errcode " INT64_FORMAT ": %s",
							what, resp->errcode, errmsg_text),
					 errhint("Look the errcode up in WeCom's global error code list.")));
	}
}

/* contact_list's URL, without a token: for messages and EXPLAIN */
char *
clf_endpoint_for_display(const ClfOptions *opts)
{
	return psprintf("%s/externalcontact/contact_list", opts->api_url);
}

static void
forget_url(ClfCall *call)
{
	clf_wipe(call->url);
	call->url = NULL;
}

/* Wipe what a gettoken call leaves behind, whatever it came to. */
static void
forget_token_call(ClfCall *call, ClfResponse *resp)
{
	/* json-c's copy of the new token, in the parsed response */
	if (resp->access_token)
		explicit_bzero((char *) resp->access_token, strlen(resp->access_token));
	/* the start of gettoken's body, kept for messages */
	explicit_bzero(&call->out, sizeof(call->out));
	clf_response_release(resp);
	forget_url(call);
}

/* The gettoken request for opts, with the secret in its URL. */
static void
token_call(ClfCall *call, const ClfOptions *opts, ClfScanStats *stats,
		   ClfScanReport *report)
{
	const char *const names[] = {"corpid", "corpsecret"};
	const char *const values[] = {opts->corp_id, opts->corp_secret};

	memset(call, 0, sizeof(*call));
	call->opts = opts;
	call->endpoint = "gettoken";
	call->display_url = psprintf("%s/gettoken", opts->api_url);
	call->url = clf_http_url(call->display_url, lengthof(names), names, values);
	call->stats = stats;
	call->report = report;
}

/*
 * gettoken answered (retries done): the new token, kept for everybody, as
 * a palloc'd copy the caller wipes; raises WeCom's refusal.
 */
static char *
accept_token(ClfCall *call, ClfResponse *resp)
{
	const ClfOptions *opts = call->opts;
	int			expires_in;
	int			refresh_in;

	if (resp->errcode != 0)
		report_api_error(call, resp);
	if (!clf_response_check_token(resp))
	{
		call->reporting = true;
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("invalid response for %s: %s", call->display_url, resp->message)));
	}
	expires_in = (int) Max(0, Min(resp->expires_in, 86400));
	refresh_in = clf_token_fetched(opts, resp->access_token, expires_in);
	/* when the next fetch comes is what WeCom's throttling sees */
	ereport(DEBUG1,
			(errmsg_internal("contact_list_fdw: new access token for server \"%s\": valid %d s, refreshed after %d s",
							 opts->server_name, expires_in, refresh_in)));
	return pstrdup(resp->access_token);
}

/*
 * A gettoken ended in the error being raised.  What it came to is every
 * waiter's answer too: kept for them (and the next few seconds' callers).
 * An error of this backend's own is not: the claim is given back at abort,
 * and a waiter fetches.  (A cancel is this backend's own too: tokens.c
 * knows.  WeCom's rate limits raise class 53, as running out of memory
 * does: only the SQLSTATE tells which was raised.)  cxt is the caller's
 * context, outside the error's.
 */
static void
token_call_failed(ClfCall *call, ClfResponse *resp, MemoryContext cxt)
{
	forget_token_call(call, resp);
	if (call->reporting)
	{
		MemoryContext errcxt = MemoryContextSwitchTo(cxt);
		ErrorData  *edata = CopyErrorData();

		clf_token_fetch_failed(call->opts, edata,
							   edata->sqlerrcode == call->wecom_sqlstate);
		FreeErrorData(edata);
		MemoryContextSwitchTo(errcxt);
	}
}

/*
 * The token to use: the user mapping's fixed one, a cached one, or a new
 * one from gettoken.  The result is a palloc'd copy, for the caller to
 * wipe.
 */
static char *
get_token(const ClfOptions *opts, ClfScanStats *stats, ClfScanReport *report)
{
	ClfCall		call;
	ClfResponse resp;
	char	   *volatile token = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	token = clf_token_get(opts);
	if (token)
		return token;

	token_call(&call, opts, stats, report);
	clf_response_init(&resp, CLF_TOKEN_RESPONSE_MAX);
	PG_TRY();
	{
		call_with_retries(&call, &resp);
		token = accept_token(&call, &resp);
	}
	PG_CATCH();
	{
		token_call_failed(&call, &resp, cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	forget_token_call(&call, &resp);
	return token;
}

/* The URL holds the token: wipe it whatever happens. */
static void
call_forgetting_url(ClfCall *call, ClfResponse *resp)
{
	PG_TRY();
	{
		call_with_retries(call, resp);
	}
	PG_FINALLY();
	{
		forget_url(call);
	}
	PG_END_TRY();
}

static bool
is_token_error(int64 errcode)
{
	return errcode == WECOM_INVALID_TOKEN || errcode == WECOM_TOKEN_MISSING ||
		errcode == WECOM_TOKEN_EXPIRED;
}

/*
 * What the answer to a page request comes to: true if resp holds a checked
 * page, counted with its rows, false if WeCom rejected a token that may be
 * replaced (once, and not the user mapping's own); raises for anything
 * else.
 */
static bool
accept_page(ClfCall *call, ClfResponse *resp, bool token_replaced)
{
	if (resp->errcode == 0)
	{
		if (!clf_response_check_page(resp))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("invalid response for page " INT64_FORMAT " of %s: %s",
							call->page_no, call->display_url, resp->message)));
		call->stats->pages++;
		call->stats->rows += resp->nitems;
		return true;
	}
	if (!is_token_error(resp->errcode) || call->opts->access_token != NULL ||
		token_replaced)
		report_api_error(call, resp);
	ereport(DEBUG1,
			(errmsg_internal("contact_list_fdw: token rejected with errcode " INT64_FORMAT ", fetching a new one",
							 resp->errcode)));
	return false;
}

/* The request for one page, without its token. */
static void
page_call(ClfCall *call, const ClfOptions *opts, const char *cursor, int limit,
		  int64 page_no, ClfScanStats *stats, ClfScanReport *report)
{
	StringInfoData body;

	memset(call, 0, sizeof(*call));
	call->opts = opts;
	call->endpoint = "contact_list";
	call->display_url = clf_endpoint_for_display(opts);
	call->page_no = page_no;
	call->stats = stats;
	call->report = report;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"cursor\":");
	escape_json(&body, cursor ? cursor : "");
	appendStringInfo(&body, ",\"limit\":%d}", limit);
	call->body = body.data;
}

/* call's URL for token */
static void
page_url(ClfCall *call, const char *token)
{
	const char *const names[] = {"access_token"};
	const char *const values[] = {token};

	call->token = token;
	call->url = clf_http_url(call->display_url, lengthof(names), names, values);
}

/*
 * Fetch one contact_list page into resp, which on return holds a checked
 * page.  A token WeCom rejects is replaced once and the page asked again.
 * Its requests count in stats and are reported as report's scan's.
 */
void
clf_fetch_page(const ClfOptions *opts, const char *cursor, int limit,
			   int64 page_no, ClfResponse *resp, ClfScanStats *stats,
			   ClfScanReport *report)
{
	ClfCall		call;
	bool		token_replaced = false;

	page_call(&call, opts, cursor, limit, page_no, stats, report);
	for (;;)
	{
		char	   *volatile token = get_token(opts, stats, report);
		volatile bool done = false;

		/* the token copy is wiped however the request ends */
		PG_TRY();
		{
			page_url(&call, token);
			call_forgetting_url(&call, resp);
			done = accept_page(&call, resp, token_replaced);
			if (!done)
				clf_token_rejected(opts, token);
		}
		PG_FINALLY();
		{
			call.token = NULL;
			clf_wipe(token);
		}
		PG_END_TRY();

		if (done)
			return;
		token_replaced = true;
	}
}

/*
 * A page fetched without waiting, for an asynchronous foreign scan: the
 * same requests, retries and errors as clf_fetch_page, but every wait (the
 * network, a retry's backoff, another session's token fetch) is handed
 * back to the caller as a descriptor to watch, so an Append can fetch
 * several corps' pages, and tokens, at once.  The fetcher keeps its own
 * libcurl handle from page to page.
 */
typedef enum ClfFetchPhase
{
	CLF_PHASE_IDLE,				/* no page asked for */
	CLF_PHASE_TOKEN_WAIT,		/* another session fetches the token: ask again */
	CLF_PHASE_TOKEN,			/* this fetcher's gettoken */
	CLF_PHASE_PAGE				/* the page itself */
} ClfFetchPhase;

/* How often to look again while another session fetches the token. */
#define CLF_TOKEN_POLL_MS			20

/*
 * How often a request waiting for one of the server's slots looks again:
 * nothing wakes a ticket when its turn comes but the synchronous waiters'
 * condition variable.
 */
#define CLF_SLOT_POLL_MS			10

struct ClfPageFetcher
{
	MemoryContext page_cxt;		/* reset for each page: wipes the secrets */
	ClfHttpAsync *http;
	ClfFetchPhase phase;
	bool		waiting;		/* for a backoff or a poll, until retry_at */
	TimestampTz retry_at;
	TimestampTz token_wait_since;	/* another session's fetch, waited for */
	ClfSlotClaim claim;			/* its request slots, for a server with a cap */
	const void *poller;			/* who drives it: see clf_fetcher_create */
	SubTransactionId subid;		/* its scan's: see clf_fetcher_create */
	int			attempt;		/* of the current request, from 0 */
	int64		waited_ms;
	/* the page */
	ClfResponse *resp;
	ClfCall		call;
	ClfHttpRequest hreq;
	char	   *token;			/* a copy, wiped when the page is done */
	bool		token_replaced;
	/* the gettoken, while phase is CLF_PHASE_TOKEN */
	ClfCall		token_call;
	ClfResponse token_resp;
	ClfHttpRequest token_hreq;
};

/*
 * The page's secrets go, however it ends: the token, the URLs holding it
 * or the corp_secret, and a gettoken's answer.  A claimed gettoken is
 * given back at abort by tokens.c, or here by clf_fetcher_abandon.
 */
static void
forget_page_secrets(void *arg)
{
	ClfPageFetcher *f = (ClfPageFetcher *) arg;

	if (f->token)
		explicit_bzero(f->token, strlen(f->token));
	if (f->call.url)
		explicit_bzero(f->call.url, strlen(f->call.url));
	if (f->phase == CLF_PHASE_TOKEN)
	{
		if (f->token_call.url)
			explicit_bzero(f->token_call.url, strlen(f->token_call.url));
		if (f->token_resp.access_token)
			explicit_bzero((char *) f->token_resp.access_token,
						   strlen(f->token_resp.access_token));
		explicit_bzero(&f->token_call.out, sizeof(f->token_call.out));
		clf_response_release(&f->token_resp);
	}
	f->token = NULL;
	f->call.url = NULL;
	f->call.token = NULL;
	f->phase = CLF_PHASE_IDLE;
	f->waiting = false;
}

/* A fresh context for the page; its reset wipes what the last one held. */
static void
new_page_context(ClfPageFetcher *f)
{
	MemoryContextCallback *callback;

	MemoryContextReset(f->page_cxt);
	callback = MemoryContextAlloc(f->page_cxt, sizeof(MemoryContextCallback));
	callback->func = forget_page_secrets;
	callback->arg = f;
	MemoryContextRegisterResetCallback(f->page_cxt, callback);
}

/*
 * The page is done, or the fetcher's memory goes: its claim goes back, with
 * what the claim holds.
 */
static void
give_back_claim(void *arg)
{
	ClfPageFetcher *f = (ClfPageFetcher *) arg;

	clf_event_slot_unclaim(f->claim);
	f->claim = CLF_NO_SLOT_CLAIM;
}

/*
 * The fetcher's memory goes with a request in flight (an error's abort,
 * its backend's exit): one of which nothing went out yet (still
 * connecting) was never seen by the server, and the scan must not count
 * it when its own memory goes.  Runs before the transport drops it, while
 * the handle still knows.
 */
static void
settle_unsent_request(void *arg)
{
	ClfPageFetcher *f = (ClfPageFetcher *) arg;

	if (clf_http_async_in_flight(f->http) && !clf_http_async_counts(f->http))
		clf_event_request_not_made(f->call.report);
}

/*
 * A fetcher for a scan that poller (an Append) drives: the claims of one
 * poller's scans wait their turn for a capped server's slots among
 * themselves, but never for a slot a scan of another poller holds.  subid
 * is the subtransaction the scan began in: its slots and token fetches go
 * back at that one's abort, not at the abort of a later one in which a
 * FETCH of the scan's cursor happened to start a request that goes on.
 */
ClfPageFetcher *
clf_fetcher_create(MemoryContext parent, const void *poller, SubTransactionId subid)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "contact_list_fdw fetcher",
											  ALLOCSET_SMALL_SIZES);
	ClfPageFetcher *f = MemoryContextAllocZero(cxt, sizeof(ClfPageFetcher));
	MemoryContextCallback *callback;
	MemoryContextCallback *settle;

	f->claim = CLF_NO_SLOT_CLAIM;
	f->poller = poller;
	f->subid = subid;
	callback = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	callback->func = give_back_claim;
	callback->arg = f;
	MemoryContextRegisterResetCallback(cxt, callback);
	f->page_cxt = AllocSetContextCreate(cxt, "contact_list_fdw fetcher page",
										ALLOCSET_SMALL_SIZES);
	f->http = clf_http_async_create(cxt);
	/* registered after the transport's: reset callbacks run newest first */
	settle = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	settle->func = settle_unsent_request;
	settle->arg = f;
	MemoryContextRegisterResetCallback(cxt, settle);
	new_page_context(f);
	return f;
}

/*
 * Drop the transfer in flight, if any, and settle its request: counted as
 * one that ran if the server may have seen it (clf_http_async_drop), else
 * never made.  Also on the way out of an error raised while it was in
 * flight, so that the scan's end, recorded before its memory goes, counts
 * it as the server's counters do.
 */
static void
drop_request(ClfPageFetcher *f)
{
	ClfCall    *call = f->phase == CLF_PHASE_TOKEN ? &f->token_call : &f->call;

	if (!clf_http_async_in_flight(f->http))
		return;
	/* no bytes: what had come of the body goes with it, as at exit */
	if (clf_http_async_drop(f->http))
		clf_event_request_done_claim(call->opts, f->claim, f->phase == CLF_PHASE_TOKEN,
									 0, call->out.ms, call->report, call->stats);
	else
		clf_event_request_not_made(call->report);
}

/* Wake, and look again, at when. */
static void
wait_until(ClfPageFetcher *f, TimestampTz when)
{
	f->waiting = true;
	f->retry_at = when;
	clf_http_async_wake_at(f->http, when);
}

/*
 * Start attempt f->attempt of the request of the current phase, once it
 * has one of the server's request slots (max_concurrent_requests); until
 * then it waits its turn, and the Append's other scans go on.
 */
static void
start_attempt(ClfPageFetcher *f)
{
	const ClfOptions *opts = f->call.opts;
	bool		token = f->phase == CLF_PHASE_TOKEN;

	f->waiting = false;
	clf_http_async_wake_at(f->http, 0);
	/* with no cap, the claim counts the request in requests_in_flight */
	if (f->claim == CLF_NO_SLOT_CLAIM)
		f->claim = clf_event_slot_claim(f->poller, opts, f->subid);
	if (!clf_event_request_try(opts, f->claim, token, f->call.report))
	{
		wait_until(f, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), CLF_SLOT_POLL_MS));
		return;
	}
	/*
	 * The request is out from here: if the scan's memory goes before it is
	 * counted (an error's abort), it counts then, if any of it went out.
	 * One the transport raised for before starting it was never seen by the
	 * server: it counts nowhere.
	 */
	if (token)
		empty_response(&f->token_resp, &f->token_hreq);
	else
		empty_response(f->resp, &f->hreq);
	PG_TRY();
	{
		if (token)
			clf_http_async_start(f->http, &f->token_hreq, &f->token_call.out);
		else
			clf_http_async_start(f->http, &f->hreq, &f->call.out);
	}
	PG_CATCH();
	{
		if (!clf_http_async_started(f->http))
			clf_event_request_not_made(f->call.report);
		else
			drop_request(f);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* The page's request, with token (a palloc'd copy the fetcher now owns). */
static void
start_page(ClfPageFetcher *f, char *token)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(f->page_cxt);

	if (f->token)
		clf_wipe(f->token);
	f->token = token;
	if (f->call.url)
		clf_wipe(f->call.url);
	page_url(&f->call, token);
	http_request(&f->call, f->resp, &f->hreq);
	MemoryContextSwitchTo(oldcxt);
	f->phase = CLF_PHASE_PAGE;
	f->attempt = 0;
	f->waited_ms = 0;
	start_attempt(f);
}

/*
 * A token for the page: a cached one starts the page at once; else this
 * fetcher's gettoken starts, or, while another session fetches it, a poll.
 */
static void
look_for_token(ClfPageFetcher *f)
{
	const ClfOptions *opts = f->call.opts;
	MemoryContext oldcxt = MemoryContextSwitchTo(f->page_cxt);
	bool		pending = false;
	char	   *token;

	/*
	 * Another session fetching for longer than this server's own fetch could
	 * take: the token table hands this fetcher the claim, as a plain scan's
	 * wait ends.
	 */
	token = clf_token_try_get(opts, f->phase == CLF_PHASE_TOKEN_WAIT ? f->token_wait_since : 0, &pending, f->subid, f->poller);

	if (token)
	{
		MemoryContextSwitchTo(oldcxt);
		start_page(f, token);
		return;
	}
	if (pending)
	{
		MemoryContextSwitchTo(oldcxt);
		clf_event_waiting(CLF_WAIT_TOKEN, 0, NULL);
		if (f->phase != CLF_PHASE_TOKEN_WAIT)
			f->token_wait_since = GetCurrentTimestamp();
		f->phase = CLF_PHASE_TOKEN_WAIT;
		wait_until(f, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), CLF_TOKEN_POLL_MS));
		return;
	}
	/*
	 * Claimed: it is given back at abort, or by clf_fetcher_abandon.  The
	 * phase comes first, so that the page context's reset wipes the
	 * gettoken's URL even when building the request fails after it.
	 */
	memset(&f->token_call, 0, sizeof(f->token_call));
	clf_response_init(&f->token_resp, CLF_TOKEN_RESPONSE_MAX);
	f->phase = CLF_PHASE_TOKEN;
	token_call(&f->token_call, opts, f->call.stats, f->call.report);
	FAULT_ERROR("gettoken_built");
	http_request(&f->token_call, &f->token_resp, &f->token_hreq);
	MemoryContextSwitchTo(oldcxt);
	f->attempt = 0;
	f->waited_ms = 0;
	start_attempt(f);
}

/*
 * Start fetching page page_no (after cursor) into resp, counting in stats,
 * for report's scan.
 */
void
clf_fetcher_start(ClfPageFetcher *f, const ClfOptions *opts, const char *cursor,
				  int limit, int64 page_no, ClfResponse *resp, ClfScanStats *stats,
				  ClfScanReport *report)
{
	MemoryContext oldcxt;

	Assert(f->phase == CLF_PHASE_IDLE);
	new_page_context(f);
	oldcxt = MemoryContextSwitchTo(f->page_cxt);
	page_call(&f->call, opts, cursor, limit, page_no, stats, report);
	MemoryContextSwitchTo(oldcxt);
	f->resp = resp;
	f->token_replaced = false;
	look_for_token(f);
}

/*
 * The request of the current phase answered: go on to what comes next.
 * True once the page is in f->resp.
 */
static bool
request_answered(ClfPageFetcher *f)
{
	bool		token = f->phase == CLF_PHASE_TOKEN;
	ClfCall    *call = token ? &f->token_call : &f->call;
	ClfResponse *resp = token ? &f->token_resp : f->resp;
	ClfHttpOutcome *out = &call->out;
	int			delay = 0;

	clf_event_request_done_claim(call->opts, f->claim, token, out->bytes, out->ms,
								 call->report, call->stats);
	switch (judge_attempt(call, token ? &f->token_hreq : &f->hreq, resp,
						  f->attempt, &delay))
	{
		case CLF_STEP_DONE:
			break;
		case CLF_STEP_GIVE_UP:
			report_retries_exhausted(call, resp, f->attempt + 1, f->waited_ms);
			break;
		case CLF_STEP_RETRY:
			f->waited_ms += delay;
			f->attempt++;
			wait_until(f, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay));
			return false;
	}

	if (token)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(f->page_cxt);
		char	   *new_token = accept_token(call, resp);

		MemoryContextSwitchTo(oldcxt);
		forget_token_call(call, resp);
		f->phase = CLF_PHASE_PAGE;	/* the gettoken's secrets are gone */
		start_page(f, new_token);
		return false;
	}
	if (accept_page(call, resp, f->token_replaced))
		return true;
	clf_token_rejected(call->opts, f->token);
	f->token_replaced = true;
	look_for_token(f);
	return false;
}

/* clf_fetcher_continue's work, raising what clf_fetch_page would. */
static bool
go_on(ClfPageFetcher *f)
{
	if (f->waiting)
	{
		if (GetCurrentTimestamp() < f->retry_at)
		{
			clf_http_async_idle(f->http);
			clf_http_async_wake_at(f->http, f->retry_at);	/* quiet until then */
			return false;
		}
		f->waiting = false;
		if (f->phase == CLF_PHASE_TOKEN_WAIT)
			look_for_token(f);
		else
			start_attempt(f);
		return false;
	}
	if (!clf_http_async_step(f->http))
		return false;
	return request_answered(f);
}

/*
 * Go on with the page as far as possible without waiting.  True once resp
 * holds the checked page; raises what clf_fetch_page would.  What it
 * allocates (messages) goes in the caller's context, as for clf_fetch_page.
 */
bool
clf_fetcher_continue(ClfPageFetcher *f)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool done = false;

	Assert(f->phase != CLF_PHASE_IDLE);
	PG_TRY();
	{
		done = go_on(f);
	}
	PG_CATCH();
	{
		drop_request(f);		/* before the scan's end is recorded */
		if (f->phase == CLF_PHASE_TOKEN)
		{
			token_call_failed(&f->token_call, &f->token_resp, cxt);
			f->phase = CLF_PHASE_PAGE;	/* its secrets are gone */
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (done)
	{
		/*
		 * The page's slot went back with its answer; the claim goes too, so
		 * that a backend's claims run out only for pages in flight, not for
		 * scans between pages or at their end (an Append over more capped
		 * servers than there are claims).
		 */
		give_back_claim(f);
		new_page_context(f);	/* wipes the token and URL */
	}
	return done;
}

/* Wait until the page can go on: for a caller that cannot do otherwise. */
void
clf_fetcher_wait(ClfPageFetcher *f)
{
	long		timeout = -1;

	if (f->waiting)
		timeout = Max(0, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), f->retry_at));
	PG_TRY();
	{
		clf_http_async_wait(f->http, timeout);
	}
	PG_CATCH();
	{
		/* a cancel or timeout while waiting: as clf_fetcher_continue's */
		drop_request(f);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* What to wait on (readable) before clf_fetcher_continue has news. */
int
clf_fetcher_socket(const ClfPageFetcher *f)
{
	return clf_http_async_socket(f->http);
}

bool
clf_fetcher_busy(const ClfPageFetcher *f)
{
	return f->phase != CLF_PHASE_IDLE;
}

/* Give up the page being fetched (the scan ends or starts again). */
void
clf_fetcher_abandon(ClfPageFetcher *f)
{
	drop_request(f);
	if (f->phase == CLF_PHASE_TOKEN)
		clf_token_fetch_abandoned(f->call.opts);
	/* a ticket for a slot is given up with the claim */
	give_back_claim(f);
	new_page_context(f);
}
