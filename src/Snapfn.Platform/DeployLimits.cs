namespace Snapfn.Platform;

/// <summary>
/// What one deploy of a Python function may make the host unpack, install and run, and how many deploys run at
/// once. Each limit has a stable name (<see cref="LimitExceededException.Limit"/>) and a `snapfn serve` option
/// that raises it; docs/limits.md lists them. The size of the archive as sent is the daemon's (--max-deploy-mib).
/// </summary>
public sealed record DeployLimits
{
    /// <summary>Files in the archive (its central directory is counted before anything is allocated per entry).</summary>
    public int MaxFiles { get; init; } = 10_000;

    /// <summary>Bytes one file unpacks to.</summary>
    public long MaxFileBytes { get; init; } = 64L << 20;

    /// <summary>Bytes all files unpack to together.</summary>
    public long MaxUnpackedBytes { get; init; } = 128L << 20;

    /// <summary>Unpacked bytes per archive byte, checked once the archive unpacks to more than
    /// <see cref="RatioFloorBytes"/> (source code compresses 3 to 10 times; a zip bomb a thousand).</summary>
    public int MaxCompressionRatio { get; init; } = 100;

    public const long RatioFloorBytes = 1L << 20;

    /// <summary>Debian packages snapfn.json may list (each is resolved with its dependencies by apt).</summary>
    public int MaxPackages { get; init; } = 64;

    /// <summary>Deploys checked at once: each boots python to compile the code and may run apt for minutes.</summary>
    public int MaxConcurrent { get; init; } = 2;

    /// <summary>How long a deploy waits for its turn before it is refused as busy (to be sent again later).</summary>
    public TimeSpan Wait { get; init; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (MaxFiles < 1 || MaxFileBytes < 1 || MaxUnpackedBytes < 1 || MaxCompressionRatio < 1 || MaxPackages < 0 || MaxConcurrent < 1 || Wait < TimeSpan.Zero)
            throw new InvalidRequestException("deploy limits must be positive (--max-deploy-files, --max-deploy-file-mib, --max-deploy-unpacked-mib, " +
                "--max-deploy-ratio, --max-concurrent-deploys >= 1; --max-packages, --deploy-wait-seconds >= 0)");
    }
}
