"""torch's default DDP communication hooks: each takes (state: a process group or None,
bucket: GradBucket) and returns a Future of the bucket's gradients averaged over the
group — through all_reduce as they are (allreduce_hook), or compressed to float16 or
bfloat16 for the reduction and cast back."""
from ... import distributed_c10d as dist

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook", "fp16_compress_wrapper",
           "bf16_compress_wrapper"]


def _group(process_group):
    return process_group if process_group is not None else dist.group.WORLD


def _allreduce_fut(process_group, tensor):
    group = _group(process_group)
    tensor.div_(group.size())
    return dist.all_reduce(tensor, group=group, async_op=True).get_future().then(lambda fut: fut.value()[0])


def allreduce_hook(process_group, bucket):
    """The average over the group, as DDP without a hook computes it."""
    return _allreduce_fut(process_group, bucket.buffer())


def _compressed_hook(dtype):
    def hook(process_group, bucket):
        group = _group(process_group)
        compressed = bucket.buffer().to(dtype).div_(group.size())
        fut = dist.all_reduce(compressed, group=group, async_op=True).get_future()

        def decompress(fut):
            out = bucket.buffer()
            out.copy_(fut.value()[0])
            return out
        return fut.then(decompress)
    return hook


def fp16_compress_hook(process_group, bucket):
    """The average, reduced in float16 (half the bytes), cast back to the bucket's dtype."""
    from .... import float16
    return _compressed_hook(float16)(process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """The average, reduced in bfloat16, cast back to the bucket's dtype."""
    from .... import bfloat16
    return _compressed_hook(bfloat16)(process_group, bucket)


def _compress_wrapper(dtype_name, hook):
    def wrapper_hook(hook_state, bucket):
        from .... import bfloat16, float16
        bucket.set_buffer(bucket.buffer().to(float16 if dtype_name == "fp16" else bfloat16))
        fut = hook(hook_state, bucket)

        def decompress(fut):
            out = bucket.buffer()
            out.copy_(fut.value())
            return out
        return fut.then(decompress)
    wrapper_hook.__name__ = "%s_compress_wrapper_hook" % dtype_name
    return wrapper_hook


def fp16_compress_wrapper(hook):
    """hook run on the bucket cast to float16, its result cast back."""
    return _compress_wrapper("fp16", hook)


def bf16_compress_wrapper(hook):
    return _compress_wrapper("bf16", hook)
