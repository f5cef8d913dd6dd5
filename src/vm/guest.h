/* The guest side of a microVM: `soulbox vm-agent`, pid 1 once the guest's /init has mounted the runtimes. */
#ifndef SB_VM_GUEST_H
#define SB_VM_GUEST_H

/* Never returns: the guest powers off when its sandbox ends. */
int vm_guest_main(int argc, char **argv);

#endif
