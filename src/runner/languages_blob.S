/* Embeds languages/*.yaml (joined by the build) so the binary runs without the directory. */
    .section .rodata
    .global sb_languages_bundle
    .global sb_languages_bundle_end
sb_languages_bundle:
    .incbin LANG_BUNDLE
sb_languages_bundle_end:
    .section .note.GNU-stack,"",@progbits
