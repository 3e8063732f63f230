/*
 * td_grpc_pb.h — protobuf-c messages in and out of gRPC byte buffers, shared by the
 * daemon (daemon/rpc.c) and libtensord (client_c/conn.c).
 */
#ifndef TD_GRPC_PB_H
#define TD_GRPC_PB_H

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <protobuf-c/protobuf-c.h>

/* A new byte buffer holding m's wire form (one slice). */
static inline grpc_byte_buffer *td_pack_msg(const ProtobufCMessage *m)
{
    grpc_slice s = grpc_slice_malloc(protobuf_c_message_get_packed_size(m));
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* The message of type desc in bb (bb is left to the caller); NULL when the bytes are
 * not one.  *n gets the wire size. */
static inline ProtobufCMessage *td_unpack_msg(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb,
                                              size_t *n)
{
    grpc_byte_buffer_reader rd;
    *n = 0;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    *n = GRPC_SLICE_LENGTH(s);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, *n, GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return m;
}

#endif
