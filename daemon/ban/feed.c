/* feed.c - see feed.h. A ring indexed by sequence number: event s lives at (s - 1) % cap, so
 * a reader's next sequence number alone says where it is and whether it was overwritten. */
#include "ban/feed.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ban_feed {
	pthread_mutex_t lock;
	int efd;
	size_t cap;
	uint64_t next; /* sequence number of the next put; events next - min(cap, next - 1) .. next - 1 are held */
	struct ban_feed_event ring[];
};

int ban_feed_new(struct ban_feed **out, size_t capacity)
{
	struct ban_feed *f;

	if (capacity == 0 || capacity > SIZE_MAX / sizeof(f->ring[0]) - 1)
		return -EINVAL;
	f = calloc(1, sizeof(*f) + capacity * sizeof(f->ring[0]));
	if (!f)
		return -ENOMEM;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		int err = -errno;
		free(f);
		return err;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->cap = capacity;
	f->next = 1;
	*out = f;
	return 0;
}

void ban_feed_free(struct ban_feed *f)
{
	if (!f)
		return;
	close(f->efd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void ban_feed_put(struct ban_feed *f, struct ban_feed_event *e)
{
	uint64_t one = 1;

	pthread_mutex_lock(&f->lock);
	e->seq = f->next++;
	f->ring[(e->seq - 1) % f->cap] = *e;
	pthread_mutex_unlock(&f->lock);
	/* Only EAGAIN can fail here (the counter at its maximum): the fd is readable then anyway. */
	if (write(f->efd, &one, sizeof(one)) < 0) {
	}
}

int ban_feed_fd(const struct ban_feed *f)
{
	return f->efd;
}

void ban_feed_drain(struct ban_feed *f)
{
	uint64_t v;

	if (read(f->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing to drain */
	}
}

size_t ban_feed_read(struct ban_feed *f, uint64_t *next, struct ban_feed_event *out, size_t max, uint64_t *lost)
{
	size_t n = 0;

	pthread_mutex_lock(&f->lock);
	uint64_t oldest = f->next > f->cap ? f->next - f->cap : 1;
	*lost = 0;
	if (*next < oldest) {
		*lost = oldest - *next;
		*next = oldest;
	}
	if (*next > f->next) /* a number from the future (another feed's): start at the present */
		*next = f->next;
	while (n < max && *next < f->next) {
		out[n++] = f->ring[(*next - 1) % f->cap];
		(*next)++;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

uint64_t ban_feed_next_seq(struct ban_feed *f)
{
	pthread_mutex_lock(&f->lock);
	uint64_t s = f->next;
	pthread_mutex_unlock(&f->lock);
	return s;
}
