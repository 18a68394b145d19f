using System.Diagnostics;
using System.Net.Http.Headers;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Snapfn.Platform.Telemetry;

namespace Snapfn.Daemon.Tests;

/// <summary>Listeners are process-wide: these tests run alone, so that "nothing listens" is true while they run.</summary>
[CollectionDefinition("traces", DisableParallelization = true)]
public sealed class TracesRunAlone;

/// <summary>
/// Issue 21, traces through the daemon: the OpenTelemetry SDK with its in-memory exporter sees an HTTP invocation's
/// span (faas.trigger http, the invocation id the answer carried) and its queue wait; the daemon registers a tracer
/// provider only when OTEL_EXPORTER_OTLP_ENDPOINT names one.
/// </summary>
[Collection("traces")]
public sealed class TraceExportTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_http_invocation_is_exported_as_a_server_span_with_its_queue_wait()
    {
        var exported = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddSource(InvocationTelemetry.SourceName).AddInMemoryExporter(exported).Build())
        {
            await using var daemon = await InProcessDaemon.StartAsync();
            daemon.Run = (request, _, _) => InProcessDaemon.Result(request) with { ColdStart = false };
            using var content = new ByteArrayContent([]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await daemon.Http.PostAsync("functions/echo/invoke?mode=warm", content, Cancel);
            Assert.True(response.IsSuccessStatusCode);
            var id = Assert.Single(response.Headers.GetValues("Snapfn-Invocation-Id"));
            tracing.ForceFlush();

            var span = Assert.Single(exported, s => s.Kind == ActivityKind.Server);
            Assert.Equal("echo", span.DisplayName);
            Assert.Equal("http", span.GetTagItem("faas.trigger"));
            Assert.Equal("echo", span.GetTagItem("faas.name"));
            Assert.Equal(id, span.GetTagItem("faas.invocation_id"));
            Assert.Equal(false, span.GetTagItem("faas.coldstart"));
            Assert.Equal("mode-warm", span.GetTagItem("snapfn.path"));
            Assert.Equal("POST", span.GetTagItem("http.request.method"));
            var wait = Assert.Single(exported, s => s.DisplayName == "queue wait");
            Assert.Equal(span.SpanId, wait.ParentSpanId);
            Assert.Equal(span.TraceId, wait.TraceId);
        }
        Assert.False(InvocationTelemetry.Source.HasListeners(), "the provider's listener goes with it");
    }

    [Fact]
    public async Task Without_an_otlp_endpoint_the_daemon_registers_no_listener_and_makes_no_span()
    {
        Assert.Null(DaemonTelemetry.Start(null));
        Assert.Null(DaemonTelemetry.Start(" "));
        Assert.Null(Environment.GetEnvironmentVariable(DaemonTelemetry.EndpointVariable));
        await using var daemon = await InProcessDaemon.StartAsync();
        Activity? during = null;
        daemon.Run = (request, _, _) =>
        {
            during = Activity.Current;
            return InProcessDaemon.Result(request);
        };
        Assert.False(InvocationTelemetry.Source.HasListeners());
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await daemon.Http.PostAsync("functions/echo/invoke?mode=warm", content, Cancel);
        Assert.True(response.IsSuccessStatusCode);
        Assert.True(during is null || during.Source != InvocationTelemetry.Source, "no Snapfn span without a listener");
    }

    [Fact]
    public void With_an_otlp_endpoint_the_daemon_listens_to_the_platforms_spans_until_it_stops()
    {
        // Nothing is sent: no span is made here, and the exporter only connects to send one.
        using (var tracing = DaemonTelemetry.Start("http://127.0.0.1:4318"))
        {
            Assert.NotNull(tracing);
            Assert.True(InvocationTelemetry.Source.HasListeners());
        }
        Assert.False(InvocationTelemetry.Source.HasListeners());
    }
}
