/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Holders: processes that hold a data product's data. Shared by every BPF object that
 * decides on holders (file_guard marks them, net_guard restricts their egress); the map is
 * pinned by name so all objects see the same one.
 *
 * Contract: key = tgid; value.slots bit i set <=> the process (or an ancestor it forked
 * from after the mark) opened a file or endpoint of the contract in slot i. Slots are
 * assigned by the agent, 0..MAX_HOLDER_SLOTS-1; a bit is never cleared while the process
 * lives (holding data is not undone by closing the file).
 */
#ifndef PEP_HOLDERS_H
#define PEP_HOLDERS_H

#define MAX_HOLDER_SLOTS 64
#define MAX_HOLDERS	 65536

struct holder {
	__u64 slots;
};

#endif /* PEP_HOLDERS_H */
