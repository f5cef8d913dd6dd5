/* Agent side: loopback bring-up in the sandbox's own network namespace. */
#include "sandbox/net.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"

int net_lo_up(char *why, size_t whylen)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, whylen, "socket AF_INET: %s", sb_errno_name(errno));
        return -errno;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        rc = -errno;
        snprintf(why, whylen, "ioctl SIOCGIFFLAGS lo: %s", sb_errno_name(errno));
    } else {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
            rc = -errno;
            snprintf(why, whylen, "ioctl SIOCSIFFLAGS lo: %s", sb_errno_name(errno));
        }
    }
    close(fd);
    return rc;
}
