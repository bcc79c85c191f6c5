/* settings.c - the ban settings the writer decides with ([ban], [allow], the protected peers),
 * handed to it by other threads: the reload (banwriter_reconfigure()), the protected peers'
 * watch (banwriter_set_protected()) and the control socket (banwriter_allow()). Settings are
 * never changed in place: each change is a new copy in @next, under @lock, and the thread
 * takes it before its next request (banwriter_settings_take()), so a burst is decided with one
 * set of settings from its start to its end. */
#include "ban/writer-int.h"

#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/netlist.h"

struct ban_settings *banwriter_settings_new(const struct nfs_config *c, const struct netlist *protect,
					    const struct protect_ends *ends)
{
	struct ban_settings *s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	s->duration = c->duration;
	s->max_duration = c->max_duration;
	s->forget = c->forget;
	s->ipv6_prefix = c->ipv6_prefix;
	s->active_peers = c->active_peers;
	s->factor = c->factor;
	s->allow = c->allow;
	s->fleet_max_bans = c->fleet_max_bans;
	s->fleet_min_prefix4 = c->fleet_min_prefix4;
	s->fleet_min_prefix6 = c->fleet_min_prefix6;
	s->fleet_max_duration = c->fleet_max_duration;
	if (protect)
		s->protect = *protect;
	else
		s->protect.n = 0;
	s->ends = ends ? *ends : (struct protect_ends){ s->protect.n, s->protect.n };
	return s;
}

/* Hands @s to the thread (taken before its next request), or applies it now before the start. */
static void settings_swap(struct banwriter *w, struct ban_settings *s)
{
	free(w->next);
	w->next = s;
	if (!w->started) { /* not running yet: apply now */
		free(w->cur);
		w->cur = s;
		w->next = NULL;
	}
}

void banwriter_reconfigure(struct banwriter *w, const struct nfs_config *c, const struct netlist *protect,
			   const struct protect_ends *ends)
{
	struct ban_settings *s = banwriter_settings_new(c, protect, ends);
	if (!s) {
		log_err("ban writer: out of memory; keeping the previous ban settings");
		return;
	}
	pthread_mutex_lock(&w->lock);
	settings_swap(w, s);
	pthread_mutex_unlock(&w->lock);
}

int banwriter_set_protected(struct banwriter *w, const struct netlist *protect, const struct protect_ends *ends)
{
	struct ban_settings *s = malloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&w->lock);
	*s = w->next ? *w->next : *w->cur;
	s->protect = *protect;
	s->ends = *ends;
	settings_swap(w, s);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int banwriter_allow(struct banwriter *w, const struct nfs_addr *net)
{
	struct ban_settings *s = malloc(sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	/* Settings are never changed in place: a new copy goes to the thread, which takes it
	 * before its next request (cur and next only change under this lock). */
	pthread_mutex_lock(&w->lock);
	*s = w->next ? *w->next : *w->cur;
	r = netlist_add(&s->allow, net);
	if (r == 0)
		settings_swap(w, s);
	else
		free(s);
	pthread_mutex_unlock(&w->lock);
	return r;
}

bool banwriter_settings_take(struct banwriter *w)
{
	pthread_mutex_lock(&w->lock);
	bool changed = w->next != NULL;
	if (w->next) {
		free(w->cur);
		w->cur = w->next;
		w->next = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	return changed;
}
