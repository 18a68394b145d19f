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
    private const int StepA = 6;
    private const int QualityA = 32;
    private const int StepB = 9;
    private const int QualityB = 43;

    public static byte[] Video(InputSet set) =>
        set == InputSet.A ? Clip(Frames, seed: 5, StepA, QualityA) : Clip(Frames, seed: 6, StepB, QualityB);

    /// <summary>A clip of <paramref name="frames"/> frames like input A's (its pan and quality, 10 to 12 KB a frame)
    /// of the landscape of <paramref name="seed"/>.</summary>
    public static byte[] Clip(int frames, ulong seed) => Clip(frames, seed, StepA, QualityA);

    /// <summary>Frame f shows columns f·step .. f·step + 639 of a panorama.</summary>
    private static byte[] Clip(int count, ulong seed, int step, int quality)
    {
        var panoramaWidth = Width + (count - 1) * step;
        var panorama = Scene.Render(panoramaWidth, Height, seed, Detail, town: false);
        var frames = new byte[count][];
        Parallel.For(0, count, f =>
        {
            var rgb = new byte[Width * Height * 3];
            for (var y = 0; y < Height; y++)
                panorama.AsSpan((y * panoramaWidth + f * step) * 3, Width * 3).CopyTo(rgb.AsSpan(y * Width * 3));
            frames[f] = JpegInputs.Encode(rgb, Width, Height, quality);
        });
        return [.. frames.SelectMany(frame => frame)];
    }
}
