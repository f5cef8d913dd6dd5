/* Embeds templates/*.yaml (joined by the build) so the binary runs without the directory. */
    .section .rodata
    .global sb_templates_bundle
    .global sb_templates_bundle_end
sb_templates_bundle:
    .incbin TPL_BUNDLE
sb_templates_bundle_end:
    .section .note.GNU-stack,"",@progbits
