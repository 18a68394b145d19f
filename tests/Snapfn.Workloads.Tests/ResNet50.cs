namespace Snapfn.Workloads.Tests;

/// <summary>
/// WORKLOADS.md's recognition network, replayed here: torchvision's ResNet-50 v1.5 with batch norm folded,
/// every channel count divided by the width divisor D, synthetic weights drawn from rng.seed(50) in the order
/// given there. Each convolution sums in double and rounds its output to float32 (the reference the guest's
/// float32 GEMM is measured against), so the logits agree with the guest's to far better than the tolerance.
/// </summary>
public sealed class ResNet50
{
    private static readonly (int Blocks, int Width, int Stride)[] _stages = [(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)];
    private static readonly double[] _mean = [0.485, 0.456, 0.406];
    private static readonly double[] _std = [0.229, 0.224, 0.225];

    private readonly Conv _conv1;
    private readonly List<Block> _blocks = [];
    private readonly float[] _fcWeights;
    private readonly float[] _fcBias;
    private readonly int _features;

    public ResNet50(int divisor)
    {
        var rng = new SpecRng(50);
        int W(int channels) => channels / divisor;
        _conv1 = Conv.Draw(rng, 3, W(64), 7, 2, gain: 1);
        var channels = W(64);
        foreach (var (blocks, width, stride) in _stages)
        {
            for (var i = 0; i < blocks; i++)
            {
                var cw = W(width);
                var s = i == 0 ? stride : 1;
                var a = Conv.Draw(rng, channels, cw, 1, 1, gain: 1);
                var b = Conv.Draw(rng, cw, cw, 3, s, gain: 1);
                var c = Conv.Draw(rng, cw, 4 * cw, 1, 1, gain: 0.5);
                var down = i == 0 ? Conv.Draw(rng, channels, 4 * cw, 1, s, gain: 1) : null;
                _blocks.Add(new Block(a, b, c, down));
                channels = 4 * cw;
            }
        }
        _features = channels;
        _fcWeights = Draw(rng, 1000 * channels, Math.Sqrt(6.0 / channels));
        _fcBias = Draw(rng, 1000, 0.01);
    }

    /// <summary>The 1000 logits for an RGB8 picture (top row first).</summary>
    public float[] Logits(byte[] rgb, int width, int height)
    {
        var x = new Tensor(3, 224, 224, Preprocess(rgb, width, height));
        x = _conv1.Apply(x, relu: true);
        x = MaxPool(x);
        foreach (var block in _blocks)
        {
            var y = block.A.Apply(x, relu: true);
            y = block.B.Apply(y, relu: true);
            y = block.C.Apply(y, relu: false);
            var shortcut = block.Down?.Apply(x, relu: false) ?? x;
            for (var i = 0; i < y.Data.Length; i++)
                y.Data[i] = Math.Max(0f, y.Data[i] + shortcut.Data[i]);
            x = y;
        }
        var features = new float[_features];
        var plane = x.Height * x.Width;
        for (var c = 0; c < _features; c++)
        {
            double sum = 0;
            for (var i = 0; i < plane; i++)
                sum += x.Data[c * plane + i];
            features[c] = (float)(sum / plane);
        }
        var logits = new float[1000];
        for (var o = 0; o < 1000; o++)
        {
            double sum = 0;
            for (var c = 0; c < _features; c++)
                sum += (double)_fcWeights[o * _features + c] * features[c];
            logits[o] = (float)(sum + _fcBias[o]);
        }
        return logits;
    }

    /// <summary>Bilinear resize to 224x224 with half-pixel centres, then per-channel normalisation, CHW.</summary>
    private static float[] Preprocess(byte[] rgb, int width, int height)
    {
        var output = new float[3 * 224 * 224];
        for (var y = 0; y < 224; y++)
        {
            var (y0, y1, fy) = Source(y, height);
            for (var x = 0; x < 224; x++)
            {
                var (x0, x1, fx) = Source(x, width);
                for (var c = 0; c < 3; c++)
                {
                    double p00 = rgb[(y0 * width + x0) * 3 + c], p01 = rgb[(y0 * width + x1) * 3 + c];
                    double p10 = rgb[(y1 * width + x0) * 3 + c], p11 = rgb[(y1 * width + x1) * 3 + c];
                    var top = p00 + fx * (p01 - p00);
                    var bottom = p10 + fx * (p11 - p10);
                    var v = top + fy * (bottom - top);
                    output[(c * 224 + y) * 224 + x] = (float)((v / 255.0 - _mean[c]) / _std[c]);
                }
            }
        }
        return output;
    }

    private static (int Low, int High, double Fraction) Source(int position, int size)
    {
        var s = Math.Max((position + 0.5) * (size / 224.0) - 0.5, 0);
        var low = (int)Math.Floor(s);
        return (low, Math.Min(low + 1, size - 1), s - low);
    }

    /// <summary>3x3, stride 2, padding 1; padded cells never win.</summary>
    private static Tensor MaxPool(Tensor x)
    {
        var oh = (x.Height + 2 - 3) / 2 + 1;
        var ow = (x.Width + 2 - 3) / 2 + 1;
        var output = new Tensor(x.Channels, oh, ow, new float[x.Channels * oh * ow]);
        for (var c = 0; c < x.Channels; c++)
        {
            for (var oy = 0; oy < oh; oy++)
            {
                for (var ox = 0; ox < ow; ox++)
                {
                    var best = float.NegativeInfinity;
                    for (var ky = 0; ky < 3; ky++)
                    {
                        for (var kx = 0; kx < 3; kx++)
                        {
                            int iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                            if (iy >= 0 && iy < x.Height && ix >= 0 && ix < x.Width)
                                best = Math.Max(best, x.Data[(c * x.Height + iy) * x.Width + ix]);
                        }
                    }
                    output.Data[(c * oh + oy) * ow + ox] = best;
                }
            }
        }
        return output;
    }

    private static float[] Draw(SpecRng rng, int count, double bound)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
            values[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        return values;
    }

    private sealed record Tensor(int Channels, int Height, int Width, float[] Data);

    private sealed record Block(Conv A, Conv B, Conv C, Conv? Down);

    private sealed class Conv(int cin, int cout, int k, int stride, float[] weights, float[] bias)
    {
        /// <summary>Weights [cout][cin][kh][kw] then cout biases, bound gain·sqrt(6 / fan_in) and 0.01.</summary>
        public static Conv Draw(SpecRng rng, int cin, int cout, int k, int stride, double gain)
        {
            var weights = ResNet50.Draw(rng, cout * cin * k * k, gain * Math.Sqrt(6.0 / (cin * k * k)));
            return new Conv(cin, cout, k, stride, weights, ResNet50.Draw(rng, cout, 0.01));
        }

        public Tensor Apply(Tensor x, bool relu)
        {
            var pad = k / 2;
            var oh = (x.Height + 2 * pad - k) / stride + 1;
            var ow = (x.Width + 2 * pad - k) / stride + 1;
            var output = new float[cout * oh * ow];
            var sums = new double[oh * ow];
            for (var o = 0; o < cout; o++)
            {
                Array.Fill(sums, bias[o]);
                for (var c = 0; c < cin; c++)
                {
                    for (var ky = 0; ky < k; ky++)
                    {
                        for (var kx = 0; kx < k; kx++)
                        {
                            double w = weights[((o * cin + c) * k + ky) * k + kx];
                            for (var oy = 0; oy < oh; oy++)
                            {
                                var iy = oy * stride - pad + ky;
                                if (iy < 0 || iy >= x.Height)
                                    continue;
                                var row = (c * x.Height + iy) * x.Width;
                                for (var ox = 0; ox < ow; ox++)
                                {
                                    var ix = ox * stride - pad + kx;
                                    if (ix >= 0 && ix < x.Width)
                                        sums[oy * ow + ox] += w * x.Data[row + ix];
                                }
                            }
                        }
                    }
                }
                for (var i = 0; i < sums.Length; i++)
                {
                    var v = (float)sums[i];
                    output[o * oh * ow + i] = relu ? Math.Max(0f, v) : v;
                }
            }
            return new Tensor(cout, oh, ow, output);
        }
    }
}
