/* test-tap.c - tap.h itself: CHECK_EQ and CHECK_STR evaluate each argument once, so a call in
 * them runs once (it used to run twice: once to compare, once to show the value). */
#include "tap.h"

static int calls;

static int count_call(void)
{
	return ++calls;
}

static const char *count_name(void)
{
	calls++;
	return "name";
}

int main(void)
{
	CHECK_EQ(count_call(), 1, "CHECK_EQ compares the first call's value");
	CHECK(calls == 1, "CHECK_EQ called its argument once (%d calls)", calls);
	calls = 0;
	CHECK_EQ(1, count_call(), "... and the second argument's");
	CHECK(calls == 1, "CHECK_EQ called its second argument once (%d calls)", calls);
	calls = 0;
	CHECK_STR(count_name(), "name", "CHECK_STR compares the call's string");
	CHECK(calls == 1, "CHECK_STR called its argument once (%d calls)", calls);
	return tap_done();
}
