/*-------------------------------------------------------------------------
 *
 * redact.c
 *		  Keeping credentials out of what is shown, and out of memory we
 *		  free: every text that came from the network or from libcurl is
 *		  scrubbed of the corp_secret, the access tokens and the proxy
 *		  password, in the forms they take on the wire, and of the user
 *		  mapping's corp_id and proxy_user, before it reaches a message;
 *		  our own copies of credentials are wiped before they are freed.
 *		  Also what a message or a cache key needs besides: text from the
 *		  network made printable, a name clipped to whole characters for a
 *		  fixed-size shared slot and read back in another database's
 *		  encoding, and the SHA-256 digest that keys the token caches by a
 *		  secret without keeping the secret.
 *
 * libcurl's and json-c's own copies (the request line libcurl builds, the
 * parsed gettoken response) are outside our reach: they are freed, not
 * wiped.  The README says so.
 *
 * The ground floor: nothing here calls another file of contact_list_fdw,
 * so any of them may use it, error context callbacks included.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "redact.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "common/string.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/syscache.h"

/* Wipe a palloc'd copy of a credential and free it. */
void
clf_wipe(char *copy)
{
	if (copy == NULL)
		return;
	explicit_bzero(copy, strlen(copy));
	pfree(copy);
}

/*
 * Every copy of a credential made here goes into a list entry that exists
 * before the copy does, so that clf_redact's cleanup finds and wipes it
 * whatever fails after.
 */

/*
 * A copy of a credential, looked for in every form it takes (match_at):
 * the forms are read in the text, never made.
 */
static void
add_secret_forms(List **forms, const char *secret, const char *fault_point)
{
	if (secret == NULL || secret[0] == '\0')
		return;
	*forms = lappend(*forms, NULL);
	FAULT_ERROR(fault_point);
	llast(*forms) = pstrdup(secret);
}

/*
 * The form the proxy credentials take in a Proxy-Authorization header: a
 * proxy's error page may quote the request's headers.
 */
static void
add_basic_auth_form(List **forms, const char *user, const char *password)
{
	char	   *plain;
	char	   *encoded;
	int			len;
	int			enclen;

	if (user == NULL || password == NULL)
		return;
	len = strlen(user) + 1 + strlen(password);
	enclen = pg_b64_enc_len(len);
	*forms = lappend(*forms, NULL);
	encoded = palloc0(enclen + 1);
	llast(*forms) = encoded;
	/* written in place, and nothing fails between this copy and its wiping */
	plain = palloc(len + 1);
	snprintf(plain, len + 1, "%s:%s", user, password);
	enclen = pg_b64_encode((const void *) plain, len, encoded, enclen);
	clf_wipe(plain);
	if (enclen <= 0)
	{
		*forms = list_delete_last(*forms);
		pfree(encoded);
		return;
	}
	encoded[enclen] = '\0';
}

/*
 * How a credential can be written.  A text from the network may quote it
 * escaped any number of times, in ways that nest: percent-encoded (a URL
 * quoted in a URL, in a URL: "%2F", "%252F", "%25252F", the hex digits in
 * either case, each escape its own), form-encoded ("+" for a space, "%2B"
 * for a "+"), as a JSON string (a JSON encoder may escape any character,
 * "\u0061" for "a", its hex digits in either case; "\/" for "/"; a JSON
 * text quoted in JSON: "\\u0061"; a URL's escapes JSON-escaped:
 * "\u0025\u0032\u0046"; a JSON text quoted in a URL: "%5C%2F" for "\/"),
 * and as an HTML page quotes text (a proxy's or a gateway's error page):
 * character references, "&#47;" or "&#x2F;" for "/", "&amp;" for "&"; a
 * URL's escapes so, "&#37;2F"; a page's text HTML-escaped again,
 * "&amp;#47;").  Rather than list the forms (one more for each level and
 * each case, and still never all of them), match_at undoes the escapes at
 * one place of the text one at a time, as far as they nest: an escape that
 * gives "%", "\", "&" or "+" begins another one with what follows it, the
 * way decoding the text again would, until what follows makes no escape.
 * A "+" is read as it stands first and as a space after (a "+" of a
 * credential is one, and a form encoder writes it "%2B"); each reading
 * of the chain is tried.  The parts of an escape are read so too
 * (read_part): the hex digits of a "%" or "\u" escape, the character
 * after a "\" and each character of an HTML reference may be escaped
 * themselves ("%\u0032F", "%25%32%46", "%5C%2F", "%5C%75%30%30%36%31",
 * "%26%2347%3B").
 *
 * Every escape undone in reading one character at one place, of the
 * character or of one of its parts at any depth, spends one step of a
 * budget of CLF_MAX_ESCAPES (read_further), and an escape reads at most 12
 * bytes of its own besides its parts (a surrogate pair, "&#x0000002F;"):
 * so a reading costs at most about 16 * 12 bytes read however the text is
 * made (the second reading below, a few kB), and a run of megabytes of
 * "%25", "\\", "%5C" or "&#38;" costs each place that, not the run's
 * length (which would be quadratic).  What the 16 steps reach: a
 * percent-escape 16 levels deep ("%25" 15 times, then the hex digits: a
 * step a level), an HTML reference so ("&#47;"
 * escaped 15 times more, "&amp;amp;...#47;"); JSON in JSON only 4 levels
 * deep, since each level doubles the backslashes before an escaped
 * character and each backslash is a step (2^k - 1 of them, 15 at k = 4); a
 * JSON text quoted into a URL 7 times ("\/" as "%5C%2F", "%255C%252F": two
 * steps a level, and one for the "\"); an HTML page quoted into a URL 5
 * times ("&#47;" as "%26%2347%3B", "%2526%252347%253B": three steps a
 * level, and one for the reference); a mix, the sum of its steps.  Where
 * a part after a "\" could also be read otherwise, the place is read a
 * second time, with twice the steps, that part read every way that makes
 * an escape (read_place): so that a JSON text quoted into JSON by an
 * encoder that escapes every character, the letters of its escapes too
 * ("\\\u0075" for the "\u" of "\u0061"), or a character beyond the BMP
 * JSON-escaped twice, is read as well; there, escapes may be read a
 * little deeper than above.  A text nested deeper is not read through: it
 * is not what quoting a request back makes, but what a server makes to get
 * a credential past us, and the server has it already.
 */
#define CLF_MAX_ESCAPES 16

/* One reading of the text at a place: the bytes it stands for, and where it ends. */
typedef struct ClfChar
{
	unsigned char bytes[4];		/* one byte, or a character's UTF-8 (\u, &#) */
	int			nbytes;
	size_t		end;
} ClfChar;

/*
 * An escape undone reads as one character, but the part after a "\" may be
 * read in more than one way that makes an escape (a "\" as it stands, the
 * "\\" of JSON in JSON; or what an escape of it gives, the "u" of "\\\u0075"
 * in JSON whose encoder escaped every character of a JSON text): at most
 * this many readings are followed.
 */
#define CLF_MAX_BRANCHES 4

/*
 * The readings of one place followed at once: each escape undone spends a
 * step and gives at most CLF_MAX_BRANCHES of them, so the steps of the
 * reading that follows every way (read_place) make at most this many, and
 * none is ever left out.
 */
#define CLF_MAX_PLACE_READINGS (1 + CLF_MAX_BRANCHES * 2 * CLF_MAX_ESCAPES)

/*
 * One reading of a place: the steps it has left, whether the text ended
 * inside an escape, and whether the part after a "\" is read every way
 * (CLF_MAX_BRANCHES) or only the first.  match_at reads each place both
 * ways (read_place), each with steps of its own: following every way
 * spends steps on ways that lead nowhere, and must not cost the first
 * way, which is all most texts need, the steps its deepest escapes take.
 * Within the part, its own escapes are read the first way only: ways
 * within ways would spend every step before the one that matters.
 */
typedef struct ClfReading
{
	int			budget;
	bool		cut;
	bool		branch;
	/* a part after a "\\" could be read otherwise: read every way too */
	bool		forked;
} ClfReading;

static int	undo_escape(const char *text, const ClfChar *ch, ClfChar *next,
						bool branch, ClfReading *rd);

/*
 * The value of a hex digit, -1 for another character.  Either case: each
 * escape is read on its own, so one secret's escapes may differ in case.
 */
static int
hex_value(char c)
{
	char		lower = pg_ascii_tolower((unsigned char) c);

	if (c >= '0' && c <= '9')
		return c - '0';
	if (lower >= 'a' && lower <= 'f')
		return lower - 'a' + 10;
	return -1;
}

/*
 * Whether c may begin an escape: "%", "\", "&" (an HTML character
 * reference) or "+" (form encoding's space).
 */
static bool
begins_escape(char c)
{
	return c == '%' || c == '\\' || c == '&' || c == '+';
}

/*
 * ch, a reading of the text, read one escape further, into next: how many
 * readings that gives (at most CLF_MAX_BRANCHES), none if ch is not a
 * character that begins one (begins_escape), if what follows makes no
 * escape, or if the place's budget of steps is spent.
 */
static int
read_further(const char *text, const ClfChar *ch, ClfChar *next, ClfReading *rd)
{
	bool		branch = rd->branch;
	int			n;

	if (ch->nbytes != 1 || !begins_escape((char) ch->bytes[0]) ||
		rd->budget <= 0)
		return 0;
	rd->budget--;
	/* the escape's parts, and their own escapes, are read the first way */
	rd->branch = false;
	n = undo_escape(text, ch, next, branch, rd);
	rd->branch = branch;
	return n;
}

/*
 * The readings of the text at q, as it is and with escapes undone one at a
 * time, each escape's readings followed before the next place's: into
 * found, at most maxfound of them, only those that are one of accept's
 * characters if accept is not NULL.  How many there are.  Where the text
 * ends at q, none, and rd->cut set.
 */
static int
readings_at(const char *text, size_t q, const char *accept, ClfChar *found,
			int maxfound, ClfChar *stack, int stacksize, ClfReading *rd)
{
	int			nstack = 1;
	int			nfound = 0;

	if (text[q] == '\0')
	{
		rd->cut = true;
		return 0;
	}
	stack[0].bytes[0] = (unsigned char) text[q];
	stack[0].nbytes = 1;
	stack[0].end = q + 1;
	while (nstack > 0 && nfound < maxfound)
	{
		ClfChar		ch = stack[--nstack];
		ClfChar		next[CLF_MAX_BRANCHES];
		int			nnext;

		if (accept == NULL ||
			(ch.nbytes == 1 && ch.bytes[0] != '\0' &&
			 strchr(accept, ch.bytes[0]) != NULL))
		{
			found[nfound++] = ch;
			if (nfound == maxfound)
				break;
		}
		nnext = read_further(text, &ch, next, rd);
		/* the first of them read first, as if it were the only one */
		for (int i = nnext - 1; i >= 0 && nstack < stacksize; i--)
			stack[nstack++] = next[i];
	}
	return nfound;
}

/*
 * A part of an escape at *q (a hex digit, a letter of an HTML reference):
 * the first reading of the text there (readings_at) that is one of
 * accept's characters; *q advanced past it.  -1 if no reading is.
 */
static int
read_part(const char *text, size_t *q, const char *accept, ClfReading *rd)
{
	ClfChar		part;
	ClfChar		stack[CLF_MAX_BRANCHES];

	if (readings_at(text, *q, accept, &part, 1,
					stack, lengthof(stack), rd) == 0)
		return -1;
	*q = part.end;
	return part.bytes[0];
}

/* The hex digit at *q, read as read_part does, or -1 */
static int
read_hex_digit(const char *text, size_t *q, ClfReading *rd)
{
	int			c = read_part(text, q, "0123456789abcdefABCDEF", rd);

	return c < 0 ? -1 : hex_value((char) c);
}

/* The value of the four hex digits at *q, advancing *q past them, or -1 */
static int
read_hex4(const char *text, size_t *q, ClfReading *rd)
{
	int			value = 0;

	for (int i = 0; i < 4; i++)
	{
		int			digit = read_hex_digit(text, q, rd);

		if (digit < 0)
			return -1;
		value = value * 16 + digit;
	}
	return value;
}

/*
 * The names of the character references an HTML escaper writes for ASCII
 * (Python's html.escape, PHP's htmlspecialchars, a template engine's), and
 * the upper-case ones HTML reads the same; then HTML5's names for the rest
 * of ASCII's punctuation, which an escaper of every character that has a
 * name writes (PHP's htmlentities with ENT_HTML5: "&lowbar;" for the "_"
 * of a secret, "&sol;" and "&equals;" in a URL): all of them but the two
 * longer than CLF_HTML_NAME_MAX letters ("&VerticalLine;",
 * "&DiacriticalGrave;"), which have shorter twins.
 */
static const struct
{
	const char *name;
	char		c;
}			html_names[] = {
	{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
	{"AMP", '&'}, {"LT", '<'}, {"GT", '>'}, {"QUOT", '"'},
	{"lowbar", '_'}, {"UnderBar", '_'},
	{"sol", '/'}, {"bsol", '\\'}, {"percnt", '%'}, {"plus", '+'}, {"equals", '='},
	{"excl", '!'}, {"num", '#'}, {"dollar", '$'}, {"lpar", '('}, {"rpar", ')'},
	{"ast", '*'}, {"midast", '*'}, {"comma", ','}, {"period", '.'},
	{"colon", ':'}, {"semi", ';'}, {"quest", '?'}, {"commat", '@'},
	{"lsqb", '['}, {"lbrack", '['}, {"rsqb", ']'}, {"rbrack", ']'}, {"Hat", '^'},
	{"grave", '`'}, {"lcub", '{'}, {"lbrace", '{'}, {"verbar", '|'}, {"vert", '|'},
	{"rcub", '}'}, {"rbrace", '}'},
};

#define CLF_HTML_NAME_MAX 8		/* "UnderBar" */
#define CLF_HTML_NAME_LETTERS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

#define CLF_HTML_DIGITS 8		/* "&#x" 8 hex digits ";": 12 bytes */

/*
 * Undo the HTML character reference that ch, a "&", begins: "&#47;",
 * "&#x2F;" or "&#X2f;" (decimal or hex, the "x" and the digits in either
 * case, at most CLF_HTML_DIGITS digits, leading zeros included), or one of
 * html_names ("&amp;", "&sol;"), always with its ";".  Each part is read as
 * read_part reads one, through escapes: an HTML page put into a URL
 * ("%26%2347%3B") is read too.  A reference to no character HTML would
 * give as it stands (NUL, a surrogate, beyond U+10FFFF) is none.
 */
static bool
undo_html_reference(const char *text, ClfChar *ch, ClfReading *rd)
{
	size_t		q = ch->end;
	int			c = read_part(text, &q, "#" CLF_HTML_NAME_LETTERS, rd);

	if (c == '#')
	{
		int			base = 10;
		int			ndigits = 0;
		int32		code = 0;

		c = read_part(text, &q, "0123456789xX", rd);
		if (c == 'x' || c == 'X')
		{
			base = 16;
			c = read_part(text, &q, "0123456789abcdefABCDEF", rd);
		}
		while (c >= 0 && c != ';')
		{
			int			digit = hex_value((char) c);

			if (digit < 0 || digit >= base || ++ndigits > CLF_HTML_DIGITS)
				return false;
			code = code * base + digit;
			if (code > 0x10FFFF)
				return false;
			c = read_part(text, &q,
						  base == 16 ? "0123456789abcdefABCDEF;" : "0123456789;",
						  rd);
		}
		if (c != ';' || ndigits == 0 || code == 0 ||
			is_utf16_surrogate_first(code) || is_utf16_surrogate_second(code))
			return false;
		unicode_to_utf8(code, ch->bytes);
		ch->nbytes = pg_utf_mblen(ch->bytes);
		ch->end = q;
		return true;
	}
	else if (c >= 0)
	{
		char		name[CLF_HTML_NAME_MAX + 1];
		int			len = 0;

		while (c >= 0 && c != ';' && len < CLF_HTML_NAME_MAX)
		{
			name[len++] = (char) c;
			c = read_part(text, &q, CLF_HTML_NAME_LETTERS ";", rd);
		}
		if (c != ';')
			return false;
		name[len] = '\0';
		for (int i = 0; i < lengthof(html_names); i++)
		{
			if (strcmp(name, html_names[i].name) == 0)
			{
				ch->bytes[0] = (unsigned char) html_names[i].c;
				ch->nbytes = 1;
				ch->end = q;
				return true;
			}
		}
	}
	return false;
}

/*
 * Undo the escape that ch, a character that begins one (begins_escape),
 * begins with what follows it: into next, what the escape stands for, read
 * every way it can be (at most CLF_MAX_BRANCHES); how many.  None if what
 * follows makes no escape; rd->cut set where the text ends inside one.  Only
 * read_further calls it, charging the step.
 */
static int
undo_escape(const char *text, const ClfChar *ch, ClfChar *next, bool branch,
			ClfReading *rd)
{
	size_t		q = ch->end;
	ClfChar		parts[CLF_MAX_BRANCHES];
	ClfChar		stack[CLF_MAX_BRANCHES];
	int			nparts;
	int			n = 0;

	next[0] = *ch;

	/*
	 * Form encoding's space: a reading of the "+" after the "+" itself,
	 * which match_at tries first, so that a "+" of a credential is still
	 * read as it stands (and "%2B" as "+", then as a space: a form encoded
	 * twice).
	 */
	if (ch->bytes[0] == '+')
	{
		next[0].bytes[0] = ' ';
		return 1;
	}
	if (ch->bytes[0] == '&')
		return undo_html_reference(text, &next[0], rd) ? 1 : 0;
	if (ch->bytes[0] == '%')
	{
		int			high = read_hex_digit(text, &q, rd);
		int			low = high < 0 ? -1 : read_hex_digit(text, &q, rd);

		if (low < 0)
			return 0;
		next[0].bytes[0] = (unsigned char) (high * 16 + low);
		next[0].end = q;
		return 1;
	}

	/*
	 * A JSON escape.  What follows the "\" is read every way that makes one:
	 * a "\" there is the "\\" of JSON in JSON as it stands, and may begin
	 * the escape of a "u" or of another "\" as well.
	 */
	nparts = readings_at(text, q, "\"\\/bfnrtu",
						 parts, branch ? lengthof(parts) : 1,
						 stack, lengthof(stack), rd);
	/* only a "\" may be read further, to another part */
	if (nparts > 0 && parts[0].bytes[0] == '\\')
		rd->forked = true;
	for (int i = 0; i < nparts; i++)
	{
		int			c = parts[i].bytes[0];
		const char *shortcut = strchr("\"\\/bfnrt", c);
		int			code;

		q = parts[i].end;
		if (shortcut != NULL)
		{
			next[n].bytes[0] = "\"\\/\b\f\n\r\t"[shortcut - "\"\\/bfnrt"];
			next[n].nbytes = 1;
			next[n].end = q;
			n++;
			continue;
		}
		if ((code = read_hex4(text, &q, rd)) < 0)
			continue;
		/* a character beyond the BMP: a pair of escaped surrogates */
		if (is_utf16_surrogate_first(code))
		{
			ClfChar		slashes[CLF_MAX_BRANCHES];
			int			nslashes = readings_at(text, q, "\\", slashes,
											   branch ? lengthof(slashes) : 1,
											   stack, lengthof(stack), rd);

			/* the second's "\" may be read otherwise too */
			rd->forked = true;
			for (int j = 0; j < nslashes; j++)
			{
				size_t		r = slashes[j].end;
				int			second;

				if (read_part(text, &r, "u", rd) == 'u' &&
					(second = read_hex4(text, &r, rd)) >= 0 &&
					is_utf16_surrogate_second(second))
				{
					code = surrogate_pair_to_codepoint(code, second);
					q = r;
					break;
				}
			}
		}
		unicode_to_utf8(code, next[n].bytes);
		next[n].nbytes = pg_utf_mblen(next[n].bytes);
		next[n].end = q;
		n++;
	}
	return n;
}

/*
 * Every reading of the text at q, into readings (2 *
 * CLF_MAX_PLACE_READINGS): the first way, with CLF_MAX_ESCAPES steps, then
 * every way (ClfReading), with twice as many, for the ways that lead
 * nowhere spend steps too; the second only where the first read a part
 * after a "\" that another way could read otherwise.  How many; *cut set if
 * the text ends inside an escape of one of them.
 */
static int
read_place(const char *text, size_t q, ClfChar *readings, bool *cut)
{
	ClfReading	first = {CLF_MAX_ESCAPES, false, false, false};
	ClfReading	every = {2 * CLF_MAX_ESCAPES, false, true, false};
	ClfChar		stack[CLF_MAX_PLACE_READINGS];
	int			n;

	n = readings_at(text, q, NULL, readings, CLF_MAX_PLACE_READINGS,
					stack, lengthof(stack), &first);
	*cut = first.cut;
	/* no part could be read another way: every way is the first */
	if (!first.forked)
		return n;
	n += readings_at(text, q, NULL, readings + n, CLF_MAX_PLACE_READINGS,
					 stack, lengthof(stack), &every);
	*cut = first.cut || every.cut;
	return n;
}

/*
 * Where the longest reading of form that begins at text + p ends, or 0 if
 * there is none; with cut_short, a reading the text ends inside of (also
 * inside an escape) ends at the text's end, n.
 *
 * One place can be read in several ways (undo_escape's steps give a byte
 * at each), and where the credential holds "%" or "\" more than one may go
 * on: "%2525" is "%25" read once or "%" read twice.  So every way is
 * followed at once, as the set of places in the text reached after i
 * bytes of form (a UTF-8 character of a \u escape takes several at a
 * time: hence a ring of buckets, one per byte ahead).  A set holds at most
 * CLF_MAX_READINGS places; a text that needs more to hide a credential
 * with many "%" can only have been made to (the server it was sent to).
 */
#define CLF_MAX_READINGS 16
#define CLF_BUCKETS 5			/* a step takes 1 to 4 bytes of form */

/*
 * A space or a control character: what a message shows as one space
 * (clf_printable_text), a run of them as one.  A credential with a space
 * quoted with a line break or a tab there, or with two spaces for one
 * (a page wrapped or laid out), would otherwise pass the redaction and
 * then read, in the message, exactly as the credential.
 */
static bool
is_blank(unsigned char c)
{
	return c == ' ' || c < 0x20 || c == 0x7f;
}

/* Add place to bucket b (unless there), as one more pending place. */
static void
add_place(size_t places[CLF_BUCKETS][CLF_MAX_READINGS], int *nplaces, int b,
		  size_t place, int *pending)
{
	int			j = 0;

	while (j < nplaces[b] && places[b][j] != place)
		j++;
	if (j == nplaces[b] && j < CLF_MAX_READINGS)
	{
		places[b][nplaces[b]++] = place;
		(*pending)++;
	}
}

static size_t
match_at(const char *text, size_t n, size_t p, const char *form, size_t m,
		 bool cut_short)
{
	size_t		places[CLF_BUCKETS][CLF_MAX_READINGS];
	int			nplaces[CLF_BUCKETS] = {0};
	int			pending = 1;
	size_t		best = 0;

	/* most places: neither the form's first byte nor an escape */
	if (text[p] != form[0] && !begins_escape(text[p]) &&
		!(is_blank(text[p]) && is_blank(form[0])))
		return 0;
	places[0][0] = p;
	nplaces[0] = 1;
	for (size_t i = 0; i < m && pending > 0; i++)
	{
		int			b = i % CLF_BUCKETS;
		bool		blank = is_blank(form[i]);

		for (int k = 0; k < nplaces[b]; k++)
		{
			ClfChar		readings[2 * CLF_MAX_PLACE_READINGS];
			bool		cut = false;
			int			nreadings = read_place(text, places[b][k], readings, &cut);

			/* a run of blanks in the form: one in the text will do */
			if (blank && i + 1 < m && is_blank(form[i + 1]))
				add_place(places, nplaces, (i + 1) % CLF_BUCKETS, places[b][k], &pending);
			for (int r = 0; r < nreadings; r++)
			{
				ClfChar    *ch = &readings[r];
				bool		blanks = blank && ch->nbytes == 1 && is_blank(ch->bytes[0]);

				if (blanks ||
					(ch->nbytes <= m - i &&
					 memcmp(ch->bytes, form + i, ch->nbytes) == 0))
				{
					size_t		end = ch->end;

					/*
					 * A run of blanks as written, all of it in one step: a place
					 * for each would fill the bucket (a page's indentation).  No
					 * escape begins inside it, so nothing else goes on from there.
					 */
					if (blanks && is_blank((unsigned char) text[places[b][k]]))
						while (end < n && is_blank((unsigned char) text[end]))
							end++;
					if (i + ch->nbytes == m)
						best = Max(best, end);
					else
						add_place(places, nplaces, (i + ch->nbytes) % CLF_BUCKETS, end, &pending);
					/* and a run of them in the text, escaped too: one in the form */
					if (blanks)
						add_place(places, nplaces, b, end, &pending);
				}
			}
			if (cut && cut_short)
				best = n;
		}
		pending -= nplaces[b];
		nplaces[b] = 0;
	}
	return best;
}

/* ASCII letters, digits and underscore: what a word is made of */
static bool
is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_';
}

/*
 * For each place of text, whether an escape that ends there reads as a
 * character no word is made of: the identifier that begins there stands
 * alone on that side, in the text decoded as often as it takes.  The
 * escape is read as match_at reads one, each reading of its chain looked
 * at: "%3D", "%253D", "%25253D", "\u003d", "\n", "%5Cn", "%5Cu003D",
 * "&#37;3D" (an HTML reference ends in ";", no word character, but one
 * may begin an escape that ends in a hex digit).  An escape that reads as
 * a word character ("%41") separates nothing, as an "A" would not.  Each
 * place where an escape begins costs at most the CLF_MAX_ESCAPES steps of
 * match_at's reading of it.
 */
static bool *
escaped_separators(const char *text, size_t n)
{
	bool	   *separated = palloc0(n + 1);

	for (size_t s = 0; s < n; s++)
	{
		ClfChar		readings[2 * CLF_MAX_PLACE_READINGS];
		bool		cut = false;
		int			nreadings;

		if (!begins_escape(text[s]))
			continue;
		/* as match_at reads it; as it stands, it is no word character either */
		nreadings = read_place(text, s, readings, &cut);
		for (int r = 0; r < nreadings; r++)
		{
			if (readings[r].nbytes > 1 ||
				!is_word_char((char) readings[r].bytes[0]))
				separated[readings[r].end] = true;
		}
	}
	return separated;
}

/*
 * Whether an identifier found in text from p to end (in any of its forms;
 * the text's end where a cut-short text ends inside it) stands as a token
 * of its own, no word character running into either end of it.  A
 * one-letter corp_id or proxy_user is then hidden in "corpid=w&", "\"w\""
 * or "w:" without its letter going out of every word around it.  Before
 * it, what counts is the character the text decodes to (separated, from
 * escaped_separators), not the escape's last hex digit or letter:
 * "%3Dw" or "%3dw" (a URL quoted in a URL), "%25253Dw" (quoted three
 * times), "\u003dw" (JSON that escapes "="), "\nw" (a JSON string's line
 * break, quoted as it stands in a body or a JSON log line), "%5Cnw" (that
 * put into a URL), "&#37;3Dw" (a URL's escape in an HTML page).  After it,
 * an escape begins with "%", "\", "&" or "+", none a word character.  A
 * form the text ends inside of is taken: what followed it is unknown.
 */
static bool
stands_alone(const char *text, const char *p, const char *end,
			 const char *form, bool **separated)
{
	size_t		len = strlen(form);
	bool		starts = p == text || !is_word_char(form[0]) ||
		!is_word_char(p[-1]);
	bool		ends = !is_word_char(form[len - 1]) || !is_word_char(*end);

	if (!starts && ends)
	{
		/* read the text's escapes once, when first needed */
		if (*separated == NULL)
			*separated = escaped_separators(text, strlen(text));
		starts = (*separated)[p - text];
	}
	return starts && ends;
}

/*
 * Append text to out with every occurrence of forms, in any of their
 * written forms (match_at), replaced, the longest where several begin at
 * one place (one credential may begin another; "%2525" is a secret's "%25"
 * escaped, or its "%" escaped twice); with cut_short, also a form the text
 * ends inside of.  With whole_tokens (identifiers), only where one stands
 * alone; a secret goes wherever it occurs, whatever surrounds it: showing
 * a piece of a secret is worse than hiding a piece of a word.
 */
static void
replace_forms(StringInfo out, const char *text, List *forms, bool cut_short,
			  bool whole_tokens)
{
	size_t		n = strlen(text);
	size_t		p = 0;
	size_t	   *lengths = palloc(sizeof(size_t) * (list_length(forms) + 1));
	bool	   *separated = NULL;
	ListCell   *lc;

	foreach(lc, forms)
		lengths[foreach_current_index(lc)] = strlen(lfirst(lc));
	while (p < n)
	{
		size_t		longest = 0;

		foreach(lc, forms)
		{
			const char *form = lfirst(lc);
			size_t		end = match_at(text, n, p, form,
									   lengths[foreach_current_index(lc)],
									   cut_short);

			if (end > longest &&
				(!whole_tokens ||
				 stands_alone(text, text + p, text + end, form, &separated)))
				longest = end;
		}
		if (longest > 0)
		{
			appendStringInfoString(out, "[redacted]");
			p = longest;
		}
		else
			appendStringInfoChar(out, text[p++]);
	}
	pfree(lengths);
	if (separated != NULL)
		pfree(separated);
}

/*
 * text with every occurrence of the credentials replaced, as they are and
 * as they appear in a URL, in JSON or in a header.  A text that was cut
 * short (an excerpt of a body) and ends inside a credential loses that end
 * too.  The result is palloc'd.
 *
 * The user mapping's corp_id and proxy_user go as well: the corp_id is not
 * a credential and the proxy_user is half of one, but both are kept from
 * other roles (option.c), while the role that sees a message may be
 * scanning with a mapping it may not read (PUBLIC's, a view owner's) and a
 * response (an echo of the gettoken URL, a proxy's error page) can quote
 * them.  They go in a pass of their own after the credentials, so that an
 * occurrence running into a credential (its end being a secret's start)
 * can never take that start and leave the rest shown; and only where they
 * stand as tokens of their own (stands_alone), so that a corp_id "e" does
 * not take the e out of every word of the message.
 *
 * The cost is that of looking for each credential at each byte of text:
 * a byte that begins no escape (begins_escape) is read one way, an escape
 * in at most CLF_MAX_ESCAPES steps, and only a credential's beginning
 * found there is followed further (the identifiers' pass reads each escape
 * once more, for the separators before them, if an identifier follows a
 * word character: escaped_separators); texts redacted are messages and
 * a response's errmsg, which may be as long as a response.
 */
char *
clf_redact(const char *text, const ClfOptions *opts, const char *token,
		   bool cut_short)
{
	/* in memory, not registers: the cleanup reads them after an error */
	List	  **forms = palloc0(sizeof(List *));
	List	  **id_forms = palloc0(sizeof(List *));
	StringInfoData scrubbed;
	StringInfoData out;
	ListCell   *lc;

	initStringInfo(&scrubbed);
	initStringInfo(&out);
	PG_TRY();
	{
		add_secret_forms(forms, token, "redact_secret_form");
		add_secret_forms(forms, opts->corp_secret, "redact_secret_form");
		add_secret_forms(forms, opts->access_token, "redact_secret_form");
		add_secret_forms(forms, opts->proxy_password, "redact_secret_form");
		add_basic_auth_form(forms, opts->proxy_user, opts->proxy_password);
		add_secret_forms(id_forms, opts->corp_id, "redact_corp_id_form");
		add_secret_forms(id_forms, opts->proxy_user, "redact_proxy_user_form");
		FAULT_ERROR("redact_forms");

		replace_forms(&scrubbed, text, *forms, cut_short, false);
		replace_forms(&out, scrubbed.data, *id_forms, cut_short, true);
	}
	PG_FINALLY();
	{
		foreach(lc, *forms)
			clf_wipe(lfirst(lc));
		list_free(*forms);
		/* an entry whose copy failed is NULL, as in forms */
		foreach(lc, *id_forms)
		{
			if (lfirst(lc) != NULL)
				pfree(lfirst(lc));
		}
		list_free(*id_forms);
	}
	PG_END_TRY();
	pfree(forms);
	pfree(id_forms);
	pfree(scrubbed.data);
	return out.data;
}

/*
 * SHA-256 of the concatenation of nparts pieces: the token caches' keys,
 * which must never hold a secret itself, and the cursors a scan keeps
 * only to know them again.
 */
void
clf_sha256(int nparts, const void *const *parts, const size_t *lengths, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	bool		ok = ctx != NULL && pg_cryptohash_init(ctx) == 0;

	for (int i = 0; ok && i < nparts; i++)
		ok = pg_cryptohash_update(ctx, (const uint8 *) parts[i], lengths[i]) == 0;
	if (!ok || pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		/* (in a backend, pg_cryptohash_create raises out of memory itself) */
		const char *reason = ctx ? pg_cryptohash_error(ctx) : "out of memory";

		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-256 digest: %s", reason),
				 errhint("The database server's OpenSSL could not give SHA-256: check its configuration (openssl.cnf, or the file OPENSSL_CONF names in the server's environment) and that its default provider is available.")));
	}
	pg_cryptohash_free(ctx);
}

/* Computed once per scan, when the user mapping is read. */
void
clf_digest_secret(const char *secret, uint8 *digest)
{
	const void *parts[] = {secret};
	size_t		lengths[] = {strlen(secret)};

	clf_sha256(1, parts, lengths, digest);
}

/*
 * Text from the network made fit for a message, at most maxbytes of it:
 * control characters as one space, bytes that are not valid UTF-8 (and, in
 * a database of another encoding, every non-ASCII byte) as \xNN, and a
 * character cut off at the end dropped.  Never raises an error of its own,
 * so error context callbacks may use it.
 */
char *
clf_printable_text(const char *text, size_t maxbytes)
{
	bool		keep_utf8 = GetDatabaseEncoding() == PG_UTF8;
	StringInfoData out;
	const unsigned char *p = (const unsigned char *) text;
	const unsigned char *end = p + strnlen(text, maxbytes);

	initStringInfo(&out);
	while (p < end)
	{
		if (*p < 0x80)
		{
			char		c = is_blank(*p) ? ' ' : (char) *p;

			/* an HTML page's line breaks and indentation: one space */
			if (c != ' ' || (out.len > 0 && out.data[out.len - 1] != ' '))
				appendStringInfoChar(&out, c);
			p++;
			continue;
		}
		{
			int			len = pg_utf_mblen(p);

			if (end - p < len)
				break;
			if (keep_utf8 && pg_utf8_islegal(p, len))
			{
				appendBinaryStringInfo(&out, (const char *) p, len);
				p += len;
			}
			else
				appendStringInfo(&out, "\\x%02x", *p++);
		}
	}
	while (out.len > 0 && out.data[out.len - 1] == ' ')
		out.data[--out.len] = '\0';
	return out.data;
}

/*
 * Text from the network as a message shows it: redacted (clf_redact), made
 * printable, and at most its first maxbytes bytes, "..." marking the cut.
 * A server may send megabytes where a message needs a line; the redaction,
 * which reads the escapes at every place of the text, then costs no more
 * than what is shown.  The part shown is redacted as an excerpt: a
 * credential the cut goes through is hidden too, as with cut_short, which
 * says the text itself already stops short of what the server sent.
 */
char *
clf_redact_printable(const char *text, size_t maxbytes, bool cut_short,
					 const ClfOptions *opts, const char *token)
{
	bool		cut = strnlen(text, maxbytes + 1) > maxbytes;
	char	   *head = cut ? pnstrdup(text, maxbytes) : (char *) text;
	char	   *shown;

	shown = clf_printable_text(clf_redact(head, opts, token, cut_short || cut), SIZE_MAX);
	if (!cut)
		return shown;
	clf_wipe(head);
	return psprintf("%s...", shown);
}

/*
 * clf_redact of text's start, at most maxbytes bytes of whole characters,
 * for a caller that keeps no more: an error's message may quote a whole
 * value from the network (an input function's "invalid input syntax"), and
 * redacting megabytes costs seconds, which no cancel can cut short, for what
 * is then thrown away.  A credential the cut goes through is hidden too.
 */
char *
clf_redact_head(const char *text, size_t maxbytes, const ClfOptions *opts,
				const char *token)
{
	size_t		len = strnlen(text, maxbytes + 1);
	char	   *head;
	char	   *redacted;

	if (len <= maxbytes)
		return clf_redact(text, opts, token, false);
	head = pnstrdup(text, pg_mbcliplen(text, len, maxbytes));
	redacted = clf_redact(head, opts, token, true);
	clf_wipe(head);
	return redacted;
}

/* The encoding of database dbid's text, or -1 if it is gone. */
static int
database_encoding(Oid dbid)
{
	HeapTuple	tuple;
	int			encoding;

	if (dbid == MyDatabaseId)
		return GetDatabaseEncoding();
	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tuple))
		return -1;
	encoding = ((Form_pg_database) GETSTRUCT(tuple))->encoding;
	ReleaseSysCache(tuple);
	return encoding;
}

/*
 * Text that a session of database dbid wrote into shared memory (a table's
 * or server's name, an error), in this database's encoding: a text value
 * must be valid in it, or every function that reads the value fails.  A
 * character this encoding cannot hold, or one of a database that is gone
 * or of SQL_ASCII, whose bytes are of no known encoding, is shown as its
 * bytes, \xNN each, as clf_printable_text shows such bytes.
 */
char *
clf_text_of_database(const char *text, Oid dbid)
{
	int			from;
	int			to = GetDatabaseEncoding();
	Oid			proc = InvalidOid;
	const unsigned char *p = (const unsigned char *) text;
	const unsigned char *end = p + strlen(text);
	StringInfoData out;

	/* most names are ASCII: no catalog lookup for them, a view reads many */
	if (to == PG_SQL_ASCII || pg_is_ascii(text))
		return pstrdup(text);
	from = database_encoding(dbid);
	if (from == to)
		return pstrdup(text);
	if (from >= 0 && from != PG_SQL_ASCII)
		proc = FindDefaultConversionProc(from, to);

	initStringInfo(&out);
	while (p < end)
	{
		int			len;

		if (OidIsValid(proc))
		{
			int			room = (int) (end - p) * MAX_CONVERSION_GROWTH + 1;
			unsigned char *converted = palloc(room);

			p += pg_do_encoding_conversion_buf(proc, from, to, (unsigned char *) p,
											   (int) (end - p), converted, room, true);
			appendStringInfoString(&out, (char *) converted);
			pfree(converted);
			if (p >= end)
				break;
		}
		/* a character the conversion stopped at, or a byte of no encoding */
		len = *p < 0x80 ? 1 :
			(from >= 0 && from != PG_SQL_ASCII) ? pg_encoding_mblen(from, (const char *) p) : 1;
		for (len = Min(len, (int) (end - p)); len > 0; len--, p++)
		{
			if (*p < 0x80)
				appendStringInfoChar(&out, (char) *p);
			else
				appendStringInfo(&out, "\\x%02x", *p);
		}
	}
	return out.data;
}

/* Copy whole characters of src that fit in size bytes, terminated. */
void
clf_copy_text(char *dst, size_t size, const char *src)
{
	int			len;

	if (src == NULL)
	{
		dst[0] = '\0';
		return;
	}
	len = pg_mbcliplen(src, strlen(src), size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}
