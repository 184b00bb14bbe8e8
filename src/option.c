/*-------------------------------------------------------------------------
 *
 * option.c
 *		  Validation and lookup of contact_list_fdw's options.
 *
 * Secrets are only accepted in user mappings: PostgreSQL shows a user
 * mapping's options to its user and superusers only, while server and table
 * options are readable by anyone who can see the catalogs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <math.h>

#include "contact_list_fdw.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"

typedef enum ClfOptionType
{
	CLF_OPT_URL,
	CLF_OPT_PROXY,
	CLF_OPT_STRING,
	CLF_OPT_INT,
	CLF_OPT_INT64,
	CLF_OPT_REAL
} ClfOptionType;

typedef struct ClfOptionDef
{
	const char *name;
	Oid			context;		/* catalog the option may appear in */
	ClfOptionType type;
	int64		min;			/* for numbers */
	int64		max;
	bool		superuser_only; /* decides where the database host connects */
	int			offset;			/* where ClfOptions keeps it; -1: not there */
} ClfOptionDef;

#define OPT(field) offsetof(ClfOptions, field)

static const ClfOptionDef option_defs[] = {
	{"api_url", ForeignServerRelationId, CLF_OPT_URL, 0, 0, true, OPT(api_url)},
	{"timeout_ms", ForeignServerRelationId, CLF_OPT_INT, 1, 3600000, false, OPT(timeout_ms)},
	{"connect_timeout_ms", ForeignServerRelationId, CLF_OPT_INT, 1, 3600000, false, OPT(connect_timeout_ms)},
	{"page_size", ForeignServerRelationId, CLF_OPT_INT, 1, CLF_MAX_PAGE_SIZE, false, OPT(page_size)},
	{"max_retries", ForeignServerRelationId, CLF_OPT_INT, 0, 20, false, OPT(max_retries)},
	{"max_response_bytes", ForeignServerRelationId, CLF_OPT_INT64, 1024, INT64CONST(4294967296), false, OPT(max_response_bytes)},
	{"proxy", ForeignServerRelationId, CLF_OPT_PROXY, 0, 0, true, OPT(proxy)},
	{"ca_file", ForeignServerRelationId, CLF_OPT_STRING, 0, 0, true, OPT(ca_file)},
	{"request_cost", ForeignServerRelationId, CLF_OPT_REAL, 0, 0, false, OPT(request_cost)},
	{"row_cost", ForeignServerRelationId, CLF_OPT_REAL, 0, 0, false, OPT(row_cost)},
	{"max_concurrent_requests", ForeignServerRelationId, CLF_OPT_INT, 1, 10000, false, OPT(max_concurrent_requests)},

	{"corp_id", UserMappingRelationId, CLF_OPT_STRING, 0, 0, false, OPT(corp_id)},
	{"corp_secret", UserMappingRelationId, CLF_OPT_STRING, 0, 0, false, OPT(corp_secret)},
	{"access_token", UserMappingRelationId, CLF_OPT_STRING, 0, 0, false, OPT(access_token)},

	{"page_size", ForeignTableRelationId, CLF_OPT_INT, 1, CLF_MAX_PAGE_SIZE, false, OPT(page_size)},
	{"max_retries", ForeignTableRelationId, CLF_OPT_INT, 0, 20, false, OPT(max_retries)},
	{"rows_estimate", ForeignTableRelationId, CLF_OPT_REAL, 0, 0, false, OPT(rows_estimate)},

	{"field", AttributeRelationId, CLF_OPT_STRING, 0, 0, false, -1},
	{NULL, InvalidOid, CLF_OPT_STRING, 0, 0, false, -1}
};

static bool
is_secret_option(const char *name)
{
	return strcmp(name, "corp_secret") == 0 || strcmp(name, "access_token") == 0 ||
		strcmp(name, "corp_id") == 0;
}

static const ClfOptionDef *
find_option(const char *name, Oid context)
{
	for (const ClfOptionDef *def = option_defs; def->name; def++)
	{
		if (def->context == context && strcmp(def->name, name) == 0)
			return def;
	}
	return NULL;
}

/* PostgreSQL 18 replaced the trailing attribute with a leading pg_noreturn */
#if PG_VERSION_NUM >= 180000
pg_noreturn static void report_unknown_option(const char *name, Oid context);
#else
static void report_unknown_option(const char *name, Oid context) pg_attribute_noreturn();
#endif

static void
report_unknown_option(const char *name, Oid context)
{
	StringInfoData valid;

	if (context != UserMappingRelationId && is_secret_option(name))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("option \"%s\" is only allowed in a user mapping", name),
				 errdetail("Credentials set on a server or a foreign table are visible to every user who can read the catalogs."),
				 errhint("Put it in CREATE USER MAPPING ... OPTIONS (%s '...') instead.", name)));

	initStringInfo(&valid);
	for (const ClfOptionDef *def = option_defs; def->name; def++)
	{
		if (def->context == context)
			appendStringInfo(&valid, "%s%s", valid.len > 0 ? ", " : "", def->name);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("invalid option \"%s\"", name),
			 valid.len > 0
			 ? errhint("Valid options in this context are: %s.", valid.data)
			 : errhint("There are no valid options in this context.")));
}

/*
 * Is this "http://" URL's host a loopback address?  Plain HTTP is allowed
 * there only, for tests and local relays; the token must never cross a
 * network in clear text.
 */
bool
clf_url_is_loopback_http(const char *url)
{
	const char *host;
	const char *end;
	char		hostbuf[256];
	size_t		len;
	struct in_addr addr4;

	if (pg_strncasecmp(url, "http://", 7) != 0)
		return false;
	host = url + 7;

	/*
	 * Userinfo ("user:password@") anywhere in the authority would make the
	 * text before the '@' look like the host: "http://127.0.0.1:80@example.com/"
	 * connects to example.com.  Refuse rather than parse it.
	 */
	if (memchr(host, '@', strcspn(host, "/?#")) != NULL)
		return false;
	if (*host == '[')
	{
		end = strchr(host, ']');
		if (end == NULL)
			return false;
		host++;
	}
	else
		end = host + strcspn(host, ":/?#");
	len = end - host;
	if (len == 0 || len >= sizeof(hostbuf))
		return false;
	memcpy(hostbuf, host, len);
	hostbuf[len] = '\0';

	if (pg_strcasecmp(hostbuf, "localhost") == 0 || strcmp(hostbuf, "::1") == 0)
		return true;
	if (inet_pton(AF_INET, hostbuf, &addr4) == 1)
		return (ntohl(addr4.s_addr) >> 24) == 127;
	return false;
}

static void
validate_url(const char *name, const char *value)
{
	if (pg_strncasecmp(value, "https://", 8) == 0 && value[8] != '\0')
		return;
	if (clf_url_is_loopback_http(value))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
			 errdetail("The URL must start with https://; plain http:// is allowed only to a loopback address (127.0.0.0/8, ::1, localhost)."),
			 errhint("The WeCom API is at %s.", CLF_DEFAULT_API_URL)));
}

static void
validate_proxy(const char *value)
{
	static const char *const schemes[] = {"http://", "https://", "socks5://", "socks5h://", NULL};

	for (int i = 0; schemes[i]; i++)
	{
		size_t		len = strlen(schemes[i]);

		if (pg_strncasecmp(value, schemes[i], len) == 0 && value[len] != '\0')
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"proxy\": \"%s\"", value),
			 errdetail("The proxy must be given as http://host:port, https://host:port, socks5://host:port or socks5h://host:port.")));
}

static void
validate_value(const ClfOptionDef *def, const char *value)
{
	switch (def->type)
	{
		case CLF_OPT_URL:
			validate_url(def->name, value);
			break;
		case CLF_OPT_PROXY:
			validate_proxy(value);
			break;
		case CLF_OPT_STRING:
			if (value[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"%s\" must not be empty", def->name)));
			break;
		case CLF_OPT_INT:
		case CLF_OPT_INT64:
			{
				char	   *end;
				long long	parsed;

				errno = 0;
				parsed = strtoll(value, &end, 10);
				if (errno != 0 || end == value || *end != '\0' ||
					parsed < def->min || parsed > def->max)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("invalid value for option \"%s\": \"%s\"", def->name, value),
							 errdetail("The value must be a whole number from " INT64_FORMAT " to " INT64_FORMAT ".",
									   def->min, def->max)));
				break;
			}
		case CLF_OPT_REAL:
			{
				double		parsed;

				if (!parse_real(value, &parsed, 0, NULL) || parsed < 0 || isinf(parsed))
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("invalid value for option \"%s\": \"%s\"", def->name, value),
							 errdetail("The value must be a number not less than zero.")));
				break;
			}
	}
}

static void
validate_user_mapping(List *options)
{
	bool		has_id = false,
				has_secret = false,
				has_token = false;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		has_id |= strcmp(def->defname, "corp_id") == 0;
		has_secret |= strcmp(def->defname, "corp_secret") == 0;
		has_token |= strcmp(def->defname, "access_token") == 0;
	}
	if (has_token && (has_id || has_secret))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("options \"access_token\" and \"corp_id\"/\"corp_secret\" cannot be used together"),
				 errhint("Use access_token for a token managed elsewhere, or corp_id and corp_secret to let the wrapper fetch tokens.")));
	if (has_id != has_secret)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"%s\" is required with \"%s\"",
						has_id ? "corp_secret" : "corp_id",
						has_id ? "corp_id" : "corp_secret")));
}

PG_FUNCTION_INFO_V1(contact_list_fdw_validator);

Datum
contact_list_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);
		const ClfOptionDef *optdef = find_option(def->defname, catalog);
		char	   *value;

		if (optdef == NULL)
			report_unknown_option(def->defname, catalog);
		if (optdef->superuser_only && !superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to set option \"%s\"", def->defname),
					 errdetail("Option \"%s\" decides where the database server connects to, so only superusers may set it.",
							   def->defname)));
		value = defGetString(def);
		validate_value(optdef, value);
	}

	if (catalog == UserMappingRelationId)
		validate_user_mapping(options);

	PG_RETURN_VOID();
}

/* Store each option of a catalog's list where option_defs says. */
static void
apply_options(ClfOptions *opts, List *options, Oid context)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);
		const ClfOptionDef *optdef = find_option(def->defname, context);
		char	   *value = defGetString(def);
		char	   *field;

		if (optdef == NULL || optdef->offset < 0)
			continue;			/* the validator let it in: nothing to keep */
		field = (char *) opts + optdef->offset;
		switch (optdef->type)
		{
			case CLF_OPT_URL:
				{
					char	   *url = pstrdup(value);
					size_t		len = strlen(url);

					/* the paths are appended with their own slash */
					while (len > 0 && url[len - 1] == '/')
						url[--len] = '\0';
					*(char **) field = url;
					break;
				}
			case CLF_OPT_PROXY:
			case CLF_OPT_STRING:
				*(char **) field = pstrdup(value);
				break;
			case CLF_OPT_INT:
				*(int *) field = pg_strtoint32(value);
				break;
			case CLF_OPT_INT64:
				*(int64 *) field = pg_strtoint64(value);
				break;
			case CLF_OPT_REAL:
				*(double *) field = strtod(value, NULL);
				break;
		}
	}
}

void
clf_options_for_server(Oid serverid, ClfOptions *opts)
{
	ForeignServer *server = GetForeignServer(serverid);

	memset(opts, 0, sizeof(*opts));
	opts->serverid = serverid;
	opts->server_name = pstrdup(server->servername);
	opts->api_url = CLF_DEFAULT_API_URL;
	opts->timeout_ms = CLF_DEFAULT_TIMEOUT_MS;
	opts->connect_timeout_ms = CLF_DEFAULT_CONNECT_TIMEOUT_MS;
	opts->page_size = CLF_DEFAULT_PAGE_SIZE;
	opts->max_retries = CLF_DEFAULT_MAX_RETRIES;
	opts->max_response_bytes = CLF_DEFAULT_MAX_RESPONSE_BYTES;
	opts->request_cost = CLF_DEFAULT_REQUEST_COST;
	opts->row_cost = CLF_DEFAULT_ROW_COST;
	opts->rows_estimate = -1;
	apply_options(opts, server->options, ForeignServerRelationId);
}

void
clf_options_for_table(Oid foreigntableid, ClfOptions *opts)
{
	ForeignTable *table = GetForeignTable(foreigntableid);

	clf_options_for_server(table->serverid, opts);
	apply_options(opts, table->options, ForeignTableRelationId);
}

/*
 * Add the credentials of userid's user mapping (or PUBLIC's) to opts.  A
 * missing mapping is an error that names the server, which
 * GetUserMapping's own message does not.
 */
void
clf_options_add_user_mapping(ClfOptions *opts, Oid userid)
{
	UserMapping *mapping;

	if (!SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(userid),
							   ObjectIdGetDatum(opts->serverid)) &&
		!SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
							   ObjectIdGetDatum(opts->serverid)))
	{
		char	   *username = GetUserNameFromId(userid, false);

		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("user mapping not found for user \"%s\" and server \"%s\"",
						username, opts->server_name),
				 errhint("Create one with CREATE USER MAPPING FOR \"%s\" SERVER \"%s\" OPTIONS (corp_id '...', corp_secret '...').",
						 username, opts->server_name)));
	}

	mapping = GetUserMapping(userid, opts->serverid);
	opts->userid = userid;
	opts->have_user_mapping = true;
	apply_options(opts, mapping->options, UserMappingRelationId);

	if (opts->access_token == NULL && (opts->corp_id == NULL || opts->corp_secret == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("user mapping for server \"%s\" has no credentials", opts->server_name),
				 errhint("Set corp_id and corp_secret, or access_token, with ALTER USER MAPPING.")));
	if (opts->corp_secret)
		clf_digest_secret(opts->corp_secret, opts->secret_digest);
}

/*
 * The JSON key a column reads: its "field" option, else its name.
 */
char *
clf_column_json_key(Oid relid, AttrNumber attnum, const char *attname,
					bool *explicit_field)
{
	List	   *options = GetForeignColumnOptions(relid, attnum);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, "field") == 0)
		{
			*explicit_field = true;
			return defGetString(def);
		}
	}
	*explicit_field = false;
	return pstrdup(attname);
}
