using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Snapfn.Platform.Telemetry;

namespace Snapfn.Daemon;

/// <summary>
/// Exports the invocations' spans (<see cref="InvocationTelemetry"/>) with OTLP when the standard
/// OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise registers nothing, so that no listener exists and the platform's
/// ActivitySource makes no span at all. The exporter reads the other standard variables itself
/// (OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS, ...); the spans come from service.name "snapfn".
/// </summary>
public static class DaemonTelemetry
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The tracer provider exporting to <paramref name="endpoint"/>, or null (tracing off) when it is empty.
    /// The caller disposes it at shutdown (which flushes the spans still batched).</summary>
    public static TracerProvider? Start(string? endpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint))
            return null;
        return Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(resource => resource.AddService("snapfn"))
            .AddSource(InvocationTelemetry.SourceName)
            .AddOtlpExporter()
            .Build();
    }
}
