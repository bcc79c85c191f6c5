/* report.c - see report.h. */
#include "decide/report.h"

#include <math.h>
#include <netinet/in.h>

#include "detect/scan.h"
#include "detect/trkcounts.h"

static json_t *pkt_event(const struct timespec *t, const char *event, const char *detector, const char *cls,
			 const struct nfs_addr *src, const struct pkt *p, enum action a)
{
	struct event_head h = {
		.time = *t, .event = event, .detector = detector, .class_ = cls, .src = src ? src : &p->src,
		.dst = &p->dst, .sport = p->sport, .dport = p->dport, .proto = p->proto, .action = action_name(a),
	};
	return event_new(&h);
}

/* Bejtlich: a fixed IP ID, odd TTLs and window sizes tie packets to a tool. */
static void add_tool_fields(json_t *ev, const struct trk_report *r, const struct pkt *p)
{
	json_object_set_new(ev, "ttl_min", json_integer(r->ttl_min));
	json_object_set_new(ev, "ttl_max", json_integer(r->ttl_max));
	json_object_set_new(ev, "ip_id", json_integer(r->ip_id_first));
	json_object_set_new(ev, "ip_id_fixed", json_boolean(r->ip_id_fixed));
	if (p->proto == IPPROTO_TCP)
		json_object_set_new(ev, "tcp_window", json_integer(r->window_first));
}

/* A "scan" event of @detector: the ports, how long, the classes. @action is what was done
 * ("ban", "refused", ...); @reason (NULL: none) why a ban was not made. */
static json_t *scan_event(const struct timespec *t, const char *detector, const struct pkt *p,
			  const struct nfs_addr *src, const struct trk_report *r, const char *action, const char *reason)
{
	struct event_head h = {
		.time = *t, .event = "scan", .detector = detector, .class_ = scan_class(r), .src = src ? src : &p->src,
		.dst = &p->dst, .sport = p->sport, .dport = p->dport, .proto = p->proto, .action = action, .reason = reason,
	};
	json_t *ev = event_new(&h);
	json_t *counts = trk_counts_json(r->counts);
	if (!ev || !counts) {
		json_decref(ev);
		json_decref(counts);
		return NULL;
	}
	json_object_set_new(ev, "ports", json_integer(r->ports));
	json_object_set_new(ev, "seconds", json_integer(r->last_seen - r->first_seen));
	json_object_set_new(ev, "counts", counts);
	return ev;
}

void report_scan(const struct report_dest *to, const struct timespec *t, const struct pkt *p, const struct nfs_addr *src,
		 const struct trk_report *r, enum action a)
{
	report_scan_outcome(to, t, p, src, r, action_name(a), NULL);
}

void report_scan_outcome(const struct report_dest *to, const struct timespec *t, const struct pkt *p,
			 const struct nfs_addr *src, const struct trk_report *r, const char *action, const char *reason)
{
	json_t *ev = scan_event(t, "scan", p, src, r, action, reason);
	if (!ev)
		return;
	add_tool_fields(ev, r, p);
	evidence_submit(to->evidence, to->events, ev, &to->ctx);
}

void report_distributed_scan(const struct report_dest *to, const struct timespec *t, const struct pkt *p,
			     const struct nfs_addr *net, const struct trk_report *r, enum action a, const char *reason)
{
	json_t *ev = scan_event(t, "distributed-scan", p, net, r, action_name(a), reason);
	if (!ev)
		return;
	json_object_set_new(ev, "sources", json_integer(r->sources));
	evidence_submit(to->evidence, to->events, ev, &to->ctx);
}

void report_backscatter(const struct report_dest *to, const struct timespec *t, const struct pkt *p,
			const struct trk_report *r, enum action a)
{
	const char *tool = scan_backscatter_tool(p->tcp_ack);
	json_t *ev = pkt_event(t, "backscatter", "backscatter",
			       r->counts[TRK_SYNACK] >= r->counts[TRK_RST] ? "synack" : "rst", NULL, p, a);
	if (!ev)
		return;
	json_object_set_new(ev, "synack", json_integer(r->counts[TRK_SYNACK]));
	json_object_set_new(ev, "rst", json_integer(r->counts[TRK_RST]));
	json_object_set_new(ev, "ack", json_integer(p->tcp_ack));
	if (tool)
		json_object_set_new(ev, "tool", json_string(tool));
	add_tool_fields(ev, r, p);
	evidence_submit(to->evidence, to->events, ev, &to->ctx);
}

void report_probe(const struct report_dest *to, const struct timespec *t, const struct pkt *p, enum action a)
{
	json_t *ev = pkt_event(t, "probe", "probe", "syn-data", NULL, p, a);
	if (!ev)
		return;
	json_object_set_new(ev, "payload_len", json_integer(p->payload_len));
	json_object_set_new(ev, "ttl", json_integer(p->ttl));
	json_object_set_new(ev, "tcp_window", json_integer(p->tcp_window));
	evidence_submit(to->evidence, to->events, ev, &to->ctx);
}

void report_flood(const struct report_dest *to, const struct timespec *t, const struct pkt *p, uint64_t syns,
		  uint64_t seconds, enum action a)
{
	json_t *ev = pkt_event(t, "flood", "flood", "syn", NULL, p, a);
	if (!ev)
		return;
	json_object_set_new(ev, "syns", json_integer((json_int_t)syns));
	json_object_set_new(ev, "seconds", json_integer((json_int_t)seconds));
	evidence_submit(to->evidence, to->events, ev, &to->ctx);
}

void report_backdoor(const struct report_dest *to, const struct timespec *t, const struct flow_report *rep,
		     const struct flow_finding *f, enum det d, enum action a, bool standard)
{
	struct event_head h = {
		.time = *t, .event = "backdoor", .detector = detector_name(d), .class_ = detector_protocol(d),
		.src = &rep->tuple.client, .dst = &rep->tuple.server, .sport = rep->tuple.cport,
		.dport = rep->tuple.sport, .proto = IPPROTO_TCP, .action = action_name(a),
	};
	json_t *ev = event_new(&h);
	if (!ev)
		return;
	json_object_set_new(ev, "initiator_known", json_boolean(rep->tuple.initiator_known));
	if (standard)
		json_object_set_new(ev, "standard_port", json_true());
	if (f->kind == FLOW_FOUND_SIG) {
		json_object_set_new(ev, "evidence", json_string(f->sig.evidence));
		json_object_set_new(ev, "sent_by", json_string(f->sig.dir == 0 ? "client" : "server"));
		json_object_set_new(ev, "strength", json_string(f->sig.strength == SIG_WEAK ? "weak" : "strong"));
	} else {
		const struct ia_result *r = &f->ia;
		/* Zhang & Paxson sec. 3: the inputs of the decision. */
		json_object_set_new(ev, "gamma", json_real(round(r->gamma * 1000) / 1000));
		json_object_set_new(ev, "alpha", json_real(round(r->alpha * 1000) / 1000));
		json_object_set_new(ev, "packets", json_integer(r->n));
		json_object_set_new(ev, "small", json_integer(r->s));
		json_object_set_new(ev, "gaps", json_integer(r->g));
		json_object_set_new(ev, "seconds", json_real(round((double)r->duration_us / 1e4) / 100));
		json_object_set_new(ev, "sent_by", json_string(r->dir == 0 ? "client" : "server"));
		if (d == DET_SSH_LEN)
			json_object_set_new(ev, "ssh_share", json_real(round(r->ssh_share * 1000) / 1000));
	}
	evidence_submit(to->evidence, to->events, ev, &to->ctx);
}

void report_ban(const struct report_dest *to, const struct timespec *t, const struct nfs_addr *addr, const char *detector,
		uint64_t seconds, uint32_t offence, int64_t latency_us)
{
	struct event_head h = { .time = *t, .event = "ban", .detector = detector, .src = addr, .action = "ban" };
	json_t *ev = event_new(&h);
	if (!ev)
		return;
	json_object_set_new(ev, "seconds", json_integer((json_int_t)seconds));
	json_object_set_new(ev, "offence", json_integer(offence));
	if (latency_us >= 0)
		json_object_set_new(ev, "latency_us", json_integer(latency_us));
	evidence_submit(to->evidence, to->events, ev, &to->ctx);
}

void report_ban_refused(const struct report_dest *to, const struct timespec *t, const struct nfs_addr *addr,
			const char *detector, const char *reason)
{
	struct event_head h = { .time = *t, .event = "ban", .detector = detector, .src = addr, .action = "refused",
				.reason = reason };
	json_t *ev = event_new(&h);
	if (ev)
		evidence_submit(to->evidence, to->events, ev, &to->ctx);
}

void report_unban(struct event_sink *s, const struct timespec *t, const struct nfs_addr *addr, const char *detector)
{
	struct event_head h = { .time = *t, .event = "unban", .detector = detector, .src = addr, .action = "unban" };
	json_t *ev = event_new(&h);
	if (ev)
		event_emit(s, ev);
}
