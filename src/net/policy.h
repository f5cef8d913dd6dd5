/* Egress policy for sandboxes: allow/deny entries, their narrowing by a request, and verdicts for addresses and names. */
#ifndef SB_NET_POLICY_H
#define SB_NET_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/error.h"

/*
 * Entry syntax, each optionally followed by ":port" (1..65535; none means
 * every port, stored as 0..65535):
 *   203.0.113.0/24  192.0.2.10  2001:db8::/32  2001:db8::1   (an IP is a /32 or /128)
 *   [2001:db8::1]:443  [2001:db8::/32]:443                  (IPv6 with a port)
 *   example.com       exactly that name (lowercased, one trailing dot dropped)
 *   *.example.com     any name strictly below example.com, not example.com itself
 * IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and IPv4-compatible
 * (::a.b.c.d, but not :: or ::1) entries lying inside those /96 prefixes are
 * stored as the IPv4 entry they embed, as addresses are judged that way.
 */
enum net_kind { NET_CIDR, NET_HOST, NET_SUFFIX };

struct net_entry {
    enum net_kind kind;
    int family;              /* AF_INET or AF_INET6 for NET_CIDR, 0 otherwise */
    uint8_t addr[16];        /* network address (v4 in the first 4 bytes) */
    uint8_t prefix;          /* 0..32 or 0..128 */
    char name[254];          /* NET_HOST: the name; NET_SUFFIX: the suffix without "*." */
    uint16_t port_lo, port_hi;
    char text[300];          /* the entry as given (for messages) */
    /* Set by net_policy_narrow on a requested single address that the config
     * holds only inside a wider range: like that range, it does not list a
     * host address explicitly (see net_policy_check_addr), so a request
     * cannot open one of the host's addresses that the config keeps shut. */
    bool no_host;
};

struct net_policy {
    struct net_entry *allow; size_t n_allow;
    struct net_entry *deny;  size_t n_deny;
};

enum net_verdict {
    NET_ALLOW,
    NET_DENIED,         /* a deny entry */
    NET_RESERVED,       /* loopback, private, link-local, multicast... */
    NET_HOST_ADDR,      /* an address of the host */
    NET_NOT_ALLOWED,    /* no allow entry */
};

/* The host's own addresses (every interface, up or down). */
struct net_hostaddrs {
    size_t n;
    struct { int family; uint8_t addr[16]; } a[1024];
};

/* Port ranges a name may be reached on, sorted, none overlapping or adjacent. */
struct net_ports {
    size_t n;
    struct { uint16_t lo, hi; } r[16];
};

/* Parses one entry into *e. Returns 0, or -1 with err set to a message
 * naming the entry: "\"192.0.2.1/24\": host bits set beyond the /24 prefix". */
int net_entry_parse(const char *s, struct net_entry *e, struct sb_error *err);

/* Canonical text of e, always NUL-terminated (truncated to len):
 * "203.0.113.0/24:443", "[2001:db8::/32]:443", "*.example.com", "192.0.2.10".
 * net_entry_parse reads it back as the same entry. */
void net_entry_format(const struct net_entry *e, char *out, size_t len);

/* Parses both lists into *p (zeroed first). what names the configuration
 * section and prefixes messages with the list's name: what "sandbox.network"
 * gives "sandbox.network.allow: \"x\": ..." or "sandbox.network.deny: ...".
 * On failure nothing is left allocated. */
int net_policy_build(struct net_policy *p, const char *const *allow, size_t n_allow,
                     const char *const *deny, size_t n_deny, const char *what,
                     struct sb_error *err);

/* Frees p's lists and zeroes it; a zeroed policy may be freed again. */
void net_policy_free(struct net_policy *p);

/* A deep copy of src into *dst (zeroed first). Returns 0 or -1 (out of memory). */
int net_policy_copy(struct net_policy *dst, const struct net_policy *src,
                    struct sb_error *err);

/*
 * A request's allow list narrowed against the config: out->deny is a copy of
 * cfg->deny, out->allow the n requested entries (n == 0: a copy of
 * cfg->allow). Each requested entry must be covered by one config allow entry
 * (a CIDR inside a CIDR of its family, a name by the same name or a suffix it
 * is below, a suffix by the same or a parent suffix; ports inside). A CIDR
 * inside a reserved range is covered only by a config CIDR that also lies
 * inside a reserved range, so a request never reaches what the config keeps
 * reserved. Errors: "network.allow: \"ENTRY\" is not allowed by the server's
 * network policy", or a parse error after "network.allow: ". On failure *out
 * is zeroed with nothing allocated.
 */
int net_policy_narrow(const struct net_policy *cfg, const char *const *req_allow, size_t n,
                      struct net_policy *out, struct sb_error *err);

/*
 * The verdict for a connection to addr (4 bytes for AF_INET, 16 for AF_INET6)
 * and port; IPv4-mapped, NAT64 and IPv4-compatible addresses are judged as the
 * IPv4 address they embed. In order: a matching deny CIDR: NET_DENIED; a
 * matching allow CIDR that lists the address explicitly: NET_ALLOW; a reserved
 * address: NET_RESERVED; an address of the host: NET_HOST_ADDR; a matching
 * allow CIDR: NET_ALLOW; else NET_NOT_ALLOWED. "Explicitly" means the entry
 * lies wholly inside one reserved range (10.0.0.0/8, 127.0.0.1:8080; not
 * 0.0.0.0/0 nor 10.0.0.0/7), or is exactly the /32 or /128 of a host address
 * and not marked no_host. host may be NULL (no host addresses). An unknown
 * family gives NET_NOT_ALLOWED.
 */
enum net_verdict net_policy_check_addr(const struct net_policy *p, int family,
                                       const uint8_t *addr, uint16_t port,
                                       const struct net_hostaddrs *host);

/* Whether addr is in a reserved range (after mapping embedded IPv4 as above). */
bool net_addr_reserved(int family, const uint8_t *addr);

/*
 * The reserved ranges, as NET_CIDR entries for every port; *out points to
 * static storage. It lists ::ffff:0:0/96 and 64:ff9b::/96 whole: a kernel
 * filter that cannot look inside an address should refuse them (or map them
 * itself), while net_addr_reserved judges them by the IPv4 address inside.
 */
size_t net_reserved_ranges(const struct net_entry **out);

/*
 * Whether name (any case, trailing dot allowed) may be reached: 0 if it is
 * not a valid name or a deny name entry matches it (on any port); otherwise 1
 * if an allow name entry matches, with *ports (may be NULL) the union of their
 * port ranges (more than 16 ranges become 0..65535), else 0. ports->n is 0
 * whenever 0 is returned.
 */
int net_policy_check_name(const struct net_policy *p, const char *name,
                          struct net_ports *ports);

/* A syntactically valid host name (see the entry syntax), not an IP literal
 * or another numeric address form such as "127.1". */
bool net_name_valid(const char *name);

/* Loads the host's addresses with getifaddrs(). Returns their count, or -1
 * with errno set (E2BIG: more than 1024, as a missing one would not be
 * recognised as the host's). */
int net_hostaddrs_load(struct net_hostaddrs *h);

#endif
