// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <string.h>

#include "agent/records.h"

struct records {
	struct record *ring;
	uint64_t next_seq; /* the seq the next record gets; also how many were ever added */
};

struct records *records__new(void)
{
	struct records *r = calloc(1, sizeof(*r));

	if (r)
		r->ring = calloc(RECORDS_KEPT, sizeof(*r->ring));
	if (r && !r->ring) {
		free(r);
		return NULL;
	}
	if (r)
		r->next_seq = 1;
	return r;
}

void records__free(struct records *r)
{
	if (!r)
		return;
	free(r->ring);
	free(r);
}

void records__add(struct records *r, struct record *rec)
{
	rec->seq = r->next_seq++;
	r->ring[rec->seq % RECORDS_KEPT] = *rec;
}

int records__for_each(const struct records *r, const char *contract,
		      int (*fn)(const struct record *rec, void *ctx), void *ctx)
{
	uint64_t first = r->next_seq > RECORDS_KEPT ? r->next_seq - RECORDS_KEPT : 1;
	int ret;

	for (uint64_t seq = first; seq < r->next_seq; seq++) {
		const struct record *rec = &r->ring[seq % RECORDS_KEPT];

		if (contract && strcmp(contract, rec->contract))
			continue;
		ret = fn(rec, ctx);
		if (ret)
			return ret;
	}
	return 0;
}
