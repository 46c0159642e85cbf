/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The deletion obligation (delete; sell for the original): remove every file of a product
 * and every derived copy, check they are gone, and sign a destruction proof (TC609 7.6 d).
 */
#ifndef PEP_AGENT_DESTRUCTION_H
#define PEP_AGENT_DESTRUCTION_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

struct cJSON;

struct doomed_file {
	char *path;
	uint64_t dev, ino; /* what the kernel knows the file as: a path now naming another
			      file is not deleted */
	const char *origin; /* "bound" or "derived" */
};

/* Forgets a file in the kernel, once it is out of everyone's reach. */
typedef int (*unbind_fn)(void *ctx, uint64_t dev, uint64_t ino);

/*
 * For each file: move it into a private directory beside it (rename opens nothing, so the
 * terminated contract's guard is not in the way, and other users can no longer reach it),
 * unbind it, record size and SM3 of its content, unlink it and check it is gone. Returns the
 * proof, signed by the node key over its RFC 8785 form without "signature":
 * {"contractId", "time", "digest": "SM3", "files": [{path, dev, ino, size, sm3, origin,
 *  deleted, error?}], "complete", "signer": {"algorithm", "publicKey"}, "signature"}
 * or NULL with errno on allocation failure. A file that could not be removed is in the
 * proof with deleted = false and the reason; complete is then false.
 */
struct cJSON *destruction__run(const char *contract_id, const struct doomed_file *files,
			       size_t n, unbind_fn unbind, void *ctx, EVP_PKEY *node_key);

#endif /* PEP_AGENT_DESTRUCTION_H */
