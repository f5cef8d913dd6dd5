/* The guest's initramfs, assembled at start in memory (the static /init built with SoulBox + the kernel's modules), and the host check behind sandbox.microvm. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/buf.h"
#include "vm/snapshot.h"
#include "vm/vm.h"

/* The static /init (src/vm/init/init.c), linked in by init_blob.S. */
extern const unsigned char sb_vm_init_blob[];
extern const unsigned char sb_vm_init_blob_end[];

/* What /init loads, dependencies first (there is no modprobe in the guest). */
static const char *const modules[] = {
    "drivers/virtio/virtio_ring", "drivers/virtio/virtio", "drivers/virtio/virtio_mmio",
    "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_modern_dev",
    "drivers/virtio/virtio_pci",
    "drivers/char/virtio_console", "fs/fuse/fuse", "fs/fuse/virtiofs",
    "drivers/misc/pvpanic/pvpanic", "drivers/misc/pvpanic/pvpanic-mmio",
    "net/core/failover", "drivers/net/net_failover", "drivers/net/virtio_net",
    "fs/overlayfs/overlay", /* the sandbox's layers; the guest has no modprobe tree */
    /* netfilter's netlink family, so that a program's attempt at it is refused
     * for want of CAP_NET_ADMIN, as on the host, whether or not the host has
     * this kernel's module tree for the guest to load it from */
    "net/netfilter/nfnetlink",
};

static void cpio_entry(struct sb_buf *b, const char *name, unsigned mode, const void *data,
                       size_t len)
{
    static unsigned ino = 1000;
    size_t namesize = strlen(name) + 1;
    sb_buf_printf(b, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino++,
                  mode, 0u, 0u, 1u, 0u, len, 0u, 0u, 0u, 0u, namesize, 0u);
    sb_buf_append(b, name, namesize);
    while (b->len % 4)
        sb_buf_append(b, "", 1);
    if (len)
        sb_buf_append(b, data, len);
    while (b->len % 4)
        sb_buf_append(b, "", 1);
}

static int read_file(const char *path, struct sb_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        sb_buf_append(out, buf, (size_t)n);
    int e = errno;
    close(fd);
    errno = e;
    return n < 0 || out->oom ? -1 : 0;
}

int vm_initramfs(const char *modules_dir, struct sb_error *err)
{
    struct sb_buf b = {0}, order = {0}, ko = {0};
    int fd = -1;
    static const char *const dirs[] = {"dev", "proc", "sys", "newroot", "modules"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        cpio_entry(&b, dirs[i], 040755, NULL, 0);
    cpio_entry(&b, "dev/console", 020600 | 0, NULL, 0);
    cpio_entry(&b, "init", 0100755, sb_vm_init_blob,
               (size_t)(sb_vm_init_blob_end - sb_vm_init_blob));
    for (size_t i = 0; i < sizeof modules / sizeof *modules; i++) {
        char path[512], name[128];
        const char *base = strrchr(modules[i], '/') + 1;
        snprintf(path, sizeof path, "%s/kernel/%s.ko", modules_dir, modules[i]);
        snprintf(name, sizeof name, "modules/%s.ko", base);
        sb_buf_reset(&ko);
        if (read_file(path, &ko) < 0) {
            sb_fail_errno(err, SB_E_CONFIG, errno, "kernel module %s", path);
            goto out;
        }
        cpio_entry(&b, name, 0100644, ko.data, ko.len);
        sb_buf_printf(&order, "%s.ko\n", base);
    }
    cpio_entry(&b, "modules/order", 0100644, order.data, order.len);
    cpio_entry(&b, "TRAILER!!!", 0, NULL, 0);
    if (b.oom) {
        sb_fail(err, SB_E_INTERNAL, "out of memory");
        goto out;
    }
    fd = memfd_create("soulbox-initramfs", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        sb_fail_errno(err, SB_E_INTERNAL, errno, "initramfs memfd");
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
out:
    sb_buf_free(&b);
    sb_buf_free(&order);
    sb_buf_free(&ko);
    return fd;
}

/* Where its modules are: /lib/modules/<release>, else beside the kernel's
 * boot/ (an unpacked package: <root>/boot/vmlinuz-R, <root>/lib/modules/R). */
static bool find_modules(const char *kernel, const char *release, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "/lib/modules/%s", release);
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof probe, "%s/kernel", out);
    if (access(probe, R_OK) == 0)
        return true;
    const char *slash = strrchr(kernel, '/');
    size_t dir = slash ? (size_t)(slash - kernel) : 0; /* <root>/boot */
    while (dir && kernel[dir - 1] != '/')
        dir--;
    snprintf(out, PATH_MAX, "%.*slib/modules/%s", (int)dir, kernel, release);
    snprintf(probe, sizeof probe, "%s/kernel", out);
    return dir && access(probe, R_OK) == 0;
}

/* The kernel: the configured one, else the newest Debian cloud kernel with
 * its modules, unpacked by make setup (VM_GUEST_KERNEL_DIR) or installed. */
static int find_kernel(struct vm_engine *v, struct sb_error *err)
{
    const char *path = v->cfg->kernel;
    char found[PATH_MAX] = "", release[64] = "";
    if (!path) {
        static const char *const where[] = {VM_GUEST_KERNEL_DIR "/boot/vmlinuz-*-cloud-amd64",
                                            "/boot/vmlinuz-*-cloud-amd64"};
        for (size_t w = 0; w < 2; w++) {
            glob_t g;
            if (glob(where[w], 0, NULL, &g) != 0)
                continue;
            for (size_t i = 0; i < g.gl_pathc; i++) {
                const char *rel = strrchr(g.gl_pathv[i], '/') + strlen("/vmlinuz-");
                char mod[PATH_MAX];
                if (strlen(rel) < sizeof release && find_modules(g.gl_pathv[i], rel, mod) &&
                    (!found[0] || strverscmp(rel, release) > 0)) {
                    snprintf(found, sizeof found, "%s", g.gl_pathv[i]);
                    snprintf(release, sizeof release, "%s", rel);
                }
            }
            globfree(&g);
        }
        if (!found[0])
            return sb_fail(err, SB_E_CONFIG, "no guest kernel: make setup unpacks Debian's "
                           "linux-image-cloud-amd64 into " VM_GUEST_KERNEL_DIR
                           " (or set sandbox.microvm.kernel)");
        path = found;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, "vmlinuz-", 8))
        return sb_fail(err, SB_E_CONFIG, "sandbox.microvm.kernel %s: not named vmlinuz-<release>",
                       path);
    snprintf(v->kernel_release, sizeof v->kernel_release, "%s", base + 8);
    if (!find_modules(path, v->kernel_release, v->modules_dir))
        return sb_fail(err, SB_E_CONFIG, "guest kernel %s: its modules are neither in "
                       "/lib/modules/%s nor beside it", path, v->kernel_release);
    if ((v->kernel_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return sb_fail_errno(err, SB_E_CONFIG, errno, "guest kernel %s", path);
    return 0;
}

/* prog, or where PATH has it, in out[PATH_MAX]. */
static bool executable(const char *prog, char *out)
{
    if (strchr(prog, '/')) {
        snprintf(out, PATH_MAX, "%s", prog);
        return access(prog, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, prog);
        if (n && access(out, X_OK) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

void vm_engine_init(struct vm_engine *v, const struct vm_cfg *cfg)
{
    memset(v, 0, sizeof *v);
    v->cfg = cfg;
    v->kernel_fd = v->initrd_fd = -1;
    struct sb_error err = {0};
    if (!cfg || !cfg->enabled) {
        snprintf(v->reason, sizeof v->reason, "microvm isolation is off on this server "
                 "(sandbox.microvm.enabled)");
        return;
    }
    if (!executable(cfg->qemu, v->qemu) || !executable(cfg->virtiofsd, v->virtiofsd)) {
        snprintf(v->reason, sizeof v->reason, "%s or %s not found: install qemu-system-x86 "
                 "(make setup does)", cfg->qemu, cfg->virtiofsd);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", v->agent_path, sizeof v->agent_path - 1);
    if (n <= 0) {
        snprintf(v->reason, sizeof v->reason, "readlink /proc/self/exe: %s", strerror(errno));
        return;
    }
    v->agent_path[n] = '\0';
    if (find_kernel(v, &err) < 0 || (v->initrd_fd = vm_initramfs(v->modules_dir, &err)) < 0) {
        snprintf(v->reason, sizeof v->reason, "%s", err.msg);
        vm_engine_close(v);
        return;
    }
    /* auto: decided by vm_accel() at the first VM's start (a probe). */
    v->accel = VMM_TCG;
    v->accel_known = cfg->accel != VM_ACCEL_AUTO;
    if (cfg->accel == VM_ACCEL_KVM) {
        int k = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (k < 0) {
            snprintf(v->reason, sizeof v->reason, "sandbox.microvm.accel is kvm but /dev/kvm: %s",
                     strerror(errno));
            vm_engine_close(v);
            return;
        }
        close(k);
        v->accel = VMM_KVM;
    }
    v->tsc_khz = vmm_tsc_khz();
    if (cfg->snapshot && !(v->snaps = vm_snaps_new())) {
        snprintf(v->reason, sizeof v->reason, "out of memory");
        vm_engine_close(v);
        return;
    }
    v->available = true;
}

void vm_engine_close(struct vm_engine *v)
{
    if (v->kernel_fd >= 0)
        close(v->kernel_fd);
    if (v->initrd_fd >= 0)
        close(v->initrd_fd);
    v->kernel_fd = v->initrd_fd = -1;
    vm_snaps_free(v->snaps);
    v->snaps = NULL;
    v->available = false;
}
