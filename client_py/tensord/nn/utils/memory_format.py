"""convert_conv2d_weight_memory_format (torch.nn.utils.memory_format): the weights of every
Conv2d and ConvTranspose2d of a module laid out in memory_format (channels_last makes the
convolutions take their channels-last path without converting their weights each call)."""

__all__ = ["convert_conv2d_weight_memory_format"]


def convert_conv2d_weight_memory_format(module, memory_format):
    from ..modules.conv import Conv2d, ConvTranspose2d
    if isinstance(module, (Conv2d, ConvTranspose2d)):
        module.weight.data = module.weight.detach().clone().contiguous(memory_format=memory_format)
    for child in module.children():
        convert_conv2d_weight_memory_format(child, memory_format)
    return module
