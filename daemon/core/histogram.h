/* histogram.h - latency histograms as the metrics show them (Prometheus buckets): a sorted
 * array of upper bounds, the last bucket (+Inf) implied. The ban writer's ban latency and the
 * workers' verdict latency count into one the same way. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The bucket of @v among the @nle upper bounds @le (ascending, inclusive: a value equal to a
 * bound is in that bound's bucket, as Prometheus' "le" says). Returns 0..@nle; @nle is +Inf. */
static inline size_t histogram_bucket(const uint64_t *le, size_t nle, uint64_t v)
{
	size_t b = 0;

	while (b < nle && v > le[b])
		b++;
	return b;
}
