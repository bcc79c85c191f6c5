/* record.h - the parts of an evidence record (docs/evidence.md) that are not the event:
 * the packets as a pcap file (evidence/recpcap.h), and the configuration that applied. */
#pragma once

#include <jansson.h>

#include "core/config.h"
#include "evidence/recpcap.h"

/* The settings the detectors and the ban writer used: [scan], [ban], and every detector's
 * action. New object, or NULL. */
json_t *record_config(const struct nfs_config *c);
