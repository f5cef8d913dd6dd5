/* Embeds the code-context drivers (src/service/drivers/) and the functions'
 * runtimes (src/service/fnrt/), each NUL-terminated. */
    .section .rodata
    .global sb_driver_python
    .global sb_driver_javascript
    .global sb_driver_bash
    .global sb_driver_watch
    .global sb_fnrt_python
    .global sb_fnrt_javascript
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
sb_fnrt_python:
    .incbin FNRT_PY
    .byte 0
sb_fnrt_javascript:
    .incbin FNRT_JS
    .byte 0
    .section .note.GNU-stack,"",@progbits
