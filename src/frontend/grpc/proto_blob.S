/* Embeds the FileDescriptorSet of proto/ (protoc-c --descriptor_set_out
 * --include_imports) for gRPC server reflection. */
    .section .rodata
    .balign 16
    .global sb_proto_descriptors
    .global sb_proto_descriptors_end
sb_proto_descriptors:
    .incbin PROTO_SET
sb_proto_descriptors_end:
    .section .note.GNU-stack,"",@progbits
