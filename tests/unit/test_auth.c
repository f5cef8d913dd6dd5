/* Unit tests for src/service/auth.c: key checks and token buckets on an injected clock. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/sha256.h"
#include "service/auth.h"

static struct sb_api_key keys[2];
static struct sb_server_config cfg;

static void make_auth(struct auth *a, uint64_t rate, uint64_t burst)
{
    memset(&cfg, 0, sizeof cfg);
    keys[0].id = "alice";
    sha256_hex("secret-a", 8, keys[0].sha256);
    keys[1].id = "root";
    sha256_hex("secret-r", 8, keys[1].sha256);
    keys[1].admin = true;
    cfg.auth_enabled = true;
    cfg.keys = keys;
    cfg.n_keys = 2;
    cfg.rate_per_second = rate;
    cfg.rate_burst = burst;
    auth_init(a, &cfg);
}

Test(auth, keys_are_matched_by_their_hash)
{
    struct auth a;
    make_auth(&a, 0, 0);
    const struct sb_api_key *k;
    const char *why = NULL;
    cr_assert_eq(auth_check_key(&a, "secret-r", &k, &why), 0);
    cr_assert_str_eq(k->id, "root");
    cr_assert(k->admin);
    cr_assert_eq(auth_check_key(&a, "secret-a", &k, &why), 0);
    cr_assert_not(k->admin);
    cr_assert_eq(auth_check_key(&a, "secret-", &k, &why), -1);
    cr_assert_str_eq(why, "the API key is not valid");
    cr_assert_null(k);
    cr_assert_eq(auth_check_key(&a, NULL, &k, &why), -1);
    cr_assert(strstr(why, "required"));
    cr_assert_eq(auth_check_key(&a, "", &k, &why), -1);
    auth_free(&a);
}

Test(auth, with_auth_off_any_key_passes_as_none)
{
    struct auth a;
    make_auth(&a, 0, 0);
    a.enabled = false;
    const struct sb_api_key *k = keys;
    const char *why = NULL;
    cr_assert_eq(auth_check_key(&a, "whatever", &k, &why), 0);
    cr_assert_null(k);
    auth_free(&a);
}

Test(auth, a_bucket_allows_its_burst_then_refills_at_the_rate)
{
    struct auth a;
    make_auth(&a, 2, 3);   /* 2 per second, burst 3 */
    unsigned retry = 0;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(auth_rate(&a, "k", 1000, &retry), 0, "burst #%d", i);
    cr_assert_eq(auth_rate(&a, "k", 1000, &retry), -1);
    cr_assert_eq(retry, 1, "half a second rounds up to one");
    cr_assert_eq(auth_rate(&a, "other", 1000, &retry), 0, "buckets are per subject");
    cr_assert_eq(auth_rate(&a, "k", 1400, &retry), -1, "0.8 of a token");
    cr_assert_eq(auth_rate(&a, "k", 1500, &retry), 0, "one token after 500 ms");
    cr_assert_eq(auth_rate(&a, "k", 1500, &retry), -1);
    /* A long idle refills only up to the burst. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(auth_rate(&a, "k", 100000, &retry), 0);
    cr_assert_eq(auth_rate(&a, "k", 100000, &retry), -1);
    auth_free(&a);
}

Test(auth, a_clock_going_back_grants_nothing)
{
    struct auth a;
    make_auth(&a, 1, 1);
    unsigned retry = 0;
    cr_assert_eq(auth_rate(&a, "k", 50000, &retry), 0);
    cr_assert_eq(auth_rate(&a, "k", 10, &retry), -1, "time went back: still empty");
    cr_assert_eq(auth_rate(&a, "k", 50500, &retry), -1, "half a token");
    cr_assert_eq(auth_rate(&a, "k", 51000, &retry), 0);
    auth_free(&a);
}

Test(auth, slow_rates_say_how_long_to_wait)
{
    struct auth a;
    make_auth(&a, 1, 1);
    unsigned retry = 0;
    cr_assert_eq(auth_rate(&a, "k", 0, &retry), 0);
    cr_assert_eq(auth_rate(&a, "k", 100, &retry), -1);
    cr_assert_eq(retry, 1);
    auth_free(&a);
}

Test(auth, rate_zero_means_no_limit)
{
    struct auth a;
    make_auth(&a, 0, 0);
    unsigned retry = 0;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(auth_rate(&a, "k", 0, &retry), 0);
    auth_free(&a);
}
