using System.Security.Cryptography;
using System.Text;
using Snapfn.Platform;

namespace Snapfn.Daemon;

/// <summary>
/// The bearer token every client must present (loopback included: any local user, and any web page the operator
/// visits, can reach a loopback port): 32 random bytes, base64url, generated at first start in $SNAPFN_HOME/token
/// with mode 0600 and kept across restarts. The CLI reads the file itself when the daemon is on the same machine.
/// </summary>
public sealed class AccessToken
{
    public const string FileName = "token";
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly byte[] _value;

    private AccessToken(string path, string value)
    {
        Path = path;
        _value = Encoding.ASCII.GetBytes(value);
    }

    public string Path { get; }

    public static string PathIn(SnapfnHome home) => System.IO.Path.Combine(home?.Path ?? throw new ArgumentNullException(nameof(home)), FileName);

    public static AccessToken LoadOrCreate(SnapfnHome home)
    {
        var path = PathIn(home);
        Directory.CreateDirectory(home.Path);
        if (!File.Exists(path))
        {
            var fresh = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
            try
            {
                using var file = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly,
                });
                file.Write(Encoding.ASCII.GetBytes(fresh + "\n"));
                file.Flush(flushToDisk: true);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another daemon on this home created it first: use theirs.
            }
        }
        // A token others can read is no secret: tighten it rather than trust it silently.
        if ((File.GetUnixFileMode(path) & ~OwnerOnly) != 0)
            File.SetUnixFileMode(path, OwnerOnly);
        var value = File.ReadAllText(path).Trim();
        if (value.Length < 32)
            throw new InvalidOperationException($"{path} holds no usable token (shorter than 32 characters): delete it and start the daemon again to make a new one");
        return new AccessToken(path, value);
    }

    /// <summary>The Authorization header an in-process client of the API sends (the web console, a client of the API
    /// as the CLI is).</summary>
    public System.Net.Http.Headers.AuthenticationHeaderValue Header() => new("Bearer", Encoding.ASCII.GetString(_value));

    /// <summary>Constant-time comparison with what a client sent after "Bearer ".</summary>
    public bool Matches(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        return CryptographicOperations.FixedTimeEquals(_value, Encoding.ASCII.GetBytes(presented));
    }

}
