using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Snapfn.WebConsole;

/// <summary>
/// The console's logins. The cookie holds a session value — 32 random bytes, base64url — never the daemon's token:
/// a stolen cookie is worth one session, ends at logout or after <see cref="ConsoleOptions.SessionLifetime"/>, and
/// dies with the daemon (sessions live only in memory). Only a SHA-256 of each value is kept, so the store itself
/// holds nothing a browser could present.
/// </summary>
public sealed class ConsoleSessions
{
    public const string CookieName = "snapfn_console";
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expiries = new(StringComparer.Ordinal);
    private readonly ConsoleOptions _options;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();

    public ConsoleSessions(ConsoleOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        if (options.MaxSessions < 1 || options.SessionLifetime <= TimeSpan.Zero)
            throw new ArgumentException("the console needs MaxSessions >= 1 and a positive SessionLifetime", nameof(options));
        _options = options;
        _clock = clock;
    }

    public int Count => _expiries.Count;

    /// <summary>A new session; its value goes into the cookie and nowhere else.</summary>
    public (string Value, DateTimeOffset Expires) Start()
    {
        var value = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expires = _clock.GetUtcNow() + _options.SessionLifetime;
        lock (_lock)
        {
            Prune();
            while (_expiries.Count >= _options.MaxSessions)
            {
                var oldest = _expiries.MinBy(s => s.Value).Key;
                _expiries.TryRemove(oldest, out _);
            }
            _expiries[Key(value)] = expires;
        }
        return (value, expires);
    }

    /// <summary>True for a session started here, not ended and not expired.</summary>
    public bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 100)
            return false;
        var key = Key(value);
        if (!_expiries.TryGetValue(key, out var expires))
            return false;
        if (expires > _clock.GetUtcNow())
            return true;
        _expiries.TryRemove(key, out _);
        return false;
    }

    public void End(string? value)
    {
        if (!string.IsNullOrEmpty(value) && value.Length <= 100)
            _expiries.TryRemove(Key(value), out _);
    }

    private void Prune()
    {
        var now = _clock.GetUtcNow();
        foreach (var (key, expires) in _expiries)
        {
            if (expires <= now)
                _expiries.TryRemove(key, out _);
        }
    }

    private static string Key(string value) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
