/* report.h - decisions as events (core/event.h, schema in docs/events.md): one function per
 * kind of event, each adding the evidence its detector used. */
#pragma once

#include <stdint.h>
#include <time.h>

#include "core/detector.h"
#include "core/event.h"
#include "decode/packet.h"
#include "detect/flow.h"
#include "detect/tracker.h"
#include "evidence/saver.h"

/* Where an event goes: through the evidence thread, which saves a record and adds its token
 * (evidence NULL: straight to the events). */
struct report_dest {
	struct event_sink *events;  /* not owned */
	struct evidence *evidence;  /* not owned; may be NULL */
	struct evidence_ctx ctx;    /* what the record holds besides the event */
};

/* A source crossed the scan threshold; @src is the tracked source (an IPv6 prefix). */
void report_scan(const struct report_dest *to, const struct timespec *t, const struct pkt *p, const struct nfs_addr *src,
		 const struct trk_report *r, enum action a);
/* The same event with the ban writer's outcome: @action "ban" or "refused", and @reason why a
 * ban was refused (NULL when it was not). */
void report_scan_outcome(const struct report_dest *to, const struct timespec *t, const struct pkt *p,
			 const struct nfs_addr *src, const struct trk_report *r, const char *action, const char *reason);
/* The sources of prefix @net crossed its thresholds together (a distributed scan); @p is the
 * crossing packet. @reason (NULL: none): why a ban became an alert. */
void report_distributed_scan(const struct report_dest *to, const struct timespec *t, const struct pkt *p,
			     const struct nfs_addr *net, const struct trk_report *r, enum action a, const char *reason);
void report_backscatter(const struct report_dest *to, const struct timespec *t, const struct pkt *p,
			const struct trk_report *r, enum action a);
void report_probe(const struct report_dest *to, const struct timespec *t, const struct pkt *p, enum action a);
void report_flood(const struct report_dest *to, const struct timespec *t, const struct pkt *p, uint64_t syns,
		  uint64_t seconds, enum action a);
/* @standard: the protocol is on its standard port (only reported when auditing). */
void report_backdoor(const struct report_dest *to, const struct timespec *t, const struct flow_report *rep,
		     const struct flow_finding *f, enum det d, enum action a, bool standard);
/* A ban the writer refused (@reason: "allowlisted 192.0.2.0/24", "protected peer (gateway)", ...)
 * for a detection whose own event was written before the decision (a backdoor). */
void report_ban_refused(const struct report_dest *to, const struct timespec *t, const struct nfs_addr *addr,
			const char *detector, const char *reason);
/* A ban removed by hand (no record: nothing was detected). */
void report_unban(struct event_sink *s, const struct timespec *t, const struct nfs_addr *addr, const char *detector);
/* A ban in the kernel (live) or the ban a replay would have made. @detector: why. */
void report_ban(const struct report_dest *to, const struct timespec *t, const struct nfs_addr *addr, const char *detector,
		uint64_t seconds, uint32_t offence, int64_t latency_us);
