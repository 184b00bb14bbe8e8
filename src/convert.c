/*-------------------------------------------------------------------------
 *
 * convert.c
 *		  JSON values of one info_list item to the Datums of one row.
 *
 * Everything about a column (its JSON key, how to convert, the input
 * function) is resolved once per scan in clf_converter_create, so the per
 * row work is a hash lookup in the item and the conversion itself, for the
 * columns the query uses only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "convert.h"
#include "option.h"
#include "redact.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

/*
 * PostgreSQL's SQL function json_object() and json-c's type share a name:
 * keep the former's declaration out of the way.
 */
#define json_object pg_sql_json_object
#include "utils/builtins.h"
#undef json_object

#include <json-c/json.h>

/* The keys WeCom documents for an info_list item. */
static const char *const known_keys[] = {
	"is_customer", "tmp_openid", "external_userid", "name",
	"follow_userid", "chat_id", "chat_name", "add_time", NULL
};

bool
clf_is_known_json_key(const char *key)
{
	for (int i = 0; known_keys[i]; i++)
		if (strcmp(known_keys[i], key) == 0)
			return true;
	return false;
}

static ClfColumnKind
column_kind(Oid typid, const char *json_key, bool explicit_field)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return CLF_COL_TEXT;
		case BOOLOID:
			return CLF_COL_BOOL;
		case INT8OID:
			return CLF_COL_INT8;
		case INT4OID:
			return CLF_COL_INT4;
		case INT2OID:
			return CLF_COL_INT2;
		case TIMESTAMPTZOID:
			return CLF_COL_TIMESTAMPTZ;
		case TIMESTAMPOID:
			return CLF_COL_TIMESTAMP;
		case JSONOID:
		case JSONBOID:
			if (strcmp(json_key, "*") == 0 ||
				(!explicit_field && !clf_is_known_json_key(json_key)))
				return CLF_COL_JSON_ITEM;
			return CLF_COL_JSON_VALUE;
		default:
			return CLF_COL_OTHER;
	}
}

/*
 * A domain column's constraints (NOT NULL, CHECK), on its converted value
 * or NULL: PostgreSQL's own errors (23502, 23514).  The constraints are
 * looked up once, cached in the converter's context.
 */
static inline void
check_domain(ClfRowConverter *conv, ClfColumn *col, Datum value, bool isnull)
{
	if (OidIsValid(col->domain_typid))
		domain_check(value, isnull, col->domain_typid, &col->domain_extra, conv->cxt);
}

/*
 * PostgreSQL checks no foreign table's NOT NULL, yet the planner trusts it:
 * it prunes a partition or, from 17 on, folds "col IS NULL" to false.  A
 * NULL let through would make one query see rows another cannot find, so a
 * declared NOT NULL that WeCom's item does not honour fails the scan.
 */
static void
report_not_null_violation(const ClfRowConverter *conv, const ClfColumn *col)
{
	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
					col->attname, conv->relname),
			 errdetail("WeCom's item has no value for the column, and PostgreSQL's planner relies on a foreign table's NOT NULL without checking it."),
			 errhint("Drop the NOT NULL (ALTER ... ALTER COLUMN ... DROP NOT NULL) where it is declared, on the partitioned table for a partition; a view can then filter the NULLs out.")));
}

/* The server's name did not fit the column its source option fills. */
static void
source_error_context(void *arg)
{
	ClfRowConverter *conv = (ClfRowConverter *) arg;

	errcontext("column \"%s\" of foreign table \"%s\", which option source fills with the server's name",
			   conv->columns[conv->current_column].attname, conv->relname);
}

/*
 * Does the planner take column i of tupdesc to be never NULL?  From 18 on a
 * NOT NULL may be NOT VALID: still attnotnull, but not trusted.
 */
static bool
planner_trusts_not_null(TupleDesc tupdesc, int i)
{
#if PG_VERSION_NUM >= 180000
	return TupleDescCompactAttr(tupdesc, i)->attnullability == ATTNULLABLE_VALID;
#else
	return TupleDescAttr(tupdesc, i)->attnotnull;
#endif
}

/*
 * attrs_used holds the attribute numbers (1-based) the query needs; with
 * all_columns every column is converted (ANALYZE).  A column declared NOT
 * NULL is checked in every row even when the query does not read it: the
 * planner may have dropped the query's "col IS NOT NULL" (17 on) or read
 * count(col) as count(*) (19 on), trusting it.  The converter lives in the
 * current memory context.
 */
ClfRowConverter *
clf_converter_create(Relation rel, Bitmapset *attrs_used, bool all_columns,
					 const char *server_name)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	ClfRowConverter *conv = palloc0(sizeof(ClfRowConverter));

	conv->relid = RelationGetRelid(rel);
	conv->relname = pstrdup(RelationGetRelationName(rel));
	conv->natts = tupdesc->natts;
	conv->columns = palloc0(sizeof(ClfColumn) * Max(conv->natts, 1));
	conv->needed = palloc0(sizeof(int) * Max(conv->natts, 1));
	conv->current_column = -1;
	conv->cxt = CurrentMemoryContext;

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, i);
		ClfColumn  *col = &conv->columns[i];
		bool		explicit_field;
		bool		from_source;
		bool		read;
		Oid			infunc;

		col->kind = CLF_COL_SKIP;
		if (attr->attisdropped)
			continue;
		read = all_columns || bms_is_member(attr->attnum, attrs_used);
		col->not_null = planner_trusts_not_null(tupdesc, i);
		if (!read && !col->not_null)
			continue;

		col->attname = pstrdup(NameStr(attr->attname));
		col->json_key = clf_column_json_key(conv->relid, attr->attnum,
											col->attname, &explicit_field,
											&from_source);

		/*
		 * The key is written in the server encoding, the item's keys arrive
		 * in UTF-8: in a LATIN1 or EUC_JP database a key beyond ASCII would
		 * never match, its column silently NULL.  (SQL_ASCII keeps its bytes,
		 * as its strings do.)
		 */
		col->lookup_key = (GetDatabaseEncoding() == PG_SQL_ASCII)
			? col->json_key
			: pg_server_to_any(col->json_key, strlen(col->json_key), PG_UTF8);

		/*
		 * A domain is converted as its base type (with the base's typmod, a
		 * domain over varchar(n) say), then its constraints are checked as
		 * PostgreSQL checks them, for NULLs too.
		 */
		col->typmod = attr->atttypmod;
		col->typid = getBaseTypeAndTypmod(attr->atttypid, &col->typmod);
		col->domain_typid = (col->typid != attr->atttypid) ? attr->atttypid : InvalidOid;
		col->kind = column_kind(col->typid, col->json_key, explicit_field);

		/*
		 * field '*' is the whole item whatever the column's type: WeCom has
		 * no key "*", and a column of one would only ever be NULL.  A text
		 * column gets the item's JSON text; other types convert it as they
		 * convert any object (most refuse it, saying so).
		 */
		col->whole_item = col->kind == CLF_COL_JSON_ITEM ||
			strcmp(col->json_key, "*") == 0;
		if (!read)
		{
			/* the server's name and the item itself are never NULL */
			col->kind = (from_source || col->whole_item) ? CLF_COL_SKIP : CLF_COL_NOT_NULL_ONLY;
			if (col->kind == CLF_COL_NOT_NULL_ONLY)
				conv->needed[conv->nneeded++] = i;
			continue;
		}
		getTypeInputInfo(col->typid, &infunc, &col->typioparam);
		fmgr_info_cxt(infunc, &col->input_fn, conv->cxt);
		if (from_source)
		{
			/* through the input function, so a varchar(n) or a domain holds */
			ErrorContextCallback errcallback;

			col->kind = CLF_COL_SOURCE;
			conv->current_column = i;
			errcallback.callback = source_error_context;
			errcallback.arg = conv;
			errcallback.previous = error_context_stack;
			error_context_stack = &errcallback;
			col->source_value = InputFunctionCall(&col->input_fn, (char *) server_name,
												  col->typioparam, col->typmod);
			check_domain(conv, col, col->source_value, false);
			error_context_stack = errcallback.previous;
			conv->current_column = -1;
		}
		conv->needed[conv->nneeded++] = i;
	}
	return conv;
}

/*
 * value's JSON text, kept by json-c with value, or NULL when json-c could
 * not get the memory to print it.
 */
static const char *
printed_json(json_object *value)
{
#ifdef CLF_FAULT_INJECTION
	if (fault_at("json_print"))
		return NULL;
#endif
	return json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN |
										  JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* printed_json, out of memory an error like palloc's */
static const char *
json_text(json_object *value)
{
	const char *json = printed_json(value);

	if (json == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("json-c could not print a value of the page as JSON text.")));
	return json;
}

static void
conversion_error_context(void *arg)
{
	ClfRowConverter *conv = (ClfRowConverter *) arg;
	ClfColumn  *col;
	const char *json = "null";
	json_object *value = (json_object *) conv->current_value;

	if (conv->current_column < 0)
		return;
	col = &conv->columns[conv->current_column];
	/* no ERROR here, inside another's report: the value goes unquoted */
	if (value != NULL && (json = printed_json(value)) == NULL)
		json = "(not shown: out of memory)";
	if (col->whole_item)
		errcontext("column \"%s\" of foreign table \"%s\" (the whole item), page " INT64_FORMAT ", item " INT64_FORMAT,
				   col->attname, conv->relname, conv->page_no, conv->item_no);
	else if (value == NULL && conv->current_absent)
		errcontext("column \"%s\" of foreign table \"%s\", JSON key \"%s\" absent, page " INT64_FORMAT ", item " INT64_FORMAT,
				   col->attname, conv->relname, col->json_key,
				   conv->page_no, conv->item_no);
	else
		errcontext("column \"%s\" of foreign table \"%s\", JSON key \"%s\", value %s%s, page " INT64_FORMAT ", item " INT64_FORMAT,
				   col->attname, conv->relname, col->json_key,
				   clf_printable_text(json, 100),
				   strlen(json) > 100 ? "..." : "", conv->page_no, conv->item_no);
}

static void
wrong_json_type(const ClfColumn *col, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("cannot convert JSON value to type %s",
					format_type_with_typemod(col->typid, col->typmod)),
			 errdetail("Column \"%s\" expects %s.", col->attname, expected),
			 errhint("Declare the column with a type that fits the data, such as text or jsonb.")));
}

/*
 * The value as text in the server encoding: a string as is, anything else
 * as its JSON text.  WeCom sends UTF-8.
 */
static char *
value_text(json_object *value, int *len)
{
	const char *text;
	int			textlen;
	char	   *converted;

	if (json_object_is_type(value, json_type_string))
	{
		text = json_object_get_string(value);
		textlen = json_object_get_string_len(value);
		if ((int) strlen(text) != textlen)
			ereport(ERROR,
					(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
					 errmsg("JSON string contains \\u0000, which PostgreSQL text cannot store"),
					 errhint("Declare the column as json, which keeps the escape, or leave it out of the query.")));
	}
	else
	{
		text = json_text(value);
		textlen = strlen(text);
	}

	if (GetDatabaseEncoding() == PG_UTF8)
	{
		(void) pg_verifymbstr(text, textlen, false);
		*len = textlen;
		return (char *) text;
	}
	converted = pg_any_to_server(text, textlen, PG_UTF8);
	*len = (converted == text) ? textlen : (int) strlen(converted);
	return converted;
}

static Datum
call_input(ClfColumn *col, char *text)
{
	return InputFunctionCall(&col->input_fn, text, col->typioparam, col->typmod);
}

/*
 * A JSON integer (no fraction, no exponent) as int64, or an error, for a
 * bigint, integer or smallint column: the error names the column's type
 * (a domain's base type, as the other conversion errors do).
 */
static int64
json_integer(const ClfColumn *col, json_object *value)
{
	if (json_object_is_type(value, json_type_int))
	{
		int64		v = json_object_get_int64(value);

		/*
		 * json-c keeps numbers above INT64_MAX as uint64 and saturates the
		 * int64.  The validator refuses integer literals beyond 64 bits, so
		 * INT64_MIN and INT64_MAX themselves are the numbers sent.
		 */
		if (v == PG_INT64_MAX && json_object_get_uint64(value) > (uint64) PG_INT64_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("JSON number is out of range for type %s", format_type_be(col->typid)),
					 errhint("Declare the column as numeric or text.")));
		return v;
	}
	wrong_json_type(col, "a whole number");
	return 0;					/* keep compiler quiet */
}

/*
 * A JSON number written with a fraction or an exponent (json-c's double:
 * 1.0, 1.5e3) for an integer column.  It is read from its own text, which
 * json-c keeps, as numeric: a double holds integers exactly up to 2^53
 * only, and rounds a fraction close enough to a whole number away
 * (12345678901234567.0 would become ...568, 4503599627370496.7 a whole
 * ...497).  A fraction is refused; numeric's casts raise 22003 for a number
 * beyond the column's type, as '1e19'::numeric::bigint does.
 */
static Datum
json_fraction_integer(const ClfColumn *col, json_object *value)
{
	Datum		num = DirectFunctionCall3(numeric_in,
										  CStringGetDatum(json_object_get_string(value)),
										  ObjectIdGetDatum(InvalidOid),
										  Int32GetDatum(-1));
	Datum		whole = DirectFunctionCall2(numeric_trunc, num, Int32GetDatum(0));

	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, num, whole)))
		wrong_json_type(col, "a whole number");
	if (col->kind == CLF_COL_INT8)
		return DirectFunctionCall1(numeric_int8, whole);
	if (col->kind == CLF_COL_INT4)
		return DirectFunctionCall1(numeric_int4, whole);
	return DirectFunctionCall1(numeric_int2, whole);
}

static TimestampTz
epoch_to_timestamptz(double seconds)
{
	double		usecs = (seconds - ((double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)) *
		USECS_PER_SEC;

	if (isnan(usecs) || usecs < (double) MIN_TIMESTAMP || usecs >= (double) END_TIMESTAMP)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errhint("Declare the column as bigint or numeric to see the epoch value.")));
	return (TimestampTz) rint(usecs);
}

static bool
all_digits(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * The input functions' parse of a timestamp string, or their ERROR: its
 * type (DTK_DATE, DTK_EPOCH ...), fields and zone offset (the session's
 * TimeZone's at that wall time if it named none).
 */
static void
decode_timestamp_string(const char *text, int *dtype, struct pg_tm *tm,
						fsec_t *fsec, int *tz)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dterr;
#if PG_VERSION_NUM >= 160000
	DateTimeErrorExtra extra = {0};
#endif

	dterr = ParseDateTime(text, workbuf, sizeof(workbuf), field, ftype,
						  MAXDATEFIELDS, &nf);
#if PG_VERSION_NUM >= 160000
	if (dterr == 0)
		dterr = DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tz, &extra);
	if (dterr != 0)
	{
		/* without an escontext, an ERROR; extra points into workbuf */
		DateTimeParseError(dterr, &extra, text, "timestamp", NULL);
		pg_unreachable();
	}
#else
	if (dterr == 0)
		dterr = DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tz);
	if (dterr != 0)
		DateTimeParseError(dterr, text, "timestamp");
#endif
}

/*
 * Is tm (with fsec) at offset tz a wall time the session's TimeZone skips
 * (the hour a DST change jumps over)?  Then the instant it names reads back
 * as another wall time.
 */
static bool
wall_time_skipped(struct pg_tm *tm, fsec_t fsec, int tz)
{
	Timestamp	instant;
	struct pg_tm back;
	fsec_t		back_fsec;
	int			back_tz;

	if (tm2timestamp(tm, fsec, &tz, &instant) != 0 ||
		timestamp2tm(instant, &back_tz, &back, &back_fsec, NULL, session_timezone) != 0)
		return false;
	return back.tm_year != tm->tm_year || back.tm_mon != tm->tm_mon ||
		back.tm_mday != tm->tm_mday || back.tm_hour != tm->tm_hour ||
		back.tm_min != tm->tm_min;
}

/*
 * Did text name its zone?  Asked only of a wall time the session's TimeZone
 * skips with the offset from before the change, which a string names ("Z"
 * in London) or the parser fills in.  Parsed again in a zone of an offset
 * nobody writes (+03:25:45): a string without a zone gets that one.
 */
static bool
string_names_zone(const char *text)
{
	pg_tz	   *odd = pg_tzset_offset(12345);
	pg_tz	   *session = session_timezone;
	int			dtype;
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	PG_TRY();
	{
		session_timezone = odd;
		decode_timestamp_string(text, &dtype, &tm, &fsec, &tz);
	}
	PG_FINALLY();
	{
		session_timezone = session;
	}
	PG_END_TRY();
	return tz != DetermineTimeZoneOffset(&tm, odd);
}

/*
 * A timestamp (without time zone) column from a string: the wall clock of
 * the session's TimeZone at the instant the string names, as the epoch
 * path gives, so "07:51:39Z" and "15:51:39+08" read the same in any zone
 * (timestamp's own input would drop the zone).  A string without a zone is
 * the wall time it writes, as timestamp's input reads it: also one a DST
 * change skips in the session's TimeZone, and one within hours of the ends
 * of timestamp's range, whose instant in that zone may lie beyond them.
 *
 * The string is parsed once, as the input functions parse it.  The parser
 * does not tell whether it named a zone: without one it fills in the
 * session's offset at the wall time written.  So the instant is read when
 * the offset differs from that one; where they agree, the instant's local
 * time is the wall time written, but for one a DST change skips: only
 * then is it asked whether the string named the zone.  Asking the parser
 * for no offset (a NULL tzp), which refuses a zone, is not an option: no
 * caller in PostgreSQL does, and then an all-letters zone name ("Japan")
 * is written through that NULL.
 */
static Datum
local_time_of_string(ClfColumn *col, char *text)
{
	int			dtype;
	int			tz;
	struct pg_tm tm;
	fsec_t		fsec;
	bool		zone_counts;
	Timestamp	stamp;
	Datum		local;

	decode_timestamp_string(text, &dtype, &tm, &fsec, &tz);
	switch (dtype)
	{
		case DTK_DATE:
			zone_counts = tz != DetermineTimeZoneOffset(&tm, session_timezone);
			if (!zone_counts && wall_time_skipped(&tm, fsec, tz))
				zone_counts = string_names_zone(text);
			if (tm2timestamp(&tm, fsec, zone_counts ? &tz : NULL, &stamp) != 0)
				ereport(ERROR,
						errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						errmsg("timestamp out of range: \"%s\"", text));
			local = zone_counts
				? DirectFunctionCall1(timestamptz_timestamp, TimestampTzGetDatum(stamp))
				: TimestampGetDatum(stamp);
			break;
		case DTK_EPOCH:
			/* "epoch" is 1970-01-01 00:00:00+00, an instant */
			local = DirectFunctionCall1(timestamptz_timestamp,
										TimestampTzGetDatum(SetEpochTimestamp()));
			break;
		case DTK_LATE:
			local = TimestampGetDatum(DT_NOEND);
			break;
		case DTK_EARLY:
			local = TimestampGetDatum(DT_NOBEGIN);
			break;
		default:
			elog(ERROR, "unexpected dtype %d while parsing timestamp \"%s\"",
				 dtype, text);
			local = (Datum) 0;	/* keep compiler quiet */
	}
	return col->typmod >= 0
		? DirectFunctionCall2(timestamp_scale, local, Int32GetDatum(col->typmod))
		: local;
}

static Datum
convert_timestamp(ClfColumn *col, json_object *value)
{
	TimestampTz ts;

	/*
	 * json-c saturates an integer beyond int64 at INT64_MAX, which is as far
	 * out of timestamp's range as the number sent: the same 22008.
	 */
	if (json_object_is_type(value, json_type_int))
		ts = epoch_to_timestamptz((double) json_object_get_int64(value));
	else if (json_object_is_type(value, json_type_double))
		ts = epoch_to_timestamptz(json_object_get_double(value));
	else if (json_object_is_type(value, json_type_string))
	{
		int			len;
		char	   *text = value_text(value, &len);

		/* epoch seconds sent as a string, which some gateways do */
		if (all_digits(text))
			ts = epoch_to_timestamptz(strtod(text, NULL));
		else if (col->kind == CLF_COL_TIMESTAMP)
			return local_time_of_string(col, text);
		else
			return call_input(col, text);
	}
	else
	{
		wrong_json_type(col, "epoch seconds or a timestamp string");
		return (Datum) 0;
	}

	/* a timestamp(p) column rounds as its input function would */
	if (col->kind == CLF_COL_TIMESTAMP)
	{
		Datum		local = DirectFunctionCall1(timestamptz_timestamp, TimestampTzGetDatum(ts));

		return col->typmod >= 0
			? DirectFunctionCall2(timestamp_scale, local, Int32GetDatum(col->typmod))
			: local;
	}
	return col->typmod >= 0
		? DirectFunctionCall2(timestamptz_scale, TimestampTzGetDatum(ts), Int32GetDatum(col->typmod))
		: TimestampTzGetDatum(ts);
}

static Datum
convert_value(ClfColumn *col, json_object *value)
{
	int			len;
	char	   *text;

	switch (col->kind)
	{
		case CLF_COL_TEXT:
			text = value_text(value, &len);
			if (col->typid == TEXTOID)
				return PointerGetDatum(cstring_to_text_with_len(text, len));
			return call_input(col, text);

		case CLF_COL_BOOL:
			if (json_object_is_type(value, json_type_boolean))
				return BoolGetDatum(json_object_get_boolean(value));
			if (json_object_is_type(value, json_type_int))
			{
				int64		v = json_object_get_int64(value);

				if (v == 0 || v == 1)
					return BoolGetDatum(v == 1);
			}
			else if (json_object_is_type(value, json_type_string))
				return call_input(col, value_text(value, &len));
			wrong_json_type(col, "true, false, 0 or 1");
			break;

		case CLF_COL_INT8:
		case CLF_COL_INT4:
		case CLF_COL_INT2:
			if (json_object_is_type(value, json_type_string))
				return call_input(col, value_text(value, &len));
			if (json_object_is_type(value, json_type_double))
				return json_fraction_integer(col, value);
			{
				int64		v = json_integer(col, value);

				if (col->kind == CLF_COL_INT8)
					return Int64GetDatum(v);
				if (col->kind == CLF_COL_INT4 && v >= PG_INT32_MIN && v <= PG_INT32_MAX)
					return Int32GetDatum((int32) v);
				if (col->kind == CLF_COL_INT2 && v >= PG_INT16_MIN && v <= PG_INT16_MAX)
					return Int16GetDatum((int16) v);
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("value " INT64_FORMAT " is out of range for type %s",
								v, format_type_be(col->typid)),
						 errhint("Declare the column as bigint.")));
			}
			break;

		case CLF_COL_TIMESTAMPTZ:
		case CLF_COL_TIMESTAMP:
			return convert_timestamp(col, value);

		case CLF_COL_JSON_VALUE:
		case CLF_COL_JSON_ITEM:
			{
				const char *json = json_text(value);

				text = pg_any_to_server(json, strlen(json), PG_UTF8);
				return call_input(col, text);
			}

		case CLF_COL_OTHER:
			return call_input(col, value_text(value, &len));

		case CLF_COL_SKIP:
		case CLF_COL_SOURCE:	/* filled without a value */
		case CLF_COL_NOT_NULL_ONLY:
			break;
	}
	return (Datum) 0;
}

/*
 * Fill values/isnull (natts entries) from one item.  A missing key or JSON
 * null is NULL (the column's or its domain's NOT NULL, or a domain's CHECK,
 * may refuse it); columns the query does not use are NULL, unchecked but
 * for the column's own NOT NULL.
 */
void
clf_convert_item(ClfRowConverter *conv, void *item_ptr, Datum *values, bool *isnull)
{
	json_object *item = (json_object *) item_ptr;
	ErrorContextCallback errcallback;

	memset(isnull, true, sizeof(bool) * conv->natts);

	errcallback.callback = conversion_error_context;
	errcallback.arg = conv;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	for (int n = 0; n < conv->nneeded; n++)
	{
		int			i = conv->needed[n];
		ClfColumn  *col = &conv->columns[i];
		json_object *value;

		if (col->kind == CLF_COL_SOURCE)
		{
			values[i] = col->source_value;
			isnull[i] = false;
			continue;
		}
		conv->current_column = i;
		conv->current_absent = false;
		if (col->whole_item)
			value = item;
		else if (!json_object_object_get_ex(item, col->lookup_key, &value))
		{
			value = NULL;
			conv->current_absent = true;
		}
		conv->current_value = value;
		if (col->kind == CLF_COL_NOT_NULL_ONLY)
		{
			if (value == NULL)
				report_not_null_violation(conv, col);
			continue;			/* not read: left NULL */
		}
		values[i] = (Datum) 0;
		if (value != NULL)
		{
			values[i] = convert_value(col, value);
			isnull[i] = false;
		}
		check_domain(conv, col, values[i], isnull[i]);
		if (isnull[i] && col->not_null)
			report_not_null_violation(conv, col);
	}
	conv->current_column = -1;
	conv->current_value = NULL;
	conv->current_absent = false;

	error_context_stack = errcallback.previous;
}
