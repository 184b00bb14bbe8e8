/*-------------------------------------------------------------------------
 *
 * clf_common.h
 *		  What every file of contact_list_fdw shares: the options a scan runs
 *		  with, a scan's counters, the built-in defaults, and shims over
 *		  PostgreSQL versions.  A header without a .c file: it sits under every
 *		  floor and depends on none.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_CLF_COMMON_H
#define CLF_CLF_COMMON_H

#include "postgres.h"

#include "common/sha2.h"
#include "datatype/timestamp.h"

/* InitMaterializedSRF was called SetSingleFuncCall in PostgreSQL 15.0 */
#if PG_VERSION_NUM < 150001
#define InitMaterializedSRF(fcinfo, flags) SetSingleFuncCall(fcinfo, flags)
#endif

#define CLF_DEFAULT_API_URL			"https://qyapi.weixin.qq.com/cgi-bin"
#define CLF_DEFAULT_TIMEOUT_MS		30000
#define CLF_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define CLF_DEFAULT_PAGE_SIZE		1000
#define CLF_MAX_PAGE_SIZE			1000
#define CLF_DEFAULT_MAX_RETRIES		3
#define CLF_DEFAULT_MAX_RESPONSE_BYTES (64 * 1024 * 1024)
#define CLF_DEFAULT_REQUEST_COST	200.0
#define CLF_DEFAULT_ROW_COST		0.01
#define CLF_DEFAULT_ROWS_ESTIMATE	10000.0

/* The remote "schema" IMPORT FOREIGN SCHEMA understands, and its table. */
#define CLF_REMOTE_SCHEMA			"wecom"
#define CLF_REMOTE_TABLE			"contact_list"

/*
 * The waits between a request's attempts (wecom.c's settings): the
 * ordinary backoff, retry_delay_ms, and a rate limit's, rate_limit_delay_ms,
 * each doubled per retry up to its cap.  Here because tokens.c
 * bounds a wait for another session's gettoken by them too.
 */
#define CLF_MAX_RETRY_DELAY_MS		30000
#define CLF_MAX_RATE_LIMIT_DELAY_MS 60000

extern int	clf_retry_delay_ms;
extern int	clf_rate_limit_delay_ms;

/*
 * The longest wait before retry attempt + 1 (attempt 0: the first retry):
 * the setting doubled per retry up to its cap.  Jitter only shortens it.
 */
static inline int64
clf_longest_backoff_ms(int attempt, bool rate_limited)
{
	int64		cap = rate_limited ? CLF_MAX_RATE_LIMIT_DELAY_MS : CLF_MAX_RETRY_DELAY_MS;
	int64		delay = rate_limited ? clf_rate_limit_delay_ms : clf_retry_delay_ms;

	for (int i = 0; i < attempt && delay < cap; i++)
		delay *= 2;
	return Min(delay, cap);
}

/*
 * Everything a scan needs to know from the server, user mapping and table
 * options, resolved once per scan.
 */
typedef struct ClfOptions
{
	Oid			serverid;
	Oid			userid;			/* whose user mapping supplied the secrets */
	char	   *server_name;
	char	   *api_url;		/* without trailing slash */
	int			timeout_ms;
	int			connect_timeout_ms;
	int			page_size;
	int			max_retries;
	int64		max_response_bytes;
	char	   *proxy;
	char	   *ca_file;
	double		request_cost;
	double		row_cost;
	double		rows_estimate;	/* negative when not set */
	int			max_concurrent_requests;	/* across the cluster; 0: no limit */
	TimestampTz read_at;		/* when the server's options were read: which
								 * version of them is the later */
	bool		async_capable;	/* under an Append, fetch while others do */

	/* from the user mapping: corp_id + corp_secret, or access_token */
	char	   *corp_id;
	char	   *corp_secret;
	char	   *access_token;
	char	   *proxy_user;		/* for a proxy that asks for a password */
	char	   *proxy_password;
	uint8		secret_digest[PG_SHA256_DIGEST_LENGTH];	/* of corp_secret: the token
									 * cache's key */
	bool		have_user_mapping;
} ClfOptions;

/* Counters of one scan, shown by EXPLAIN ANALYZE and contact_list_fdw_scans(). */
typedef struct ClfScanStats
{
	int64		pages;
	int64		requests;		/* every HTTP request: pages, retries, tokens */
	int64		retries;
	int64		token_fetches;	/* gettoken requests, retries too: as
								 * requests counts them */
	int64		rows;			/* of the pages received, whether returned or not */
	int64		bytes;
	double		network_ms;		/* wall time spent inside HTTP requests */
} ClfScanStats;

/*
 * How a scan ended: reported to scan_events.c, kept by scan_log.c and
 * counted by stats.c.
 */
typedef enum ClfScanOutcome
{
	CLF_SCAN_RUNNING,
	CLF_SCAN_COMPLETE,
	CLF_SCAN_STOPPED_EARLY,
	CLF_SCAN_ERROR
} ClfScanOutcome;

#ifdef CLF_FAULT_INJECTION
#include "utils/guc.h"

/*
 * Test builds only (make CLF_FAULT_INJECT=1): the placeholder setting
 * clf_fault.point names a point where this backend fails or stalls, as a
 * palloc running out of memory, a writer descheduled or a process out of
 * descriptors would.
 */
static inline bool
fault_at(const char *point)
{
	const char *armed = GetConfigOption("clf_fault.point", true, false);

	return armed != NULL && strcmp(armed, point) == 0;
}

/* a palloc that fails at point */
#define FAULT_ERROR(point) \
	do { \
		if (fault_at(point)) \
			ereport(ERROR, \
					(errcode(ERRCODE_OUT_OF_MEMORY), \
					 errmsg("out of memory"), \
					 errdetail("Fault injected at %s.", point))); \
	} while (0)
#else
#define FAULT_ERROR(point) ((void) 0)
#endif

#endif							/* CLF_CLF_COMMON_H */
