"""Small training scripts in the style of PyTorch's tutorials and pytorch/examples, run
unchanged under PyTorch 1.13 and under tensord (test_scripts.py's runner: `torch` bound
to one library or the other) with every reported value compared.

The data are synthetic, drawn inside each script from a seeded numpy RandomState, and
most weights start from numpy too, so both libraries see identical inputs.  tensord's
generator is PyTorch's, so a script may also draw from it (default initialization, dropout
masks, shuffling: "mlp_seeded_init_dropout_shuffle" does all three) and report what depends
on the draws; the Python-composed samplers (rsample of the Gamma family) are not torch's."""
import textwrap

import pytest
import torch

import tensord
from test_scripts import _close, _run

# every script starts with these lines (after `import torch` / `import tensord as torch`)
PRELUDE = """
import io, os, tempfile
import numpy as np
nn = torch.nn
F = torch.nn.functional

def init_from_numpy(model, seed, scale=1.0):
    # deterministic weights: torch's default init draws from its own generator
    rs = np.random.RandomState(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "bn" in name:
                continue
            fan_in = p.shape[1] * (p[0][0].numel() if p.dim() > 2 else 1) if p.dim() > 1 else p.shape[0]
            bound = scale / fan_in ** 0.5
            p.copy_(torch.from_numpy(rs.uniform(-bound, bound, tuple(p.shape))).to(p.dtype))
    return model
"""

SCRIPTS = {
    # a script that leaves every draw to the library's generator: manual_seed, the layers'
    # default initialization, dropout masks and a shuffled DataLoader; the whole loss
    # trajectory is compared, so each draw must be torch's
    "mlp_seeded_init_dropout_shuffle": ("""
        torch.manual_seed(0)
        rs = np.random.RandomState(3)
        X = torch.from_numpy(rs.randn(96, 10).astype(np.float32))
        y = torch.from_numpy((rs.rand(96) * 3).astype(np.int64))
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16, shuffle=True)
        model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
        emb = nn.Embedding(5, 4)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for epoch in range(3):
            model.train()
            for xb, yb in loader:
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                losses.append(loss.item())
        model.eval()
        report(losses, model[0].weight, model[3].bias, emb.weight, model(X[:4]), torch.randn(5),
               torch.randint(0, 10, (4,)))
    """, 1e-4),

    # pytorch/examples' ResNet blocks on tiny images: BatchNorm2d, Dropout, train/eval,
    # OneCycleLR, clip_grad_norm_; the loss trajectory without dropout, the mask-free
    # quantities with it
    "resnet_bn_dropout_onecycle": ("""
        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
                self.bn1 = nn.BatchNorm2d(cout)
                self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
                self.bn2 = nn.BatchNorm2d(cout)
                self.shortcut = nn.Sequential()
                if stride != 1 or cin != cout:
                    self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                                  nn.BatchNorm2d(cout))

            def forward(self, x):
                out = F.relu(self.bn1(self.conv1(x)))
                out = self.bn2(self.conv2(out))
                return F.relu(out + self.shortcut(x))

        class ResNet(nn.Module):
            def __init__(self, p_drop):
                super().__init__()
                self.stem = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
                self.layer1 = Block(4, 4, 1)
                self.layer2 = Block(4, 8, 2)
                self.pool = nn.AdaptiveAvgPool2d((1, 1))
                self.drop = nn.Dropout(p_drop)
                self.fc = nn.Linear(8, 3)

            def forward(self, x):
                x = self.layer2(self.layer1(self.stem(x)))
                return self.fc(self.drop(torch.flatten(self.pool(x), 1)))

        rs = np.random.RandomState(0)
        X = torch.from_numpy(rs.randn(48, 1, 8, 8).astype(np.float32))
        y = torch.from_numpy((X[:, 0, :4].mean((1, 2)) > X[:, 0, 4:].mean((1, 2))).numpy().astype(np.int64)
                             + (X[:, 0, :, :4].mean((1, 2)) > 0.1).numpy().astype(np.int64))

        def train(p_drop, epochs=3, bs=16):
            torch.manual_seed(0)
            model = init_from_numpy(ResNet(p_drop), 1)
            opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, epochs=epochs, steps_per_epoch=len(X) // bs)
            crit = nn.CrossEntropyLoss()
            losses, norms, lrs = [], [], []
            model.eval()
            with torch.no_grad():
                before = model(X[:4])
            for epoch in range(epochs):
                model.train()
                for i in range(0, len(X), bs):
                    opt.zero_grad(set_to_none=True)
                    loss = crit(model(X[i:i + bs]), y[i:i + bs])
                    loss.backward()
                    norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)))
                    opt.step()
                    sched.step()
                    losses.append(loss.item())
                    lrs.append(sched.get_last_lr()[0])
                model.eval()
                with torch.no_grad():
                    acc = (model(X).argmax(1) == y).float().mean().item()
            return model, losses, norms, lrs, before, acc

        model, losses, norms, lrs, before, acc = train(0.0)
        report(losses, norms, lrs, before, acc, model.stem[1].running_mean, model.layer2.bn2.running_var,
               model.stem[1].num_batches_tracked, model.training, model.layer1.bn1.training, str(model),
               sum(p.numel() for p in model.parameters() if p.requires_grad))

        model, losses, norms, lrs, before, acc = train(0.5)
        model.eval()
        with torch.no_grad():
            a, b = model(X), model(X)
        model.train()
        with torch.no_grad():
            dropped = (model.drop(torch.ones(4000)) == 0).float().mean().item()
            kept = model.drop(torch.ones(4000)).max().item()
        report(lrs, before, torch.equal(a, b), abs(dropped - 0.5) < 0.05, kept, len(losses),
               all(np.isfinite(losses)), model.drop.training)
    """, 1e-4),

    # word-level language model (pytorch/examples' word_language_model): Embedding, a
    # two-layer LSTM, truncated BPTT with the hidden state detached, clip_grad_norm_,
    # plain SGD with the lr annealed on validation loss
    "lstm_language_model_tbptt": ("""
        class RNNModel(nn.Module):
            def __init__(self, ntoken, ninp, nhid, nlayers):
                super().__init__()
                self.encoder = nn.Embedding(ntoken, ninp)
                self.rnn = nn.LSTM(ninp, nhid, nlayers)
                self.decoder = nn.Linear(nhid, ntoken)
                self.nlayers, self.nhid = nlayers, nhid

            def forward(self, inp, hidden):
                output, hidden = self.rnn(self.encoder(inp), hidden)
                return F.log_softmax(self.decoder(output), dim=-1), hidden

            def init_hidden(self, bsz):
                weight = next(self.parameters())
                return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))

        def repackage_hidden(h):
            if isinstance(h, torch.Tensor):
                return h.detach()
            return tuple(repackage_hidden(v) for v in h)

        def batchify(data, bsz):
            nbatch = data.size(0) // bsz
            return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()

        def get_batch(source, i, bptt):
            seq_len = min(bptt, len(source) - 1 - i)
            return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)

        rs = np.random.RandomState(3)
        ntokens = 20
        # a corpus with structure: mostly token t is followed by (t * 3 + 1) % ntokens
        toks = [0]
        for _ in range(799):
            toks.append((toks[-1] * 3 + 1) % ntokens if rs.rand() < 0.8 else rs.randint(ntokens))
        corpus = torch.tensor(toks, dtype=torch.long)
        train_data, val_data = batchify(corpus[:640], 4), batchify(corpus[640:], 2)
        model = init_from_numpy(RNNModel(ntokens, 8, 16, 2), 4, scale=2.0)
        criterion = nn.NLLLoss()
        lr, bptt = 2.0, 12

        def evaluate(data):
            model.eval()
            total = 0.0
            hidden = model.init_hidden(data.size(1))
            with torch.no_grad():
                for i in range(0, data.size(0) - 1, bptt):
                    inp, targets = get_batch(data, i, bptt)
                    out, hidden = model(inp, hidden)
                    hidden = repackage_hidden(hidden)
                    total += len(inp) * criterion(out.view(-1, ntokens), targets).item()
            return total / (len(data) - 1)

        history, best = [], None
        for epoch in range(3):
            model.train()
            hidden = model.init_hidden(4)
            for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
                inp, targets = get_batch(train_data, i, bptt)
                hidden = repackage_hidden(hidden)
                model.zero_grad()
                output, hidden = model(inp, hidden)
                loss = criterion(output.view(-1, ntokens), targets)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 0.25)
                for p in model.parameters():
                    p.data.add_(p.grad, alpha=-lr)
                history.append(loss.item())
                if batch % 5 == 0:
                    history.append('| epoch {:3d} | {:5d}/{:5d} batches | lr {:02.2f} | loss {:5.2f} | ppl {:8.2f}'.format(
                        epoch, batch, len(train_data) // bptt, lr, loss.item(), np.exp(loss.item())))
            val_loss = evaluate(val_data)
            if best is None or val_loss < best:
                best = val_loss
            else:
                lr /= 4.0
            history.append((val_loss, lr, float(np.exp(val_loss))))
        report(history, hidden[0].requires_grad, hidden[0].grad_fn is None, inp.shape, output.shape)
    """, 2e-4),

    # a bidirectional GRU over variable-length sequences: pad_sequence,
    # pack_padded_sequence(enforce_sorted=False), pad_packed_sequence, the final hidden
    # states of both directions, Adam
    "gru_packed_sequence_classifier": ("""
        from_np = torch.from_numpy
        pack = nn.utils.rnn.pack_padded_sequence
        rs = np.random.RandomState(5)
        seqs, labels = [], []
        for i in range(24):
            n = rs.randint(2, 9)
            s = rs.randn(n, 3).astype(np.float32)
            seqs.append(from_np(s))
            labels.append(int(s[:, 0].sum() > 0))
        lengths = torch.tensor([len(s) for s in seqs])
        padded = nn.utils.rnn.pad_sequence(seqs, batch_first=True)
        labels = torch.tensor(labels)

        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(3, 6, num_layers=1, batch_first=True, bidirectional=True)
                self.head = nn.Linear(12, 2)

            def forward(self, x, lengths):
                packed = pack(x, lengths, batch_first=True, enforce_sorted=False)
                out, h = self.gru(packed)
                out, out_lens = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
                feat = torch.cat([h[-2], h[-1]], dim=1)
                return self.head(feat), out, out_lens

        model = init_from_numpy(Classifier(), 6)
        opt = torch.optim.Adam(model.parameters(), lr=0.03)
        losses = []
        for step in range(25):
            opt.zero_grad()
            logits, out, out_lens = model(padded, lengths)
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        packed = pack(padded, lengths, batch_first=True, enforce_sorted=False)
        report(losses, out.shape, out_lens, out[3, lengths[3]:].abs().sum(), packed.batch_sizes,
               packed.sorted_indices, packed.unsorted_indices, model.gru.weight_hh_l0_reverse.grad.norm(),
               (logits.argmax(1) == labels).sum())
    """, 1e-4),

    # the tutorial's TransformerEncoder text classifier: embeddings + sinusoidal positions,
    # src_key_padding_mask, masked mean pooling, AdamW with a LambdaLR warm-up; evaluation
    # under no_grad in eval mode takes torch's fast path (zeros at padded positions)
    "transformer_encoder_padding_mask": ("""
        import math
        rs = np.random.RandomState(7)
        vocab, d_model, maxlen = 12, 16, 10
        lengths = rs.randint(3, maxlen + 1, size=20)
        tokens = np.zeros((20, maxlen), dtype=np.int64)
        for i, n in enumerate(lengths):
            tokens[i, :n] = rs.randint(1, vocab, size=n)
        tokens = torch.from_numpy(tokens)
        pad_mask = tokens == 0
        labels = ((tokens == 3).sum(1) > (tokens == 5).sum(1)).long()

        class PositionalEncoding(nn.Module):
            def __init__(self, d_model, max_len=64):
                super().__init__()
                position = torch.arange(max_len).unsqueeze(1)
                div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
                pe = torch.zeros(max_len, 1, d_model)
                pe[:, 0, 0::2] = torch.sin(position * div_term)
                pe[:, 0, 1::2] = torch.cos(position * div_term)
                self.register_buffer("pe", pe)

            def forward(self, x):  # (batch, seq, d)
                return x + self.pe[: x.size(1)].transpose(0, 1)

        class TextClassifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(vocab, d_model, padding_idx=0)
                self.pos = PositionalEncoding(d_model)
                layer = nn.TransformerEncoderLayer(d_model, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
                self.encoder = nn.TransformerEncoder(layer, num_layers=2)
                self.fc = nn.Linear(d_model, 2)

            def forward(self, src, mask):
                h = self.encoder(self.pos(self.embed(src) * math.sqrt(d_model)), src_key_padding_mask=mask)
                keep = (~mask).unsqueeze(-1).float()
                return self.fc((h * keep).sum(1) / keep.sum(1)), h

        model = init_from_numpy(TextClassifier(), 8)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
        warmup = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 5))
        losses = []
        for step in range(15):
            model.train()
            opt.zero_grad()
            logits, _ = model(tokens, pad_mask)
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            opt.step()
            warmup.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits, h = model(tokens, pad_mask)
        report(losses, warmup.get_last_lr(), logits, h[pad_mask].abs().sum(), h[~pad_mask].abs().sum(),
               (logits.argmax(1) == labels).float().mean())
    """, 2e-4),

    # the VAE of pytorch/examples on synthetic binary images: distributions.Normal,
    # rsample, kl_divergence, Bernoulli log_prob; the training noise comes from numpy
    # (rsample's draw comes from each library's own generator)
    "vae_normal_kl_divergence": ("""
        D = torch.distributions
        rs = np.random.RandomState(11)
        protos = rs.rand(3, 16) > 0.5
        data = torch.from_numpy(np.array([protos[i % 3] ^ (rs.rand(16) < 0.05) for i in range(60)], dtype=np.float32))

        class VAE(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(16, 12)
                self.fc21 = nn.Linear(12, 2)
                self.fc22 = nn.Linear(12, 2)
                self.fc3 = nn.Linear(2, 12)
                self.fc4 = nn.Linear(12, 16)

            def encode(self, x):
                h = F.relu(self.fc1(x))
                return self.fc21(h), self.fc22(h)

            def decode(self, z):
                return self.fc4(F.relu(self.fc3(z)))

            def forward(self, x, eps):
                mu, logvar = self.encode(x)
                q = D.Normal(mu, torch.exp(0.5 * logvar))
                z = q.loc + q.scale * eps
                return self.decode(z), q

        model = init_from_numpy(VAE(), 12)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        prior = D.Normal(torch.zeros(2), torch.ones(2))
        losses = []
        for epoch in range(4):
            for i in range(0, 60, 20):
                x = data[i:i + 20]
                eps = torch.from_numpy(rs.randn(20, 2).astype(np.float32))
                opt.zero_grad()
                logits, q = model(x, eps)
                rec = -D.Bernoulli(logits=logits).log_prob(x).sum()
                kl = D.kl_divergence(q, prior).sum()
                loss = (rec + kl) / len(x)
                loss.backward()
                opt.step()
                losses.append((rec.item(), kl.item()))
        # rsample is differentiable: dz/dloc = 1, dz/dscale = the standard draw
        loc = torch.zeros(5, 2, requires_grad=True)
        scale = torch.full((5, 2), 2.0, requires_grad=True)
        torch.manual_seed(0)
        z = D.Normal(loc, scale).rsample((3,))
        z.sum().backward()
        with torch.no_grad():
            mu, logvar = model.encode(data[:6])
            post = D.Normal(mu, (0.5 * logvar).exp())
            entropy = post.entropy()
            lp = post.log_prob(mu)
        report(losses, z.shape, loc.grad, torch.allclose(scale.grad, (z.detach() / 2.0).sum(0)), entropy, lp,
               D.kl_divergence(post, prior), prior.sample((4,)).shape, prior.rsample().requires_grad)
    """, 2e-4),

    # DCGAN-style training on 2-D points: two networks, two Adam optimizers with
    # betas=(0.5, 0.999), BCEWithLogitsLoss, the fake batch detached for the discriminator
    "gan_two_optimizers": ("""
        rs = np.random.RandomState(13)
        angles = rs.rand(256) * 2 * np.pi
        real_data = torch.from_numpy(np.stack([np.cos(angles), np.sin(angles)], 1).astype(np.float32) * 2)
        netG = init_from_numpy(nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2)), 14)
        netD = init_from_numpy(nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1)), 15)
        criterion = nn.BCEWithLogitsLoss()
        optD = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
        optG = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
        real_label, fake_label = 1.0, 0.0
        log = []
        for it in range(20):
            real = real_data[(it * 32) % 256:(it * 32) % 256 + 32]
            noise = torch.from_numpy(rs.randn(32, 4).astype(np.float32))
            # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            label = torch.full((32,), real_label)
            errD_real = criterion(netD(real).view(-1), label)
            errD_real.backward()
            fake = netG(noise)
            label.fill_(fake_label)
            out = netD(fake.detach()).view(-1)
            errD_fake = criterion(out, label)
            errD_fake.backward()
            D_G_z1 = torch.sigmoid(out).mean().item()
            optD.step()
            # (2) update G: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(real_label)
            out = netD(fake).view(-1)
            errG = criterion(out, label)
            errG.backward()
            optG.step()
            log.append(((errD_real + errD_fake).item(), errG.item(), D_G_z1, torch.sigmoid(out).mean().item()))
            log.append('[%d/%d] Loss_D: %.4f Loss_G: %.4f D(G(z)): %.4f' % (it, 20, (errD_real + errD_fake).item(),
                                                                         errG.item(), D_G_z1))
        report(log, fake.requires_grad, fake.detach().requires_grad, netG[0].weight.grad.shape,
               optD.state_dict()["param_groups"][0]["betas"])
    """, 1e-4),

    # the seq2seq translation tutorial on a toy task (reverse a sequence): a GRU encoder,
    # a GRU decoder with attention over the encoder outputs, teacher forcing decided by
    # numpy coins, NLLLoss, greedy decoding at evaluation
    "seq2seq_attention_teacher_forcing": ("""
        SOS, EOS, V, H, L = 0, 1, 8, 12, 5

        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(V, H)
                self.gru = nn.GRU(H, H, batch_first=True)

            def forward(self, x):
                return self.gru(self.embedding(x))

        class AttnDecoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(V, H)
                self.Wa, self.Ua, self.Va = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, 1)
                self.gru = nn.GRU(2 * H, H, batch_first=True)
                self.out = nn.Linear(H, V)

            def step(self, inp, hidden, enc_out):
                emb = self.embedding(inp)  # (B, 1, H)
                scores = self.Va(torch.tanh(self.Wa(hidden.permute(1, 0, 2)) + self.Ua(enc_out)))
                weights = F.softmax(scores.squeeze(2).unsqueeze(1), dim=-1)
                context = torch.bmm(weights, enc_out)
                out, hidden = self.gru(torch.cat((emb, context), dim=2), hidden)
                return F.log_softmax(self.out(out), dim=-1), hidden, weights

        rs = np.random.RandomState(17)
        src = torch.from_numpy(rs.randint(2, V, size=(16, L)))
        tgt = torch.cat([src.flip(1), torch.full((16, 1), EOS)], dim=1)
        enc, dec = init_from_numpy(Encoder(), 18, 1.5), init_from_numpy(AttnDecoder(), 19, 1.5)
        enc_opt = torch.optim.Adam(enc.parameters(), lr=0.01)
        dec_opt = torch.optim.Adam(dec.parameters(), lr=0.01)
        criterion = nn.NLLLoss()
        losses = []
        for it in range(12):
            enc_opt.zero_grad()
            dec_opt.zero_grad()
            enc_out, hidden = enc(src)
            inp = torch.full((16, 1), SOS, dtype=torch.long)
            teacher = rs.rand() < 0.5
            loss = 0
            for t in range(L + 1):
                logp, hidden, attn = dec.step(inp, hidden, enc_out)
                loss = loss + criterion(logp.squeeze(1), tgt[:, t])
                if teacher:
                    inp = tgt[:, t].unsqueeze(1)
                else:
                    _, topi = logp.topk(1)
                    inp = topi.squeeze(-1).detach()
            loss.backward()
            enc_opt.step()
            dec_opt.step()
            losses.append((teacher, loss.item() / (L + 1)))
        with torch.no_grad():
            enc_out, hidden = enc(src[:3])
            inp = torch.full((3, 1), SOS, dtype=torch.long)
            decoded, attns = [], []
            for t in range(L + 1):
                logp, hidden, attn = dec.step(inp, hidden, enc_out)
                inp = logp.argmax(-1)
                decoded.append(inp)
                attns.append(attn)
        report(losses, torch.cat(decoded, 1), torch.cat(attns, 1).sum(-1), attn.shape)
    """, 2e-4),

    # the text-classification tutorial: EmbeddingBag(mode="mean") over a flat token
    # tensor with offsets built by a collate_fn, SGD, StepLR, gradient clipping
    "embedding_bag_text_classifier": ("""
        rs = np.random.RandomState(21)
        vocab, nclass = 30, 3
        samples = []
        for i in range(48):
            label = i % nclass
            n = rs.randint(3, 10)
            # each class prefers its own third of the vocabulary
            toks = np.where(rs.rand(n) < 0.7, rs.randint(label * 10, label * 10 + 10, n), rs.randint(0, vocab, n))
            samples.append((label, toks.tolist()))

        def collate_batch(batch):
            label_list, text_list, offsets = [], [], [0]
            for _label, _text in batch:
                label_list.append(_label)
                processed = torch.tensor(_text, dtype=torch.int64)
                text_list.append(processed)
                offsets.append(processed.size(0))
            label_list = torch.tensor(label_list, dtype=torch.int64)
            offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
            return label_list, torch.cat(text_list), offsets

        class TextClassificationModel(nn.Module):
            def __init__(self, vocab_size, embed_dim, num_class):
                super().__init__()
                self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
                self.fc = nn.Linear(embed_dim, num_class)
                initrange = 0.5
                self.embedding.weight.data.uniform_(-initrange, initrange)
                self.fc.weight.data.uniform_(-initrange, initrange)
                self.fc.bias.data.zero_()

            def forward(self, text, offsets):
                return self.fc(self.embedding(text, offsets))

        model = TextClassificationModel(vocab, 8, nclass)
        init_from_numpy(model, 22, scale=2.0)
        loader = torch.utils.data.DataLoader(samples, batch_size=8, shuffle=False, collate_fn=collate_batch)
        criterion = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
        history = []
        for epoch in range(3):
            model.train()
            total_acc, total_count = 0, 0
            for idx, (label, text, offsets) in enumerate(loader):
                optimizer.zero_grad()
                predicted_label = model(text, offsets)
                loss = criterion(predicted_label, label)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
                optimizer.step()
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
                history.append(loss.item())
            scheduler.step()
            history.append((total_acc / total_count, scheduler.get_last_lr()))
        label, text, offsets = next(iter(loader))
        max_bag = nn.EmbeddingBag.from_pretrained(model.embedding.weight.detach(), mode="max")
        report(history, offsets, text.dtype, max_bag(text, offsets), model.embedding.weight.grad[:3])
    """, 1e-4),

    # curve fitting with LBFGS and a closure, with and without the strong-Wolfe line search
    "lbfgs_curve_fit_closure": ("""
        rs = np.random.RandomState(23)
        x = torch.from_numpy(np.linspace(-3, 3, 80))
        y = 1.7 * torch.sin(1.3 * x + 0.4) + 0.2 + torch.from_numpy(rs.randn(80) * 0.05)

        def fit(line_search):
            params = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
            opt = torch.optim.LBFGS([params], lr=1 if line_search else 0.5, max_iter=20, history_size=10,
                                    line_search_fn=line_search)
            calls = []

            def closure():
                opt.zero_grad()
                a, b, c, d = params
                loss = ((a * torch.sin(b * x + c) + d - y) ** 2).mean()
                loss.backward()
                calls.append(loss.item())
                return loss

            outer = [opt.step(closure).item() for _ in range(4)]
            state = opt.state[opt.param_groups[0]["params"][0]]
            return params.detach(), outer, calls[:12], len(calls), state["n_iter"], state["func_evals"]

        report(fit("strong_wolfe"), fit(None))
    """, 1e-6),

    # a custom autograd.Function (straight-through rounding, clamp with a saved mask),
    # tensor hooks (register_hook scaling a gradient, retain_grad on an intermediate),
    # a forward hook collecting activations, a gradient hook on a parameter
    "custom_function_and_hooks": ("""
        class RoundSTE(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x, lo, hi):
                mask = (x >= lo) & (x <= hi)
                ctx.save_for_backward(mask)
                ctx.mark_non_differentiable(mask)
                return x.clamp(lo, hi).round(), mask

            @staticmethod
            def backward(ctx, grad_out, grad_mask):
                (mask,) = ctx.saved_tensors
                return grad_out * mask, None, None

        class QuantNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 8)
                self.fc2 = nn.Linear(8, 1)

            def forward(self, x):
                h = torch.tanh(self.fc1(x)) * 4
                q, mask = RoundSTE.apply(h, -3.0, 3.0)
                return self.fc2(q / 4), mask

        rs = np.random.RandomState(29)
        X = torch.from_numpy(rs.randn(32, 4).astype(np.float32))
        y = (X[:, :1] * 0.5 - X[:, 1:2] ** 2 * 0.3)
        model = init_from_numpy(QuantNet(), 30, scale=2.0)
        acts = []
        handle = model.fc1.register_forward_hook(lambda mod, inp, out: acts.append(out.detach().abs().mean().item()))
        seen = []
        model.fc2.weight.register_hook(lambda g: seen.append(g.norm().item()))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        losses = []
        for step in range(10):
            opt.zero_grad()
            pred, mask = model(X)
            pred.retain_grad()
            halved = pred * 1.0
            halved.register_hook(lambda g: g * 0.5)
            loss = F.mse_loss(halved, y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        handle.remove()
        model(X)
        x = torch.tensor([-4.0, -1.2, 0.4, 2.6, 3.5], requires_grad=True)
        q, mask = RoundSTE.apply(x, -3.0, 3.0)
        (q * torch.arange(5.0)).sum().backward()
        report(losses, acts, seen, pred.grad[:4], mask.requires_grad, mask.dtype, len(acts), x.grad, q,
               type(q.grad_fn).__name__ == "RoundSTEBackward", loss.grad_fn.name(), repr(loss))
    """, 1e-4),

    # GCN-style message passing on a random graph: gather the sources' features, add them
    # into the targets with index_add_ and scatter_add_, normalize by degree (bincount),
    # a node classifier trained with Adam, accuracy by argmax
    "gnn_message_passing": ("""
        rs = np.random.RandomState(31)
        n_nodes, n_feat, n_cls = 30, 5, 3
        comm = rs.randint(0, n_cls, n_nodes)
        edges = [(i, j) for i in range(n_nodes) for j in range(n_nodes)
                 if i != j and rs.rand() < (0.3 if comm[i] == comm[j] else 0.03)]
        edge_index = torch.tensor(edges, dtype=torch.long).t().contiguous()
        x = torch.from_numpy((rs.randn(n_nodes, n_feat) + np.eye(n_cls, n_feat)[comm]).astype(np.float32))
        y = torch.from_numpy(comm)
        src, dst = edge_index
        deg = torch.bincount(dst, minlength=n_nodes).float() + 1.0

        class GCNLayer(nn.Module):
            def __init__(self, cin, cout, use_scatter):
                super().__init__()
                self.lin = nn.Linear(cin, cout)
                self.use_scatter = use_scatter

            def forward(self, h):
                h = self.lin(h)
                norm = (deg[src] * deg[dst]).rsqrt().unsqueeze(1)
                msg = h.index_select(0, src) * norm
                if self.use_scatter:
                    agg = torch.zeros_like(h).scatter_add_(0, dst.unsqueeze(1).expand(-1, h.size(1)), msg)
                else:
                    agg = torch.zeros_like(h).index_add_(0, dst, msg)
                return agg + h / deg.unsqueeze(1)

        class GCN(nn.Module):
            def __init__(self):
                super().__init__()
                self.l1 = GCNLayer(n_feat, 8, True)
                self.l2 = GCNLayer(8, n_cls, False)

            def forward(self, h):
                return self.l2(F.relu(self.l1(h)))

        model = init_from_numpy(GCN(), 32)
        train_mask = torch.from_numpy(rs.rand(n_nodes) < 0.6)
        opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
        losses = []
        for epoch in range(20):
            opt.zero_grad()
            out = model(x)
            loss = F.cross_entropy(out[train_mask], y[train_mask])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            pred = model(x).argmax(dim=1)
            test_acc = (pred[~train_mask] == y[~train_mask]).float().mean()
            # per-node max over incoming messages, and each edge's target label gathered back
            emb = model.l1(x)
            best = torch.full_like(emb, -1e9).scatter_reduce(0, dst.unsqueeze(1).expand(-1, 8), emb[src], "amax")
            picked = torch.gather(pred, 0, dst)
        report(losses, pred, test_acc, best[:3], picked[:10], deg[:6], model.l1.lin.weight.grad.abs().sum())
    """, 1e-4),

    # checkpointing mid-training: model, optimizer and scheduler state saved with
    # torch.save to a BytesIO and to a file, loaded into fresh objects and training
    # continued; the result is identical to never stopping
    "checkpoint_resume_identical": ("""
        rs = np.random.RandomState(37)
        X = torch.from_numpy(rs.randn(64, 6).astype(np.float32))
        y = torch.from_numpy((rs.randn(64, 2) * 0.1).astype(np.float32)) + X[:, :2] * X[:, 2:4]

        def make():
            # no bias before the norm: its gradient is roundoff, which Adam would scale up to lr
            model = init_from_numpy(nn.Sequential(nn.Linear(6, 16, bias=False), nn.BatchNorm1d(16), nn.Tanh(),
                                                  nn.Linear(16, 2)), 38)
            opt = torch.optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)
            return model, opt, sched

        def run_steps(model, opt, sched, steps):
            out = []
            for step in steps:
                i = (step * 16) % 64
                opt.zero_grad()
                loss = F.mse_loss(model(X[i:i + 16]), y[i:i + 16])
                loss.backward()
                opt.step()
                sched.step()
                out.append(loss.item())
            return out

        model, opt, sched = make()
        straight = run_steps(model, opt, sched, range(16))

        model, opt, sched = make()
        first = run_steps(model, opt, sched, range(8))
        buf = io.BytesIO()
        torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict(), "step": 8}, buf)
        path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
        torch.save(model.state_dict(), path)
        del model, opt, sched
        buf.seek(0)
        ckpt = torch.load(buf)
        model, opt, sched = make()
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optim"])
        sched.load_state_dict(ckpt["sched"])
        second = run_steps(model, opt, sched, range(ckpt["step"], 16))
        from_file = torch.load(path)
        os.remove(path)
        os.rmdir(os.path.dirname(path))
        model.eval()
        with torch.no_grad():
            pred = model(X[:4])
        report(straight, first + second == straight, sorted(from_file), from_file["1.running_var"],
               ckpt["optim"]["state"][0]["max_exp_avg_sq"].shape, sched.get_last_lr(), ckpt["sched"]["last_epoch"],
               pred, type(ckpt["model"]).__name__)
    """, 1e-4),

    # a custom map-style Dataset returning dicts with numpy arrays, a bucketing batch
    # sampler, a padding collate_fn, and the same batches with num_workers=2
    "dataset_sampler_collate_workers": ("""
        class VarLenDataset(torch.utils.data.Dataset):
            def __init__(self, n, seed):
                rs = np.random.RandomState(seed)
                self.items = [rs.randn(rs.randint(1, 7), 2).astype(np.float32) for _ in range(n)]
                self.targets = [float(it.sum()) for it in self.items]

            def __len__(self):
                return len(self.items)

            def __getitem__(self, idx):
                return {"x": self.items[idx], "y": self.targets[idx], "idx": idx}

        class BucketBatchSampler(torch.utils.data.Sampler):
            # batches of similar lengths, in a fixed order
            def __init__(self, lengths, batch_size):
                self.order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
                self.batch_size = batch_size

            def __iter__(self):
                for i in range(0, len(self.order), self.batch_size):
                    yield self.order[i:i + self.batch_size]

            def __len__(self):
                return (len(self.order) + self.batch_size - 1) // self.batch_size

        def pad_collate(batch):
            xs = [torch.from_numpy(b["x"]) for b in batch]
            lengths = torch.tensor([len(x) for x in xs])
            return {"x": nn.utils.rnn.pad_sequence(xs, batch_first=True), "len": lengths,
                    "y": torch.tensor([b["y"] for b in batch]), "idx": [b["idx"] for b in batch]}

        ds = VarLenDataset(40, 41)
        sampler = BucketBatchSampler([len(it) for it in ds.items], 6)
        loader0 = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=pad_collate)
        loader2 = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=pad_collate, num_workers=2)
        b0, b2 = list(loader0), list(loader2)
        same = all(torch.equal(p["x"], q["x"]) and p["idx"] == q["idx"] for p, q in zip(b0, b2))

        model = init_from_numpy(nn.Linear(2, 1), 42)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        losses = []
        for epoch in range(2):
            for batch in loader2:
                mask = (torch.arange(batch["x"].size(1))[None, :] < batch["len"][:, None]).unsqueeze(-1)
                pred = (model(batch["x"]) * mask).sum((1, 2))
                loss = F.mse_loss(pred, batch["y"].float())
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
        plain = torch.utils.data.DataLoader(ds, batch_size=5, collate_fn=lambda b: [d["idx"] for d in b])
        by_default = next(iter(torch.utils.data.DataLoader([ds[i] for i in range(8) if len(ds.items[i]) == 3],
                                                           batch_size=4)))
        subset = torch.utils.data.Subset(ds, [3, 1, 4])
        report(same, len(b0), len(loader2), [b["idx"] for b in b0][:3], b2[-1]["x"].shape, b2[0]["len"], losses,
               list(plain)[:2], sorted(by_default), by_default["y"].dtype, by_default["x"].shape,
               by_default["idx"], [subset[i]["idx"] for i in range(3)], model.weight)
    """, 1e-4),

    # mixed precision on CPU: autocast(bfloat16) around the forward pass, the loss
    # computed in float32, dtypes of what autocast produces, gradients in float32
    "autocast_bfloat16_cpu": ("""
        rs = np.random.RandomState(43)
        X = torch.from_numpy(rs.randn(32, 8).astype(np.float32))
        y = torch.from_numpy(rs.randint(0, 4, 32))
        model = init_from_numpy(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), 44)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        losses, dtypes = [], []
        for step in range(8):
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(X)
                h = model[0](X)
                probs = torch.softmax(logits, dim=1)
                dtypes = [logits.dtype, h.dtype, probs.dtype, torch.is_autocast_cpu_enabled()]
            loss = F.cross_entropy(logits.float(), y)
            loss.backward()
            opt.step()
            losses.append(round(loss.item(), 2))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=False):
            plain = model(X)
        with torch.cpu.amp.autocast():
            mm = torch.mm(X, X.t())
        report(losses, dtypes, model[0].weight.grad.dtype, model[0].weight.dtype, plain.dtype, mm.dtype,
               torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype())
    """, 2e-2),

    # evaluation metrics under no_grad: argmax accuracy, top-k accuracy, a confusion
    # matrix with bincount, per-class precision/recall, torch.inference_mode
    "eval_metrics_confusion_topk": ("""
        rs = np.random.RandomState(47)
        n, k = 120, 5
        y = torch.from_numpy(rs.randint(0, k, n))
        X = torch.from_numpy((np.eye(k)[y.numpy()] * 1.5 + rs.randn(n, k)).astype(np.float32))
        model = init_from_numpy(nn.Sequential(nn.Linear(k, 16), nn.GELU(), nn.Linear(16, k)), 48)
        opt = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9)
        for step in range(30):
            opt.zero_grad()
            F.cross_entropy(model(X), y).backward()
            opt.step()

        def evaluate(model, X, y, topk=(1, 3)):
            model.eval()
            with torch.no_grad():
                output = model(X)
                maxk = max(topk)
                _, pred = output.topk(maxk, 1, True, True)
                pred = pred.t()
                correct = pred.eq(y.view(1, -1).expand_as(pred))
                res = [correct[:kk].reshape(-1).float().sum(0, keepdim=True).mul_(100.0 / y.size(0)) for kk in topk]
                conf = torch.bincount(y * k + output.argmax(1), minlength=k * k).reshape(k, k)
                precision = conf.diag().float() / conf.sum(0).clamp(min=1).float()
                recall = conf.diag().float() / conf.sum(1).float()
                probs = output.softmax(1)
                conf_score, _ = probs.max(1)
            return res, conf, precision, recall, conf_score.mean(), output.requires_grad

        with torch.inference_mode():
            inf_out = model(X[:2])
        report(evaluate(model, X, y), inf_out.requires_grad, torch.is_grad_enabled(), model.training)
    """, 1e-4),

    # parameter groups (no weight decay on biases and norms, a smaller lr for the
    # embedding), add_param_group, ReduceLROnPlateau on a validation loss
    "param_groups_reduce_on_plateau": ("""
        rs = np.random.RandomState(53)
        tok = torch.from_numpy(rs.randint(0, 10, (40, 4)))
        target = torch.from_numpy(rs.randn(40, 1).astype(np.float32)) + tok[:, :1].float() * 0.1

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(10, 6)
                self.norm = nn.LayerNorm(6)
                self.fc = nn.Linear(6, 1)
                self.extra = nn.Linear(6, 1)

            def forward(self, t, use_extra=False):
                h = self.norm(self.emb(t).mean(1))
                return self.fc(h) + (self.extra(h) if use_extra else 0)

        model = init_from_numpy(Net(), 54)
        decay, no_decay = [], []
        for name, p in model.named_parameters():
            if name.startswith("extra") or name.startswith("emb"):
                continue
            (no_decay if name.endswith("bias") or "norm" in name else decay).append(p)
        opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-2},
                               {"params": no_decay, "weight_decay": 0.0},
                               {"params": model.emb.parameters(), "lr": 0.01}], lr=0.1, momentum=0.9)
        # the head used from epoch 4 on joins now: it has no gradient (so no step) until then
        opt.add_param_group({"params": model.extra.parameters(), "lr": 0.05})
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, threshold=1e-3)
        history = []
        for epoch in range(10):
            use_extra = epoch >= 4
            for i in range(0, 30, 10):
                opt.zero_grad()
                loss = F.mse_loss(model(tok[i:i + 10], use_extra), target[i:i + 10])
                loss.backward()
                opt.step()
            with torch.no_grad():
                val = F.mse_loss(model(tok[30:], use_extra), target[30:]).item()
            # a stalled validation loss after epoch 6, so the scheduler steps down
            plateau.step(val if epoch < 6 else 10.0)
            history.append((round(val, 5), [g["lr"] for g in opt.param_groups], plateau.num_bad_epochs))
        report(history, [len(g["params"]) for g in opt.param_groups], [g["weight_decay"] for g in opt.param_groups],
               sorted(opt.state_dict()["param_groups"][3]), model.fc.weight)
    """, 1e-4),
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_training_script_runs_unchanged(name):
    src, tol = SCRIPTS[name]
    src = PRELUDE + textwrap.dedent(src)
    want = _run(torch, src)
    got = _run(tensord, src)
    _close(got, want, tol=tol)
