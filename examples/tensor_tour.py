"""A tour of graphc's eager tensors: chapter 1 ("Tensor") of the seed tutorial, with
`import graphc as t` where the tutorial has `import torch as t`.

Run: python examples/tensor_tour.py
"""
import io

import numpy as np

import graphc as t


def section(title):
    print(f"\n=== {title} ===")


section("creation")
print(t.Tensor(2, 3))                     # a 2x3 tensor
print(t.Tensor((2, 3)))                   # a tensor holding 2 and 3
b = t.Tensor([[1, 2, 3], [4, 5, 6]])
print(b.tolist(), b.size(), b.shape, b.numel(), b.dim())
print(t.ones(2, 2), t.zeros(2), t.eye(2, 3), sep="\n")
print(t.arange(1, 6, 2), t.linspace(1, 10, 3), sep="\n")
t.manual_seed(0)
print(t.rand(2, 3).shape, t.randn(2, 3).dtype, t.randperm(5).sort().values)

section("views: view, squeeze, unsqueeze, resize_")
a = t.arange(0, 6)
print(a.view(2, 3), a.view(-1, 3).unsqueeze(1).shape, a.view(1, 6).squeeze().shape, sep="\n")
c = a.view(2, 3).clone()
c.resize_(1, 3)
print(c)

section("indexing")
a = t.arange(0, 16).float().view(4, 4)
print(a[0], a[:, 0], a[0][2], a[0, 2], a[a > 10], a[t.LongTensor([0, 1])], sep="\n")
index = t.LongTensor([[0, 1, 2, 3]])
print(a.gather(0, index), a.gather(1, index.t()), sep="\n")
x = t.arange(0, 27).view(3, 3, 3)
print(x[[1, 2], [1, 2], [2, 0]], x[[2, 1, 0], [0], [1]], x[..., [0, 2]].shape, sep="\n")

section("types")
t.set_default_tensor_type("torch.DoubleTensor")
d = t.Tensor(2, 3)
t.set_default_tensor_type("torch.FloatTensor")
print(d.dtype, d.float().dtype, d.type(), isinstance(d, t.DoubleTensor))

section("elementwise, reductions, comparison")
a = t.arange(0, 6).view(2, 3)
print(a % 3, a ** 2, t.clamp(a, min=2, max=4), a.float().sigmoid(), sep="\n")
print(a.cumsum(dim=1), a.sum(dim=0, keepdim=True), a.float().std(), sep="\n")
print(t.max(a), t.max(a, dim=1), t.max(a, t.full_like(a, 2)), sep="\n")
print(a.float().topk(2, dim=1), sep="\n")

section("linear algebra")
m = t.tensor([[2.0, 1.0], [1.0, 3.0]])
print(m.trace(), m.diag(), m.triu(), m @ m, m.inverse(), t.det(m), sep="\n")

section("broadcasting (seed 1.2)")
a, b = t.ones(3, 2), t.zeros(2, 3, 1)
print((a + b).shape, (a.unsqueeze(0).expand(2, 3, 2) + b.expand(2, 3, 2)).shape)

section("internals (seed 1.3)")
a = t.arange(0, 6).float()
b = a.view(2, 3)
print(a.storage())
print(b.storage() is a.storage(), a[2:].data_ptr() - a.data_ptr(), a[2:].storage_offset())
e = b[::2, ::2]
print(b.stride(), e.stride(), e.is_contiguous())

section("numpy")
array = np.ones((2, 2), dtype=np.float32)
shared = t.from_numpy(array)
shared[0, 0] = 5
print(array[0, 0], shared.numpy() is array or np.shares_memory(shared.numpy(), array))

section("save / load (zip + JSON, no pickle)")
buffer = io.BytesIO()
t.save({"weights": b, "view": b[1]}, buffer)
buffer.seek(0)
loaded = t.load(buffer)
print(loaded["weights"], loaded["view"].storage() is loaded["weights"].storage())

section("linear regression by hand (seed 1.5)")
t.manual_seed(1000)


def get_fake_data(batch_size=8):
    x = t.rand(batch_size, 1) * 20
    y = x * 2 + (1 + t.randn(batch_size, 1)) * 3
    return x, y


w, bias, lr = t.rand(1, 1), t.zeros(1, 1), 0.001
for step in range(2000):
    x, y = get_fake_data()
    y_pred = x.mm(w) + bias.expand_as(y)
    dy_pred = y_pred - y
    w.sub_(lr * x.t().mm(dy_pred))
    bias.sub_(lr * dy_pred.sum())
print("y = ", w.squeeze().item(), " x + ", bias.squeeze().item())
