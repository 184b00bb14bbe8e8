/*-------------------------------------------------------------------------
 *
 * redact.h
 *		  Credentials out of what is shown and out of freed memory, the
 *		  digest that keys a cache by a secret without keeping it, and text
 *		  from the network made fit for a message.
 *
 * The ground floor: redact.c calls nothing of contact_list_fdw.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_REDACT_H
#define CLF_REDACT_H

/* ClfOptions: clf_common.h once the main header is split */
#include "clf_common.h"

extern char *clf_redact(const char *text, const ClfOptions *opts,
						const char *token, bool cut_short);
extern void clf_wipe(char *copy);
extern void clf_sha256(int nparts, const void *const *parts, const size_t *lengths,
					   uint8 *digest);
extern void clf_digest_secret(const char *secret, uint8 *digest);
extern void clf_copy_text(char *dst, size_t size, const char *src);
extern char *clf_text_of_database(const char *text, Oid dbid);
extern char *clf_printable_text(const char *text, size_t maxbytes);
extern char *clf_redact_printable(const char *text, size_t maxbytes, bool cut_short,
								  const ClfOptions *opts, const char *token);
extern char *clf_redact_head(const char *text, size_t maxbytes,
							 const ClfOptions *opts, const char *token);

#endif							/* CLF_REDACT_H */
