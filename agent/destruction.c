// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "policy/policy.h"
#include "agent/destruction.h"
#include "agent/nodekey.h"
#include "policy/signed.h"

/* SM3 of the file's content, 64 hex digits, and its size. */
static int hash_file(int fd, char hex[65], uint64_t *ret_size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536], md[32];
	unsigned int md_len = 0;
	uint64_t size = 0;
	ssize_t n = 0;
	int err = -EIO;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sm3(), NULL))
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		size += (uint64_t)n;
	}
	if (n < 0 || !EVP_DigestFinal_ex(ctx, md, &md_len))
		goto out;
	for (unsigned int i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*ret_size = size;
	err = 0;
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

/* Moves the file into a fresh 0700 directory beside it; returns the new path (malloc'd). */
static char *move_aside(const char *path)
{
	char *copy = strdup(path), *dir_tmpl = NULL, *moved = NULL;

	if (!copy || asprintf(&dir_tmpl, "%s/.pep-destroy-XXXXXX", dirname(copy)) < 0)
		dir_tmpl = NULL;
	if (dir_tmpl && mkdtemp(dir_tmpl) && asprintf(&moved, "%s/f", dir_tmpl) >= 0 &&
	    rename(path, moved) < 0) {
		free(moved);
		moved = NULL;
		(void)rmdir(dir_tmpl);
	}
	free(copy);
	free(dir_tmpl);
	return moved;
}

static bool is_file(const char *path, const struct doomed_file *f)
{
	struct stat st;

	return lstat(path, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino;
}

/* Why the file of fd is not the one bound, or NULL if it is. */
static const char *not_the_file(int fd, const struct doomed_file *f,
				const struct destruction_kernel *k)
{
	struct stat st;
	uint32_t gen;

	if (fstat(fd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)
		return "the path no longer names the bound file";
	if (f->generation < 0 && f->under_dir)
		return NULL; /* no binding to compare with (a file moved into a bound directory) */
	if (f->generation < 0)
		return "the path no longer names the bound file (the file there is not bound)";
	if (k->generation(k->ctx, fd, &gen) < 0)
		return "could not read its inode generation";
	/* The bound file's inode was freed and its number given to this one, or its generation
	 * was changed by its owner (FS_IOC_SETVERSION): either way not what is bound. */
	if (gen != f->generation)
		return "another file now has this name and inode number (another generation): it "
		       "is not the bound file, which this path no longer names; left as it is, "
		       "not read";
	return NULL;
}

/* Steps 3-6 for one file already checked (fd) and moved aside; fills the proof entry. */
static const char *destroy_moved(const char *moved, int fd, const struct doomed_file *f,
				 const struct destruction_kernel *k, cJSON *entry)
{
	struct stat st;
	char hex[65] = "";
	uint64_t size = 0;

	/* fd keeps the inode alive, so the same number here is the same file. */
	if (!is_file(moved, f))
		return "moved file is not the one bound (changed under the agent)";
	/* A hard link elsewhere would keep the content after the unlink. Still bound, the file
	 * stays refused to everyone under every name (the slot is kept: contracts.c). */
	if (fstat(fd, &st) < 0 || st.st_nlink > 1)
		return "it has another name (a hard link): the unlink would not remove the content";
	if (k->unbind(k->ctx, f->dev, f->ino) < 0)
		return "could not unbind it in the kernel";
	if (hash_file(fd, hex, &size) < 0)
		return "could not read it to record its digest";
	cJSON_AddNumberToObject(entry, "size", (double)size);
	cJSON_AddStringToObject(entry, "sm3", hex);
	if (unlink(moved) < 0)
		return strerror(errno);
	if (lstat(moved, &st) == 0 || errno != ENOENT)
		return "still there after unlink";
	return NULL;
}

static bool destroy_one(const struct doomed_file *f, const struct destruction_kernel *k,
			cJSON *entry)
{
	/* O_NONBLOCK: a fifo now at the path must not hang the termination */
	int fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char *moved = NULL;
	const char *why;

	why = fd < 0 ? "the path no longer names the bound file" : not_the_file(fd, f, k);
	if (!why && !(moved = move_aside(f->path)))
		why = "could not move it out of reach";
	else if (!why)
		why = destroy_moved(moved, fd, f, k, entry);
	/* not deleted: put it back where it was, unless a new file took the name meanwhile */
	if (moved && why && is_file(moved, f))
		(void)renameat2(AT_FDCWD, moved, AT_FDCWD, f->path, RENAME_NOREPLACE);
	if (moved)
		(void)rmdir(dirname(moved));
	if (fd >= 0)
		close(fd);
	cJSON_AddBoolToObject(entry, "deleted", !why);
	if (why)
		cJSON_AddStringToObject(entry, "error", why);
	free(moved);
	return !why;
}

static void add_signer(cJSON *proof, EVP_PKEY *key)
{
	cJSON *signer = cJSON_AddObjectToObject(proof, "signer");
	char *pem = node_key__public_pem(key);

	cJSON_AddStringToObject(signer, "algorithm", "Ed25519");
	cJSON_AddStringToObject(signer, "publicKey", pem ? pem : "");
	free(pem);
}

/* Signs the RFC 8785 form of the proof as it stands, and adds the signature. */
static int sign_proof(cJSON *proof, EVP_PKEY *key)
{
	size_t len;
	char *canonical = jcs__serialize(proof, &len), *sig;

	if (!canonical)
		return -ENOMEM;
	sig = pol_sign(key, canonical, len);
	free(canonical);
	if (!sig)
		return -EIO;
	cJSON_AddStringToObject(proof, "signature", sig);
	free(sig);
	return 0;
}

cJSON *destruction__run(const char *contract_id, const struct doomed_file *files, size_t n,
			const struct destruction_kernel *k, EVP_PKEY *node_key)
{
	cJSON *proof = cJSON_CreateObject(), *list;
	char when[32];
	time_t now = time(NULL);
	bool complete = true;
	struct tm tm;

	if (!proof)
		return NULL;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	cJSON_AddStringToObject(proof, "contractId", contract_id);
	cJSON_AddStringToObject(proof, "time", when);
	cJSON_AddStringToObject(proof, "digest", "SM3");
	list = cJSON_AddArrayToObject(proof, "files");
	for (size_t i = 0; i < n; i++) {
		cJSON *entry = cJSON_CreateObject();

		cJSON_AddStringToObject(entry, "path", files[i].path);
		cJSON_AddNumberToObject(entry, "dev", (double)files[i].dev);
		cJSON_AddNumberToObject(entry, "ino", (double)files[i].ino);
		cJSON_AddStringToObject(entry, "origin", files[i].origin);
		complete &= destroy_one(&files[i], k, entry);
		cJSON_AddItemToArray(list, entry);
	}
	cJSON_AddBoolToObject(proof, "complete", complete);
	add_signer(proof, node_key);
	if (sign_proof(proof, node_key) < 0) {
		cJSON_Delete(proof);
		errno = EIO;
		return NULL;
	}
	return proof;
}
