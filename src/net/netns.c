/* A sandbox's network namespace made ready for egress: routes, rules and SoulBox's sockets inside it. */
#include "net/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/nft.h"
#include "net/nl.h"

static int host_ns = -1;

int netns_init(struct sb_error *err)
{
    if (host_ns >= 0)
        return 0;
    host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (host_ns < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "open /proc/self/ns/net");
    return 0;
}

static int lo_up(struct sb_error *err)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socket AF_INET");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(fd);
    return rc < 0 ? sb_fail_errno(err, SB_E_SANDBOX_SETUP, e, "ioctl SIOCSIFFLAGS lo") : 0;
}

/* `ip route add default dev lo src 127.0.0.1` (and ::1) : every destination
 * is routed, so that the redirect rules see the connection at all, from the
 * loopback address (without a source the proxy's answers had nowhere to go). */
static int routes(struct sb_error *err)
{
    int fd = nl_open(NETLINK_ROUTE, err);
    if (fd < 0)
        return -1;
    struct nl_buf *b = malloc(sizeof *b);
    if (!b) {
        close(fd);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    unsigned lo = if_nametoindex("lo");
    int rc = 0;
    for (int fam = 0; fam < 2 && rc == 0; fam++) {
        struct rtmsg rt = {
            .rtm_family = fam ? AF_INET6 : AF_INET, .rtm_table = RT_TABLE_MAIN,
            .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_LINK, .rtm_type = RTN_UNICAST,
        };
        nl_init(b, 1);
        nl_msg(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &rt, sizeof rt);
        nl_put_u32(b, RTA_OIF, lo);
        if (fam == 0) {
            struct in_addr a = {htonl(INADDR_LOOPBACK)};
            nl_put(b, RTA_PREFSRC, &a, sizeof a);
        } else {
            nl_put(b, RTA_PREFSRC, &in6addr_loopback, sizeof in6addr_loopback);
        }
        rc = nl_send(fd, b, fam ? "add IPv6 default route" : "add IPv4 default route", err);
        /* without IPv6 (disabled on the host) the sandbox has IPv4 only */
        if (rc < 0 && fam == 1 && (strstr(err->msg, "EACCES") || strstr(err->msg, "EAFNOSUPPORT") ||
                                   strstr(err->msg, "EOPNOTSUPP")))
            rc = 0;
    }
    free(b);
    close(fd);
    return rc;
}

static int nflog_bind(int fd, struct sb_error *err)
{
    struct nl_buf *b = malloc(sizeof *b);
    if (!b)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    struct nfgenmsg g = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0,
                         .res_id = htons(NFT_LOG_GROUP)};
    nl_init(b, 1);
    nl_msg(b, (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG, NLM_F_ACK, &g, sizeof g);
    struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_BIND};
    nl_put(b, NFULA_CFG_CMD, &cmd, sizeof cmd);
    struct nfulnl_msg_config_mode mode = {.copy_range = htonl(80),
                                          .copy_mode = NFULNL_COPY_PACKET};
    nl_put(b, NFULA_CFG_MODE, &mode, sizeof mode);
    /* each packet at once (the default batches for a second, and a sandbox
     * can be gone by then) */
    nl_put_be32(b, NFULA_CFG_TIMEOUT, 0);
    nl_put_be32(b, NFULA_CFG_QTHRESH, 1);
    int rc = nl_send(fd, b, "bind NFLOG group", err);
    free(b);
    return rc;
}

static int bound(int family, int type, uint16_t port, struct sb_error *err)
{
    int fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socket %s",
                             family == AF_INET ? "AF_INET" : "AF_INET6");
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
        int one = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
        (type == SOCK_STREAM && listen(fd, 256) < 0)) {
        int e = errno;
        close(fd);
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, e, "bind %s port %u",
                             family == AF_INET ? "127.0.0.1" : "[::1]", port);
    }
    return fd;
}

static int sockets(struct netns_fds *f, struct sb_error *err)
{
    if ((f->tcp4 = bound(AF_INET, SOCK_STREAM, NETNS_PROXY_PORT, err)) < 0 ||
        (f->udp4 = bound(AF_INET, SOCK_DGRAM, NETNS_DNS_PORT, err)) < 0)
        return -1;
    struct sb_error e6;
    f->tcp6 = bound(AF_INET6, SOCK_STREAM, NETNS_PROXY_PORT, &e6);
    if (f->tcp6 >= 0)
        f->udp6 = bound(AF_INET6, SOCK_DGRAM, NETNS_DNS_PORT, &e6);
    if ((f->nft = nl_open(NETLINK_NETFILTER, err)) < 0 ||
        (f->nflog = nl_open(NETLINK_NETFILTER, err)) < 0)
        return -1;
    return 0;
}

void netns_fds_close(struct netns_fds *f)
{
    int *all[] = {&f->nft, &f->nflog, &f->tcp4, &f->tcp6, &f->udp4, &f->udp6};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        if (*all[i] >= 0)
            close(*all[i]);
        *all[i] = -1;
    }
}

int netns_plumb(int pidfd, struct netns_fds *out, struct sb_error *err)
{
    *out = (struct netns_fds){-1, -1, -1, -1, -1, -1};
    if (host_ns < 0)
        return sb_fail(err, SB_E_INTERNAL, "netns_init was not called");
    if (setns(pidfd, CLONE_NEWNET) < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "setns to the sandbox's network");
    int rc = -1;
    if (lo_up(err) == 0 && routes(err) == 0 && sockets(out, err) == 0 &&
        nft_setup(out->nft, NETNS_PROXY_PORT, NETNS_DNS_PORT, err) == 0 &&
        nflog_bind(out->nflog, err) == 0)
        rc = 0;
    if (setns(host_ns, CLONE_NEWNET) < 0) {
        /* this thread would go on in the sandbox's namespace: never */
        fprintf(stderr, "soulbox: setns back to the host's network failed: %s\n",
                strerror(errno));
        abort();
    }
    if (rc < 0)
        netns_fds_close(out);
    return rc;
}
