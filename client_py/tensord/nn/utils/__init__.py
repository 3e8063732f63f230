"""tensord.nn.utils, as torch.nn.utils: gradient clipping, parameter/vector conversion,
variable-length sequences (rnn), weight and spectral normalization (hooks, and the
parametrize-based parametrizations), functional_call (stateless), conv-bn fusion,
skip_init and conv weights in a memory format."""
from . import clip_grad, convert_parameters, rnn, parametrize, parametrizations, stateless, fusion, init, memory_format  # noqa: F401
from .weight_norm import weight_norm, remove_weight_norm  # noqa: F401
from .spectral_norm import spectral_norm, remove_spectral_norm  # noqa: F401
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights  # noqa: F401
from .init import skip_init  # noqa: F401
from .memory_format import convert_conv2d_weight_memory_format  # noqa: F401
