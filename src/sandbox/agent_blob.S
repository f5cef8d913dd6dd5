/* Embeds the static soulbox-agent binary so soulbox ships as one file. */
    .section .rodata
    .balign 64
    .global sb_agent_blob
    .global sb_agent_blob_end
sb_agent_blob:
    .incbin AGENT_BIN
sb_agent_blob_end:
    .global sb_agent_id
sb_agent_id:
    .asciz AGENT_ID
    .section .note.GNU-stack,"",@progbits
