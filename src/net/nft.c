/* A sandbox's egress rules: an nf_tables table in its own network namespace, spoken over netlink. */
#include "net/nft.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "net/nl.h"

#define TABLE "soulbox"
#define MSG(t) ((uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (t)))
#define REG1 NFT_REG_1           /* 16 bytes: an address */
#define REG9 NFT_REG32_01        /* the 4 bytes after an IPv4 address */
#define REG2 NFT_REG_2           /* the 16 bytes after an IPv6 address */
#define CT_EST_REL 0x6           /* ct state established,related */
#define TYPE_IPV4 7              /* nft's datatypes, for `nft list` only */
#define TYPE_IPV6 8
#define TYPE_PORT 13

enum { SET_LEARN4 = 1, SET_LEARN6, SET_LEARN4P, SET_LEARN6P };
static const struct {
    const char *name;
    uint32_t key_type, key_len;
} sets[] = {
    [SET_LEARN4] = {"learn4", TYPE_IPV4, 4},
    [SET_LEARN6] = {"learn6", TYPE_IPV6, 16},
    [SET_LEARN4P] = {"learn4p", TYPE_IPV4 << 6 | TYPE_PORT, 8},
    [SET_LEARN6P] = {"learn6p", TYPE_IPV6 << 6 | TYPE_PORT, 20},
};

static atomic_uint seq_next = 1;

const char *const nft_chains[5] = {"deny", "explicit", "fixed", "allow", "learned"};

static void nfmsg(struct nl_buf *b, uint16_t type, uint16_t flags, uint8_t family)
{
    struct nfgenmsg g = {.nfgen_family = family, .version = NFNETLINK_V0};
    if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END)
        g.res_id = htons(NFNL_SUBSYS_NFTABLES);
    nl_msg(b, type, flags, &g, sizeof g);
}

static void batch_begin(struct nl_buf *b)
{
    nl_init(b, atomic_fetch_add(&seq_next, 1000));
    nfmsg(b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC);
}

static void batch_end(struct nl_buf *b)
{
    nfmsg(b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC);
}

/* ---- expressions ---- */

struct expr {
    size_t elem, data;
};

static struct expr expr_begin(struct nl_buf *b, const char *name)
{
    struct expr e;
    e.elem = nl_nest(b, NFTA_LIST_ELEM);
    nl_put_str(b, NFTA_EXPR_NAME, name);
    e.data = nl_nest(b, NFTA_EXPR_DATA);
    return e;
}

static void expr_end(struct nl_buf *b, struct expr e)
{
    nl_nest_end(b, e.data);
    nl_nest_end(b, e.elem);
}

static void e_meta(struct nl_buf *b, uint32_t key)
{
    struct expr e = expr_begin(b, "meta");
    nl_put_be32(b, NFTA_META_DREG, REG1);
    nl_put_be32(b, NFTA_META_KEY, key);
    expr_end(b, e);
}

static void e_cmp(struct nl_buf *b, uint32_t op, const void *data, size_t len)
{
    struct expr e = expr_begin(b, "cmp");
    nl_put_be32(b, NFTA_CMP_SREG, REG1);
    nl_put_be32(b, NFTA_CMP_OP, op);
    size_t d = nl_nest(b, NFTA_CMP_DATA);
    nl_put(b, NFTA_DATA_VALUE, data, len);
    nl_nest_end(b, d);
    expr_end(b, e);
}

static void e_cmp_u8(struct nl_buf *b, uint8_t v) { e_cmp(b, NFT_CMP_EQ, &v, 1); }

static void e_payload(struct nl_buf *b, uint32_t dreg, uint32_t base, uint32_t off, uint32_t len)
{
    struct expr e = expr_begin(b, "payload");
    nl_put_be32(b, NFTA_PAYLOAD_DREG, dreg);
    nl_put_be32(b, NFTA_PAYLOAD_BASE, base);
    nl_put_be32(b, NFTA_PAYLOAD_OFFSET, off);
    nl_put_be32(b, NFTA_PAYLOAD_LEN, len);
    expr_end(b, e);
}

static void e_bitwise(struct nl_buf *b, const uint8_t *mask, uint32_t len)
{
    static const uint8_t zero[16];
    struct expr e = expr_begin(b, "bitwise");
    nl_put_be32(b, NFTA_BITWISE_SREG, REG1);
    nl_put_be32(b, NFTA_BITWISE_DREG, REG1);
    nl_put_be32(b, NFTA_BITWISE_LEN, len);
    size_t m = nl_nest(b, NFTA_BITWISE_MASK);
    nl_put(b, NFTA_DATA_VALUE, mask, len);
    nl_nest_end(b, m);
    size_t x = nl_nest(b, NFTA_BITWISE_XOR);
    nl_put(b, NFTA_DATA_VALUE, zero, len);
    nl_nest_end(b, x);
    expr_end(b, e);
}

static void e_verdict(struct nl_buf *b, int code, const char *chain)
{
    struct expr e = expr_begin(b, "immediate");
    nl_put_be32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    size_t d = nl_nest(b, NFTA_IMMEDIATE_DATA);
    size_t v = nl_nest(b, NFTA_DATA_VERDICT);
    nl_put_be32(b, NFTA_VERDICT_CODE, (uint32_t)code);
    if (chain)
        nl_put_str(b, NFTA_VERDICT_CHAIN, chain);
    nl_nest_end(b, v);
    nl_nest_end(b, d);
    expr_end(b, e);
}

static void e_port_to_reg1(struct nl_buf *b, uint16_t port)
{
    uint16_t be = htons(port);
    struct expr e = expr_begin(b, "immediate");
    nl_put_be32(b, NFTA_IMMEDIATE_DREG, REG1);
    size_t d = nl_nest(b, NFTA_IMMEDIATE_DATA);
    nl_put(b, NFTA_DATA_VALUE, &be, sizeof be);
    nl_nest_end(b, d);
    expr_end(b, e);
}

static void e_redir(struct nl_buf *b)
{
    struct expr e = expr_begin(b, "redir");
    nl_put_be32(b, NFTA_REDIR_REG_PROTO_MIN, REG1);
    nl_put_be32(b, NFTA_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
    expr_end(b, e);
}

static void e_ct_state(struct nl_buf *b)
{
    struct expr e = expr_begin(b, "ct");
    nl_put_be32(b, NFTA_CT_DREG, REG1);
    nl_put_be32(b, NFTA_CT_KEY, NFT_CT_STATE);
    expr_end(b, e);
    uint32_t mask = CT_EST_REL, zero = 0;
    e_bitwise(b, (const uint8_t *)&mask, 4);
    e_cmp(b, NFT_CMP_NEQ, &zero, 4);
}

static void e_log_reject(struct nl_buf *b, uint16_t group, uint32_t type, uint8_t code)
{
    struct expr e = expr_begin(b, "log");
    nl_put_be16(b, NFTA_LOG_GROUP, group);
    expr_end(b, e);
    e = expr_begin(b, "reject");
    nl_put_be32(b, NFTA_REJECT_TYPE, type);
    nl_put_u8(b, NFTA_REJECT_ICMP_CODE, code);
    expr_end(b, e);
}

static void e_lookup(struct nl_buf *b, int set, uint32_t sreg)
{
    struct expr e = expr_begin(b, "lookup");
    nl_put_str(b, NFTA_LOOKUP_SET, sets[set].name);
    nl_put_be32(b, NFTA_LOOKUP_SREG, sreg);
    expr_end(b, e);
}

/* ---- matches ---- */

static void m_family(struct nl_buf *b, int family)
{
    e_meta(b, NFT_META_NFPROTO);
    e_cmp_u8(b, family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
}

static void m_l4(struct nl_buf *b, uint8_t proto)
{
    e_meta(b, NFT_META_L4PROTO);
    e_cmp_u8(b, proto);
}

/* `ip[6] daddr addr/prefix` */
static void m_daddr(struct nl_buf *b, int family, const uint8_t *addr, unsigned prefix)
{
    uint32_t off = family == AF_INET ? 16 : 24, len = family == AF_INET ? 4 : 16;
    m_family(b, family);
    if (prefix == 0)
        return;
    e_payload(b, REG1, NFT_PAYLOAD_NETWORK_HEADER, off, len);
    uint8_t mask[16] = {0}, net[16];
    for (unsigned i = 0; i < len; i++) {
        unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
        mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        net[i] = addr[i] & mask[i];
    }
    if (prefix < len * 8)
        e_bitwise(b, mask, len);
    e_cmp(b, NFT_CMP_EQ, net, len);
}

static void m_dport(struct nl_buf *b, uint16_t lo, uint16_t hi)
{
    if (lo == 0 && hi == 65535)
        return;
    uint16_t l = htons(lo), h = htons(hi);
    e_payload(b, REG1, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
    if (lo == hi) {
        e_cmp(b, NFT_CMP_EQ, &l, 2);
    } else {
        e_cmp(b, NFT_CMP_GTE, &l, 2);
        e_cmp(b, NFT_CMP_LTE, &h, 2);
    }
}

/* ---- messages ---- */

static size_t rule_begin(struct nl_buf *b, const char *chain)
{
    nfmsg(b, MSG(NFT_MSG_NEWRULE), NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, NFPROTO_INET);
    nl_put_str(b, NFTA_RULE_TABLE, TABLE);
    nl_put_str(b, NFTA_RULE_CHAIN, chain);
    return nl_nest(b, NFTA_RULE_EXPRESSIONS);
}

static void chain_add(struct nl_buf *b, const char *name, const char *type, int prio)
{
    nfmsg(b, MSG(NFT_MSG_NEWCHAIN), NLM_F_CREATE | NLM_F_ACK, NFPROTO_INET);
    nl_put_str(b, NFTA_CHAIN_TABLE, TABLE);
    nl_put_str(b, NFTA_CHAIN_NAME, name);
    if (!type)
        return;
    size_t h = nl_nest(b, NFTA_CHAIN_HOOK);
    nl_put_be32(b, NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
    nl_put_be32(b, NFTA_HOOK_PRIORITY, (uint32_t)prio);
    nl_nest_end(b, h);
    nl_put_be32(b, NFTA_CHAIN_POLICY, NF_ACCEPT);
    nl_put_str(b, NFTA_CHAIN_TYPE, type);
}

static void set_add(struct nl_buf *b, int set)
{
    nfmsg(b, MSG(NFT_MSG_NEWSET), NLM_F_CREATE | NLM_F_ACK, NFPROTO_INET);
    nl_put_str(b, NFTA_SET_TABLE, TABLE);
    nl_put_str(b, NFTA_SET_NAME, sets[set].name);
    nl_put_be32(b, NFTA_SET_FLAGS, NFT_SET_TIMEOUT);
    nl_put_be32(b, NFTA_SET_KEY_TYPE, sets[set].key_type);
    nl_put_be32(b, NFTA_SET_KEY_LEN, sets[set].key_len);
    nl_put_be32(b, NFTA_SET_ID, (uint32_t)set);
}

static const uint8_t lo4[4] = {127, 0, 0, 0}, lo6[16] = {[15] = 1};

/* The sandbox's own loopback (127.0.0.0/8 or ::1). */
static void m_loopback(struct nl_buf *b, int family)
{
    m_daddr(b, family, family == AF_INET ? lo4 : lo6, family == AF_INET ? 8 : 128);
}

/* `udp dport 53` */
static void m_dns(struct nl_buf *b)
{
    uint16_t dns = htons(53);
    m_l4(b, IPPROTO_UDP);
    e_payload(b, REG1, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
    e_cmp(b, NFT_CMP_EQ, &dns, 2);
}

static void egress_rules(struct nl_buf *b)
{
    size_t r;
    for (int fam = 0; fam < 2; fam++) {         /* the sandbox's own loopback */
        r = rule_begin(b, "egress");
        m_loopback(b, fam ? AF_INET6 : AF_INET);
        e_verdict(b, NF_ACCEPT, NULL);
        nl_nest_end(b, r);
    }
    r = rule_begin(b, "egress");              /* DNS: redirected to the resolver */
    m_dns(b);
    e_verdict(b, NF_ACCEPT, NULL);
    nl_nest_end(b, r);
    r = rule_begin(b, "egress");
    e_ct_state(b);
    e_verdict(b, NF_ACCEPT, NULL);
    nl_nest_end(b, r);
    for (size_t i = 0; i < sizeof nft_chains / sizeof *nft_chains; i++) {
        r = rule_begin(b, "egress");
        m_l4(b, IPPROTO_TCP);
        e_verdict(b, NFT_JUMP, nft_chains[i]);
        nl_nest_end(b, r);
    }
    r = rule_begin(b, "egress");
    m_l4(b, IPPROTO_TCP);
    e_log_reject(b, NFT_LOG_GROUP, NFT_REJECT_TCP_RST, 0);
    nl_nest_end(b, r);
    r = rule_begin(b, "egress");
    e_log_reject(b, NFT_LOG_GROUP, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
    nl_nest_end(b, r);
}

static void redirect_rules(struct nl_buf *b, uint16_t proxy_port, uint16_t dns_port)
{
    size_t r = rule_begin(b, "redirect");     /* DNS to any server, loopback's too */
    m_dns(b);
    e_port_to_reg1(b, dns_port);
    e_redir(b);
    nl_nest_end(b, r);
    for (int fam = 0; fam < 2; fam++) {
        r = rule_begin(b, "redirect");
        m_loopback(b, fam ? AF_INET6 : AF_INET);
        e_verdict(b, NFT_RETURN, NULL);
        nl_nest_end(b, r);
    }
    r = rule_begin(b, "redirect");
    m_l4(b, IPPROTO_TCP);
    e_port_to_reg1(b, proxy_port);
    e_redir(b);
    nl_nest_end(b, r);
}

/* Chain learned: the addresses the resolver gave out, until their TTL. */
static void learned_rules(struct nl_buf *b)
{
    for (int fam = 0; fam < 2; fam++) {
        int family = fam ? AF_INET6 : AF_INET;
        uint32_t off = fam ? 24 : 16, len = fam ? 16 : 4;
        size_t r = rule_begin(b, "learned");
        m_family(b, family);
        e_payload(b, REG1, NFT_PAYLOAD_NETWORK_HEADER, off, len);
        e_lookup(b, fam ? SET_LEARN6 : SET_LEARN4, REG1);
        e_verdict(b, NF_ACCEPT, NULL);
        nl_nest_end(b, r);
        r = rule_begin(b, "learned");
        m_family(b, family);
        e_payload(b, REG1, NFT_PAYLOAD_NETWORK_HEADER, off, len);
        e_payload(b, fam ? REG2 : REG9, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        e_lookup(b, fam ? SET_LEARN6P : SET_LEARN4P, REG1);
        e_verdict(b, NF_ACCEPT, NULL);
        nl_nest_end(b, r);
    }
}

int nft_setup(int fd, uint16_t proxy_port, uint16_t dns_port, struct sb_error *err)
{
    struct nl_buf *b = malloc(sizeof *b);
    if (!b)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    batch_begin(b);
    nfmsg(b, MSG(NFT_MSG_NEWTABLE), NLM_F_CREATE | NLM_F_ACK, NFPROTO_INET);
    nl_put_str(b, NFTA_TABLE_NAME, TABLE);
    for (int s = SET_LEARN4; s <= SET_LEARN6P; s++)
        set_add(b, s);
    for (size_t i = 0; i < sizeof nft_chains / sizeof *nft_chains; i++)
        chain_add(b, nft_chains[i], NULL, 0);
    chain_add(b, "egress", "filter", -150);
    chain_add(b, "redirect", "nat", -100);
    learned_rules(b);
    egress_rules(b);
    redirect_rules(b, proxy_port, dns_port);
    batch_end(b);
    int rc = nl_send(fd, b, "nftables setup", err);
    free(b);
    return rc;
}

/* At most this many rules per batch: one batch stays well inside nl_buf. */
#define RULES_PER_BATCH 128

int nft_rules(int fd, const char *chain, const struct nft_match *m, size_t n, struct sb_error *err)
{
    struct nl_buf *b = malloc(sizeof *b);
    if (!b)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += RULES_PER_BATCH) {
        batch_begin(b);
        for (size_t i = at; i < n && i < at + RULES_PER_BATCH; i++) {
            size_t r = rule_begin(b, chain);
            m_daddr(b, m[i].family, m[i].addr, m[i].prefix);
            m_dport(b, m[i].port_lo, m[i].port_hi);
            if (m[i].accept)
                e_verdict(b, NF_ACCEPT, NULL);
            else
                e_log_reject(b, NFT_LOG_GROUP, NFT_REJECT_TCP_RST, 0);
            nl_nest_end(b, r);
        }
        batch_end(b);
        rc = nl_send(fd, b, chain, err);
    }
    free(b);
    return rc;
}

int nft_learn(int fd, int family, const uint8_t *addr, const uint16_t *ports, size_t nports,
              uint32_t timeout_ms, struct sb_error *err)
{
    struct nl_buf *b = malloc(sizeof *b);
    if (!b)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    batch_begin(b);
    int set = family == AF_INET ? (nports ? SET_LEARN4P : SET_LEARN4)
                                : (nports ? SET_LEARN6P : SET_LEARN6);
    size_t alen = family == AF_INET ? 4 : 16;
    nfmsg(b, MSG(NFT_MSG_NEWSETELEM), NLM_F_CREATE | NLM_F_ACK, NFPROTO_INET);
    nl_put_str(b, NFTA_SET_ELEM_LIST_TABLE, TABLE);
    nl_put_str(b, NFTA_SET_ELEM_LIST_SET, sets[set].name);
    size_t list = nl_nest(b, NFTA_SET_ELEM_LIST_ELEMENTS);
    for (size_t i = 0; i < (nports ? nports : 1); i++) {
        uint8_t key[20] = {0};
        memcpy(key, addr, alen);
        if (nports) {
            uint16_t p = htons(ports[i]);
            memcpy(key + alen, &p, 2);
        }
        size_t el = nl_nest(b, NFTA_LIST_ELEM);
        size_t k = nl_nest(b, NFTA_SET_ELEM_KEY);
        nl_put(b, NFTA_DATA_VALUE, key, sets[set].key_len);
        nl_nest_end(b, k);
        nl_put_be64(b, NFTA_SET_ELEM_TIMEOUT, timeout_ms);
        nl_nest_end(b, el);
    }
    nl_nest_end(b, list);
    batch_end(b);
    int rc = nl_send(fd, b, "nftables learn", err);
    free(b);
    return rc;
}
