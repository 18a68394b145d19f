using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform;
using Snapfn.WebConsole;

namespace Snapfn.Daemon;

/// <summary>
/// Builds and runs the daemon: Kestrel on one address, the minimal-API endpoints over a <see cref="FunctionService"/>,
/// problem+json errors, cross-site refusal and the bearer token on every request, Prometheus metrics and the OpenAPI document.
/// </summary>
public static class DaemonHost
{
    /// <summary>snake_case, as the CLI's --json output.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Builds the daemon; <paramref name="logging"/> replaces the default console logging (to stderr);
    /// <paramref name="host"/> changes the web host last (the HTTP fuzzer replaces Kestrel with an in-memory server).</summary>
    public static WebApplication Build(DaemonOptions options, Action<ILoggingBuilder>? logging = null, Action<IWebHostBuilder>? host = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var listen = ListenAddress.Parse(options.Listen);
        var home = options.HomePath is null ? SnapfnHome.Default() : new SnapfnHome(Path.GetFullPath(options.HomePath));
        var catalog = options.GuestDirectory is null ? FunctionCatalog.Default() : new FunctionCatalog(options.GuestDirectory);
        var token = AccessToken.LoadOrCreate(home);
        var guard = new CrossSiteGuard(options.AllowedHosts);

        // The content root is the program's folder, so an appsettings.json in the caller's folder changes nothing.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (logging is not null)
        {
            logging(builder.Logging);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
            builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.None);
            builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxDeployBytes;
            listen.Apply(kestrel);
        });
        host?.Invoke(builder.WebHost);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.DrainTimeout);
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Description = Problem.Describe();
            return Task.CompletedTask;
        }));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(token);
        builder.Services.AddSingleton(guard);
        builder.Services.AddSingleton<DaemonMetrics>();
        builder.Services.AddSnapfnConsole(options.WebConsole, new ConsoleAccess(token.Matches, token.Header, FunctionService.Modes));
        builder.Services.AddSingleton(_ => new InvocationGate(options.MaxConcurrentInvocations));
        if (options.Cluster is { } cluster)
        {
            // Joins once the platform is open (resolved below, so that an unreachable NATS fails the start).
            builder.Services.AddSingleton(services => Snapfn.Cluster.Serving.ClusterNode.StartAsync(cluster, services.GetRequiredService<FunctionService>(),
                options.Replicas, services.GetRequiredService<InvocationGate>().RunAsync, options.MaxErrorTextBytes,
                services.GetRequiredService<ILoggerFactory>(), CancellationToken.None, services.GetRequiredService<DaemonMetrics>().ReplicaFetched).GetAwaiter().GetResult());
        }
        builder.Services.AddSingleton(services =>
        {
            var guestLogger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Snapfn.Guest");
            var recordLogger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Snapfn.AutoRecord");
            return new FunctionService(home, catalog, options.Platform with
            {
                WarmPoolSize = options.WarmPoolSize,
                PruneStaleVersionsAtStart = true,
                GuestLog = (function, line) => DaemonLog.GuestLine(guestLogger, function, line),
                Deploys = options.Deploys,
                MaxErrorTextBytes = options.MaxErrorTextBytes,
                // What the recorder does goes to the daemon's log, and the recordings it makes to its metrics, counted
                // with those made by hand (the platform now makes most of them)
                AutoRecord = options.Platform.AutoRecord is { } auto
                    ? auto with
                    {
                        Log = (function, message) => DaemonLog.AutoRecord(recordLogger, function, message),
                        Recorded = services.GetRequiredService<DaemonMetrics>().Recording,
                    }
                    : null,
            });
        });

        var app = builder.Build();
        // Routing's own refusals (no such path, a method the path does not take) carry no body: answer them in the
        // error model too, so that every error a client sees is one of its codes.
        app.UseStatusCodePages(pages =>
        {
            var request = pages.HttpContext.Request;
            return Problem.ForStatus(pages.HttpContext.Response.StatusCode, request.Method, request.Path).ToResult().ExecuteAsync(pages.HttpContext);
        });
        app.UseMiddleware<ProblemMiddleware>();
        // A browser's request is turned away for what it is before it is asked for a token it cannot have.
        app.UseMiddleware<CrossSiteGuardMiddleware>();
        app.UseMiddleware<BearerTokenMiddleware>();
        // The console's forms carry antiforgery tokens; this checks them (after the guard, before the endpoint).
        app.UseAntiforgery();
        app.MapOpenApi("/openapi.json");
        // prometheus-net maps every method; a scrape is a GET.
        app.MapMetrics("/metrics", app.Services.GetRequiredService<DaemonMetrics>().Registry).WithMetadata(new HttpMethodMetadata(["GET"]));
        app.MapGet("/healthz", (FunctionService service, InvocationGate gate) =>
            new HealthResponse("ok", service.List().Count, gate.InFlight)).WithName("Health").WithTags("daemon");
        app.MapGet("/invocations", (FunctionService service, string? function, int? limit) =>
            new InvocationLogResponse(service.Log.Recent(function, limit ?? 100))).WithName("InvocationLog").WithTags("daemon")
            .WithSummary("The invocation log, newest first; ?function=&limit=");
        FunctionEndpoints.Map(app);
        app.MapSnapfnConsole();
        LogEndpoints.Map(app);
        ClusterEndpoints.Map(app);

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Snapfn.Daemon");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (listen.SocketPath is { } socket)
                File.SetUnixFileMode(socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        });
        app.Lifetime.ApplicationStopping.Register(() =>
            DaemonLog.Draining(logger, options.DrainTimeout.TotalSeconds, app.Services.GetRequiredService<InvocationGate>().InFlight));
        // Open the registry now: a broken home fails the start, not the first request.
        var service = app.Services.GetRequiredService<FunctionService>();
        app.Services.GetRequiredService<DaemonMetrics>().Watch(service.Server.Instances);
        // Spans exported with OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise nothing listens.
        var tracing = DaemonTelemetry.Start(Environment.GetEnvironmentVariable(DaemonTelemetry.EndpointVariable));
        // Kestrel has drained the requests by now: stop the warm VMs and close the registry before saying so.
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            tracing?.Dispose();
            service.Dispose();
            DaemonLog.Stopped(logger);
        });
        if (options.Cluster is not null)
        {
            var node = app.Services.GetRequiredService<Snapfn.Cluster.Serving.ClusterNode>();
            // Stop taking cluster requests as the drain starts; leave NATS before the platform closes (the callbacks
            // run last-registered first).
            app.Lifetime.ApplicationStopping.Register(() => node.StopAsync(options.DrainTimeout).GetAwaiter().GetResult());
            app.Lifetime.ApplicationStopped.Register(() => node.DisposeAsync().AsTask().GetAwaiter().GetResult());
        }
        var functions = service.List();
        DaemonLog.Started(logger, home.Path, functions.Count, functions.Count(f => f.Kind == FunctionKind.User), options.WarmPoolSize);
        if (functions.All(f => f.Kind != FunctionKind.BuiltIn))
            DaemonLog.NoBuiltIns(logger, catalog.GuestDirectory);
        DaemonLog.TokenRequired(logger, listen.Text, token.Path);
        // Each running invocation blocks its request thread on the vCPU: keep enough threads ready that a burst
        // does not wait for the pool's slow thread injection.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, options.MaxConcurrentInvocations + 2 * Environment.ProcessorCount), io);
        return app;
    }

    /// <summary>The addresses the daemon is bound to, once started (resolves port 0).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
    }

    /// <summary>Runs until SIGTERM or Ctrl+C, then drains requests, stops every warm VM and closes the registry.</summary>
    public static void Run(DaemonOptions options)
    {
        var app = Build(options);
        app.Run();
    }
}
