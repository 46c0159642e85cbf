/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform API (TC609 Annex B) on the agent's event loop: HTTPS with mutual TLS, serving
 * only platforms whose client certificate chains to platform_ca and whose CN is in
 * platform_ids. POST /contractExecution takes a filed contract and applies it (the path of
 * `pepctl apply`); POST /contractTerminate takes a signed Annex B.7 notice and terminates (the
 * path of `pepctl terminate`). Replies: {"status": "0", ...} or {"status": "1", "errors":
 * [{"path", "message"}, ...]}. docs/agent-api.md says it all in plain words.
 */
#ifndef PEP_AGENT_API_H
#define PEP_AGENT_API_H

struct agent;

/* Serves the API when `listen` is set; 0 (also when it is not), or -errno, logged. */
int api__open(struct agent *a);
void api__close(struct agent *a);

#endif /* PEP_AGENT_API_H */
