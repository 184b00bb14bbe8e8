/*-------------------------------------------------------------------------
 *
 * tokens.h
 *		  Access tokens: the one place wecom.c asks for a token, and tells
 *		  what came of using or fetching one.
 *
 * Behind it: the cluster's shared table when there is shared state, this
 * backend's own cache otherwise or when the table cannot hold a token.
 * The caller never knows which answered.
 *
 * Every token handed out is a palloc'd copy for the caller to wipe
 * (clf_wipe).  A NULL from clf_token_get means the caller fetches one
 * (gettoken) and then calls clf_token_fetched, or clf_token_fetch_failed:
 * other backends may be waiting for that answer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_TOKENS_H
#define CLF_TOKENS_H

/* ClfOptions: clf_common.h once the main header is split */
#include "clf_common.h"

#include "datatype/timestamp.h"

extern void clf_tokens_init(void);
extern char *clf_token_get(const ClfOptions *opts);
extern char *clf_token_try_get(const ClfOptions *opts, TimestampTz waiting_since,
							   bool *pending, SubTransactionId subid,
							   const void *poller);
extern void clf_token_fetch_abandoned(const ClfOptions *opts);
extern int	clf_token_fetched(const ClfOptions *opts, const char *token,
							  int expires_in);
extern void clf_token_fetch_failed(const ClfOptions *opts, const ErrorData *edata,
								   bool wecom_answered);
extern void clf_token_rejected(const ClfOptions *opts, const char *token);

#endif							/* CLF_TOKENS_H */
