/* Unit tests for src/transport/tcp.c: the client key connections are counted under. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>
#include <sys/un.h>

#include "transport/tcp.h"

static struct tcp_client_key key_of(const char *addr)
{
    struct sockaddr_storage ss = {0};
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(1234);
        cr_assert_eq(inet_pton(AF_INET6, addr, &a->sin6_addr), 1, "%s", addr);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(1234);
        cr_assert_eq(inet_pton(AF_INET, addr, &a->sin_addr), 1, "%s", addr);
    }
    struct tcp_client_key k;
    cr_assert_eq(tcp_client_key((struct sockaddr *)&ss, &k), 0);
    return k;
}

static bool same(const char *a, const char *b)
{
    struct tcp_client_key ka = key_of(a), kb = key_of(b);
    return !memcmp(&ka, &kb, sizeof ka);
}

static const char *name(const char *addr)
{
    static char out[64];
    struct tcp_client_key k = key_of(addr);
    tcp_client_key_name(&k, out, sizeof out);
    return out;
}

Test(tcp, ipv4_clients_are_whole_addresses)
{
    cr_assert(same("192.0.2.1", "192.0.2.1"));
    cr_assert_not(same("192.0.2.1", "192.0.2.2"));
    cr_assert_not(same("127.0.0.1", "127.0.0.2"));
    cr_assert_str_eq(name("192.0.2.1"), "192.0.2.1");
    cr_assert_str_eq(name("127.0.0.1"), "127.0.0.1");
}

Test(tcp, an_ipv4_mapped_address_is_the_ipv4_client)
{
    /* A dual-stack listener (::) sees IPv4 clients this way. */
    cr_assert(same("::ffff:192.0.2.1", "192.0.2.1"));
    cr_assert_not(same("::ffff:192.0.2.1", "::ffff:192.0.2.2"));
    cr_assert_str_eq(name("::ffff:192.0.2.1"), "192.0.2.1");
}

Test(tcp, ipv6_clients_are_counted_per_64)
{
    cr_assert(same("2001:db8:1:2::1", "2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
    cr_assert_not(same("2001:db8:1:2::1", "2001:db8:1:3::1"));
    cr_assert_str_eq(name("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
    cr_assert_str_eq(name("::1"), "::/64");
    /* neither collides with IPv4 clients */
    cr_assert_not(same("::", "0.0.0.0"));
    cr_assert_not(same("::ffff:0:0", "::"));
}

Test(tcp, other_families_have_no_key)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct tcp_client_key k;
    memset(&k, 0xaa, sizeof k);
    cr_assert_eq(tcp_client_key((struct sockaddr *)&un, &k), -1);
    struct tcp_client_key zero = {0};
    cr_assert_eq(memcmp(&k, &zero, sizeof k), 0);
}
