"""py-recognition: torchvision's ResNet-50 classifies a JPEG (the paper's image-recognition workload).

Run by guest/python/snapfn_shim.py: init() once before the snapshot, handle() once per request.

No trained weights can be fetched here, so init() fills the network with WORKLOADS.md's synthetic weights (the
C suite's recognition rule: rng.seed(50), drawn in a fixed order) and the output says so; the classes mean
nothing. With those weights a checker can compute the same network on its own (the tests do, in C#). README.md
gives the request and response formats.
"""

SEED = 50  # WORKLOADS.md, recognition: rng.seed(50)
BRANCH_GAIN = 0.5  # the gain of every bottleneck's last conv (conv3); 1 elsewhere
BIAS_BOUND = 0.01
PARAMETERS_DRAWN = 25_530_472  # WORKLOADS.md's count: conv weights, one bias per conv, fc
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
TOP = 5
WEIGHTS = "synthetic: WORKLOADS.md's recognition rule, rng.seed(50); the classes mean nothing"

# WORKLOADS.md's rng is xorshift64* (snapfn_rng), one value after another; drawing 25.5 million of them one by
# one in Python takes a minute. Each step is linear over GF(2), so the stream is cut into LANES runs of STEPS
# values whose first states are reached by matrix powers, and NumPy steps all the runs at once.
_MASK = (1 << 64) - 1
_MULTIPLIER = 0x2545F4914F6CDD1D
_LANES = 4096
_STEPS = 256


def init():
    global base64, io, json, np, torch, Image, _MODEL, _RESIZE, _CROP, _TO_INPUT
    import base64
    import io
    import json

    import numpy as np
    import torch
    import torchvision
    from PIL import Image, JpegImagePlugin  # noqa: F401  (registers the JPEG format)
    from torchvision import transforms

    # One thread: the VM refuses new ones (OMP_NUM_THREADS=1 is set too). Snapfn synthesises /proc/cpuinfo and the
    # /sys CPU lists that torch's cpuinfo reads for this.
    torch.set_num_threads(1)
    if torch.get_num_threads() != 1:
        raise RuntimeError(f"torch would use {torch.get_num_threads()} threads: is OMP_NUM_THREADS=1 unset?")
    _RESIZE = transforms.Resize(256)  # the shorter side to 256: Pillow's bilinear filter, antialiased
    _CROP = transforms.CenterCrop(224)
    _TO_INPUT = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])

    model = torchvision.models.resnet50(weights=None)
    with torch.no_grad():
        drawn = _fill(model, _SpecRng(SEED))
    if drawn != PARAMETERS_DRAWN:
        raise RuntimeError(f"drew {drawn} parameters, WORKLOADS.md says {PARAMETERS_DRAWN}: torchvision's ResNet-50 changed")
    _MODEL = model.eval()
    # No warm-up request here: like the paper's function, the first request after a restore pays for Pillow's
    # decoder, torch's first kernels and its allocator's first blocks, in every restore mode alike.


def handle(request: bytes) -> bytes:
    options, picture = _split(request)
    try:
        with Image.open(io.BytesIO(picture)) as image:
            width, height = image.size
            rgb = image.convert("RGB")
    except Image.UnidentifiedImageError:
        raise ValueError("the request must be an image (a JPEG), optionally after one line of JSON such as "
                         '{"return_input":true} and a newline') from None
    crop = _CROP(_RESIZE(rgb))
    with torch.no_grad():
        logits = _MODEL(_TO_INPUT(crop).unsqueeze(0))[0]
        probabilities = torch.softmax(logits, 0)
        best = torch.topk(logits, TOP).indices.tolist()
    response = {
        "weights": WEIGHTS,
        "image": [width, height],
        "top5": [[c, logits[c].item(), probabilities[c].item()] for c in best],
    }
    if options.get("return_input"):
        response["input_rgb"] = base64.b64encode(crop.tobytes()).decode()
    return json.dumps(response, separators=(",", ":")).encode()


def _split(request):
    """The options line (a JSON object and a newline) if the request starts with one, and the image."""
    if not request.startswith(b"{"):
        return {}, request
    line, newline, picture = request.partition(b"\n")
    options = json.loads(line)
    if not newline or not isinstance(options, dict):
        raise ValueError('the options must be one JSON object on the first line, e.g. {"return_input":true}, '
                         "then a newline and the image")
    unknown = set(options) - {"return_input"}
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}: the only option is return_input (true or false)")
    return options, picture


def _fill(model, rng):
    """WORKLOADS.md's weights, in its order: each conv's weights then its bias (here its batch norm's, with
    weight 1, mean 0, variance 1 and eps 0, so that the norm is exactly +bias), then fc's. Returns the count."""
    drawn = 0
    for conv, norm, gain in _convs(model):
        cout, cin, kh, kw = conv.weight.shape
        drawn += _uniform(rng, conv.weight, gain * (6.0 / (cin * kh * kw)) ** 0.5)
        drawn += _uniform(rng, norm.bias, BIAS_BOUND)
        norm.weight.fill_(1)
        norm.running_mean.zero_()
        norm.running_var.fill_(1)
        norm.eps = 0.0
    drawn += _uniform(rng, model.fc.weight, (6.0 / model.fc.in_features) ** 0.5)
    drawn += _uniform(rng, model.fc.bias, BIAS_BOUND)
    return drawn


def _convs(model):
    """(conv, its batch norm, gain) in WORKLOADS.md's order: conv1, then each block's a, b, c and down."""
    yield model.conv1, model.bn1, 1.0
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in stage:
            yield block.conv1, block.bn1, 1.0
            yield block.conv2, block.bn2, 1.0
            yield block.conv3, block.bn3, BRANCH_GAIN
            if block.downsample is not None:
                yield block.downsample[0], block.downsample[1], 1.0


def _uniform(rng, tensor, bound):
    """(float)((rng.double() * 2 - 1) * bound) for each element, in order: the same IEEE operations as the C."""
    values = (rng.take(tensor.numel()) * 2 - 1) * bound
    tensor.copy_(torch.from_numpy(values.astype(np.float32)).reshape(tensor.shape))
    return tensor.numel()


class _SpecRng:
    """WORKLOADS.md's rng as doubles in [0, 1), made a block of _LANES x _STEPS values at a time: in a block,
    run k holds values k * _STEPS .. k * _STEPS + _STEPS - 1."""

    def __init__(self, seed):
        lanes = np.empty(_LANES, np.uint64)
        lanes[0] = seed if seed != 0 else 0x9E3779B97F4A7C15
        jump, n = _power(_STEPS), 1
        while n < _LANES:
            lanes[n:2 * n] = _apply_lanes(jump, lanes[:n])
            jump, n = _compose(jump, jump), 2 * n
        self._lanes = lanes
        self._next_block = _power(_LANES * _STEPS)
        self._block = np.empty(0)
        self._used = 0

    def take(self, count):
        parts = []
        while count:
            if self._used == len(self._block):
                self._block, self._used = self._make_block(), 0
            n = min(count, len(self._block) - self._used)
            parts.append(self._block[self._used:self._used + n])
            self._used += n
            count -= n
        return np.concatenate(parts)

    def _make_block(self):
        x = self._lanes.copy()
        states = np.empty((_STEPS, _LANES), np.uint64)
        for t in range(_STEPS):
            x ^= x >> np.uint64(12)
            x ^= x << np.uint64(25)
            x ^= x >> np.uint64(27)
            states[t] = x
        self._lanes = _apply_lanes(self._next_block, self._lanes)
        states *= np.uint64(_MULTIPLIER)  # next(): modulo 2^64
        states >>= np.uint64(11)
        # Exact: a 53-bit integer converts to double without rounding, and the scale is a power of two.
        return np.ascontiguousarray(states.T).ravel().astype(np.float64) * (1.0 / 9007199254740992.0)


def _xorshift(x):
    x ^= x >> 12
    x ^= (x << 25) & _MASK
    return x ^ (x >> 27)


# A GF(2)-linear map of 64-bit words is held as its 64 columns: column j is the image of bit j.
def _apply(columns, x):
    result, j = 0, 0
    while x:
        if x & 1:
            result ^= columns[j]
        x >>= 1
        j += 1
    return result


def _compose(a, b):
    return [_apply(a, column) for column in b]


def _power(n):
    """The xorshift step applied n times (powers of one map commute, so the order of composition is free)."""
    result = [1 << j for j in range(64)]
    base = [_xorshift(1 << j) for j in range(64)]
    while n:
        if n & 1:
            result = _compose(base, result)
        base = _compose(base, base)
        n >>= 1
    return result


def _apply_lanes(columns, x):
    result = np.zeros_like(x)
    one = np.uint64(1)
    for j, column in enumerate(columns):
        result ^= ((x >> np.uint64(j)) & one) * np.uint64(column)
    return result
