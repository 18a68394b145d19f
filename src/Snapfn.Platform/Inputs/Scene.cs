namespace Snapfn.Platform.Inputs;

/// <summary>
/// A procedural street scene for the JPEG inputs, so that they compress like photographs and not like noise or
/// flat colour: a sky gradient with clouds and a sun, a mountain ridge, a row of lit buildings, a billboard of
/// text-like glyph rows, trees, a perspective road and textured grass. Layers further away move less when the
/// view pans (the video's frames). Only IEEE arithmetic, floor and sqrt are used, so a picture is the same
/// on every machine.
/// </summary>
internal sealed class Scene
{
    private readonly int _width;
    private readonly int _height;
    private readonly ulong _seed;
    private readonly double _horizon;
    private readonly double _glyph;

    private Scene(int width, int height, ulong seed)
    {
        _width = width;
        _height = height;
        _seed = seed;
        _horizon = height * 0.56;
        _glyph = Math.Max(1, Math.Floor(height / 240.0));
    }

    /// <summary>RGB8 pixels, top row first, of the scene seen from horizontal offset <paramref name="pan"/>.</summary>
    public static byte[] Render(int width, int height, ulong seed, double pan)
    {
        var scene = new Scene(width, height, seed);
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = scene.Shade(x, y, pan);
                var i = (y * width + x) * 3;
                rgb[i] = Clamp8(r);
                rgb[i + 1] = Clamp8(g);
                rgb[i + 2] = Clamp8(b);
            }
        }
        return rgb;
    }

    private (double R, double G, double B) Shade(int x, int y, double pan)
    {
        if (Billboard(x + pan, y) is { } sign)
            return sign;
        if (Tree(x + pan, y) is { } tree)
            return tree;
        if (y >= _horizon)
            return Road(x, y, pan) ?? Grass(x + pan, y);
        if (Building(x + 0.5 * pan, y) is { } building)
            return building;
        var ridge = _horizon - _height * (0.06 + 0.16 * Fractal(_seed + 2, (x + 0.2 * pan) / (_width * 0.3), 0.5, 4));
        if (y >= ridge)
            return Mountain(x + 0.2 * pan, y, ridge);
        return Sky(x, y, pan);
    }

    private (double, double, double) Sky(int x, int y, double pan)
    {
        var t = y / _horizon;
        double r = 40 + 150 * t, g = 90 + 125 * t, b = 185 + 55 * t;
        var sunX = _width * 0.78 - 0.05 * pan;
        var sunY = _height * 0.16;
        var radius = _height * 0.06;
        var distance = Math.Sqrt((x - sunX) * (x - sunX) + (y - sunY) * (y - sunY));
        if (distance < radius)
            return (255, 236, 160);
        if (distance < 3 * radius)
        {
            var glow = (3 * radius - distance) / (2 * radius);
            glow *= glow * 0.6;
            (r, g, b) = (r + (255 - r) * glow, g + (240 - g) * glow, b + (200 - b) * glow);
        }
        var cloud = Fractal(_seed + 1, (x + 0.3 * pan) / 150.0, y / 45.0, 4);
        if (cloud > 0.52)
        {
            var k = Math.Min(1, (cloud - 0.52) * 4);
            var shade = 250 - 40 * (y / _horizon);
            (r, g, b) = (r + (shade - r) * k, g + (shade - g) * k, b + (shade + 5 - b) * k);
        }
        return (r, g, b);
    }

    private (double, double, double) Mountain(double wx, int y, double ridge)
    {
        var depth = (y - ridge) / (_horizon - ridge + 1);
        var rock = Fractal(_seed + 3, wx / 40.0, y / 25.0, 3);
        double r = 95 + 40 * rock - 20 * depth, g = 105 + 35 * rock - 15 * depth, b = 135 + 30 * rock;
        if (y - ridge < _height * 0.025 && ridge < _horizon - _height * 0.15)
            return (235 + 15 * rock, 238 + 12 * rock, 245);
        return (r, g, b);
    }

    /// <summary>Buildings in cells of 90 pixels, each a facade with a grid of windows, some lit.</summary>
    private (double, double, double)? Building(double wx, int y)
    {
        var cell = Math.Floor(wx / 90);
        var hash = Hash(_seed + 4, (long)cell, 0);
        var left = 4 + (double)(hash & 15);
        var right = 90 - 4 - (double)((hash >> 4) & 15);
        var top = _horizon - _height * (0.08 + 0.22 * ((hash >> 8) & 255) / 255.0);
        var u = wx - cell * 90;
        if (u < left || u >= right || y < top)
            return null;
        var hue = (hash >> 16) & 3;
        (double R, double G, double B) facade = hue switch
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
        var grain = 10 * Noise(_seed + 6, wx / 3, y / 3);
        return (facade.R + grain, facade.G + grain, facade.B + grain);
    }

    /// <summary>Every 700 pixels, a cream panel on two posts with lines of dark pseudo-letters in words.</summary>
    private (double, double, double)? Billboard(double wx, int y)
    {
        var span = Math.Floor(wx / 700);
        var u = wx - span * 700 - 60;
        var width = _width * 0.42;
        var top = _height * 0.50;
        var bottom = _height * 0.74;
        if (u < 0 || u >= width || y < top || y >= _height * 0.86)
            return null;
        if (y >= bottom)
            return u < 8 || u >= width - 8 ? (70, 70, 75) : null;
        if (u < 4 || u >= width - 4 || y < top + 4 || y >= bottom - 4)
            return (60, 60, 70);
        var s = _glyph;
        var column = (int)Math.Floor((u - 12) / (6 * s));
        var line = (int)Math.Floor((y - top - 12) / (10 * s));
        if (u < 12 || y < top + 12 || u >= width - 12 || y >= bottom - 12 || column < 0 || line < 0)
            return (240, 232, 210);
        var gx = (int)Math.Floor((u - 12) / s) - column * 6;
        var gy = (int)Math.Floor((y - top - 12) / s) - line * 10;
        var letter = Hash(_seed + 7 + (ulong)span, line, column);
        // A space between words about one cell in six; a letter is 5 x 7 dots with a blank column and rows after it.
        var ink = (letter % 6) != 0 && gx < 5 && gy < 7 && (Hash(_seed + 8, (long)(letter % 40), gy * 5 + gx) & 1) == 1;
        return ink ? (25, 30, 60) : (240, 232, 210);
    }

    /// <summary>Trees in cells of 130 pixels: a shaded disc of leaves on a trunk, standing on the grass.</summary>
    private (double, double, double)? Tree(double wx, int y)
    {
        var cell = Math.Floor(wx / 130);
        var hash = Hash(_seed + 9, (long)cell, 1);
        if ((hash & 3) == 0)
            return null;
        var baseY = _horizon + _height * (0.03 + 0.10 * ((hash >> 2) & 255) / 255.0);
        var scale = baseY / _height;
        var radius = _height * 0.09 * scale;
        var cx = cell * 130 + 30 + (double)((hash >> 10) & 63);
        var cy = baseY - radius * 2.2;
        var dx = wx - cx;
        var dy = y - cy;
        if (dx * dx + dy * dy < radius * radius)
        {
            var light = 0.55 + 0.45 * (-(dx + dy) / (2 * radius) + 0.5);
            var leaves = 0.7 + 0.6 * Noise(_seed + 10, wx / 4, y / 4);
            return (35 * light * leaves, 110 * light * leaves, 40 * light * leaves);
        }
        if (Math.Abs(dx) < radius * 0.18 && y >= cy && y < baseY)
            return (90, 60, 35);
        return null;
    }

    /// <summary>A road from the vanishing point down to the bottom edge, with dashes that move as the view pans.</summary>
    private (double, double, double)? Road(int x, int y, double pan)
    {
        var depth = (y - _horizon) / (_height - _horizon);
        var half = _width * (0.02 + 0.30 * depth);
        var dx = x - _width * 0.5;
        if (Math.Abs(dx) >= half)
            return null;
        var asphalt = 85 + 20 * Noise(_seed + 11, x / 2.0, y / 2.0);
        if (Math.Abs(dx) > half * 0.94)
            return (225, 225, 225);
        var along = 1 / (depth + 0.05) + pan * 0.02;
        if (Math.Abs(dx) < half * 0.03 && along - Math.Floor(along) < 0.5)
            return (235, 205, 60);
        return (asphalt, asphalt, asphalt + 5);
    }

    private (double, double, double) Grass(double wx, int y)
    {
        var depth = (y - _horizon) / (_height - _horizon);
        var texture = Fractal(_seed + 12, wx / (4 + 30 * depth), y / (3 + 15 * depth), 4);
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
