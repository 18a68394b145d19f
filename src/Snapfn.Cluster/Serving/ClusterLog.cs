using Microsoft.Extensions.Logging;

namespace Snapfn.Cluster.Serving;

/// <summary>The serving side's log lines, with stable event ids.</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 2300, Level = LogLevel.Information, Message = "joined the NATS cluster at {Urls} as worker {Worker}")]
    public static partial void Joined(ILogger logger, string urls, string worker);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Debug, Message = "served {Function} ({InvocationId}): {Outcome}")]
    public static partial void Served(ILogger logger, string function, string invocationId, string outcome);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "worker {Worker} went silent on {Function} ({InvocationId}): {Decision}")]
    public static partial void WorkerLost(ILogger logger, string? worker, string function, string invocationId, string decision);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Information, Message = "async {Function} ({InvocationId}) delivery {Delivery}: {Outcome}")]
    public static partial void AsyncServed(ILogger logger, string function, string invocationId, ulong delivery, string outcome);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "async worker: {Problem}")]
    public static partial void AsyncTrouble(ILogger logger, string problem);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Warning, Message = "placement: {Problem}")]
    public static partial void PlacementTrouble(ILogger logger, string problem);

    [LoggerMessage(EventId = 2306, Level = LogLevel.Warning, Message = "function records: {Problem}")]
    public static partial void RecordsTrouble(ILogger logger, string problem);

    [LoggerMessage(EventId = 2307, Level = LogLevel.Information, Message = "function {Function} was deleted from the cluster (version {Revision}): {Outcome}")]
    public static partial void Dropped(ILogger logger, string function, ulong revision, string outcome);
}
