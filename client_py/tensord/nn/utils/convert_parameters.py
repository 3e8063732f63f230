"""parameters_to_vector and vector_to_parameters (torch.nn.utils.convert_parameters)."""
from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-d tensor."""
    import tensord
    return tensord.cat([p.view(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copies consecutive slices of vec into the parameters (their values replaced in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError("expected torch.Tensor, but got: {}".format(type(vec).__name__))
    from ... import _grad_mode
    pointer = 0
    for param in parameters:
        n = param.numel()
        with _grad_mode.no_grad():
            param.copy_(vec[pointer:pointer + n].view_as(param))
        pointer += n
