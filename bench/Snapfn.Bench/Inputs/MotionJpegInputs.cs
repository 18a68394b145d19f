namespace Snapfn.Bench.Inputs;

/// <summary>
/// video's inputs: Motion JPEG, 30 colour frames of 640x480 concatenated (each SOI to EOI, nothing between): a
/// camera panning across a <see cref="Scene"/> landscape (B faster, so its frames differ more), A ~347 KB, B
/// ~391 KB as in WORKLOADS.md's table. The frames are windows onto one wide rendering, so the clip costs one
/// picture and 30 encodes; fine texture is turned down and one fixed quality per input set chosen once so that
/// the sizes land there.
/// </summary>
public static class MotionJpegInputs
{
    public const int Frames = 30;
    public const int Width = 640;
    public const int Height = 480;

    private const double Detail = 0.2;
    private const int QualityA = 32;
    private const int QualityB = 43;

    public static byte[] Video(InputSet set) =>
        set == InputSet.A ? Clip(seed: 5, step: 6, QualityA) : Clip(seed: 6, step: 9, QualityB);

    /// <summary>Frame f shows columns f·step .. f·step + 639 of a panorama.</summary>
    private static byte[] Clip(ulong seed, int step, int quality)
    {
        var panoramaWidth = Width + (Frames - 1) * step;
        var panorama = Scene.Render(panoramaWidth, Height, seed, Detail, town: false);
        var frames = new byte[Frames][];
        Parallel.For(0, Frames, f =>
        {
            var rgb = new byte[Width * Height * 3];
            for (var y = 0; y < Height; y++)
                panorama.AsSpan((y * panoramaWidth + f * step) * 3, Width * 3).CopyTo(rgb.AsSpan(y * Width * 3));
            frames[f] = JpegInputs.Encode(rgb, Width, Height, quality);
        });
        return [.. frames.SelectMany(frame => frame)];
    }
}
