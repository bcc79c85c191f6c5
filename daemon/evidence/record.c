/* record.c - see record.h. */
#include "evidence/record.h"

#include "core/detector.h"

json_t *record_config(const struct nfs_config *c)
{
	json_t *actions = json_object();
	for (int d = 0; d < DET_MANUAL; d++)
		json_object_set_new(actions, detector_key((enum det)d), json_string(action_name(c->policy.action[d])));
	return json_pack("{s{sIsIss sI} s{sIsfsIsIsI} s{sIsIsb} so}",
			 "scan", "threshold", (json_int_t)c->threshold, "window", (json_int_t)c->window, "verdict",
			 c->verdict_accept ? "accept" : "drop", "max_sources", (json_int_t)c->max_sources,
			 "ban", "duration", (json_int_t)c->duration, "factor", c->factor, "max_duration",
			 (json_int_t)c->max_duration, "forget", (json_int_t)c->forget, "ipv6_prefix",
			 (json_int_t)c->ipv6_prefix,
			 "detect", "max_flows", (json_int_t)c->max_flows, "flood_syn_rate", (json_int_t)c->flood_syn_rate,
			 "report_standard_ports", c->report_standard_ports,
			 "actions", actions);
}
