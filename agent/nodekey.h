/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's own key (pol_sign() signs with it): signs destruction proofs (and, later, record checkpoints). Ed25519,
 * made on first start in the state directory (node-key.pem, mode 0600) and kept for life.
 */
#ifndef PEP_AGENT_NODEKEY_H
#define PEP_AGENT_NODEKEY_H

#include <stddef.h>

#include <openssl/types.h>

/* Loads state_dir/node-key.pem, or makes it. NULL and errno on failure. */
EVP_PKEY *node_key__load(const char *state_dir);
/* The public key in PEM (malloc'd), or NULL. */
char *node_key__public_pem(EVP_PKEY *key);
/* The public key as base64 of its DER SubjectPublicKeyInfo (malloc'd), or NULL: how the
 * journal's readers (the platform, a Kafka consumer) are told which key signs checkpoints. */
char *node_key__public_b64(EVP_PKEY *key);

#endif /* PEP_AGENT_NODEKEY_H */
