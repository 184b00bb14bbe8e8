/*-------------------------------------------------------------------------
 *
 * option.h
 *		  Options of the wrapper, servers, user mappings, tables and columns:
 *		  validation, and the ClfOptions a scan runs with.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_OPTION_H
#define CLF_OPTION_H

#include "clf_common.h"

#include "fmgr.h"
#include "utils/relcache.h"

extern void clf_options_init(void);
extern Datum contact_list_fdw_validator(PG_FUNCTION_ARGS);
extern void clf_options_for_server(Oid serverid, ClfOptions *opts);
extern void clf_options_for_table(Oid foreigntableid, ClfOptions *opts);
extern void clf_options_add_user_mapping(ClfOptions *opts, Oid userid);
extern char *clf_column_json_key(Oid relid, AttrNumber attnum,
								 const char *attname, bool *explicit_field,
								 bool *from_source);

#endif							/* CLF_OPTION_H */
