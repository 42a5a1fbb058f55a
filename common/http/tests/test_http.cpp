// The HTTP client's helpers: Retry-After, backoff with jitter, redaction.
#include <gtest/gtest.h>

#include <set>

#include "pipekit/http.hpp"

using namespace pipekit::http;

TEST(Http, RetryAfterSecondsAndDates) {
  EXPECT_EQ(parse_retry_after("120", 0), 120'000);
  EXPECT_EQ(parse_retry_after(" 0 ", 0), 0);
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10'000);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0);  // in the past
  EXPECT_EQ(parse_retry_after("soon", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("99999999999999", 0), std::nullopt);
}

TEST(Http, BackoffDoublesWithJitterAndACap) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    int64_t d1 = backoff_ms(1, 1000, 60000, rng);
    int64_t d3 = backoff_ms(3, 1000, 60000, rng);
    int64_t d20 = backoff_ms(20, 1000, 60000, rng);
    EXPECT_GE(d1, 500);
    EXPECT_LE(d1, 1000);
    EXPECT_GE(d3, 2000);
    EXPECT_LE(d3, 4000);
    EXPECT_GE(d20, 30000);
    EXPECT_LE(d20, 60000);
  }
  // Jitter: not all the same.
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) seen.insert(backoff_ms(2, 1000, 60000, rng));
  EXPECT_GT(seen.size(), 10u);
  EXPECT_EQ(backoff_ms(1, 0, 60000, rng), 0);
}

TEST(Http, RedactsCredentials) {
  EXPECT_EQ(redact_url("https://user:pw@host/api/?x=1"), "https://***@host/api/?x=1");
  EXPECT_EQ(redact_url("https://host/a@b"), "https://host/a@b");
  EXPECT_EQ(redact_url("file:///tmp/x.json"), "file:///tmp/x.json");
  EXPECT_EQ(redact_url("https://host/api/?results=5&token=abc123&seed=x"),
            "https://host/api/?results=5&token=***&seed=x");
  EXPECT_EQ(redact_url("https://u:p@host/?API_KEY=k&sig=s#top"), "https://***@host/?API_KEY=***&sig=***#top");
  EXPECT_EQ(redact_url("https://host/?access_token=t"), "https://host/?access_token=***");
  EXPECT_EQ(redact_url("https://host/#frag?token=x"), "https://host/#frag?token=x");
  EXPECT_EQ(redact_url("https://host?x=1"), "https://host?x=1");
}

TEST(Http, ExcerptsAndEncoding) {
  EXPECT_EQ(body_excerpt(""), "(empty)");
  EXPECT_EQ(body_excerpt("a\nb\tc"), "a b c");
  EXPECT_EQ(body_excerpt(std::string(300, 'x'), 10), "xxxxxxxxxx... (300 bytes)");
  EXPECT_EQ(url_encode("a b&c=d/é,x"), "a%20b%26c%3Dd%2F%C3%A9,x");
}
