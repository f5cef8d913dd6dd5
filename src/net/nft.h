/* A sandbox's egress rules: an nf_tables table in its own network namespace, spoken over netlink. */
#ifndef SB_NET_NFT_H
#define SB_NET_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * table inet soulbox, in the sandbox's namespace (never the host's):
 *   chain egress (filter, output, -150): the sandbox's loopback, DNS (to the
 *     resolver) and established flows pass; new TCP goes through the chains
 *     of nft_chains in order, each holding nft_rules' rules (accept, or log
 *     and refuse): deny (the config's deny entries), explicit (allowed
 *     addresses in reserved ranges or of the host, listed by name), fixed
 *     (reserved ranges, the host's addresses), allow (the allowed ranges),
 *     learned (the sets of addresses the resolver gave out: learn4/learn6
 *     for every port, learn4p/learn6p address . port, whose elements expire
 *     with the TTL); whatever none accepts is logged to NFLOG NFT_LOG_GROUP
 *     and refused at once (TCP reset; ICMP admin-prohibited otherwise).
 *   chain redirect (nat, output, -100): DNS to `dns_port`, TCP to
 *     `proxy_port`, both on the sandbox's loopback, where SoulBox listens.
 */

/* NFLOG group of refused packets (groups are per namespace). */
#define NFT_LOG_GROUP 7

struct nft_match {
    int family;              /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t prefix;
    uint16_t port_lo, port_hi;
    bool accept;             /* else: not accepted here (the refusal follows) */
};

/* Creates the table in the namespace of `fd` (a NETLINK_NETFILTER socket). */
int nft_setup(int fd, uint16_t proxy_port, uint16_t dns_port, struct sb_error *err);
extern const char *const nft_chains[5];
/* Appends rules to a chain of nft_chains (not "learned"), in order: accept,
 * or log and refuse. */
int nft_rules(int fd, const char *chain, const struct nft_match *m, size_t n,
              struct sb_error *err);
/* Lets the sandbox reach addr (on `ports`, or every port if nports is 0)
 * for timeout_ms. */
int nft_learn(int fd, int family, const uint8_t *addr, const uint16_t *ports, size_t nports,
              uint32_t timeout_ms, struct sb_error *err);

#endif
