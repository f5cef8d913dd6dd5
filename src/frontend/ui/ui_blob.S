/* Embeds the web UI as bundled by ui/build.mjs (the assembler's include path,
 * -Wa,-I<dir>): each asset and its gzip, between a start and an end symbol,
 * plus the build's version. */
    .section .rodata
#define ASSET(sym, file) \
    .global sym; .global sym##_end; .balign 16; sym: .incbin file; sym##_end:
ASSET(sb_ui_index_html, "index.html")
ASSET(sb_ui_index_html_gz, "index.html.gz")
ASSET(sb_ui_app_js, "app.js")
ASSET(sb_ui_app_js_gz, "app.js.gz")
ASSET(sb_ui_app_css, "app.css")
ASSET(sb_ui_app_css_gz, "app.css.gz")
ASSET(sb_ui_version, "version")
    .byte 0
    .section .note.GNU-stack,"",@progbits
