/* Embeds the static /init of microVM guests (src/vm/init/init.c). */
    .section .rodata
    .balign 64
    .global sb_vm_init_blob
    .global sb_vm_init_blob_end
sb_vm_init_blob:
    .incbin VM_INIT_BIN
sb_vm_init_blob_end:
    .section .note.GNU-stack,"",@progbits
