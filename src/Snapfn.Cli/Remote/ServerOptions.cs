using System.CommandLine;
using Snapfn.Daemon;
using Snapfn.Platform;

namespace Snapfn.Cli.Remote;

/// <summary>--server URL (or $SNAPFN_SERVER) and --token (or $SNAPFN_TOKEN): talk to a daemon instead of working locally.</summary>
public sealed class ServerOptions
{
    public const string ServerVariable = "SNAPFN_SERVER";
    public const string TokenVariable = "SNAPFN_TOKEN";

    public Option<string?> Server { get; } = new("--server")
    {
        Description = $"a Snapfn daemon to talk to (http://HOST:PORT or unix:/path); default ${ServerVariable}; local when neither is set",
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = $"the daemon's bearer token; default ${TokenVariable}, then $SNAPFN_HOME/token when it is on this machine",
    };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Server);
        command.Options.Add(Token);
    }

    /// <summary>A client for the daemon the command line names, or null to work locally.</summary>
    public DaemonClient? Connect(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var server = parse.GetValue(Server);
        if (string.IsNullOrEmpty(server))
            server = Environment.GetEnvironmentVariable(ServerVariable);
        if (string.IsNullOrEmpty(server))
            return null;
        return new DaemonClient(server, FindToken(parse));
    }

    private string? FindToken(ParseResult parse)
    {
        var token = parse.GetValue(Token);
        if (string.IsNullOrEmpty(token))
            token = Environment.GetEnvironmentVariable(TokenVariable);
        if (!string.IsNullOrEmpty(token))
            return token;
        // A daemon on this machine with the same home: its token file is readable by the same user.
        var path = AccessToken.PathIn(SnapfnHome.Default());
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
