using Microsoft.Extensions.Logging;

namespace Snapfn.Daemon;

/// <summary>The daemon's log messages, with stable event ids.</summary>
internal static partial class DaemonLog
{
    [LoggerMessage(1, LogLevel.Information, "Snapfn daemon: home {Home}, {Functions} functions registered ({UserFunctions} user), warm pool {WarmPool} per function")]
    public static partial void Started(ILogger logger, string home, int functions, int userFunctions, int warmPool);

    [LoggerMessage(2, LogLevel.Information, "Listening on {Listen}: requests need 'Authorization: Bearer' with the token in {TokenPath} (the snapfn CLI on this machine reads it itself)")]
    public static partial void TokenRequired(ILogger logger, string listen, string tokenPath);

    [LoggerMessage(3, LogLevel.Information, "Stopping: waiting up to {DrainSeconds} s for {InFlight} invocations in flight")]
    public static partial void Draining(ILogger logger, double drainSeconds, int inFlight);

    [LoggerMessage(4, LogLevel.Information, "Stopped: warm VMs shut down, registry closed")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(5, LogLevel.Warning, "{Method} {Path}: {Status} {Error}: {Detail}")]
    public static partial void RequestFailed(ILogger logger, string method, string path, int status, string error, string detail);

    [LoggerMessage(6, LogLevel.Error, "{Method} {Path}: unexpected failure")]
    public static partial void Unexpected(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(7, LogLevel.Debug, "[{Function}] {Line}")]
    public static partial void GuestLine(ILogger logger, string function, string line);

    [LoggerMessage(8, LogLevel.Information, "Registered user function {Function} ({Bytes} bytes, {MemoryMib} MiB, sha256 {Sha256})")]
    public static partial void Registered(ILogger logger, string function, int bytes, int memoryMib, string sha256);

    [LoggerMessage(9, LogLevel.Information, "Deleted user function {Function}")]
    public static partial void Deleted(ILogger logger, string function);

    [LoggerMessage(10, LogLevel.Information, "Snapshot of {Function}: boot {BootMs:0.0} ms, init {InitMs:0.0} ms, write {WriteMs:0.0} ms")]
    public static partial void SnapshotTaken(ILogger logger, string function, double bootMs, double initMs, double writeMs);

    [LoggerMessage(11, LogLevel.Information, "{Mode} recording of {Function}: {Pages} pages in {Regions} regions")]
    public static partial void Recorded(ILogger logger, string mode, string function, ulong pages, int regions);

    [LoggerMessage(13, LogLevel.Warning, "No built-in functions in {GuestDirectory}: build them with `make -C guest`, or point SNAPFN_GUEST_DIR at guest/build")]
    public static partial void NoBuiltIns(ILogger logger, string guestDirectory);

    [LoggerMessage(12, LogLevel.Warning, "{Method} {Path}: rejected without a valid bearer token")]
    public static partial void Unauthorized(ILogger logger, string method, string path);

    // Issue 21 (automatic recordings): ids from 40, apart from the ones other changes add.
    [LoggerMessage(40, LogLevel.Information, "Automatic recording of {Function}: {Message}")]
    public static partial void AutoRecord(ILogger logger, string function, string message);

    [LoggerMessage(41, LogLevel.Warning, "Deployed {Function} without a snapshot: {Detail}")]
    public static partial void DeployedWithoutSnapshot(ILogger logger, string function, string detail);

    [LoggerMessage(14, LogLevel.Warning, "{Method} {Path}: refused as a cross-site request ({Error}): {Detail}")]
    public static partial void CrossSite(ILogger logger, string method, string path, string error, string detail);
}
