namespace Snapfn.Bench.Inputs;

/// <summary>
/// A procedural street scene for the JPEG inputs, so that they compress like photographs and not like noise or
/// flat colour: a sky gradient with clouds and a sun, a mountain ridge, a row of buildings with lit windows, a
/// billboard of text-like glyph rows, trees, a perspective road and textured grass. It is laid out for a picture
/// 480 pixels high and scaled to the requested height, so a larger picture shows the same scene in more pixels
/// (as a camera of higher resolution would), not more of it. Only IEEE arithmetic, floor and sqrt are used, so a
/// picture is the same on every machine.
/// </summary>
internal sealed class Scene
{
    private const double Height = 480;
    private const double Horizon = Height * 0.56;
    private const double Glyph = 2;

    private readonly ulong _seed;
    private readonly double _detail;
    private readonly bool _town;

    private Scene(ulong seed, double detail, bool town)
    {
        _seed = seed;
        _detail = detail;
        _town = town;
    }

    /// <summary>
    /// RGB8 pixels, top row first. <paramref name="detail"/> (0..1) scales the fine textures, the knob that with
    /// the JPEG quality sets how large a file gets; without <paramref name="town"/> there are no buildings and no
    /// billboard, only landscape.
    /// </summary>
    public static byte[] Render(int width, int height, ulong seed, double detail, bool town)
    {
        var scale = height / Height;
        var scene = new Scene(seed, detail, town);
        // The mountains' outline depends on the column only.
        var ridge = new double[width];
        for (var x = 0; x < width; x++)
            ridge[x] = Horizon - Height * (0.04 + 0.26 * Fractal(seed + 2, x / scale / (Height * 0.4), 0.5, 4));
        var rgb = new byte[width * height * 3];
        Parallel.For(0, height, y =>
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = scene.Shade(x / scale, y / scale, ridge[x]);
                var i = (y * width + x) * 3;
                rgb[i] = Clamp8(r);
                rgb[i + 1] = Clamp8(g);
                rgb[i + 2] = Clamp8(b);
            }
        });
        return rgb;
    }

    private (double R, double G, double B) Shade(double x, double y, double ridge)
    {
        if (_town && Billboard(x, y) is { } sign)
            return sign;
        if (Tree(x, y) is { } tree)
            return tree;
        if (y >= Horizon)
            return Road(x, y) ?? Grass(x, y);
        if (_town && Building(x, y) is { } building)
            return building;
        if (y >= ridge)
            return Mountain(x, y, ridge);
        return Sky(x, y);
    }

    private (double, double, double) Sky(double x, double y)
    {
        var t = y / Horizon;
        double r = 40 + 150 * t, g = 90 + 125 * t, b = 185 + 55 * t;
        var sunX = Height * 1.04;
        var sunY = Height * 0.16;
        var radius = Height * 0.06;
        var distance = Math.Sqrt((x - sunX) * (x - sunX) + (y - sunY) * (y - sunY));
        if (distance < radius)
            return (255, 236, 160);
        if (distance < 3 * radius)
        {
            var glow = (3 * radius - distance) / (2 * radius);
            glow *= glow * 0.6;
            (r, g, b) = (r + (255 - r) * glow, g + (240 - g) * glow, b + (200 - b) * glow);
        }
        var cloud = Fractal(_seed + 1, x / 150, y / 45, 4);
        if (cloud > 0.52)
        {
            var k = Math.Min(1, (cloud - 0.52) * 4);
            var shade = 250 - 40 * t;
            (r, g, b) = (r + (shade - r) * k, g + (shade - g) * k, b + (shade + 5 - b) * k);
        }
        return (r, g, b);
    }

    private (double, double, double) Mountain(double x, double y, double ridge)
    {
        var depth = (y - ridge) / (Horizon - ridge + 1);
        var rock = 0.5 + _detail * (Fractal(_seed + 3, x / 40, y / 25, 3) - 0.5);
        // Snow above a line that wavers a little, so the higher peaks get caps.
        if (y < Horizon - Height * (0.15 + 0.03 * Noise(_seed + 13, x / 25, 0.5)))
            return (235 + 15 * rock, 238 + 12 * rock, 245);
        return (95 + 40 * rock - 20 * depth, 105 + 35 * rock - 15 * depth, 135 + 30 * rock);
    }

    /// <summary>Buildings in cells 90 wide, each a facade with a grid of windows, about one in four lit.</summary>
    private (double, double, double)? Building(double x, double y)
    {
        var cell = Math.Floor(x / 90);
        var hash = Hash(_seed + 4, (long)cell, 0);
        var left = 4 + (double)(hash & 15);
        var right = 90 - 4 - (double)((hash >> 4) & 15);
        var top = Horizon - Height * (0.08 + 0.22 * ((hash >> 8) & 255) / 255.0);
        var u = x - cell * 90;
        if (u < left || u >= right || y < top)
            return null;
        (double R, double G, double B) facade = ((hash >> 16) & 3) switch
        {
            0 => (150, 120, 100),
            1 => (120, 125, 135),
            2 => (175, 160, 130),
            _ => (100, 90, 95),
        };
        var wu = u - left - 5;
        var wy = y - top - 6;
        if (wu >= 0 && wy >= 0 && wu % 12 < 7 && wy % 16 < 10 && u < right - 5)
        {
            var window = Hash(_seed + 5, (long)(cell * 64 + Math.Floor(wu / 12)), (long)Math.Floor(wy / 16));
            return (window & 3) == 0 ? (250, 225, 130) : (40, 55, 80);
        }
        var grain = 10 * _detail * Noise(_seed + 6, x / 3, y / 3);
        return (facade.R + grain, facade.G + grain, facade.B + grain);
    }

    /// <summary>Every 700 across, a cream panel on two posts with lines of dark pseudo-letters in words.</summary>
    private (double, double, double)? Billboard(double x, double y)
    {
        var span = Math.Floor(x / 700);
        var u = x - span * 700 - 60;
        var width = Height * 0.56;
        var top = Height * 0.50;
        var bottom = Height * 0.74;
        if (u < 0 || u >= width || y < top || y >= Height * 0.86)
            return null;
        if (y >= bottom)
            return u < 8 || u >= width - 8 ? (70, 70, 75) : null;
        if (u < 4 || u >= width - 4 || y < top + 4 || y >= bottom - 4)
            return (60, 60, 70);
        var column = (int)Math.Floor((u - 12) / (6 * Glyph));
        var line = (int)Math.Floor((y - top - 12) / (10 * Glyph));
        var columns = (int)Math.Floor((width - 24) / (6 * Glyph));
        var lines = (int)Math.Floor((bottom - top - 24 + 3 * Glyph) / (10 * Glyph));
        if (u < 12 || y < top + 12 || column < 0 || line < 0 || column >= columns || line >= lines)
            return (240, 232, 210);
        var gx = (int)Math.Floor((u - 12) / Glyph) - column * 6;
        var gy = (int)Math.Floor((y - top - 12) / Glyph) - line * 10;
        var letter = Hash(_seed + 7 + (ulong)span, line, column);
        // A space between words about one cell in six; a letter is one of 40 shapes of 5 x 7 dots.
        var ink = letter % 6 != 0 && gx < 5 && gy < 7 && (Hash(_seed + 8, (long)(letter % 40), gy * 5 + gx) & 1) == 1;
        return ink ? (25, 30, 60) : (240, 232, 210);
    }

    /// <summary>Trees in cells 130 wide (a quarter of them empty): a shaded disc of leaves on a trunk.</summary>
    private (double, double, double)? Tree(double x, double y)
    {
        var cell = Math.Floor(x / 130);
        var hash = Hash(_seed + 9, (long)cell, 1);
        if ((hash & 3) == 0)
            return null;
        var baseY = Horizon + Height * (0.03 + 0.10 * ((hash >> 2) & 255) / 255.0);
        var radius = 0.09 * baseY;
        var cx = cell * 130 + 30 + (double)((hash >> 10) & 63);
        var cy = baseY - radius * 2.2;
        var dx = x - cx;
        var dy = y - cy;
        if (dx * dx + dy * dy < radius * radius)
        {
            var light = 0.55 + 0.45 * (-(dx + dy) / (2 * radius) + 0.5);
            var leaves = 1 + 0.6 * _detail * (Noise(_seed + 10, x / 4, y / 4) - 0.5);
            return (35 * light * leaves, 110 * light * leaves, 40 * light * leaves);
        }
        if (Math.Abs(dx) < radius * 0.18 && y >= cy && y < baseY)
            return (90, 60, 35);
        return null;
    }

    /// <summary>A road from the vanishing point down to the bottom edge, with a dashed centre line.</summary>
    private (double, double, double)? Road(double x, double y)
    {
        var depth = (y - Horizon) / (Height - Horizon);
        var half = Height * (0.027 + 0.40 * depth);
        var dx = x - Height * 0.667;
        if (Math.Abs(dx) >= half)
            return null;
        if (Math.Abs(dx) > half * 0.94)
            return (225, 225, 225);
        var along = 1 / (depth + 0.05);
        if (Math.Abs(dx) < half * 0.03 && along - Math.Floor(along) < 0.5)
            return (235, 205, 60);
        var asphalt = 95 + 20 * _detail * (Noise(_seed + 11, x / 2, y / 2) - 0.5);
        return (asphalt, asphalt, asphalt + 5);
    }

    private (double, double, double) Grass(double x, double y)
    {
        var depth = (y - Horizon) / (Height - Horizon);
        var texture = 0.45 + _detail * (Fractal(_seed + 12, x / (4 + 30 * depth), y / (3 + 15 * depth), 4) - 0.45);
        return (55 + 70 * texture + 30 * depth, 100 + 90 * texture, 35 + 30 * texture);
    }

    private static ulong Hash(ulong seed, long x, long y) =>
        XorShift64Star.Mix64(unchecked(seed * 0xd1342543de82ef95 ^ (ulong)x * 0x9e3779b97f4a7c15 ^ (ulong)y * 0xc2b2ae3d27d4eb4f));

    /// <summary>Value noise in [0, 1): hashed lattice values blended with a smoothstep.</summary>
    private static double Noise(ulong seed, double x, double y)
    {
        double fx = Math.Floor(x), fy = Math.Floor(y);
        double tx = x - fx, ty = y - fy;
        tx = tx * tx * (3 - 2 * tx);
        ty = ty * ty * (3 - 2 * ty);
        long ix = (long)fx, iy = (long)fy;
        double a = Lattice(seed, ix, iy), b = Lattice(seed, ix + 1, iy);
        double c = Lattice(seed, ix, iy + 1), d = Lattice(seed, ix + 1, iy + 1);
        var top = a + (b - a) * tx;
        return top + (c + (d - c) * tx - top) * ty;
    }

    private static double Lattice(ulong seed, long x, long y) => (Hash(seed, x, y) >> 11) * (1.0 / 9007199254740992.0);

    /// <summary>Octaves of value noise, each at twice the frequency and half the weight of the one before.</summary>
    private static double Fractal(ulong seed, double x, double y, int octaves)
    {
        double sum = 0, amplitude = 0.5;
        for (var o = 0; o < octaves; o++)
        {
            sum += amplitude * Noise(seed + (ulong)o, x, y);
            x *= 2.03;
            y *= 2.03;
            amplitude *= 0.5;
        }
        return sum;
    }

    private static byte Clamp8(double v) => (byte)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}
