/* test-control.c - the control server's wait for the ban writer is bounded (issue 10, item
 * 11): a ban asked while nothing answers the ban queue fails after BAN_WAIT_S (5 s) with a
 * reason, instead of holding the server; the writer's late answer lands in memory the server
 * kept for it (AddressSanitizer would see a write to freed memory), and the next ban, answered,
 * goes through. The server's thread is not started: control_handle() is called directly. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "ban/banq.h"
#include "control/server.h"
#include "tap.h"

static struct banq *q;

/* Answers one ban request, as the writer would, as soon as it is queued. */
static void *answer_one(void *arg)
{
	struct ban_request rq;
	(void)arg;
	if (banq_pop(q, &rq, 1, 10000) != 1 || !rq.reply)
		return NULL;
	pthread_mutex_lock(&rq.reply->lock);
	rq.reply->rc = 0;
	rq.reply->addr = rq.addr;
	rq.reply->seconds = 60;
	rq.reply->done = true;
	pthread_cond_signal(&rq.reply->cond);
	pthread_mutex_unlock(&rq.reply->lock);
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-control-XXXXXX", sock[64], err[256];
	struct control *c = NULL;
	static const char ban[] = "{\"command\":\"ban\",\"address\":\"192.0.2.1\",\"seconds\":60}";

	banq_new(&q, 16);
	CHECK(q && mkdtemp(dir), "ban queue and a folder");
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	struct daemon_view ctx = { .banq = q, .started = time(NULL) };
	CHECK(control_open(&c, sock, (gid_t)-1, &ctx, err, sizeof(err)) == 0, "control_open: %s", c ? "ok" : err);
	if (!c)
		return tap_done();

	/* Nothing pops the queue: a writer stuck in the kernel. */
	json_t *ans = control_handle(c, ban, sizeof(ban) - 1, 0, 0);
	const char *e = json_string_value(json_object_get(ans, "error"));
	CHECK(json_is_false(json_object_get(ans, "ok")) && e && strstr(e, "did not answer within 5 s"),
	      "no answer from the writer: bounded, and said (%s)", e ? e : "no error");
	json_decref(ans);

	/* The writer wakes up and answers the request it still held. */
	struct ban_request late;
	CHECK(banq_pop(q, &late, 1, 0) == 1 && late.reply, "the request is still queued");
	if (late.reply) {
		pthread_mutex_lock(&late.reply->lock);
		late.reply->rc = 0;
		late.reply->done = true;
		pthread_cond_signal(&late.reply->cond);
		pthread_mutex_unlock(&late.reply->lock);
	}

	/* The next ban, answered at once, goes through (and the late answer's memory is freed). */
	pthread_t t;
	pthread_create(&t, NULL, answer_one, NULL);
	ans = control_handle(c, ban, sizeof(ban) - 1, 0, 0);
	pthread_join(t, NULL);
	CHECK(json_is_true(json_object_get(ans, "ok")) && json_integer_value(json_object_get(ans, "seconds")) == 60,
	      "an answered ban goes through");
	json_decref(ans);

	control_free(c);
	banq_free(q);
	rmdir(dir);
	return tap_done();
}
