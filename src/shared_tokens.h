/*-------------------------------------------------------------------------
 *
 * shared_tokens.h
 *		  The cluster's table of access tokens in shared memory: one fetch
 *		  per key at a time, failures shared with a backoff.
 *
 * Only tokens.c asks it for tokens; a claim is given back on error or exit
 * by the release it registers with shmem.c.  It calls nothing above it
 * but scan_events.c, to say that the scan waits for another's fetch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_SHARED_TOKENS_H
#define CLF_SHARED_TOKENS_H

/* ClfOptions: clf_common.h once the main header is split */
#include "clf_common.h"

#include "datatype/timestamp.h"

extern char *clf_shared_token(const ClfOptions *opts, bool wait,
							  TimestampTz waiting_since, bool *pending,
							  SubTransactionId subid, const void *poller);
extern bool clf_shared_remember_token(const ClfOptions *opts, const char *token,
									  int expires_in, int refresh_in);
extern void clf_shared_token_failed(const ClfOptions *opts, const ErrorData *edata);
extern void clf_shared_token_abandoned(const ClfOptions *opts);
extern void clf_shared_forget_token(const ClfOptions *opts, const char *token);
extern void clf_shared_tokens_cleanup(SubTransactionId from);

#endif							/* CLF_SHARED_TOKENS_H */
