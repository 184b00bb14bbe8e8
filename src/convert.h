/*-------------------------------------------------------------------------
 *
 * convert.h
 *		  One contact_list item (a json-c object) to a row of the foreign
 *		  table: the column kinds, and their conversion.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_CONVERT_H
#define CLF_CONVERT_H

#include "clf_common.h"

#include "fmgr.h"
#include "nodes/bitmapset.h"
#include "utils/relcache.h"

typedef enum ClfColumnKind
{
	CLF_COL_SKIP,				/* not needed by the query */
	CLF_COL_TEXT,
	CLF_COL_BOOL,
	CLF_COL_INT8,
	CLF_COL_INT4,
	CLF_COL_INT2,
	CLF_COL_TIMESTAMPTZ,
	CLF_COL_TIMESTAMP,
	CLF_COL_JSON_VALUE,			/* json/jsonb holding the key's value */
	CLF_COL_JSON_ITEM,			/* json/jsonb holding the whole item */
	CLF_COL_OTHER,				/* through the type's input function */
	CLF_COL_SOURCE,				/* the server's name (column option source) */
	CLF_COL_NOT_NULL_ONLY		/* not read by the query, but declared NOT
								 * NULL: only whether it has a value */
} ClfColumnKind;

typedef struct ClfColumn
{
	ClfColumnKind kind;
	char	   *attname;
	char	   *json_key;		/* in the server encoding, for messages */
	char	   *lookup_key;		/* the same in UTF-8, as json-c's keys are */
	bool		whole_item;		/* reads the item itself, not one key's value */
	Oid			typid;			/* the base type when the column's is a domain */
	int32		typmod;
	Oid			domain_typid;	/* the column's domain, or InvalidOid */
	bool		not_null;		/* a NOT NULL the planner trusts */
	void	   *domain_extra;	/* domain_check()'s cache, in the converter's context */
	FmgrInfo	input_fn;
	Oid			typioparam;
	Datum		source_value;	/* CLF_COL_SOURCE: the same in every row */
} ClfColumn;

typedef struct ClfRowConverter
{
	Oid			relid;
	char	   *relname;
	int			natts;
	ClfColumn  *columns;		/* natts entries, by attnum - 1 */
	int		   *needed;			/* attnums - 1 of the columns to convert */
	int			nneeded;
	MemoryContext cxt;			/* lives as long as the converter */
	/* where we are, for error context */
	int64		page_no;
	int64		item_no;
	int			current_column;	/* index into columns, or -1 */
	void	   *current_value;	/* json_object * being converted */
	bool		current_absent; /* no such key (else a NULL value is JSON null) */
} ClfRowConverter;

extern ClfRowConverter *clf_converter_create(Relation rel, Bitmapset *attrs_used,
											 bool all_columns,
											 const char *server_name);
extern void clf_convert_item(ClfRowConverter *conv, void *item,
							 Datum *values, bool *isnull);
extern bool clf_is_known_json_key(const char *key);

#endif							/* CLF_CONVERT_H */
