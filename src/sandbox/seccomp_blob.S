/* Embeds the default seccomp programs, compiled at build time by seccomp-gen. */
    .section .rodata
    .balign 8
    .global sb_bpf_notify
    .global sb_bpf_notify_end
    .global sb_bpf_kill
    .global sb_bpf_kill_end
sb_bpf_notify:
    .incbin BPF_NOTIFY
sb_bpf_notify_end:
    .balign 8
sb_bpf_kill:
    .incbin BPF_KILL
sb_bpf_kill_end:
    .section .note.GNU-stack,"",@progbits
