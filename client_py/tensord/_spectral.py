"""stft and istft, as torch's (torch/functional.py): the short-time Fourier transform
as frames (a strided unfold view), a window and one batched FFT; its inverse as one
batched inverse FFT, the window, an overlap-add (nn.functional.fold) and the division by
the summed squared window.  Differentiable through those ops."""
import warnings

from . import _C

__all__ = ["stft", "istft"]


def _pkg():
    import tensord
    return tensord


def _desc(t):
    """torch's way of naming a tensor in these messages: torch.FloatTensor[3, 100]."""
    return "%s[%s]" % (t.type(), ", ".join(str(s) for s in t.shape))


def _window_desc(w):
    return "None" if w is None else "%s{[%s]}" % (w.type(), ", ".join(str(s) for s in w.shape))


def _padded_window(window, win_length, n_fft, like):
    """The window (ones when None) centred in n_fft samples; None when it would be all ones."""
    T = _pkg()
    if window is None and win_length == n_fft:
        return None
    w = window if window is not None else T.ones(win_length, dtype=like, device=None)
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        w = T.nn.functional.pad(w, (left, n_fft - win_length - left))
    return w


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None):
    """(freq, frames) or (batch, freq, frames) spectrogram of a 1-d or 2-d signal."""
    T = _pkg()
    is_complex = input.is_complex() or (window is not None and window.is_complex())
    if return_complex is None:
        if not is_complex:
            warnings.warn("stft will soon require the return_complex parameter be given for real inputs, and will "
                          "further require that return_complex=True in a future PyTorch release.")
        return_complex = is_complex
    if center:
        signal_dim = input.dim()
        pad = int(n_fft // 2)
        x3 = input.reshape([1] * (3 - signal_dim) + list(input.shape))
        input = T.nn.functional.pad(x3, [pad, pad], pad_mode)
        input = input.reshape(tuple(input.shape[-signal_dim:]))
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length

    def fail(what):
        raise RuntimeError("stft(%s, n_fft=%d, hop_length=%d, win_length=%d, window=%s, normalized=%d, "
                           "onesided=%s, return_complex=%d) : %s"
                           % (_desc(input), n_fft, hop, win, _window_desc(window), int(bool(normalized)),
                              "None" if onesided is None else str(int(bool(onesided))), int(bool(return_complex)),
                              what))
    if input.dim() not in (1, 2):
        fail("expected a 1D or 2D tensor")
    batched = input.dim() == 2
    x = input if batched else input.unsqueeze(0)
    length = x.shape[1]
    if n_fft <= 0 or n_fft > length:
        fail("expected 0 < n_fft < %d, but got n_fft=%d" % (length, n_fft))
    if hop <= 0:
        fail("expected hop_length > 0, but got hop_length=%d" % hop)
    if win <= 0 or win > n_fft:
        fail("expected 0 < win_length <= n_fft, but got win_length=%d" % win)
    if window is not None and (window.dim() != 1 or window.shape[0] != win):
        fail("expected a 1D window tensor of size equal to win_length=%d, but got window with size %s"
             % (win, list(window.shape)))
    onesided = (not is_complex) if onesided is None else onesided
    if onesided and is_complex:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    w = _padded_window(window, win, n_fft, x.dtype if not x.is_complex() else T.float32)
    frames = x.unfold(-1, n_fft, hop)                      # (B, frames, n_fft), a view
    if w is not None:
        frames = frames * w
    spec = T.fft.rfft(frames, dim=-1) if onesided else T.fft.fft(frames, dim=-1)
    if normalized:
        spec = spec * (n_fft ** -0.5)
    spec = spec.transpose(1, 2)
    if not batched:
        spec = spec.squeeze(0)
    return spec if return_complex else T.view_as_real(spec.contiguous())


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """The signal whose stft is input (the least-squares inverse over overlapping frames)."""
    T = _pkg()
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length

    def fail(what):
        raise RuntimeError("istft(%s, n_fft=%d, hop_length=%d, win_length=%d, window=%s, center=%d, normalized=%d, "
                           "onesided=%s, length=%s, return_complex=%d) %s"
                           % (_desc(input), n_fft, hop, win, _window_desc(window), int(bool(center)),
                              int(bool(normalized)), "None" if onesided is None else str(int(bool(onesided))),
                              "None" if length is None else str(length), int(bool(return_complex)), what))
    if not input.is_complex():
        warnings.warn("istft will require a complex-valued input tensor in a future PyTorch release. Matching the "
                      "output from stft with return_complex=True. ")
        if input.dim() < 1 or input.shape[-1] != 2:
            fail(": expected the last dimension to be 2 (corresponding to real and imaginary parts), but got %d"
                 % input.shape[-1])
        input = T.view_as_complex(input.contiguous())
    if input.dim() not in (2, 3):
        fail(": expected a tensor with 3 or 4 dimensions of complex, but got %d" % input.dim())
    batched = input.dim() == 3
    spec = input if batched else input.unsqueeze(0)
    fft_size, n_frames = spec.shape[1], spec.shape[2]
    onesided = fft_size != n_fft if onesided is None else onesided
    if onesided and n_fft // 2 + 1 != fft_size:
        fail("expected the frequency dimension (3rd to the last) of the input tensor to match n_fft / 2 + 1 when "
             "onesided=True, but got %d" % fft_size)
    if not onesided and n_fft != fft_size:
        fail("expected the frequency dimension (3rd to the last) of the input tensor to match n_fft when "
             "onesided=False, but got %d" % fft_size)
    if not 0 < hop <= win:
        fail("expected 0 < hop_length <= win_length")
    if not 0 < win <= n_fft:
        fail("expected 0 < win_length <= n_fft")
    if window is not None and (window.dim() != 1 or window.shape[0] != win):
        fail("Invalid window shape. window has to be 1D and length of `win_length`")
    real_dtype = T.float64 if spec.dtype is T.complex128 else T.float32
    w = _padded_window(window, win, n_fft, real_dtype)
    if w is None:
        w = T.ones(n_fft, dtype=real_dtype)
    if normalized:
        spec = spec * (n_fft ** 0.5)
    frames = spec.transpose(1, 2)                           # (B, frames, freq)
    if return_complex:
        if onesided:
            fail("cannot have onesided output if window or input is complex")
        frames = T.fft.ifft(frames, n=n_fft, dim=-1)
    else:
        # a real signal: only the first n/2 + 1 bins are read, as torch's (the others mirror them)
        if not onesided:
            frames = frames.narrow(-1, 0, n_fft // 2 + 1)
        frames = T.fft.irfft(frames, n=n_fft, dim=-1)
    frames = frames * w
    total = n_fft + hop * (n_frames - 1)
    fold = T.nn.functional.fold
    y = fold(frames.transpose(1, 2), (1, total), (1, n_fft), stride=(1, hop)).reshape(frames.shape[0], total)
    env = fold((w * w).reshape(1, n_fft, 1).expand(1, n_fft, n_frames).contiguous(), (1, total), (1, n_fft),
               stride=(1, hop)).reshape(total)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = total - n_fft // 2
    else:
        end = total
    end = min(end, total)
    y = y[:, start:end]
    env = env[start:end]
    if bool((env.abs() < 1e-11).any()):
        fail("window overlap add min: %g" % float(env.abs().min()))
    y = y / env
    if length is not None and y.shape[1] < length:
        y = T.nn.functional.pad(y, (0, length - y.shape[1]))
    return y if batched else y.squeeze(0)
