/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The deletion obligation (delete; sell for the original): remove every file of a product
 * and every derived copy, check they are gone, and sign a destruction proof (TC609 7.6 d).
 */
#ifndef PEP_AGENT_DESTRUCTION_H
#define PEP_AGENT_DESTRUCTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

struct cJSON;

struct doomed_file {
	char *path;
	uint64_t dev, ino; /* what the kernel knows the file as: a path now naming another
			      file is not deleted */
	/* The inode generation the kernel's binding keeps, -1 if it has none: ext4 gives a
	 * deleted file's number to the next new file at once, and only the generation tells
	 * that file from the one bound. 0 everywhere on ramfs and overlayfs. */
	int64_t generation;
	/* Found under a bound directory: the product wherever it came from, bound or not.
	 * Elsewhere a file the kernel has no binding for is not the product. */
	bool under_dir;
	const char *origin; /* "bound" or "derived" */
};

/* What the deletion asks of the kernel (agent/guards.h). */
struct destruction_kernel {
	/* Forgets a file in the kernel, once it is out of everyone's reach. */
	int (*unbind)(void *ctx, uint64_t dev, uint64_t ino);
	/* The inode generation of the file of fd. */
	int (*generation)(void *ctx, int fd, uint32_t *ret_gen);
	void *ctx;
};

/*
 * For each file: open it (the agent's opens are not decided: file_trusted) and check on that
 * fd that it is the file bound, dev, ino and generation; move it into a private directory
 * beside it (other users can no longer reach it), unbind it, record size and SM3 of the
 * content read from the same fd, unlink it and check it is gone. Returns the proof, signed by
 * the node key over its RFC 8785 form without "signature":
 * {"contractId", "time", "digest": "SM3", "files": [{path, dev, ino, size, sm3, origin,
 *  deleted, error?}], "complete", "signer": {"algorithm", "publicKey"}, "signature"}
 * or NULL with errno on allocation failure. A file that could not be removed, or that the
 * path no longer names, is in the proof with deleted = false and the reason; complete is
 * then false. Another file found at the path with the number (another generation) is left
 * as it is, neither read nor deleted.
 */
struct cJSON *destruction__run(const char *contract_id, const struct doomed_file *files,
			       size_t n, const struct destruction_kernel *k, EVP_PKEY *node_key);

#endif /* PEP_AGENT_DESTRUCTION_H */
