/*-------------------------------------------------------------------------
 *
 * json_validate.h
 *		  An incremental validator of strict JSON (RFC 8259) in UTF-8.
 *
 * Plain C, free of PostgreSQL and of any JSON library: page_parser.c runs
 * it on every response body before json-c sees a byte, and the fuzz target
 * and the parser cases link it as it is.  Nothing here longjmps; an error
 * comes back as false and a message naming the first bad byte.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLF_JSON_VALIDATE_H
#define CLF_JSON_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Deepest nesting accepted, counting every value on the way down (a scalar
 * inside 32 open arrays is level 33).  This is json-c's default limit, which
 * the page parser enforced before it checked the grammar itself.
 */
#define CLF_JSON_MAX_DEPTH 32

/*
 * One text being validated.  Everything needed to resume at the next byte
 * is here, so a text split anywhere gets the same verdict, message and byte
 * position as the whole text.  The fields are json_validate.c's own: use
 * the functions below.
 */
typedef struct ClfJsonValidator
{
	uint8_t		state;			/* what the next byte may be */
	uint8_t		depth;			/* arrays and objects open */
	uint8_t		top;			/* first byte of the top-level value; 0 before */
	bool		in_key;			/* the string being read is an object key */
	bool		want_low;		/* the \u escape being read must be a low
								 * surrogate */
	uint8_t		utf8_need;		/* continuation bytes still to come */
	uint8_t		utf8_lo;		/* range of the next continuation byte */
	uint8_t		utf8_hi;
	uint8_t		nhex;			/* \u digits read so far */
	uint16_t	hex;
	bool		failed;			/* message holds why */
	const char *literal;		/* the rest of true, false or null */
	uint32_t	objects;		/* bit d: the container at depth d+1 is an
								 * object */
	bool		negative;		/* the number being read began with '-' */
	bool		int_beyond;		/* its integer part is beyond 64 bits */
	uint64_t	int_value;		/* its integer part, while it fits */
	size_t		number_start;	/* bytes before its first byte */
	uint64_t	members;		/* object members so far, in every object */
	uint64_t	nvalues;		/* values begun so far, containers included */
	uint64_t	nobjects;		/* objects begun so far */
	uint64_t	narrays;		/* arrays begun so far */
	size_t		bytes;			/* bytes fed before the current piece */
	size_t		value_end;		/* bytes up to the end of the top-level value,
								 * once it has ended */
	const unsigned char *piece; /* the piece being fed, for byte positions */
	char		message[128];
} ClfJsonValidator;

extern void clf_json_validator_reset(ClfJsonValidator *v);
extern bool clf_json_validator_feed(ClfJsonValidator *v, const char *data, size_t len,
									size_t *value_len);
extern bool clf_json_validator_finish(ClfJsonValidator *v);
extern bool clf_json_validator_complete(const ClfJsonValidator *v);
extern char clf_json_validator_top(const ClfJsonValidator *v);
extern const char *clf_json_validator_message(const ClfJsonValidator *v);
extern uint64_t clf_json_validator_members(const ClfJsonValidator *v);
extern void clf_json_validator_counts(const ClfJsonValidator *v, uint64_t *values,
									  uint64_t *objects, uint64_t *arrays);

#endif							/* CLF_JSON_VALIDATE_H */
