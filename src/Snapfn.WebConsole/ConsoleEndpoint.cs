namespace Snapfn.WebConsole;

/// <summary>
/// Endpoint metadata: this endpoint is the console's and authenticates the browser itself, with its session cookie
/// (or needs no login: the login page and the console's own static files). The daemon's bearer-token check lets
/// exactly these endpoints through; every other path, the API included, still needs the token.
/// </summary>
public sealed class ConsoleEndpoint
{
    public static readonly ConsoleEndpoint Instance = new();

    private ConsoleEndpoint()
    {
    }
}
