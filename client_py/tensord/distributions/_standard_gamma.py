"""Gamma(alpha, 1) sampling for Gamma, Beta and Dirichlet, composed from tensord ops
(torch has it as a kernel, torch._standard_gamma; tensord has no GAMMA row).

Sampling is Marsaglia and Tsang's squeeze-rejection method, vectorized: each round
draws a normal and a uniform for every element and keeps the first accepted value.
Acceptance is above 95% for alpha >= 1, so rounds run in blocks of _ROUNDS between
syncs that ask whether anything is still pending; after _MAX_BLOCKS blocks (a rejection
rate of 0.05**32: never, in practice) the rest take the Wilson-Hilferty approximation
d * (1 + c z)**3.  alpha < 1 samples alpha + 1 and multiplies by u**(1/alpha).

The reparameterized gradient is implicit (torch's _standard_gamma_grad): with
F(x; alpha) the regularized incomplete gamma function, dx/dalpha = -(dF/dalpha) / f(x).
dF/dalpha is a central difference of tensord's gammainc (its upper tail through
gammaincc, where it is accurate), f the density; above alpha = _ASYMPTOTIC, where the
fixed-term series loses digits, the derivative of the Wilson-Hilferty map x(alpha, z)
at fixed z is used instead.  Everything runs in float64, cast back at the end."""
import tensord as torch

_ROUNDS = 4
_MAX_BLOCKS = 8
_ASYMPTOTIC = 300.0


def _marsaglia_tsang(a):
    """One Gamma(a, 1) draw per element of the float64 tensor a >= 1."""
    d = a - 1.0 / 3.0
    c = (9.0 * d).rsqrt()
    out = torch.zeros_like(a)
    done = torch.zeros(a.shape, dtype=torch.bool)
    for _ in range(_MAX_BLOCKS):
        for _ in range(_ROUNDS):
            x = torch.randn(a.shape, dtype=a.dtype)
            u = torch.rand(a.shape, dtype=a.dtype)
            v = (1.0 + c * x) ** 3
            pos = v > 0
            logv = torch.where(pos, v, torch.ones_like(v)).log()
            ok = pos & (u.log() < 0.5 * x * x + d - d * v + d * logv) & ~done
            out = torch.where(ok, d * v, out)
            done = done | ok
        if bool(done.all()):
            return out
    z = (1.0 + c * torch.randn(a.shape, dtype=a.dtype)).clamp(min=1e-8)
    return torch.where(done, out, d * z ** 3)


def _standard_gamma(concentration):
    """Gamma(concentration, 1) samples (no gradient), in concentration's dtype, at least its
    dtype's smallest normal number (as torch)."""
    with torch.no_grad():
        a = concentration.detach().to(torch.float64)
        if a.numel() == 0:
            return torch.empty(concentration.shape, dtype=concentration.dtype)
        boost = a < 1
        x = _marsaglia_tsang(torch.where(boost, a + 1.0, a))
        u = torch.rand(a.shape, dtype=a.dtype)
        x = torch.where(boost, x * u.pow(1.0 / a), x)
        tiny = torch.finfo(concentration.dtype).tiny
        return x.clamp(min=tiny).to(concentration.dtype)


def _standard_gamma_grad(x, alpha):
    """d x / d alpha for x ~ Gamma(alpha, 1) held at its quantile (implicit reparameterization)."""
    with torch.no_grad():
        a = alpha.detach().to(torch.float64)
        x = x.detach().to(torch.float64)
        h = 1e-4 * torch.clamp(a, min=0.01)
        upper = x > a
        # the upper tail's complement keeps its digits where P is close to 1
        hi = torch.where(upper, -torch.special.gammaincc(a + h, x), torch.special.gammainc(a + h, x))
        lo = torch.where(upper, -torch.special.gammaincc(a - h, x), torch.special.gammainc(a - h, x))
        dF = (hi - lo) / (2 * h)
        log_pdf = (a - 1) * x.log() - x - torch.lgamma(a)
        grad = -dF / log_pdf.exp()
        # Wilson-Hilferty: x = a w^3, w = 1 - 1/(9a) + z/(3 sqrt(a)), z fixed
        sa = a.sqrt()
        z = ((x / a).pow(1.0 / 3.0) - 1.0 + 1.0 / (9.0 * a)) * 3.0 * sa
        w = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * sa)
        dw = 1.0 / (9.0 * a * a) - z / (6.0 * a * sa)
        asym = w ** 3 + 3.0 * a * w * w * dw
        return torch.where(a > _ASYMPTOTIC, asym, grad).to(alpha.dtype)


class _StandardGamma(torch.autograd.Function):
    """Gamma(alpha, 1) samples whose backward is the implicit reparameterization gradient."""

    @staticmethod
    def forward(ctx, concentration):
        x = _standard_gamma(concentration)
        ctx.save_for_backward(x, concentration)
        return x

    @staticmethod
    def backward(ctx, grad_output):
        x, concentration = ctx.saved_tensors
        return grad_output * _standard_gamma_grad(x, concentration)


def standard_gamma(concentration):
    """Gamma(concentration, 1) samples, differentiable with respect to concentration."""
    if concentration.requires_grad and torch.is_grad_enabled():
        return _StandardGamma.apply(concentration)
    return _standard_gamma(concentration)
