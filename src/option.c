/*-------------------------------------------------------------------------
 *
 * option.c
 *		  Validation and lookup of contact_list_fdw's options.
 *
 * Secrets are only accepted in user mappings: PostgreSQL shows a user
 * mapping's options to its user and superusers only, while server and table
 * options are readable by anyone who can see the catalogs.  Except that
 * pg_user_mappings (and information_schema) shows a PUBLIC mapping's
 * options to the members of the server owner's role too: a server given
 * to a role shows it the secret of a PUBLIC mapping on it.  That is
 * PostgreSQL's rule, beyond a validator's reach; the README says so.
 *
 * api_url, proxy and ca_file decide where the database host connects, so
 * only a superuser may decide them: the validator refuses them from anyone
 * else, a hook on ALTER SERVER refuses their removal or change (the
 * validator sees only the new list), and a server without them takes the
 * wrapper's (ALTER FOREIGN DATA WRAPPER is for superusers only), then the
 * superuser-only settings contact_list_fdw.api_url, .proxy and .ca_file.
 * A session can make a setting lose the value a superuser gave it (see
 * clf_options_init): then it does not connect on that setting's word.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <math.h>

#include <curl/curl.h>

#include "option.h"
#include "redact.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

typedef enum ClfOptionType
{
	CLF_OPT_URL,
	CLF_OPT_PROXY,
	CLF_OPT_STRING,
	CLF_OPT_INT,
	CLF_OPT_INT64,
	CLF_OPT_REAL,
	CLF_OPT_BOOL
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

/* 4 GB, but never more than a size_t holds (4 GB - 1 on 32-bit builds) */
#define CLF_MAX_RESPONSE_BYTES ((int64) Min(UINT64CONST(4294967296), (uint64) SIZE_MAX))

static const ClfOptionDef option_defs[] = {
	{"api_url", ForeignServerRelationId, CLF_OPT_URL, 0, 0, true, OPT(api_url)},
	{"timeout_ms", ForeignServerRelationId, CLF_OPT_INT, 1, 3600000, false, OPT(timeout_ms)},
	{"connect_timeout_ms", ForeignServerRelationId, CLF_OPT_INT, 1, 3600000, false, OPT(connect_timeout_ms)},
	{"page_size", ForeignServerRelationId, CLF_OPT_INT, 1, CLF_MAX_PAGE_SIZE, false, OPT(page_size)},
	{"max_retries", ForeignServerRelationId, CLF_OPT_INT, 0, 20, false, OPT(max_retries)},
	{"max_response_bytes", ForeignServerRelationId, CLF_OPT_INT64, 1024, CLF_MAX_RESPONSE_BYTES, false, OPT(max_response_bytes)},
	{"proxy", ForeignServerRelationId, CLF_OPT_PROXY, 0, 0, true, OPT(proxy)},
	{"ca_file", ForeignServerRelationId, CLF_OPT_STRING, 0, 0, true, OPT(ca_file)},
	{"request_cost", ForeignServerRelationId, CLF_OPT_REAL, 0, 0, false, OPT(request_cost)},
	{"row_cost", ForeignServerRelationId, CLF_OPT_REAL, 0, 0, false, OPT(row_cost)},
	{"max_concurrent_requests", ForeignServerRelationId, CLF_OPT_INT, 1, 10000, false, OPT(max_concurrent_requests)},
	{"async_capable", ForeignServerRelationId, CLF_OPT_BOOL, 0, 0, false, OPT(async_capable)},

	{"corp_id", UserMappingRelationId, CLF_OPT_STRING, 0, 0, false, OPT(corp_id)},
	{"corp_secret", UserMappingRelationId, CLF_OPT_STRING, 0, 0, false, OPT(corp_secret)},
	{"access_token", UserMappingRelationId, CLF_OPT_STRING, 0, 0, false, OPT(access_token)},
	{"proxy_user", UserMappingRelationId, CLF_OPT_STRING, 0, 0, false, OPT(proxy_user)},
	{"proxy_password", UserMappingRelationId, CLF_OPT_STRING, 0, 0, false, OPT(proxy_password)},

	{"page_size", ForeignTableRelationId, CLF_OPT_INT, 1, CLF_MAX_PAGE_SIZE, false, OPT(page_size)},
	{"max_retries", ForeignTableRelationId, CLF_OPT_INT, 0, 20, false, OPT(max_retries)},
	{"rows_estimate", ForeignTableRelationId, CLF_OPT_REAL, 0, 0, false, OPT(rows_estimate)},
	{"async_capable", ForeignTableRelationId, CLF_OPT_BOOL, 0, 0, false, OPT(async_capable)},

	{"field", AttributeRelationId, CLF_OPT_STRING, 0, 0, false, -1},
	{"source", AttributeRelationId, CLF_OPT_STRING, 0, 0, false, -1},

	/* defaults of every server, where no session can reach them */
	{"api_url", ForeignDataWrapperRelationId, CLF_OPT_URL, 0, 0, true, OPT(api_url)},
	{"proxy", ForeignDataWrapperRelationId, CLF_OPT_PROXY, 0, 0, true, OPT(proxy)},
	{"ca_file", ForeignDataWrapperRelationId, CLF_OPT_STRING, 0, 0, true, OPT(ca_file)},
	{NULL, InvalidOid, CLF_OPT_STRING, 0, 0, false, -1}
};

/* The superuser's defaults for servers that do not set these options. */
static char *clf_default_api_url = NULL;
static char *clf_default_proxy = NULL;
static char *clf_default_ca_file = NULL;

/* The settings, as the options they stand for; see clf_options_init */
typedef struct ClfSetting
{
	const char *name;
	const char *option;
	bool		discarded;		/* a value was refused when it was defined */
} ClfSetting;

static struct config_generic *find_setting(const char *name);

static ClfSetting settings[] = {
	{"contact_list_fdw.api_url", "api_url", false},
	{"contact_list_fdw.proxy", "proxy", false},
	{"contact_list_fdw.ca_file", "ca_file", false},
};

static object_access_hook_type prev_object_access_hook = NULL;

static char *option_value(List *options, const char *name);

static bool
is_secret_option(const char *name)
{
	return strcmp(name, "corp_secret") == 0 || strcmp(name, "access_token") == 0 ||
		strcmp(name, "corp_id") == 0 || strcmp(name, "proxy_user") == 0 ||
		strcmp(name, "proxy_password") == 0;
}

static const ClfOptionDef *
find_option_def(const char *name, Oid context)
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
				 errdetail("Options of a foreign data wrapper, a server, a foreign table or a column are visible to every user who can read the catalogs."),
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
 * May the URL carry userinfo ("user:password@")?  Server options and
 * settings are readable by every user, and libcurl would also quote the URL
 * in its messages.  Any "@" counts: a password may hold "/", "?" or "#",
 * which would make the userinfo look like a path, and neither WeCom's URLs
 * nor a proxy's need an "@" anywhere else.
 */
static bool
url_has_userinfo(const char *url)
{
	return strchr(url, '@') != NULL;
}

/*
 * What url_syntax_problem and api_url_problem say when libcurl ran out of
 * memory.  The check hooks of the settings report it with SQLSTATE 53200
 * and return false, as PostgreSQL asks of a check hook: an ERROR there
 * would end a connection whose role or database has the setting, or a
 * LOAD of the library when a placeholder has it, where PostgreSQL itself
 * would only warn of a value it refuses.  The validators raise it.
 */
static const char url_out_of_memory[] = "out of memory";

/*
 * libcurl takes port 0 ("https://host:0/"), which nothing can connect to:
 * every request would fail as a connection refused, so it is refused here.
 */
static CURLUcode
port_problem(CURLU *parsed)
{
	char	   *port = NULL;
	CURLUcode	rc = curl_url_get(parsed, CURLUPART_PORT, &port, 0);

	if (rc == CURLUE_NO_PORT)
		return CURLUE_OK;
	if (rc == CURLUE_OK && strtol(port, NULL, 10) == 0)
		rc = CURLUE_BAD_PORT_NUMBER;
	curl_free(port);
	return rc;
}

/*
 * libcurl's parse of url, as it parses a request's URL and a proxy's when
 * a request starts (the same flags), or NULL with *rc saying why
 * (CURLUE_OUT_OF_MEMORY when curl_url() failed).  The caller frees it with
 * curl_url_cleanup.  It raises no ERROR: the check hooks call it.
 */
static CURLU *
url_parse(const char *url, CURLUcode *rc)
{
	CURLU	   *parsed = curl_url();

#ifdef CLF_FAULT_INJECTION
	/* curl_url() out of memory */
	if (parsed != NULL && fault_at("url_parse"))
	{
		curl_url_cleanup(parsed);
		parsed = NULL;
	}
#endif
	if (parsed == NULL)
	{
		*rc = CURLUE_OUT_OF_MEMORY;
		return NULL;
	}
	*rc = curl_url_set(parsed, CURLUPART_URL, url,
					   CURLU_NON_SUPPORT_SCHEME | CURLU_GUESS_SCHEME);
	if (*rc == CURLUE_OK)
		*rc = port_problem(parsed);
	if (*rc != CURLUE_OK)
	{
		curl_url_cleanup(parsed);
		return NULL;
	}
	return parsed;
}

/*
 * Why libcurl refused a URL (rc is not CURLUE_OK).  The cases a user is
 * likely to meet get words of our own, stable across libcurl releases.
 */
static const char *
url_parse_problem(CURLUcode rc)
{
	switch (rc)
	{
		case CURLUE_OUT_OF_MEMORY:
			return url_out_of_memory;
		case CURLUE_BAD_PORT_NUMBER:
			return "The port must be a number from 1 to 65535.";
		case CURLUE_BAD_IPV6:
			return "The host is not valid: an IPv6 address goes between \"[\" and \"]\", as in [::1]:8443.";
		default:
			return psprintf("libcurl cannot parse it as a URL: %s.", curl_url_strerror(rc));
	}
}

/*
 * Why libcurl would refuse url, or NULL if it takes it: a URL set now is
 * one a scan can use, so a port beyond 65535 or an unclosed "[" fails
 * here, not at the first scan.
 */
static const char *
url_syntax_problem(const char *url)
{
	CURLUcode	rc;
	CURLU	   *parsed = url_parse(url, &rc);

	if (parsed == NULL)
		return url_parse_problem(rc);
	curl_url_cleanup(parsed);
	return NULL;
}

/*
 * Is the host of a URL libcurl parsed a loopback address?  Plain HTTP is
 * allowed there only, for tests and local relays; the token must never
 * cross a network in clear text.  The host is libcurl's, the one a request
 * connects to, so what is checked cannot differ from where the request
 * goes: userinfo ("127.0.0.1@evil.example") is not the host, and an IPv4
 * address libcurl normalises ("127.1", "0x7f.0.0.1" are 127.0.0.1) counts
 * as the address it connects to.  Loopback is "localhost" (any case), an
 * IPv4 address in 127.0.0.0/8, or the IPv6 address ::1.  *rc is
 * CURLUE_OUT_OF_MEMORY when libcurl could not say.
 */
static bool
url_host_is_loopback(CURLU *parsed, CURLUcode *rc)
{
	char	   *host;
	size_t		len;
	unsigned char addr[sizeof(struct in6_addr)];
	bool		loopback = false;

	*rc = curl_url_get(parsed, CURLUPART_HOST, &host, 0);
	if (*rc != CURLUE_OK)
		return false;
	len = strlen(host);
	if (pg_strcasecmp(host, "localhost") == 0)
		loopback = true;
	else if (inet_pton(AF_INET, host, addr) == 1)
		loopback = addr[0] == 127;
	else if (len > 2 && host[0] == '[' && host[len - 1] == ']')
	{
		/* libcurl gives an IPv6 host in brackets, its zone id apart */
		host[len - 1] = '\0';
		loopback = inet_pton(AF_INET6, host + 1, addr) == 1 &&
			IN6_IS_ADDR_LOOPBACK((struct in6_addr *) addr);
	}
	curl_free(host);
	return loopback;
}

/*
 * Why url cannot be the api_url, or NULL if it can.  An "http://" URL is
 * parsed once, for its syntax and its host.
 */
static const char *
api_url_problem(const char *url)
{
	/*
	 * A request's path and query are appended to api_url: after a "?" of
	 * its own they would be a query's text, and libcurl drops a fragment,
	 * the corpsecret with it, so every request would reach some other page.
	 */
	if (strpbrk(url, "?#") != NULL)
		return "The URL must have no query (\"?\") and no fragment (\"#\"): the API's paths and parameters are appended to it.";
	if (pg_strncasecmp(url, "https://", 8) == 0 && url[8] != '\0')
		return url_syntax_problem(url);
	if (pg_strncasecmp(url, "http://", 7) == 0)
	{
		CURLUcode	rc;
		CURLU	   *parsed = url_parse(url, &rc);
		bool		loopback;

		if (parsed == NULL)
			return url_parse_problem(rc);
		loopback = url_host_is_loopback(parsed, &rc);
		curl_url_cleanup(parsed);
		if (rc == CURLUE_OUT_OF_MEMORY)
			return url_out_of_memory;
		if (loopback)
			return NULL;
	}
	return "The URL must start with https://; plain http:// is allowed only to a loopback address (127.0.0.0/8, ::1, localhost).";
}

/* Why value cannot be the proxy, or NULL if it can. */
static const char *
proxy_problem(const char *value)
{
	static const char *const schemes[] = {"http://", "https://", "socks5://", "socks5h://", NULL};

	for (int i = 0; schemes[i]; i++)
	{
		size_t		len = strlen(schemes[i]);

		if (pg_strncasecmp(value, schemes[i], len) == 0 && value[len] != '\0')
			return url_syntax_problem(value);
	}
	return "The proxy must be given as http://host:port, https://host:port, socks5://host:port or socks5h://host:port.";
}

/* The error for a URL with userinfo: it does not quote the value. */
static void
report_userinfo(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("option \"%s\" must not contain a user name or password", name),
			 errdetail("Options of a foreign data wrapper or a server can be read by every user, so no \"@\" is accepted in it."),
			 strcmp(name, "proxy") == 0
			 ? errhint("Put the proxy's credentials in the user mapping options proxy_user and proxy_password.")
			 : errhint("The WeCom API needs no user name or password in its URL.")));
}

/* A validator's error for url_out_of_memory (a check hook's is guc_url_problem's). */
#if PG_VERSION_NUM >= 180000
pg_noreturn static void report_url_out_of_memory(void);
#else
static void report_url_out_of_memory(void) pg_attribute_noreturn();
#endif

static void
report_url_out_of_memory(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory")));
}

/*
 * Does the URL's path end in /cgi-bin (trailing slashes aside)?  The path
 * is libcurl's, as for the host: "https:///cgi-bin" is the host "cgi-bin"
 * and the path "/" to it, and "/wecom/../cgi-bin" is "/cgi-bin".  A URL
 * libcurl cannot parse was refused before; none is no path.
 */
static bool
url_path_is_cgi_bin(const char *url)
{
	CURLUcode	rc;
	CURLU	   *parsed = url_parse(url, &rc);
	char	   *path = NULL;
	size_t		len;
	bool		is_cgi_bin;

	if (parsed != NULL)
	{
		rc = curl_url_get(parsed, CURLUPART_PATH, &path, 0);
		curl_url_cleanup(parsed);
	}
	if (rc == CURLUE_OUT_OF_MEMORY)
		report_url_out_of_memory();
	if (path == NULL)
		return false;
	len = strlen(path);
	while (len > 0 && path[len - 1] == '/')
		len--;
	is_cgi_bin = len >= 8 && strncmp(path + len - 8, "/cgi-bin", 8) == 0;
	curl_free(path);
	return is_cgi_bin;
}

static void
validate_url(const char *name, const char *value)
{
	const char *problem;

	if (url_has_userinfo(value))
		report_userinfo(name);
	problem = api_url_problem(value);
	if (problem == url_out_of_memory)
		report_url_out_of_memory();
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errdetail("%s", problem),
				 errhint("The WeCom API is at %s.", CLF_DEFAULT_API_URL)));

	/*
	 * Only a warning: a relay may serve the API elsewhere.  But the paths
	 * are appended to api_url, so without WeCom's own /cgi-bin every request
	 * would be answered 404, long after the server was created.
	 */
	if (!url_path_is_cgi_bin(value))
		ereport(WARNING,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("option \"%s\" does not end with the API's path /cgi-bin: \"%s\"",
						name, value),
				 errdetail("Requests go to the URL followed by /gettoken and /externalcontact/contact_list."),
				 errhint("The WeCom API is at %s.", CLF_DEFAULT_API_URL)));
}

static void
validate_proxy(const char *value)
{
	const char *problem;

	if (url_has_userinfo(value))
		report_userinfo("proxy");
	problem = proxy_problem(value);
	if (problem == url_out_of_memory)
		report_url_out_of_memory();
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"proxy\": \"%s\"", value),
				 errdetail("%s", problem)));
}

/*
 * Plain http:// through a proxy would hand the proxy the gettoken URL,
 * corpsecret included, and every access token, in clear text: a loopback
 * api_url is the proxy's loopback, reached across the network.  With
 * https://, the proxy only relays an encrypted tunnel (CONNECT).
 */
static void
check_plain_http_proxy(const char *api_url, const char *proxy, bool from_settings)
{
	if (proxy == NULL || proxy[0] == '\0' || pg_strncasecmp(api_url, "http://", 7) != 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("a plain http:// api_url cannot be used with a proxy"),
			 errdetail("The proxy would receive the corp_secret and the access tokens in clear text."),
			 from_settings
			 ? errhint("Use an https:// api_url, or ask a superuser to give the server the option proxy '' (none), or to change the options of the server or of the wrapper, or the settings contact_list_fdw.api_url and contact_list_fdw.proxy.")
			 : errhint("Use an https:// api_url, or remove the proxy.")));
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
			/* "": no proxy, whatever the wrapper or the setting says */
			if (value[0] != '\0')
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
		case CLF_OPT_BOOL:
			if (!parse_bool(value, NULL))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"%s\": \"%s\"", def->name, value),
						 errdetail("The value must be a Boolean: on or off, true or false.")));
			break;
	}
}

static void
validate_user_mapping(List *options)
{
	bool		has_id = false,
				has_secret = false,
				has_token = false,
				has_proxy_user = false,
				has_proxy_password = false;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		has_id |= strcmp(def->defname, "corp_id") == 0;
		has_secret |= strcmp(def->defname, "corp_secret") == 0;
		has_token |= strcmp(def->defname, "access_token") == 0;
		has_proxy_user |= strcmp(def->defname, "proxy_user") == 0;
		has_proxy_password |= strcmp(def->defname, "proxy_password") == 0;
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
	if (has_proxy_user != has_proxy_password)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"%s\" is required with \"%s\"",
						has_proxy_user ? "proxy_password" : "proxy_user",
						has_proxy_user ? "proxy_user" : "proxy_password")));
}

/*
 * A column either reads a JSON key ("field") or says where its row came
 * from ("source"), never both.  Only the server's name is offered as a
 * source: it is what a partitioned table over one foreign table per corp
 * lists its partitions by, and unlike the user mapping's corp_id it is no
 * secret from the table's readers.
 */
static void
validate_column(List *options)
{
	const char *field = option_value(options, "field");
	const char *source = option_value(options, "source");

	if (source && strcmp(source, "server") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"source\": \"%s\"", source),
				 errdetail("The only source is \"server\": the name of the table's foreign server.")));
	if (source && field)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("options \"field\" and \"source\" cannot be used together"),
				 errhint("A column either reads a key of the item (\"field\") or names the server the row came from (\"source\").")));
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
		const ClfOptionDef *optdef = find_option_def(def->defname, catalog);
		char	   *value;

		if (optdef == NULL)
			report_unknown_option(def->defname, catalog);
		/*
		 * The options given are the object's whole new list: an option kept
		 * from before is among them, so the message fits a change of
		 * another option too.  (Only superusers may create or alter a
		 * wrapper: whoever gets here is setting a server's.)
		 */
		if (optdef->superuser_only && !superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to set the options of a server with option \"%s\"",
							def->defname),
					 errdetail("Option \"%s\" decides where the database server connects to, so only superusers may set it, or change a server that has it.",
							   def->defname)));
		value = defGetString(def);
		validate_value(optdef, value);
	}

	if (catalog == UserMappingRelationId)
		validate_user_mapping(options);
	if (catalog == AttributeRelationId)
		validate_column(options);
	if (catalog == ForeignServerRelationId || catalog == ForeignDataWrapperRelationId)
	{
		const char *api_url = NULL;
		const char *proxy = NULL;

		foreach(lc, options)
		{
			DefElem    *def = lfirst_node(DefElem, lc);

			if (strcmp(def->defname, "api_url") == 0)
				api_url = defGetString(def);
			else if (strcmp(def->defname, "proxy") == 0)
				proxy = defGetString(def);
		}
		if (api_url)
			check_plain_http_proxy(api_url, proxy, false);
	}

	PG_RETURN_VOID();
}

/* the paths are appended with their own slash */
static char *
url_without_trailing_slash(const char *value)
{
	char	   *url = pstrdup(value);
	size_t		len = strlen(url);

	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	return url;
}

/* Store each option of a catalog's list where option_defs says. */
static void
apply_options(ClfOptions *opts, List *options, Oid context)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);
		const ClfOptionDef *optdef = find_option_def(def->defname, context);
		char	   *value = defGetString(def);
		char	   *field;

		if (optdef == NULL || optdef->offset < 0)
			continue;			/* the validator let it in: nothing to keep */
		field = (char *) opts + optdef->offset;
		switch (optdef->type)
		{
			case CLF_OPT_URL:
				*(char **) field = url_without_trailing_slash(value);
				break;
			case CLF_OPT_PROXY:
				*(char **) field = value[0] != '\0' ? pstrdup(value) : NULL;
				break;
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
			case CLF_OPT_BOOL:
				(void) parse_bool(value, (bool *) field);
				break;
		}
	}
}

/*
 * A server that takes one of api_url, proxy, ca_file from a setting whose
 * value was discarded: refuse, rather than connect where the superuser did
 * not say.  Once the setting has a value again (a reload of the
 * configuration, a superuser's SET), that value was accepted, so it is a
 * superuser's: only the built-in default is refused.
 */
static void
check_discarded_settings(List *fdw_options, List *server_options)
{
	for (int i = 0; i < lengthof(settings); i++)
	{
		struct config_generic *var;

		if (!settings[i].discarded ||
			option_value(server_options, settings[i].option) != NULL ||
			option_value(fdw_options, settings[i].option) != NULL)
			continue;
		var = find_setting(settings[i].name);
		if (var != NULL && var->source != PGC_S_DEFAULT)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("setting \"%s\" lost its configured value in this session",
						settings[i].name),
				 errdetail("A value of the setting was refused when contact_list_fdw was loaded in this session: one given by a user who may not set it (for example with PGOPTIONS), or an invalid one. This session does not know the value a superuser configured, and does not connect without it."),
				 errhint("Reconnect without setting \"%s\", or correct its value in the configuration and reload it. A superuser can set it where no session can change it: ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (%s '...').",
						 settings[i].name, settings[i].option)));
	}
}

/*
 * Does fdw check its options with contact_list_fdw_validator?  A wrapper
 * made with our handler alone does not.
 */
static bool
wrapper_validates_options(ForeignDataWrapper *fdw)
{
	FmgrInfo	finfo;

	if (!OidIsValid(fdw->fdwvalidator))
		return false;
	fmgr_info(fdw->fdwvalidator, &finfo);
	return finfo.fn_addr == contact_list_fdw_validator;
}

void
clf_options_for_server(Oid serverid, ClfOptions *opts)
{
	ForeignServer *server = GetForeignServer(serverid);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);

	/*
	 * Without our validator in the wrapper, nobody checked who set api_url,
	 * proxy or ca_file, nor that a secret sits only in a user mapping.
	 */
	if (!wrapper_validates_options(fdw))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("foreign-data wrapper \"%s\" of server \"%s\" does not validate contact_list_fdw's options",
						fdw->fdwname, server->servername),
				 errdetail("The server's options were never checked, so they may say where to connect without a superuser's consent."),
				 errhint("Use the wrapper contact_list_fdw, or have a superuser check the options of this wrapper's servers, then run ALTER FOREIGN DATA WRAPPER ... VALIDATOR contact_list_fdw_validator.")));

	memset(opts, 0, sizeof(*opts));
	opts->serverid = serverid;
	opts->read_at = GetCurrentTimestamp();
	opts->server_name = pstrdup(server->servername);
	opts->api_url = url_without_trailing_slash(clf_default_api_url);
	if (clf_default_proxy[0] != '\0')
		opts->proxy = pstrdup(clf_default_proxy);
	if (clf_default_ca_file[0] != '\0')
		opts->ca_file = pstrdup(clf_default_ca_file);
	opts->timeout_ms = CLF_DEFAULT_TIMEOUT_MS;
	opts->connect_timeout_ms = CLF_DEFAULT_CONNECT_TIMEOUT_MS;
	opts->page_size = CLF_DEFAULT_PAGE_SIZE;
	opts->max_retries = CLF_DEFAULT_MAX_RETRIES;
	opts->max_response_bytes = CLF_DEFAULT_MAX_RESPONSE_BYTES;
	opts->request_cost = CLF_DEFAULT_REQUEST_COST;
	opts->row_cost = CLF_DEFAULT_ROW_COST;
	opts->rows_estimate = -1;
	/* precedence: server option, wrapper option, setting, built-in default */
	apply_options(opts, fdw->options, ForeignDataWrapperRelationId);
	apply_options(opts, server->options, ForeignServerRelationId);
	check_discarded_settings(fdw->options, server->options);
	/* the wrapper or the settings may have made a combination never validated */
	check_plain_http_proxy(opts->api_url, opts->proxy, true);
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
 * What a column holds, from one read of its options: the JSON key it reads
 * (its "field" option, else its name), and whether its "source" option
 * fills it with the server's name instead (the only source the validator
 * lets through).
 */
char *
clf_column_json_key(Oid relid, AttrNumber attnum, const char *attname,
					bool *explicit_field, bool *from_source)
{
	List	   *options = GetForeignColumnOptions(relid, attnum);
	char	   *field = option_value(options, "field");

	*from_source = option_value(options, "source") != NULL;
	*explicit_field = field != NULL;
	return field ? field : pstrdup(attname);
}

/*
 * A check hook's report of problem, if any (true): out of memory with its
 * own SQLSTATE, not an ERROR (see url_out_of_memory), else the generic
 * "invalid value" with problem as the detail.
 */
static bool
guc_url_problem(const char *problem)
{
	if (problem == NULL)
		return false;
	if (problem == url_out_of_memory)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return true;
	}
	GUC_check_errdetail("%s", problem);
	return true;
}

/*
 * A check hook's report of userinfo in the value of the setting
 * contact_list_fdw.name, if it has any (true).  PostgreSQL's own message
 * for a refused setting quotes the value, so this one is ours and does not.
 */
static bool
guc_url_userinfo(const char *value, const char *name)
{
	if (!url_has_userinfo(value))
		return false;
	GUC_check_errmsg("setting \"contact_list_fdw.%s\" must not contain a user name or password", name);
	GUC_check_errdetail("Settings can be read by every user, so no \"@\" is accepted in them.");
	if (strcmp(name, "proxy") == 0)
		GUC_check_errhint("Put the proxy's credentials in the user mapping options proxy_user and proxy_password.");
	return true;
}

/*
 * Check hooks of the settings: the rules of the server options.  Userinfo
 * is refused before anything else (guc_url_userinfo), so that no message
 * quotes it.
 */
static bool
check_default_api_url(char **newval, void **extra, GucSource source)
{
	/*
	 * The built-in default is WeCom's own URL, known good, and a refused
	 * boot value is FATAL: loading the library (LOAD, or the first use in
	 * a session on 17 and later) must not depend on libcurl's memory.
	 */
	if (strcmp(*newval, CLF_DEFAULT_API_URL) == 0)
		return true;
	if (guc_url_userinfo(*newval, "api_url"))
		return false;
	return !guc_url_problem(api_url_problem(*newval));
}

static bool
check_default_proxy(char **newval, void **extra, GucSource source)
{
	if ((*newval)[0] == '\0')
		return true;
	if (guc_url_userinfo(*newval, "proxy"))
		return false;
	return !guc_url_problem(proxy_problem(*newval));
}

/* Is this server one of ours?  Its wrapper's validator tells. */
static bool
is_our_server(Form_pg_foreign_server form)
{
	return wrapper_validates_options(GetForeignDataWrapper(form->srvfdw));
}

static char *
option_value(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

static List *
server_tuple_options(HeapTuple tuple)
{
	bool		isnull;
	Datum		datum = SysCacheGetAttr(FOREIGNSERVEROID, tuple,
										Anum_pg_foreign_server_srvoptions, &isnull);

	return isnull ? NIL : untransformRelOptions(datum);
}

/*
 * After ALTER SERVER by a non-superuser: did it remove or change an option
 * only a superuser may set?  The validator cannot tell, as it sees the new
 * list only.  The catalog row is updated but the command counter is not yet
 * advanced, so the syscache still has the old row and a SnapshotSelf scan
 * finds the new one (as sepgsql does).
 */
static void
check_server_alter(Oid serverid)
{
	HeapTuple	oldtup;
	HeapTuple	newtup;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	List	   *old_options;
	List	   *new_options;

	oldtup = SearchSysCache1(FOREIGNSERVEROID, ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(oldtup))
		return;
	if (!is_our_server((Form_pg_foreign_server) GETSTRUCT(oldtup)))
	{
		ReleaseSysCache(oldtup);
		return;
	}
	old_options = server_tuple_options(oldtup);
	ReleaseSysCache(oldtup);

	rel = table_open(ForeignServerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_foreign_server_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(serverid));
	scan = systable_beginscan(rel, ForeignServerOidIndexId, true, SnapshotSelf, 1, &key);
	newtup = systable_getnext(scan);
	new_options = NIL;
	if (HeapTupleIsValid(newtup))
	{
		bool		isnull;
		Datum		datum = heap_getattr(newtup, Anum_pg_foreign_server_srvoptions,
										 RelationGetDescr(rel), &isnull);

		if (!isnull)
			new_options = untransformRelOptions(datum);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	for (const ClfOptionDef *def = option_defs; def->name; def++)
	{
		char	   *before;
		char	   *after;

		if (def->context != ForeignServerRelationId || !def->superuser_only)
			continue;
		before = option_value(old_options, def->name);
		after = option_value(new_options, def->name);
		if (before == NULL || (after != NULL && strcmp(before, after) == 0))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s option \"%s\"",
						after ? "change" : "remove", def->name),
				 errdetail("Option \"%s\" decides where the database server connects to, so only superusers may change or remove it.",
						   def->name)));
	}
}

static void
clf_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				  int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_POST_ALTER && classId == ForeignServerRelationId && !superuser())
		check_server_alter(objectId);
}

/* A setting or its placeholder, NULL if there is none. */
static struct config_generic *
find_setting(const char *name)
{
#if PG_VERSION_NUM >= 160000
	return find_option(name, false, true, ERROR);
#else
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
	{
		if (pg_strcasecmp(vars[i]->name, name) == 0)
			return vars[i];
	}
	return NULL;
#endif
}

/*
 * The settings are superuser-only (PGC_SUSET): nobody else can change them,
 * not even with ALTER ROLE or ALTER DATABASE ... SET.  The hook is in place
 * before any ALTER SERVER of ours reaches the catalog, since that command
 * calls our validator first, which loads this library.
 *
 * Until this library is loaded, a setting is a placeholder anyone may set,
 * and a startup option (PGOPTIONS='-c contact_list_fdw.proxy=') replaces
 * the configuration file's value in it, reset value included.  Defining
 * the variable then refuses the session's value (a WARNING), and what is
 * left is the built-in default, not the superuser's value.  So the sources
 * of the placeholder's values are compared with those of the variable:
 * one that went back to a lower source was discarded, and servers that
 * depend on that setting refuse to connect (check_discarded_settings).
 */
void
clf_options_init(void)
{
	GucSource	source[lengthof(settings)];
	GucSource	reset_source[lengthof(settings)];
	bool		had[lengthof(settings)];

	for (int i = 0; i < lengthof(settings); i++)
	{
		struct config_generic *placeholder = find_setting(settings[i].name);

		had[i] = placeholder != NULL;
		if (had[i])
		{
			source[i] = placeholder->source;
			reset_source[i] = placeholder->reset_source;
		}
	}

	DefineCustomStringVariable("contact_list_fdw.api_url",
							   "WeCom API base URL of servers without the api_url option.",
							   NULL,
							   &clf_default_api_url, CLF_DEFAULT_API_URL,
							   PGC_SUSET, 0, check_default_api_url, NULL, NULL);
	DefineCustomStringVariable("contact_list_fdw.proxy",
							   "Proxy of servers without the proxy option.",
							   "Empty: servers without the option connect directly.",
							   &clf_default_proxy, "",
							   PGC_SUSET, 0, check_default_proxy, NULL, NULL);
	DefineCustomStringVariable("contact_list_fdw.ca_file",
							   "Extra CA bundle of servers without the ca_file option.",
							   "Empty: only the system's CAs are trusted.",
							   &clf_default_ca_file, "",
							   PGC_SUSET, 0, NULL, NULL, NULL);

	for (int i = 0; i < lengthof(settings); i++)
	{
		struct config_generic *var = find_setting(settings[i].name);

		if (had[i])
			settings[i].discarded = var == NULL || var->source < source[i] ||
				var->reset_source < reset_source[i];
	}

	prev_object_access_hook = object_access_hook;
	object_access_hook = clf_object_access;
}
