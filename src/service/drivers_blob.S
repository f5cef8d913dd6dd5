/* Embeds the code-context drivers (src/service/drivers/), each NUL-terminated. */
    .section .rodata
    .global sb_driver_python
    .global sb_driver_javascript
    .global sb_driver_bash
    .global sb_driver_watch
sb_driver_python:
    .incbin DRIVER_PY
    .byte 0
sb_driver_javascript:
    .incbin DRIVER_JS
    .byte 0
sb_driver_bash:
    .incbin DRIVER_SH
    .byte 0
sb_driver_watch:
    .incbin DRIVER_WATCH
    .byte 0
    .section .note.GNU-stack,"",@progbits
