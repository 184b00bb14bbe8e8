/*-------------------------------------------------------------------------
 *
 * parser_ir.c
 *		  Parse one body file as a scan does, for counting instructions:
 *		  16 kB pieces (libcurl's usual write size), then finish, status
 *		  and page checks.  test/fuzz/parser_ir.sh runs it under callgrind.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>

#include "page_parser.h"

#define PIECE 16384

int
main(int argc, char **argv)
{
	static char buf[64 << 20];
	FILE	   *f;
	size_t		len;
	ClfResponse resp;
	bool		ok = true;

	if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL)
	{
		fprintf(stderr, "usage: parser_ir BODY\n");
		return 2;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	clf_response_init(&resp, sizeof(buf));
	for (size_t off = 0; off < len && ok; off += PIECE)
		ok = clf_response_feed(&resp, buf + off, len - off < PIECE ? len - off : PIECE);
	ok = ok && clf_response_finish(&resp) && clf_response_check_status(&resp) &&
		clf_response_check_page(&resp);
	printf("%zu bytes: %s, %zu items\n", len, ok ? "parsed" : resp.message, resp.nitems);
	clf_response_release(&resp);
	return ok ? 0 : 1;
}
