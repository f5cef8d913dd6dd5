/* The guest's side of egress: its virtio-net interface on QEMU's user-mode network, and a DNS forwarder on its loopback. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/guest_net.h"

/*
 * QEMU's user-mode stack (vmm.c) answers on 10.0.2.2 / fd00:50:b0::2 (the
 * gateway) and resolves on 10.0.2.3 / fd00:50:b0::3; what the guest sends
 * elsewhere becomes a socket of QEMU's, in the network namespace SoulBox
 * filtered for this sandbox, as a program's own sockets are in a namespace
 * sandbox. The sandbox shares the guest's namespace (the guest is its own).
 */

#define IF_NAME "eth0"
#define DNS_PENDING 64

/* <linux/ipv6.h>'s, which clashes with <netinet/in.h> */
struct in6_ifreq_ {
    struct in6_addr addr;
    uint32_t prefixlen;
    int ifindex;
};

static int fail(struct sb_error *err, const char *what)
{
    return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "guest network: %s", what);
}

static int if_up(int sock, const char *name)
{
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

static void sysctl_write(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, value, strlen(value)) < 0) {
        }
        close(fd);
    }
}

static int ipv4_up(int s, struct sb_error *err)
{
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, IF_NAME);
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.2.15", &a->sin_addr);
    if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
        return fail(err, "address 10.0.2.15");
    inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
    if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
        return fail(err, "netmask");
    if (if_up(s, IF_NAME) < 0)
        return fail(err, "bring " IF_NAME " up");
    struct rtentry rt = {0};
    struct sockaddr_in *d = (struct sockaddr_in *)&rt.rt_dst;
    struct sockaddr_in *g = (struct sockaddr_in *)&rt.rt_gateway;
    struct sockaddr_in *m = (struct sockaddr_in *)&rt.rt_genmask;
    d->sin_family = g->sin_family = m->sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.2.2", &g->sin_addr);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = (char *)IF_NAME;
    if (ioctl(s, SIOCADDRT, &rt) < 0)
        return fail(err, "default route");
    return 0;
}

static int ipv6_up(int ifindex, struct sb_error *err)
{
    int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0; /* no IPv6 in this kernel: IPv4 only */
    struct in6_ifreq_ r = {.prefixlen = 64, .ifindex = ifindex};
    inet_pton(AF_INET6, "fd00:50:b0::15", &r.addr);
    int rc = 0;
    if (ioctl(s, SIOCSIFADDR, &r) < 0) {
        rc = fail(err, "address fd00:50:b0::15");
    } else {
        struct in6_rtmsg rt = {.rtmsg_flags = RTF_UP | RTF_GATEWAY, .rtmsg_metric = 1,
                               .rtmsg_ifindex = ifindex};
        inet_pton(AF_INET6, "fd00:50:b0::2", &rt.rtmsg_gateway);
        if (ioctl(s, SIOCADDRT, &rt) < 0)
            rc = fail(err, "IPv6 default route");
    }
    close(s);
    return rc;
}

int guest_net_up(struct sb_error *err)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return fail(err, "socket");
    int rc = -1;
    unsigned idx = 0;
    /* virtio-mmio probing is asynchronous: the interface may come late */
    for (int tries = 0; tries < 500 && !(idx = if_nametoindex(IF_NAME)); tries++)
        usleep(10000);
    if (if_up(s, "lo") < 0) {
        fail(err, "bring lo up");
    } else if (!idx) {
        errno = ENODEV;
        fail(err, "no " IF_NAME);
    } else {
        /* static addresses: no router advertisement or DAD to wait for */
        sysctl_write("/proc/sys/net/ipv6/conf/" IF_NAME "/accept_ra", "0");
        sysctl_write("/proc/sys/net/ipv6/conf/" IF_NAME "/accept_dad", "0");
        sysctl_write("/proc/sys/net/ipv6/conf/" IF_NAME "/autoconf", "0");
        if (ipv4_up(s, err) == 0 && ipv6_up((int)idx, err) == 0)
            rc = 0;
    }
    close(s);
    return rc;
}

/* ---- the DNS forwarder ---- */

/* A query waiting for its answer: who asked, on which listener. */
struct pending {
    bool used;
    uint16_t id;
    int from;                    /* listener index */
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

static struct {
    int lis[2];                  /* 127.0.0.1:53, [::1]:53 */
    int up;                      /* connected to QEMU's resolver, 10.0.2.3:53 */
    struct pending p[DNS_PENDING];
    unsigned next;
} D = {{-1, -1}, -1, {{0}}, 0};

static int udp_socket(int family, const void *addr, socklen_t len, bool connect_to)
{
    int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -1;
    int rc = connect_to ? connect(s, addr, len) : bind(s, addr, len);
    if (rc < 0) {
        close(s);
        return -1;
    }
    return s;
}

int guest_dns_open(struct sb_error *err)
{
    struct sockaddr_in l4 = {.sin_family = AF_INET, .sin_port = htons(53),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in u4 = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "10.0.2.3", &u4.sin_addr);
    struct sockaddr_in6 l6 = {.sin6_family = AF_INET6, .sin6_port = htons(53),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if ((D.lis[0] = udp_socket(AF_INET, &l4, sizeof l4, false)) < 0 ||
        (D.up = udp_socket(AF_INET, &u4, sizeof u4, true)) < 0)
        return fail(err, "DNS forwarder");
    D.lis[1] = udp_socket(AF_INET6, &l6, sizeof l6, false); /* IPv6 is optional */
    return 0;
}

int guest_dns_fds(int fds[3])
{
    int n = 0;
    for (int i = 0; i < 2; i++)
        if (D.lis[i] >= 0)
            fds[n++] = D.lis[i];
    if (D.up >= 0)
        fds[n++] = D.up;
    return n;
}

/* A query from the sandbox: forwarded as it is (QEMU's resolver stub sends
 * it on from the filtered namespace, where SoulBox's resolver answers). */
static void on_query(int which)
{
    uint8_t buf[4096];
    struct pending *p = &D.p[D.next++ % DNS_PENDING]; /* the oldest makes room */
    p->addr_len = sizeof p->addr;
    ssize_t n = recvfrom(D.lis[which], buf, sizeof buf, 0, (struct sockaddr *)&p->addr,
                         &p->addr_len);
    if (n < 12)
        return;
    p->used = true;
    p->id = (uint16_t)(buf[0] << 8 | buf[1]);
    p->from = which;
    if (send(D.up, buf, (size_t)n, 0) < 0)
        p->used = false;
}

static void on_answer(void)
{
    uint8_t buf[65536];
    ssize_t n = recv(D.up, buf, sizeof buf, 0);
    if (n < 12)
        return;
    uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
    for (int i = 0; i < DNS_PENDING; i++) {
        struct pending *p = &D.p[i];
        if (p->used && p->id == id) {
            p->used = false;
            sendto(D.lis[p->from], buf, (size_t)n, 0, (struct sockaddr *)&p->addr, p->addr_len);
            return;
        }
    }
}

void guest_dns_ready(int fd)
{
    if (fd < 0)
        return;
    for (int i = 0; i < 2; i++)
        if (fd == D.lis[i])
            on_query(i);
    if (fd == D.up)
        on_answer();
}
