using System.CommandLine;
using Snapfn.Daemon;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn serve`: the daemon (HTTP API, registry, metrics) until SIGTERM or Ctrl+C.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var defaults = new DaemonOptions();
        var listen = new Option<string>("--listen")
        {
            Description = "http://ADDRESS:PORT or unix:/path/to.sock; beyond loopback, requests need the bearer token in $SNAPFN_HOME/token",
            DefaultValueFactory = _ => DaemonOptions.DefaultListen,
        };
        var warmPool = new Option<int>("--warm-pool") { Description = "idle warm VMs kept per function (mode=warm)", DefaultValueFactory = _ => defaults.WarmPoolSize };
        var concurrency = new Option<int>("--max-concurrency") { Description = "invocations running at once; more wait", DefaultValueFactory = _ => defaults.MaxConcurrentInvocations };
        var drain = new Option<double>("--drain-seconds") { Description = "on SIGTERM, how long requests in flight may finish", DefaultValueFactory = _ => defaults.DrainTimeout.TotalSeconds };
        var token = new Option<bool>("--require-token") { Description = "require the bearer token on loopback too" };
        var command = new Command("serve", "run the Snapfn daemon: HTTP API, function registry, metrics") { listen, warmPool, concurrency, drain, token };
        command.SetAction(parse =>
        {
            var options = defaults with
            {
                Listen = parse.GetValue(listen)!,
                WarmPoolSize = parse.GetValue(warmPool),
                MaxConcurrentInvocations = parse.GetValue(concurrency),
                DrainTimeout = TimeSpan.FromSeconds(parse.GetValue(drain)),
                RequireToken = parse.GetValue(token) ? true : null,
            };
            if (options.WarmPoolSize < 0 || options.MaxConcurrentInvocations < 1 || options.DrainTimeout < TimeSpan.Zero)
                throw new UsageException("--warm-pool must be >= 0, --max-concurrency >= 1 and --drain-seconds >= 0");
            DaemonHost.Run(options);
            return 0;
        });
        return command;
    }
}
