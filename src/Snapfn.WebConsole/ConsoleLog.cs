using Microsoft.Extensions.Logging;

namespace Snapfn.WebConsole;

internal static partial class ConsoleLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "console: a login from {Address} gave a wrong token")]
    public static partial void LoginRefused(ILogger logger, string address);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "console: deploy of {Function} from the browser: {Outcome}")]
    public static partial void Deployed(ILogger logger, string function, string outcome);
}
