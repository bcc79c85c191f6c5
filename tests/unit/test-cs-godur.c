/* test-cs-godur.c - Go durations as the LAPI writes them (crowdsec/godur.h). */
#include <errno.h>

#include "godur.h"
#include "tap.h"

static int64_t ms(const char *s)
{
	int64_t v = -999999;
	int r = godur_parse_ms(s, &v);
	return r < 0 ? r : v;
}

int main(void)
{
	/* Seen in crowdsec 1.4.6's stream (/work/wt/lapi-notes.md, docs/crowdsec.md). */
	CHECK_EQ(ms("59m59.63568882s"), 3599635, "59m59.63568882s");
	CHECK_EQ(ms("3h59m59.638968975s"), 14399638, "3h59m59.638968975s");
	CHECK_EQ(ms("1m29.948247577s"), 89948, "1m29.948247577s");
	CHECK_EQ(ms("-160.760779ms"), -160, "negative: an expired decision");
	CHECK_EQ(ms("3600s"), 3600000, "3600s");
	CHECK_EQ(ms("1h"), 3600000, "1h");
	CHECK_EQ(ms("1.5h"), 5400000, "a fraction of an hour");
	CHECK_EQ(ms("300ms"), 300, "ms is not m");
	CHECK_EQ(ms("1500us"), 1, "us");
	CHECK_EQ(ms("1500\xc2\xb5s"), 1, "micro sign");
	CHECK_EQ(ms("999999ns"), 0, "ns");
	CHECK_EQ(ms("0"), 0, "a bare 0");
	CHECK_EQ(ms("0s"), 0, "0s");
	CHECK_EQ(ms("+2m"), 120000, "a plus sign");
	CHECK_EQ(ms("1.000000000000000000001s"), 1000, "digits past nanoseconds are ignored, not overflowed");
	CHECK_EQ(ms(""), -EINVAL, "empty");
	CHECK_EQ(ms("-"), -EINVAL, "a sign alone");
	CHECK_EQ(ms("10"), -EINVAL, "a number without unit (only 0 may go without)");
	CHECK_EQ(ms("1d"), -EINVAL, "d is no Go unit");
	CHECK_EQ(ms("h"), -EINVAL, "a unit without number");
	CHECK_EQ(ms(".s"), -EINVAL, "a point alone");
	CHECK_EQ(ms("1h 2m"), -EINVAL, "a space");
	CHECK_EQ(ms("forever"), -EINVAL, "forever");
	CHECK_EQ(ms("900000h"), -ERANGE, "over 100 years (900000h) is out of range");
	CHECK_EQ(ms("99999999999999999999999999h"), -ERANGE, "digits that overflow 64 bits");
	CHECK_EQ(ms("9223372036854775807ns9223372036854775807ns"), -ERANGE, "a sum that would overflow");
	CHECK_EQ(ms("59m22222222222222588888888444441s"), -ERANGE, "fuzz-stream's overflow (UBSan: before the check)");
	CHECK_EQ(ms("8000h"), 8000LL * 3600 * 1000, "8000h (under a year) is fine");
	return tap_done();
}
